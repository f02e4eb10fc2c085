"""Filling from files: Amazon V2 settlement reports imported into the store, whole or not at all.

`import_settlement_file` parses the file (`reconcile.settlement_file`), maps each amount to a
`LineCategory` the way the Finances API path does (`reconcile.import_categories`), checks that
each settlement's total-amount equals the sum of its lines, and only then writes, in one
transaction: any problem means nothing is written. A settlement already stored from a file with
the same content is left alone; one the API already brought in (same provider id, or the same
currency with a period starting and ending within a day of the file's) is never duplicated nor
overwritten: the result compares the two totals instead. Every import goes to the audit log.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from reconcile import sql
from reconcile.errors import StoreError
from reconcile.import_categories import FEE, GROSS, REFUND, RESERVE, categorised
from reconcile.models import Connection, LineCategory, SettlementStatus, Source
from reconcile.money import format_amount
from reconcile.rows import settlement_id
from reconcile.settlement_file import AMOUNT, Problem, SettlementFile, read_settlement_file
from reconcile.settlement_source import file_sha256
from reconcile.store import Store

PROVIDER = "amazon"


class Outcome(enum.StrEnum):
    IMPORTED = "imported"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    MATCHED = "matched"  # the API brought this settlement in already: not written


class ImportRefused(StoreError):
    """The import cannot run at all (wrong connection): the message says what to do."""


@dataclass(frozen=True, slots=True)
class SettlementOutcome:
    """What happened to one settlement of the file."""

    settlement_id: str  # the file's settlement-id
    store_id: str  # the stored settlement it became or matched
    outcome: Outcome
    currency: str
    total: Decimal
    lines: int
    matched_id: str | None = None  # the API settlement's provider id
    api_total: Decimal | None = None

    def describe(self) -> str:
        """One line for the user."""
        total = format_amount(self.total, self.currency)
        head = f"settlement {self.settlement_id} ({self.lines} lines, {total} {self.currency})"
        if self.outcome is Outcome.MATCHED and self.api_total is not None:
            difference = format_amount(self.total - self.api_total, self.currency)
            totals = f"total differs by {difference}" if self.total != self.api_total else ""
            api = format_amount(self.api_total, self.currency)
            return (
                f"{head}: matched API settlement {self.matched_id} (not written): "
                f"{totals or 'same totals'} (file {total}, API {api})"
            )
        if self.outcome is Outcome.UNCHANGED:
            return f"{head}: unchanged (imported before with the same content)"
        return f"{head}: {self.outcome}"


@dataclass(frozen=True)
class ImportResult:
    """A file's import: each settlement's outcome, or the problems that stopped it."""

    file_name: str
    sha256: str
    outcomes: tuple[SettlementOutcome, ...]
    problems: tuple[Problem, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        """How many settlements had each outcome."""
        return {o.value: sum(x.outcome is o for x in self.outcomes) for o in Outcome}

    def summary(self) -> str:
        """One line: the counts, or why nothing was imported."""
        if self.problems:
            return f"{self.file_name}: nothing imported: fix the problems above and import again"
        c = self.counts()
        text = (
            f"{self.file_name}: {c['imported']} imported, {c['updated']} updated, "
            f"{c['unchanged']} unchanged, {c['matched']} matched an API settlement"
        )
        if not c["imported"] and not c["updated"]:
            text += " (nothing changed)"
        return text


def import_file(store: Store, connection: Connection, path: Path, *, now: datetime) -> ImportResult:
    """Import the settlement file at `path` into `connection` (see `import_settlement_file`).

    A plain file is read by polars straight from disk: no copy of it is held in memory. A path
    that cannot be read raises `ImportRefused`."""
    return _import(store, connection, path, path.name, now)


def import_settlement_file(
    store: Store, connection: Connection, data: bytes, *, name: str, now: datetime
) -> ImportResult:
    """Parse, check and store one V2 settlement flat file in one transaction, or nothing.

    Problems in the file come back in the result (and nothing is written); a connection that is
    not Amazon's raises `ImportRefused`.
    """
    return _import(store, connection, data, name, now)


def _import(
    store: Store, connection: Connection, source: bytes | Path, name: str, now: datetime
) -> ImportResult:
    if connection.provider != PROVIDER:
        raise ImportRefused(
            f"connection {connection.name!r} is a {connection.provider} connection: settlement "
            f"report files are Amazon's; choose an Amazon connection with --connection"
        )
    try:
        parsed, problems = read_settlement_file(source, name)
        sha256 = parsed.sha256 if parsed else file_sha256(source)
    except OSError as error:
        where = source if isinstance(source, Path) else name
        raise ImportRefused(f"cannot read {where}: {error.strerror}") from None
    prepared = None if parsed is None else _prepare(parsed, connection.id, problems)
    notes = parsed.notes if parsed else ()
    file = {
        "source": "file",
        "file_name": name,
        "file_sha256": sha256,
        "connection_id": connection.id,
    }
    with store.transaction() as con:
        if prepared is None or problems:
            first = [str(problem) for problem in problems[:5]]
            detail = {**file, "problems": len(problems), "first_problems": first}
            _audit(con, now, "settlement_import_rejected", connection.id, detail)
            return ImportResult(name, sha256, (), tuple(problems), notes)
        outcomes = _write(con, prepared, connection.id, now)
        for o in outcomes:
            _audit(con, now, "settlement_import", o.store_id, {**file, **_outcome_detail(o)})
    return ImportResult(name, sha256, tuple(outcomes), (), notes)


# -- categories, totals, frames ---------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """The file's settlements and lines as the frames the store's statements read."""

    settlements: pl.DataFrame  # incoming_settlements columns (rows._settlements_frame)
    lines: pl.DataFrame  # incoming_lines columns (rows._lines_frame)


def _prepare(parsed: SettlementFile, connection_id: str, problems: list[Problem]) -> _Prepared:
    """The frames to write; a total that differs from its lines' sum adds a problem."""
    ids = {
        value: settlement_id(connection_id, value) for value in parsed.settlements["settlement_id"]
    }
    store_id = pl.col("settlement_id").replace_strict(ids, return_dtype=pl.String)
    lines = categorised(parsed.lines)
    heads = parsed.settlements.join(_sums(lines), on="settlement_id", how="left").with_columns(
        pl.col("count").fill_null(0)
    )
    problems += _total_problems(heads)
    settlements = heads.select(
        store_id.alias("id"),
        pl.lit(connection_id).alias("connection_id"),
        pl.col("settlement_id").alias("provider_settlement_id"),
        "period_start",
        "period_end",
        "deposit_date",
        "currency",
        *(_text(pl.col(k).fill_null(Decimal(0))).alias(k) for k in ("gross", "fees", "refunds")),
        _text(pl.col("reserves").fill_null(Decimal(0))).alias("reserves"),
        _text(pl.col("total")).alias("net"),
        pl.lit(SettlementStatus.CLOSED.value).alias("status"),
        pl.lit(Source.FILE.value).alias("source"),
        _hashes(heads, parsed.content_sha256).alias("content_hash"),
        pl.col("count").cast(pl.Int32).alias("line_count"),
    )
    return _Prepared(settlements, _lines_frame(lines, ids))


