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

# The spec's example files, checked by the reference reader. Files named invalid-* and
# acceptable-* are expected to FAIL; validate then exits 1, which is the expected outcome here.
certify: $(STAMP)
	@$(BIN)/python -m safetensors_conformance.spec_examples .examples > /dev/null
	@$(BIN)/safetensors-conformance validate .examples; test $$? -le 1

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m safetensors_conformance.spec --check
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_validate.py

clean:
	rm -rf $(VENV) .examples .bench dist build .pytest_cache .mypy_cache .ruff_cache .hypothesis
