"""The sandbox's side of Xero's wire format: JSON with exact amounts, MS-JSON dates, the
response envelopes, the error bodies of ledger-apis.md §A.8, and the `where` filter grammar;
also the plain invoice records ("the truth") that the scenario controls report.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx2

from connectors.sandbox.xero_records import Account, Contact, Invoice, Line, Payment
from connectors.sandbox.xero_store import Books

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
PROVIDER_NAME = "Reconciliation Workbench Sandbox"
ZERO_ID = "00000000-0000-0000-0000-000000000000"
_CLAUSE = re.compile(r'\s*([A-Za-z][A-Za-z.]*)\s*==\s*"((?:[^"\\]|\\.)*)"\s*')
_JOINER = re.compile(r"(?:AND|&&)", re.IGNORECASE)


def dumps(value: Any) -> bytes:
    """JSON in which every Decimal is written digit for digit (never through a float)."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return format(value, "f")
    if isinstance(value, Mapping):
        fields = (f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items())
        return "{" + ",".join(fields) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def respond(status: int, body: Any, headers: Mapping[str, str] | None = None) -> httpx2.Response:
    """A JSON response with exact amounts."""
    return httpx2.Response(
        status,
        content=dumps(body),
        headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
    )


def ms_date(moment: dt.datetime | dt.date) -> str:
    """`/Date(1552326816230+0000)/`: milliseconds since the epoch, UTC."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.UTC)
    return f"/Date({(moment - EPOCH) // dt.timedelta(milliseconds=1)}+0000)/"


def envelope(
    now: dt.datetime, key: str, items: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """Xero's response envelope around a list of objects."""
    return {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": ms_date(now),
        **extra,
        key: items,
    }


def pagination(page: int, page_size: int, total: int) -> dict[str, int]:
    return {
        "page": page,
        "pageSize": page_size,
        "pageCount": -(-total // page_size),
        "itemCount": total,
    }


# ---- objects --------------------------------------------------------------------------------


def invoice_json(invoice: Invoice, books: Books) -> dict[str, Any]:
    """An invoice as GET /Invoices returns it."""
    contact = books.contacts.get(invoice.contact_id)
    body: dict[str, Any] = {
        "Type": invoice.type,
        "InvoiceID": invoice.invoice_id,
        "InvoiceNumber": invoice.number,
        "Reference": invoice.reference,
        "Payments": [payment_ref(books.payments[p]) for p in invoice.payment_ids],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "AmountDue": invoice.amount_due,
        "AmountPaid": invoice.amount_paid,
        "AmountCredited": Decimal("0.00"),
        "CurrencyRate": Decimal("1.0"),
        "IsDiscounted": False,
        "HasAttachments": False,
        "HasErrors": False,
        "Contact": {
            "ContactID": invoice.contact_id,
            "Name": contact.name if contact else invoice.contact_name,
        },
        "DateString": f"{invoice.date.isoformat()}T00:00:00",
        "Date": ms_date(invoice.date),
        "DueDateString": f"{invoice.due_date.isoformat()}T00:00:00",
        "DueDate": ms_date(invoice.due_date),
        "Status": invoice.status,
        "LineAmountTypes": invoice.line_amount_types,
        "LineItems": [line_json(line) for line in invoice.lines],
        "SubTotal": invoice.total,
        "TotalTax": Decimal("0.00"),
        "Total": invoice.total,
        "UpdatedDateUTC": ms_date(invoice.updated_at),
        "CurrencyCode": invoice.currency,
    }
    if invoice.url:
        body["Url"] = invoice.url
    if invoice.fully_paid_on:
        body["FullyPaidOnDate"] = ms_date(invoice.fully_paid_on)
    return body


def invoice_truth(tenant_id: str, invoice: Invoice, books: Books) -> dict[str, Any]:
    """An invoice as the `invoices` control reports it: plain JSON, amounts as decimal text."""
    contact = books.contacts.get(invoice.contact_id)
    return {
        "tenant_id": tenant_id,
        "id": invoice.invoice_id,
        "number": invoice.number,
        "reference": invoice.reference,
        "type": invoice.type,
        "status": invoice.status,
        "currency": invoice.currency,
        "total": str(invoice.total),
        "amount_due": str(invoice.amount_due),
        "amount_paid": str(invoice.amount_paid),
        "date": invoice.date.isoformat(),
        "contact": contact.name if contact else invoice.contact_name,
        "created_by_app": invoice.by_app,
        "payments": list(invoice.payment_ids),
        "line_items": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_amount": str(line.unit_amount),
                "account_code": line.account_code,
                "line_amount": str(line.line_amount),
            }
            for line in invoice.lines
        ],
    }


def line_json(line: Line) -> dict[str, Any]:
    return {
        "LineItemID": line.line_item_id,
        "Description": line.description,
        "Quantity": line.quantity,
        "UnitAmount": line.unit_amount,
        "AccountCode": line.account_code,
        "TaxType": line.tax_type,
        "TaxAmount": Decimal("0.00"),
        "LineAmount": line.line_amount,
        "Tracking": [],
    }


def payment_ref(payment: Payment) -> dict[str, Any]:
    """A payment as an invoice lists it."""
    return {
        "PaymentID": payment.payment_id,
        "Date": ms_date(payment.date),
        "Amount": payment.amount,
        "Reference": payment.reference,
        "CurrencyRate": Decimal("1.0"),
        "HasAccount": False,
        "HasValidationErrors": False,
    }


