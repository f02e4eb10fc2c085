"""The sandbox Xero's accounting endpoints over one organisation's `Books`.

Each function takes the parsed request parts and answers like Xero: 200 envelopes, mixed
results under `summarizeErrors=false`, a 400 `ValidationException` when the whole request
fails, 404 for an unknown object.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx2

from connectors.sandbox.xero_records import Contact, Invoice, Payment
from connectors.sandbox.xero_render import (
    account_json,
    bad_request,
    contact_json,
    envelope,
    filter_where,
    invoice_json,
    not_found,
    pagination,
    payment_json,
    rejected_element,
    respond,
    validation_exception,
)
from connectors.sandbox.xero_store import Books

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
INVOICE_FIELDS = frozenset(
    {"InvoiceID", "InvoiceNumber", "Reference", "Type", "Status", "CurrencyCode"}
    | {"Contact.ContactID", "Contact.Name"}
)
PAYMENT_FIELDS = frozenset({"PaymentID", "Status", "Reference", "PaymentType", "Invoice.InvoiceID"})
ACCOUNT_FIELDS = frozenset({"AccountID", "Code", "Name", "Type", "Status", "Class"})
CONTACT_FIELDS = frozenset({"ContactID", "Name", "ContactStatus"})


@dataclass(frozen=True)
class Call:
    """One accounting request, parsed: what the endpoints need of it."""

    method: str
    parts: tuple[str, ...]  # the path below /api.xro/2.0, e.g. ("invoices", "<id>")
    params: Mapping[str, str]
    headers: httpx2.Headers
    body: bytes
    now: dt.datetime


class Rejected(Exception):
    """A request the endpoints refuse as a whole; `response` is the 400 to send."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response
        super().__init__(response.status_code)


def dispatch(books: Books, call: Call) -> httpx2.Response:
    """Route an accounting call to its endpoint."""
    collection, *rest = call.parts or ("",)
    routes: dict[tuple[str, str, bool], Callable[[Books, Call], httpx2.Response]] = {
        ("invoices", "GET", False): list_invoices,
        ("invoices", "PUT", False): create_invoices,
        ("invoices", "POST", False): upsert_invoices,
        ("invoices", "GET", True): get_invoice,
        ("invoices", "POST", True): update_invoice,
        ("payments", "GET", False): list_payments,
        ("payments", "PUT", False): create_payments,
        ("payments", "POST", False): create_payments,
        ("payments", "GET", True): get_payment,
        ("payments", "POST", True): delete_payment,
        ("accounts", "GET", False): list_accounts,
        ("contacts", "GET", False): list_contacts,
        ("contacts", "PUT", False): create_contacts,
    }
    route = routes.get((collection, call.method, len(rest) == 1))
    if route is None or len(rest) > 1:
        return respond(404, {"Type": "NotFound", "Message": "The resource could not be found"})
    try:
        return route(books, call)
    except Rejected as rejected:
        return rejected.response


# ---- invoices -------------------------------------------------------------------------------


def list_invoices(books: Books, call: Call) -> httpx2.Response:
    since = _since(call.headers.get("if-modified-since"))
    numbers = _csv(call.params.get("InvoiceNumbers"))
    ids = {i.lower() for i in _csv(call.params.get("IDs"))}
    statuses = _csv(call.params.get("Statuses"))
    mine = call.params.get("createdByMyApp", "").lower() == "true"
    chosen = [
        invoice
        for invoice in books.invoices.values()
        if (not numbers or invoice.number in numbers)
        and (not ids or invoice.invoice_id in ids)
        and (not statuses or invoice.status in statuses)
        and (not mine or invoice.by_app)
        and (since is None or invoice.updated_at >= since)
    ]
    items = [invoice_json(invoice, books) for invoice in chosen]
    return _listing(call, "Invoices", _where(items, call, INVOICE_FIELDS))


def get_invoice(books: Books, call: Call) -> httpx2.Response:
    invoice = _invoice_at(books, call.parts[1])
    return respond(200, envelope(call.now, "Invoices", [invoice_json(invoice, books)]))


