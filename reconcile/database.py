"""The DuckDB file itself: opening it, running statements and transactions, migrating its schema.

`connect` makes raw connections as the store wants them (no extension downloads, a UTC
session); `open_file` retries a lock conflict with backoff and jitter until a busy timeout.
`migrate` applies the forward-only migrations of `reconcile/migrations/`, each in its own
transaction, and `schema_version` says how far a database has come.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from reconcile import sql
from reconcile.errors import StoreBusy, StoreError

_DUCKDB_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
_LOCK_CONFLICT = re.compile(r"Could not set lock|Conflicting lock")
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")


def connect(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A raw connection as the store makes them: no extension downloads, a UTC session."""
    con = duckdb.connect(str(path), config=_DUCKDB_CONFIG)
    con.execute("SET TimeZone = 'UTC'")
    return con


def open_file(path: str, busy_timeout: float) -> duckdb.DuckDBPyConnection:
    """A connection to the file, retrying while another process holds its lock.

    Raises `StoreBusy` once the lock has stayed taken for `busy_timeout` seconds, and
    `StoreError` when the file cannot be opened for any other reason.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + busy_timeout
    delay = 0.002
    while True:
        try:
            return connect(path)
        except duckdb.IOException as exc:
            if not _LOCK_CONFLICT.search(str(exc)):
                raise StoreError(f"cannot open the database {path}: {exc}") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreBusy(_busy_message(path, busy_timeout, str(exc))) from exc
            time.sleep(min(remaining, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, 0.1)


def _busy_message(path: str, busy_timeout: float, error: str) -> str:
    holder = _LOCK_HOLDER.search(error)
    who = f"another process (PID {holder[1]})" if holder else "another process"
    return (
        f"the database {path} is in use by {who} and stayed locked for "
        f"{busy_timeout:g} s: wait for that process (the app, a sync or another "
        f"command) to finish or stop it, then try again"
    )


@contextlib.contextmanager
def transaction_on(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block in one transaction on `con`: committed on success, else rolled back."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def frame(con: duckdb.DuckDBPyConnection, statement: str, **params: object) -> pl.DataFrame:
    """The rows of the statement `reconcile/sql/<statement>.sql`, its values bound."""
    # Through polars: fetching TIMESTAMPTZ as Python objects would need pytz.
    result: pl.DataFrame = con.sql(sql.load(statement), params=params).pl()
    return result


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
        with transaction_on(con):
            con.execute(migration.script)
            params = {"version": migration.version, "name": migration.name}
            con.execute(sql.load("migration_record"), params)
    return len(pending)