def payment_json(payment: Payment, books: Books) -> dict[str, Any]:
    """A payment as GET /Payments returns it."""
    invoice = books.invoices[payment.invoice_id]
    account = books.account(payment.account_code)
    return {
        "PaymentID": payment.payment_id,
        "Date": ms_date(payment.date),
        "BankAmount": payment.amount,
        "Amount": payment.amount,
        "Reference": payment.reference,
        "CurrencyRate": Decimal("1.0"),
        "PaymentType": "ACCRECPAYMENT" if invoice.type == "ACCREC" else "ACCPAYPAYMENT",
        "Status": payment.status,
        "UpdatedDateUTC": ms_date(payment.updated_at),
        "HasAccount": True,
        "IsReconciled": False,
        "Account": {
            "AccountID": account.account_id if account else ZERO_ID,
            "Code": payment.account_code,
        },
        "Invoice": {
            "Type": invoice.type,
            "InvoiceID": invoice.invoice_id,
            "InvoiceNumber": invoice.number,
            "Contact": {"ContactID": invoice.contact_id},
            "CurrencyCode": invoice.currency,
        },
        "HasValidationErrors": False,
    }


def account_json(account: Account, now: dt.datetime) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AccountID": account.account_id,
        "Code": account.code,
        "Name": account.name,
        "Status": "ACTIVE",
        "Type": account.type,
        "TaxType": "NONE",
        "EnablePaymentsToAccount": account.enable_payments,
        "ShowInExpenseClaims": False,
        "Class": _ACCOUNT_CLASS.get(account.type, "ASSET"),
        "ReportingCode": "",
        "HasAttachments": False,
        "UpdatedDateUTC": ms_date(now),
        "AddToWatchlist": False,
    }
    if account.type == "BANK":
        body["BankAccountType"] = "BANK"
        body["BankAccountNumber"] = "12-3456-7890123-00"
    if account.system_account:
        body["SystemAccount"] = account.system_account
    return body


_ACCOUNT_CLASS = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "REVENUE": "REVENUE",
    "DIRECTCOSTS": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "CURRLIAB": "LIABILITY",
}


def contact_json(contact: Contact) -> dict[str, Any]:
    return {
        "ContactID": contact.contact_id,
        "ContactStatus": "ACTIVE",
        "Name": contact.name,
        "Addresses": [],
        "Phones": [],
        "UpdatedDateUTC": ms_date(contact.updated_at),
        "ContactGroups": [],
        "IsSupplier": False,
        "IsCustomer": True,
        "ContactPersons": [],
        "HasAttachments": False,
        "HasValidationErrors": False,
    }


def rejected_element(data: Mapping[str, Any], errors: list[str], id_field: str) -> dict[str, Any]:
    """A refused element as Xero echoes it: the input, a zero id and its validation errors."""
    echoed = {k: v for k, v in data.items() if k not in ("ValidationErrors", "Warnings")}
    return {
        **echoed,
        id_field: ZERO_ID,
        "HasErrors": True,
        "StatusAttributeString": "ERROR",
        "ValidationErrors": [{"Message": message} for message in errors],
    }


# ---- error bodies ---------------------------------------------------------------------------


def validation_exception(elements: list[dict[str, Any]]) -> httpx2.Response:
    """400 `ValidationException` (summarizeErrors=true, or a single object)."""
    return respond(
        400,
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": elements,
        },
    )


def bad_request(kind: str, message: str, number: int | None = None) -> httpx2.Response:
    """Another 400 in the `Error` shape (malformed body, unparsable `where`, key reuse)."""
    body: dict[str, Any] = {"Type": kind, "Message": message}
    if number is not None:
        body = {"ErrorNumber": number, **body}
    return respond(400, body)


def problem(status: int, title: str, detail: str) -> httpx2.Response:
    """The identity layer's 401/403 problem body."""
    body: dict[str, Any] = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return respond(status, body)


def token_expired(now: dt.datetime) -> httpx2.Response:
    stamp = now.strftime("%m/%d/%Y %H:%M:%S")
    return problem(401, "Unauthorized", f"TokenExpired: token expired at {stamp}")


def not_connected() -> httpx2.Response:
    return problem(403, "Forbidden", "AuthenticationUnsuccessful")


def not_found(what: str) -> httpx2.Response:
    return respond(404, {"Type": "NotFound", "Message": f"{what} could not be found"})


# ---- the where filter -----------------------------------------------------------------------


def parse_where(text: str) -> list[tuple[str, str]]:
    """`Field=="value" AND Field=="value"` as (field, value) pairs; ValueError otherwise."""
    clauses: list[tuple[str, str]] = []
    position = 0
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise ValueError(f"cannot parse the where clause at character {position}")
        value = re.sub(r"\\(.)", r"\1", match.group(2))
        clauses.append((match.group(1), value))
        position = match.end()
        if position == len(text):
            return clauses
        joiner = _JOINER.match(text, position)
        if joiner is None:
            raise ValueError(f"expected AND at character {position}")
        position = joiner.end()


def filter_where(
    items: list[dict[str, Any]], text: str, fields: frozenset[str]
) -> list[dict[str, Any]]:
    """The rendered objects that satisfy every clause; ValueError names a bad clause."""
    clauses = parse_where(text)
    for name, _ in clauses:
        if name not in fields:
            raise ValueError(f"No property or field '{name}' exists in this collection")
    return [item for item in items if all(_dig(item, n) == v for n, v in clauses)]


def _dig(item: Mapping[str, Any], path: str) -> str | None:
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)