def create_invoices(books: Books, call: Call) -> httpx2.Response:
    elements = _elements(call, "Invoices")
    return _create_all(books, call, elements, "Invoices", _checked(books.check_invoice))


def upsert_invoices(books: Books, call: Call) -> httpx2.Response:
    """POST /Invoices: an element with an InvoiceID updates (at once), the others create."""
    elements = _elements(call, "Invoices")
    create = _checked(books.check_invoice)

    def step(data: Mapping[str, Any], claimed: Any) -> Outcome:
        if not data.get("InvoiceID"):
            return create(data, claimed)
        invoice = books.invoices.get(str(data["InvoiceID"]).lower())
        if invoice is None:
            return Outcome(data, [f"Invoice {data['InvoiceID']} could not be found"])
        return Outcome(data, books.update_invoice(invoice, data), invoice, stored=True)

    return _create_all(books, call, elements, "Invoices", step)


def update_invoice(books: Books, call: Call) -> httpx2.Response:
    invoice = _invoice_at(books, call.parts[1])
    elements = _elements(call, "Invoices")
    data = elements[0] if elements else {}
    errors = books.update_invoice(invoice, data)
    if errors:
        return validation_exception([rejected_element(data, errors, "InvoiceID")])
    return respond(200, envelope(call.now, "Invoices", [invoice_json(invoice, books)]))


# ---- payments -------------------------------------------------------------------------------


def list_payments(books: Books, call: Call) -> httpx2.Response:
    since = _since(call.headers.get("if-modified-since"))
    chosen = [p for p in books.payments.values() if since is None or p.updated_at >= since]
    items = [payment_json(payment, books) for payment in chosen]
    return _listing(call, "Payments", _where(items, call, PAYMENT_FIELDS))


def get_payment(books: Books, call: Call) -> httpx2.Response:
    payment = _payment_at(books, call.parts[1])
    return respond(200, envelope(call.now, "Payments", [payment_json(payment, books)]))


def create_payments(books: Books, call: Call) -> httpx2.Response:
    elements = _elements(call, "Payments")
    return _create_all(books, call, elements, "Payments", _checked(books.check_payment))


def delete_payment(books: Books, call: Call) -> httpx2.Response:
    payment = _payment_at(books, call.parts[1])
    elements = _elements(call, "Payments")
    data = elements[0] if elements else {}
    errors = books.delete_payment(payment, data)
    if errors:
        return validation_exception([rejected_element(data, errors, "PaymentID")])
    return respond(200, envelope(call.now, "Payments", [payment_json(payment, books)]))


# ---- accounts and contacts ------------------------------------------------------------------


def list_accounts(books: Books, call: Call) -> httpx2.Response:
    items = [account_json(account, call.now) for account in books.accounts]
    return respond(200, envelope(call.now, "Accounts", _where(items, call, ACCOUNT_FIELDS)))


def list_contacts(books: Books, call: Call) -> httpx2.Response:
    items = [contact_json(contact) for contact in books.contacts.values()]
    return _listing(call, "Contacts", _where(items, call, CONTACT_FIELDS))


def create_contacts(books: Books, call: Call) -> httpx2.Response:
    elements = _elements(call, "Contacts")
    return _create_all(books, call, elements, "Contacts", _checked(books.check_contact))


# ---- shared mechanics -----------------------------------------------------------------------

Made = Invoice | Payment | Contact


@dataclass
class Outcome:
    """What became of one element: its errors, or the object (stored, or to be stored)."""

    data: Mapping[str, Any]
    errors: list[str]
    made: Made | None = None
    stored: bool = False


Step = Callable[[Mapping[str, Any], Any], Outcome]


def _checked(check: Callable[[Mapping[str, Any], Any], tuple[Any, list[str]]]) -> Step:
    def step(data: Mapping[str, Any], pending: Any) -> Outcome:
        made, errors = check(data, pending)
        return Outcome(data, errors, made)

    return step


