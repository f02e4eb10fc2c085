"""The Notebook page's editor state and result display, as pure functions the page calls.

The page keeps the cells being edited as `EditorCell`s (each with a stable key for its widgets,
so results and widget values follow a cell when it moves); saving turns them into
`reconcile.notebook.Cell`s. `shown` formats a result for the table: money in its row's currency
exponent (`reconcile.money.format_amount`), dates and times in ISO form.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import polars as pl

from reconcile.analyst import AnalystError as AnalystError  # re-exported for the page
from reconcile.analyst import CellResult as CellResult
from reconcile.money import format_amount
from reconcile.notebook import Cell, CellKind
from reconcile.notebook import NotebookError as NotebookError
from reconcile.notebook import positional_name as positional_name


@dataclass(frozen=True)
class EditorCell:
    """A cell on the page: what it holds, and the key its widgets and result are stored under."""

    kind: CellKind
    source: str = ""
    name: str = ""
    key: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


def editor_cells(cells: Sequence[Cell]) -> list[EditorCell]:
    """Saved cells as editor cells, each with a new key."""
    return [EditorCell(cell.kind, cell.source, cell.name or "") for cell in cells]


def saved_cells(editor: Sequence[EditorCell]) -> list[Cell]:
    """The editor's cells as the notebook stores them (a blank name is no name)."""
    return [Cell(cell.kind, cell.source, cell.name.strip() or None) for cell in editor]


def moved(editor: Sequence[EditorCell], key: str, offset: int) -> list[EditorCell]:
    """`editor` with the cell under `key` moved `offset` places (kept within the notebook)."""
    cells = list(editor)
    index = next(i for i, cell in enumerate(cells) if cell.key == key)
    target = min(max(index + offset, 0), len(cells) - 1)
    cells.insert(target, cells.pop(index))
    return cells


def removed(editor: Sequence[EditorCell], key: str) -> list[EditorCell]:
    """`editor` without the cell under `key`."""
    return [cell for cell in editor if cell.key != key]


def shown(result: pl.DataFrame) -> pl.DataFrame:
    """`result` for reading: decimals in the row's currency (a `currency` column) or exact,
    dates as YYYY-MM-DD and times as YYYY-MM-DD HH:MM:SS UTC, all as text."""
    currencies = _currencies(result)
    columns = []
    for name, dtype in result.schema.items():
        values = result.get_column(name)
        if isinstance(dtype, pl.Decimal):
            texts = [_money(v, c) for v, c in zip(values.to_list(), currencies, strict=True)]
            columns.append(pl.Series(name, texts, dtype=pl.String))
        elif dtype == pl.Date or isinstance(dtype, pl.Datetime):
            columns.append(pl.Series(name, [_moment(v) for v in values.to_list()], pl.String))
        else:
            columns.append(values)
    return pl.DataFrame(columns) if columns else result


def _currencies(result: pl.DataFrame) -> list[str | None]:
    if "currency" in result.columns and result.schema["currency"] == pl.String:
        return list(result.get_column("currency").to_list())
    return [None] * result.height


def _money(amount: Decimal | None, currency: str | None) -> str | None:
    if amount is None:
        return None
    return format_amount(amount, currency) if currency else f"{amount.normalize():f}"


def _moment(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        zone = " UTC" if value.tzinfo is not None else ""
        return value.strftime("%Y-%m-%d %H:%M:%S") + zone
    return value.isoformat()
