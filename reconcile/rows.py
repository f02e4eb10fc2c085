"""The rows a sync writes: settlement ids, content hashes, and the upserts that write them.

`Store.save_window` and `Store.save_ledger_entries` call these inside their transaction: the
incoming rows become polars frames registered with DuckDB, and one statement upserts each
table from its frame, skipping rows whose content is unchanged. Amounts travel as 4-place
decimal text (never float) and instants as UTC microseconds, so a settlement's content hash is
the same however it arrived.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any

import duckdb
import polars as pl

from reconcile import sql
from reconcile.database import frame
from reconcile.errors import StoreError
from reconcile.models import LedgerEntry, Settlement, SettlementBatch, SettlementLine, Source
from reconcile.references import settlement_of

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_UTC_MICROS = pl.Datetime("us", "UTC")


@dataclass(frozen=True, slots=True)
class SaveCounts:
    """What a save did: rows inserted, updated and left unchanged; settlement lines written."""

    inserted: int
    updated: int
    unchanged: int
    lines: int

    def __add__(self, other: SaveCounts) -> SaveCounts:
        """The counts of two saves together, e.g. the chunks of one sync."""
        return SaveCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.lines + other.lines,
        )


def settlement_id(connection_id: str, provider_settlement_id: str) -> str:
    """The store's deterministic id of a provider's settlement on a connection."""
    key = f"{connection_id}\x1f{provider_settlement_id}".encode()
    return "stl_" + hashlib.sha256(key).hexdigest()[:20]


def content_hash(batch: SettlementBatch) -> str:
    """A sha256 over a canonical text of the settlement's fields (not its source) and lines."""
    return _content_hash(batch.settlement, _LineColumns.of(batch.lines))


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
class Prepared:
    """One settlement ready to write: its store id, its lines as columns, its content hash."""

    id: str
    settlement: Settlement
    lines: _LineColumns
    content_hash: str


def prepare(connection_id: str, batches: Sequence[SettlementBatch]) -> list[Prepared]:
    """One entry per provider settlement id (the last batch wins), with lines and hash ready."""
    latest = {batch.settlement.provider_settlement_id: batch for batch in batches}
    prepared = []
    for provider_id, batch in latest.items():
        check_owner(batch.settlement.connection_id, connection_id, f"settlement {provider_id}")
        lines = _LineColumns.of(batch.lines)
        digest = batch.settlement.content_hash or _content_hash(batch.settlement, lines)
        item_id = settlement_id(connection_id, provider_id)
        prepared.append(Prepared(item_id, batch.settlement, lines, digest))
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


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


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


def _settlements_frame(items: Sequence[Prepared]) -> pl.DataFrame:
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


def _lines_frame(items: Sequence[Prepared]) -> pl.DataFrame:
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


def write_settlements(
    con: duckdb.DuckDBPyConnection, prepared: Sequence[Prepared], clock: Callable[[], datetime]
) -> SaveCounts:
    """Upsert the settlements whose content hash changed, replacing their lines as a whole.

    Runs inside the caller's transaction; `clock` stamps the rows it writes.
    """
    ids = [item.id for item in prepared]
    stored = dict(con.execute(sql.load("settlement_hashes"), {"ids": ids}).fetchall())
    changed = [item for item in prepared if stored.get(item.id) != item.content_hash]
    changed = _not_filed_already(con, changed)
    updated_ids = [item.id for item in changed if item.id in stored]
    if changed:
        con.register("incoming_settlements", _settlements_frame(changed))
        con.register("incoming_lines", _lines_frame(changed))
        try:
            con.execute(sql.load("settlements_upsert"), {"now": clock()})
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


def _not_filed_already(con: duckdb.DuckDBPyConnection, changed: list[Prepared]) -> list[Prepared]:
    """Drop API settlements an imported settlement file already holds under its own id.

    Keeping the filed one keeps its id, so what was posted from it is never posted twice.
    """
    if not any(item.settlement.source is Source.API for item in changed):
        return changed
    con.register("incoming_settlements", _settlements_frame(changed))
    try:
        filed = {row[0] for row in con.execute(sql.load("settlements_filed_already")).fetchall()}
    finally:
        con.unregister("incoming_settlements")
    return [item for item in changed if item.id not in filed]


def write_ledger_entries(
    con: duckdb.DuckDBPyConnection, connection_id: str, entries: Sequence[LedgerEntry]
) -> SaveCounts:
    """Upsert the entries that differ from the stored ones, inside the caller's transaction.

    Then recompute the `ledger_summary` rows of every settlement a changed entry named before or
    names now, so the summary always equals one computed from the entries themselves.
    """
    ids = [entry.object_id for entry in entries]
    rows = frame(con, "ledger_entries_existing", connection_id=connection_id, ids=ids)
    stored = {row.pop("object_id"): row for row in rows.rows(named=True)}
    named_before = {object_id: row.pop("settlement_id") for object_id, row in stored.items()}
    changed = [e for e in entries if stored.get(e.object_id) != _ledger_row(e)]
    if changed:
        con.register("incoming_ledger_entries", _ledger_frame(changed))
        try:
            con.execute(sql.load("ledger_entries_upsert"))
        finally:
            con.unregister("incoming_ledger_entries")
        touched = {settlement_of(e.reference) for e in changed}
        touched |= {named_before.get(e.object_id) for e in changed}
        _refresh_summary(con, connection_id, sorted(s for s in touched if s is not None))
    updated = sum(entry.object_id in stored for entry in changed)
    return SaveCounts(len(changed) - updated, updated, len(entries) - len(changed), 0)


def _refresh_summary(
    con: duckdb.DuckDBPyConnection, connection_id: str, settlement_ids: list[str]
) -> None:
    """Recompute the ledger summary rows of these settlements on this ledger connection."""
    if settlement_ids:
        params = {"connection_id": connection_id, "settlement_ids": settlement_ids}
        con.execute(sql.load("ledger_summary_delete"), params)
        con.execute(sql.load("ledger_summary_insert"), params)


def _ledger_row(entry: LedgerEntry) -> dict[str, object]:
    return entry.model_dump(exclude={"connection_id", "object_id"})


def _ledger_frame(entries: Sequence[LedgerEntry]) -> pl.DataFrame:
    """The entries as the upsert reads them, each with the settlement its reference names."""
    rows = [
        {
            **entry.model_dump(),
            "total": f"{entry.total:.4f}",
            "settlement_id": settlement_of(entry.reference),
        }
        for entry in entries
    ]
    schema: dict[str, Any] = dict.fromkeys([*LedgerEntry.model_fields, "settlement_id"], pl.String)
    schema.update(date=pl.Date, updated_at=_UTC_MICROS)
    return pl.DataFrame(rows, schema=schema)


def aware(value: datetime | None, name: str) -> datetime | None:
    """`value` unchanged; ValueError when it is a naive datetime."""
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware (UTC) datetime, got {value!r}")
    return value


def check_owner(owner: str, connection_id: str, what: str) -> None:
    """Raise `StoreError` when `what` belongs to another connection than the one saving it."""
    if owner != connection_id:
        raise StoreError(f"{what} belongs to connection {owner!r}, not {connection_id!r}")
