# Florin: the two commands are `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.florin-installed

.PHONY: dev test schema lint bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start everything: embedded Postgres + Redis (unless FLORIN_*_URL are set), migrations, demo data, API, worker.
dev: $(STAMP)
	$(BIN)/florin dev

## Run the whole test suite against its own embedded Postgres and Redis.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Regenerate the committed schema.graphql from the code.
schema: $(STAMP)
	$(BIN)/strawberry export-schema app.graphql.schema:schema --output schema.graphql

lint: $(STAMP)
	$(BIN)/ruff check app worker tests
	$(BIN)/mypy app worker

## Benchmarks (about 20 minutes; `BENCH_ARGS=--help` lists the options): writes bench/RESULTS.md.
bench: $(VENV)/.florin-bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

$(VENV)/.florin-bench-installed: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@

clean:
	rm -rf $(VENV) .florin
