# Every target sets up .venv first (idempotent), so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup certify test lint bench matrix clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,impls]'
	if command -v npm >/dev/null; then npm ci --silent --prefix examples/hf-hub-js; fi
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

# Certify an implementation against the whole corpus and print the report (make certify IMPL=...).
# The Hugging Face adapters are run with the list of their known divergences from the spec.
IMPL ?= safetensors
KNOWN ?= $(if $(filter safetensors safetensors-np safetensors-pt,$(IMPL)),--known-failures examples/known-failures/safetensors.txt,)
certify: $(STAMP)
	$(BIN)/safetensors-conformance run --impl $(IMPL) $(KNOWN) --fresh --out conformance-results

# The published matrix (results/): every implementation that runs here, over the committed vector
# files (the recipe vectors take some readers minutes each: run them with `run` when needed).
# `run` exits 1 when verdicts fail, which a matrix of real implementations always has.
MATRIX_IMPLS = reference safetensors safetensors-np safetensors-pt torch-dcp tinygrad pure-safetensors gguf \
	runai-model-streamer fastsafetensors instanttensor unifiedefficientloader mlx huggingface-hub \
	safetensors-print modelvet
matrix: $(STAMP)
	$(BIN)/safetensors-conformance run $(foreach i,$(MATRIX_IMPLS),--impl $(i)) \
		--impl "serve:node examples/js-reader/reader.mjs --serve" --impl "serve:node examples/hf-hub-js/reader.mjs --serve" \
		--no-synth --jobs 2 --fresh --quiet --out results; \
		test $$? -le 1
	rm -f results/results.jsonl results/.lock

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m safetensors_conformance.spec --check
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_validate.py
	$(BIN)/python benchmarks/bench_runner.py
	$(BIN)/python benchmarks/bench_matrix.py

clean:
	rm -rf $(VENV) .bench conformance-results dist build .pytest_cache .mypy_cache .ruff_cache .hypothesis
