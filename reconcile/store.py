"""The DuckDB store: schema migrations, short-lived connections, and every read and write.

Nobody holds the database file open: each unit of work opens it, runs one transaction and
closes it, so the app and the CLI can work on the same file. DuckDB lets one process at a time
open a file; another gets a lock conflict, which `Store` retries with backoff and jitter until
`busy_timeout`, then raises `StoreBusy`. An in-memory store (":memory:") keeps one database
open and hands out a fresh cursor per unit of work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from pydantic import ValidationError

from reconcile import sql
from reconcile.models import (
    Connection,
    ConnectionEvent,
    Feed,
    LedgerEntry,
    Settlement,
    SettlementBatch,
    SettlementLine,
    Workspace,
)

_DUCKDB_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
_LOCK_CONFLICT = re.compile(r"Could not set lock|Conflicting lock")
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")
_SECRET_KEYS = frozenset(
    {"client_secret", "consumer_secret", "secret", "password", "refresh_token", "access_token"}
    | {"token", "api_key", "private_key"}
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_UTC_MICROS = pl.Datetime("us", "UTC")
_MIGRATION_LOCK = threading.Lock()


class StoreError(Exception):
    """A store operation failed; the message says what happened and what to do."""


class NotFound(StoreError):
    """The workspace, connection or feed asked for does not exist."""


class StoreBusy(StoreError):
    """Another process kept the database file locked for longer than the busy timeout."""


@dataclass(frozen=True, slots=True)
class SaveCounts:
    """What a save did: rows inserted, updated and left unchanged; settlement lines written."""

    inserted: int
    updated: int
    unchanged: int
    lines: int


def connect(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A raw connection as the store makes them: no extension downloads, a UTC session."""
    con = duckdb.connect(str(path), config=_DUCKDB_CONFIG)
    con.execute("SET TimeZone = 'UTC'")
    return con


