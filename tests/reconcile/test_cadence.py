"""Cadence: the provider's schedule, else the median of recent history, else the default."""

from __future__ import annotations

from datetime import timedelta

from reconcile.cadence import cadences
from reconcile.models import SettlementStatus
from reconcile.store import Store
from tests.reconcile.test_gaps import DAY, T0, WS, channel, make_store, settle


def cadence_of(store: Store, days: float = 400) -> dict[str, tuple[timedelta | None, str | None]]:
    with store.read() as con:
        found = cadences(con, WS, T0 + days * DAY)
    assert found.columns == ["connection_id", "cadence", "source"]
    return {row[0]: (row[1], row[2]) for row in found.rows()}


def test_without_enough_history_the_provider_default_applies() -> None:
    store = make_store(channel(), channel("eb-1", "eBay", "ebay"))
    settle(store, [0, 7])

    assert cadence_of(store) == {
        "amz-1": (14 * DAY, "default"),
        "eb-1": (DAY, "default"),
    }  # ledger connections have no cadence


def test_history_is_the_median_period_of_the_last_12_closed_settlements() -> None:
    store = make_store(ledger=False)
    settle(store, [day * 7 for day in range(20)], length=14)  # older ones: 14 days
    settle(store, [200 + 7 * n for n in range(11)], length=7)  # the last 11: 7 days ...
    settle(store, [290], length=30)  # ... and one odd period does not move the median
    settle(store, [330], length=7, status=SettlementStatus.OPEN)

    assert cadence_of(store) == {"amz-1": (7 * DAY, "history")}


def test_settlements_closing_after_as_of_do_not_count() -> None:
    store = make_store(ledger=False)
    settle(store, [0, 10, 20], length=10)

    assert cadence_of(store, days=29) == {"amz-1": (14 * DAY, "default")}
    assert cadence_of(store, days=30) == {"amz-1": (10 * DAY, "history")}


def test_a_schedule_the_connector_stored_wins_and_an_unknown_provider_may_have_none() -> None:
    store = make_store(
        channel(config={"settlement_cadence_days": 7}),
        channel("new-1", "Allegro", "allegro"),
        ledger=False,
    )
    settle(store, [0, 14, 28])

    assert cadence_of(store) == {
        "amz-1": (7 * DAY, "provider"),
        "new-1": (None, None),
    }
