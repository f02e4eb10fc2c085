"""Notebooks as .ipynb: the export runs in a real Jupyter kernel; imports take SQL and Markdown
in the forms documented in reconcile.ipynb and refuse anything else, whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.ipynb import read_ipynb, write_ipynb
from reconcile.models import Workspace
from reconcile.notebook import Cell
from tests.reconcile.test_analyst_notebook import NOTEBOOK, small_store

ACME = Workspace(id="acme-ltd", name="Acme Ltd", base_currency="USD")


def notebook(*cells: dict[str, Any], language: str = "python") -> str:
    metadata = {"kernelspec": {"name": "k", "display_name": "k", "language": language}}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells})


def code(source: str) -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": []}


def markdown(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


# -- export ---------------------------------------------------------------------------------------


def test_the_export_is_a_valid_nbformat_4_notebook_with_outputs_stripped() -> None:
    text = write_ipynb(NOTEBOOK, workspace=ACME, db_path="/data/wb.duckdb")
    exported = nbformat.reads(text, as_version=4)
    nbformat.validate(exported)
    kinds = [cell.cell_type for cell in exported.cells]
    assert kinds == ["code", "markdown", "code", "code", "code"]
    assert all(cell.outputs == [] for cell in exported.cells if cell.cell_type == "code")
    setup = exported.cells[0].source
    assert "from reconcile.analyst import open_session" in setup
    assert "os.environ.get(\"WORKBENCH_DB\", '/data/wb.duckdb')" in setup
    assert "os.environ.get(\"WORKBENCH_WORKSPACE\", 'acme-ltd')" in setup
    assert exported.cells[2].source.startswith("monthly = cell_2 = s.sql(")


def test_the_export_runs_in_jupyter_against_the_same_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = small_store(tmp_path / "wb.duckdb")
    monkeypatch.delenv("WORKBENCH_DB", raising=False)
    monkeypatch.delenv("WORKBENCH_WORKSPACE", raising=False)
    text = write_ipynb(NOTEBOOK, workspace=ACME, db_path=store.path)
    executed = nbformat.reads(text, as_version=4)

    nbclient.NotebookClient(executed, timeout=120, kernel_name="python3").execute()

    outputs = [_plain(cell) for cell in executed.cells if cell.cell_type == "code"]
    assert "<AnalystSession of 'Acme Ltd' (acme-ltd)" in outputs[0]
    assert "shape: (" in outputs[1] and "-165.0000" in outputs[2]  # 12 x -13.75, via `monthly`
    assert "months" in outputs[3]
    assert store.workspaces()  # and the file is still free for the workbench


def _plain(cell: Any) -> str:
    texts = [output.get("data", {}).get("text/plain", "") for output in cell.outputs]
    errors = [output.get("evalue", "") for output in cell.outputs if output.output_type == "error"]
    assert not errors, errors
    return "\n".join(texts)


# -- round trip -----------------------------------------------------------------------------------


def test_an_export_imports_back_as_the_same_cells() -> None:
    text = write_ipynb(NOTEBOOK, workspace=ACME, db_path="/data/wb.duckdb")
    assert read_ipynb(text) == (NOTEBOOK, [])


names = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda name: not name.startswith(("v_", "cell_"))
)
queries = st.text(min_size=1).filter(str.strip)
cells = st.lists(
    st.one_of(
        st.builds(Cell, st.just("sql"), queries, st.none() | names),
        st.builds(Cell, st.just("markdown"), queries),
    ),
    max_size=6,
    unique_by=lambda cell: cell.name or id(cell),
).filter(bool)


@given(cells)
@settings(max_examples=200, deadline=None)
def test_any_notebook_survives_export_and_import_exactly(notebook_cells: list[Cell]) -> None:
    text = write_ipynb(notebook_cells, workspace=ACME, db_path="/x.duckdb")
    assert read_ipynb(text) == (notebook_cells, [])


# -- other notebooks ----------------------------------------------------------------------------


def test_sql_magic_cells_and_plain_sql_import_as_sql_cells() -> None:
    text = notebook(
        markdown("# Fees"),
        code("%%sql --save fees\nSELECT sum(fees) AS fees FROM v_settlements\n"),
        code("%sql SELECT * FROM fees"),
        code("%%sql\nFROM v_gaps"),
        code("SELECT count(*)\nFROM v_settlement_lines"),
        code(""),
    )
    assert read_ipynb(text) == (
        [
            Cell("markdown", "# Fees"),
            Cell("sql", "SELECT sum(fees) AS fees FROM v_settlements", "fees"),
            Cell("sql", "SELECT * FROM fees"),
            Cell("sql", "FROM v_gaps"),
            Cell("sql", "SELECT count(*)\nFROM v_settlement_lines"),
        ],
        [],
    )


def test_in_a_sql_kernel_notebook_every_code_cell_is_sql() -> None:
    text = notebook(code("v_gaps"), code("SHOW TABLES"), language="SQL")
    assert read_ipynb(text) == ([Cell("sql", "v_gaps"), Cell("sql", "SHOW TABLES")], [])


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ([code("import os\nos.remove('x')")], "notebook cell 2: Python code that is not a query"),
        ([code("x = s.sql(q)")], "notebook cell 2: Python code that is not a query"),
        ([code("s.sql('SELECT 1'); os.system('x')")], "Python code that is not a query"),
        ([code("SELECT 1; SELECT 2")], "notebook cell 2: neither Python nor one SQL query"),
        ([code("%%sql duckdb:///x.db\nSELECT 1")], "the only option that can be imported"),
        ([{"cell_type": "raw", "source": "x"}], "a raw cell cannot be imported"),
        ([code("%%sql --save cell_3\nSELECT 1")], "taken by a view or a cell number"),
        ([], "no SQL or Markdown cells"),
    ],
)
def test_anything_else_is_refused_with_the_cell_it_is_in(
    cells: list[dict[str, Any]], problem: str
) -> None:
    _, problems = read_ipynb(notebook(markdown("ok"), *cells) if cells else notebook())
    assert any(problem in line for line in problems), problems


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x89PNG not json", "not a Jupyter notebook (.ipynb is JSON)"),
        ("[1, 2]", "has no list of cells"),
        (json.dumps({"nbformat": 3, "cells": []}), "only nbformat 4"),
    ],
)
def test_a_file_that_is_not_a_notebook_is_refused(data: bytes | str, problem: str) -> None:
    found, problems = read_ipynb(data)
    assert found == [] and len(problems) == 1 and problem in problems[0]
