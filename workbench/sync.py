"""Sync: bring each connection's feeds up to date, one committed window at a time.

A window is fetched whole, then stored in one transaction together with the cursor that says
it is done, so a failure loses at most the window in flight, and the next run re-reads it (and
a look-back behind the cursor) without duplicating anything: settlements are upserted on the
provider's own id. The cursor never passes what the provider can already serve (`latency`).

Every attempt leaves connection events: `sync_started`, then `sync_succeeded` with counts or
`sync_failed` with its class, HTTP status, provider request id and the counts of the windows
that were stored before it failed. Only an `auth` failure disconnects a connection; transient
ones never do. An unexpected exception is recorded (and logged) as a failure too, so one
broken feed never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.errors import AuthExpired, ConnectorError, RateLimited
from connectors.registry import LedgerSource, Provider, SettlementSource, provider
from reconcile.errors import StoreBusy
from reconcile.models import (
    Connection,
    ErrorClass,
    EventKind,
    LedgerEntry,
    SettlementBatch,
    SettlementStatus,
)
from workbench.runtime import Runtime

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
LEDGER_CHUNK = 500  # ledger entries written per transaction


@dataclass
class FeedResult:
    """What one feed's sync did (counts keep what was stored even when it failed later)."""

    connection: Connection
    feed: str
    windows: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    lines: int = 0
    retries: int = 0
    throttled: int = 0
    waited: float = 0.0
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def error_class(self) -> ErrorClass | None:
        """How the failure must be handled; a busy database is worth a retry later."""
        if self.error is None:
            return None
        if isinstance(self.error, ConnectorError):
            return self.error.error_class
        return ErrorClass.TRANSIENT if isinstance(self.error, StoreBusy) else ErrorClass.DATA

    def counts(self) -> dict[str, int]:
        return {
            "windows": self.windows,
            "fetched": self.fetched,
            "inserted": self.inserted,
            "updated": self.updated,
            "lines": self.lines,
            "retries": self.retries,
        }

    def on_retry(self, error: ConnectorError, delay: float) -> None:
        """The client retried in-line; throttling is worth an event of its own."""
        self.retries += 1
        if isinstance(error, RateLimited):
            self.throttled += 1
            self.waited += delay

    def add(self, fetched: int, inserted: int, updated: int, lines: int) -> None:
        self.fetched += fetched
        self.inserted += inserted
        self.updated += updated
        self.lines += lines


