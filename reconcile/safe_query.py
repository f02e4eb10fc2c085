"""Running an analyst's query safely: a sealed in-memory database, one read, two limits.

A query never runs on the workbench database. It runs on a fresh in-memory DuckDB database that
holds nothing but the analyst views' tables (registered Arrow data, read-only by nature). That
database is sealed before any user text reaches it: no access to the machine's files or network
(`enable_external_access=false`: no read_csv / read_text / read_parquet / glob, no COPY, no
ATTACH, no INSTALL or LOAD of an extension), no extension auto-loading, and its configuration
locked (`lock_configuration=true`), so `SET` / `RESET` / `PRAGMA` cannot loosen any of it. Only
one statement that reads (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) is
accepted. DuckDB has no statement timeout: a timer interrupts the connection at the time limit.
Results are fetched up to the row limit plus one row, which says whether there were more.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

_READS = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)
# Types polars cannot take from Arrow (an INTERVAL, even nested, makes it panic): shown as text.
_AS_TEXT = re.compile(r"\bINTERVAL\b|\bUNION\(")


@dataclass(frozen=True, slots=True)
class Limits:
    """What one query may use: wall time in seconds, rows fetched, and memory in MB."""

    seconds: float = 10.0
    rows: int = 1_000
    memory_mb: int = 2_048

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.rows < 1 or self.memory_mb < 64:
            raise ValueError(
                f"limits must be positive (seconds > 0, rows >= 1, memory_mb >= 64): {self}"
            )

    def describe(self) -> str:
        """The limits as a user reads them: "10 s and 1,000 rows per cell"."""
        return f"{self.seconds:g} s and {self.rows:,} rows per cell"


@dataclass(frozen=True, slots=True)
class NamedQuery:
    """An earlier query a later one may use by any of its names (`cell_2`, `revenue`)."""

    names: tuple[str, ...]
    sql: str
    label: str  # how messages refer to it, e.g. "cell 2"


class QueryError(Exception):
    """A query was refused or failed; the message is DuckDB's (or says what is allowed)."""


def sealed(tables: Mapping[str, Any], limits: Limits) -> duckdb.DuckDBPyConnection:
    """A new in-memory database holding `tables` (Arrow tables, by view name), sealed."""
    config: dict[str, Any] = {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "memory_limit": f"{limits.memory_mb}MB",
    }
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET lock_configuration = true")
    for name, table in tables.items():
        con.register(name, table)
    return con


def readable(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """The one reading statement `query` holds (trailing comments kept), else `QueryError`."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from None
    if not statements:
        raise QueryError("the cell is empty: write a query, e.g. SELECT * FROM v_settlements")
    if len(statements) > 1:
        raise QueryError(
            f"a cell runs one statement and this one has {len(statements)}: "
            f"put each in its own cell (a later cell can use an earlier one by name)"
        )
    kind = statements[0].type
    if kind not in _READS:
        raise QueryError(
            f"cells only read: a {kind.name} statement is not allowed here; write a query "
            f"(SELECT, WITH, FROM, DESCRIBE, SUMMARIZE, EXPLAIN) over the v_ views"
        )
    return statements[0].query


def uses(query: str, name: str) -> bool:
    """Whether `query` mentions `name` as a word (any letter case): such a cell uses it."""
    return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", query, re.IGNORECASE) is not None


def define(con: duckdb.DuckDBPyConnection, query: str, earlier: Sequence[NamedQuery]) -> None:
    """Create a view for each earlier query `query` uses, directly or through another one.

    Views, not copies: a later query sees an earlier one's whole result, never a truncated one.
    """
    for item in _used(query, earlier):
        try:
            body = readable(con, item.sql)
            for name in item.names:
                con.execute(f'CREATE TEMP VIEW "{name}" AS\n{body}\n')
        except (QueryError, duckdb.Error) as exc:
            raise QueryError(f"it uses {item.label}, which fails: {exc}") from None


def _used(query: str, earlier: Sequence[NamedQuery]) -> list[NamedQuery]:
    """The queries of `earlier` that `query` uses, each after the ones it uses itself."""
    ordered: list[NamedQuery] = []
    visiting: set[int] = set()

    def visit(text: str) -> None:
        for index, item in enumerate(earlier):
            if index in visiting or item in ordered:
                continue
            if any(uses(text, name) for name in item.names):
                visiting.add(index)
                visit(item.sql)
                ordered.append(item)

    visit(query)
    return ordered


def fetch(
    con: duckdb.DuckDBPyConnection, query: str, *, rows: int | None, seconds: float
) -> tuple[pl.DataFrame, bool]:
    """The result of `query` (at most `rows` rows; None: all) and whether more rows exist.

    The connection is interrupted once `seconds` have passed; that raises `QueryError`.
    """
    expired = threading.Event()

    def stop() -> None:
        expired.set()
        con.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        relation = _displayable(con.sql(query))
        found = relation.pl() if rows is None else relation.limit(rows + 1).pl()
    except (duckdb.Error, pl.exceptions.PolarsError) as exc:
        if expired.is_set():
            raise QueryError(
                f"stopped at the time limit of {seconds:g} s: narrow the query (filter or "
                f"aggregate earlier) and run it again"
            ) from None
        raise QueryError(str(exc)) from None
    finally:
        timer.cancel()
    if rows is not None and found.height > rows:
        return found.head(rows), True
    return found, False


def _displayable(relation: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """`relation` with every column polars cannot hold (intervals, unions) cast to text."""
    types = [str(kind) for kind in relation.types]
    if not any(_AS_TEXT.search(kind) for kind in types):
        return relation
    columns = [
        f'CAST("{_quoted(name)}" AS VARCHAR) AS "{_quoted(name)}"'
        if _AS_TEXT.search(kind)
        else f'"{_quoted(name)}"'
        for name, kind in zip(relation.columns, types, strict=True)
    ]
    return relation.project(", ".join(columns))


def _quoted(identifier: str) -> str:
    return identifier.replace('"', '""')
