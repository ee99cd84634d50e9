#!/usr/bin/env bash
# The checkpoint loaders that cannot live in the project's .venv (results/checkpoints-extra/):
# DeepSpeed 0.19.8 (inference.v2 HuggingFaceCheckpointEngine) and vLLM 0.32.0 (DefaultModelLoader's
# weights), in an environment of their own, .venv-loaders/, beside torch 2.13.0 (the CPU wheel).
# vLLM comes without its declared dependencies (they pin a CUDA torch and GPU kernels); what its
# weight loading imports on the CPU is installed by name below. Every version is pinned: the
# results record them, and tests/test_checkpoint_loaders_extra.py checks them against this file.
#
#   bash scripts/extra-loaders.sh        # builds or updates .venv-loaders/, then runs both loaders
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-loaders
TORCH=2.13.0
DEEPSPEED=0.19.8
TRANSFORMERS=5.24.0  # DeepSpeed's engine reads the model's config with AutoConfig
VLLM=0.32.0
# What importing vllm.model_executor.model_loader.default_loader asks for, one ModuleNotFoundError
# at a time, on top of torch and transformers.
VLLM_IMPORTS=(
	aiohttp==3.14.5 cachetools==8.0.2 cbor2==6.3.0 cloudpickle==3.1.3 fastapi==0.165.0
	llguidance==1.9.1 msgspec==0.23.0 openai==3.57.0 openai-harmony==0.0.8 partial-json-parser==0.2.1.1.post7
	pillow==13.0.0 prometheus-client==0.26.0 pybase64==1.5.1 pyzmq==27.3.0 requests==2.34.2
	urllib3==2.8.0 uvloop==0.23.0
)
# xgrammar (imported for structured output) declares triton, 1 GB of GPU compiler that nothing on
# this path imports: it comes with its one other dependency that is not here already.
XGRAMMAR=(xgrammar==0.2.9 apache-tvm-ffi==0.1.15.post2)
# The harness itself, without the extras of its [dev] and [impls] sets.
HARNESS=(jsonschema==4.26.0 rich==15.0.0 msgspec==0.23.0)

began=$SECONDS
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --quiet)
"${pip[@]}" "torch==$TORCH"
# DeepSpeed ships an sdist; DS_BUILD_OPS=0 builds none of its C++/CUDA ops (inference on the CPU needs none).
DS_BUILD_OPS=0 "${pip[@]}" "deepspeed==$DEEPSPEED" "transformers==$TRANSFORMERS" "torch==$TORCH"
"${pip[@]}" --no-deps "vllm==$VLLM"
"${pip[@]}" "${VLLM_IMPORTS[@]}" "torch==$TORCH"
"${pip[@]}" --no-deps "${XGRAMMAR[@]}"
"${pip[@]}" --no-deps -e .
"${pip[@]}" "${HARNESS[@]}"
echo "environment: $((SECONDS - began)) s"

began=$SECONDS
status=0
"$VENV/bin/safetensors-conformance" run --impl ckpt:deepspeed --impl ckpt:vllm --jobs 2 --fresh --quiet \
	--spec-url ../spec.html --out results/checkpoints-extra || status=$?
rm -f results/checkpoints-extra/results.jsonl results/checkpoints-extra/.lock
echo "run: $((SECONDS - began)) s"
# Exit 1 means some vector did not pass: that is the finding, not a failure of the script.
test "$status" -le 1
