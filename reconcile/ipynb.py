"""Notebooks as Jupyter files (nbformat 4.5 JSON, written and read here without nbformat).

`write_ipynb` makes a notebook that runs in Jupyter: its first code cell opens the same database
read-only for the same workspace through `reconcile.analyst.open_session` (WORKBENCH_DB and
WORKBENCH_WORKSPACE override both), each SQL cell becomes `cell_N = s.sql(r\"\"\"...\"\"\",
names=[...])` so that later cells can use it by name, and Markdown stays Markdown.

`read_ipynb` accepts, besides Markdown cells, code cells that hold one of:
- a query in this module's own form (`... = s.sql("...", names=[...])`, the names optional);
- a `%%sql` cell (optionally `%%sql --save NAME`, which names it) or a `%sql QUERY` line;
- plain SQL: text that is not Python and that DuckDB parses as one query (in a notebook whose
  kernel language is SQL, every code cell is taken as SQL).
The first code cell that calls `open_session` is the session set-up and is left out; empty code
cells are left out. Anything else (other Python, raw cells) is a problem: `read_ipynb` returns
the cells and the problems, and a caller imports nothing unless the problems are empty.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from reconcile.models import Workspace
from reconcile.notebook import Cell, positional_name, problems

_SAVE = re.compile(r"^(?:--save[ =]|-s )\s*(\S+)\s*$")
_READS = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)
_SETUP = """\
# The workbench database, read-only, for the workspace {name}.
# Set WORKBENCH_DB / WORKBENCH_WORKSPACE to analyse another database or workspace.
import os

from reconcile.analyst import open_session

s = open_session(
    os.environ.get("WORKBENCH_DB", {db!r}),
    os.environ.get("WORKBENCH_WORKSPACE", {workspace!r}),
)
s"""


def write_ipynb(cells: Sequence[Cell], *, workspace: Workspace, db_path: str | Path) -> str:
    """The notebook as nbformat 4.5 JSON text, outputs empty; `db_path` is made absolute."""
    db = str(Path(db_path).absolute())
    setup = _SETUP.format(name=json.dumps(workspace.name), db=db, workspace=workspace.id)
    body = [_code("setup", setup, {"role": "session"})]
    for index, cell in enumerate(cells):
        cell_id = f"cell-{index + 1}"
        if cell.kind == "markdown":
            body.append(_cell("markdown", cell_id, cell.source, {}))
        else:
            names = [positional_name(index), *([cell.name] if cell.name else [])]
            meta = {"kind": "sql", "names": names}
            body.append(_code(cell_id, _query_code(cell.source, names), meta))
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "workbench": {"workspace": workspace.id, "workspace_name": workspace.name},
        },
        "cells": body,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _query_code(query: str, names: list[str]) -> str:
    text = "\n" + query + "\n"
    plain = all(char.isprintable() or char in "\n\t" for char in text)
    literal = f'r"""{text}"""' if plain and '"""' not in text else repr(text)
    variable = names[-1]
    targets = " = ".join(reversed(names))
    return f"{targets} = s.sql(\n    {literal},\n    names={names!r},\n)\n{variable}"


def _code(cell_id: str, source: str, meta: dict[str, Any]) -> dict[str, Any]:
    cell = _cell("code", cell_id, source, {"workbench": meta})
    return {**cell, "execution_count": None, "outputs": []}


def _cell(kind: str, cell_id: str, source: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "cell_type": kind,
        "id": cell_id,
        "metadata": meta,
        "source": source.splitlines(keepends=True),
    }


# -- reading ------------------------------------------------------------------------------------


def read_ipynb(data: bytes | str) -> tuple[list[Cell], list[str]]:
    """The SQL and Markdown cells of a notebook file, and every problem that stops its import."""
    try:
        notebook = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], [f"the file is not a Jupyter notebook (.ipynb is JSON): {exc}"]
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return [], ["the file is not a Jupyter notebook: it has no list of cells"]
    if notebook.get("nbformat") != 4:
        return [], [f"only nbformat 4 notebooks can be imported, not {notebook.get('nbformat')!r}"]
    sql_kernel = _language(notebook.get("metadata")) == "sql"
    cells: list[Cell] = []
    found: list[str] = []
    setup_seen = False
    for number, raw in enumerate(notebook["cells"], start=1):
        where = f"notebook cell {number}"
        cell, problem, setup = _read_cell(raw, sql_kernel=sql_kernel, setup_seen=setup_seen)
        setup_seen = setup_seen or setup
        if problem:
            found.append(f"{where}: {problem}")
        elif cell is not None:
            cells.append(cell)
    found += problems(cells)
    if not cells and not found:
        found.append("the notebook has no SQL or Markdown cells to import")
    return cells, found


