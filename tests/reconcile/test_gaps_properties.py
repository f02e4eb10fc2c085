"""Every planted gap is found, with its window and cause; a complete history has none."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.models import ErrorClass, EventKind
from reconcile.references import settlement_reference
from reconcile.store import Store
from tests.reconcile.test_gaps import (
    DAY,
    T0,
    book,
    channel,
    entry,
    gaps_of,
    happen,
    make_store,
    settle,
)

PERIOD = 14  # days, every settlement; so the cadence is 14 days whatever the history


@dataclass(frozen=True)
class Plan:
    """One connection's planted history: which periods exist, and what went wrong."""

    index: int
    periods: int
    dropped: frozenset[int]  # holes in the middle and a missing tail
    disconnect: tuple[float, float | None] | None  # (from, to) in days; to None: still down
    duplicated: int | None  # a kept period posted twice
    copied: int | None  # a kept period also entered by hand, without a reference

    @property
    def connection_id(self) -> str:
        return f"shop-{self.index}"

    @property
    def kept(self) -> list[int]:
        return [n for n in range(self.periods) if n not in self.dropped]

    @property
    def net(self) -> str:
        return f"{100 + self.index}.00"  # distinct per connection: no cross-shop look-alikes


@st.composite
def plans(draw: st.DrawFn, index: int) -> Plan:
    periods = draw(st.integers(4, 14))
    middle = st.sets(st.integers(1, periods - 2), max_size=3)
    tail = draw(st.integers(0, 3))
    dropped = frozenset(draw(middle) | set(range(periods - tail, periods)))
    span = periods * PERIOD
    start = draw(st.floats(0, span, allow_nan=False).map(lambda x: round(x, 2)))
    length = draw(st.one_of(st.none(), st.floats(0.5, span).map(lambda x: round(x, 2))))
    kept = [n for n in range(periods) if n not in dropped]
    pick = st.one_of(st.none(), st.sampled_from(kept)) if kept else st.none()
    return Plan(
        index=index,
        periods=periods,
        dropped=dropped,
        disconnect=draw(st.one_of(st.none(), st.just((start, length)))),
        duplicated=draw(pick),
        copied=draw(pick),
    )


def days(at: float) -> datetime:
    return T0 + at * DAY


def seed(store: Store, plan: Plan, as_of: datetime) -> dict[int, str]:
    ids = settle(
        store,
        [n * PERIOD for n in plan.kept],
        connection_id=plan.connection_id,
        length=PERIOD,
        net=plan.net,
    )
    by_period = dict(zip(plan.kept, ids, strict=True))
    entries = [
        entry(f"{plan.index}-{n}", settlement_reference(sid), plan.net, (n + 1) * PERIOD + 1)
        for n, sid in by_period.items()
    ]
    if plan.duplicated is not None:
        ref = settlement_reference(by_period[plan.duplicated])
        entries.append(entry(f"{plan.index}-dup", ref, plan.net, (plan.duplicated + 1) * PERIOD))
    if plan.copied is not None:
        entries.append(entry(f"{plan.index}-man", "payout", plan.net, (plan.copied + 1) * PERIOD))
    book(store, *entries)
    if plan.disconnect is not None:
        begin, length = plan.disconnect
        happen(store, EventKind.REVOKED, begin, plan.connection_id, error_class=ErrorClass.AUTH)
        if length is not None and days(begin + length) <= as_of:
            happen(store, EventKind.RECONNECTED, begin + length, plan.connection_id)
    return by_period


def expected_channel_gaps(plan: Plan, as_of: datetime) -> set[tuple[Any, ...]]:
    kept = plan.kept
    found: set[tuple[Any, ...]] = set()
    for before, after in itertools.pairwise(kept):
        if after - before > 1:
            window = (days((before + 1) * PERIOD), days(after * PERIOD))
            found.add(("coverage", plan.connection_id, *window, after - before - 1))
    latest = days((kept[-1] + 1) * PERIOD) if kept else T0
    if as_of - latest > (PERIOD + 3) * DAY:
        found.add(
            ("overdue", plan.connection_id, latest, as_of, (as_of - latest) // (PERIOD * DAY))
        )
    return {(*gap, cause(plan, gap[2], gap[3], as_of)) for gap in found}


def cause(plan: Plan, start: datetime, end: datetime, as_of: datetime) -> str:
    if plan.disconnect is None:
        return "unknown"
    begin, length = plan.disconnect
    down, up = days(begin), days(begin + length) if length is not None else as_of
    up = min(up, as_of)
    if not (down < end and up > start) or down >= as_of:
        return "unknown"
    stamp = "%Y-%m-%d %H:%M"
    if up >= as_of:
        return f"disconnected since {down:{stamp}} (auth: revoked)"
    return f"disconnected {down:{stamp}} to {up:{stamp}} (auth: revoked)"


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 3).flatmap(lambda n: st.tuples(*(plans(i) for i in range(n)))),
    st.floats(0, 2.9).map(lambda x: round(x, 3)),
)
def test_every_planted_gap_is_found_with_its_window_and_cause(
    planted: tuple[Plan, ...], late: float
) -> None:
    as_of = days(max(plan.periods for plan in planted) * PERIOD + late)
    store = make_store(*(channel(p.connection_id, f"Shop {p.index}") for p in planted))
    ids = {plan.index: seed(store, plan, as_of) for plan in planted}

    found = gaps_of(store, as_of)

    channel_kinds = pl.col("kind").is_in(["coverage", "overdue"])
    got = set(
        found.filter(channel_kinds)
        .select("kind", "connection_id", "start", "end", "expected_settlements", "cause")
        .rows()
    )
    assert got == set().union(*(expected_channel_gaps(plan, as_of) for plan in planted))
    duplicates = found.filter(pl.col("kind") == "duplicate_posting")
    assert set(duplicates.get_column("settlement_id")) == {
        ids[p.index][p.duplicated] for p in planted if p.duplicated is not None
    }
    copies = found.filter(pl.col("kind") == "possible_duplicate")
    assert sorted(copies.get_column("connection_id")) == sorted(
        p.connection_id for p in planted if p.copied is not None
    )
    assert found.filter(pl.col("kind").is_in(["unposted", "amount_mismatch"])).is_empty()


def test_a_complete_history_with_every_settlement_posted_has_no_gap() -> None:
    plan = Plan(0, 12, frozenset(), None, None, None)
    as_of = days(12 * PERIOD + 2)
    store = make_store(channel(plan.connection_id, "Shop 0"))
    seed(store, plan, as_of)

    assert gaps_of(store, as_of).is_empty()
