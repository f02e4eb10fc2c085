"""Posting settlements to the ledger exactly once, and unposting them (docs/posting.md).

For each settlement: the outbox row is committed (`sending`, key, reference, request digest)
before anything is sent. A row that already existed, or an earlier attempt, means the ledger
may hold part of the posting already: the invoices are looked up by reference first and what
is there is adopted; only the missing ones are created, under the attempt's Idempotency-Key.
Each invoice is read back and its total checked; the payment follows (looked up first on the
invoice's own payments), then `posted` is committed with the ledger ids and the entries read
back. A validation problem marks the attempt `failed` and the run goes on; a ledger that is
unreachable or refuses the grant stops the run, leaving the attempt `sending` for the next one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from connectors.errors import ConfigError, ConnectorError
from connectors.xero import XeroInvoice, XeroLedger, ledger_entry
from reconcile import outbox
from reconcile.models import Connection
from reconcile.money import format_amount
from reconcile.posting import (
    PlannedEntry,
    PostingPlan,
)
from reconcile.references import settlement_reference
from workbench.posting_plans import (
    Outcome,
    Planned,
    PostingError,
    PostRun,
    Progress,
    payment_draft,
    plan_workspace,
)
from workbench.runtime import Runtime

GONE = ("VOIDED", "DELETED")


class _Refused(Exception):
    """The ledger refused (part of) a create; `objects` were created before it did."""

    def __init__(self, message: str, objects: outbox.LedgerObjects) -> None:
        self.objects = objects
        super().__init__(message)


# -- sending -------------------------------------------------------------------------------------


@contextlib.contextmanager
def posting_lock(rt: Runtime, workspace_id: str, progress: Progress | None) -> Iterator[None]:
    """One post or unpost of a workspace at a time, across processes."""
    waiting = "waiting for another post or unpost of this workspace to finish"
    with rt.exclusive(f"post-{workspace_id}", waiting, progress):
        yield


def post_workspace(
    rt: Runtime,
    workspace_id: str,
    *,
    settlement: str | None = None,
    progress: Progress | None = None,
) -> PostRun:
    """Post every ready plan of the workspace (or the one settlement named), exactly once."""
    with posting_lock(rt, workspace_id, progress):
        run = plan_workspace(rt, workspace_id, settlement)
        if not run.ready:
            return run
        with ledger_client(rt, run.ledger) as client:
            for item in run.ready:
                outcome = _post_one(rt, client, run.ledger, item)
                run.outcomes.append(outcome)
                if progress:
                    progress(describe(outcome))
                if outcome.state == "interrupted":
                    break
    return run


def describe(outcome: Outcome) -> str:
    """One line about one settlement's outcome."""
    return (
        f"{outcome.connection} {outcome.provider_settlement_id}: {outcome.state}, {outcome.message}"
    )


def ledger_client(rt: Runtime, ledger: Connection) -> XeroLedger:
    """The client of the workspace's ledger (Xero is the one posting supports)."""
    if ledger.provider != "xero":
        raise PostingError(f"posting to {ledger.provider} is not supported; connect Xero")
    client: XeroLedger = rt.client(ledger)
    return client


def _post_one(rt: Runtime, client: XeroLedger, ledger: Connection, item: Planned) -> Outcome:
    settlement = item.candidate.settlement
    outcome = Outcome(
        settlement.id, settlement.provider_settlement_id, item.candidate.connection, "", ""
    )
    row, look_first = _open_attempt(rt, ledger, item)
    try:
        invoices = _invoices(client, item, row, look_first)
        _check(item.plan, invoices)
        invoices = _pay(client, item, row, invoices)
    except _Refused as refused:
        return _failed(rt, row, outcome, str(refused), refused.objects)
    except ConfigError as error:  # Xero refused the request: fix, then post again
        return _failed(rt, row, outcome, error.message, [])
    except ConnectorError as error:
        outcome.state = "interrupted"
        outcome.message = f"{error}; the attempt is kept and `workbench post` resumes it"
        return outcome
    objects = [ledger_object(inv) for inv in invoices]
    with rt.store.read() as con:
        outbox.mark_posted(
            con,
            row,
            objects=objects,
            response_digest=outbox.digest(objects),
            entries=[ledger_entry(ledger.id, inv) for inv in invoices],
            at=rt.clock.now(),
        )
    outcome.state, outcome.objects = "posted", objects
    outcome.message = "; ".join(_summary(inv) for inv in invoices)
    return outcome


def _open_attempt(rt: Runtime, ledger: Connection, item: Planned) -> tuple[outbox.Posting, bool]:
    """The committed outbox row, and whether the ledger may already hold part of it."""
    plan, candidate = item.plan, item.candidate
    request = outbox.digest([draft.wire() for draft in item.drafts])
    now = rt.clock.now()
    with rt.store.read() as con:
        if candidate.posting_state == "sending":
            row = outbox.postings(con, plan.settlement_id, ledger.id)[-1]
            outbox.resume(con, row, request_digest=request, at=now)
            return row, True
        row = outbox.begin(
            con,
            settlement_id=plan.settlement_id,
            ledger_connection_id=ledger.id,
            generation=candidate.attempts + 1,
            idempotency_key=plan.idempotency_key,
            reference=settlement_reference(plan.settlement_id),
            request_digest=request,
            at=now,
        )
    return row, candidate.attempts > 0