@contextlib.contextmanager
def _transaction_on(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to the database, 0 for an empty one."""
    (tables,) = con.execute(sql.load("migrations_table_count")).fetchall()[0]
    if not tables:
        return 0
    return int(con.execute(sql.load("schema_version")).fetchall()[0][0])


def migrate(
    con: duckdb.DuckDBPyConnection,
    migrations: Sequence[sql.Migration] | None = None,
    *,
    target: int | None = None,
) -> int:
    """Apply the migrations the database lacks (up to `target`), each in its own transaction.

    Returns how many were applied. A database written by a newer version raises `StoreError`.
    """
    known = sql.migrations() if migrations is None else tuple(migrations)
    latest = known[-1].version if known else 0
    current = schema_version(con)
    if current > latest:
        raise StoreError(
            f"the database is at schema version {current}, but this workbench only knows versions "
            f"up to {latest}: upgrade the workbench, or use another database file (--db)"
        )
    last = latest if target is None else target
    pending = [migration for migration in known if current < migration.version <= last]
    for migration in pending:
        with _transaction_on(con):
            con.execute(migration.script)
            params = {"version": migration.version, "name": migration.name}
            con.execute(sql.load("migration_record"), params)
    return len(pending)


def settlement_id(connection_id: str, provider_settlement_id: str) -> str:
    """The store's deterministic id of a provider's settlement on a connection."""
    key = f"{connection_id}\x1f{provider_settlement_id}".encode()
    return "stl_" + hashlib.sha256(key).hexdigest()[:20]


def content_hash(batch: SettlementBatch) -> str:
    """A sha256 over a canonical text of the settlement's fields (not its source) and lines."""
    return _content_hash(batch.settlement, _LineColumns.of(batch.lines))


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
        with self.read() as con, _transaction_on(con):
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

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._memory is not None:
            cursor = self._memory.cursor()
            cursor.execute("SET TimeZone = 'UTC'")
            return cursor
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.002
        while True:
            try:
                return connect(self.path)
            except duckdb.IOException as exc:
                if not _LOCK_CONFLICT.search(str(exc)):
                    raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreBusy(self._busy_message(str(exc))) from exc
                time.sleep(min(remaining, delay * random.uniform(0.5, 1.5)))
                delay = min(delay * 2, 0.1)

    def _busy_message(self, error: str) -> str:
        holder = _LOCK_HOLDER.search(error)
        who = f"another process (PID {holder[1]})" if holder else "another process"
        return (
            f"the database {self.path} is in use by {who} and stayed locked for "
            f"{self._busy_timeout:g} s: wait for that process (the app, a sync or another "
            f"command) to finish or stop it, then try again"
        )

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
            workspace = Workspace(id=_free_slug(name, ids), name=name, base_currency=currency)
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
            return _find_workspace(_workspaces(con), ref)

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
            "grant_expires_at": _aware(grant_expires_at, "grant_expires_at"),
        }
        with self.transaction() as con:
            _find_workspace(_workspaces(con), connection.workspace_id)
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
            chosen = _find_workspace(spaces, workspace)
            live = [connection for connection in live if connection.workspace_id == chosen.id]
        return _find_connection(live, ref, workspace)

    def connections(self, workspace_id: str | None = None) -> list[Connection]:
        """Live (not removed) connections, oldest first, of one workspace or of all."""
        with self.read() as con:
            return _connections(con, workspace_id)

    def set_grant_expiry(self, connection_id: str, at: datetime | None) -> None:
        """Record when the connection's grant expires (None: no known expiry)."""
        params = {"connection_id": connection_id, "grant_expires_at": _aware(at, "at")}
        self._update_one("connection_grant_expiry_update", params, f"connection {connection_id!r}")

    def remove_connection(self, connection_id: str) -> None:
        """Mark a live connection removed; its history (events, settlements) stays."""
        params = {"connection_id": connection_id, "removed_at": self._clock()}
        self._update_one("connection_remove", params, f"live connection {connection_id!r}")

    def feeds(self, connection_id: str) -> list[Feed]:
        """The feeds of a connection, by name."""
        with self.read() as con:
            frame = _frame(con, "feeds", connection_id=connection_id)
        return [Feed(**row) for row in frame.rows(named=True)]

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
            return _frame(con, "events", connection_id=connection_id, workspace_id=workspace_id)

    def cursor(self, connection_id: str, feed: str) -> datetime | None:
        """Where the feed's next sync starts, None before the first complete window."""
        with self.read() as con:
            frame = _frame(con, "sync_cursor", connection_id=connection_id, feed=feed)
        value: datetime | None = None if frame.is_empty() else frame.item(0, 0)
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
                "cursor": _aware(cursor, "cursor"),
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
        prepared = _prepare(connection_id, batches)
        with self.transaction() as con:
            counts = self._write_settlements(con, prepared)
            self._close_window(con, connection_id, feed, cursor, event)
        return counts

    def _write_settlements(
        self, con: duckdb.DuckDBPyConnection, prepared: Sequence[_Prepared]
    ) -> SaveCounts:
        ids = [item.id for item in prepared]
        stored = dict(con.execute(sql.load("settlement_hashes"), {"ids": ids}).fetchall())
        changed = [item for item in prepared if stored.get(item.id) != item.content_hash]
        updated_ids = [item.id for item in changed if item.id in stored]
        if changed:
            con.register("incoming_settlements", _settlements_frame(changed))
            con.register("incoming_lines", _lines_frame(changed))
            try:
                con.execute(sql.load("settlements_upsert"), {"now": self._clock()})
                if updated_ids:
                    con.execute(sql.load("settlement_lines_delete"), {"ids": updated_ids})
                con.execute(sql.load("settlement_lines_insert"))
            finally:
                con.unregister("incoming_settlements")
                con.unregister("incoming_lines")
        return SaveCounts(
            inserted=len(changed) - len(updated_ids),
            updated=len(updated_ids),
            unchanged=len(prepared) - len(changed),
            lines=sum(len(item.lines.amount) for item in changed),
        )

    def settlements(
        self, workspace_id: str | None = None, connection_id: str | None = None
    ) -> pl.DataFrame:
        """Settlements with connection name, provider and posting status, by period."""
        with self.read() as con:
            params = {"workspace_id": workspace_id, "connection_id": connection_id}
            return _frame(con, "settlements", **params)

    def settlement_lines(self, settlement_id: str) -> pl.DataFrame:
        """The lines of one settlement, in order."""
        with self.read() as con:
            return _frame(con, "settlement_lines", settlement_id=settlement_id)

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
            _check_owner(entry.connection_id, connection_id, f"ledger entry {entry.object_id}")
        with self.transaction() as con:
            counts = _write_ledger_entries(con, connection_id, list(latest.values()))
            self._close_window(con, connection_id, feed, cursor, event)
        return counts

    def ledger_entries(self, connection_id: str) -> pl.DataFrame:
        """The ledger entries stored for a ledger connection."""
        with self.read() as con:
            return _frame(con, "ledger_entries", connection_id=connection_id)

    # -- status and audit ------------------------------------------------------------------

    def connection_status(
        self, workspace_id: str | None = None, *, as_of: datetime
    ) -> pl.DataFrame:
        """Each live connection's status and reason as of a moment, derived from its events."""
        params = {"workspace_id": workspace_id, "as_of": _aware(as_of, "as_of")}
        with self.read() as con:
            return _frame(con, "connection_status", **params)

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


