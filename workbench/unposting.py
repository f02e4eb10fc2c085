"""Unposting: voiding what a settlement's posting created in the ledger (docs/posting.md).

The payments are deleted first (Xero voids no invoice that carries one), then each invoice or
bill is voided and read back; the attempt becomes `voided` with its audit record. Running it
again after an interruption leaves what is voided already alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.errors import ConfigError
from connectors.xero import ledger_entry
from reconcile import outbox
from reconcile.errors import NotFound
from workbench.posting import GONE, ledger_client, ledger_object, posting_lock
from workbench.posting_plans import PostingError, Progress
from workbench.runtime import Runtime


@dataclass
class Unposted:
    """What an unpost did: the entries it voided (read back) and the payments it deleted."""

    settlement_id: str
    provider_settlement_id: str
    voided: outbox.LedgerObjects
    payments_deleted: int


def unpost(rt: Runtime, settlement: str, *, progress: Progress | None = None) -> Unposted:
    """Delete the payments and void the invoices of a settlement's posting; state `voided`.

    Safe to run again after an interruption: what is voided already is left alone. A plain
    `post` never posts the settlement again; `post --settlement` does, as a new generation.
    """
    row = settlement_row(rt, settlement)
    workspace_id = rt.store.connection(row["connection_id"]).workspace_id
    with posting_lock(rt, workspace_id, progress):
        with rt.store.read() as con:
            attempts = outbox.postings(con, row["id"])
        if any(a.state == outbox.SENDING for a in attempts):
            raise PostingError(
                f"settlement {settlement} has an interrupted posting: finish it with "
                f"`workbench post --settlement {settlement}` first, then unpost"
            )
        live = [
            a
            for a in attempts
            if a.state == outbox.POSTED or (a.state == outbox.FAILED and a.ledger_objects)
        ]
        if not live:
            raise PostingError(f"settlement {settlement} has nothing posted to void")
        voided: outbox.LedgerObjects = []
        deleted = 0
        for attempt in live:
            objects, count = _void_attempt(rt, attempt)
            voided += objects
            deleted += count
    return Unposted(row["id"], row["provider_settlement_id"], voided, deleted)


def settlement_row(rt: Runtime, settlement: str) -> dict[str, Any]:
    """The stored settlement with this id or provider id (in any workspace)."""
    frame_ = rt.store.settlements()
    rows = [
        r for r in frame_.rows(named=True) if settlement in (r["id"], r["provider_settlement_id"])
    ]
    if not rows:
        raise NotFound(
            f"there is no settlement {settlement!r}: list them with `workbench settlements`"
        )
    if len(rows) > 1:
        ids = ", ".join(r["id"] for r in rows)
        raise PostingError(f"several settlements are called {settlement!r} ({ids}): use the id")
    return rows[0]


def _void_attempt(rt: Runtime, attempt: outbox.Posting) -> tuple[outbox.LedgerObjects, int]:
    ledger = rt.store.connection(attempt.ledger_connection_id)
    key, deleted, invoices = attempt.idempotency_key, 0, []
    with ledger_client(rt, ledger) as client:
        for held in attempt.ledger_objects:
            invoice = client.invoice(str(held["object_id"]))
            if invoice.status not in GONE:
                try:
                    for payment_id in invoice.payment_ids:
                        client.delete_payment(
                            payment_id, idempotency_key=f"{key}/unpay/{payment_id}"
                        )
                        deleted += 1
                    invoice = client.void_invoice(
                        invoice.invoice_id, idempotency_key=f"{key}/void/{invoice.invoice_id}"
                    )
                except ConfigError as error:
                    raise PostingError(
                        f"Xero refused to void {invoice.reference or invoice.invoice_number}: "
                        f"{error.message}; the posting stays as it was"
                    ) from None
            invoices.append(invoice)
    objects = [ledger_object(invoice) for invoice in invoices]
    with rt.store.read() as con:
        outbox.mark_voided(
            con,
            attempt,
            objects=objects,
            entries=[ledger_entry(ledger.id, inv) for inv in invoices],
            at=rt.clock.now(),
        )
    return objects, deleted
