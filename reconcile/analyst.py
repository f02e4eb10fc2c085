"""Analyst sessions: SQL over one workspace's views, safe to hand to anyone who can see it.

    from reconcile.analyst import open_session

    with open_session("data/workbench.duckdb", "Acme Ltd") as s:
        fees = s.sql("SELECT connection, currency, sum(fees) FROM v_settlements GROUP BY ALL")

`open_session` reads the workspace's analyst views (`reconcile.analyst_views.VIEWS`, documented
in docs/analyst-views.md) from the database in one read-only transaction and closes the file at
once, so the app, the CLI and other notebooks keep writing and reading it. Every query then runs
on its own sealed in-memory copy (`reconcile.safe_query`): it sees only this workspace's rows,
cannot reach the machine's files or the network, cannot write, and stops at the time limit.
`sql` returns a whole result (for notebooks); `run` returns a `CellResult` limited to
`Limits.rows` rows that never raises for a bad query (for the app's cells). The views are a
snapshot as of opening; open a new session to see newer data.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import polars as pl

from reconcile.analyst_views import VIEWS, snapshot
from reconcile.database import frame, open_file, schema_version
from reconcile.errors import StoreError
from reconcile.models import Workspace
from reconcile.names import find_workspace
from reconcile.safe_query import Limits, NamedQuery, QueryError, define, fetch, readable, sealed

__all__ = [
    "VIEWS",
    "AnalystError",
    "AnalystSession",
    "CellResult",
    "Limits",
    "NamedQuery",
    "QueryError",
    "open_session",
]

SCHEMA_NEEDED = 4  # the first schema version with every table the views read
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class AnalystError(Exception):
    """A session could not be opened or used; the message says what to do."""


@dataclass(frozen=True)
class CellResult:
    """What one query gave: its rows (at most `row_limit`), or the error that stopped it."""

    label: str  # e.g. "cell 3"
    frame: pl.DataFrame
    truncated: bool  # more rows existed than `row_limit`
    row_limit: int
    elapsed: float  # seconds
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str | None:
        """The error with the cell it belongs to, e.g. "cell 3: Catalog Error: ..."."""
        return None if self.error is None else f"{self.label}: {self.error}"

    def summary(self) -> str:
        """Rows and time as a user reads them, the row limit named when it cut the result."""
        took = f"in {self.elapsed:.2f} s"
        if self.error is not None:
            return f"failed {took}"
        if self.truncated:
            shown = f"{self.frame.height:,}"
            return f"showing the first {shown} of at least {self.frame.height + 1:,} rows {took}"
        rows = self.frame.height
        return f"{rows:,} row{'' if rows == 1 else 's'} {took}"


class AnalystSession:
    """The analyst views of one workspace as of one moment, queried under `limits`."""

    def __init__(
        self,
        db_path: str,
        workspace: Workspace,
        as_of: datetime,
        limits: Limits,
        tables: dict[str, Any],
        loaded_in: float,
    ) -> None:
        self.db_path = db_path
        self.workspace = workspace
        self.as_of = as_of
        self.limits = limits
        self.loaded_in = loaded_in  # seconds spent reading the views
        self._tables = tables
        self._named: list[NamedQuery] = []  # what `sql(..., names=...)` kept, oldest first

    @property
    def views(self) -> dict[str, int]:
        """Each view's name and row count."""
        return {name: int(table.num_rows) for name, table in self._live_tables().items()}

    def sql(self, query: str, *, names: Sequence[str] = ()) -> pl.DataFrame:
        """The whole result of `query` (time limit only); raises `QueryError` when it fails.

        With `names`, later queries of this session can use the result by those names.
        """
        for name in names:
            _check_name(name)
        result, _ = self._execute(query, self._named, rows=None)
        if names:
            self._remember(tuple(dict.fromkeys(names)), query)
        return result

    def _remember(self, names: tuple[str, ...], query: str) -> None:
        """Keep `query` under `names`; an earlier query keeps only the names not reused."""
        kept = []
        for entry in self._named:
            left = tuple(name for name in entry.names if name not in names)
            if left:
                kept.append(NamedQuery(left, entry.sql, entry.label))
        self._named = [*kept, NamedQuery(names, query, names[0])]

    def run(
        self, query: str, *, label: str = "query", earlier: Sequence[NamedQuery] = ()
    ) -> CellResult:
        """`query` under the time and row limits, using `earlier` queries by name; a failure is
        returned as `CellResult.error` (DuckDB's message), never raised."""
        started = time.perf_counter()
        try:
            found, truncated = self._execute(query, earlier, rows=self.limits.rows)
        except QueryError as exc:
            elapsed = time.perf_counter() - started
            return CellResult(label, pl.DataFrame(), False, self.limits.rows, elapsed, str(exc))
        elapsed = time.perf_counter() - started
        return CellResult(label, found, truncated, self.limits.rows, elapsed)

    def _execute(
        self, query: str, earlier: Sequence[NamedQuery], rows: int | None
    ) -> tuple[pl.DataFrame, bool]:
        con = sealed(self._live_tables(), self.limits)
        try:
            text = readable(con, query)
            define(con, text, earlier)
            return fetch(con, text, rows=rows, seconds=self.limits.seconds)
        finally:
            con.close()

    def _live_tables(self) -> dict[str, Any]:
        if not self._tables:
            raise AnalystError("this analyst session is closed: open a new one with open_session")
        return self._tables

    def close(self) -> None:
        """Drop the views' data; the session cannot be used afterwards."""
        self._tables = {}
        self._named = []

    def __enter__(self) -> AnalystSession:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        if not self._tables:
            return f"<AnalystSession of {self.workspace.name!r}, closed>"
        counts = ", ".join(f"{name} ({rows:,})" for name, rows in self.views.items())
        moment = self.as_of.strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"<AnalystSession of {self.workspace.name!r} ({self.workspace.id}) as of {moment}, "
            f"limits {self.limits.describe()}; views: {counts}>"
        )


