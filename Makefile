# Every target sets up .venv first (idempotent), so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup certify test lint bench matrix matrix-recipes matrix-checkpoints matrix-checkpoints-extra history clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,impls,ray]'
	if command -v npm >/dev/null; then npm ci --silent --prefix examples/hf-hub-js; fi
# Debian's chromium, for the browser test of the HTML report (tests/test_report_html.py).
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "chromium is not installed: tests/test_report_html.py skips its browser tests"
# Debian's nginx, the real HTTP server with Range support that tests/test_remote.py serves files from
# (started by the tests on loopback, unprivileged; the package's own service is not used).
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends nginx-light openssl) || echo "nginx is not installed: tests/test_remote.py will fail"
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
# The CUDA paths: reported as unavailable (with the reason) on a machine without a GPU; on one,
# scripts/gpu-matrix.sh runs them (README, "On a GPU").
MATRIX_CUDA = safetensors-pt:device=cuda:0 fastsafetensors:device=cuda:0,nogds=true \
	fastsafetensors:device=cuda:0,nogds=false instanttensor:device=cuda:0 runai-model-streamer:device=cuda:0
matrix: $(STAMP)
	$(BIN)/safetensors-conformance run $(foreach i,$(MATRIX_IMPLS) $(MATRIX_CUDA),--impl $(i)) \
		--impl "serve:node examples/js-reader/reader.mjs --serve" --impl "serve:node examples/hf-hub-js/reader.mjs --serve" \
		--no-synth --jobs 2 --fresh --quiet --out results; \
		test $$? -le 1
	rm -f results/results.jsonl results/.lock

# The same implementations over the seven large recipe vectors (headers of 50-100 MB, a million
# tensors): about 7 minutes with 2 jobs. A reader slower than the per-vector deadline gets a
# timeout verdict. Published in results/recipes/, linking to the spec page one folder up.
matrix-recipes: $(STAMP)
	$(BIN)/safetensors-conformance run $(foreach i,$(MATRIX_IMPLS),--impl $(i)) \
		--impl "serve:node examples/js-reader/reader.mjs --serve" --impl "serve:node examples/hf-hub-js/reader.mjs --serve" \
		--synth-only --jobs 2 --fresh --quiet --spec-url ../spec.html --out results/recipes; \
		test $$? -le 1
	rm -f results/recipes/results.jsonl results/recipes/.lock

# The checkpoint loaders over the checkpoint vectors (results/checkpoints/): each vector under three
# hash seeds and directory orders, beside a canary file that counts as read outside if opened.
CKPT_LOADERS = reference huggingface-hub accelerate transformers transformers-sharded diffusers mlx-lm
matrix-checkpoints: $(STAMP)
	$(BIN)/safetensors-conformance run $(foreach i,$(CKPT_LOADERS),--impl ckpt:$(i)) \
		--jobs 2 --fresh --quiet --spec-url ../spec.html --out results/checkpoints; \
		test $$? -le 1
	rm -f results/checkpoints/results.jsonl results/checkpoints/.lock

# DeepSpeed and vLLM, which cannot share the project's environment, in .venv-loaders/ (built and
# reused; about 1.5 minutes and 2.2 GB from the package registries), into results/checkpoints-extra/.
matrix-checkpoints-extra:
	bash scripts/extra-loaders.sh

# The release history (results/history/): every release of the Hugging Face library from 0.3.0 and
# seven of @huggingface/hub, each installed in an environment of its own under .history/ (kept and
# reused; building them needs the package registries), run through the external-program protocol.
history: $(STAMP)
	$(BIN)/python scripts/release_history.py

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
