"""Filling from files: Amazon V2 settlement reports imported into the store, whole or not at all.

`import_settlement_file` parses the file (`reconcile.settlement_file`), maps each amount to a
`LineCategory` the way the Finances API path does (`connectors/amazon_events.py`), checks that
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from reconcile import sql
from reconcile.errors import StoreError
from reconcile.models import Connection, LineCategory, SettlementStatus, Source
from reconcile.money import format_amount
from reconcile.rows import settlement_id
from reconcile.settlement_file import AMOUNT, Problem, SettlementFile, read_settlement_file
from reconcile.store import Store

PROVIDER = "amazon"
SALE, REFUND, FEE = LineCategory.SALE, LineCategory.REFUND, LineCategory.FEE
TAX, SHIPPING, PROMOTION = LineCategory.TAX, LineCategory.SHIPPING, LineCategory.PROMOTION
RESERVE, ADJUSTMENT, OTHER = LineCategory.RESERVE, LineCategory.ADJUSTMENT, LineCategory.OTHER

# How a row's (transaction-type, amount-type, amount-description) becomes a category, in the
# order the rules apply; names compare in lower case. The API's mapping, for the file's words.
# 1. "reserve" in the transaction type or description: reserve (the API's reserve adjustments).
# 2. amount-type with a category of its own:
AMOUNT_TYPES: Mapping[str, LineCategory] = {
    "itemfees": FEE,
    "shipmentfees": FEE,
    "orderfees": FEE,
    "promotion": PROMOTION,
    "itemwithheldtax": TAX,
    "cost of advertising": OTHER,  # ProductAdsPaymentEventList -> other
    "fba inventory reimbursement": ADJUSTMENT,  # AdjustmentEventList -> adjustment
}
# 3. amount-type ItemPrice (charges): a tax description is tax; else a refund-like transaction
#    is a refund; else the description decides (the API's SALE_CHARGES), unknown ones are other.
TAX_DESCRIPTIONS = (  # the API's TAX_CHARGES, in lower case
    r"^(tax|shippingtax|giftwraptax|taxdiscount|cod(item|order|shipping)taxcharge"
    r"|marketplacefacilitatortax-(principal|shipping|giftwrap|other)|tcs-(c|s|i|ut)gst"
    r"|exportcharge)$"
)
REFUND_TRANSACTIONS = frozenset(
    {"refund", "chargeback refund", "chargeback", "a-to-z guarantee claim", "guaranteeclaim"}
)
CHARGES: Mapping[str, LineCategory] = {
    **dict.fromkeys(("principal", "giftwrap", "coditemcharge", "codordercharge"), SALE),
    **dict.fromkeys(("shipping", "shippingcharge", "codshippingcharge"), SHIPPING),
    "discount": PROMOTION,
    **dict.fromkeys(("paymentmethodfee", "pointsfee"), FEE),
    **dict.fromkeys(("goodwill", "returnshipping", "restockingfee"), REFUND),
}
# 4. transaction-type ServiceFee, or "fee" in the description (Storage Fee, Subscription Fee):
#    fee. 5. transaction type Adjustment or a reimbursement: adjustment. 6. Anything else: other.
GROSS = (SALE, SHIPPING, TAX, PROMOTION)  # as connectors/amazon.py sums a settlement's gross


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
    """Import the settlement file at `path` into `connection` (see `import_settlement_file`)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportRefused(f"cannot read {path}: {error.strerror}") from None
    return import_settlement_file(store, connection, data, name=path.name, now=now)


def import_settlement_file(
    store: Store, connection: Connection, data: bytes, *, name: str, now: datetime
) -> ImportResult:
    """Parse, check and store one V2 settlement flat file in one transaction, or nothing.

    Problems in the file come back in the result (and nothing is written); a connection that is
    not Amazon's raises `ImportRefused`.
    """
    if connection.provider != PROVIDER:
        raise ImportRefused(
            f"connection {connection.name!r} is a {connection.provider} connection: settlement "
            f"report files are Amazon's; choose an Amazon connection with --connection"
        )
    parsed, problems = read_settlement_file(data, name)
    prepared = None if parsed is None else _prepare(parsed, connection.id, problems)
    sha256 = parsed.sha256 if parsed else hashlib.sha256(data).hexdigest()
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


