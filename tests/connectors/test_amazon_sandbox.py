"""The Amazon sandbox: its LWA token endpoint, Finances v0 behaviour and scenario controls."""

from __future__ import annotations

import itertools
import json
import threading
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from connectors.clock import SimulatedClock, SystemClock
from connectors.sandbox import transport
from connectors.sandbox.amazon import AmazonSandbox, SellerSpec
from connectors.sandbox.server import SandboxServer

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOST = "https://sellingpartnerapi-na.amazon.com"
GROUPS = "/finances/v0/financialEventGroups"


class Seller:
    """An HTTP client holding an access token of one seller's grant."""

    def __init__(self, sandbox: AmazonSandbox, seller: str = "seller") -> None:
        self.sandbox = sandbox
        self.http = httpx2.Client(base_url=HOST, transport=transport(sandbox))
        self.refresh_token = sandbox.issue_refresh_token(seller)
        self.access = self.grant().json()["access_token"]

    def grant(self, **form: str) -> httpx2.Response:
        data = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token,
            "client_id": self.sandbox.client_id,
            "client_secret": self.sandbox.client_secret,
            **form,
        }
        return self.http.post("https://api.amazon.com/auth/o2/token", data=data)

    def get(self, path: str = GROUPS, **params: Any) -> httpx2.Response:
        headers = {"x-amz-access-token": self.access}
        return self.http.get(path, params=params, headers=headers)

    def groups(self, **params: Any) -> list[dict[str, Any]]:
        window = {
            "FinancialEventGroupStartedAfter": "2025-10-01T00:00:00Z",
            "FinancialEventGroupStartedBefore": "2026-03-01T00:00:00Z",
            "MaxResultsPerPage": 100,
        }
        response = self.get(**{**window, **params})
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["payload"]["FinancialEventGroupList"]
        return found


def sandbox(**spec: Any) -> AmazonSandbox:
    clock = SimulatedClock(NOW)
    start = spec.pop("start", datetime(2025, 6, 3, 7, 30, tzinfo=UTC))
    return AmazonSandbox(clock, sellers={"seller": SellerSpec(start=start, **spec)})


@pytest.fixture
def seller() -> Seller:
    return Seller(sandbox())


def error_of(response: httpx2.Response) -> dict[str, str]:
    [error] = response.json()["errors"]
    return dict(error)


def test_the_token_endpoint_issues_lwa_tokens_for_an_hour(seller: Seller) -> None:
    body = seller.grant().json()
    assert body["access_token"].startswith("Atza|")
    assert body["refresh_token"] == seller.refresh_token  # LWA does not rotate refresh tokens
    assert seller.refresh_token.startswith("Atzr|")
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
    assert seller.sandbox.stats()["refresh_grants"] == 2


def test_a_revoked_grant_fails_at_the_token_endpoint_and_at_the_api(seller: Seller) -> None:
    seller.sandbox.revoke("seller")
    refused = seller.grant()
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    denied = seller.get()
    assert denied.status_code == 403
    assert error_of(denied)["code"] == "Unauthorized"


@pytest.mark.parametrize(
    ("token", "details"),
    [
        (None, "Access token is missing in the request header."),
        ("Atza|forged", "The access token you provided is revoked, malformed or invalid."),
        ("expired", "The access token you provided has expired."),
    ],
)
def test_requests_need_a_valid_access_token(
    seller: Seller, token: str | None, details: str
) -> None:
    headers = {}
    if token == "expired":
        seller.sandbox.expire_access_tokens()
        headers["x-amz-access-token"] = seller.access
    elif token is not None:
        headers["x-amz-access-token"] = token
    response = seller.http.get(GROUPS, headers=headers)
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "Unauthorized",
        "message": "Access to requested resource is denied.",
        "details": details,
    }
    assert "x-amzn-RateLimit-Limit" not in response.headers
    assert response.headers["x-amzn-RequestId"]