def windows(start: datetime, end: datetime, size: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive slices of at most `size`."""
    if size <= timedelta(0):
        raise ValueError("a sync window must be longer than zero")
    while start < end:
        stop = min(start + size, end)
        yield start, stop
        start = stop


def sync_connection(
    rt: Runtime, connection: Connection, *, progress: Progress | None = None
) -> list[FeedResult]:
    """Sync every feed of `connection` that is not paused (one sync of it at a time)."""
    info = provider(connection.provider)
    with rt.sync_lock(connection, progress):
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
    """One feed: a started event, the windows, then a succeeded or failed event."""
    event(rt, connection, EventKind.SYNC_STARTED, feed=feed, detail=f"sync of {feed} started")
    result = FeedResult(connection, feed)
    try:
        with rt.client(connection, on_retry=result.on_retry) as client:
            if info.kind == "channel":
                _sync_settlements(rt, info, client, result, progress)
            else:
                _sync_ledger(rt, info, client, result)
    except ConnectorError as error:
        result.error = error
    except Exception as error:  # a bug or a busy database must not stop the other feeds
        log.exception("sync of %s (%s) failed", connection.name, feed)
        result.error = error
    _record_outcome(rt, result)
    return result


def _sync_settlements(
    rt: Runtime,
    info: Provider,
    client: SettlementSource,
    result: FeedResult,
    progress: Progress | None,
) -> None:
    now = rt.clock.now()
    cursor = rt.store.cursor(result.connection.id, result.feed)
    start = max(now - info.horizon, cursor - info.lookback if cursor else now - info.horizon)
    fetch_windows(
        rt,
        client,
        result,
        start,
        now - info.latency,
        info.sync_window,
        advance_cursor=True,
        progress=progress,
    )


def fetch_windows(
    rt: Runtime,
    client: SettlementSource,
    result: FeedResult,
    start: datetime,
    end: datetime,
    size: timedelta,
    *,
    advance_cursor: bool,
    progress: Progress | None = None,
) -> None:
    """Fetch and store [start, end) window by window (sync moves the cursor; backfill does not).

    An empty window is not committed on its own: its cursor move rides with the next window
    that has data (or the last one); losing it to a crash only means re-reading empty windows.
    """
    hold: datetime | None = None
    for window_start, window_end in windows(start, end, size):
        batches = list(client.settlements(window_start, window_end))
        result.windows += 1
        if not batches and window_end < end:
            continue
        hold = _earliest_open(batches, hold)
        cursor = min(window_end, hold) if hold else window_end
        saved = rt.store.save_window(
            result.connection.id, result.feed, batches, cursor=cursor if advance_cursor else None
        )
        result.add(len(batches), saved.inserted, saved.updated, saved.lines)
        if progress:
            progress(
                f"{result.connection.name}: {window_start:%Y-%m-%d} to "
                f"{window_end:%Y-%m-%d}, {len(batches)} settlements"
            )


def _earliest_open(batches: list[SettlementBatch], hold: datetime | None) -> datetime | None:
    """The start of the earliest settlement still open: the cursor must not pass it."""
    starts = [
        b.settlement.period_start for b in batches if b.settlement.status is SettlementStatus.OPEN
    ]
    return min([*starts, *([hold] if hold else [])], default=None)


def _sync_ledger(rt: Runtime, info: Provider, client: LedgerSource, result: FeedResult) -> None:
    """Entries changed since the cursor, stored in chunks; the cursor moves once all are in."""
    started = rt.clock.now()
    cursor = rt.store.cursor(result.connection.id, result.feed)
    chunk: list[LedgerEntry] = []
    for entry in client.ledger_entries(cursor - info.lookback if cursor else None):
        chunk.append(entry)
        if len(chunk) >= LEDGER_CHUNK:
            _save_entries(rt, result, chunk, cursor=None)
            chunk = []
    _save_entries(rt, result, chunk, cursor=started - info.latency)
    result.windows = 1


def _save_entries(
    rt: Runtime, result: FeedResult, entries: list[LedgerEntry], *, cursor: datetime | None
) -> None:
    saved = rt.store.save_ledger_entries(result.connection.id, result.feed, entries, cursor=cursor)
    result.add(len(entries), saved.inserted, saved.updated, 0)


def _record_outcome(rt: Runtime, result: FeedResult) -> None:
    connection, feed = result.connection, result.feed
    record_throttling(rt, result)
    if result.error is None:
        event(
            rt,
            connection,
            EventKind.SYNC_SUCCEEDED,
            feed=feed,
            counts=result.counts(),
            detail=f"{result.fetched} fetched, {result.inserted} new, {result.lines} lines",
        )
        return
    record_failure(rt, result)


def record_throttling(rt: Runtime, result: FeedResult) -> None:
    """A `rate_limited` event when the provider throttled the run (never a disconnect)."""
    if result.throttled:
        event(
            rt,
            result.connection,
            EventKind.RATE_LIMITED,
            feed=result.feed,
            error_class=ErrorClass.TRANSIENT,
            counts={"throttled": result.throttled},
            detail=f"throttled {result.throttled} times; waited {result.waited:.0f} s",
        )


def record_failure(rt: Runtime, result: FeedResult) -> None:
    """`sync_failed` with its class and counts; an auth failure also disconnects."""
    error = result.error
    connection, feed = result.connection, result.feed
    event(
        rt,
        connection,
        EventKind.SYNC_FAILED,
        feed=feed,
        error=error,
        error_class=result.error_class,
        counts=result.counts(),
    )
    if result.error_class is ErrorClass.AUTH:
        kind = EventKind.EXPIRED if isinstance(error, AuthExpired) else EventKind.REVOKED
        event(rt, connection, kind, feed=feed, error=error, error_class=ErrorClass.AUTH)


def event(
    rt: Runtime,
    connection: Connection,
    kind: EventKind,
    *,
    feed: str | None = None,
    error: Exception | None = None,
    error_class: ErrorClass | None = None,
    detail: str = "",
    counts: dict[str, int] | None = None,
) -> None:
    """Record an event; a connector error supplies the detail, HTTP status and request id."""
    known = error if isinstance(error, ConnectorError) else None
    if known is not None:
        detail = known.message
    elif error is not None:
        detail = f"internal error: {type(error).__name__}: {error}"
    rt.record_event(
        connection,
        kind,
        feed=feed,
        error_class=error_class,
        detail=detail,
        http_status=known.status if known else None,
        request_id=known.request_id if known else None,
        raw=known.raw if known else None,
        counts=counts or {},
    )
