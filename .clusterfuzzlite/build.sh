#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build of the atheris targets in fuzz/ (see docs/fuzzing.md).
#
# Each fuzz/fuzz_*.py becomes $OUT/fuzz_*, a bundled program (compile_python_fuzzer runs
# PyInstaller), with its dictionary ($OUT/NAME.dict), options ($OUT/NAME.options) and the vector
# files as its seed corpus ($OUT/NAME_seed_corpus.zip). In a bundle the differential target runs
# its implementation in-process (a bundle cannot start a Python worker): a crash there is
# libFuzzer's crash. Its implementation is $SAFETENSORS_FUZZ_IMPL, by default the Hugging Face
# reader, installed here at the version the matrix pins.

pip3 install . "safetensors==0.8.0" "numpy==2.4.6"

for fuzzer in fuzz/fuzz_*.py; do
  name=$(basename -s .py "$fuzzer")
  # The package's data (spec, schema, vectors), its entry points (the adapter registry) and its
  # adapters, which are imported by name, not statically.
  compile_python_fuzzer "$fuzzer" \
    --collect-data safetensors_conformance \
    --copy-metadata safetensors-conformance \
    --collect-submodules safetensors_conformance \
    --collect-submodules safetensors
  cp fuzz/safetensors.dict "$OUT/$name.dict"
  printf '[libfuzzer]\nmax_len = 65536\ntimeout = 70\nrss_limit_mb = 2048\n' > "$OUT/$name.options"
  (cd vectors/files && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
done
