# Every target sets up .venv first (idempotent), so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup certify test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

# Certify an implementation against the whole corpus and print the report (make certify IMPL=...).
# The Hugging Face adapters are run with the list of their known divergences from the spec.
IMPL ?= safetensors
KNOWN ?= $(if $(filter safetensors safetensors-np safetensors-pt,$(IMPL)),--known-failures examples/known-failures/safetensors.txt,)
certify: $(STAMP)
	$(BIN)/safetensors-conformance run --impl $(IMPL) $(KNOWN) --fresh --out conformance-results

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

clean:
	rm -rf $(VENV) .bench conformance-results dist build .pytest_cache .mypy_cache .ruff_cache .hypothesis