def _frame(con: duckdb.DuckDBPyConnection, statement: str, **params: object) -> pl.DataFrame:
    # Through polars: fetching TIMESTAMPTZ as Python objects would need pytz.
    frame: pl.DataFrame = con.sql(sql.load(statement), params=params).pl()
    return frame


def _workspaces(con: duckdb.DuckDBPyConnection) -> list[Workspace]:
    return [Workspace(**row) for row in _frame(con, "workspaces").rows(named=True)]


def _connections(con: duckdb.DuckDBPyConnection, workspace_id: str | None) -> list[Connection]:
    rows = _frame(con, "connections", workspace_id=workspace_id).rows(named=True)
    return [Connection(**{**row, "config": json.loads(row["config"])}) for row in rows]


def _find_workspace(workspaces: Sequence[Workspace], ref: str) -> Workspace:
    for workspace in workspaces:
        if ref in (workspace.id, workspace.name):
            return workspace
    folded = [w for w in workspaces if w.name.casefold() == ref.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    if not workspaces:
        raise NotFound(f"no workspace {ref!r}: there are none yet; create one with `workspace add`")
    known = ", ".join(f"{w.name} ({w.id})" for w in workspaces)
    raise NotFound(f"no workspace {ref!r}; known workspaces: {known}")


def _find_connection(live: Sequence[Connection], ref: str, workspace: str | None) -> Connection:
    for connection in live:
        if connection.id == ref:
            return connection
    named = [connection for connection in live if connection.name == ref]
    if len(named) == 1:
        return named[0]
    if named:
        where = ", ".join(f"{c.id} in {c.workspace_id}" for c in named)
        raise StoreError(
            f"{len(named)} connections are named {ref!r} ({where}): pass --workspace, "
            f"or give the connection id"
        )
    scope = f" in workspace {workspace!r}" if workspace else ""
    known = ", ".join(f"{c.name} ({c.id})" for c in live) or "none yet; add one with `connect`"
    raise NotFound(f"no connection {ref!r}{scope}; known connections: {known}")


# -- writing rows ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LineColumns:
    """A settlement's lines as columns, amounts as 4-place decimal text, instants as UTC µs."""

    category: list[str]
    amount: list[str]
    description: list[str]
    order_id: list[str | None]
    sku: list[str | None]
    posted_at: list[int | None]

    @classmethod
    def of(cls, lines: Sequence[SettlementLine]) -> _LineColumns:
        try:
            posted = [
                None if x.posted_at is None else (x.posted_at - _EPOCH) // _MICROSECOND
                for x in lines
            ]
        except TypeError:
            raise ValueError("settlement line posted_at must be timezone-aware (UTC)") from None
        return cls(
            category=[str(line.category) for line in lines],
            amount=[f"{line.amount:.4f}" for line in lines],
            description=[line.description for line in lines],
            order_id=[line.order_id for line in lines],
            sku=[line.sku for line in lines],
            posted_at=posted,
        )


@dataclass(frozen=True, slots=True)
class _Prepared:
    id: str
    settlement: Settlement
    lines: _LineColumns
    content_hash: str


def _prepare(connection_id: str, batches: Sequence[SettlementBatch]) -> list[_Prepared]:
    """One entry per provider settlement id (the last batch wins), with lines and hash ready."""
    latest = {batch.settlement.provider_settlement_id: batch for batch in batches}
    prepared = []
    for provider_id, batch in latest.items():
        _check_owner(batch.settlement.connection_id, connection_id, f"settlement {provider_id}")
        lines = _LineColumns.of(batch.lines)
        digest = batch.settlement.content_hash or _content_hash(batch.settlement, lines)
        item_id = settlement_id(connection_id, provider_id)
        prepared.append(_Prepared(item_id, batch.settlement, lines, digest))
    return prepared


def _content_hash(settlement: Settlement, lines: _LineColumns) -> str:
    s = settlement
    amounts = (f"{value:.4f}" for value in (s.gross, s.fees, s.refunds, s.reserves, s.net))
    head = (s.provider_settlement_id, s.period_start, s.period_end, s.deposit_date, s.currency)
    fields = [*(_text(value) for value in head), *amounts, str(s.status)]
    digest = hashlib.sha256("\x1f".join(fields).encode())
    # Column by column: one join per column is far cheaper than one per line.
    columns = (
        lines.category,
        lines.amount,
        lines.description,
        ["\x00" if value is None else value for value in lines.order_id],
        ["\x00" if value is None else value for value in lines.sku],
        ["\x00" if value is None else str(value) for value in lines.posted_at],
    )
    for column in columns:
        digest.update(b"\x1d" + "\x1e".join(column).encode())
    return digest.hexdigest()


def _text(value: object) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, datetime):
        return str(_micros(value))
    return value.isoformat() if isinstance(value, date) else str(value)


