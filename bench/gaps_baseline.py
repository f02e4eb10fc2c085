"""The gaps benchmark's baseline: the job of `reconcile.gaps.find_gaps`, done plainly in pandas.

What an analyst would write: read the tables it needs out of DuckDB into DataFrames
(`con.sql(...).df()`, money as integer ten-thousandths so that no amount is a float), then
filter, sort, group, shift and merge. Same rules as `reconcile/gaps.py` (its docstring and the
contract): coverage and overdue gaps per live channel connection, cadence as the median of the
last 12 closed periods, disconnected health intervals for the cause, recoverable by the
provider's horizon, and the four ledger-side kinds. Provider facts come from the same table,
`reconcile.providers.PROVIDER_RULES`.

Health: only what cause attribution needs, the disconnected intervals (a break, that is an
auth failure, revoke, expiry or a disconnect by the user, until a reconnect or a successful
sync). Pausing a feed is not modelled: the benchmark data has none.
"""

from __future__ import annotations

import hashlib
import shlex
import warnings
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import duckdb
import numpy as np
import pandas as pd
from pandas.errors import Pandas4Warning

from reconcile.providers import PROVIDER_RULES
from reconcile.references import REFERENCE_SQL_PATTERN

E4 = 10_000  # money is read as integer ten-thousandths: DECIMAL(18, 4) exactly
US = np.timedelta64(1, "us")
LIVE_EXCLUDED = ("VOIDED", "DELETED")
BREAKS = ("revoked", "expired", "refresh_failed", "disconnected_by_user")
RESTORES = ("connected", "reconnected", "sync_succeeded")
COLUMNS = [
    "id", "kind", "connection_id", "connection", "provider", "start", "end",
    "expected_settlements", "estimate", "cause", "recoverable", "manual_step", "settlement_id",
]  # fmt: skip

_READS = {
    "connections": "SELECT id, workspace_id, provider, name, kind, created_at, removed_at "
    "FROM connections",
    "settlements": "SELECT id, connection_id, provider_settlement_id, period_start, period_end, "
    "status, currency, CAST(net * 10000 AS BIGINT) AS net FROM settlements",
    "events": 'SELECT id, connection_id, "at", kind, error_class, detail FROM connection_events',
    "entries": "SELECT connection_id, object_id, object_type, reference, currency, "
    "CAST(total * 10000 AS BIGINT) AS total, status, date FROM ledger_entries",
    "postings": "SELECT id, settlement_id, state, created_at, updated_at FROM postings",
}


def find_gaps_pandas(
    con: duckdb.DuckDBPyConnection, workspace_id: str, as_of: datetime
) -> pd.DataFrame:
    """Every gap of the workspace as of `as_of`: the columns of `COLUMNS`, one row per gap."""
    t = _read(con)
    now = pd.Timestamp(as_of).tz_convert("UTC")
    conns = t["connections"]
    mine = conns[(conns.workspace_id == workspace_id) & conns.removed_at.isna()]
    channels = mine[mine.kind == "channel"].merge(_rules(), on="provider", how="left")
    stl = t["settlements"]
    stl = stl[stl.connection_id.isin(channels.id) & (stl.period_start <= now)]
    channel = _channel_gaps(channels, stl, t["events"], now)
    ledgers = mine[mine.kind == "ledger"].sort_values(["created_at", "id"])
    ledger = _ledger_gaps(ledgers, channels, stl, t["entries"], t["postings"], now)
    found = pd.concat([channel, ledger], ignore_index=True)
    return found.sort_values(["connection", "start", "kind", "id"], ignore_index=True)[COLUMNS]


