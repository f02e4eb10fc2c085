"""A connection's health over time: intervals derived from its events, never stored.

The states and their order of precedence are those of `Store.connection_status` (paused,
disconnected, degraded, expiring, connected), applied after every event in recorded order
("at", then id), so the last interval of a connection agrees with its status at `as_of`.
See `reconcile/sql/health_intervals.sql` for the rules in full.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import polars as pl

from reconcile.database import frame
from reconcile.rows import aware

HEALTH_COLUMNS = (
    "connection_id",
    "connection",
    "provider",
    "state",
    "start",
    "end",
    "reason",
    "error_class",
)
FLAPPING_COLUMNS = ("connection_id", "connection", "provider", "disconnects", "start", "end")


def health_intervals(
    con: duckdb.DuckDBPyConnection,
    workspace_id: str,
    as_of: datetime,
    connection_id: str | None = None,
) -> pl.DataFrame:
    """Each live connection's health intervals up to `as_of`, by connection name then start.

    Columns: connection_id, connection, provider, state (connected, degraded, expiring,
    disconnected, paused), start, end (the next interval's start; the last ends at `as_of`),
    reason (what began the interval; None when connected) and error_class.
    """
    return intervals_of(
        con, workspace_id, as_of, None if connection_id is None else [connection_id]
    )


def intervals_of(
    con: duckdb.DuckDBPyConnection,
    workspace_id: str,
    as_of: datetime,
    connection_ids: list[str] | None,
) -> pl.DataFrame:
    """`health_intervals` for several connections at once (None: every connection)."""
    params = {
        "workspace_id": workspace_id,
        "as_of": aware(as_of, "as_of"),
        "connection_ids": connection_ids,
    }
    return frame(con, "health_intervals", **params)


def flapping(
    intervals: pl.DataFrame, *, window: timedelta = timedelta(days=7), threshold: int = 3
) -> pl.DataFrame:
    """The connections whose disconnects came `threshold` or more times within one `window`.

    `intervals` is a `health_intervals` frame; a disconnect is the start of a disconnected
    interval (a run of disconnected time counts once). One row per flapping connection:
    connection_id, connection, provider, disconnects (the most found in one window) and the
    start and end of the first window holding that many (first and last disconnect in it).
    """
    starts = (
        intervals.filter(pl.col("state") == "disconnected")
        .select("connection_id", "connection", "provider", "start")
        .sort("connection_id", "start")
    )
    counted = starts.rolling(
        index_column="start", period=window, closed="both", group_by="connection_id"
    ).agg(
        pl.col("connection").last(),
        pl.col("provider").last(),
        pl.len().alias("disconnects"),
        pl.col("start").first().alias("first"),
    )
    busiest = (
        counted.filter(pl.col("disconnects") >= threshold)
        .sort("connection_id", "disconnects", "start", descending=[False, True, False])
        .unique("connection_id", keep="first", maintain_order=True)
    )
    return busiest.select(
        "connection_id",
        "connection",
        "provider",
        pl.col("disconnects").cast(pl.Int64),
        pl.col("first").alias("start"),
        pl.col("start").alias("end"),
    ).sort("connection", "connection_id")
