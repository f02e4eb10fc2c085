# The targets CI and the README use. `make test` and `make run` set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv lint typecheck layers unit test run bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

layers: venv
	$(BIN)/lint-imports

unit: venv
	$(BIN)/pytest

test: lint typecheck layers unit

run: venv
	$(BIN)/workbench init
	$(BIN)/workbench app

bench: venv
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/gaps_bench.py
	$(BIN)/python bench/import_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