def test_access_tokens_expire_after_an_hour(seller: Seller) -> None:
    assert seller.get().status_code == 200
    seller.sandbox.advance(3600)
    assert seller.get().status_code == 403


def test_groups_follow_the_cadence_and_only_the_latest_is_open(seller: Seller) -> None:
    groups = seller.groups(FinancialEventGroupStartedBefore="2026-03-02T11:58:00Z")
    starts = [datetime.fromisoformat(g["FinancialEventGroupStart"]) for g in groups]
    assert all(b - a == timedelta(days=14) for a, b in itertools.pairwise(starts))
    *closed, latest = groups
    assert latest["ProcessingStatus"] == "Open"
    assert "FinancialEventGroupEnd" not in latest and "FundTransferDate" not in latest
    assert {g["ProcessingStatus"] for g in closed} == {"Closed"}
    assert all(g["FundTransferDate"] == g["FinancialEventGroupEnd"] for g in closed)


def test_amounts_are_json_numbers_with_exact_decimal_text(seller: Seller) -> None:
    raw = seller.get(
        FinancialEventGroupStartedAfter="2025-10-01T00:00:00Z",
        FinancialEventGroupStartedBefore="2026-03-01T00:00:00Z",
    ).content
    totals = [
        g["OriginalTotal"]["CurrencyAmount"]
        for g in json.loads(raw, parse_float=Decimal)["payload"]["FinancialEventGroupList"]
    ]
    assert all(isinstance(t, Decimal) and t.as_tuple().exponent == -2 for t in totals)
    assert b'"CurrencyAmount":"' not in raw


def test_yen_amounts_have_no_decimals() -> None:
    yen = Seller(sandbox(currency="JPY", marketplace="JP"))
    group = yen.groups()[0]
    assert isinstance(group["OriginalTotal"]["CurrencyAmount"], int)
    events = yen.get(f"{GROUPS}/{group['FinancialEventGroupId']}/financialEvents").json()
    text = json.dumps(events["payload"]["FinancialEvents"])
    assert '"CurrencyCode": "JPY"' in text and '"CurrencyCode": "USD"' not in text
    assert '"MarketplaceName": "Amazon.co.jp"' in text


def test_the_history_is_deterministic_per_seed() -> None:
    same = [Seller(sandbox()).groups() for _ in range(2)]
    assert same[0] == same[1]
    other = AmazonSandbox(
        SimulatedClock(NOW),
        seed=2,
        sellers={"seller": SellerSpec(start=datetime(2025, 6, 3, 7, 30, tzinfo=UTC))},
    )
    assert Seller(other).groups() != same[0]


@pytest.mark.parametrize("size", ["0", "101", "ten", "-1"])
def test_max_results_per_page_out_of_bounds_is_a_400(seller: Seller, size: str) -> None:
    response = seller.get(MaxResultsPerPage=size)
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidInput"
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.5"


@pytest.mark.parametrize(
    "params",
    [
        {"FinancialEventGroupStartedBefore": "2026-03-02T11:59:00Z"},
        {"FinancialEventGroupStartedAfter": "2026-03-02T11:59:00Z"},
        {
            "FinancialEventGroupStartedAfter": "2026-02-01T00:00:00Z",
            "FinancialEventGroupStartedBefore": "2026-01-01T00:00:00Z",
        },
        {"FinancialEventGroupStartedAfter": "last tuesday"},
    ],
)
def test_dates_must_be_valid_and_two_minutes_old(seller: Seller, params: dict[str, str]) -> None:
    response = seller.get(**params)
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidInput"


def test_a_window_over_180_days_lists_no_groups(seller: Seller) -> None:
    assert seller.groups(FinancialEventGroupStartedAfter="2025-06-01T00:00:00Z") == []
    assert seller.groups(FinancialEventGroupStartedAfter="2025-09-03T00:00:00Z")


