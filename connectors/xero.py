"""Xero Accounting API: the ledger the workbench posts settlements to (ledger-apis.md §A).

A `XeroLedger` finds, creates, voids and reads back invoices and bills of one tenant
(organisation). Exactly-once posting is the caller's outbox plus two things here: a
deterministic `Idempotency-Key` on every create (Xero remembers it for minutes only), and the
lookups by `Reference` / `InvoiceNumber` that must run before any resend outlives that window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx2
from pydantic import BaseModel, TypeAdapter

from connectors.base import (
    ApiClient,
    ProviderClient,
    RetryPolicy,
    TokenAuth,
    TokenSource,
    decode_json,
    make_http,
)
from connectors.clock import Clock
from connectors.errors import AuthRevoked, ConfigError, ConnectorError, UnexpectedPayload
from connectors.pagination import PageNumber, Params
from connectors.ratelimit import Rate, RateLimiter
from connectors.xero_http import (
    PROVIDER,
    XeroValidationError,
    batch_key,
    check_id,
    check_key,
    classify,
    if_modified_since,
    remaining_observer,
    tenant_semaphore,
    where_equals,
)
from connectors.xero_wire import (
    AccountsPage,
    CreatedPage,
    InvoiceDraft,
    InvoicesPage,
    ItemResult,
    LineDraft,
    PaymentDraft,
    PaymentsPage,
    Tenant,
    XeroAccount,
    XeroInvoice,
    XeroPayment,
    ledger_entry,
)
from reconcile.models import Connection, LedgerEntry

__all__ = [
    "PROVIDER",
    "InvoiceDraft",
    "ItemResult",
    "LineDraft",
    "PaymentDraft",
    "Tenant",
    "XeroAccount",
    "XeroInvoice",
    "XeroLedger",
    "XeroPayment",
    "XeroValidationError",
    "choose_tenant",
    "connect",
    "ledger_entry",
    "onboard",
]

KIND = "ledger"
FEEDS = ("ledger_entries",)
AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
TOKEN_URL = "https://identity.xero.com/connect/token"
REVOCATION_URL = "https://identity.xero.com/connect/revocation"
API_BASE_URL = "https://api.xero.com"
SCOPES = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.invoices",
    "accounting.payments",
    "accounting.banktransactions",
    "accounting.manualjournals",
    "accounting.settings.read",
    "accounting.contacts",
)
ACCESS_TTL = timedelta(minutes=30)
REFRESH_IDLE_TTL = timedelta(days=60)
REFRESH_GRACE = timedelta(minutes=30)
BATCH_LIMIT = 50
PAGE_SIZE = 100
MINUTE_LIMIT = 60
DAY_LIMIT = 5000

ACCOUNTING = "/api.xro/2.0"
INVOICES = f"{ACCOUNTING}/Invoices"
PAYMENTS = f"{ACCOUNTING}/Payments"
ACCOUNTS = f"{ACCOUNTING}/Accounts"
CONNECTIONS = "/connections"

_Page = TypeVar("_Page", bound=BaseModel)
_TENANTS = TypeAdapter(list[Tenant])


def choose_tenant(tenants: Sequence[Tenant], wanted: str | None = None) -> Tenant:
    """The organisation to use: `wanted` by tenant id or name, or the only one connected."""
    if wanted:
        key = wanted.strip().lower()
        for tenant in tenants:
            if key in (tenant.tenant_id.lower(), (tenant.tenant_name or "").lower()):
                return tenant
        raise ConfigError(PROVIDER, f"no connected Xero organisation is called {wanted!r}")
    if len(tenants) == 1:
        return tenants[0]
    if not tenants:
        raise ConfigError(
            PROVIDER, "the grant reaches no Xero organisation; reconnect Xero and pick one"
        )
    names = ", ".join(repr(t.tenant_name or t.tenant_id) for t in tenants)
    raise ConfigError(PROVIDER, f"several Xero organisations are connected ({names}); pick one")


def onboard(ledger: XeroLedger, connection: Connection) -> Connection:
    """The connection bound to its organisation, checked against what the grant reaches.

    A new connection gets the tenant `config["tenant"]` names (or the only one) as `tenant_id`
    and `tenant_name`; a reconnect (it has a `tenant_id`) must reach that same organisation.
    """
    tenants = ledger.tenants()
    current = connection.config.get("tenant_id")
    if current:
        if not any(t.tenant_id.lower() == str(current).lower() for t in tenants):
            name = connection.config.get("tenant_name") or current
            raise AuthRevoked(
                PROVIDER,
                f"this grant does not include the organisation {name}; "
                "reconnect with the same Xero organisation",
            )
        return connection
    tenant = choose_tenant(tenants, connection.config.get("tenant"))
    config = {**connection.config, "tenant_id": tenant.tenant_id, "tenant_name": tenant.tenant_name}
    return connection.model_copy(update={"config": config})


def connect(
    connection: Connection,
    *,
    token: TokenSource,
    clock: Clock,
    transport: httpx2.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    on_retry: Callable[[ConnectorError, float], None] | None = None,
) -> XeroLedger:
    """A client for the tenant in `connection.config["tenant_id"]` (Bearer token from `token`)."""
    if connection.provider != PROVIDER:
        raise ConfigError(PROVIDER, f"connection {connection.id} is a {connection.provider} one")
    base_url = str(connection.config.get("api_base_url") or API_BASE_URL).rstrip("/")
    tenant = connection.config.get("tenant_id")
    tenant_id = str(tenant) if tenant else None
    limiter = RateLimiter(
        clock,
        shared={"minute": Rate.per_minute(MINUTE_LIMIT), "day": Rate.per_day(DAY_LIMIT)},
    )
    api = ApiClient(
        PROVIDER,
        make_http(base_url, transport),
        limiter=limiter,
        clock=clock,
        auth=TokenAuth(token),
        retry=retry,
        classify=classify,
        observe=remaining_observer(limiter),
        on_retry=on_retry,
        concurrency=tenant_semaphore(tenant_id) if tenant_id else None,
    )
    return XeroLedger(api, connection_id=connection.id, tenant_id=tenant_id)


def _decoder(model: type[_Page]) -> Callable[[bytes], _Page]:
    def decode(content: bytes) -> _Page:
        return model.model_validate(decode_json(content))

    return decode


class XeroLedger(ProviderClient):
    """One Xero tenant: invoices and bills, their payments, and the sync feed."""

    def __init__(self, api: ApiClient, *, connection_id: str, tenant_id: str | None) -> None:
        self.api = api
        self.connection_id = connection_id
        self.tenant_id = tenant_id

    def tenants(self) -> list[Tenant]:
        """The organisations this grant may use (`GET /connections`)."""
        response = self.api.request("GET", CONNECTIONS, operation="getConnections")
        tenants: list[Tenant] = self.api.decode(
            response, lambda content: _TENANTS.validate_python(decode_json(content))
        )
        return tenants

    def disconnect(self, connection_id: str) -> None:
        """Disconnect one tenant from the app (`DELETE /connections/{id}`)."""
        path = f"{CONNECTIONS}/{quote(check_id(connection_id))}"
        self.api.request("DELETE", path, operation="deleteConnection")

    def accounts(self) -> list[XeroAccount]:
        """The chart of accounts (to pick sales, fee and clearing accounts)."""
        return self._call("GET", ACCOUNTS, AccountsPage, operation="getAccounts").accounts

    def invoice(self, invoice_id: str) -> XeroInvoice:
        """One invoice or bill by its id (read-back after a create)."""
        path = f"{INVOICES}/{quote(check_id(invoice_id))}"
        return _single(self._call("GET", path, InvoicesPage, operation="getInvoice").invoices)

    def invoices_by_reference(self, reference: str) -> list[XeroInvoice]:
        """The invoices whose `Reference` is exactly `reference` (ACCREC only carry one)."""
        return list(self._invoice_pages({"where": where_equals("Reference", reference)}))

    def invoices_by_number(self, numbers: Sequence[str]) -> list[XeroInvoice]:
        """The invoices and bills with these `InvoiceNumber`s."""
        if any("," in number for number in numbers):
            raise ValueError("an InvoiceNumber with a comma cannot be looked up by number")
        found: list[XeroInvoice] = []
        for start in range(0, len(numbers), BATCH_LIMIT):
            chunk = ",".join(numbers[start : start + BATCH_LIMIT])
            found += self._invoice_pages({"InvoiceNumbers": chunk})
        return found

    def create_invoices(
        self, invoices: Sequence[InvoiceDraft], *, idempotency_key: str
    ) -> list[ItemResult]:
        """Create invoices and bills, 50 a request; one result per draft, in order.

        Items Xero refuses come back with `ok=False` and its messages; the others are created.
        """
        bodies = [invoice.wire() for invoice in invoices]
        return self._create(INVOICES, "Invoices", "createInvoices", bodies, idempotency_key)

    def create_payments(
        self, payments: Sequence[PaymentDraft], *, idempotency_key: str
    ) -> list[ItemResult]:
        """Apply payments to invoices, 50 a request; one result per draft, in order."""
        bodies = [payment.wire() for payment in payments]
        return self._create(PAYMENTS, "Payments", "createPayments", bodies, idempotency_key)

    def void_invoice(self, invoice_id: str, *, idempotency_key: str) -> XeroInvoice:
        """Void an authorised invoice; one with payments needs `delete_payment` on each first."""
        path = f"{INVOICES}/{quote(check_id(invoice_id))}"
        body = {"Invoices": [{"InvoiceID": invoice_id, "Status": "VOIDED"}]}
        page = self._call(
            "POST", path, InvoicesPage, operation="updateInvoice", body=body, key=idempotency_key
        )
        return _single(page.invoices)

    def delete_payment(self, payment_id: str, *, idempotency_key: str | None = None) -> XeroPayment:
        """Delete (reverse) a payment, which puts its invoice back to AUTHORISED."""
        path = f"{PAYMENTS}/{quote(check_id(payment_id))}"
        body = {"Status": "DELETED"}
        page = self._call(
            "POST", path, PaymentsPage, operation="deletePayment", body=body, key=idempotency_key
        )
        return _single(page.payments)

    def ledger_entries(self, modified_since: datetime | None) -> Iterator[LedgerEntry]:
        """Every invoice and bill this app created, changed since `modified_since` when given."""
        extra = {"If-Modified-Since": if_modified_since(modified_since)} if modified_since else {}
        for invoice in self._invoice_pages({"createdByMyApp": "true"}, extra):
            yield self._entry(invoice)

    # ---- internals -----------------------------------------------------------------------

    def _tenant(self) -> dict[str, str]:
        if not self.tenant_id:
            raise ConfigError(
                PROVIDER, "no Xero organisation is chosen; reconnect Xero and pick a tenant"
            )
        return {"xero-tenant-id": self.tenant_id}

    def _call(
        self,
        method: str,
        path: str,
        model: type[_Page],
        *,
        operation: str,
        params: Params | None = None,
        body: Any = None,
        key: str | None = None,
    ) -> _Page:
        """One accounting call for the tenant, decoded into `model` (a data error otherwise)."""
        headers = self._tenant()
        if key is not None:
            check_key(key)
            headers["Idempotency-Key"] = key
        page: _Page = self.api.json(
            method,
            path,
            operation=operation,
            params=params,
            json=body,
            headers=headers,
            decode=_decoder(model),
        )
        return page

    def _invoice_pages(
        self, params: Params, extra_headers: dict[str, str] | None = None
    ) -> Iterator[XeroInvoice]:
        # ApiClient.paginate sends no per-call headers, and Xero needs the tenant header (and
        # If-Modified-Since), so the PageNumber strategy is driven here.
        headers = {**self._tenant(), **(extra_headers or {})}
        pages = PageNumber(items_of=lambda page: page.invoices, page_size=PAGE_SIZE)
        query: Params | None = {**params, "page": "1"}
        previous: list[str] = []
        while query is not None:
            response = self.api.request(
                "GET", INVOICES, operation="getInvoices", params=query, headers=headers
            )
            page = self.api.decode(response, _decoder(InvoicesPage))
            ids = [invoice.invoice_id for invoice in page.invoices]
            if ids and ids == previous:
                raise UnexpectedPayload(PROVIDER, "Xero ignored the page number; stopped paging")
            previous = ids
            yield from page.invoices
            query = pages.next_params(page, response, query)

    def _create(
        self, path: str, collection: str, operation: str, bodies: list[dict[str, Any]], key: str
    ) -> list[ItemResult]:
        check_key(key)
        results: list[ItemResult] = []
        for batch, start in enumerate(range(0, len(bodies), BATCH_LIMIT)):
            chunk = bodies[start : start + BATCH_LIMIT]
            results += self._create_batch(
                path, operation, {collection: chunk}, batch_key(key, batch), start
            )
        return results

    def _create_batch(
        self, path: str, operation: str, body: dict[str, list[Any]], key: str, start: int
    ) -> list[ItemResult]:
        count = sum(len(items) for items in body.values())
        try:
            page = self._call(
                "PUT",
                path,
                CreatedPage,
                operation=operation,
                params={"summarizeErrors": "false"},
                body=body,
                key=key,
            )
        except XeroValidationError as rejected:
            return _rejected_results(rejected, count, start)
        items = page.items()
        if len(items) != count:
            raise UnexpectedPayload(PROVIDER, f"Xero answered {len(items)} results for {count}")
        return [item.result(start + offset) for offset, item in enumerate(items)]

    def _entry(self, invoice: XeroInvoice) -> LedgerEntry:
        return ledger_entry(self.connection_id, invoice)


_T = TypeVar("_T")


def _single(items: Sequence[_T]) -> _T:
    if len(items) != 1:
        raise UnexpectedPayload(PROVIDER, f"expected one object in the answer, got {len(items)}")
    return items[0]


def _rejected_results(rejected: XeroValidationError, count: int, start: int) -> list[ItemResult]:
    """Per-item problems from a 400 ValidationException: nothing in the request was created."""
    elements = rejected.elements
    everything = [m for element in elements for m in element if m] or [rejected.message]
    results = []
    for offset in range(count):
        own = elements[offset] if len(elements) == count else everything
        problems = [m for m in own if m] or [
            "not created: another item in the same request failed validation"
        ]
        results.append(ItemResult(index=start + offset, ok=False, problems=problems))
    return results
