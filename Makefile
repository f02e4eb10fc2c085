# The targets CI and the README use. `make test` and `make run` set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv lint typecheck layers unit notebooks test run bench clean

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

# Debian's chromium for the browser test (never a downloaded browser); silent when present.
.PHONY: browser
browser:
	@test -x /usr/bin/chromium || { \
		echo "installing Debian's chromium for the browser test"; \
		SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

unit: venv browser
	$(BIN)/pytest

# The analyst notebooks run under nbmake against a demo database built by the real code.
NOTEBOOK_DEMO := build/notebooks
notebooks: venv
	rm -rf $(NOTEBOOK_DEMO) && mkdir -p $(NOTEBOOK_DEMO)
	WORKBENCH_HOME=$(NOTEBOOK_DEMO)/home $(BIN)/workbench demo --build-only --db $(NOTEBOOK_DEMO)/demo.duckdb
	WORKBENCH_DB=$(CURDIR)/$(NOTEBOOK_DEMO)/demo.duckdb $(BIN)/pytest -q --nbmake --nbmake-timeout=300 notebooks

test: lint typecheck layers unit notebooks

run: venv
	$(BIN)/workbench init
	$(BIN)/workbench app

bench: venv
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/gaps_bench.py
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/app_bench.py
	$(BIN)/python bench/notebook_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build