_MONEY = ("gross", "fees", "refunds", "reserves", "net")
_SETTLEMENT_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "connection_id": pl.String,
    "provider_settlement_id": pl.String,
    "period_start": _UTC_MICROS,
    "period_end": _UTC_MICROS,
    "deposit_date": pl.Date,
    "currency": pl.String,
    "status": pl.String,
    "source": pl.String,
    "content_hash": pl.String,
    "line_count": pl.Int32,
}


def _settlements_frame(items: Sequence[_Prepared]) -> pl.DataFrame:
    rows = [
        {
            **item.settlement.model_dump(exclude={"content_hash"}, mode="python"),
            **{k: f"{getattr(item.settlement, k):.4f}" for k in _MONEY},
            "id": item.id,
            "content_hash": item.content_hash,
            "line_count": len(item.lines.amount),
        }
        for item in items
    ]
    schema = {**_SETTLEMENT_SCHEMA, **dict.fromkeys(_MONEY, pl.String)}
    return pl.DataFrame(rows, schema=schema)


def _lines_frame(items: Sequence[_Prepared]) -> pl.DataFrame:
    sizes = [len(item.lines.amount) for item in items]

    def flat(column: str) -> list[Any]:
        return list(chain.from_iterable(getattr(item.lines, column) for item in items))

    return pl.DataFrame(
        {
            "settlement_id": [
                item.id for item, n in zip(items, sizes, strict=True) for _ in range(n)
            ],
            "line_no": [number for n in sizes for number in range(1, n + 1)],
            "category": flat("category"),
            "amount": flat("amount"),
            "description": flat("description"),
            "order_id": pl.Series(flat("order_id"), dtype=pl.String),
            "sku": pl.Series(flat("sku"), dtype=pl.String),
            "posted_at": pl.Series(flat("posted_at"), dtype=pl.Int64).cast(_UTC_MICROS),
        },
        schema_overrides={"line_no": pl.Int32},
    )


def _write_ledger_entries(
    con: duckdb.DuckDBPyConnection, connection_id: str, entries: Sequence[LedgerEntry]
) -> SaveCounts:
    ids = [entry.object_id for entry in entries]
    rows = _frame(con, "ledger_entries_existing", connection_id=connection_id, ids=ids)
    stored = {row.pop("object_id"): row for row in rows.rows(named=True)}
    changed = [e for e in entries if stored.get(e.object_id) != _ledger_row(e)]
    if changed:
        con.register("incoming_ledger_entries", _ledger_frame(changed))
        try:
            con.execute(sql.load("ledger_entries_upsert"))
        finally:
            con.unregister("incoming_ledger_entries")
    updated = sum(entry.object_id in stored for entry in changed)
    return SaveCounts(len(changed) - updated, updated, len(entries) - len(changed), 0)


def _ledger_row(entry: LedgerEntry) -> dict[str, object]:
    return entry.model_dump(exclude={"connection_id", "object_id"})


def _ledger_frame(entries: Sequence[LedgerEntry]) -> pl.DataFrame:
    rows = [{**entry.model_dump(), "total": f"{entry.total:.4f}"} for entry in entries]
    schema: dict[str, Any] = dict.fromkeys(LedgerEntry.model_fields, pl.String)
    schema.update(date=pl.Date, updated_at=_UTC_MICROS)
    return pl.DataFrame(rows, schema=schema)


# -- checks ----------------------------------------------------------------------------------


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware (UTC) datetime, got {value!r}")
    return value


def _check_owner(owner: str, connection_id: str, what: str) -> None:
    if owner != connection_id:
        raise StoreError(f"{what} belongs to connection {owner!r}, not {connection_id!r}")


def _check_no_secrets(config: Mapping[str, Any]) -> None:
    for key, value in config.items():
        if key.lower() in _SECRET_KEYS:
            raise StoreError(
                f"connection config key {key!r} looks like a secret; secrets belong in the "
                f"keyring, never in the database"
            )
        if isinstance(value, Mapping):
            _check_no_secrets(value)


def _free_slug(name: str, taken: set[str]) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "workspace"
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug
