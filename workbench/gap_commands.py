"""The `gaps` and `health` listings: which workspaces and connections, as of the app's clock.

The work itself is `reconcile.gaps.find_gaps` and `reconcile.health.health_intervals` on one
read of the store; this module picks the scope and shapes rows for `workbench.output.render`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from reconcile.cadence import cadences
from reconcile.gaps import find_gaps
from reconcile.health import flapping, health_intervals
from reconcile.models import Workspace
from reconcile.money import format_amount
from workbench.context import AppContext
from workbench.output import Format, records

GAP_COLUMNS = (
    "id",
    "kind",
    "workspace",
    "connection",
    "start",
    "end",
    "cause",
    "recoverable",
    "expected_settlements",
    "manual_step",
    "estimate",
    "settlement_id",
    "detail",
)
HEALTH_COLUMNS = (
    "workspace",
    "connection",
    "provider",
    "state",
    "start",
    "end",
    "reason",
    "error_class",
    "flapping",
)

CADENCE_COLUMNS = ("workspace", "connection", "provider", "cadence_days", "source")

Finder = Callable[[duckdb.DuckDBPyConnection, str, datetime, str | None], pl.DataFrame]


def gaps(app: AppContext, workspace_ref: str | None, connection_ref: str | None) -> pl.DataFrame:
    """The gaps of one workspace, one connection or every workspace, as of the app's clock."""

    def find(
        con: duckdb.DuckDBPyConnection, ws: str, as_of: datetime, connection_id: str | None
    ) -> pl.DataFrame:
        found = find_gaps(con, ws, as_of)
        if connection_id is None:
            return found
        return found.filter(pl.col("connection_id") == connection_id)

    return _per_workspace(app, workspace_ref, connection_ref, find)


def health(app: AppContext, workspace_ref: str | None, connection_ref: str | None) -> pl.DataFrame:
    """Health intervals of the chosen connections, each row saying if its connection flaps."""

    def find(
        con: duckdb.DuckDBPyConnection, ws: str, as_of: datetime, connection_id: str | None
    ) -> pl.DataFrame:
        intervals = health_intervals(con, ws, as_of, connection_id)
        flapping_ids = flapping(intervals).get_column("connection_id").implode()
        return intervals.with_columns(flapping=pl.col("connection_id").is_in(flapping_ids))

    return _per_workspace(app, workspace_ref, connection_ref, find)


def cadence(app: AppContext, workspace_ref: str | None, connection_ref: str | None) -> pl.DataFrame:
    """Each channel connection's expected settlement rhythm, and where it comes from."""

    def find(
        con: duckdb.DuckDBPyConnection, ws: str, as_of: datetime, connection_id: str | None
    ) -> pl.DataFrame:
        names = {c.id: (c.name, c.provider) for c in app.store.connections(ws)}
        found = cadences(con, ws, as_of)
        if connection_id is not None:
            found = found.filter(pl.col("connection_id") == connection_id)
        return found.select(
            pl.col("connection_id")
            .replace_strict({k: v[0] for k, v in names.items()})
            .alias("connection"),
            pl.col("connection_id")
            .replace_strict({k: v[1] for k, v in names.items()})
            .alias("provider"),
            (pl.col("cadence").dt.total_seconds() / 86400).round(2).alias("cadence_days"),
            "source",
        )

    return _per_workspace(app, workspace_ref, connection_ref, find)


def _per_workspace(
    app: AppContext, workspace_ref: str | None, connection_ref: str | None, find: Finder
) -> pl.DataFrame:
    spaces = [app.store.workspace(workspace_ref)] if workspace_ref else app.store.workspaces()
    connection_id = None
    if connection_ref:
        chosen = app.store.connection(connection_ref, workspace_ref)
        spaces = [app.store.workspace(chosen.workspace_id)]
        connection_id = chosen.id
    as_of = app.clock.now()
    frames = []
    with app.store.read() as con:
        for space in spaces:
            frames.append(_named(find(con, space.id, as_of, connection_id), space))
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame()


def _named(found: pl.DataFrame, space: Workspace) -> pl.DataFrame:
    return found.with_columns(pl.lit(space.name).alias("workspace"))


def gap_rows(found: pl.DataFrame, fmt: Format) -> list[dict[str, Any]]:
    """Rows for `render`: the estimate as {"USD": "12.50"} in JSON, "USD 12.50" elsewhere."""
    if found.is_empty():
        return []
    rows = records(found.drop("estimate"), [c for c in GAP_COLUMNS if c != "estimate"])
    for row, estimate in zip(rows, found.get_column("estimate").to_list(), strict=True):
        amounts = {e["currency"]: format_amount(e["amount"], e["currency"]) for e in estimate}
        row["estimate"] = (
            amounts if fmt == "json" else ", ".join(f"{c} {a}" for c, a in amounts.items())
        )
    return rows


def health_rows(found: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows for `render`."""
    return records(found, HEALTH_COLUMNS) if found.height else []
