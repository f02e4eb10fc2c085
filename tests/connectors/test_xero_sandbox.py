"""The Xero sandbox on the wire: OAuth, tenants, limits, idempotency and validation rules."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest

from connectors.clock import SimulatedClock, SystemClock
from connectors.sandbox import transport
from connectors.sandbox.xero import CLIENT_ID, CLIENT_SECRET, XeroSandbox, tenant_id_for
from tests.connectors.consent import callback, consent, consent_page

START = datetime(2026, 5, 14, 9, 0, tzinfo=UTC)
INVOICES = "/api.xro/2.0/Invoices"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def sandbox(clock: SimulatedClock) -> XeroSandbox:
    return XeroSandbox(clock, tenants=("Demo Company (UK)", "Second Org"))


@pytest.fixture
def client(sandbox: XeroSandbox) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url="https://api.xero.com", transport=transport(sandbox)) as http:
        yield http


def refresh(client: httpx2.Client, token: str) -> httpx2.Response:
    return client.post(
        "https://identity.xero.com/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers={"Authorization": BASIC},
    )


def access(client: httpx2.Client, sandbox: XeroSandbox) -> str:
    token: str = refresh(client, sandbox.issue_refresh_token()).json()["access_token"]
    return token


def headers(token: str, tenant: str | None, **extra: str) -> dict[str, str]:
    found = {"Authorization": f"Bearer {token}", **extra}
    if tenant is not None:
        found["xero-tenant-id"] = tenant
    return found


def invoice(reference: str = "AMZ-1", amount: str = "100.00", **extra: Any) -> dict[str, Any]:
    return {
        "Type": "ACCREC",
        "Contact": {"Name": "Amazon"},
        "Date": "2026-05-14",
        "Status": "AUTHORISED",
        "Reference": reference,
        "LineItems": [
            {"Description": "Sales", "Quantity": 1, "UnitAmount": amount, "AccountCode": "200"}
        ],
        **extra,
    }


@pytest.fixture
def api(client: httpx2.Client, sandbox: XeroSandbox) -> Api:
    return Api(client, access(client, sandbox), sandbox.tenant_ids[0])


class Api:
    """Raw calls for one tenant."""

    def __init__(self, client: httpx2.Client, token: str, tenant: str) -> None:
        self.client, self.token, self.tenant = client, token, tenant

    def get(self, path: str, **params: str) -> httpx2.Response:
        return self.client.get(path, params=params, headers=headers(self.token, self.tenant))

    def put(self, path: str, body: Any, key: str | None = None, **params: str) -> httpx2.Response:
        extra = {"Idempotency-Key": key} if key else {}
        return self.client.put(
            path, params=params, json=body, headers=headers(self.token, self.tenant, **extra)
        )

    def post(self, path: str, body: Any) -> httpx2.Response:
        return self.client.post(path, json=body, headers=headers(self.token, self.tenant))


# ---- identity ---------------------------------------------------------------------------------


def test_refresh_tokens_rotate_with_a_thirty_minute_grace(
    client: httpx2.Client, sandbox: XeroSandbox, clock: SimulatedClock
) -> None:
    first = sandbox.issue_refresh_token()
    rotated = refresh(client, first).json()
    assert rotated["expires_in"] == 1800 and rotated["refresh_token"] != first

    clock.advance(timedelta(minutes=29))
    assert refresh(client, first).status_code == 200
    clock.advance(timedelta(minutes=2))
    gone = refresh(client, first)
    assert (gone.status_code, gone.json()["error"]) == (400, "invalid_grant")


def test_the_token_endpoint_wants_client_secret_basic(
    client: httpx2.Client, sandbox: XeroSandbox
) -> None:
    response = client.post(
        "https://identity.xero.com/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": sandbox.issue_refresh_token(),
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_an_unused_refresh_token_lapses_after_sixty_days(
    client: httpx2.Client, sandbox: XeroSandbox, clock: SimulatedClock
) -> None:
    token = sandbox.issue_refresh_token()
    clock.advance(timedelta(days=60))
    assert refresh(client, token).json()["error"] == "invalid_grant"


def test_the_code_flow_with_pkce_connects_every_organisation(
    client: httpx2.Client, sandbox: XeroSandbox
) -> None:
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    redirect = "http://127.0.0.1:8501/callback"
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect,
        "scope": "openid offline_access accounting.invoices accounting.settings.read",
        "state": "s1",
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
    }
    url = "https://login.xero.com/identity/connect/authorize?" + urlencode(query)
    page = consent_page(client, url)
    assert "Reconciliation Workbench wants access to your Xero (sandbox) account" in page.text
    assert "Organisations it connects: Demo Company (UK), Second Org" in page.text
    assert sandbox.grants.issued == []  # showing the page grants nothing
    code = callback(consent(client, url), redirect)["code"]
    tokens = client.post(
        "https://identity.xero.com/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
        headers={"Authorization": BASIC},
    ).json()
    rows = client.get("/connections", headers=headers(tokens["access_token"], None)).json()
    assert sorted(row["tenantName"] for row in rows) == ["Demo Company (UK)", "Second Org"]
    assert len({row["authEventId"] for row in rows}) == 1


def test_deleting_a_connection_disconnects_that_tenant_only(api: Api, sandbox: XeroSandbox) -> None:
    rows = api.client.get("/connections", headers=headers(api.token, None)).json()
    first = next(row for row in rows if row["tenantId"] == api.tenant)
    deleted = api.client.delete(f"/connections/{first['id']}", headers=headers(api.token, None))
    assert deleted.status_code == 204

    refused = api.get("/api.xro/2.0/Accounts")
    assert refused.status_code == 403 and refused.json()["Detail"] == "AuthenticationUnsuccessful"
    other = api.client.get(
        "/api.xro/2.0/Accounts", headers=headers(api.token, sandbox.tenant_ids[1])
    )
    assert other.status_code == 200


def test_reconnecting_a_tenant_moves_its_updated_date(
    api: Api, sandbox: XeroSandbox, clock: SimulatedClock
) -> None:
    sandbox.disconnect_tenant(api.tenant)
    clock.advance(timedelta(days=2))
    fresh = access(api.client, sandbox)
    rows = api.client.get("/connections", headers=headers(fresh, None)).json()
    row = next(row for row in rows if row["tenantId"] == api.tenant)
    assert row["createdDateUtc"] == "2026-05-14T09:00:00.0000000"
    assert row["updatedDateUtc"] == "2026-05-16T09:00:00.0000000"


def test_a_missing_or_foreign_tenant_header_is_forbidden(api: Api) -> None:
    for tenant in (None, tenant_id_for("Someone Else")):
        response = api.client.get("/api.xro/2.0/Invoices", headers=headers(api.token, tenant))
        body = response.json()
        assert (response.status_code, body["Title"], body["Detail"]) == (
            403,
            "Forbidden",
            "AuthenticationUnsuccessful",
        )


def test_an_expired_access_token_gets_the_token_expired_body(
    api: Api, clock: SimulatedClock
) -> None:
    clock.advance(timedelta(minutes=31))
    response = api.get("/api.xro/2.0/Accounts")
    assert response.status_code == 401
    assert response.json()["Detail"].startswith("TokenExpired: token expired at")


# ---- limits -----------------------------------------------------------------------------------


def test_every_answer_carries_the_remaining_call_headers(api: Api) -> None:
    response = api.get("/api.xro/2.0/Accounts")
    assert response.headers["X-MinLimit-Remaining"] == "59"
    assert response.headers["X-DayLimit-Remaining"] == "4999"
    assert response.headers["X-AppMinLimit-Remaining"] == "9999"


def test_the_sixty_first_call_in_a_minute_is_throttled_until_the_window_moves(
    api: Api, clock: SimulatedClock
) -> None:
    for _ in range(60):
        assert api.get("/api.xro/2.0/Accounts").status_code == 200
    clock.advance(timedelta(seconds=20))
    throttled = api.get("/api.xro/2.0/Accounts")
    assert throttled.status_code == 429
    assert throttled.headers["X-Rate-Limit-Problem"] == "minute"
    assert throttled.headers["Retry-After"] == "40"
    clock.advance(timedelta(seconds=40))
    assert api.get("/api.xro/2.0/Accounts").status_code == 200


def test_rate_limits_can_be_switched_off(client: httpx2.Client, clock: SimulatedClock) -> None:
    sandbox = XeroSandbox(clock, enforce_rate_limits=False)
    with httpx2.Client(base_url="https://api.xero.com", transport=transport(sandbox)) as http:
        api = Api(http, access(http, sandbox), sandbox.tenant_ids[0])
        statuses = {api.get("/api.xro/2.0/Accounts").status_code for _ in range(70)}
    assert statuses == {200}


def test_a_sixth_concurrent_call_is_throttled_as_concurrent(api: Api, sandbox: XeroSandbox) -> None:
    sandbox.hold()
    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(api.get("/api.xro/2.0/Accounts").status_code)
        )
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while sandbox.limits.max_in_flight < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    sixth = api.get("/api.xro/2.0/Accounts")
    sandbox.release()
    for thread in threads:
        thread.join(timeout=10)

    assert (sixth.status_code, sixth.headers["X-Rate-Limit-Problem"]) == (429, "concurrent")
    assert "Retry-After" not in sixth.headers
    assert answers == [200] * 5


def test_a_daily_breach_names_the_day_and_a_long_wait(api: Api, sandbox: XeroSandbox) -> None:
    sandbox.spend_daily_limit(api.tenant)
    response = api.get("/api.xro/2.0/Accounts")
    assert response.status_code == 429
    assert response.headers["X-Rate-Limit-Problem"] == "day"
    assert response.headers["Retry-After"] == "86400"


# ---- idempotency ------------------------------------------------------------------------------


def test_a_replay_returns_the_cached_answer_and_creates_nothing(
    api: Api, sandbox: XeroSandbox
) -> None:
    body = {"Invoices": [invoice()]}
    first = api.put(INVOICES, body, key="k-1")
    replay = api.put(INVOICES, body, key="k-1")
    assert replay.content == first.content
    assert len(sandbox.invoices()) == 1
    assert sandbox.stats()["idempotent_replays"] == 1


def test_cached_errors_replay_too(api: Api, sandbox: XeroSandbox) -> None:
    body = {"Invoices": [invoice(amount="-1")]}
    first = api.put(INVOICES, body, key="k-err", summarizeErrors="true")
    replay = api.put(INVOICES, body, key="k-err", summarizeErrors="true")
    assert first.status_code == replay.status_code == 400
    assert sandbox.stats()["idempotent_replays"] == 1


def test_the_same_key_with_another_body_is_a_400(api: Api, sandbox: XeroSandbox) -> None:
    api.put(INVOICES, {"Invoices": [invoice("A")]}, key="k-2")
    clash = api.put(INVOICES, {"Invoices": [invoice("B")]}, key="k-2")
    assert clash.status_code == 400
    assert "used with a different request" in clash.json()["Message"]
    assert [i["reference"] for i in sandbox.invoices()] == ["A"]


def test_after_the_ttl_the_key_is_new_and_the_resend_duplicates(
    api: Api, sandbox: XeroSandbox, clock: SimulatedClock
) -> None:
    sandbox.set_idempotency_ttl(60)
    body = {"Invoices": [invoice()]}
    api.put(INVOICES, body, key="k-3")
    clock.advance(timedelta(seconds=59))
    api.put(INVOICES, body, key="k-3")
    clock.advance(timedelta(seconds=2))
    api.put(INVOICES, body, key="k-3")
    assert [i["number"] for i in sandbox.invoices()] == ["INV-0001", "INV-0002"]


# ---- invoices ---------------------------------------------------------------------------------


def test_summarize_errors_false_answers_200_with_each_element_marked(
    api: Api, sandbox: XeroSandbox
) -> None:
    body = {"Invoices": [invoice("A"), invoice("B", amount="-5"), invoice("C")]}
    response = api.put(INVOICES, body, summarizeErrors="false")
    elements = response.json()["Invoices"]
    assert response.status_code == 200
    assert [e["StatusAttributeString"] for e in elements] == ["OK", "ERROR", "OK"]
    assert elements[1]["InvoiceID"] == "00000000-0000-0000-0000-000000000000"
    assert elements[1]["ValidationErrors"] == [{"Message": "The Invoice total cannot be negative."}]
    assert [i["reference"] for i in sandbox.invoices()] == ["A", "C"]


def test_summarize_errors_true_fails_the_whole_request(api: Api, sandbox: XeroSandbox) -> None:
    body = {"Invoices": [invoice("A"), invoice("B", amount="-5")]}
    response = api.put(INVOICES, body, summarizeErrors="true")
    error = response.json()
    assert (response.status_code, error["ErrorNumber"], error["Type"]) == (
        400,
        10,
        "ValidationException",
    )
    assert [len(e["ValidationErrors"]) for e in error["Elements"]] == [0, 1]
    assert sandbox.invoices() == []


def test_sales_invoices_are_numbered_and_numbers_are_unique(api: Api) -> None:
    created = api.put(INVOICES, {"Invoices": [invoice("A"), invoice("B")]}).json()["Invoices"]
    assert [e["InvoiceNumber"] for e in created] == ["INV-0001", "INV-0002"]
    clash = api.put(INVOICES, {"Invoices": [invoice("C", InvoiceNumber="INV-0002")]}).json()
    assert clash["Invoices"][0]["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]


def test_a_bill_keeps_its_number_and_drops_the_sales_only_reference(api: Api) -> None:
    bill = invoice("IGNORED", Type="ACCPAY", InvoiceNumber="AMZ-9")
    [created] = api.put(INVOICES, {"Invoices": [bill, bill]}).json()["Invoices"][:1]
    assert (created["InvoiceNumber"], created["Reference"]) == ("AMZ-9", "")


def test_amounts_round_trip_digit_for_digit(api: Api) -> None:
    api.put(INVOICES, {"Invoices": [invoice(amount="1234567.89")]})
    raw = api.get(INVOICES, page="1").content
    [found] = json.loads(raw, parse_float=Decimal)["Invoices"]
    assert found["Total"] == Decimal("1234567.89")
    assert b'"Total":1234567.89' in raw


def test_an_unknown_account_code_is_refused(api: Api) -> None:
    bad = invoice()
    bad["LineItems"][0]["AccountCode"] = "999"
    [element] = api.put(INVOICES, {"Invoices": [bad]}).json()["Invoices"]
    assert element["ValidationErrors"] == [
        {"Message": "Account code '999' is not a valid code for this document."}
    ]


def test_pages_hold_100_invoices_with_a_pagination_block(api: Api) -> None:
    for batch in range(3):
        refs = [invoice(f"R-{batch}-{n}") for n in range(50)]
        api.put(INVOICES, {"Invoices": refs})
    page = api.get(INVOICES, page="2").json()
    assert len(page["Invoices"]) == 50
    assert page["pagination"] == {"page": 2, "pageSize": 100, "pageCount": 2, "itemCount": 150}
    assert "pagination" not in api.get(INVOICES).json()


def test_where_invoice_numbers_and_modified_since_filter(api: Api, clock: SimulatedClock) -> None:
    api.put(INVOICES, {"Invoices": [invoice('Q "1"'), invoice("Q 2")]})
    clock.advance(timedelta(minutes=10))
    api.put(INVOICES, {"Invoices": [invoice("Q 3")]})

    def refs(response: httpx2.Response) -> list[str]:
        return [i["Reference"] for i in response.json()["Invoices"]]

    assert refs(api.get(INVOICES, where='Reference=="Q \\"1\\""')) == ['Q "1"']
    assert refs(api.get(INVOICES, InvoiceNumbers="INV-0002,INV-0003")) == ["Q 2", "Q 3"]
    assert refs(api.get(INVOICES, where='Type=="ACCREC" AND Reference=="Q 2"')) == ["Q 2"]
    since = api.client.get(
        INVOICES,
        headers=headers(api.token, api.tenant, **{"If-Modified-Since": "2026-05-14T09:05:00"}),
    )
    assert refs(since) == ["Q 3"]


def test_an_unparsable_where_is_a_query_parse_exception(api: Api) -> None:
    for where in ('Reference="x"', 'Nope=="x"', 'Reference=="x" OR'):
        response = api.get(INVOICES, where=where)
        assert (response.status_code, response.json()["Type"]) == (400, "QueryParseException")


def test_a_body_over_three_and_a_half_megabytes_is_refused(api: Api) -> None:
    body = {"Invoices": [invoice("x" * (4 * 1024 * 1024))]}
    assert api.put(INVOICES, body).status_code == 413


def test_broken_json_is_post_data_invalid(api: Api) -> None:
    response = api.client.put(
        INVOICES,
        content=b'{"Invoices": [',
        headers=headers(api.token, api.tenant, **{"content-type": "application/json"}),
    )
    assert (response.status_code, response.json()["Type"]) == (400, "PostDataInvalidException")


# ---- payments and voids -----------------------------------------------------------------------


def test_payments_settle_invoices_and_block_voids_until_deleted(
    api: Api, sandbox: XeroSandbox
) -> None:
    [created] = api.put(INVOICES, {"Invoices": [invoice(amount="60")]}).json()["Invoices"]
    invoice_id = created["InvoiceID"]
    pay = {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": "630"}, "Amount": 60}
    [payment] = api.put("/api.xro/2.0/Payments", {"Payments": [pay]}).json()["Payments"]
    assert sandbox.invoices()[0]["status"] == "PAID"

    void = {"Invoices": [{"InvoiceID": invoice_id, "Status": "VOIDED"}]}
    refused = api.post(f"{INVOICES}/{invoice_id}", void)
    assert refused.status_code == 400
    assert "payment" in refused.json()["Elements"][0]["ValidationErrors"][0]["Message"]

    deleted = api.post(f"/api.xro/2.0/Payments/{payment['PaymentID']}", {"Status": "DELETED"})
    assert deleted.json()["Payments"][0]["Status"] == "DELETED"
    assert sandbox.invoices()[0]["amount_due"] == "60.00"
    assert api.post(f"{INVOICES}/{invoice_id}", void).json()["Invoices"][0]["Status"] == "VOIDED"


def test_payments_go_only_to_bank_or_payment_enabled_accounts(api: Api) -> None:
    [created] = api.put(INVOICES, {"Invoices": [invoice()]}).json()["Invoices"]
    pay = {"Invoice": {"InvoiceID": created["InvoiceID"]}, "Account": {"Code": "200"}, "Amount": 1}
    [refused] = api.put("/api.xro/2.0/Payments", {"Payments": [pay]}).json()["Payments"]
    assert refused["ValidationErrors"] == [
        {"Message": "Account type is invalid for making a payment to/from"}
    ]


def test_the_chart_has_a_payment_enabled_clearing_account(api: Api) -> None:
    accounts = api.get("/api.xro/2.0/Accounts", where='Code=="630"').json()["Accounts"]
    assert [(a["Name"], a["EnablePaymentsToAccount"]) for a in accounts] == [
        ("Marketplace Clearing", True)
    ]


def test_contacts_are_listed_and_created_with_unique_names(api: Api) -> None:
    names = [c["Name"] for c in api.get("/api.xro/2.0/Contacts").json()["Contacts"]]
    assert "Amazon" in names
    created = api.put("/api.xro/2.0/Contacts", {"Contacts": [{"Name": "eBay"}, {"Name": "amazon"}]})
    assert [c["StatusAttributeString"] for c in created.json()["Contacts"]] == ["OK", "ERROR"]


# ---- controls ---------------------------------------------------------------------------------


def test_controls_run_by_name(sandbox: XeroSandbox, clock: SimulatedClock) -> None:
    assert sandbox.control("issue_refresh_token", {"subject": "a"})
    sandbox.control("advance", {"seconds": 90})
    assert clock.now() == START + timedelta(seconds=90)
    sandbox.control("set_time", {"iso": "2026-06-01T00:00:00+00:00"})
    assert clock.now() == datetime(2026, 6, 1, tzinfo=UTC)
    sandbox.control("add_fault", {"kind": "500", "times": 2})
    assert sandbox.control("stats", {})["calls"] == 0
    assert sandbox.control("invoices", {}) == []
    with pytest.raises(ValueError, match="unknown control 'explode'"):
        sandbox.control("explode", {})


def test_time_controls_need_a_simulated_clock() -> None:
    with pytest.raises(TypeError, match="system clock"):
        XeroSandbox(SystemClock()).advance(5)


def test_handles_identity_and_accounting_paths_only(sandbox: XeroSandbox) -> None:
    assert all(
        sandbox.handles(path)
        for path in ("/connect/token", "/identity/connect/authorize", "/connections", INVOICES)
    )
    assert not sandbox.handles("/finances/v0/financialEventGroups")


def test_deny_consent_control_declines_consents_until_cleared(
    client: httpx2.Client, sandbox: XeroSandbox
) -> None:
    redirect = "http://127.0.0.1:8501/"
    query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": redirect}
    url = "https://login.xero.com/identity/connect/authorize?" + urlencode(query)
    sandbox.control("deny_consent", {})
    assert callback(consent(client, url), redirect)["error"] == "access_denied"
    sandbox.control("deny_consent", {"deny": False})
    assert "code" in callback(consent(client, url), redirect)
