"""The analyst views: the rows of one workspace that notebook cells query, read in one go.

`snapshot(con, workspace_id, as_of)` reads every view of `VIEWS` in one read-only transaction
on a connection to the workbench database and returns them as Arrow tables, so that cells run
on a consistent copy without holding the file (see `reconcile.analyst`). The table-backed views
come from `reconcile/sql/analyst_*.sql`; the computed ones from the domain's own functions as of
`as_of`: gaps (`reconcile.gaps.find_gaps`), health intervals (`reconcile.health`), connection
status and cadence. Their columns are documented in docs/analyst-views.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from reconcile import sql
from reconcile.cadence import cadences
from reconcile.database import frame
from reconcile.gaps import CAUSE_WINDOWS, find_gaps
from reconcile.health import health_intervals

VIEWS: dict[str, str] = {
    "v_settlements": "one row per settlement, with its connection and posting status",
    "v_settlement_lines": "the lines of every settlement, with the settlement's currency",
    "v_connections": "the workspace's connections with their status and cadence",
    "v_connection_events": "the event log of every connection",
    "v_health_intervals": "each connection's health as consecutive intervals",
    "v_gaps": "every gap (missing, unposted or doubled settlement) as of the session's time",
    "v_gap_estimates": "the amount at risk of each gap, one row per currency",
    "v_postings": "every posting attempt (outbox row) with its ledger object ids",
    "v_ledger_entries": "what the ledger holds, with the settlement each entry names",
}
_FROM_SQL = {
    "v_settlements": "analyst_settlements",
    "v_settlement_lines": "analyst_settlement_lines",
    "v_connection_events": "analyst_connection_events",
    "v_postings": "analyst_postings",
    "v_ledger_entries": "analyst_ledger_entries",
}
_UTC = pl.Datetime("us", "UTC")
_MONEY = pl.Decimal(18, 4)
_ESTIMATE = pl.List(pl.Struct({"currency": pl.String(), "amount": _MONEY}))
_GAPS: dict[str, pl.DataType] = {
    "gap_id": pl.String(),
    "kind": pl.String(),
    "connection_id": pl.String(),
    "connection": pl.String(),
    "provider": pl.String(),
    "start": _UTC,
    "end": _UTC,
    "expected_settlements": pl.Int64(),
    "estimate": _ESTIMATE,
    "cause": pl.String(),
    "cause_windows": CAUSE_WINDOWS,
    "recoverable": pl.Boolean(),
    "manual_step": pl.String(),
    "settlement_id": pl.String(),
    "detail": pl.String(),
}
_HEALTH: dict[str, pl.DataType] = {
    "connection_id": pl.String(),
    "connection": pl.String(),
    "provider": pl.String(),
    "state": pl.String(),
    "start": _UTC,
    "end": _UTC,
    "reason": pl.String(),
    "error_class": pl.String(),
}
_STATUS: dict[str, pl.DataType] = {
    "connection_id": pl.String(),
    "status": pl.String(),
    "status_reason": pl.String(),
    "last_sync_at": _UTC,
    "grant_expires_at": _UTC,
}
_CADENCE: dict[str, pl.DataType] = {
    "connection_id": pl.String(),
    "cadence_days": pl.Float64(),
    "cadence_source": pl.String(),
}


def snapshot(con: duckdb.DuckDBPyConnection, workspace_id: str, as_of: datetime) -> dict[str, Any]:
    """Every view of `VIEWS` for the workspace as an Arrow table, read in one read-only
    transaction (so the views agree with each other); nothing is written."""
    con.execute("BEGIN TRANSACTION READ ONLY")
    try:
        tables: dict[str, Any] = {
            view: con.sql(sql.load(name), params={"workspace_id": workspace_id}).to_arrow_table()
            for view, name in _FROM_SQL.items()
        }
        gaps = _gaps(con, workspace_id, as_of)
        computed = {
            "v_connections": _connections(con, workspace_id, as_of),
            "v_health_intervals": _health(con, workspace_id, as_of),
            "v_gaps": gaps,
            "v_gap_estimates": _estimates(gaps),
        }
    finally:
        con.execute("ROLLBACK")
    tables |= {view: data.to_arrow() for view, data in computed.items()}
    return {view: tables[view] for view in VIEWS}


def _gaps(con: duckdb.DuckDBPyConnection, workspace_id: str, as_of: datetime) -> pl.DataFrame:
    found = find_gaps(con, workspace_id, as_of).rename({"id": "gap_id"})
    return found.select(pl.col(name).cast(dtype) for name, dtype in _GAPS.items())


def _estimates(gaps: pl.DataFrame) -> pl.DataFrame:
    """One row per gap and currency of its estimate: the amount at risk, never summed across
    currencies."""
    return (
        gaps.select("gap_id", "kind", "connection_id", "connection", "estimate")
        .explode("estimate")
        .drop_nulls("estimate")
        .unnest("estimate")
        .select(
            "gap_id",
            "kind",
            "connection_id",
            "connection",
            pl.col("currency").cast(pl.String),
            pl.col("amount").cast(_MONEY),
        )
    )


def _health(con: duckdb.DuckDBPyConnection, workspace_id: str, as_of: datetime) -> pl.DataFrame:
    found = health_intervals(con, workspace_id, as_of)
    return found.select(pl.col(name).cast(dtype) for name, dtype in _HEALTH.items())


def _connections(
    con: duckdb.DuckDBPyConnection, workspace_id: str, as_of: datetime
) -> pl.DataFrame:
    """The workspace's connections, with status as of `as_of` ('removed' for a removed one)
    and, for channels, the expected settlement cadence in days and where it comes from."""
    listed = frame(con, "analyst_connections", workspace_id=workspace_id)
    status = frame(con, "connection_status", workspace_id=workspace_id, as_of=as_of).rename(
        {"id": "connection_id"}
    )
    rhythm = cadences(con, workspace_id, as_of).select(
        "connection_id",
        (pl.col("cadence").dt.total_microseconds() / 86_400_000_000).alias("cadence_days"),
        pl.col("source").alias("cadence_source"),
    )
    joined = listed.join(
        status.select(pl.col(name).cast(dtype) for name, dtype in _STATUS.items()),
        on="connection_id",
        how="left",
    ).join(rhythm.cast(pl.Schema(_CADENCE)), on="connection_id", how="left")
    return joined.select(
        "connection_id",
        "connection",
        "provider",
        "kind",
        "region",
        pl.when(pl.col("removed_at").is_not_null())
        .then(pl.lit("removed"))
        .otherwise(pl.col("status"))
        .alias("status"),
        "status_reason",
        "last_sync_at",
        "grant_expires_at",
        "cadence_days",
        "cadence_source",
        pl.col("created_at").cast(_UTC),
        pl.col("removed_at").cast(_UTC),
    )
