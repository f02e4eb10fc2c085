"""The DuckDB store: short-lived connections and every read and write of the workbench.

Nobody holds the database file open: each unit of work opens it, runs one transaction and
closes it, so the app and the CLI can work on the same file. DuckDB lets one process at a time
open a file; another gets a lock conflict, which `Store` retries with backoff and jitter until
`busy_timeout`, then raises `StoreBusy`. An in-memory store (":memory:") keeps one database
open and hands out a fresh cursor per unit of work. Opening and migrating the file live in
`reconcile.database`, the rows a sync writes in `reconcile.rows`.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from pydantic import ValidationError

from reconcile import sql
from reconcile.database import connect, frame, migrate, open_file, transaction_on
from reconcile.errors import NotFound, StoreBusy, StoreError
from reconcile.models import (
    SECRET_NAMES,
    Connection,
    ConnectionEvent,
    Feed,
    LedgerEntry,
    SettlementBatch,
    Workspace,
)
from reconcile.names import find_connection, find_workspace, free_slug
from reconcile.rows import (
    SaveCounts,
    aware,
    check_owner,
    prepare,
    write_ledger_entries,
    write_settlements,
)

# The errors and the save result belong to the store's interface: callers use them from here.
__all__ = ["NotFound", "SaveCounts", "Store", "StoreBusy", "StoreError"]

_MIGRATION_LOCK = threading.Lock()


class Store:
    """Every read and write of the workbench's DuckDB file, one short transaction at a time."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._clock = clock
        self._migrated = False
        self._memory = connect(":memory:") if self.path == ":memory:" else None

    # -- units of work ---------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one write transaction: committed on success, else rolled back."""
        with self.read() as con, transaction_on(con):
            yield con

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection (no explicit transaction), closed afterwards so others can open the file."""
        con = self._open()
        try:
            self._ensure_migrated(con)
            yield con
        finally:
            con.close()

    def copy_to(self, path: str | Path) -> None:
        """Write the whole database to a new file `path` (schema, rows, sequences).

        For a database built in memory (the demo is made this way, at memory speed, by the
        same code that writes files); the target must not exist yet.
        """
        target = Path(path)
        if target.exists():
            raise StoreError(f"{target} exists already: the copy only writes a new file")
        quoted = str(target).replace("'", "''")
        with self.read() as con:
            source = con.execute("SELECT current_database()").fetchone()
            assert source is not None
            con.execute(f"ATTACH '{quoted}' AS copy_target")
            try:
                con.execute(f'COPY FROM DATABASE "{source[0]}" TO copy_target')
            finally:
                con.execute("DETACH copy_target")

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._memory is not None:
            cursor = self._memory.cursor()
            cursor.execute("SET TimeZone = 'UTC'")
            return cursor
        return open_file(self.path, self._busy_timeout)

    def _ensure_migrated(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._migrated:
            return
        with _MIGRATION_LOCK:
            if not self._migrated:
                try:
                    migrate(con)
                except StoreError as exc:
                    raise StoreError(f"{self.path}: {exc}") from exc
                self._migrated = True

    # -- workspaces ------------------------------------------------------------------------

    def add_workspace(self, name: str, base_currency: str) -> Workspace:
        """Create a workspace; its id is a slug of the name ("Acme Ltd" -> "acme-ltd")."""
        name, currency = name.strip(), base_currency.strip().upper()
        try:
            Workspace(id="-", name=name, base_currency=currency)
        except ValidationError:
            raise StoreError(
                f"cannot add workspace {name!r} with currency {base_currency!r}: the name must "
                f"not be empty and the currency must be a three-letter ISO code such as GBP"
            ) from None
        with self.transaction() as con:
            existing = _workspaces(con)
            if any(workspace.name == name for workspace in existing):
                raise StoreError(f"a workspace named {name!r} already exists: choose another name")
            ids = {workspace.id for workspace in existing}
            workspace = Workspace(id=free_slug(name, ids), name=name, base_currency=currency)
            params = {**workspace.model_dump(), "created_at": self._clock()}
            con.execute(sql.load("workspace_insert"), params)
        return workspace

    def workspaces(self) -> list[Workspace]:
        """Every workspace, by name."""
        with self.read() as con:
            return _workspaces(con)

    def workspace(self, ref: str) -> Workspace:
        """The workspace with this id or name; `NotFound` lists the ones that exist."""
        with self.read() as con:
            return find_workspace(_workspaces(con), ref)

    # -- connections and feeds -------------------------------------------------------------

    def add_connection(
        self,
        connection: Connection,
        feeds: Sequence[str],
        grant_expires_at: datetime | None = None,
    ) -> None:
        """Store a new connection with its feeds (all running). Its config must hold no secret."""
        _check_no_secrets(connection.config)
        if connection.kind not in ("channel", "ledger"):
            raise StoreError(
                f"connection kind must be 'channel' or 'ledger', not {connection.kind!r}"
            )
        params = {
            **connection.model_dump(exclude={"config"}),
            "config": json.dumps(connection.config, sort_keys=True),
            "grant_expires_at": aware(grant_expires_at, "grant_expires_at"),
        }
        with self.transaction() as con:
            find_workspace(_workspaces(con), connection.workspace_id)
            try:
                con.execute(sql.load("connection_insert"), params)
            except duckdb.ConstraintException:
                raise StoreError(
                    f"workspace {connection.workspace_id!r} already has a connection named "
                    f"{connection.name!r} (or one with id {connection.id!r}, possibly removed): "
                    f"choose another name"
                ) from None
            names = list(dict.fromkeys(feeds))
            con.execute(sql.load("feeds_insert"), {"connection_id": connection.id, "names": names})

    def connection(self, ref: str, workspace: str | None = None) -> Connection:
        """The live connection with this id, or with this name (within `workspace` if given)."""
        with self.read() as con:
            spaces, live = _workspaces(con), _connections(con, None)
        if workspace is not None:
            chosen = find_workspace(spaces, workspace)
            live = [connection for connection in live if connection.workspace_id == chosen.id]
        return find_connection(live, ref, workspace)

    def connections(self, workspace_id: str | None = None) -> list[Connection]:
        """Live (not removed) connections, oldest first, of one workspace or of all."""
        with self.read() as con:
            return _connections(con, workspace_id)

    def set_grant_expiry(self, connection_id: str, at: datetime | None) -> None:
        """Record when the connection's grant expires (None: no known expiry)."""
        params = {"connection_id": connection_id, "grant_expires_at": aware(at, "at")}
        self._update_one("connection_grant_expiry_update", params, f"connection {connection_id!r}")

    def remove_connection(self, connection_id: str) -> None:
        """Mark a live connection removed; its history (events, settlements) stays."""
        params = {"connection_id": connection_id, "removed_at": self._clock()}
        self._update_one("connection_remove", params, f"live connection {connection_id!r}")

    def feeds(self, connection_id: str) -> list[Feed]:
        """The feeds of a connection, by name."""
        with self.read() as con:
            feeds = frame(con, "feeds", connection_id=connection_id)
        return [Feed(**row) for row in feeds.rows(named=True)]

    def set_feed_paused(self, connection_id: str, feed: str, paused: bool) -> None:
        """Pause or resume one feed of a connection."""
        params = {"connection_id": connection_id, "feed": feed, "paused": paused}
        self._update_one("feed_paused_update", params, f"feed {feed!r} on {connection_id!r}")

    def _update_one(self, statement: str, params: Mapping[str, object], what: str) -> None:
        with self.transaction() as con:
            if not con.execute(sql.load(statement), params).fetchall():
                raise NotFound(f"there is no {what}: list them with `workbench connections`")

    # -- events and cursors ----------------------------------------------------------------

    def record_event(self, event: ConnectionEvent) -> None:
        """Append one connection event in its own transaction."""
        with self.transaction() as con:
            self.record_event_in(con, event)

    @staticmethod
    def record_event_in(con: duckdb.DuckDBPyConnection, event: ConnectionEvent) -> None:
        """Append one connection event inside the caller's transaction."""
        params = event.model_dump(mode="python", exclude={"counts"})
        params["counts"] = json.dumps(event.counts, sort_keys=True)
        con.execute(sql.load("event_insert"), params)

    def events(
        self, connection_id: str | None = None, workspace_id: str | None = None
    ) -> pl.DataFrame:
        """Connection events, oldest first, with the connection's name; counts as JSON text."""
        with self.read() as con:
            return frame(con, "events", connection_id=connection_id, workspace_id=workspace_id)

    def cursor(self, connection_id: str, feed: str) -> datetime | None:
        """Where the feed's next sync starts, None before the first complete window."""
        with self.read() as con:
            found = frame(con, "sync_cursor", connection_id=connection_id, feed=feed)
        value: datetime | None = None if found.is_empty() else found.item(0, 0)
        return value

    def _close_window(
        self,
        con: duckdb.DuckDBPyConnection,
        connection_id: str,
        feed: str,
        cursor: datetime | None,
        event: ConnectionEvent | None,
    ) -> None:
        """Advance the cursor (never backwards) and add the event, in the same transaction."""
        if cursor is not None:
            params = {
                "connection_id": connection_id,
                "feed": feed,
                "cursor": aware(cursor, "cursor"),
                "updated_at": self._clock(),
            }
            con.execute(sql.load("sync_cursor_advance"), params)
        if event is not None:
            self.record_event_in(con, event)

    # -- settlements -----------------------------------------------------------------------

    def save_window(
        self,
        connection_id: str,
        feed: str,
        batches: Sequence[SettlementBatch],
        *,
        cursor: datetime | None,
        event: ConnectionEvent | None = None,
    ) -> SaveCounts:
        """Store one sync window in one transaction: settlements, their lines, cursor, event.

        Settlements are upserted on their provider id; a settlement whose content hash is
        unchanged is left alone, a changed one has its lines replaced as a whole. The cursor
        never moves backwards.
        """
        prepared = prepare(connection_id, batches)
        with self.transaction() as con:
            counts = write_settlements(con, prepared, self._clock)
            self._close_window(con, connection_id, feed, cursor, event)
        return counts

    def settlements(
        self, workspace_id: str | None = None, connection_id: str | None = None
    ) -> pl.DataFrame:
        """Settlements with connection name, provider and posting status, by period."""
        with self.read() as con:
            params = {"workspace_id": workspace_id, "connection_id": connection_id}
            return frame(con, "settlements", **params)

    def settlement_lines(self, settlement_id: str) -> pl.DataFrame:
        """The lines of one settlement, in order."""
        with self.read() as con:
            return frame(con, "settlement_lines", settlement_id=settlement_id)

    # -- ledger entries --------------------------------------------------------------------

    def save_ledger_entries(
        self,
        connection_id: str,
        feed: str,
        entries: Sequence[LedgerEntry],
        *,
        cursor: datetime | None,
        event: ConnectionEvent | None = None,
    ) -> SaveCounts:
        """Upsert entries on their object id, advance the cursor, add the event: one transaction."""
        latest = {entry.object_id: entry for entry in entries}
        for entry in latest.values():
            check_owner(entry.connection_id, connection_id, f"ledger entry {entry.object_id}")
        with self.transaction() as con:
            counts = write_ledger_entries(con, connection_id, list(latest.values()))
            self._close_window(con, connection_id, feed, cursor, event)
        return counts

    def ledger_entries(self, connection_id: str) -> pl.DataFrame:
        """The ledger entries stored for a ledger connection."""
        with self.read() as con:
            return frame(con, "ledger_entries", connection_id=connection_id)

    # -- status and audit ------------------------------------------------------------------

    def connection_status(
        self, workspace_id: str | None = None, *, as_of: datetime
    ) -> pl.DataFrame:
        """Each live connection's status and reason as of a moment, derived from its events."""
        params = {"workspace_id": workspace_id, "as_of": aware(as_of, "as_of")}
        with self.read() as con:
            return frame(con, "connection_status", **params)

    def audit(
        self, action: str, entity: str, detail: Mapping[str, object], actor: str = "cli"
    ) -> None:
        """Append an audit record (who did what to which entity). Never put a secret in detail."""
        params = {
            "at": self._clock(),
            "actor": actor,
            "action": action,
            "entity": entity,
            "detail": json.dumps(detail, sort_keys=True, default=str),
        }
        with self.transaction() as con:
            con.execute(sql.load("audit_insert"), params)


# -- reading rows ----------------------------------------------------------------------------


def _workspaces(con: duckdb.DuckDBPyConnection) -> list[Workspace]:
    return [Workspace(**row) for row in frame(con, "workspaces").rows(named=True)]


def _connections(con: duckdb.DuckDBPyConnection, workspace_id: str | None) -> list[Connection]:
    rows = frame(con, "connections", workspace_id=workspace_id).rows(named=True)
    return [Connection(**{**row, "config": json.loads(row["config"])}) for row in rows]


# -- checks ----------------------------------------------------------------------------------


def _check_no_secrets(config: Mapping[str, Any]) -> None:
    for key, value in config.items():
        name = key.lower()
        if name in SECRET_NAMES or name.replace("-", "_") in SECRET_NAMES:
            raise StoreError(
                f"connection config key {key!r} looks like a secret; secrets belong in the "
                f"keyring, never in the database"
            )
        for nested in value if isinstance(value, list) else [value]:
            if isinstance(nested, Mapping):
                _check_no_secrets(nested)
