"""Interactive consent through `connectors.authorize`, against the sandboxes' consent pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from connectors import authorize, xero
from connectors.clock import SimulatedClock
from connectors.errors import ConfigError
from connectors.oauth import TokenSet
from connectors.oauth_flow import AuthorizationFailed, PendingAuthorization
from connectors.sandbox import transport
from connectors.sandbox.amazon import AmazonSandbox, SellerSpec
from connectors.sandbox.xero import XeroSandbox
from reconcile.models import ErrorClass
from tests.connectors.consent import callback, consent

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
REDIRECT = "http://127.0.0.1:8501/"
GROUPS = "https://sellingpartnerapi-na.amazon.com/finances/v0/financialEventGroups"


@dataclasses.dataclass
class Sandboxes:
    clock: SimulatedClock
    amazon: AmazonSandbox
    xero: XeroSandbox
    transport: httpx2.MockTransport
    http: httpx2.Client

    def config(self, provider: str, **extra: Any) -> dict[str, Any]:
        if provider == "amazon":
            ids = {"client_id": self.amazon.client_id, "application_id": APP_ID}
            return {**ids, "marketplaces": ["US"], **extra}
        return {"client_id": self.xero.client_id, **extra}

    def complete(self, pending: PendingAuthorization, params: Mapping[str, str] | str) -> TokenSet:
        sandbox = self.amazon if pending.provider == "amazon" else self.xero
        return authorize.complete(
            pending,
            params,
            provider_name=pending.provider,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            transport=self.transport,
            clock=self.clock,
        )


APP_ID = "amzn1.sp.solution.0b8c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"


@pytest.fixture
def boxes() -> Iterator[Sandboxes]:
    clock = SimulatedClock(NOW)
    start = datetime(2025, 11, 3, tzinfo=UTC)
    sellers = {"us-seller": SellerSpec(start=start), "second-seller": SellerSpec(start=start)}
    amazon = AmazonSandbox(clock, sellers=sellers, application_id=APP_ID)
    ledger = XeroSandbox(clock)
    routes = transport(amazon, ledger)
    with httpx2.Client(transport=routes) as http:
        yield Sandboxes(clock, amazon, ledger, routes, http)


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# ---- the consent URL ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "host"),
    [
        ({"region": "eu"}, "sellercentral-europe.amazon.com"),
        ({"region": "FE"}, "sellercentral.amazon.co.jp"),
        ({"marketplaces": ["DE"]}, "sellercentral-europe.amazon.com"),
        ({"marketplaces": ["A1VC38T7YXB528"]}, "sellercentral.amazon.co.jp"),
        ({}, "sellercentral.amazon.com"),
    ],
)
def test_amazon_consent_goes_to_the_regions_seller_central_with_the_application_id(
    boxes: Sandboxes, settings: dict[str, Any], host: str
) -> None:
    pending = authorize.begin(boxes.config("amazon", **settings), "amazon", REDIRECT)
    parts = urlsplit(pending.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", host, "/apps/authorize/consent")
    assert query(pending.url) == {
        "application_id": [APP_ID],
        "redirect_uri": [REDIRECT],
        "state": [pending.state],
    }
    assert pending.code_verifier is None
    assert pending.code_param == "spapi_oauth_code"


def test_a_draft_amazon_app_asks_for_the_beta_version_and_an_override_url_wins(
    boxes: Sandboxes,
) -> None:
    local = "http://127.0.0.1:9000/apps/authorize/consent"
    config = boxes.config("amazon", draft_app=True, authorize_url=local)
    pending = authorize.begin(config, "amazon", REDIRECT)
    assert pending.url.startswith(local + "?")
    assert query(pending.url)["version"] == ["beta"]


def test_xero_consent_is_oauth_with_pkce_and_xeros_scopes(boxes: Sandboxes) -> None:
    pending = authorize.begin(boxes.config("xero"), "xero", REDIRECT)
    found = query(pending.url)
    assert pending.url.startswith(xero.AUTHORIZE_URL + "?")
    assert found["response_type"] == ["code"]
    assert found["client_id"] == [boxes.xero.client_id]
    assert found["scope"] == [" ".join(xero.SCOPES)]
    assert found["code_challenge_method"] == ["S256"]
    assert pending.code_verifier is not None
    assert pending.code_verifier not in repr(pending)
    assert pending.code_verifier not in pending.url


@pytest.mark.parametrize(
    ("provider", "config", "message"),
    [
        ("amazon", {"client_id": "x", "marketplaces": ["US"]}, "needs its application_id"),
        (
            "amazon",
            {"application_id": "amzn1.application-oa2-client.abc", "region": "na"},
            "starts with amzn1.sp.solution.",
        ),
        ("amazon", {"application_id": APP_ID, "region": "moon"}, "unknown region 'moon'"),
        ("amazon", {"application_id": APP_ID, "marketplaces": []}, "choose the connection's reg"),
        ("xero", {}, "needs its client_id"),
        ("ebay", {"client_id": "x"}, "unknown provider"),
    ],
)
def test_a_consent_that_cannot_start_says_which_setting_to_fix(
    provider: str, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        authorize.begin(config, provider, REDIRECT)


# ---- the whole flow -------------------------------------------------------------------------


def test_amazon_consent_for_the_chosen_seller_gives_a_token_that_reads_its_settlements(
    boxes: Sandboxes,
) -> None:
    pending = authorize.begin(boxes.config("amazon"), "amazon", REDIRECT)
    answer = consent(boxes.http, pending.url, account="second-seller")
    params = callback(answer, REDIRECT)
    assert set(params) == {"spapi_oauth_code", "state", "selling_partner_id"}
    assert params["selling_partner_id"] == "second-seller"
    assert authorize.granted_account(pending, params) == "second-seller"

    tokens = boxes.complete(pending, params)

    assert tokens.access_token is not None
    access = tokens.access_token.get_secret_value()
    assert access.startswith("Atza|")
    assert tokens.refresh_token.get_secret_value().startswith("Atzr|")
    assert boxes.amazon.grants.access_subject(access) == "second-seller"
    response = boxes.http.get(GROUPS, headers={"x-amz-access-token": access})
    assert response.status_code == 200
    assert response.json()["payload"]["FinancialEventGroupList"]


def test_xero_consent_gives_a_token_that_reaches_the_organisation(boxes: Sandboxes) -> None:
    pending = authorize.begin(boxes.config("xero"), "xero", REDIRECT)
    answer = consent(boxes.http, pending.url)
    params = callback(answer, REDIRECT)
    assert set(params) == {"code", "state"}
    assert authorize.granted_account(pending, params) is None

    tokens = boxes.complete(pending, answer.headers["location"])  # the whole callback URL

    assert tokens.access_token is not None
    bearer = {"Authorization": f"Bearer {tokens.access_token.get_secret_value()}"}
    rows = boxes.http.get("https://api.xero.com/connections", headers=bearer).json()
    assert [row["tenantName"] for row in rows] == ["Demo Company (UK)"]
    assert tokens.scope == " ".join(xero.SCOPES)


# ---- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["amazon", "xero"])
def test_a_denied_consent_fails_with_what_to_do(boxes: Sandboxes, provider: str) -> None:
    pending = authorize.begin(boxes.config(provider), provider, REDIRECT)
    params = callback(consent(boxes.http, pending.url, decision="deny"), REDIRECT)
    assert params["error"] == "access_denied"
    with pytest.raises(AuthorizationFailed, match="consent was declined; connect again") as raised:
        boxes.complete(pending, params)
    assert raised.value.error_class is ErrorClass.AUTH
    assert raised.value.provider == provider


@pytest.mark.parametrize("provider", ["amazon", "xero"])
def test_a_callback_with_another_state_is_refused_before_the_code_is_spent(
    boxes: Sandboxes, provider: str
) -> None:
    pending = authorize.begin(boxes.config(provider), provider, REDIRECT)
    params = callback(consent(boxes.http, pending.url), REDIRECT)
    with pytest.raises(AuthorizationFailed, match="state mismatch"):
        boxes.complete(pending, {**params, "state": "forged"})
    assert boxes.amazon.grants.issued == boxes.xero.grants.issued == []
    assert boxes.complete(pending, params).access_token is not None  # the code still works


@pytest.mark.parametrize("provider", ["amazon", "xero"])
def test_a_code_older_than_five_minutes_is_refused_with_what_to_do(
    boxes: Sandboxes, provider: str
) -> None:
    pending = authorize.begin(boxes.config(provider), provider, REDIRECT)
    params = callback(consent(boxes.http, pending.url), REDIRECT)
    boxes.clock.advance(timedelta(minutes=5, seconds=1))
    with pytest.raises(AuthorizationFailed, match=r"code expired.*start connecting again"):
        boxes.complete(pending, params)


def test_a_reconnect_consented_for_another_seller_is_refused_before_any_exchange(
    boxes: Sandboxes,
) -> None:
    pending = authorize.begin(boxes.config("amazon"), "amazon", REDIRECT, account="us-seller")
    params = callback(consent(boxes.http, pending.url, account="second-seller"), REDIRECT)
    with pytest.raises(AuthorizationFailed, match="sign in as 'us-seller' and reconnect"):
        boxes.complete(pending, params)
    assert boxes.amazon.grants.issued == []
    forged = {**params, "selling_partner_id": "us-seller"}  # the code still grants the other
    assert boxes.complete(pending, forged).access_token is not None


def test_the_code_exchange_must_repeat_the_consents_redirect_uri(boxes: Sandboxes) -> None:
    pending = authorize.begin(boxes.config("amazon"), "amazon", REDIRECT)
    params = callback(consent(boxes.http, pending.url), REDIRECT)
    moved = dataclasses.replace(pending, redirect_uri="http://127.0.0.1:8502/")
    with pytest.raises(AuthorizationFailed, match="redirect_uri does not match"):
        boxes.complete(moved, params)


def test_a_callback_is_completed_only_by_the_provider_it_was_begun_for(
    boxes: Sandboxes,
) -> None:
    pending = authorize.begin(boxes.config("xero"), "xero", REDIRECT)
    params = callback(consent(boxes.http, pending.url), REDIRECT)
    with pytest.raises(AuthorizationFailed, match="belongs to a xero authorization"):
        authorize.complete(
            pending,
            params,
            provider_name="amazon",
            client_id=boxes.amazon.client_id,
            client_secret=boxes.amazon.client_secret,
            transport=boxes.transport,
            clock=boxes.clock,
        )