def _failed(
    rt: Runtime,
    row: outbox.Posting,
    outcome: Outcome,
    message: str,
    objects: outbox.LedgerObjects,
) -> Outcome:
    with rt.store.read() as con:
        outbox.mark_failed(
            con, row, message=message, objects=objects, response_digest=None, at=rt.clock.now()
        )
    outcome.state, outcome.message, outcome.objects = "failed", message, objects
    return outcome


def _invoices(
    client: XeroLedger, item: Planned, row: outbox.Posting, look_first: bool
) -> list[XeroInvoice]:
    """Each part's invoice or bill: found by reference (on a resend) or created, then read back."""
    entries = item.plan.entries
    found = {e.part: hits[0] for e in entries if look_first and (hits := _lookup(client, e))}
    missing = [e for e in entries if e.part not in found]
    if missing:
        key = _subkey(row.idempotency_key, "invoices", [e.part for e in missing], len(entries))
        drafts = [item.drafts[e.part - 1] for e in missing]
        results = client.create_invoices(drafts, idempotency_key=key)
        problems = []
        for entry, result in zip(missing, results, strict=True):
            if result.ok and result.object_id:
                found[entry.part] = result.object_id
            else:
                problems.append(f"{entry.reference}: {'; '.join(result.problems)}")
        if problems:
            objects = [
                {"object_id": found[e.part], "reference": e.reference}
                for e in entries
                if e.part in found
            ]
            raise _Refused("Xero refused " + " | ".join(problems), objects)
    return [client.invoice(found[e.part]) for e in entries]


def _lookup(client: XeroLedger, entry: PlannedEntry) -> list[str]:
    """The live invoices (or bills) the ledger already holds for this part, oldest first."""
    if entry.type == "ACCREC":
        hits = [
            i
            for i in client.invoices_by_reference(entry.reference)
            if i.reference == entry.reference
        ]
    else:
        hits = [
            i
            for i in client.invoices_by_number([entry.reference])
            if i.invoice_number == entry.reference
        ]
    return [i.invoice_id for i in hits if i.type == entry.type and i.status not in GONE]


def _subkey(key: str, what: str, parts: Sequence[int], total: int) -> str:
    """The key of one request of an attempt; a resend of only some parts is another request."""
    if len(parts) == total:
        return f"{key}/{what}"
    return f"{key}/{what}/{'-'.join(str(part) for part in parts)}"


def _check(plan: PostingPlan, invoices: Sequence[XeroInvoice]) -> None:
    problems = []
    for entry, invoice in zip(plan.entries, invoices, strict=True):
        held = (invoice.type, invoice.currency_code, invoice.total, invoice.status)
        if invoice.status in GONE:
            problems.append(f"{entry.reference} is {invoice.status} in Xero")
        elif held[:3] != (entry.type, entry.currency, entry.total):
            problems.append(
                f"{entry.reference}: Xero holds {invoice.type} {invoice.total} "
                f"{invoice.currency_code}, the plan {entry.type} {entry.total} {entry.currency}"
            )
    if problems:
        raise _Refused(
            "read-back mismatch: " + "; ".join(problems) + "; check it in Xero",
            [ledger_object(inv) for inv in invoices],
        )


def _pay(
    client: XeroLedger, item: Planned, row: outbox.Posting, invoices: list[XeroInvoice]
) -> list[XeroInvoice]:
    """Apply the payments the invoices do not carry yet; the invoices read back after."""
    by_part = {e.part: inv for e, inv in zip(item.plan.entries, invoices, strict=True)}
    todo = [p for p in item.plan.payments if not by_part[p.part].payments]
    unsettled = [
        p.reference
        for p in item.plan.payments
        if by_part[p.part].payments and by_part[p.part].amount_due
    ]
    if unsettled:
        raise _Refused(
            f"{', '.join(unsettled)} carry payments that do not settle them; check them in Xero",
            [ledger_object(inv) for inv in invoices],
        )
    if not todo:
        return invoices
    parts = [p.part for p in todo]
    key = _subkey(row.idempotency_key, "payments", parts, len(item.plan.payments))
    drafts = [payment_draft(p, by_part[p.part].invoice_id) for p in todo]
    results = client.create_payments(drafts, idempotency_key=key)
    refused = [
        f"{p.reference}: {'; '.join(r.problems)}"
        for p, r in zip(todo, results, strict=True)
        if not r.ok
    ]
    if refused:
        raise _Refused(
            "Xero refused the payment " + " | ".join(refused),
            [ledger_object(inv) for inv in invoices],
        )
    return [
        client.invoice(inv.invoice_id) if e.part in parts else inv
        for e, inv in zip(item.plan.entries, invoices, strict=True)
    ]


def ledger_object(invoice: XeroInvoice) -> dict[str, Any]:
    """An invoice as the outbox keeps it: id, type, reference, number, total, status, payments."""
    return {
        "object_id": invoice.invoice_id,
        "object_type": invoice.type,
        "reference": invoice.reference or invoice.invoice_number,
        "number": invoice.invoice_number,
        "total": None if invoice.total is None else str(invoice.total),
        "status": invoice.status,
        "payment_ids": invoice.payment_ids,
    }


def _summary(invoice: XeroInvoice) -> str:
    currency = invoice.currency_code or ""
    total = format_amount(invoice.total, currency) if invoice.total is not None else "?"
    reference = invoice.reference or invoice.invoice_number
    return (
        f"{reference} {invoice.type} {invoice.invoice_number} {total} {currency} {invoice.status}"
    )