def open_session(
    db_path: str | Path,
    workspace: str | None = None,
    *,
    as_of: datetime | None = None,
    limits: Limits | None = None,
    busy_timeout: float = 30.0,
) -> AnalystSession:
    """A session over the views of `workspace` (its id or name; None: the only one).

    `as_of` (default now) is the moment gaps, health and status are computed for. The file is
    read in one read-only transaction, waiting up to `busy_timeout` seconds while another
    process holds it, and closed before this returns.
    """
    path = Path(db_path)
    if not path.is_file():
        raise AnalystError(
            f"there is no workbench database at {path}: create one with `workbench init` or "
            f"`workbench demo`, or point WORKBENCH_DB at yours"
        )
    moment = datetime.now(UTC) if as_of is None else _aware(as_of)
    started = time.perf_counter()
    con = _connected(path, busy_timeout)
    try:
        _check_schema(con, path)
        chosen = _workspace(con, workspace)
        tables = snapshot(con, chosen.id, moment)
    finally:
        con.close()
    elapsed = time.perf_counter() - started
    return AnalystSession(str(path), chosen, moment, limits or Limits(), tables, elapsed)


def _connected(path: Path, busy_timeout: float) -> duckdb.DuckDBPyConnection:
    """A connection as the store opens them (so it shares the store's DuckDB instance in this
    process), retried while another thread of this process is closing or opening the file."""
    deadline = time.monotonic() + busy_timeout
    delay = 0.002
    while True:
        try:
            return open_file(str(path), max(deadline - time.monotonic(), 0.0))
        except StoreError as exc:
            raise AnalystError(str(exc)) from None
        except (duckdb.ResourceInUseException, duckdb.ConnectionException) as exc:
            if time.monotonic() >= deadline:
                raise AnalystError(
                    f"the database {path} stayed busy in this process for {busy_timeout:g} s "
                    f"({exc}): try again"
                ) from None
        time.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, 0.05)


def _aware(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise AnalystError(f"as_of must be a timezone-aware (UTC) datetime, not {moment!r}")
    return moment.astimezone(UTC)


def _check_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    version = schema_version(con)
    if version == 0:
        raise AnalystError(f"{path} holds no workbench data: run `workbench init` on it first")
    if version < SCHEMA_NEEDED:
        raise AnalystError(
            f"{path} is at schema version {version}, older than the views need "
            f"({SCHEMA_NEEDED}): run `workbench init` to upgrade it"
        )


def _workspace(con: duckdb.DuckDBPyConnection, ref: str | None) -> Workspace:
    known = [Workspace(**row) for row in frame(con, "workspaces").rows(named=True)]
    if ref is not None:
        try:
            return find_workspace(known, ref)
        except StoreError as exc:
            raise AnalystError(str(exc)) from None
    if len(known) == 1:
        return known[0]
    if not known:
        raise AnalystError("the database has no workspace yet: add one with `workspace add`")
    names = ", ".join(f"{w.name} ({w.id})" for w in known)
    raise AnalystError(
        f"the database has {len(known)} workspaces ({names}): say which one to analyse, by id "
        f"or name"
    )


def _check_name(name: str) -> None:
    """A result name must be a plain lower-case identifier that no view already has."""
    if not NAME.match(name) or name in VIEWS:
        raise AnalystError(
            f"{name!r} cannot name a result: use lower-case letters, digits and _ (not starting "
            f"with a digit), other than a view's name"
        )
