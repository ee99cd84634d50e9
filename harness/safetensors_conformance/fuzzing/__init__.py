"""Coverage-guided fuzzing of the reference reader and of any implementation (``docs/fuzzing.md``).

* :mod:`.framing` reads an input as length prefix, header JSON and buffer, and writes one back
  with the length and the offsets made consistent again;
* :mod:`.mutator` is libFuzzer's custom mutator: it mutates the header as JSON and keeps the
  framing consistent most of the time, with byte-level mutation for a share of the calls;
* :mod:`.dictionary` is libFuzzer's dictionary of format tokens (``fuzz/safetensors.dict``);
* :mod:`.oracle` turns the reference's report on an input into the vector the runner judges by;
* :mod:`.targets` holds the two properties: the reference's robustness, and an implementation
  agreeing with the reference (through the runner's isolated workers and verdicts);
* :mod:`.entry` is the atheris glue that one fuzzing process runs;
* :mod:`.campaign` starts those processes, follows their progress and collects what they found;
* :mod:`.triage` minimizes findings, runs them through every adapter, and groups them into one
  finding per distinct divergence, each a ``FILE.bin`` with a ``FILE.json`` sidecar.

Nothing here imports pytest, and nothing on the ``validate`` start-up path imports this package.
"""
