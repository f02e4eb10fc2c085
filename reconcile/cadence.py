"""Cadence: how often each channel connection is expected to settle, and how we know.

In order of trust: the provider's own schedule (a connector that reads one, such as Shopify's
`payoutSchedule`, stores it as `settlement_cadence_days` in the connection's config) ->
source "provider"; else the median period length of the connection's last 12 closed
settlements, when there are at least 3 -> "history"; else the provider's default from
`reconcile.providers.PROVIDER_RULES` -> "default".
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from reconcile import providers
from reconcile.database import frame
from reconcile.rows import aware


def cadences(con: duckdb.DuckDBPyConnection, workspace_id: str, as_of: datetime) -> pl.DataFrame:
    """One row per live channel connection of the workspace: connection_id, cadence, source.

    `cadence` is a duration (None for a provider without a known default and with too little
    history); `source` is "provider", "history" or "default" (None with no cadence).
    """
    with providers.registered(con):
        found = cadences_us(con, workspace_id, as_of)
    return found.select(
        "connection_id", pl.col("cadence_us").cast(pl.Duration("us")).alias("cadence"), "source"
    )


def cadences_us(con: duckdb.DuckDBPyConnection, workspace_id: str, as_of: datetime) -> pl.DataFrame:
    """`cadences` with the cadence in microseconds (`cadence_us`), on a connection where
    `provider_rules` is already registered (`reconcile.providers.registered`)."""
    return frame(
        con, "cadence_per_connection", workspace_id=workspace_id, as_of=aware(as_of, "as_of")
    )