def test_next_token_pages_and_only_works_with_its_own_arguments(seller: Seller) -> None:
    first = seller.get(MaxResultsPerPage=2).json()["payload"]
    token = first["NextToken"]
    second = seller.get(MaxResultsPerPage=2, NextToken=token).json()["payload"]
    ids = [g["FinancialEventGroupId"] for g in first["FinancialEventGroupList"]]
    assert ids[0] not in {g["FinancialEventGroupId"] for g in second["FinancialEventGroupList"]}
    other = seller.get(
        MaxResultsPerPage=2, NextToken=token, FinancialEventGroupStartedAfter="2026-01-01T00:00:00Z"
    )
    assert other.status_code == 400
    assert "NextToken" in error_of(other)["message"]
    assert seller.get(NextToken="garbage").status_code == 400


def test_events_page_by_next_token_and_add_up_to_the_group_total() -> None:
    seller = Seller(sandbox(lines_per_group=900))
    group = seller.groups()[0]
    path = f"{GROUPS}/{group['FinancialEventGroupId']}/financialEvents"
    amounts: list[Decimal] = []
    params: dict[str, Any] = {}
    pages = 0
    while True:
        page = json.loads(seller.get(path, **params).content, parse_float=Decimal)["payload"]
        pages += 1
        amounts += currency_amounts(page["FinancialEvents"])
        if not page.get("NextToken"):
            break
        params = {"NextToken": page["NextToken"]}
    assert pages > 1
    assert sum(amounts) == Decimal(str(group["OriginalTotal"]["CurrencyAmount"]))


def currency_amounts(events: dict[str, Any]) -> list[Decimal]:
    """The amounts of every line the sandbox writes (ads: only the transaction value)."""
    found: list[Decimal] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            if "CurrencyAmount" in value and key not in (
                "baseValue",
                "taxValue",
                "PerUnitAmount",
                "TotalAmount",
            ):
                found.append(Decimal(value["CurrencyAmount"]))
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)

    walk(events)
    return found


def test_an_unknown_group_is_a_404(seller: Seller) -> None:
    response = seller.get(f"{GROUPS}/nope/financialEvents")
    assert response.status_code == 404
    assert error_of(response)["code"] == "NotFound"


def test_rate_limits_allow_a_burst_of_30_then_half_a_request_per_second(seller: Seller) -> None:
    assert [seller.get().status_code for _ in range(30)] == [200] * 30
    throttled = seller.get()
    assert throttled.status_code == 429
    assert error_of(throttled) == {
        "code": "QuotaExceeded",
        "message": "You exceeded your quota for the requested resource.",
        "details": "",
    }
    assert "x-amzn-RateLimit-Limit" not in throttled.headers
    seller.sandbox.advance(2)
    assert seller.get().status_code == 200
    assert seller.sandbox.stats()["throttled"] == 1


def test_rate_limits_can_be_switched_off() -> None:
    free = AmazonSandbox(SimulatedClock(NOW), enforce_rate_limits=False)
    client = Seller(free)
    assert {client.get().status_code for _ in range(40)} == {200}


@pytest.mark.parametrize(
    ("kind", "status", "content_type"),
    [
        ("429", 429, "application/json"),
        ("500", 500, "application/json"),
        ("503", 503, "application/json"),
        ("html", 200, "text/html"),
        ("errors_body", 200, "application/json"),
    ],
)
def test_faults_answer_the_next_requests(
    seller: Seller, kind: str, status: int, content_type: str
) -> None:
    seller.sandbox.add_fault(kind, path_prefix=GROUPS, times=2, retry_after=3)
    answers = [seller.get() for _ in range(3)]
    assert [a.status_code for a in answers] == [status, status, 200]
    assert answers[0].headers["content-type"] == content_type
    if kind == "429":
        assert answers[0].headers["Retry-After"] == "3"
    assert seller.sandbox.stats()["faults_injected"] == 2


def test_a_malformed_fault_is_cut_short_json(seller: Seller) -> None:
    seller.sandbox.add_fault("malformed")
    with pytest.raises(json.JSONDecodeError):
        seller.get().json()


