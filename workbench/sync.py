"""Sync: bring each connection's feeds up to date, one committed window at a time.

A window is fetched whole, then stored in one transaction together with the cursor that says
it is done, so a crash or a failure can lose at most the window in flight, and the next run
re-reads it (and a look-back behind the cursor) without duplicating anything: settlements are
upserted on the provider's own id. Every attempt leaves connection events: started, then
succeeded with counts or failed with its class, HTTP status and provider request id. Only an
`auth` failure disconnects a connection; transient ones never do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from connectors.errors import AuthExpired, ConnectorError, RateLimited
from connectors.registry import LedgerSource, Provider, SettlementSource, provider
from reconcile.models import (
    Connection,
    ConnectionEvent,
    ErrorClass,
    EventKind,
    SettlementStatus,
)
from workbench.runtime import Runtime

Progress = Callable[[str], None]


@dataclass(frozen=True)
class FeedResult:
    """What one feed's sync did."""

    connection: Connection
    feed: str
    windows: int = 0
    settlements: int = 0
    inserted: int = 0
    updated: int = 0
    lines: int = 0
    retries: int = 0
    error: ConnectorError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def counts(self) -> dict[str, int]:
        return {
            "windows": self.windows,
            "settlements": self.settlements,
            "inserted": self.inserted,
            "updated": self.updated,
            "lines": self.lines,
            "retries": self.retries,
        }


@dataclass
class _Retries:
    """Retries the client made in-line; throttling is worth an event of its own."""

    count: int = 0
    throttled: int = 0
    waited: float = 0.0

    def __call__(self, error: ConnectorError, delay: float) -> None:
        self.count += 1
        if isinstance(error, RateLimited):
            self.throttled += 1
            self.waited += delay


def windows(start: datetime, end: datetime, size: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive slices of at most `size`."""
    while start < end:
        stop = min(start + size, end)
        yield start, stop
        start = stop


def sync_connection(
    rt: Runtime, connection: Connection, *, progress: Progress | None = None
) -> list[FeedResult]:
    """Sync every feed of `connection` that is not paused."""
    info = provider(connection.provider)
    return [
        sync_feed(rt, connection, info, feed.name, progress=progress)
        for feed in rt.store.feeds(connection.id)
        if not feed.paused
    ]


def sync_feed(
    rt: Runtime,
    connection: Connection,
    info: Provider,
    feed: str,
    *,
    progress: Progress | None = None,
) -> FeedResult:
    """One feed: started event, the windows, then a succeeded or failed event."""
    _event(rt, connection, EventKind.SYNC_STARTED, feed=feed, detail=f"sync of {feed} started")
    retries = _Retries()
    try:
        with rt.client(connection, on_retry=retries) as client:
            if info.kind == "channel":
                result = _sync_settlements(rt, connection, info, feed, client, progress)
            else:
                result = _sync_ledger(rt, connection, info, feed, client)
    except ConnectorError as error:
        _record_failure(rt, connection, feed, error)
        return FeedResult(connection, feed, retries=retries.count, error=error)
    result = replace(result, retries=retries.count)
    if retries.throttled:
        detail = f"throttled {retries.throttled} times; waited {retries.waited:.0f} s"
        _event(
            rt,
            connection,
            EventKind.RATE_LIMITED,
            feed=feed,
            error_class=ErrorClass.TRANSIENT,
            detail=detail,
            counts={"throttled": retries.throttled},
        )
    what = "settlements" if info.kind == "channel" else "ledger entries"
    _event(
        rt,
        connection,
        EventKind.SYNC_SUCCEEDED,
        feed=feed,
        counts=result.counts(),
        detail=f"{result.settlements} {what}, {result.lines} lines",
    )
    return result


def _sync_settlements(
    rt: Runtime,
    connection: Connection,
    info: Provider,
    feed: str,
    client: SettlementSource,
    progress: Progress | None,
) -> FeedResult:
    now = rt.clock.now()
    cursor = rt.store.cursor(connection.id, feed)
    start = max(now - info.horizon, cursor - info.lookback if cursor else now - info.horizon)
    return fetch_windows(
        rt,
        connection,
        feed,
        client,
        start,
        now,
        info.sync_window,
        advance_cursor=True,
        progress=progress,
    )


def fetch_windows(
    rt: Runtime,
    connection: Connection,
    feed: str,
    client: SettlementSource,
    start: datetime,
    end: datetime,
    size: timedelta,
    *,
    advance_cursor: bool,
    progress: Progress | None = None,
) -> FeedResult:
    """Fetch and store [start, end) window by window (sync moves the cursor; backfill does not).

    The cursor never passes the start of a settlement that is still open, so the next sync
    reads it again until it closes. An empty window is not committed on its own: its cursor
    move rides with the next window that has data (or the last one); losing it to a crash
    only means re-reading empty windows.
    """
    result = FeedResult(connection, feed)
    hold: datetime | None = None
    for window_start, window_end in windows(start, end, size):
        batches = list(client.settlements(window_start, window_end))
        open_starts = [
            b.settlement.period_start
            for b in batches
            if b.settlement.status is SettlementStatus.OPEN
        ]
        hold = min([*open_starts, *([hold] if hold else [])], default=None)
        cursor = min(window_end, hold) if hold else window_end
        result = replace(result, windows=result.windows + 1)
        if not batches and window_end < end:
            continue
        saved = rt.store.save_window(
            connection.id, feed, batches, cursor=cursor if advance_cursor else None
        )
        result = replace(
            result,
            settlements=result.settlements + len(batches),
            inserted=result.inserted + saved.inserted,
            updated=result.updated + saved.updated,
            lines=result.lines + saved.lines,
        )
        if progress:
            progress(
                f"{connection.name}: {window_start:%Y-%m-%d} to {window_end:%Y-%m-%d}, "
                f"{len(batches)} settlements"
            )
    return result


def _sync_ledger(
    rt: Runtime, connection: Connection, info: Provider, feed: str, client: LedgerSource
) -> FeedResult:
    started = rt.clock.now()
    cursor = rt.store.cursor(connection.id, feed)
    since = cursor - info.lookback if cursor else None
    entries = list(client.ledger_entries(since))
    saved = rt.store.save_ledger_entries(connection.id, feed, entries, cursor=started)
    return FeedResult(
        connection,
        feed,
        windows=1,
        settlements=len(entries),
        inserted=saved.inserted,
        updated=saved.updated,
    )


def _record_failure(rt: Runtime, connection: Connection, feed: str, error: ConnectorError) -> None:
    _event(rt, connection, EventKind.SYNC_FAILED, feed=feed, error=error)
    if error.error_class is ErrorClass.AUTH:
        kind = EventKind.EXPIRED if isinstance(error, AuthExpired) else EventKind.REVOKED
        _event(rt, connection, kind, feed=feed, error=error)
    elif isinstance(error, RateLimited):
        _event(rt, connection, EventKind.RATE_LIMITED, feed=feed, error=error)


def _event(
    rt: Runtime,
    connection: Connection,
    kind: EventKind,
    *,
    feed: str | None = None,
    error: ConnectorError | None = None,
    error_class: ErrorClass | None = None,
    detail: str = "",
    counts: dict[str, int] | None = None,
) -> None:
    rt.store.record_event(
        ConnectionEvent(
            connection_id=connection.id,
            at=rt.clock.now(),
            kind=kind,
            feed=feed,
            error_class=error.error_class if error else error_class,
            http_status=error.status if error else None,
            request_id=error.request_id if error else None,
            detail=error.message if error else detail,
            counts=counts or {},
            raw=error.raw if error else None,
        )
    )