def _sums(lines: pl.DataFrame) -> pl.DataFrame:
    """Per settlement: its line count, the sum of its amounts and the API path's subtotals."""
    by_category = lines.group_by("settlement_id", "category").agg(
        count=pl.len(), sum=pl.col("amount").sum()
    )

    def of(*categories: LineCategory) -> pl.Expr:
        chosen = pl.col("category").is_in([c.value for c in categories])
        return pl.col("sum").filter(chosen).sum()

    return by_category.group_by(pl.col("settlement_id").cast(pl.String)).agg(
        count=pl.col("count").sum(),
        sum=pl.col("sum").sum(),
        gross=of(*GROSS),
        fees=of(FEE),
        refunds=of(REFUND),
        reserves=of(RESERVE),
    )


def _text(amount: pl.Expr) -> pl.Expr:
    return amount.cast(AMOUNT).cast(pl.String)


def _total_problems(heads: pl.DataFrame) -> list[Problem]:
    found = []
    sums = heads.select("line", "settlement_id", "total", pl.col("sum").fill_null(Decimal(0)))
    for line, ident, total, summed in sums.iter_rows():
        if total is not None and total != summed:
            found.append(
                Problem(
                    line,
                    "total-amount",
                    f"settlement {ident}: total-amount {total:f} differs from the sum of its "
                    f"lines {summed:f} by {total - summed:f}; the file is incomplete or altered: "
                    f"download it again",
                )
            )
    return found


def _hashes(heads: pl.DataFrame, content: str) -> pl.Series:
    """Each settlement's content hash: its own fields and the text of the file it came in.

    The file's text (after gzip) stands for the lines: hashing a million lines in canonical
    form would cost more than the rest of the import, and a re-downloaded report is the same
    text. A file that differs in any byte (CRLF for LF) counts as changed: rewritten, same data.
    """
    values = []
    for row in heads.iter_rows(named=True):
        head = (
            row["settlement_id"],
            str(row["period_start"]),
            str(row["period_end"]),
            str(row["deposit_date"]),
            row["currency"],
            f"{row['total']:f}",
            content,
        )
        values.append(hashlib.sha256("\x1f".join(head).encode()).hexdigest())
    return pl.Series(values, dtype=pl.String)


