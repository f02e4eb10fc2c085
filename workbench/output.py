"""Listings for the terminal and for scripts: table, JSON or CSV.

JSON is a list of objects with snake_case keys, amounts as decimal strings (in the currency's
exponent unless that would drop digits: `reconcile.money.format_amount`), dates and times in
ISO 8601.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import polars as pl

from reconcile.money import format_amount

Format = Literal["table", "json", "csv"]
FORMATS: tuple[Format, ...] = ("table", "json", "csv")


def _plain(value: Any, currency: str | None) -> Any:
    if isinstance(value, Decimal):
        return format_amount(value, currency) if currency else f"{value:f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def records(frame: pl.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of `frame` restricted to `columns`, every value made plain (Decimal -> str)."""
    rows = frame.select(columns).to_dicts() if frame.height else []
    return [{k: _plain(v, row.get("currency")) for k, v in row.items()} for row in rows]


def render(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: Format) -> str:
    """`rows` as the chosen format, ready to print."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    return _table(rows, columns)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join([line.rstrip(), *body])
