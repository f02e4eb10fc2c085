"""The Xero connector against the Xero sandbox: lookups, exactly-once creates, limits, errors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx2
import pytest

from connectors import registry, xero
from connectors.base import RetryPolicy
from connectors.clock import SimulatedClock, SystemClock
from connectors.errors import (
    AuthRevoked,
    ConfigError,
    ConnectorError,
    RateLimited,
    UnexpectedPayload,
)
from connectors.oauth import RefreshingTokenSource, store_initial_token
from connectors.sandbox import transport
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.xero import CLIENT_ID, CLIENT_SECRET, XeroSandbox
from connectors.secrets import MemoryKeyring, SecretStore
from connectors.xero import InvoiceDraft, LineDraft, PaymentDraft, Tenant, XeroLedger
from connectors.xero_http import batch_key, where_equals
from connectors.xero_wire import parse_xero_datetime, wire_number
from reconcile.models import Connection, ErrorClass

START = datetime(2026, 5, 14, 9, 0, tzinfo=UTC)


@dataclass
class Rig:
    """A ledger client wired to a sandbox through a recording transport."""

    sandbox: XeroSandbox
    clock: SimulatedClock
    ledger: XeroLedger
    requests: list[httpx2.Request] = field(default_factory=list)
    retries: list[tuple[ConnectorError, float]] = field(default_factory=list)

    @property
    def tenant_id(self) -> str:
        return self.sandbox.tenant_ids[0]

    def sent(self, method: str, path_end: str) -> list[httpx2.Request]:
        return [r for r in self.requests if r.method == method and r.url.path.endswith(path_end)]


def build(tmp_path: Path, *, tenant: bool = True) -> Rig:
    clock = SimulatedClock(START)
    sandbox = XeroSandbox(clock)
    inner = transport(sandbox)
    requests: list[httpx2.Request] = []
    retries: list[tuple[ConnectorError, float]] = []

    def record(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        return inner.handle_request(request)

    wire = httpx2.MockTransport(record)
    secrets = SecretStore(MemoryKeyring())
    secrets.set("xero-1", "client_secret", CLIENT_SECRET)
    store_initial_token(secrets, "xero-1", sandbox.issue_refresh_token())
    tokens = RefreshingTokenSource(
        "xero",
        "xero-1",
        secrets,
        token_url=xero.TOKEN_URL,
        client_id=CLIENT_ID,
        auth_method="client_secret_basic",
        transport=wire,
        clock=clock,
        lock_dir=tmp_path / "locks",
    )
    config = {"tenant_id": sandbox.tenant_ids[0]} if tenant else {}
    connection = Connection(
        id="xero-1",
        workspace_id="w1",
        provider="xero",
        name="Books",
        kind="ledger",
        config=config,
        created_at=START,
    )
    ledger = xero.connect(
        connection,
        token=tokens,
        clock=clock,
        transport=wire,
        retry=RetryPolicy(attempts=4),
        on_retry=lambda error, delay: retries.append((error, delay)),
    )
    return Rig(sandbox, clock, ledger, requests, retries)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    built = build(tmp_path)
    yield built
    built.ledger.close()


def settlement(reference: str, sales: str = "1000.10", fees: str = "-153.21") -> InvoiceDraft:
    return InvoiceDraft(
        type="ACCREC",
        contact_name="Amazon",
        date=date(2026, 5, 14),
        currency="GBP",
        reference=reference,
        line_items=(
            LineDraft(description="Amazon sales", unit_amount=Decimal(sales), account_code="200"),
            LineDraft(description="Amazon fees", unit_amount=Decimal(fees), account_code="404"),
        ),
    )


def post_once(ledger: XeroLedger, draft: InvoiceDraft, key: str) -> str:
    """Find-before-create: the existing invoice's id, else the new one's."""
    assert draft.reference is not None
    existing = ledger.invoices_by_reference(draft.reference)
    if existing:
        return existing[0].invoice_id
    [result] = ledger.create_invoices([draft], idempotency_key=key)
    assert result.ok and result.object_id
    return result.object_id


# ---- tenants and configuration ----------------------------------------------------------------


def test_tenants_lists_the_connected_organisation(tmp_path: Path) -> None:
    rig = build(tmp_path, tenant=False)
    [tenant] = rig.ledger.tenants()
    assert tenant.tenant_id == rig.tenant_id
    assert tenant.tenant_name == "Demo Company (UK)"
    assert tenant.created_at == START
    assert rig.sent("GET", "/connections")[0].headers["authorization"].startswith("Bearer ")


def test_choose_tenant_takes_the_only_one_or_the_one_named() -> None:
    first = Tenant.model_validate({"id": "c1", "tenantId": "T-1", "tenantName": "Shop UK"})
    second = Tenant.model_validate({"id": "c2", "tenantId": "T-2", "tenantName": "Shop US"})
    assert xero.choose_tenant([first]) is first
    assert xero.choose_tenant([first, second], "shop us") is second
    assert xero.choose_tenant([first, second], "T-1") is first
    with pytest.raises(ConfigError, match="'Shop UK', 'Shop US'"):
        xero.choose_tenant([first, second])
    with pytest.raises(ConfigError, match="no Xero organisation"):
        xero.choose_tenant([])
    with pytest.raises(ConfigError, match="'Shop EU'"):
        xero.choose_tenant([first], "Shop EU")


def xero_connection(**config: str) -> Connection:
    return Connection(
        id="xero-1",
        workspace_id="w1",
        provider="xero",
        name="Books",
        kind="ledger",
        config={"client_id": CLIENT_ID, **config},
        created_at=START,
    )


def test_onboarding_binds_a_new_connection_to_its_organisation(tmp_path: Path) -> None:
    rig = build(tmp_path, tenant=False)
    new = xero_connection(tenant="demo company (uk)")
    bound = xero.onboard(rig.ledger, new)
    assert bound.config == {
        "client_id": CLIENT_ID,
        "tenant": "demo company (uk)",
        "tenant_id": rig.tenant_id,
        "tenant_name": "Demo Company (UK)",
    }
    assert "tenant_id" not in new.config
    assert xero.onboard(rig.ledger, xero_connection()).config["tenant_id"] == rig.tenant_id
    with pytest.raises(ConfigError, match="'Shop EU'"):
        xero.onboard(rig.ledger, xero_connection(tenant="Shop EU"))


def test_a_reconnect_must_reach_the_same_organisation(rig: Rig) -> None:
    same = xero_connection(tenant_id=rig.tenant_id.upper(), tenant_name="Demo Company (UK)")
    assert xero.onboard(rig.ledger, same) == same
    elsewhere = xero_connection(tenant_id="0000-other", tenant_name="Shop EU")
    with pytest.raises(AuthRevoked) as caught:
        xero.onboard(rig.ledger, elsewhere)
    assert str(caught.value).endswith(
        "this grant does not include the organisation Shop EU; "
        "reconnect with the same Xero organisation"
    )
    assert caught.value.error_class is ErrorClass.AUTH
    rig.sandbox.disconnect_tenant(rig.tenant_id)
    with pytest.raises(AuthRevoked, match="Demo Company"):
        xero.onboard(rig.ledger, same)


def test_the_registry_runs_xero_onboarding_and_knows_each_providers_latency() -> None:
    assert registry.provider("xero").onboard is xero.onboard
    assert registry.provider("xero").latency == timedelta(0)
    assert registry.provider("amazon").onboard is None
    assert registry.provider("amazon").latency == timedelta(minutes=2)


def test_an_accounting_call_without_a_tenant_asks_to_pick_one(tmp_path: Path) -> None:
    rig = build(tmp_path, tenant=False)
    with pytest.raises(ConfigError, match="pick a tenant") as caught:
        rig.ledger.invoices_by_reference("AMZ-1")
    assert caught.value.error_class is ErrorClass.CONFIG
    assert rig.requests == []


def test_every_accounting_call_carries_the_tenant_header(rig: Rig) -> None:
    rig.ledger.accounts()
    rig.ledger.invoices_by_number(["INV-0001"])
    accounting = [r for r in rig.requests if "/api.xro/2.0/" in r.url.path]
    assert accounting
    assert {r.headers["xero-tenant-id"] for r in accounting} == {rig.tenant_id}


# ---- creating and reading back ----------------------------------------------------------------


def test_created_invoice_reads_back_by_reference_and_number_with_exact_totals(rig: Rig) -> None:
    [result] = rig.ledger.create_invoices([settlement("AMZ-100")], idempotency_key="stl-100")
    assert result.ok and result.number == "INV-0001"
    assert result.total == Decimal("846.89")

    [by_reference] = rig.ledger.invoices_by_reference("AMZ-100")
    [by_number] = rig.ledger.invoices_by_number(["INV-0001"])
    assert by_reference.invoice_id == by_number.invoice_id == result.object_id
    assert by_reference.total == Decimal("846.89")
    assert by_reference.amount_due == Decimal("846.89")
    assert by_reference.date == date(2026, 5, 14)
    [truth] = rig.sandbox.invoices()
    assert truth["total"] == "846.89"
    assert [line["unit_amount"] for line in truth["line_items"]] == ["1000.1", "-153.21"]


def test_a_reference_with_quotes_is_found_exactly(rig: Rig) -> None:
    reference = 'AMZ "US" \\ 7'
    rig.ledger.create_invoices([settlement(reference), settlement("AMZ 7")], idempotency_key="q")
    [found] = rig.ledger.invoices_by_reference(reference)
    assert found.reference == reference


def test_a_batch_of_120_goes_as_50_50_20_under_derived_keys(rig: Rig) -> None:
    drafts = [settlement(f"AMZ-{n}") for n in range(120)]
    results = rig.ledger.create_invoices(drafts, idempotency_key="batch-7")

    puts = rig.sent("PUT", "/Invoices")
    assert [len(sent_json(r)["Invoices"]) for r in puts] == [50, 50, 20]
    assert [r.headers["idempotency-key"] for r in puts] == ["batch-7", "batch-7:2", "batch-7:3"]
    assert {r.url.params["summarizeErrors"] for r in puts} == {"false"}
    assert [r.index for r in results] == list(range(120))
    assert all(r.ok for r in results)
    assert len(rig.sandbox.invoices()) == 120


def test_a_replay_within_the_ttl_creates_nothing(rig: Rig) -> None:
    drafts = [settlement("AMZ-1"), settlement("AMZ-2")]
    first = rig.ledger.create_invoices(drafts, idempotency_key="stl-1-2")
    rig.clock.advance(timedelta(minutes=5))
    again = rig.ledger.create_invoices(drafts, idempotency_key="stl-1-2")

    assert [r.object_id for r in again] == [r.object_id for r in first]
    assert len(rig.sandbox.invoices()) == 2
    assert rig.sandbox.stats()["idempotent_replays"] == 1


def test_a_lost_response_is_retried_under_the_same_key_without_a_duplicate(rig: Rig) -> None:
    rig.sandbox.lose_responses(1)
    [result] = rig.ledger.create_invoices([settlement("AMZ-9")], idempotency_key="stl-9")

    assert result.ok
    assert len(rig.sandbox.invoices()) == 1
    assert rig.sandbox.stats()["idempotent_replays"] == 1
    assert len(rig.retries) == 1


def test_after_the_ttl_a_blind_resend_duplicates_but_find_before_create_does_not(
    rig: Rig,
) -> None:
    draft = settlement("AMZ-42")
    first = post_once(rig.ledger, draft, "stl-42")
    rig.clock.advance(timedelta(minutes=7))

    rig.ledger.create_invoices([draft], idempotency_key="stl-42")
    assert [i["reference"] for i in rig.sandbox.invoices()] == ["AMZ-42", "AMZ-42"]

    rig.clock.advance(timedelta(minutes=7))
    assert post_once(rig.ledger, draft, "stl-42") == first
    assert len(rig.sandbox.invoices()) == 2


def test_reusing_a_key_for_another_request_is_refused(rig: Rig) -> None:
    rig.ledger.create_invoices([settlement("AMZ-1")], idempotency_key="stl-x")
    with pytest.raises(ConfigError, match="different request"):
        rig.ledger.create_invoices([settlement("AMZ-2")], idempotency_key="stl-x")
    assert len(rig.sandbox.invoices()) == 1


def test_a_negative_sales_invoice_is_refused_while_the_rest_are_created(rig: Rig) -> None:
    drafts = [settlement("AMZ-1"), settlement("AMZ-2", sales="100"), settlement("AMZ-3")]
    results = rig.ledger.create_invoices(drafts, idempotency_key="mixed")

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].object_id is None
    assert results[1].problems == ["The Invoice total cannot be negative."]
    assert [i["reference"] for i in rig.sandbox.invoices()] == ["AMZ-1", "AMZ-3"]


def test_a_negative_settlement_sent_as_a_bill_is_accepted_and_found_by_number(rig: Rig) -> None:
    bill = InvoiceDraft(
        type="ACCPAY",
        contact_name="Amazon",
        date=date(2026, 5, 14),
        currency="GBP",
        invoice_number="AMZ-77",
        line_items=(
            LineDraft(description="Amazon fees", unit_amount=Decimal("153.21"), account_code="404"),
        ),
    )
    [result] = rig.ledger.create_invoices([bill], idempotency_key="bill-77")
    assert result.ok
    [entry] = rig.ledger.ledger_entries(None)
    assert (entry.object_type, entry.reference, entry.total) == (
        "ACCPAY",
        "AMZ-77",
        Decimal("153.21"),
    )


def test_a_validation_exception_becomes_per_item_problems(rig: Rig) -> None:
    rig.sandbox.add_fault("errors_body", path_prefix="/api.xro/2.0/Invoices")
    results = rig.ledger.create_invoices(
        [settlement("AMZ-1"), settlement("AMZ-2")], idempotency_key="k"
    )
    assert [r.ok for r in results] == [False, False]
    assert all("injected" in r.problems[0] for r in results)


def test_an_oversized_request_is_a_config_error(rig: Rig) -> None:
    huge = [settlement(f"AMZ-{n}-" + "x" * 80_000) for n in range(50)]
    with pytest.raises(ConfigError, match=r"3\.5 MB"):
        rig.ledger.create_invoices(huge, idempotency_key="huge")


# ---- rate limits ------------------------------------------------------------------------------


def test_the_minute_limit_is_waited_out_on_the_simulated_clock(rig: Rig) -> None:
    for _ in range(70):
        rig.ledger.accounts()

    assert rig.sandbox.stats()["rate_limited"] == 1
    [(error, delay)] = rig.retries
    assert isinstance(error, RateLimited) and "minute" in error.message
    assert delay == 59
    assert rig.clock.now() >= START + timedelta(seconds=60)


def test_a_retry_after_from_xero_is_honoured(rig: Rig) -> None:
    rig.sandbox.add_fault("429", retry_after=30)
    rig.ledger.accounts()
    assert rig.retries[0][1] == 30
    assert rig.clock.slept == pytest.approx(30)


def test_a_daily_limit_is_raised_with_its_long_retry_after_not_waited(rig: Rig) -> None:
    rig.sandbox.spend_daily_limit(rig.tenant_id)
    with pytest.raises(RateLimited) as caught:
        rig.ledger.accounts()
    assert caught.value.retry_after == 86_400
    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert "daily" in str(caught.value)
    assert rig.clock.slept == 0


def test_the_client_keeps_to_five_calls_in_flight_per_tenant(rig: Rig) -> None:
    rig.ledger.accounts()  # warm the token so the threads only meet the accounting API
    rig.sandbox.hold()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            rig.ledger.accounts()
        except BaseException as error:  # collected and asserted on below
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while rig.sandbox.limits.max_in_flight < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    rig.sandbox.release()
    for thread in threads:
        thread.join(timeout=10)

    assert errors == []
    assert rig.sandbox.limits.max_in_flight == 5
    assert rig.sandbox.stats()["rate_limited"] == 0


# ---- auth ---------------------------------------------------------------------------------------


def test_a_disconnected_tenant_raises_auth_revoked(rig: Rig) -> None:
    rig.ledger.accounts()
    rig.sandbox.disconnect_tenant(rig.tenant_id)
    with pytest.raises(AuthRevoked, match="no longer connected; reconnect Xero") as caught:
        rig.ledger.invoices_by_reference("AMZ-1")
    assert caught.value.error_class is ErrorClass.AUTH
    assert caught.value.status == 403


def test_an_expired_access_token_is_refreshed_once_and_the_call_goes_through(rig: Rig) -> None:
    rig.ledger.accounts()
    rig.sandbox.expire_access_tokens()
    rig.ledger.accounts()
    assert rig.sandbox.stats()["refresh_grants"] == 2
    paths = [r.url.path for r in rig.requests]
    assert paths.count("/connect/token") == 2


def test_a_revoked_grant_is_an_auth_error(rig: Rig) -> None:
    rig.ledger.accounts()
    rig.sandbox.revoke()
    with pytest.raises(ConnectorError) as caught:
        rig.ledger.accounts()
    assert caught.value.error_class is ErrorClass.AUTH


# ---- the sync feed ----------------------------------------------------------------------------


def test_ledger_entries_page_by_100_and_honour_if_modified_since(rig: Rig) -> None:
    rig.ledger.create_invoices([settlement(f"AMZ-{n}") for n in range(230)], idempotency_key="a")
    rig.clock.advance(timedelta(hours=1))
    cutoff = rig.clock.now()
    rig.ledger.create_invoices([settlement(f"NEW-{n}") for n in range(3)], idempotency_key="b")

    everything = list(rig.ledger.ledger_entries(None))
    pages = [r.url.params["page"] for r in rig.sent("GET", "/Invoices")]
    recent = list(rig.ledger.ledger_entries(cutoff))

    assert len(everything) == 233 and pages == ["1", "2", "3"]
    assert {e.connection_id for e in everything} == {"xero-1"}
    assert [e.reference for e in recent] == ["NEW-0", "NEW-1", "NEW-2"]
    incremental = rig.sent("GET", "/Invoices")[-1]
    assert incremental.headers["if-modified-since"] == "2026-05-14T10:00:00Z"
    assert incremental.url.params["createdByMyApp"] == "true"


def test_ledger_entries_leave_out_invoices_made_outside_the_app(rig: Rig) -> None:
    books = rig.sandbox.books[rig.tenant_id]
    manual, problems = books.check_invoice(
        {"Type": "ACCREC", "Contact": {"Name": "Walk-in"}, "Reference": "CASH"}, set()
    )
    assert manual is not None and problems == []
    manual.by_app = False
    books.add_invoice(manual)
    rig.ledger.create_invoices([settlement("AMZ-1")], idempotency_key="k")

    assert [e.reference for e in rig.ledger.ledger_entries(None)] == ["AMZ-1"]
    assert len(rig.ledger.invoices_by_reference("CASH")) == 1


def test_a_server_that_ignores_the_page_number_is_stopped(rig: Rig) -> None:
    rig.ledger.create_invoices([settlement(f"AMZ-{n}") for n in range(100)], idempotency_key="a")
    rig.sandbox.add_fault("repeat_token", path_prefix="/api.xro/2.0/Invoices", times=5)
    with pytest.raises(UnexpectedPayload, match="ignored the page number"):
        list(rig.ledger.ledger_entries(None))


@pytest.mark.parametrize("kind", ["html", "malformed"])
def test_a_garbled_answer_is_unexpected_payload(rig: Rig, kind: str) -> None:
    rig.sandbox.add_fault(kind)
    with pytest.raises(UnexpectedPayload) as caught:
        rig.ledger.accounts()
    assert caught.value.error_class is ErrorClass.DATA
    assert caught.value.raw


# ---- payments and voids -----------------------------------------------------------------------


def test_a_paid_invoice_is_voided_only_after_its_payment_is_deleted(rig: Rig) -> None:
    [created] = rig.ledger.create_invoices([settlement("AMZ-5")], idempotency_key="inv-5")
    assert created.object_id is not None
    payment = PaymentDraft(
        invoice_id=created.object_id,
        account_code="630",
        date=date(2026, 5, 15),
        amount=Decimal("846.89"),
        reference="AMZ-5 payout",
    )
    [paid] = rig.ledger.create_payments([payment], idempotency_key="pay-5")
    assert paid.ok and paid.total == Decimal("846.89")
    invoice = rig.ledger.invoice(created.object_id)
    assert invoice.status == "PAID" and invoice.payment_ids == [paid.object_id]

    with pytest.raises(ConfigError, match="payment"):
        rig.ledger.void_invoice(created.object_id, idempotency_key="void-5")
    for payment_id in invoice.payment_ids:
        assert rig.ledger.delete_payment(payment_id).status == "DELETED"
    voided = rig.ledger.void_invoice(created.object_id, idempotency_key="void-5b")

    assert voided.status == "VOIDED"
    [entry] = rig.ledger.ledger_entries(None)
    assert entry.status == "VOIDED"


def test_a_payment_above_the_amount_due_is_a_per_item_problem(rig: Rig) -> None:
    [created] = rig.ledger.create_invoices([settlement("AMZ-6")], idempotency_key="inv-6")
    assert created.object_id is not None
    too_much = PaymentDraft(
        invoice_id=created.object_id,
        account_code="630",
        date=date(2026, 5, 15),
        amount=Decimal("900"),
    )
    [result] = rig.ledger.create_payments([too_much], idempotency_key="pay-6")
    assert not result.ok
    assert result.problems == ["Payment amount exceeds the amount outstanding on this document"]


# ---- over loopback HTTP ------------------------------------------------------------------------


def test_the_connector_works_against_the_sandbox_served_on_loopback(tmp_path: Path) -> None:
    clock = SystemClock()
    sandbox = XeroSandbox(clock)
    server = SandboxServer([sandbox]).start()
    try:
        granted = httpx2.post(f"{server.url}/_sandbox/xero/issue_refresh_token", json={})
        secrets = SecretStore(MemoryKeyring())
        secrets.set("xero-1", "client_secret", CLIENT_SECRET)
        store_initial_token(secrets, "xero-1", granted.json()["result"]["refresh_token"])
        tokens = RefreshingTokenSource(
            "xero",
            "xero-1",
            secrets,
            token_url=f"{server.url}/connect/token",
            client_id=CLIENT_ID,
            auth_method="client_secret_basic",
            transport=None,
            clock=clock,
            lock_dir=tmp_path / "locks",
        )
        config = {"api_base_url": server.url, "tenant_id": sandbox.tenant_ids[0]}
        connection = Connection(
            id="xero-1",
            workspace_id="w1",
            provider="xero",
            name="Books",
            kind="ledger",
            config=config,
            created_at=clock.now(),
        )
        with xero.connect(connection, token=tokens, clock=clock) as ledger:
            assert [t.tenant_id for t in ledger.tenants()] == sandbox.tenant_ids
            [result] = ledger.create_invoices([settlement("AMZ-L")], idempotency_key="loop")
            [found] = ledger.invoices_by_reference("AMZ-L")
        assert result.ok and found.total == Decimal("846.89")
    finally:
        server.stop()


# ---- pure helpers -----------------------------------------------------------------------------


def test_ms_json_dates_parse_to_utc() -> None:
    assert parse_xero_datetime("/Date(1552326816230+0000)/") == datetime(
        2019, 3, 11, 17, 53, 36, 230000, tzinfo=UTC
    )
    assert parse_xero_datetime("/Date(1552326816230)/") == parse_xero_datetime(
        "/Date(1552326816230+1300)/"
    )
    assert parse_xero_datetime("2019-12-07T18:46:19.5165400") == datetime(
        2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC
    )


def test_derived_idempotency_keys_stay_within_128_characters_and_distinct() -> None:
    long_a, long_b = "a" * 127 + "1", "a" * 127 + "2"
    keys = {batch_key(k, n) for k in (long_a, long_b) for n in range(3)}
    assert len(keys) == 6
    assert all(len(k) <= 128 for k in keys)
    assert batch_key(long_a, 0) == long_a


def test_an_amount_that_a_double_cannot_carry_is_refused() -> None:
    assert wire_number(Decimal("1000.10")) == 1000.1
    assert wire_number(Decimal("-5")) == -5
    with pytest.raises(ValueError, match="exactly"):
        wire_number(Decimal("12345678901234.5678"))


def test_where_clause_escapes_quotes_and_backslashes() -> None:
    assert where_equals("Reference", 'a"b\\c') == 'Reference=="a\\"b\\\\c"'


def sent_json(request: httpx2.Request) -> dict[str, list[object]]:
    body: dict[str, list[object]] = json.loads(request.content)
    return body
