"""Seller Central's website consent in the Amazon sandbox: the page, the callback, the exchange."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

import httpx2
import pytest

from connectors.clock import SimulatedClock
from connectors.sandbox import transport
from connectors.sandbox.amazon import AmazonSandbox, SellerSpec
from connectors.sandbox.amazon_auth import APPLICATION_ID
from connectors.sandbox.server import SandboxServer
from tests.connectors.consent import callback, consent, consent_form, consent_page

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CONSENT = "https://sellercentral.amazon.com/apps/authorize/consent"
TOKEN = "https://api.amazon.com/auth/o2/token"
REDIRECT = "https://127.0.0.1:8501/amazon"


def sandbox(app_name: str = "Reconciliation Workbench") -> AmazonSandbox:
    start = datetime(2025, 11, 3, tzinfo=UTC)
    sellers = {"A2SELLERUS": SellerSpec(start=start), "A3SELLERCA": SellerSpec(start=start)}
    return AmazonSandbox(SimulatedClock(NOW), sellers=sellers, app_name=app_name)


@pytest.fixture
def amazon() -> AmazonSandbox:
    return sandbox()


@pytest.fixture
def http(amazon: AmazonSandbox) -> Iterator[httpx2.Client]:
    with httpx2.Client(transport=transport(amazon)) as client:
        yield client


def consent_url(**params: str) -> str:
    query = {"application_id": APPLICATION_ID, "state": "st-1", "redirect_uri": REDIRECT}
    return CONSENT + "?" + urlencode({**query, **params})


def exchange(
    http: httpx2.Client, amazon: AmazonSandbox, code: str, redirect: str, url: str = TOKEN
) -> httpx2.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "client_id": amazon.client_id,
        "client_secret": amazon.client_secret,
    }
    return http.post(url, data=form)


def test_the_consent_page_names_the_app_its_roles_and_offers_every_seller(
    http: httpx2.Client,
) -> None:
    page = consent_page(http, consent_url())
    assert "Reconciliation Workbench wants access to your Amazon Seller Central (sandbox)" in (
        page.text
    )
    assert f"Application ID: {APPLICATION_ID}" in page.text
    assert "Finance and Accounting" in page.text
    assert page.accounts == ["A2SELLERUS", "A3SELLERCA"]
    assert page.checked == "A2SELLERUS"
    assert page.action == "/apps/authorize/consent"


def test_allow_calls_back_with_spapi_oauth_code_and_the_chosen_selling_partner(
    http: httpx2.Client, amazon: AmazonSandbox
) -> None:
    params = callback(consent(http, consent_url(version="beta"), account="A3SELLERCA"), REDIRECT)
    assert set(params) == {"spapi_oauth_code", "state", "selling_partner_id"}
    assert (params["state"], params["selling_partner_id"]) == ("st-1", "A3SELLERCA")
    response = exchange(http, amazon, params["spapi_oauth_code"], REDIRECT)
    assert response.status_code == 200
    body = response.json()
    assert amazon.grants.access_subject(body["access_token"]) == "A3SELLERCA"
    assert body["refresh_token"].startswith("Atzr|")


def test_the_lwa_exchange_needs_the_consents_redirect_uri(
    http: httpx2.Client, amazon: AmazonSandbox
) -> None:
    params = callback(consent(http, consent_url()), REDIRECT)
    response = exchange(http, amazon, params["spapi_oauth_code"], "https://127.0.0.1:8501/other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "redirect_uri" in response.json()["error_description"]


def test_deny_calls_back_with_access_denied_and_no_code(http: httpx2.Client) -> None:
    params = callback(consent(http, consent_url(), decision="deny"), REDIRECT)
    assert params == {
        "error": "access_denied",
        "error_description": "the resource owner declined consent",
        "state": "st-1",
    }


@pytest.mark.parametrize(
    "params",
    [
        {"application_id": "amzn1.sp.solution.someone-else"},
        {"application_id": "amzn1.application-oa2-client.sandbox"},  # the LWA client id
        {"redirect_uri": ""},
    ],
)
def test_an_unknown_application_or_a_missing_redirect_gets_an_error_page(
    http: httpx2.Client, params: dict[str, str]
) -> None:
    response = http.get(consent_url(**params))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "cannot be authorised" in consent_form(response.text).text


def test_the_page_escapes_an_evil_app_name_and_state() -> None:
    amazon = sandbox(app_name="<script>alert('app')</script>")
    evil = "\"><img src=x onerror=alert('state')>"
    with httpx2.Client(transport=transport(amazon)) as http:
        page = http.get(consent_url(state=evil))
        params = callback(consent(http, consent_url(state=evil)), REDIRECT)
    assert "<script>" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;" in page.text
    assert consent_form(page.text).fields["state"] == evil
    assert params["state"] == evil


def test_deny_consent_declines_the_next_consents_until_cleared(
    http: httpx2.Client, amazon: AmazonSandbox
) -> None:
    amazon.control("deny_consent", {})
    assert callback(consent(http, consent_url()), REDIRECT)["error"] == "access_denied"
    amazon.control("deny_consent", {"deny": False})
    assert "spapi_oauth_code" in callback(consent(http, consent_url()), REDIRECT)


def test_the_consent_page_works_over_loopback_http(amazon: AmazonSandbox) -> None:
    server = SandboxServer([amazon]).start()
    try:
        url = f"{server.url}/apps/authorize/consent?" + urlsplit(consent_url()).query
        with httpx2.Client(trust_env=False) as http:
            params = callback(consent(http, url, account="A3SELLERCA"), REDIRECT)
            code = params["spapi_oauth_code"]
            token = exchange(http, amazon, code, REDIRECT, f"{server.url}/auth/o2/token")
    finally:
        server.stop()
    assert params["selling_partner_id"] == "A3SELLERCA"
    assert amazon.grants.access_subject(token.json()["access_token"]) == "A3SELLERCA"
