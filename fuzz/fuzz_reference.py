"""atheris target: the reference reader on any input (READER-ROBUST).

It must return a report or raise its own rejection error (FormatError) and nothing else, agree
between check() and validate(), read back exactly what it accepted, in bounded time and memory.
A finding raises, and libFuzzer saves the input as crash-*::

    python fuzz/fuzz_reference.py -dict=fuzz/safetensors.dict -max_len=65536 CORPUS_DIR vectors/files

`safetensors-conformance fuzz --impl reference` runs the same target as a campaign.
"""

from safetensors_conformance.fuzzing.entry import main

if __name__ == "__main__":
    main("reference")