def _language(metadata: object) -> str:
    if not isinstance(metadata, dict):
        return ""
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        part = metadata.get(key)
        if isinstance(part, dict) and isinstance(part.get(field), str):
            return str(part[field]).lower()
    return ""


def _read_cell(
    raw: object, *, sql_kernel: bool, setup_seen: bool
) -> tuple[Cell | None, str | None, bool]:
    """(the cell or None to leave it out, the problem, whether it was the session set-up)."""
    if not isinstance(raw, dict):
        return None, "not a cell", False
    source = raw.get("source", "")
    text = "".join(source) if isinstance(source, list) else source
    if not isinstance(text, str):
        return None, "its source is not text", False
    kind = raw.get("cell_type")
    if kind == "markdown":
        return (Cell("markdown", text) if text.strip() else None), None, False
    if kind != "code":
        return None, f"a {kind} cell cannot be imported: only SQL and Markdown cells can", False
    if not text.strip():
        return None, None, False
    if sql_kernel:
        cell, problem = _magic(text) or (Cell("sql", text.strip()), None)
        return cell, problem, False
    return _code_cell(text, setup_seen)


def _code_cell(text: str, setup_seen: bool) -> tuple[Cell | None, str | None, bool]:
    magic = _magic(text)
    if magic is not None:
        return magic[0], magic[1], False
    try:
        tree = ast.parse(text)
    except SyntaxError:
        if _one_query(text):
            return Cell("sql", text.strip()), None, False
        first = text.strip().splitlines()[0][:60]
        return None, f"neither Python nor one SQL query ({first!r})", False
    if not setup_seen and _calls(tree, "open_session"):
        return None, None, True
    query = _own_query(tree)
    if query is None:
        first = text.strip().splitlines()[0][:60]
        return None, f"Python code that is not a query ({first!r}): " + _ACCEPTED, False
    return query, None, False


_ACCEPTED = "only SQL cells (%%sql, plain SQL or s.sql(...)) and Markdown cells can be imported"


def _magic(text: str) -> tuple[Cell | None, str | None] | None:
    """A `%%sql` cell or `%sql` line as (cell, problem); None when `text` is neither."""
    stripped = text.lstrip()
    if stripped.startswith("%sql ") and "\n" not in stripped.strip():
        return Cell("sql", stripped[len("%sql ") :].strip()), None
    if not stripped.startswith("%%sql"):
        return None
    header, _, body = stripped.partition("\n")
    options = header[len("%%sql") :].strip()
    if not options:
        return Cell("sql", body.strip()), None
    saved = _SAVE.match(options)
    if saved is None:
        return None, f"%%sql {options}: the only option that can be imported is --save NAME"
    return Cell("sql", body.strip(), saved[1]), None


def _one_query(text: str) -> bool:
    try:
        with duckdb.connect(":memory:") as con:
            statements = con.extract_statements(text)
    except duckdb.Error:
        return False
    return len(statements) == 1 and statements[0].type in _READS


def _calls(tree: ast.AST, function: str) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name == function:
                return True
    return False


def _own_query(tree: ast.Module) -> Cell | None:
    """The query of a cell this module wrote (`x = s.sql("...", names=[...])` then `x`)."""
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    if len(calls) != 1 or not all(_harmless(statement) for statement in tree.body):
        return None
    call = calls[0]
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "sql") or len(call.args) != 1:
        return None
    query = call.args[0]
    if not (isinstance(query, ast.Constant) and isinstance(query.value, str)):
        return None
    names = _names(call)
    if names is None:
        return None
    own = [name for name in names if not re.match(r"^cell_\d+$", name)]
    text = query.value
    if text.startswith("\n") and text.endswith("\n"):
        text = text[1:-1]
    return Cell("sql", text, own[0] if own else None)


def _harmless(statement: ast.stmt) -> bool:
    """An assignment to plain names or a bare expression: what a query cell is made of."""
    if isinstance(statement, ast.Assign):
        return all(isinstance(target, ast.Name) for target in statement.targets)
    return isinstance(statement, ast.Expr)


def _names(call: ast.Call) -> list[str] | None:
    for keyword in call.keywords:
        if keyword.arg != "names":
            return None
        value = keyword.value
        if not isinstance(value, ast.List | ast.Tuple):
            return None
        items = [item.value for item in value.elts if isinstance(item, ast.Constant)]
        if len(items) != len(value.elts) or not all(isinstance(i, str) for i in items):
            return None
        return [str(item) for item in items]
    return []
