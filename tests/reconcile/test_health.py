"""Health intervals: derived from events with the status rules, as of a moment; flapping."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.health import HEALTH_COLUMNS, flapping, health_intervals
from reconcile.models import ErrorClass, EventKind
from reconcile.store import Store
from tests.reconcile.test_gaps import DAY, T0, WS, channel, happen, make_store

AS_OF = T0 + 30 * DAY


def timeline(
    store: Store, as_of: datetime = AS_OF, connection_id: str | None = None
) -> list[tuple[Any, ...]]:
    with store.read() as con:
        found = health_intervals(con, WS, as_of, connection_id)
    return found.select("state", "start", "end", "reason").rows()


def test_a_revoked_grant_is_disconnected_from_the_break_until_the_reconnection() -> None:
    store = make_store(ledger=False)
    happen(store, EventKind.CONNECTED, 0)
    happen(store, EventKind.REVOKED, 3, error_class=ErrorClass.AUTH, detail="grant revoked")
    happen(store, EventKind.SYNC_FAILED, 4, error_class=ErrorClass.AUTH, feed="settlements")
    happen(store, EventKind.RECONNECTED, 9)

    assert timeline(store) == [
        ("connected", T0, T0 + 3 * DAY, None),
        ("disconnected", T0 + 3 * DAY, T0 + 9 * DAY, "auth: grant revoked"),
        ("connected", T0 + 9 * DAY, AS_OF, None),
    ]
    with store.read() as con:
        assert health_intervals(con, WS, AS_OF).columns == list(HEALTH_COLUMNS)


def test_events_after_as_of_are_not_yet_known() -> None:
    store = make_store(ledger=False)
    happen(store, EventKind.REVOKED, 3, error_class=ErrorClass.AUTH)
    happen(store, EventKind.RECONNECTED, 9)

    assert timeline(store, T0 + 5 * DAY)[-1] == (
        "disconnected", T0 + 3 * DAY, T0 + 5 * DAY, "auth: revoked"
    )  # fmt: skip


def test_events_at_one_instant_count_in_recorded_order() -> None:
    store = make_store(ledger=False)
    happen(store, EventKind.REVOKED, 2, error_class=ErrorClass.AUTH)
    happen(store, EventKind.RECONNECTED, 2)
    happen(store, EventKind.RECONNECTED, 5)
    happen(store, EventKind.REVOKED, 5, error_class=ErrorClass.AUTH)

    assert [row[:2] for row in timeline(store)] == [
        ("connected", T0),
        ("disconnected", T0 + 5 * DAY),
    ]


def test_a_transient_failure_degrades_until_that_feed_syncs_again() -> None:
    store = make_store(ledger=False)
    happen(store, EventKind.SYNC_SUCCEEDED, 1, feed="settlements")
    happen(store, EventKind.SYNC_FAILED, 2, feed="settlements", error_class=ErrorClass.TRANSIENT,
           detail="503 from upstream")  # fmt: skip
    happen(store, EventKind.SYNC_FAILED, 3, feed="settlements", error_class=ErrorClass.TRANSIENT,
           detail="502 from upstream")  # fmt: skip
    happen(store, EventKind.SYNC_SUCCEEDED, 4, feed="settlements")

    with store.read() as con:
        found = health_intervals(con, WS, AS_OF)
    assert found.select("state", "start", "reason", "error_class").rows() == [
        ("connected", T0, None, None),
        ("degraded", T0 + 2 * DAY, "transient: 503 from upstream", "transient"),
        ("connected", T0 + 4 * DAY, None, None),
    ]


def test_a_grant_nearing_expiry_turns_expiring_14_days_before_without_any_event() -> None:
    store = make_store(ledger=False)
    store.set_grant_expiry("amz-1", T0 + 20 * DAY)

    assert timeline(store) == [
        ("connected", T0, T0 + 6 * DAY, None),
        ("expiring", T0 + 6 * DAY, AS_OF, "re-authorisation due 2024-01-21"),
    ]


def test_paused_feeds_pause_the_connection_over_a_disconnection() -> None:
    store = make_store(ledger=False)
    happen(store, EventKind.REVOKED, 2, error_class=ErrorClass.AUTH)
    happen(store, EventKind.FEED_PAUSED, 4, feed="settlements", detail="seasonal shop")
    happen(store, EventKind.FEED_RESUMED, 6, feed="settlements")

    assert [row[0] for row in timeline(store)] == [
        "connected", "disconnected", "paused", "disconnected"
    ]  # fmt: skip
    assert timeline(store)[2][3] == "seasonal shop"


def test_each_connection_has_its_own_timeline_and_removed_ones_have_none() -> None:
    store = make_store(channel(), channel("eb-1", "eBay", "ebay"), channel("old", "Old"))
    happen(store, EventKind.REVOKED, 2, error_class=ErrorClass.AUTH)
    store.remove_connection("old")

    with store.read() as con:
        found = health_intervals(con, WS, AS_OF)
    assert found.select("connection", "state").rows() == [
        ("Amazon US", "connected"),
        ("Amazon US", "disconnected"),
        ("Xero", "connected"),
        ("eBay", "connected"),
    ]
    assert [row[0] for row in timeline(store, connection_id="eb-1")] == ["connected"]


def test_three_disconnects_within_a_week_flap_and_three_spread_out_do_not() -> None:
    store = make_store(channel(), channel("eb-1", "eBay", "ebay"), ledger=False)
    for day, connection in [(1, "amz-1"), (3, "amz-1"), (8, "amz-1"), (1, "eb-1"), (9, "eb-1"),
                            (17, "eb-1")]:  # fmt: skip
        happen(store, EventKind.REVOKED, day, connection, error_class=ErrorClass.AUTH)
        happen(store, EventKind.RECONNECTED, day + 0.5, connection)

    with store.read() as con:
        found = flapping(health_intervals(con, WS, AS_OF))

    assert found.to_dicts() == [
        {"connection_id": "amz-1", "connection": "Amazon US", "provider": "amazon",
         "disconnects": 3, "start": T0 + DAY, "end": T0 + 8 * DAY},
    ]  # fmt: skip


EVENTS = st.sampled_from(
    [
        (EventKind.CONNECTED, None, None),
        (EventKind.RECONNECTED, None, None),
        (EventKind.REVOKED, None, ErrorClass.AUTH),
        (EventKind.EXPIRED, None, ErrorClass.AUTH),
        (EventKind.SYNC_STARTED, "settlements", None),
        (EventKind.SYNC_SUCCEEDED, "settlements", None),
        (EventKind.SYNC_SUCCEEDED, "finances", None),
        (EventKind.SYNC_FAILED, "settlements", ErrorClass.AUTH),
        (EventKind.SYNC_FAILED, "settlements", ErrorClass.TRANSIENT),
        (EventKind.SYNC_FAILED, "finances", ErrorClass.DATA),
        (EventKind.TOKEN_REFRESHED, None, None),
    ]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(EVENTS, st.integers(0, 20)), max_size=12), st.integers(0, 40))
def test_the_last_interval_agrees_with_the_connection_status(
    events: list[tuple[tuple[EventKind, str | None, ErrorClass | None], int]], expiry: int
) -> None:
    store = make_store(ledger=False)
    store.set_grant_expiry("amz-1", T0 + expiry * DAY)
    for (kind, feed, error_class), day in events:
        happen(store, kind, day, feed=feed, error_class=error_class)

    with store.read() as con:
        found = health_intervals(con, WS, AS_OF)
    status = store.connection_status(WS, as_of=AS_OF).row(0, named=True)["status"]

    assert found.get_column("state").to_list()[-1] == status
    assert found.get_column("end").to_list()[-1] == AS_OF
    starts, ends = found.get_column("start").to_list(), found.get_column("end").to_list()
    assert starts[1:] == ends[:-1] and all(s < e for s, e in zip(starts, ends, strict=True))
    states = found.get_column("state").to_list()
    assert all(a != b for a, b in itertools.pairwise(states))