def line_categories(lines: pl.DataFrame) -> pl.Series:
    """The `LineCategory` value of each parsed line, by the rules above."""
    key = pl.concat_str("transaction_type", "amount_type", "amount_description", separator="\t")
    keys = lines.select(key.alias("key"))["key"]
    words = (
        keys.unique()
        .to_frame()
        .with_columns(
            pl.col("key")
            .str.to_lowercase()
            .str.split_exact("\t", 2)
            .struct.rename_fields(["kind", "amount_type", "text"])
            .struct.unnest()
        )
    )
    chosen = words.select("key", _category(pl.col("kind"), pl.col("amount_type"), pl.col("text")))
    return keys.replace_strict(dict(chosen.iter_rows()), return_dtype=pl.String)


def _category(kind: pl.Expr, amount_type: pl.Expr, text: pl.Expr) -> pl.Expr:
    charge = (
        pl.when(text.str.contains(TAX_DESCRIPTIONS))
        .then(pl.lit(TAX.value))
        .when(kind.is_in(REFUND_TRANSACTIONS))
        .then(pl.lit(REFUND.value))
        .otherwise(text.replace_strict(_values(CHARGES), default=OTHER.value))
    )
    adjustment = (kind == "adjustment") | (kind + " " + amount_type).str.contains("reimbursement")
    return (
        pl.when((kind + " " + text).str.contains("reserve"))
        .then(pl.lit(RESERVE.value))
        .when(amount_type.is_in(list(AMOUNT_TYPES)))
        .then(amount_type.replace_strict(_values(AMOUNT_TYPES), default=OTHER.value))
        .when(amount_type == "itemprice")
        .then(charge)
        .when((kind == "servicefee") | text.str.contains(r"\bfee\b"))
        .then(pl.lit(FEE.value))
        .when(adjustment)
        .then(pl.lit(ADJUSTMENT.value))
        .otherwise(pl.lit(OTHER.value))
        .alias("category")
    )


def _values(mapping: Mapping[str, LineCategory]) -> dict[str, str]:
    return {key: category.value for key, category in mapping.items()}


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
    lines = parsed.lines.with_columns(category=line_categories(parsed.lines))
    rows = _lines_frame(lines, ids)
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
    return _Prepared(settlements, rows)


def _sums(lines: pl.DataFrame) -> pl.DataFrame:
    def of(*categories: LineCategory) -> pl.Expr:
        chosen = pl.col("category").is_in([c.value for c in categories])
        return pl.col("amount").filter(chosen).sum()

    return lines.group_by("settlement_id").agg(
        count=pl.len(),
        sum=pl.col("amount").sum(),
        gross=of(*GROSS),
        fees=of(FEE),
        refunds=of(REFUND),
        reserves=of(RESERVE),
    )


def _description() -> pl.Expr:
    """The line's description: amount-description, else amount-type, else transaction-type."""
    columns = ("amount_description", "amount_type", "transaction_type")
    return pl.coalesce(*(pl.when(pl.col(c) != "").then(pl.col(c)) for c in columns), pl.lit(""))


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
    number = pl.int_range(1, pl.len() + 1, dtype=pl.Int32)
    store_id = pl.lit(next(iter(ids.values()), ""))  # the usual file: one settlement
    if len(ids) > 1:
        store_id = pl.col("settlement_id").replace_strict(ids, return_dtype=pl.String)
        number = number.over("settlement_id")
    return lines.select(
        store_id.alias("settlement_id"),
        number.alias("line_no"),
        "category",
        "amount",
        _description().alias("description"),
        "order_id",
        "sku",
        "posted_at",
    )


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
    con.register("incoming_settlements", prepared.settlements.filter(pl.col("id").is_in(writes)))
    con.register("incoming_lines", prepared.lines.filter(pl.col("settlement_id").is_in(writes)))
    try:
        con.execute(sql.load("settlements_upsert"), {"now": now})
        if updated:
            con.execute(sql.load("settlement_lines_delete"), {"ids": updated})
        con.execute(sql.load("settlement_lines_insert"))
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
