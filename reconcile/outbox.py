"""The posting outbox: one row per attempt at posting a settlement to a ledger, and its history.

An attempt is written (state `sending`, with its idempotency key, reference and the digest of
what will be sent) and committed before anything goes to the ledger. It ends `posted` (with the
ledger's object ids and what was read back, which also lands in `ledger_entries`) or `failed`
(with the ledger's message); a posted or failed one can later be `voided` by an unpost. A row
still `sending` after its process is gone is a resend waiting to happen. Every state change is
one transaction together with its audit record, whose entity is the settlement id: the
settlement's posting history. (`planned` is allowed by the schema for a plan kept for review;
posting writes its row straight as `sending`, since nothing is kept between planning and
sending.)

Each function runs its own transaction on the connection it is given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from reconcile import sql
from reconcile.database import frame, transaction_on
from reconcile.models import LedgerEntry
from reconcile.rows import write_ledger_entries

SENDING, POSTED, FAILED, VOIDED = "sending", "posted", "failed", "voided"
LedgerObjects = list[dict[str, Any]]


class OutboxConflict(Exception):
    """Another process moved the posting first (or holds the same attempt): nothing was written."""


@dataclass(frozen=True)
class Posting:
    """One attempt at posting a settlement to a ledger."""

    id: str
    settlement_id: str
    ledger_connection_id: str
    idempotency_key: str
    reference: str
    state: str
    ledger_objects: LedgerObjects
    request_digest: str | None
    response_digest: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def generation(self) -> int:
        return int(self.id.rsplit("_g", 1)[1])


def posting_id(settlement_id: str, ledger_connection_id: str, generation: int) -> str:
    """The id of an attempt: ordered by generation within a settlement and ledger."""
    ledger = hashlib.sha256(ledger_connection_id.encode()).hexdigest()[:8]
    return f"pst_{settlement_id.removeprefix('stl_')}_{ledger}_g{generation:04d}"


def digest(value: Any) -> str:
    """A sha256 of a JSON-able value in canonical form (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def postings(
    con: duckdb.DuckDBPyConnection, settlement_id: str, ledger_connection_id: str | None = None
) -> list[Posting]:
    """The attempts of a settlement (to one ledger or any), oldest generation first."""
    rows = frame(
        con,
        "outbox_postings",
        settlement_id=settlement_id,
        ledger_connection_id=ledger_connection_id,
    ).rows(named=True)
    return [_posting(row) for row in rows]


def _posting(row: dict[str, Any]) -> Posting:
    objects = json.loads(row.pop("ledger_object_ids"))
    return Posting(**row, ledger_objects=objects)


def begin(
    con: duckdb.DuckDBPyConnection,
    *,
    settlement_id: str,
    ledger_connection_id: str,
    generation: int,
    idempotency_key: str,
    reference: str,
    request_digest: str,
    at: datetime,
    actor: str = "cli",
) -> Posting:
    """A new attempt, committed as `sending` with its audit record before anything is sent.

    Raises `OutboxConflict` when the attempt exists already (another `post` got there first).
    """
    row_id = posting_id(settlement_id, ledger_connection_id, generation)
    params = {
        "id": row_id,
        "settlement_id": settlement_id,
        "ledger_connection_id": ledger_connection_id,
        "idempotency_key": idempotency_key,
        "reference": reference,
        "state": SENDING,
        "ledger_object_ids": "[]",
        "request_digest": request_digest,
        "at": at,
    }
    detail = {"posting": row_id, "generation": generation, "key": idempotency_key}
    try:
        with transaction_on(con):
            con.execute(sql.load("outbox_insert"), params)
            _audit(
                con, "post_started", settlement_id, {**detail, "request": request_digest}, at, actor
            )
    except duckdb.ConstraintException:
        raise OutboxConflict(
            f"posting attempt {generation} of {settlement_id} exists already: another post is "
            f"sending it; run post again once that one has finished"
        ) from None
    return Posting(
        row_id,
        settlement_id,
        ledger_connection_id,
        idempotency_key,
        reference,
        SENDING,
        [],
        request_digest,
        None,
        at,
        at,
    )


def resume(
    con: duckdb.DuckDBPyConnection,
    posting: Posting,
    *,
    request_digest: str,
    at: datetime,
    actor: str = "cli",
) -> None:
    """Record that an interrupted attempt is sent again (find-before-create comes next)."""
    detail = {"posting": posting.id, "request": request_digest, "was": posting.request_digest}
    _move(
        con,
        posting,
        SENDING,
        (SENDING,),
        at,
        actor,
        "post_resumed",
        detail,
        request_digest=request_digest,
    )


def mark_posted(
    con: duckdb.DuckDBPyConnection,
    posting: Posting,
    *,
    objects: LedgerObjects,
    response_digest: str,
    entries: Sequence[LedgerEntry],
    at: datetime,
    actor: str = "cli",
    detail: Mapping[str, Any] | None = None,
) -> None:
    """`sending` -> `posted`: the ledger ids, what was read back (also into ledger_entries)."""
    audit = {"posting": posting.id, "objects": objects, **(detail or {})}
    _move(
        con,
        posting,
        POSTED,
        (SENDING,),
        at,
        actor,
        "posted",
        audit,
        objects=objects,
        response_digest=response_digest,
        entries=entries,
    )


def mark_failed(
    con: duckdb.DuckDBPyConnection,
    posting: Posting,
    *,
    message: str,
    objects: LedgerObjects,
    response_digest: str | None,
    entries: Sequence[LedgerEntry] = (),
    at: datetime,
    actor: str = "cli",
) -> None:
    """`sending` -> `failed` with the ledger's message and whatever it did create."""
    audit = {"posting": posting.id, "message": message, "objects": objects}
    _move(
        con,
        posting,
        FAILED,
        (SENDING,),
        at,
        actor,
        "post_failed",
        audit,
        objects=objects,
        response_digest=response_digest,
        entries=entries,
    )


def mark_voided(
    con: duckdb.DuckDBPyConnection,
    posting: Posting,
    *,
    objects: LedgerObjects,
    entries: Sequence[LedgerEntry],
    at: datetime,
    actor: str = "cli",
) -> None:
    """`posted` or `failed` -> `voided`: the ledger's entries were voided and read back."""
    audit = {"posting": posting.id, "objects": objects}
    _move(
        con,
        posting,
        VOIDED,
        (POSTED, FAILED),
        at,
        actor,
        "unposted",
        audit,
        objects=objects,
        entries=entries,
    )


def history(con: duckdb.DuckDBPyConnection, settlement_id: str) -> pl.DataFrame:
    """The audit trail of a settlement's postings, oldest first; detail as JSON text."""
    return frame(con, "posting_history", settlement_id=settlement_id)


def _move(
    con: duckdb.DuckDBPyConnection,
    posting: Posting,
    state: str,
    from_states: tuple[str, ...],
    at: datetime,
    actor: str,
    action: str,
    detail: Mapping[str, Any],
    *,
    objects: LedgerObjects | None = None,
    request_digest: str | None = None,
    response_digest: str | None = None,
    entries: Sequence[LedgerEntry] = (),
) -> None:
    params = {
        "id": posting.id,
        "state": state,
        "from_states": list(from_states),
        "ledger_object_ids": None if objects is None else json.dumps(objects, sort_keys=True),
        "request_digest": request_digest,
        "response_digest": response_digest,
        "at": at,
    }
    with transaction_on(con):
        if not con.execute(sql.load("outbox_transition"), params).fetchall():
            raise OutboxConflict(
                f"posting {posting.id} is no longer {' or '.join(from_states)}: another process "
                f"changed it; list the settlement's history to see what happened"
            )
        if entries:
            write_ledger_entries(con, entries[0].connection_id, list(entries))
        _audit(con, action, posting.settlement_id, detail, at, actor)


def _audit(
    con: duckdb.DuckDBPyConnection,
    action: str,
    settlement_id: str,
    detail: Mapping[str, Any],
    at: datetime,
    actor: str,
) -> None:
    params = {
        "at": at,
        "actor": actor,
        "action": action,
        "entity": settlement_id,
        "detail": json.dumps(detail, sort_keys=True, default=str),
    }
    con.execute(sql.load("audit_insert"), params)