def _create_all(
    books: Books, call: Call, elements: list[Mapping[str, Any]], key: str, step: Step
) -> httpx2.Response:
    """Check every element; with summarizeErrors=true all must pass, else each stands alone.

    `pending` carries what earlier elements of the request claimed (numbers, amounts), so
    checking all before storing any gives the same answers as storing one by one.
    """
    summarize = call.params.get("summarizeErrors", "false").lower() == "true"
    pending: Any = {} if key == "Payments" else set()
    outcomes = [step(data, pending) for data in elements]
    if summarize and any(outcome.errors for outcome in outcomes):
        return validation_exception([_echo(outcome) for outcome in outcomes])
    rendered = [_settle(books, outcome, _ID_FIELD[key]) for outcome in outcomes]
    return respond(200, envelope(call.now, key, rendered))


def _settle(books: Books, outcome: Outcome, id_field: str) -> dict[str, Any]:
    """Store an accepted element and render it; render a refused one with its errors."""
    if outcome.errors or outcome.made is None:
        return rejected_element(outcome.data, outcome.errors, id_field)
    made = outcome.made
    if isinstance(made, Invoice):
        body = invoice_json(made if outcome.stored else books.add_invoice(made), books)
    elif isinstance(made, Payment):
        body = payment_json(made if outcome.stored else books.add_payment(made), books)
    else:
        body = contact_json(made if outcome.stored else books.add_contact(made))
    return {**body, "StatusAttributeString": "OK"}


_ID_FIELD = {"Invoices": "InvoiceID", "Payments": "PaymentID", "Contacts": "ContactID"}


def _echo(outcome: Outcome) -> dict[str, Any]:
    errors = [{"Message": message} for message in outcome.errors]
    return {**outcome.data, "ValidationErrors": errors}


def _elements(call: Call, key: str) -> list[Mapping[str, Any]]:
    """The request's elements: `{"Invoices": [...]}` or a single bare object."""
    try:
        body = json.loads(call.body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(
            bad_request("PostDataInvalidException", "JSON for post data was invalid", 14)
        ) from None
    items = body.get(key, [body]) if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        message = f"The request body must be an object, or one with a {key} array of objects"
        raise Rejected(bad_request("PostDataInvalidException", message, 14))
    return items


def _listing(call: Call, key: str, items: list[dict[str, Any]]) -> httpx2.Response:
    """All items, or one page of them (with its `pagination` block) when `page` is given."""
    if "page" not in call.params:
        return respond(200, envelope(call.now, key, items))
    page = _positive(call.params["page"], "page")
    size = min(
        _positive(call.params.get("pageSize", str(DEFAULT_PAGE_SIZE)), "pageSize"), MAX_PAGE_SIZE
    )
    chunk = items[(page - 1) * size : page * size]
    extra = {"pagination": pagination(page, size, len(items))}
    return respond(200, envelope(call.now, key, chunk, **extra))


def _where(items: list[dict[str, Any]], call: Call, fields: frozenset[str]) -> list[dict[str, Any]]:
    text = call.params.get("where")
    if not text:
        return items
    try:
        return filter_where(items, text, fields)
    except ValueError as error:
        raise Rejected(bad_request("QueryParseException", str(error))) from None


def _positive(value: str, name: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise Rejected(bad_request("QueryParseException", f"{name} must be a positive integer"))
    return int(value)


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _since(value: str | None) -> dt.datetime | None:
    """If-Modified-Since as ISO 8601 (naive = UTC) or an HTTP date."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            raise Rejected(
                bad_request("ValidationException", "If-Modified-Since is not a date")
            ) from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _invoice_at(books: Books, key: str) -> Invoice:
    """GET/POST /Invoices/{InvoiceID}: Xero also takes an InvoiceNumber there."""
    found = books.invoices.get(key.lower()) if _is_guid(key) else None
    found = found or next((i for i in books.invoices.values() if i.number == key), None)
    if found is None:
        raise Rejected(not_found(f"Invoice {key}"))
    return found


def _payment_at(books: Books, key: str) -> Payment:
    found = books.payments.get(key.lower()) if _is_guid(key) else None
    if found is None:
        raise Rejected(not_found(f"Payment {key}"))
    return found


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