def _lines_frame(lines: pl.DataFrame, ids: dict[str, str]) -> pl.DataFrame:
    """The `settlement_lines` rows, in one chunk: DuckDB then writes them straight into the
    database file, where several chunks would go through the write-ahead log (twice the time)."""
    number = pl.int_range(1, pl.len() + 1, dtype=pl.Int32)
    store_id = pl.lit(next(iter(ids.values()), ""))  # the usual file: one settlement
    if len(ids) > 1:
        store_id = pl.col("settlement_id").cast(pl.String).replace_strict(ids)
        number = number.over("settlement_id")
    return lines.select(
        store_id.cast(pl.Categorical).alias("settlement_id"),
        number.alias("line_no"),
        "category",
        "amount",
        "description",
        "order_id",
        pl.col("sku").cast(pl.Categorical),
        "posted_at",
    ).rechunk()


# -- writing --------------------------------------------------------------------------------


def _write(
    con: duckdb.DuckDBPyConnection, prepared: _Prepared, connection_id: str, now: datetime
) -> list[SettlementOutcome]:
    incoming = prepared.settlements
    con.register("incoming_settlements", incoming)
    try:
        found = con.sql(sql.load("import_matches"), params={"connection_id": connection_id}).pl()
    finally:
        con.unregister("incoming_settlements")
    best = {row["incoming_id"]: row for row in found.unique("incoming_id", keep="first").to_dicts()}
    outcomes = [
        _outcome(row, best.get(row["provider_settlement_id"])) for row in incoming.to_dicts()
    ]
    _store(con, prepared, outcomes, now)
    return outcomes


def _outcome(row: dict[str, object], match: dict[str, object] | None) -> SettlementOutcome:
    ident, currency, total = str(row["provider_settlement_id"]), str(row["currency"]), row["net"]
    head = (ident, str(row["id"]), Outcome.IMPORTED, currency, Decimal(str(total)))
    lines = int(str(row["line_count"]))
    if match is None:
        return SettlementOutcome(*head, lines)
    if match["source"] == Source.API.value:
        api = (str(match["provider_settlement_id"]), Decimal(str(match["net"])))
        return SettlementOutcome(ident, str(match["id"]), Outcome.MATCHED, *head[3:], lines, *api)
    same = match["content_hash"] == row["content_hash"]
    return SettlementOutcome(
        *head[:2], Outcome.UNCHANGED if same else Outcome.UPDATED, *head[3:], lines
    )


def _store(
    con: duckdb.DuckDBPyConnection,
    prepared: _Prepared,
    outcomes: Sequence[SettlementOutcome],
    now: datetime,
) -> None:
    writes = [o.store_id for o in outcomes if o.outcome in (Outcome.IMPORTED, Outcome.UPDATED)]
    if not writes:
        return
    updated = [o.store_id for o in outcomes if o.outcome is Outcome.UPDATED]
    lines = prepared.lines
    if len(writes) < len(outcomes):
        lines = lines.filter(pl.col("settlement_id").cast(pl.String).is_in(writes))
    con.register("incoming_settlements", prepared.settlements.filter(pl.col("id").is_in(writes)))
    con.register("incoming_lines", lines)
    try:
        con.execute(sql.load("settlements_upsert"), {"now": now})
        if updated:
            con.execute(sql.load("settlement_lines_delete"), {"ids": updated})
        con.execute(sql.load("import_lines_insert"))
    finally:
        con.unregister("incoming_settlements")
        con.unregister("incoming_lines")


# -- the audit trail ------------------------------------------------------------------------


def _audit(
    con: duckdb.DuckDBPyConnection, now: datetime, action: str, entity: str, detail: object
) -> None:
    params = {"at": now, "actor": "import", "action": action, "entity": entity}
    con.execute(sql.load("audit_insert"), {**params, "detail": json.dumps(detail, sort_keys=True)})


def _outcome_detail(outcome: SettlementOutcome) -> dict[str, object]:
    api_total = None if outcome.api_total is None else f"{outcome.api_total:f}"
    return {
        "settlement_id": outcome.settlement_id,
        "outcome": outcome.outcome.value,
        "lines": outcome.lines,
        "currency": outcome.currency,
        "total": f"{outcome.total:f}",
        "matched_settlement_id": outcome.matched_id,
        "api_total": api_total,
    }
