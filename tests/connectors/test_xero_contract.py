"""The Xero sandbox and connector against the official OpenAPI specs (a schema check).

One scenario drives the connector and a few raw calls through a recording transport; every
answer the sandbox gave is validated against the schema its operation declares, and every
request the connector sent against the operation's parameters and request body.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from connectors import xero
from connectors.clock import SimulatedClock
from connectors.errors import ConfigError
from connectors.sandbox import transport
from connectors.sandbox.xero import CLIENT_ID, CLIENT_SECRET, XeroSandbox
from connectors.xero import InvoiceDraft, LineDraft, PaymentDraft
from reconcile.models import Connection
from tests.xero_contract import operation, request_violations, spec, specs_dir, violations

if specs_dir() is None:
    pytest.skip(
        "../shared/specs not found beside the clone: the contract tests need the official specs",
        allow_module_level=True,
    )

START = datetime(2026, 5, 14, 9, 0, tzinfo=UTC)
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
EXPECTED = (
    ("getConnections", 200),
    ("deleteConnection", 204),
    ("getAccounts", 200),
    ("getContacts", 200),
    ("createContacts", 200),
    ("getInvoices", 200),
    ("getInvoice", 200),
    ("createInvoices", 200),
    ("createInvoices", 400),
    ("updateOrCreateInvoices", 200),
    ("updateInvoice", 200),
    ("updateInvoice", 400),
    ("createPayments", 200),
    ("createPayment", 200),
    ("getPayments", 200),
    ("getPayment", 200),
    ("deletePayment", 200),
)


@dataclass(frozen=True)
class Exchange:
    request: httpx2.Request
    response: httpx2.Response
    by_connector: bool

    @property
    def kind(self) -> tuple[str, int] | None:
        op = operation(self.request)
        return (op.operation_id, self.response.status_code) if op else None


@dataclass(frozen=True)
class StaticToken:
    """One access token for a scenario shorter than its 30 minutes."""

    value: str

    def token(self) -> str:
        return self.value

    def invalidate(self) -> None:
        return None


class Recorder:
    """A transport that keeps every exchange with the sandbox."""

    def __init__(self, sandbox: XeroSandbox) -> None:
        self.inner = transport(sandbox)
        self.exchanges: list[Exchange] = []
        self.by_connector = True

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.exchanges.append(Exchange(request, response, self.by_connector))
        return response


def draft(reference: str, sales: str) -> InvoiceDraft:
    return InvoiceDraft(
        type="ACCREC",
        contact_name="Amazon",
        date=date(2026, 5, 14),
        currency="GBP",
        reference=reference,
        url="https://workbench.example/settlements/1",
        line_items=(
            LineDraft(description="Sales", unit_amount=Decimal(sales), account_code="200"),
            LineDraft(description="Fees", unit_amount=Decimal("-15.25"), account_code="404"),
        ),
    )


def connector_scenario(ledger: xero.XeroLedger, clock: SimulatedClock) -> str:
    """The connector's whole surface; returns the id of the invoice it paid and voided."""
    ledger.accounts()
    created = ledger.create_invoices(
        [draft("AMZ-1", "100.10"), draft("AMZ-2", "5"), draft("AMZ-3", "250")],
        idempotency_key="scenario-1",
    )
    paid_id = created[0].object_id
    assert paid_id is not None and created[2].object_id is not None
    ledger.invoices_by_reference("AMZ-1")
    ledger.invoices_by_number(["INV-0001", "INV-0002"])
    clock.advance(timedelta(minutes=1))
    list(ledger.ledger_entries(None))
    list(ledger.ledger_entries(START))
    ledger.create_payments(
        [
            PaymentDraft(
                invoice_id=paid_id,
                account_code="630",
                date=date(2026, 5, 15),
                amount=Decimal("84.85"),
            ),
            PaymentDraft(
                invoice_id=created[2].object_id,
                account_code="630",
                date=date(2026, 5, 15),
                amount=Decimal("999"),
            ),
        ],
        idempotency_key="scenario-pay",
    )
    invoice = ledger.invoice(paid_id)
    with pytest.raises(ConfigError):
        ledger.void_invoice(paid_id, idempotency_key="void-1")
    ledger.delete_payment(invoice.payment_ids[0], idempotency_key="unpay-1")
    ledger.void_invoice(paid_id, idempotency_key="void-2")
    return paid_id