def _read(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The tables the job needs, as pandas DataFrames."""
    with warnings.catch_warnings():
        # DuckDB 2.0's .df() localises TIMESTAMPTZ columns with a pandas call that pandas 3.1
        # deprecates (`drop(inplace=True)`); the warning is DuckDB's, not this code's.
        warnings.filterwarnings("ignore", "The inplace keyword", Pandas4Warning)
        return {name: con.sql(query).df() for name, query in _READS.items()}


def _rules() -> pd.DataFrame:
    rows = [
        {
            "provider": r.provider,
            "default_cadence": r.default_cadence,
            "tolerance": r.coverage_tolerance or timedelta(days=1),
            "grace": r.overdue_grace or timedelta(days=3),
            "horizon": r.horizon,
            "earliest": None if r.earliest is None else pd.Timestamp(r.earliest, tz="UTC"),
            "retention": r.file_retention,
            "manual_step": r.manual_step,
            "manual_step_expired": r.manual_step_expired,
        }
        for r in PROVIDER_RULES
    ]
    return pd.DataFrame(rows)


def _gap_id(kind: str, connection_id: str, key: str) -> str:
    digest = hashlib.sha256(f"{kind}\x1f{connection_id}\x1f{key}".encode()).hexdigest()
    return "gap_" + digest[:16]


def _micros(moment: pd.Timestamp) -> int:
    return int((moment - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1))


# -- channel side: coverage and overdue --------------------------------------------------------


def _channel_gaps(
    channels: pd.DataFrame, stl: pd.DataFrame, events: pd.DataFrame, now: pd.Timestamp
) -> pd.DataFrame:
    closed = stl[(stl.status == "closed") & stl.period_end.notna()]
    cadence = _cadences(channels, closed, now)
    scope = channels.drop(columns=["kind", "workspace_id"]).set_index("id").join(cadence)
    windows = pd.concat([_coverage(scope, closed), _overdue(scope, stl, now)], ignore_index=True)
    windows = windows.join(scope, on="connection_id")
    length = (windows.end - windows.start) / windows.cadence
    windows["expected_settlements"] = np.where(
        windows.kind == "coverage", np.floor(length + 0.5), np.floor(length)
    ).clip(min=1)
    windows["cause"] = _causes(windows, _disconnects(events, scope.index, now), now)
    _recoverability(windows, now)
    windows["estimate"] = pd.Series(_estimates(windows, closed), index=windows.index)
    windows["id"] = [
        _gap_id(k, c, str(_micros(s)) + (f"/{_micros(e)}" if k == "coverage" else ""))
        for k, c, s, e in zip(
            windows.kind, windows.connection_id, windows.start, windows.end, strict=True
        )
    ]
    windows["connection"] = windows["name"]
    windows["settlement_id"] = None
    return windows


def _cadences(channels: pd.DataFrame, closed: pd.DataFrame, now: pd.Timestamp) -> pd.Series:
    """Median length of the last 12 closed periods (at least 3), else the provider's default."""
    done = closed[closed.period_end <= now].sort_values(
        ["connection_id", "period_start", "id"], ascending=[True, False, False]
    )
    recent = done.groupby("connection_id").head(12)
    micros = (recent.period_end - recent.period_start).to_numpy() / US
    length = pd.Series(micros, index=recent.index)
    stats = length.groupby(recent.connection_id).agg(["median", "count"])
    history = np.floor(stats["median"][stats["count"] >= 3] + 0.5) * US
    default = channels.set_index("id").default_cadence
    return (
        pd.Series(history, dtype="timedelta64[us]")
        .reindex(default.index)
        .fillna(default)
        .rename("cadence")
    )


def _coverage(scope: pd.DataFrame, closed: pd.DataFrame) -> pd.DataFrame:
    """Holes after the furthest end seen so far, longer than the provider's tolerance."""
    ordered = closed.sort_values(["connection_id", "period_start", "period_end", "id"])
    furthest = ordered.groupby("connection_id").period_end.cummax()
    ordered = ordered.assign(covered_until=furthest.groupby(ordered.connection_id).shift())
    tolerance = ordered.connection_id.map(scope.tolerance)
    holes = ordered[ordered.period_start - ordered.covered_until > tolerance]
    return pd.DataFrame(
        {
            "kind": "coverage",
            "connection_id": holes.connection_id.to_numpy(),
            "start": holes.covered_until.to_numpy(),
            "end": holes.period_start.to_numpy(),
        }
    )


def _overdue(scope: pd.DataFrame, stl: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Connections with nothing newer than their cadence plus the provider's grace."""
    closed_end = stl[stl.status == "closed"].groupby("connection_id").period_end.max()
    open_start = stl[stl.status == "open"].groupby("connection_id").period_start.max()
    latest = pd.concat([closed_end, open_start], axis=1).max(axis=1)
    latest = latest.reindex(scope.index).fillna(scope.created_at)
    late = (now - latest) > (scope.cadence + scope.grace)
    stalled = latest[late]
    return pd.DataFrame(
        {"kind": "overdue", "connection_id": stalled.index, "start": stalled.to_numpy(), "end": now}
    )


def _disconnects(events: pd.DataFrame, scope: pd.Index, now: pd.Timestamp) -> pd.DataFrame:
    """Disconnected intervals: from a break until the next restore (or `now`), with its reason."""
    ev = events[events.connection_id.isin(scope) & (events["at"] <= now)]
    ev = ev.sort_values(["connection_id", "at", "id"])
    breaks = ev.kind.isin(BREAKS) | ((ev.kind == "sync_failed") & (ev.error_class == "auth"))
    restores = ev.kind.isin(RESTORES)
    down = pd.Series(np.where(breaks, 1.0, np.where(restores, 0.0, np.nan)), index=ev.index)
    broke = ev[breaks]
    text = broke.detail.where(broke.detail != "", broke.kind.str.replace("_", " "))
    reason = (broke.error_class + ": " + text).where(broke.error_class.notna(), text)
    ev = ev.assign(
        down=down.groupby(ev.connection_id).ffill().fillna(0.0) == 1.0,
        reason=reason.reindex(ev.index).groupby(ev.connection_id).ffill(),
    )
    at_instant = ev.drop_duplicates(["connection_id", "at"], keep="last")
    was_down = at_instant.groupby("connection_id").down.shift(fill_value=False)
    changes = at_instant[at_instant.down != was_down]
    ends = changes.groupby("connection_id")["at"].shift(-1).fillna(now)
    down_from = changes.assign(end=ends)[changes.down]
    return down_from.rename(columns={"at": "start"})[["connection_id", "start", "end", "reason"]]


def _causes(windows: pd.DataFrame, disconnects: pd.DataFrame, now: pd.Timestamp) -> pd.Series:
    """The disconnected intervals overlapping each window, as text; "unknown" when none."""
    pairs = windows.reset_index().merge(disconnects, on="connection_id", suffixes=("", "_d"))
    pairs = pairs[(pairs.start_d < pairs.end) & (pairs.end_d > pairs.start)]
    pairs = pairs.sort_values(["index", "start_d"])
    since = "since " + pairs.start_d.dt.strftime("%Y-%m-%d %H:%M")
    between = pairs.start_d.dt.strftime("%Y-%m-%d %H:%M") + " to "
    between += pairs.end_d.dt.strftime("%Y-%m-%d %H:%M")
    text = "disconnected " + since.where(pairs.end_d >= now, between) + " (" + pairs.reason + ")"
    joined = text.groupby(pairs["index"]).agg("; ".join)
    causes: pd.Series = joined.reindex(windows.index).fillna("unknown")
    return causes


def _recoverability(windows: pd.DataFrame, now: pd.Timestamp) -> None:
    """Whether the provider's API still returns each window, and the manual step if not."""
    in_horizon = windows.horizon.isna() | (windows.start >= now - windows.horizon)
    after_earliest = windows.earliest.isna() | (windows.start >= windows.earliest)
    windows["recoverable"] = in_horizon & after_earliest
    lost: list[dict[str, Any]] = windows[~windows.recoverable].to_dict("records")  # type: ignore[assignment]
    windows["manual_step"] = None
    windows.loc[~windows.recoverable, "manual_step"] = [_manual_step(row, now) for row in lost]


def _manual_step(row: dict[str, Any], now: pd.Timestamp) -> str:
    """The provider's manual step for a window its API no longer returns."""
    expired = row["manual_step_expired"] is not None and row["start"] < now - row["retention"]
    template: str = row["manual_step_expired"] if expired else row["manual_step"]
    window = f"{row['start']:%Y-%m-%d} to {row['end']:%Y-%m-%d}"
    return template.replace("{window}", window).replace("{connection}", shlex.quote(row["name"]))


def _estimates(windows: pd.DataFrame, closed: pd.DataFrame) -> list[list[dict[str, Any]]]:
    """Expected settlements x the median net per currency of the connection's closed ones."""
    medians = closed.groupby(["connection_id", "currency"]).net.median()
    per_connection: dict[str, list[tuple[str, float]]] = {}
    for key, median in medians.items():
        connection_id, currency = cast(tuple[str, str], key)
        per_connection.setdefault(connection_id, []).append((currency, median))
    return [
        [
            {"currency": c, "amount": (Decimal(str(m)) * int(n) / E4).quantize(Decimal("0.0001"))}
            for c, m in per_connection.get(connection_id, [])
        ]
        for connection_id, n in zip(
            windows.connection_id, windows.expected_settlements, strict=True
        )
    ]


# -- ledger side: unposted, amount_mismatch, duplicate_posting, possible_duplicate -------------


def _ledger_gaps(
    ledgers: pd.DataFrame,
    channels: pd.DataFrame,
    stl: pd.DataFrame,
    entries: pd.DataFrame,
    postings: pd.DataFrame,
    now: pd.Timestamp,
) -> pd.DataFrame:
    if ledgers.empty:
        return pd.DataFrame(columns=COLUMNS)
    ledger = ledgers.iloc[0]
    live = entries[entries.connection_id.isin(ledgers.id) & ~entries.status.isin(LIVE_EXCLUDED)]
    live = live.assign(
        named=live.reference.str.extract(REFERENCE_SQL_PATTERN, expand=False),
        signed=live.total.where(live.object_type != "ACCPAY", -live.total),
        date=live.date.dt.tz_localize("UTC"),
    )
    names = channels.set_index("id")[["name", "provider"]]
    settled = stl.join(names, on="connection_id").assign(end=stl.period_end.fillna(now))
    settled = settled.set_index("id", drop=False)
    refs = _references(live)
    found = [
        _unposted(settled, refs, postings),
        _mismatched(settled, refs),
        _duplicated(settled, refs, live, ledger),
        _possible(settled, live, ledger),
    ]
    gaps = pd.concat(found, ignore_index=True)
    gaps["id"] = [
        _gap_id(k, c, key)
        for k, c, key in zip(gaps.kind, gaps.connection_id, gaps.key, strict=True)
    ]
    gaps["expected_settlements"] = None
    gaps["cause"] = "unknown"
    gaps["recoverable"] = None
    gaps["manual_step"] = None
    return gaps


def _money(currency: str, e4: int) -> list[dict[str, Any]]:
    return [{"currency": currency, "amount": Decimal(int(e4)).scaleb(-4)}]


def _references(live: pd.DataFrame) -> pd.DataFrame:
    """One row per workbench reference: its entries, and its amount (the smallest object id's)."""
    named = live[live.named.notna()].sort_values("object_id")
    refs = named.groupby(["named", "reference"], sort=False).agg(
        entries=("object_id", "size"),
        first_object=("object_id", "first"),
        signed=("signed", "first"),
        currency=("currency", "first"),
        first_date=("date", "min"),
        last_date=("date", "max"),
    )
    return refs.reset_index()


def _unposted(settled: pd.DataFrame, refs: pd.DataFrame, postings: pd.DataFrame) -> pd.DataFrame:
    latest = postings.sort_values(["updated_at", "created_at", "id"], ascending=False)
    state = latest.drop_duplicates("settlement_id").set_index("settlement_id").state
    named = refs[["named"]].drop_duplicates()
    joined = settled.reset_index(drop=True).merge(
        named, left_on="id", right_on="named", how="left", indicator=True
    )
    missing = joined[(joined.status == "closed") & (joined["_merge"] == "left_only")]
    return pd.DataFrame(
        {
            "kind": "unposted",
            "connection_id": missing.connection_id,
            "connection": missing.name,
            "provider": missing.provider,
            "start": missing.period_start,
            "end": missing.end,
            "settlement_id": missing.id,
            "key": missing.id,
            "estimate": [_money(c, n) for c, n in zip(missing.currency, missing.net, strict=True)],
            "posting_state": missing.id.map(state).fillna("unposted"),
        }
    )


def _mismatched(settled: pd.DataFrame, refs: pd.DataFrame) -> pd.DataFrame:
    posted = refs.groupby("named").agg(
        posted=("signed", "sum"), currencies=("currency", "nunique"), ledger=("currency", "first")
    )
    both = settled.join(posted, how="inner")
    same = both.currencies.eq(1) & (both.ledger == both.currency)
    wrong = both[~same | (both.posted != both.net)]
    same = same[wrong.index]
    return pd.DataFrame(
        {
            "kind": "amount_mismatch",
            "connection_id": wrong.connection_id,
            "connection": wrong.name,
            "provider": wrong.provider,
            "start": wrong.period_start,
            "end": wrong.end,
            "settlement_id": wrong.id,
            "key": wrong.id,
            "estimate": [
                _money(c, n - p) if ok else []
                for c, n, p, ok in zip(wrong.currency, wrong.net, wrong.posted, same, strict=True)
            ],
        }
    )


def _duplicated(
    settled: pd.DataFrame, refs: pd.DataFrame, live: pd.DataFrame, ledger: pd.Series
) -> pd.DataFrame:
    doubled = refs[refs.entries > 1].merge(
        settled, left_on="named", right_index=True, how="left", suffixes=("", "_s")
    )
    known = doubled.id.notna()
    extra = live[live.reference.isin(doubled.reference)]
    first = extra.reference.map(doubled.set_index("reference").first_object)
    currency = extra.reference.map(doubled.set_index("reference").currency)
    beyond = extra[(extra.object_id != first) & (extra.currency == currency)]
    surplus = beyond.groupby("reference").signed.sum()
    return pd.DataFrame(
        {
            "kind": "duplicate_posting",
            "connection_id": doubled.connection_id.where(known, ledger.id),
            "connection": doubled.name.where(known, ledger["name"]),
            "provider": doubled.provider.where(known, ledger.provider),
            "start": doubled.period_start.where(known, doubled.first_date),
            "end": doubled.end.where(known, doubled.last_date + pd.Timedelta(days=1)),
            "settlement_id": doubled.id,
            "key": doubled.reference,
            "estimate": [
                _money(c, surplus.get(r, 0))
                for c, r in zip(doubled.currency, doubled.reference, strict=True)
            ],
        }
    )


def _possible(settled: pd.DataFrame, live: pd.DataFrame, ledger: pd.Series) -> pd.DataFrame:
    """Clusters of same-amount entries within 3 days of each other, one without a reference."""
    unreferenced = live[live.named.isna() & live.date.notna()]
    on = ["connection_id", "currency", "total"]
    pairs = unreferenced.merge(live, on=on, suffixes=("", "_other"))
    near = (pairs.date_other - pairs.date).abs() <= pd.Timedelta(days=3)
    pairs = pairs[near & (pairs.object_id != pairs.object_id_other)]
    involved = live[
        live.object_id.isin(pairs.object_id) | live.object_id.isin(pairs.object_id_other)
    ]
    involved = involved.sort_values([*on, "date", "object_id"])
    gap = involved.groupby(on).date.diff() > pd.Timedelta(days=3)
    involved = involved.assign(cluster=gap.astype(int).groupby([involved[c] for c in on]).cumsum())
    owners = involved.merge(
        settled[["connection_id", "name", "provider"]],
        left_on="named",
        right_index=True,
        how="left",
        suffixes=("", "_s"),
    )
    keys = [*on, "cluster"]
    clusters = (
        owners.sort_values("object_id")
        .groupby(keys)
        .agg(
            ids=("object_id", ",".join),
            entries=("object_id", "size"),
            start=("date", "min"),
            end=("date", "max"),
            owner=("connection_id_s", "first"),
            owner_name=("name", "first"),
            owner_provider=("provider", "first"),
        )
    )
    clusters = clusters.reset_index()
    known = clusters.owner.notna()
    return pd.DataFrame(
        {
            "kind": "possible_duplicate",
            "connection_id": clusters.owner.where(known, ledger.id),
            "connection": clusters.owner_name.where(known, ledger["name"]),
            "provider": clusters.owner_provider.where(known, ledger.provider),
            "start": clusters.start,
            "end": clusters.end + pd.Timedelta(days=1),
            "settlement_id": None,
            "key": clusters.ids,
            "estimate": [
                _money(c, t * (n - 1))
                for c, t, n in zip(clusters.currency, clusters.total, clusters.entries, strict=True)
            ],
        }
    )
