"""Managing a connection from the app: pause a feed, disconnect, remove.

Each is one recorded step: the event log says what the user did and when, so the health
timeline and the status show it. None of them deletes settlements or postings: the history
stays and the gaps a pause or a disconnect causes show up like any other.
"""

from __future__ import annotations

from connectors.oauth import TOKEN_NAME
from reconcile.models import Connection, EventKind
from workbench.runtime import Runtime

PAUSE_EFFECTS = (
    "Stops: the scheduled and manual syncs of this feed, so no new settlements arrive from it "
    "and the gaps page will show the channel as overdue.",
    "Keeps working: the grant (no reconnect is needed to resume), everything already synced, "
    "posting of settlements already here, the other feeds and connections.",
)


def set_paused(rt: Runtime, connection: Connection, feed: str, paused: bool) -> None:
    """Pause or resume one feed, with its event (the timeline shows paused time)."""
    rt.store.set_feed_paused(connection.id, feed, paused)
    kind = EventKind.FEED_PAUSED if paused else EventKind.FEED_RESUMED
    verb = "paused" if paused else "resumed"
    rt.record_event(connection, kind, feed=feed, detail=f"{feed} {verb} by the user")


def disconnect(rt: Runtime, connection: Connection) -> None:
    """Forget the grant (the app's client credentials stay, for a reconnect) and say so."""
    rt.secrets.delete(connection.id, TOKEN_NAME)
    rt.record_event(connection, EventKind.DISCONNECTED_BY_USER, detail="disconnected by the user")


def remove(rt: Runtime, connection: Connection) -> None:
    """Remove the connection and its secrets; its settlements and history stay for audit."""
    rt.record_event(connection, EventKind.DISCONNECTED_BY_USER, detail="removed by the user")
    rt.store.remove_connection(connection.id)
    rt.secrets.delete_connection(connection.id)