def test_repeat_token_returns_the_same_next_token_forever(seller: Seller) -> None:
    seller.sandbox.add_fault("repeat_token", times=-1)
    first = seller.get(MaxResultsPerPage=1).json()["payload"]
    again = seller.get(MaxResultsPerPage=1, NextToken=first["NextToken"]).json()["payload"]
    assert again["NextToken"] == first["NextToken"]
    assert again["FinancialEventGroupList"] == first["FinancialEventGroupList"]
    seller.sandbox.clear_faults()
    assert (
        seller.get(MaxResultsPerPage=1, NextToken=first["NextToken"]).json()["payload"]["NextToken"]
        != first["NextToken"]
    )


def test_hidden_groups_vanish_from_listings_and_come_back(seller: Seller) -> None:
    before = seller.groups()
    start, end = datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC)
    assert seller.sandbox.hide("seller", start, end) == 2
    hidden = seller.groups()
    assert len(hidden) == len(before) - 2
    assert all(
        not start <= datetime.fromisoformat(g["FinancialEventGroupStart"]) < end for g in hidden
    )
    assert sum(g["hidden"] for g in seller.sandbox.groups("seller")) == 2
    assert seller.sandbox.restore("seller", start, end) == 2
    assert seller.groups() == before


def test_truth_lists_every_group_with_its_total_and_line_count(seller: Seller) -> None:
    truth = seller.sandbox.groups("seller")
    assert len(truth) == 20  # 2025-06-03 .. 2026-03-02, every 14 days
    assert truth[-1]["status"] == "Open" and truth[-1]["end"] is None
    assert {g["lines"] for g in truth[:-1]} == {30}
    listed = {g["FinancialEventGroupId"]: g for g in seller.groups()}
    for group in truth:
        if group["id"] in listed:
            amount = listed[group["id"]]["OriginalTotal"]["CurrencyAmount"]
            assert Decimal(group["total"]) == Decimal(str(amount))


def test_the_open_group_grows_as_time_passes(seller: Seller) -> None:
    before = seller.sandbox.groups("seller")[-1]
    seller.sandbox.advance(5 * 86400)
    after = seller.sandbox.groups("seller")[-1]
    assert after["id"] == before["id"]
    assert after["lines"] > before["lines"]


def test_the_control_api_drives_the_same_scenarios(seller: Seller) -> None:
    sandbox = seller.sandbox
    token = sandbox.control("issue_refresh_token", {"seller": "seller"})["refresh_token"]
    assert token.startswith("Atzr|")
    sandbox.control("add_fault", {"kind": "500", "times": 1})
    assert seller.get().status_code == 500
    sandbox.control("add_fault", {"kind": "429", "retry_after": "2.5"})
    assert seller.get().headers["Retry-After"] == "2.5"
    assert sandbox.control("stats", {})["faults_injected"] == 2
    hidden = sandbox.control(
        "hide",
        {
            "seller": "seller",
            "start": "2025-11-01T00:00:00+00:00",
            "end": "2025-12-01T00:00:00+00:00",
        },
    )
    assert hidden == 2
    groups = sandbox.control("groups", {"seller": "seller"})
    assert json.loads(json.dumps(groups)) == groups
    assert sandbox.control("advance", {"seconds": 60}) == "2026-03-02T12:01:00+00:00"
    assert (
        sandbox.control("set_time", {"iso": "2026-03-03T00:00:00Z"}) == "2026-03-03T00:00:00+00:00"
    )
    sandbox.control("revoke", {"seller": "seller"})
    assert seller.grant().status_code == 400
    with pytest.raises(ValueError, match="unknown action 'explode'"):
        sandbox.control("explode", {})
    with pytest.raises(ValueError, match="unknown seller 'bob'"):
        sandbox.control("groups", {"seller": "bob"})


def test_time_only_moves_on_a_simulated_clock() -> None:
    real = AmazonSandbox(SystemClock())
    with pytest.raises(ValueError, match="system clock"):
        real.advance(10)
    assert real.groups()  # the default seller has a year of history


