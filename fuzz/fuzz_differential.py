"""atheris target: an implementation against the reference (accept/reject and content).

The implementation is $SAFETENSORS_FUZZ_IMPL (an adapter selection, as for `run --impl`;
default: safetensors), run in an isolated worker (in-process in a bundled build) and judged by
the runner's verdicts. A verdict that is a failure raises, and libFuzzer saves the input::

    SAFETENSORS_FUZZ_IMPL=safetensors-pt python fuzz/fuzz_differential.py \\
        -dict=fuzz/safetensors.dict -max_len=65536 CORPUS_DIR vectors/files

`safetensors-conformance fuzz --impl NAME` runs the same target as a campaign.
"""

from safetensors_conformance.fuzzing.entry import main

if __name__ == "__main__":
    main("differential")
