"""Gaps: settlements missing from the store, and settlements missing from (or doubled in) the books.

`find_gaps(con, workspace_id, as_of)` returns one row per gap, sorted by (connection, start,
kind, id), with the columns of `GAP_COLUMNS`. The rules, all set-based in SQL
(`reconcile/sql/gaps_channel.sql`, `gaps_ledger.sql`):

Scope: the live (not removed) channel connections of the workspace; ledger kinds use the
entries of its live ledger connection, "live" meaning status not VOIDED or DELETED; an entry
names the settlement stored with it (`ledger_entries.settlement_id`, written from its reference
by `reconcile.rows`), and the per-settlement sums come from `ledger_summary`, which
`reconcile.rows.write_ledger_entries` keeps equal to a recomputation from the entries.
Settlements count only when period_start <= as_of; events only when at <= as_of.

- coverage: a connection's settlements ordered by (period_start, period_end, id); a hole
  opens when a settlement (closed or still open) starts more than the provider's coverage
  tolerance (Amazon 1 day) after the furthest period_end of the closed settlements before it
  (the previous one's, unless periods overlap). Window [that end, that start];
  expected = max(1, round(hole / cadence)), rounding half away from zero.
- overdue: latest = greatest(max period_end of closed, max period_start of open settlements),
  else the connection's created_at; overdue when as_of - latest > cadence + the provider's grace
  (Amazon 3 days). Window [latest, as_of]; expected = max(1, floor((as_of - latest) / cadence)).
  No cadence (unknown provider, no history): no overdue check.
- unposted: a closed settlement that no live ledger entry names (only when the workspace has a
  ledger connection); a settlement whose latest posting row is `voided` is still reported.
- amount_mismatch: live entries name the settlement, but the sum over its distinct references
  (one entry each: the smallest object id; ACCPAY counts -total, others +total) differs from
  its net, or is in another currency.
- duplicate_posting: more than one live entry with the same workbench reference.
- possible_duplicate: a live entry without a workbench reference whose currency and total equal
  another live entry's with dates at most 3 days apart. The entries in such pairs, per
  (ledger, currency, total) in date order, form one cluster until two dates are > 3 days apart.

Cadence: `reconcile.cadence`. Provider facts (tolerance, grace, horizon, manual steps):
`reconcile.providers.PROVIDER_RULES`, the only place they live.

Cause (coverage, overdue): the connection's disconnected health intervals (`reconcile.health`)
that overlap the window, as "disconnected 2026-09-01 10:00 to 2026-09-21 08:00 (auth: grant
revoked)" ("disconnected since ..." when still disconnected at as_of) joined by "; ", else
"unknown"; ledger kinds have cause "unknown". Recoverable (coverage, overdue): window start >=
as_of - the provider's horizon, and >= its earliest date if any (no documented horizon:
recoverable); else `manual_step` is the provider's template (its "expired" one when the window
starts before as_of - the provider's file retention). Ledger kinds: recoverable and manual_step
are null.

Ids: "gap_" + the first 16 hex digits of sha256 over "kind \\x1f connection_id \\x1f key",
where key is: coverage "<start µs>/<end µs>" (epoch microseconds); overdue "<start µs>";
unposted and amount_mismatch the settlement id; duplicate_posting the reference;
possible_duplicate the cluster's object ids, sorted, joined by ",". Ledger kinds take the
channel connection of the settlement when known (for a cluster, that of its first entry by
object id that names one), else the ledger connection.

Estimate (a list of {currency, amount}): coverage and overdue: expected x the median net per
currency of the connection's closed settlements; unposted: the settlement's net;
amount_mismatch: net - posted (empty across currencies); duplicate_posting: the signed sum of
the entries beyond the first, in its currency; possible_duplicate: total x (entries - 1).
`expected_settlements` is null for ledger kinds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from reconcile import providers
from reconcile.cadence import cadences_us
from reconcile.database import frame
from reconcile.health import intervals_of
from reconcile.money import exponent
from reconcile.rows import aware

GAP_KINDS = (
    "coverage",
    "overdue",
    "unposted",
    "amount_mismatch",
    "duplicate_posting",
    "possible_duplicate",
)
GAP_COLUMNS = (
    "id",
    "kind",
    "connection_id",
    "connection",
    "provider",
    "start",
    "end",
    "expected_settlements",
    "estimate",
    "cause",
    "cause_windows",
    "recoverable",
    "manual_step",
    "settlement_id",
    "detail",
)


_CAUSE_FIELDS: dict[str, pl.DataType] = {
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "reason": pl.String(),
}
CAUSE_WINDOWS = pl.List(pl.Struct(_CAUSE_FIELDS))


def find_gaps(
    con: duckdb.DuckDBPyConnection,
    workspace_id: str,
    as_of: datetime,
    *,
    rules: tuple[providers.ProviderRule, ...] = providers.PROVIDER_RULES,
) -> pl.DataFrame:
    """Every gap of the workspace as of `as_of`, one row each (see the module's rules).

    `rules` replaces the provider table (tests, what-ifs); the default is `PROVIDER_RULES`.
    """
    aware(as_of, "as_of")
    channel = _channel_gaps(con, workspace_id, as_of, rules)
    params = {"workspace_id": workspace_id, "as_of": as_of}
    ledger = frame(con, "gaps_ledger", **params)
    found = pl.concat([channel, _worded(ledger)], how="vertical")
    return found.sort("connection", "start", "kind", "id")


def gap(
    con: duckdb.DuckDBPyConnection, workspace_id: str, gap_id: str, as_of: datetime
) -> dict[str, Any] | None:
    """The gap with this id as of `as_of` (a dict of `GAP_COLUMNS`), None when there is none."""
    found = find_gaps(con, workspace_id, as_of).filter(pl.col("id") == gap_id)
    return found.row(0, named=True) if found.height else None


def _channel_gaps(
    con: duckdb.DuckDBPyConnection,
    workspace_id: str,
    as_of: datetime,
    rules: tuple[providers.ProviderRule, ...],
) -> pl.DataFrame:
    with providers.registered(con, rules):
        cadence = cadences_us(con, workspace_id, as_of).rename({"source": "cadence_source"})
        with _registered(con, gap_cadences=cadence):
            windows = frame(con, "gaps_channel", workspace_id=workspace_id, as_of=as_of)
    # Health only where there is a window to explain: most connections have none.
    troubled = windows.get_column("connection_id").unique().to_list()
    intervals = intervals_of(con, workspace_id, as_of, troubled) if troubled else None
    return _with_causes(windows, intervals, as_of)


def _with_causes(
    windows: pl.DataFrame, intervals: pl.DataFrame | None, as_of: datetime
) -> pl.DataFrame:
    """`windows` with cause and cause_windows: the disconnected intervals overlapping each."""
    down = pl.DataFrame(schema={"connection_id": pl.String, **_CAUSE_FIELDS})
    if intervals is not None:
        down = intervals.filter(pl.col("state") == "disconnected").select(down.columns)
    stamp = "%Y-%m-%d %H:%M"
    began, ended = pl.col("start_").dt.strftime(stamp), pl.col("end_").dt.strftime(stamp)
    text = (
        pl.when(pl.col("end_") >= as_of)
        .then(pl.format("disconnected since {} ({})", began, "reason"))
        .otherwise(pl.format("disconnected {} to {} ({})", began, ended, "reason"))
    )
    causes = (
        windows.select("id", "connection_id", "start", "end")
        .join(down.rename({"start": "start_", "end": "end_"}), on="connection_id")
        .filter(pl.col("start_") < pl.col("end"), pl.col("end_") > pl.col("start"))
        .sort("id", "start_")
        .group_by("id", maintain_order=True)
        .agg(
            text.str.join("; ").alias("cause"),
            pl.struct(start="start_", end="end_", reason="reason").alias("cause_windows"),
        )
    )
    return (
        windows.join(causes, on="id", how="left")
        .with_columns(
            pl.col("cause").fill_null("unknown"),
            pl.col("cause_windows").fill_null(pl.lit([], dtype=CAUSE_WINDOWS)),
        )
        .select(GAP_COLUMNS)
    )


@contextlib.contextmanager
def _registered(con: duckdb.DuckDBPyConnection, **frames: pl.DataFrame) -> Iterator[None]:
    for name, data in frames.items():
        con.register(name, data)
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)


# -- the sentence of each ledger-side gap ------------------------------------------------------


def _worded(ledger: pl.DataFrame) -> pl.DataFrame:
    """The ledger gaps with their `detail`, built column-wise from the facts the SQL returned."""
    currencies = ledger.get_column("currency").drop_nulls().unique().to_list()
    exponents = {currency: exponent(currency) for currency in currencies}
    net = _money(pl.col("net"), exponents)
    ids = pl.col("object_ids").list.join(", ")
    count = pl.col("object_ids").list.len().cast(pl.String)
    stl = pl.concat_str(pl.lit("Settlement "), pl.col("provider_settlement_id"))
    period = pl.concat_str(
        pl.col("start").dt.strftime("%Y-%m-%d"),
        pl.lit(" to "),
        pl.col("end").dt.strftime("%Y-%m-%d"),
    )
    state = pl.col("posting_state")
    kind = pl.col("kind")
    detail = (
        pl.when(kind == "unposted", state == "voided")
        .then(pl.format("{} ({} net, {}) is not in the ledger: its posting was voided on "
                        "purpose; post it again only if voiding it was a mistake.",
                        stl, net, period))
        .when(kind == "unposted", state == "posted")
        .then(pl.format("{} ({} net, {}) was posted but the ledger holds no live entry for it: "
                        "sync the ledger connection, then post again if it is still missing.",
                        stl, net, period))
        .when(kind == "unposted", state != "unposted")
        .then(pl.format("{} ({} net, {}) has a {} posting that has not reached the ledger: run "
                        "workbench post to finish it.", stl, net, period, state))
        .when(kind == "unposted")
        .then(pl.format("{} ({} net, {}) is not in the ledger: review and post it with "
                        "workbench post.", stl, net, period))
        .when(kind == "amount_mismatch", pl.col("posted").is_not_null())
        .then(pl.format("{} nets {} but its ledger entries total {}: a difference of {}.",
                        stl, net, _money(pl.col("posted"), exponents),
                        _money(pl.col("estimate").list.first().struct.field("amount"), exponents)))
        .when(kind == "amount_mismatch")
        .then(pl.format("{} is in {} but its ledger entries are in {}: check its posting.", stl,
                        pl.col("currency"), pl.col("ledger_currencies")))
        .when(kind == "duplicate_posting")
        .then(pl.format("The ledger holds {} live entries with reference {} ({}): void all but "
                        "one.", count, pl.col("reference"), ids))
        .otherwise(pl.format("{} ledger entries of {} are dated within 3 days of each other ({}) "
                             "and not all carry a workbench reference: check whether one was "
                             "entered twice.", count, net, ids))
    )  # fmt: skip
    # lazily, so the money texts the branches share are computed once
    return ledger.lazy().with_columns(detail.alias("detail")).select(GAP_COLUMNS).collect()


def _money(amount: pl.Expr, exponents: dict[str, int]) -> pl.Expr:
    """ "USD 12.50": `reconcile.money.format_amount` as a column expression, currency first."""
    places = pl.col("currency").replace_strict(exponents, default=2, return_dtype=pl.Int8)
    text = amount.cast(pl.String)  # always 4 decimal places: DECIMAL(18, 4)
    size = text.str.len_chars()
    exact = (
        pl.when(places == 0, text.str.ends_with(".0000"))
        .then(text.str.slice(0, size - 5))
        .when(places == 2, text.str.ends_with("00"))
        .then(text.str.slice(0, size - 2))
        .when(places == 3, text.str.ends_with("0"))
        .then(text.str.slice(0, size - 1))
        .otherwise(text.str.replace(r"0+$", "").str.replace(r"\.$", ""))
    )
    unsigned_zero = exact.str.replace(r"^-(0(\.0*)?)$", "$1")
    return pl.concat_str(pl.col("currency"), pl.lit(" "), unsigned_zero)