def test_a_large_seller_is_generated_lazily() -> None:
    huge = sandbox(start=NOW - timedelta(days=420), cadence=timedelta(hours=1), lines_per_group=100)
    client = Seller(huge)
    tracemalloc.start()
    try:
        groups = client.groups(
            FinancialEventGroupStartedAfter="2026-03-01T00:00:00Z",
            FinancialEventGroupStartedBefore="2026-03-01T05:00:00Z",
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(groups) == 5  # of 10,000 groups holding a million lines
    assert peak < 2_000_000
    assert huge.stats()["calls"] == {"listFinancialEventGroups": 1}


def test_concurrent_requests_are_served_consistently() -> None:
    shared = AmazonSandbox(SimulatedClock(NOW), enforce_rate_limits=True)
    client = Seller(shared)
    statuses: list[int] = []

    def hammer() -> None:
        for _ in range(10):
            statuses.append(client.get().status_code)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 30 + [429] * 10
    assert shared.stats()["throttled"] == 10


def listed_events(seller: Seller, group_id: str) -> list[Decimal]:
    path = f"{GROUPS}/{group_id}/financialEvents"
    amounts: list[Decimal] = []
    params: dict[str, Any] = {"MaxResultsPerPage": 100}
    while True:
        page = json.loads(seller.get(path, **params).content, parse_float=Decimal)["payload"]
        amounts += currency_amounts(page["FinancialEvents"])
        if not page.get("NextToken"):
            return amounts
        params = {"NextToken": page["NextToken"]}


def test_withheld_events_leave_the_listing_but_not_the_groups_total(seller: Seller) -> None:
    group = seller.groups()[2]
    group_id = group["FinancialEventGroupId"]
    total = Decimal(str(group["OriginalTotal"]["CurrencyAmount"]))
    full = listed_events(seller, group_id)

    held = seller.sandbox.withhold_events("seller", group_id, 2)

    partial = listed_events(seller, group_id)
    assert len(partial) == len(full) - held["lines"]
    assert sum(partial) + Decimal(held["amount"]) == total
    assert sum(partial) != total
    assert held["events"] == 2
    assert Decimal(str(seller.groups()[2]["OriginalTotal"]["CurrencyAmount"])) == total
    assert sum(listed_events(seller, seller.groups()[1]["FinancialEventGroupId"])) == Decimal(
        str(seller.groups()[1]["OriginalTotal"]["CurrencyAmount"])
    )
    seller.sandbox.withhold_events("seller", group_id, 0)
    assert listed_events(seller, group_id) == full


def test_withholding_needs_a_known_group_and_at_most_its_posted_events(seller: Seller) -> None:
    group = seller.groups()[0]
    with pytest.raises(ValueError, match="no financial event group 'nope'"):
        seller.sandbox.withhold_events("seller", "nope", 1)
    with pytest.raises(ValueError, match="count must be between 0 and"):
        seller.sandbox.withhold_events("seller", group["FinancialEventGroupId"], 10_000)
    with pytest.raises(ValueError, match="unknown seller"):
        seller.sandbox.withhold_events("bob", group["FinancialEventGroupId"], 1)


def test_withhold_events_is_a_control_action_on_the_loopback_server(seller: Seller) -> None:
    group_id = seller.groups()[0]["FinancialEventGroupId"]
    server = SandboxServer([seller.sandbox]).start()
    try:
        with httpx2.Client(base_url=server.url, trust_env=False) as http:
            payload = {"seller": "seller", "group_id": group_id, "count": 1}
            answer = http.post("/_sandbox/amazon/withhold_events", json=payload)
            wrong = http.post("/_sandbox/amazon/withhold_events", json={**payload, "count": -1})
    finally:
        server.stop()
    assert answer.status_code == 200
    assert answer.json()["result"]["events"] == 1
    assert wrong.status_code == 400
    assert "count must be between 0" in wrong.json()["error"]
