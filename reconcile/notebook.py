"""A workspace's notebook: an ordered list of SQL and Markdown cells, kept in the database.

Cell N (counting from 1, Markdown cells included) is `cell_N` to the SQL cells after it, and
also goes by its own name when it has one: a later cell may write `SELECT * FROM cell_2` or
`FROM revenue`. Only earlier cells can be used, and a name counts wherever it appears in a
cell's text as a word. Running a cell makes each earlier cell it uses (directly or through
another) a view, so a result built on another is exact, never cut by the row limit. Saving
replaces the workspace's cells in one transaction, after the whole notebook passed its checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from reconcile import sql
from reconcile.analyst import NAME, AnalystSession, CellResult
from reconcile.analyst_views import VIEWS
from reconcile.database import frame
from reconcile.models import Workspace
from reconcile.names import find_workspace
from reconcile.safe_query import NamedQuery
from reconcile.store import Store

CellKind = Literal["sql", "markdown"]
_POSITIONAL = re.compile(r"^cell_\d+$")


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: its kind, its text and, optionally, the name later cells may use."""

    kind: CellKind
    source: str
    name: str | None = None


class NotebookError(Exception):
    """A notebook cannot be saved or read as it stands; the message lists every problem."""


def positional_name(index: int) -> str:
    """The name every later cell may use for the cell at `index` (0-based): cell_1, cell_2..."""
    return f"cell_{index + 1}"


def label(index: int) -> str:
    """How messages refer to the cell at `index`: "cell 3"."""
    return f"cell {index + 1}"


def problems(cells: Sequence[Cell]) -> list[str]:
    """Everything that stops the notebook from being saved, one line per problem."""
    found: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if cell.kind not in ("sql", "markdown"):
            found.append(f"{label(index)}: kind must be 'sql' or 'markdown', not {cell.kind!r}")
        if cell.name is None:
            continue
        why = name_problem(cell.name)
        if why:
            found.append(f"{label(index)}: {why}")
        elif cell.kind != "sql":
            found.append(f"{label(index)}: only a SQL cell can have a name")
        elif cell.name in seen:
            found.append(f"{label(index)}: {label(seen[cell.name])} is named {cell.name!r} too")
        seen.setdefault(cell.name, index)
    return found


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a cell, or None when it can."""
    if not NAME.match(name):
        return (
            f"the name {name!r} must be lower-case letters, digits and _, starting with a letter "
            f"or _ (at most 63 characters)"
        )
    if name in VIEWS or _POSITIONAL.match(name):
        return f"the name {name!r} is taken by a view or a cell number: choose another"
    return None


def earlier(cells: Sequence[Cell], index: int) -> list[NamedQuery]:
    """The SQL cells before `index`, each with the names a later cell may use for it."""
    return [
        NamedQuery(_names(position, cell), cell.source, label(position))
        for position, cell in enumerate(cells[:index])
        if cell.kind == "sql"
    ]


def _names(index: int, cell: Cell) -> tuple[str, ...]:
    own = (cell.name,) if cell.name else ()
    return (positional_name(index), *own)


def run_cell(session: AnalystSession, cells: Sequence[Cell], index: int) -> CellResult:
    """Run the SQL cell at `index` with the earlier cells it may use."""
    cell = cells[index]
    if cell.kind != "sql":
        raise ValueError(f"{label(index)} is a {cell.kind} cell; only SQL cells run")
    return session.run(cell.source, label=label(index), earlier=earlier(cells, index))


def run_all(session: AnalystSession, cells: Sequence[Cell]) -> dict[int, CellResult]:
    """Run every SQL cell in order; a failing cell does not stop the ones after it."""
    return {
        index: run_cell(session, cells, index)
        for index, cell in enumerate(cells)
        if cell.kind == "sql"
    }


def load(store: Store, workspace_id: str) -> list[Cell]:
    """The workspace's saved cells, in order (empty when it has none)."""
    with store.read() as con:
        rows = frame(con, "notebook_cells", workspace_id=workspace_id).rows(named=True)
    return [Cell(row["kind"], row["source"], row["name"]) for row in rows]


def save(
    store: Store, workspace_id: str, cells: Sequence[Cell], *, at: datetime, actor: str = "app"
) -> None:
    """Replace the workspace's saved cells with `cells`, all or nothing, with an audit record.

    Raises `NotebookError` listing every problem, before anything is written.
    """
    found = problems(cells)
    if found:
        raise NotebookError("the notebook was not saved: " + "; ".join(found))
    params = {
        "workspace_id": workspace_id,
        "kinds": [cell.kind for cell in cells],
        "names": [cell.name for cell in cells],
        "sources": [cell.source for cell in cells],
        "updated_at": at,
    }
    audit = {
        "at": at,
        "actor": actor,
        "action": "notebook_saved",
        "entity": workspace_id,
        "detail": json.dumps({"cells": len(cells)}),
    }
    with store.transaction() as con:
        find_workspace(
            [Workspace(**row) for row in frame(con, "workspaces").rows(named=True)], workspace_id
        )
        con.execute(sql.load("notebook_cells_delete"), {"workspace_id": workspace_id})
        con.execute(sql.load("notebook_cells_insert"), params)
        con.execute(sql.load("audit_insert"), audit)
