#!/usr/bin/env bash
# The CUDA columns of the matrix, in one command on a lent GPU machine (README: "On a GPU").
#
#   scripts/gpu-wheels.sh                              # here, first: the wheels, into .whl/
#   scripts/gpu-matrix.sh                              # there: OUT names where results go
#   GPU_MATRIX_DEVICE=cpu OUT=/tmp/x scripts/gpu-matrix.sh   # the same steps on the host, anywhere
#
# Steps, each under its own time limit and logged with its exit status in machine.json: install
# the carried wheels and this tree into a target folder; make the CUDA runtime loadable by name;
# record the machine; a preflight run on the smallest valid file; the run over the committed
# vectors; the reports. Writes into $OUT: machine.json, results.json, results.md, results.html and
# gpu-matrix.log. A selection that cannot run is recorded as unavailable with its reason, never as
# failed: by the runner (CUDA or the library missing), or here when it cannot load the smallest
# valid file on this machine. Exits 0 when the corpus ran to the end for the selections that can
# run, 1 when a step failed or stopped, or when no selection could run.
#
# Settings (environment): GPU_MATRIX_DEVICE (cuda:0), GPU_MATRIX_PYTHON (python3),
# GPU_MATRIX_WHEELS (.whl; none there: the interpreter must already have the package),
# GPU_MATRIX_SITE (/tmp/site), GPU_MATRIX_BUDGET (360 s: the run stops in time for the reports),
# GPU_MATRIX_VECTORS (vector ids, space-separated: only these).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1

DEVICE=${GPU_MATRIX_DEVICE:-cuda:0}
PY=${GPU_MATRIX_PYTHON:-python3}
WHEELS=${GPU_MATRIX_WHEELS:-.whl}
SITE=${GPU_MATRIX_SITE:-/tmp/site}
BUDGET=${GPU_MATRIX_BUDGET:-360}
VECTOR_TIMEOUT=20   # a vector's own limit (plus the runner's allowance for size); a restarted worker starts CUDA again
MEMORY_LIMIT=16384  # MiB per worker: a CUDA context and pinned buffers, on a machine of 128 GiB
FINISH_RESERVE=45   # seconds kept for the reports after the run
if [ -z "${OUT:-}" ]; then
    OUT=$(mktemp -d)
    echo "gpu-matrix: OUT is not set: writing into $OUT"
fi
mkdir -p "$OUT"
WORK=$(mktemp -d)
STEPS=$WORK/steps.tsv
: >"$STEPS"
exec > >(tee -a "$OUT/gpu-matrix.log") 2>&1