def raw_scenario(http: httpx2.Client, tenant: str, token: str, paid_id: str) -> None:
    """Calls the connector does not make, so every kind of answer is produced."""
    auth = {"Authorization": f"Bearer {token}", "xero-tenant-id": tenant}
    bad = {"Type": "ACCREC", "Contact": {"Name": "Amazon"}, "Status": "AUTHORISED"}
    http.put("/api.xro/2.0/Invoices", params={"summarizeErrors": "true"}, json=bad, headers=auth)
    upsert = {"Invoices": [{"InvoiceID": paid_id, "Reference": "AMZ-1 (voided)"}]}
    http.post("/api.xro/2.0/Invoices", json=upsert, headers=auth)
    [open_invoice] = http.get(
        "/api.xro/2.0/Invoices", params={"where": 'Reference=="AMZ-3"'}, headers=auth
    ).json()["Invoices"]
    payment = {"Invoice": {"InvoiceID": open_invoice["InvoiceID"]}, "Account": {"Code": "090"}}
    made = http.post("/api.xro/2.0/Payments", json={**payment, "Amount": 10}, headers=auth)
    payment_id = made.json()["Payments"][0]["PaymentID"]
    http.get("/api.xro/2.0/Payments", params={"page": "1"}, headers=auth)
    http.get(f"/api.xro/2.0/Payments/{payment_id}", headers=auth)
    http.get("/api.xro/2.0/Contacts", headers=auth)
    contacts = {"Contacts": [{"Name": "eBay"}, {"Name": "Amazon"}]}
    http.put("/api.xro/2.0/Contacts", json=contacts, headers=auth)


@pytest.fixture(scope="module")
def exchanges() -> list[Exchange]:
    clock = SimulatedClock(START)
    sandbox = XeroSandbox(clock)
    recorder = Recorder(sandbox)
    wire = httpx2.MockTransport(recorder)
    with httpx2.Client(base_url=xero.API_BASE_URL, transport=wire) as http:
        recorder.by_connector = False
        tokens = http.post(
            xero.TOKEN_URL,
            data={"grant_type": "refresh_token", "refresh_token": sandbox.issue_refresh_token()},
            headers={"Authorization": BASIC},
        ).json()
        recorder.by_connector = True
        connection = Connection(
            id="xero-1",
            workspace_id="w1",
            provider="xero",
            name="Books",
            kind="ledger",
            config={"tenant_id": sandbox.tenant_ids[0]},
            created_at=START,
        )
        token = StaticToken(tokens["access_token"])
        with xero.connect(connection, token=token, clock=clock, transport=wire) as ledger:
            paid_id = connector_scenario(ledger, clock)
            recorder.by_connector = False
            raw_scenario(http, sandbox.tenant_ids[0], token.value, paid_id)
            recorder.by_connector = True
            [tenant] = ledger.tenants()
            ledger.disconnect(tenant.id)
    return recorder.exchanges


def answer_violations(exchange: Exchange) -> list[str]:
    op = operation(exchange.request)
    assert op is not None, f"{exchange.request.url.path} is not in the spec"
    schema = op.response_schema(exchange.response.status_code)
    if schema is None or not exchange.response.content:
        return []
    body = json.loads(exchange.response.content)
    identity = op.document is spec("xero-identity")
    # The identity spec's own example has no UTC offset on its dates, as the API sends them.
    skip = ("date-time",) if identity else ()
    return violations(op.document, schema, body, skip_formats=skip)


@pytest.mark.parametrize(("operation_id", "status"), EXPECTED)
def test_each_kind_of_answer_matches_the_schema_the_spec_declares(
    exchanges: list[Exchange], operation_id: str, status: int
) -> None:
    chosen = [e for e in exchanges if e.kind == (operation_id, status)]
    assert chosen, f"the scenario produced no {operation_id} {status}"
    for exchange in chosen:
        assert answer_violations(exchange) == []


