"""Backfill: fetch exactly the windows a gap left, after a reconnect, without moving the cursor.

A backfill reads [start, end) of one channel connection in the provider's sync windows (never
longer than its API allows per call) and stores each through the same idempotent upsert as a
sync, so it can run any number of times, be interrupted anywhere and resume by running again.
The window is widened by the provider's look-back on its start side: a gap opens where the last
stored settlement ended, and the first missing settlement starts at that very instant.

Events: `backfill_started`, then `backfill_finished` with the counts (and, when it failed, the
failure's class); an auth failure also records `sync_failed` and disconnects, as a sync does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors.errors import ConnectorError
from connectors.registry import Provider, provider
from reconcile.gaps import gap as find_gap
from reconcile.models import Connection, EventKind
from reconcile.store import Store
from workbench.runtime import Runtime
from workbench.sync import FeedResult, Progress, event, fetch_windows, record_failure

log = logging.getLogger(__name__)
FEED = "settlements"


class BackfillRefused(ValueError):
    """A backfill that cannot run as asked; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class Window:
    """The span a backfill reads, and the gap it closes (when it came from one)."""

    start: datetime
    end: datetime
    gap_id: str | None = None

    def label(self) -> str:
        span = f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"
        return f"{span} (gap {self.gap_id})" if self.gap_id else span


def backfill(
    rt: Runtime, connection: Connection, window: Window, *, progress: Progress | None = None
) -> FeedResult:
    """Fetch and store the window; failures come back in the result, as with a sync."""
    info = provider(connection.provider)
    start, end = fetch_span(info, window, rt.clock.now())
    with rt.sync_lock(connection, progress):
        event(rt, connection, EventKind.BACKFILL_STARTED, feed=FEED, detail=window.label())
        result = FeedResult(connection, FEED)
        try:
            with rt.client(connection, on_retry=result.on_retry) as client:
                size = info.sync_window
                fetch_windows(
                    rt, client, result, start, end, size, advance_cursor=False, progress=progress
                )
        except ConnectorError as error:
            result.error = error
        except Exception as error:  # recorded like a sync's: the event log keeps the failure
            log.exception("backfill of %s failed", connection.name)
            result.error = error
        _record_finish(rt, result, window)
    return result


def fetch_span(info: Provider, window: Window, now: datetime) -> tuple[datetime, datetime]:
    """The span to fetch: the window widened by the look-back, inside what the API serves."""
    if info.kind != "channel":
        raise BackfillRefused(f"{info.title} is a ledger: there are no settlements to backfill")
    if window.end <= window.start:
        raise BackfillRefused("the backfill window is empty: --until must be after --since")
    oldest, newest = now - info.horizon, now - info.latency
    if window.end <= oldest:
        raise BackfillRefused(
            f"{info.title} no longer returns data older than {info.horizon.days} days "
            f"(before {oldest:%Y-%m-%d}): download the settlement report from the provider "
            "and load it with `workbench import FILE --connection NAME`"
        )
    if window.start >= newest:
        raise BackfillRefused("the window has not happened yet: nothing to backfill")
    return max(window.start - info.lookback, oldest), min(window.end, newest)


def _record_finish(rt: Runtime, result: FeedResult, window: Window) -> None:
    counts = result.counts()
    summary = f"{result.fetched} fetched, {result.inserted} new, {result.updated} updated"
    outcome = "finished" if result.ok else f"failed ({result.error_class})"
    event(
        rt,
        result.connection,
        EventKind.BACKFILL_FINISHED,
        feed=result.feed,
        error_class=result.error_class,
        counts=counts,
        detail=f"backfill of {window.label()} {outcome}: {summary}",
    )
    if not result.ok:
        record_failure(rt, result)


BACKFILLABLE = ("coverage", "overdue")


def gap_window(
    store: Store, workspace_ids: Sequence[str], gap_id: str, now: datetime
) -> tuple[Connection, Window]:
    """The connection and window of an open channel gap, looked up in these workspaces."""
    with store.read() as con:
        found = next(
            (row for ws in workspace_ids if (row := find_gap(con, ws, gap_id, now)) is not None),
            None,
        )
    if found is None:
        raise BackfillRefused(
            f"no open gap {gap_id}: it may be closed already; list the open ones with "
            "`workbench gaps`"
        )
    if found["kind"] not in BACKFILLABLE:
        raise BackfillRefused(
            f"gap {gap_id} is {found['kind']}: the ledger side is fixed with `workbench post`, "
            "not by fetching again"
        )
    return store.connection(found["connection_id"]), Window(found["start"], found["end"], gap_id)