# step NAME LIMIT COMMAND...: run COMMAND for at most LIMIT seconds (SIGINT first, so the runner
# keeps what it has), and append its exit status and duration to the step log.
step() {
    local name=$1 limit=$2 started=$SECONDS status
    shift 2
    echo "== $name (at most ${limit}s): $*"
    timeout -s INT -k 15 "$limit" "$@"
    status=$?
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - started))" "${NOTE:-}" >>"$STEPS"
    [ "$status" -eq 124 ] && echo "gpu-matrix: $name stopped at its limit of ${limit}s"
    return "$status"
}
note() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" 0 "$3" >>"$STEPS"; echo "gpu-matrix: $1: $3"; }
PIP=("$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade)

# 1. Install: the carried wheels, then this tree, built with the carried hatchling.
if compgen -G "$WHEELS/*.whl" >/dev/null; then
    step install-build 60 "${PIP[@]}" --target "$SITE-build" "$WHEELS"/build/*.whl
    step install-wheels 120 "${PIP[@]}" --target "$SITE" "$WHEELS"/*.whl
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
    PYTHONPATH="$SITE-build:$PYTHONPATH" step install-project 120 "${PIP[@]}" --no-build-isolation --target "$SITE" .
else
    note install skipped "no wheels in $WHEELS: $PY is used as it is"
fi
if ! "$PY" -c "import safetensors_conformance" 2>/dev/null; then
    note install failed "safetensors_conformance is not importable by $PY: nothing can run"
    printf '{"script": "scripts/gpu-matrix.sh", "device": "%s", "error": "safetensors_conformance is not importable"}\n' \
        "$DEVICE" >"$OUT/machine.json"
    exit 1
fi

# 2. fastsafetensors opens the CUDA runtime by its unversioned name, which a wheel-only CUDA lacks.
GPU_MATRIX_CUDART=$("$PY" scripts/gpu_matrix.py cudart "$WORK/lib") || GPU_MATRIX_CUDART=null
export GPU_MATRIX_CUDART
if [ -e "$WORK/lib/libcudart.so" ]; then
    export LD_LIBRARY_PATH="$WORK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "gpu-matrix: libcudart.so: $GPU_MATRIX_CUDART"
fi

# 3. The machine, before anything can go wrong with the run.
if ! step machine 90 "$PY" scripts/gpu_matrix.py machine "$OUT/machine.json" "$DEVICE" "$STEPS"; then
    printf '{"script": "scripts/gpu-matrix.sh", "device": "%s", "error": "the machine step failed"}\n' \
        "$DEVICE" >"$OUT/machine.json"
fi
mapfile -t SELECTIONS < <("$PY" scripts/gpu_matrix.py selections "$DEVICE")
# The runner exits 1 when a verdict failed or a selection was not run: what a matrix run gives.
RUNNER_NOTE="exit 1 is the runner's for failed verdicts or selections not run"
RUN=("$PY" -m safetensors_conformance run --fresh --quiet --vector-timeout "$VECTOR_TIMEOUT" --memory-limit "$MEMORY_LIMIT")
impls() { for selection in "$@"; do printf -- '--impl\0%s\0' "$selection"; done; }

# 4. Preflight: every selection on the smallest valid file. One the runner cannot start, or that
# cannot load that file here, is not run on the corpus: the reports describe it as unavailable.
mapfile -d '' -t IMPLS < <(impls "${SELECTIONS[@]}")
NOTE=$RUNNER_NOTE step preflight 120 "${RUN[@]}" "${IMPLS[@]}" --vector-id examples/minimal --jobs "${#SELECTIONS[@]}" --out "$WORK/preflight"
if [ -e "$WORK/preflight/results.json" ]; then
    mapfile -t READY < <("$PY" scripts/gpu_matrix.py ready "$WORK/preflight/results.json")
else
    note preflight none "the preflight left no results: every selection is run"
    READY=("${SELECTIONS[@]}")
fi

# 5. The committed vectors (no recipe vectors), every selection at once, within what is left.
VECTORS=()
for id in ${GPU_MATRIX_VECTORS:-}; do VECTORS+=(--vector-id "$id"); done
left=$((BUDGET - SECONDS - FINISH_RESERVE))
[ "$left" -lt 30 ] && left=30
if [ "${#READY[@]}" -gt 0 ]; then
    mapfile -d '' -t IMPLS < <(impls "${READY[@]}")
    NOTE=$RUNNER_NOTE step run "$left" "${RUN[@]}" "${IMPLS[@]}" --no-synth "${VECTORS[@]}" --jobs "${#READY[@]}" --out "$WORK/run"
else
    note run skipped "no selection can run here"
fi

# 6. Reports into $OUT, with the machine named and the steps recorded.
step finish 60 "$PY" scripts/gpu_matrix.py finish "$OUT" "$WORK/run" "$WORK/preflight" "$STEPS"
status=$?
[ "${#READY[@]}" -eq 0 ] && status=1  # reports written, but nothing ran
echo "gpu-matrix: done in ${SECONDS}s (exit $status); in $OUT: $(cd "$OUT" && ls | tr '\n' ' ')"
rm -rf "$WORK"
exit "$status"