def test_every_answer_has_a_status_its_operation_declares(exchanges: list[Exchange]) -> None:
    accounting = [e for e in exchanges if e.request.url.path != "/connect/token"]
    undeclared = []
    for exchange in accounting:
        op = operation(exchange.request)
        assert op is not None
        if not op.declares(exchange.response.status_code):
            undeclared.append((op.operation_id, exchange.response.status_code))
    assert undeclared == []


def test_every_request_the_connector_sends_follows_the_spec(exchanges: list[Exchange]) -> None:
    sent = [e for e in exchanges if e.by_connector]
    problems: dict[str, list[str]] = {}
    for exchange in sent:
        op = operation(exchange.request)
        assert op is not None, f"the connector called {exchange.request.url.path}, not in the spec"
        found = request_violations(exchange.request, op)
        if found:
            problems[f"{exchange.request.method} {exchange.request.url}"] = found
    assert problems == {}
    kinds = {operation(e.request).operation_id for e in sent}  # type: ignore[union-attr]
    assert {"createInvoices", "createPayments", "updateInvoice", "deletePayment"} <= kinds


def test_the_token_answer_matches_the_identity_access_token_schema(
    exchanges: list[Exchange],
) -> None:
    [token] = [e for e in exchanges if e.request.url.path == "/connect/token"]
    document = spec("xero-identity")
    schema = document["components"]["schemas"]["AccessToken"]
    body = json.loads(token.response.content)
    assert violations(document, schema, body) == []
    assert {"access_token", "refresh_token", "expires_in", "token_type"} <= set(body)
    assert violations(document, schema, {**body, "expires_in": "1800"}) != []


# ---- the checks can fail ------------------------------------------------------------------------


def first(exchanges: list[Exchange], operation_id: str, status: int = 200) -> Exchange:
    return next(e for e in exchanges if e.kind == (operation_id, status))


def test_a_total_sent_as_text_breaks_the_invoices_schema(exchanges: list[Exchange]) -> None:
    exchange = first(exchanges, "getInvoices")
    body: dict[str, Any] = json.loads(exchange.response.content)
    body["Invoices"][0]["Total"] = "84.85"
    body["Invoices"][0]["InvoiceID"] = "not-a-guid"
    op = operation(exchange.request)
    assert op is not None
    schema = op.response_schema(200)
    assert schema is not None
    found = violations(op.document, schema, body)
    assert any(line.startswith("Invoices/0/Total") for line in found)
    assert any(line.startswith("Invoices/0/InvoiceID") for line in found)


def test_a_read_only_total_in_a_request_is_caught(exchanges: list[Exchange]) -> None:
    exchange = first(exchanges, "createInvoices")
    body = json.loads(exchange.request.content)
    body["Invoices"][0]["Total"] = 84.85
    request = httpx2.Request(
        "PUT", exchange.request.url, headers=exchange.request.headers, json=body
    )
    op = operation(request)
    assert op is not None
    assert any("read-only" in line for line in request_violations(request, op))


def test_an_undeclared_or_ill_typed_parameter_is_caught(exchanges: list[Exchange]) -> None:
    exchange = first(exchanges, "getInvoices")
    params = {"createdbymyapp": "true", "page": "first"}
    headers = {"xero-tenant-id": exchange.request.headers["xero-tenant-id"]}
    request = httpx2.Request("GET", exchange.request.url.copy_with(params=params), headers=headers)
    op = operation(request)
    assert op is not None
    found = request_violations(request, op)
    assert any("'createdbymyapp' is not declared" in line for line in found)
    assert any(line.startswith("query page") for line in found)


def test_an_error_body_of_the_wrong_shape_breaks_the_error_schema(
    exchanges: list[Exchange],
) -> None:
    exchange = first(exchanges, "createInvoices", 400)
    body = copy.deepcopy(json.loads(exchange.response.content))
    body["Elements"] = {"ValidationErrors": "nope"}
    body["ErrorNumber"] = "10"
    op = operation(exchange.request)
    assert op is not None
    schema = op.response_schema(400)
    assert schema is not None
    found = violations(op.document, schema, body)
    assert {line.split(":")[0] for line in found} == {"Elements", "ErrorNumber"}
