"""Connection status: derived from events and feeds, in recorded order, as of a moment."""

from __future__ import annotations

from datetime import datetime, timedelta

from reconcile.models import ErrorClass, EventKind
from reconcile.store import Store
from tests.reconcile.test_store import T0, connection, event, seeded

NOW = T0 + timedelta(days=30)


def status_of(store: Store, as_of: datetime = NOW) -> tuple[str, str | None]:
    row = store.connection_status(as_of=as_of).row(0, named=True)
    return row["status"], row["status_reason"]


def test_a_connection_without_trouble_is_connected_with_no_reason() -> None:
    store = seeded()
    store.record_event(event(EventKind.CONNECTED, T0))
    assert status_of(store) == ("connected", None)


def test_a_revoked_grant_disconnects_with_its_reason_until_reconnected() -> None:
    store = seeded()
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0))
    revoked = event(EventKind.REVOKED, T0 + timedelta(days=1), error_class=ErrorClass.AUTH)
    store.record_event(revoked.model_copy(update={"detail": "grant revoked in Seller Central"}))
    assert status_of(store) == ("disconnected", "auth: grant revoked in Seller Central")
    store.record_event(event(EventKind.RECONNECTED, T0 + timedelta(days=2)))
    assert status_of(store) == ("connected", None)
    assert status_of(store, as_of=T0 + timedelta(days=1, hours=1))[0] == "disconnected"


def test_an_auth_failure_disconnects_but_a_transient_one_only_degrades() -> None:
    store = seeded()
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0))
    store.record_event(
        event(
            EventKind.SYNC_FAILED, T0 + timedelta(hours=1), error_class=ErrorClass.TRANSIENT
        ).model_copy(update={"detail": "503 from upstream"})
    )
    assert status_of(store) == ("degraded", "transient: 503 from upstream")
    store.record_event(
        event(EventKind.SYNC_FAILED, T0 + timedelta(hours=2), error_class=ErrorClass.AUTH)
    )
    assert status_of(store) == ("disconnected", "auth: sync failed")


def test_a_successful_sync_after_a_failure_is_connected_again() -> None:
    store = seeded()
    store.record_event(event(EventKind.SYNC_FAILED, T0, error_class=ErrorClass.DATA))
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0 + timedelta(hours=1)))
    assert status_of(store) == ("connected", None)


def test_a_grant_expiring_within_14_days_is_expiring() -> None:
    store = seeded()
    store.set_grant_expiry("amz-1", NOW + timedelta(days=14))
    assert status_of(store) == ("expiring", "re-authorisation due 2024-04-14")
    assert status_of(store, as_of=NOW - timedelta(days=1))[0] == "connected"


def test_paused_wins_only_when_every_feed_is_paused() -> None:
    store = seeded(feeds=["settlements", "finances"])
    store.record_event(event(EventKind.REVOKED, T0, error_class=ErrorClass.AUTH))
    store.set_feed_paused("amz-1", "settlements", True)
    assert status_of(store)[0] == "disconnected"
    store.set_feed_paused("amz-1", "finances", True)
    store.record_event(event(EventKind.FEED_PAUSED, T0, feed="finances", detail="seasonal"))
    assert status_of(store) == ("paused", "seasonal")


def test_status_reports_the_last_sync_and_attempt_and_skips_removed_connections() -> None:
    store = seeded()
    store.add_connection(connection(id_="eb-1", name="eBay", provider="ebay"), ["settlements"])
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0))
    store.record_event(event(EventKind.SYNC_STARTED, T0 + timedelta(hours=5)))
    store.remove_connection("eb-1")
    frame = store.connection_status("acme-ltd", as_of=NOW)
    assert frame.columns == [
        "id", "workspace", "name", "provider", "kind", "status", "status_reason",
        "last_sync_at", "last_attempt_at", "grant_expires_at",
    ]  # fmt: skip
    assert frame.select("id", "workspace", "last_sync_at", "last_attempt_at").rows() == [
        ("amz-1", "Acme Ltd", T0, T0 + timedelta(hours=5)),
    ]
    assert store.connection_status("bolt", as_of=NOW).is_empty()


