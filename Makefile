# The two commands a new user needs: `make demo` (set up, then answer the canonical question on the bundled
# corpus) and `make test` (set up, then lint, type-check and run the whole test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.footnote-installed
QUESTION ?= why is Russia expanding its role?

.PHONY: setup demo test lint typecheck unit bench clean

setup: $(STAMP)

# Reinstall only when the declared or locked dependencies change.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $@

demo: setup
	$(BIN)/footnote search "$(QUESTION)"

test: lint typecheck unit

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench.ingest_throughput
	$(BIN)/python -m bench.search_latency

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
