#!/usr/bin/env bash
# Fetch, here, the wheels that scripts/gpu-matrix.sh installs on the GPU machine (Python 3.12,
# x86-64, no registry): each one pinned, for the packages its image lacks or holds in another
# version. They land in .whl/ (git-ignored), which a device run carries; the working tree and the
# wheels together must stay under the 64 MiB that one run may carry.
#
#   scripts/gpu-wheels.sh            # then run scripts/gpu-matrix.sh there (README: "On a GPU")
#
# The project itself travels as source and is built there with the carried hatchling (.whl/build/).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
DEST=.whl
LIMIT=$((64 * 1024 * 1024))

# The loaders under test: the pins of pyproject.toml's `impls`, except the Run:ai streamer, whose
# 0.17.0 has no wheel for Python 3.12 (results record the version that ran).
RUNTIME=(
    fastsafetensors==0.5.0
    instanttensor==0.2.2
    runai-model-streamer==0.17.1
    # the project's own dependency (rich, attrs and typing-extensions are in the image)
    jsonschema==4.26.0
    jsonschema-specifications==2025.9.1
    referencing==0.37.0
    rpds-py==2026.9.1
)
# What building the project takes (installed apart, so they shadow nothing the run imports).
BUILD=(
    hatchling==1.33.0
    packaging==26.4
    pathspec==1.1.1
    pluggy==1.7.0
    tomlkit==0.15.2
    trove-classifiers==2026.9.21.13
)

download() {
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any --dest "$@"
}

rm -rf "$DEST"
mkdir -p "$DEST/build"
download "$DEST" "${RUNTIME[@]}"
download "$DEST/build" "${BUILD[@]}"

# One wheel per pin: two versions of a package stop the whole install there.
for folder in "$DEST" "$DEST/build"; do
    names=$(find "$folder" -maxdepth 1 -type f -name '*.whl' -printf '%f\n' | cut -d- -f1 | tr '[:upper:]' '[:lower:]' | sort)
    if [ -n "$(uniq -d <<<"$names")" ]; then
        echo "gpu-wheels: more than one wheel of: $(uniq -d <<<"$names" | tr '\n' ' ')" >&2
        exit 1
    fi
done
count=$(find "$DEST" -type f -name '*.whl' | wc -l)
if [ "$count" -ne $((${#RUNTIME[@]} + ${#BUILD[@]})) ]; then
    echo "gpu-wheels: expected $((${#RUNTIME[@]} + ${#BUILD[@]})) wheels, found $count" >&2
    exit 1
fi

# What a run carries: tracked and untracked-not-ignored files, then the wheels.
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s += $1} END {print s + 0}')
wheels=$(find "$DEST" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
total=$((tree + wheels))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "gpu-wheels: $count wheels in $DEST: $(mib "$wheels"); working tree $(mib "$tree"); together $(mib "$total") of $(mib "$LIMIT")"
if [ "$total" -ge "$LIMIT" ]; then
    echo "gpu-wheels: over the 64 MiB a device run may carry" >&2
    exit 1
fi