def test_an_auth_failure_at_the_same_instant_as_the_last_success_disconnects() -> None:
    store = seeded()
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0, feed="settlements"))
    store.record_event(event(EventKind.SYNC_STARTED, T0, feed="settlements"))
    store.record_event(
        event(EventKind.SYNC_FAILED, T0, feed="settlements", error_class=ErrorClass.AUTH)
    )
    assert status_of(store) == ("disconnected", "auth: sync failed")
    store.record_event(
        event(EventKind.REVOKED, T0, error_class=ErrorClass.AUTH, detail="grant revoked")
    )
    assert status_of(store) == ("disconnected", "auth: grant revoked")


def test_a_reconnection_at_the_same_instant_as_the_break_connects_again() -> None:
    store = seeded()
    store.record_event(event(EventKind.REVOKED, T0, error_class=ErrorClass.AUTH))
    store.record_event(event(EventKind.RECONNECTED, T0))
    assert status_of(store) == ("connected", None)


def test_a_failure_and_a_success_at_one_instant_are_judged_in_recorded_order() -> None:
    store = seeded()
    failed = event(EventKind.SYNC_FAILED, T0, error_class=ErrorClass.TRANSIENT, detail="503")
    store.record_event(failed)
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0))
    assert status_of(store) == ("connected", None)
    store.record_event(failed)
    assert status_of(store) == ("degraded", "transient: 503")


def test_a_feed_whose_latest_attempt_failed_degrades_despite_a_later_success_of_another() -> None:
    store = seeded(feeds=["settlements", "finances"])
    failed = event(
        EventKind.SYNC_FAILED,
        T0 + timedelta(hours=1),
        feed="finances",
        error_class=ErrorClass.TRANSIENT,
        detail="503 from upstream",
    )
    store.record_event(failed)
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0 + timedelta(hours=2), feed="settlements"))
    assert status_of(store) == ("degraded", "transient: 503 from upstream")
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0 + timedelta(hours=3), feed="finances"))
    assert status_of(store) == ("connected", None)


def test_the_degraded_reason_is_the_latest_failure_among_the_failing_feeds() -> None:
    store = seeded(feeds=["settlements", "finances"])
    for hours, feed, error_class in [(1, "finances", "data"), (2, "settlements", "config")]:
        store.record_event(
            event(
                EventKind.SYNC_FAILED,
                T0 + timedelta(hours=hours),
                feed=feed,
                error_class=ErrorClass(error_class),
            )
        )
    assert status_of(store) == ("degraded", "config: sync failed")


def test_a_paused_feed_no_longer_degrades_its_connection() -> None:
    store = seeded(feeds=["settlements", "finances"])
    store.record_event(
        event(EventKind.SYNC_FAILED, T0, feed="finances", error_class=ErrorClass.DATA)
    )
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0, feed="settlements"))
    assert status_of(store)[0] == "degraded"
    store.set_feed_paused("amz-1", "finances", True)
    assert status_of(store) == ("connected", None)


def test_an_auth_failure_on_one_feed_disconnects_every_feed_until_any_feed_succeeds() -> None:
    store = seeded(feeds=["settlements", "finances"])
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0, feed="settlements"))
    store.record_event(
        event(
            EventKind.SYNC_FAILED,
            T0 + timedelta(hours=1),
            feed="finances",
            error_class=ErrorClass.AUTH,
            detail="401 invalid_grant",
        )
    )
    assert status_of(store) == ("disconnected", "auth: 401 invalid_grant")
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0 + timedelta(hours=2), feed="settlements"))
    assert status_of(store) == ("connected", None)


def test_each_connection_is_judged_on_its_own_events() -> None:
    store = seeded()
    store.add_connection(connection(id_="eb-1", name="eBay", provider="ebay"), ["settlements"])
    store.record_event(event(EventKind.REVOKED, T0, error_class=ErrorClass.AUTH))
    store.record_event(event(EventKind.SYNC_SUCCEEDED, T0, connection_id="eb-1"))
    frame = store.connection_status(as_of=NOW)
    assert frame.select("id", "status").rows() == [("amz-1", "disconnected"), ("eb-1", "connected")]
