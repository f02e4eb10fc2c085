"""Frames shaped for the pages' tables: ISO dates, money in the currency's own decimals.

Pure functions of what the services return, so the display rules are tested without a page.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from reconcile.imports import ImportResult
from reconcile.money import exponent, quantize


def money(amount: Decimal | str | None, currency: str) -> str:
    """An amount in the currency's own decimals, with its code (JPY 1,200; KWD 1.250)."""
    if amount is None:
        return ""
    value = quantize(Decimal(amount), currency)
    return f"{currency} {value:,.{exponent(currency)}f}"


def iso(moment: datetime | date | None) -> str:
    """A date or UTC time in ISO form (2026-11-23, 2026-11-23 09:30 UTC)."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    return moment.isoformat()


def estimate_text(estimate: list[dict[str, Any]] | None) -> str:
    """A gap's estimate, one amount per currency (never added across currencies)."""
    return ", ".join(money(part["amount"], part["currency"]) for part in estimate or [])


def gap_label(row: dict[str, Any]) -> str:
    """How a gap is named in a picker: connection, kind and window."""
    return f"{row['connection']}: {row['kind']} {iso(row['start'])} to {iso(row['end'])}"


def gap_table(gaps: pl.DataFrame) -> pl.DataFrame:
    """The Gaps page table: kind, window, cause, recoverable, the estimate in words."""
    rows = [
        {
            "connection": row["connection"],
            "kind": row["kind"],
            "from": iso(row["start"]),
            "to": iso(row["end"]),
            "expected": row["expected_settlements"],
            "estimate": estimate_text(row["estimate"]),
            "cause": row["cause"],
            "recoverable": _recoverable(row["recoverable"]),
            "detail": row["detail"] or row["manual_step"] or "",
            "id": row["id"],
        }
        for row in gaps.iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema=GAP_TABLE, orient="row")


GAP_TABLE = {
    "connection": pl.String,
    "kind": pl.String,
    "from": pl.String,
    "to": pl.String,
    "expected": pl.Int64,
    "estimate": pl.String,
    "cause": pl.String,
    "recoverable": pl.String,
    "detail": pl.String,
    "id": pl.String,
}


def _recoverable(value: bool | None) -> str:
    return {True: "yes", False: "no: import the file"}.get(value, "") if value is not None else ""


def problem_table(result: ImportResult) -> pl.DataFrame:
    """An import's problems, by line and column, as the importer reported them."""
    rows = [
        {"line": p.line, "column": p.column or "", "problem": p.message} for p in result.problems
    ]
    schema = {"line": pl.Int64, "column": pl.String, "problem": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def settlement_table(settlements: pl.DataFrame) -> pl.DataFrame:
    """Settlements with ISO periods and amounts formatted in each row's currency."""
    amounts = ("gross", "fees", "refunds", "reserves", "net")
    rows = [
        {
            "connection": row["connection"],
            "settlement": row["provider_settlement_id"],
            "from": iso(row["period_start"]),
            "to": iso(row["period_end"]),
            "deposit": iso(row["deposit_date"]),
            **{name: money(row[name], row["currency"]) for name in amounts},
            "status": row["status"],
            "posting": row["posting_status"],
            "lines": row["line_count"],
            "id": row["id"],
        }
        for row in settlements.iter_rows(named=True)
    ]
    schema = {
        **dict.fromkeys(["connection", "settlement", "from", "to", "deposit"], pl.String),
        **dict.fromkeys(amounts, pl.String),
        "status": pl.String,
        "posting": pl.String,
        "lines": pl.Int64,
        "id": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
