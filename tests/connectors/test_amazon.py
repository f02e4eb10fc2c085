"""The Amazon Finances v0 connector against its sandbox (and a few hand-made bodies)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from connectors import amazon
from connectors.amazon_marketplaces import MARKETPLACES, REGIONS
from connectors.base import RetryPolicy
from connectors.clock import SimulatedClock
from connectors.errors import (
    AuthRevoked,
    ConfigError,
    ConnectorError,
    RateLimited,
    UnexpectedPayload,
)
from connectors.sandbox import transport
from connectors.sandbox.amazon import AmazonSandbox, SellerSpec
from reconcile.models import Connection, ErrorClass, LineCategory, SettlementStatus

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
START = datetime(2025, 6, 3, 7, 30, tzinfo=UTC)


class LwaTokens:
    """A minimal Login-with-Amazon token source: refresh grant, cached until told otherwise."""

    def __init__(self, sandbox: AmazonSandbox, http: httpx2.Client, seller: str = "seller"):
        self.sandbox = sandbox
        self.http = http
        self.refresh_token = sandbox.issue_refresh_token(seller)
        self.access: str | None = None
        self.refreshes = 0

    def token(self) -> str:
        if self.access is None:
            response = self.http.post(
                amazon.LWA_TOKEN_URL,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.refresh_token,
                    "client_id": self.sandbox.client_id,
                    "client_secret": self.sandbox.client_secret,
                },
            )
            if response.status_code == 400 and response.json()["error"] == "invalid_grant":
                raise AuthRevoked("amazon", "the refresh token was refused: reconnect")
            response.raise_for_status()
            self.access = response.json()["access_token"]
            self.refreshes += 1
        return self.access

    def invalidate(self) -> None:
        self.access = None


class Tokens:
    """A fixed access token; counts how often the client said it was refused."""

    def __init__(self) -> None:
        self.invalidated = 0

    def token(self) -> str:
        return "Atza|test"

    def invalidate(self) -> None:
        self.invalidated += 1


def recording(seen: list[str]) -> httpx2.MockTransport:
    """A transport answering with no groups that records each request's scheme and host."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(f"{request.url.scheme}://{request.url.netloc.decode()}")
        assert request.headers["x-amz-access-token"] == "Atza|test"
        return httpx2.Response(200, json={"payload": {"FinancialEventGroupList": []}})

    return httpx2.MockTransport(handler)


def connection(**config: Any) -> Connection:
    return Connection(
        id="amz-1",
        workspace_id="ws",
        provider="amazon",
        name="Amazon US",
        kind="channel",
        region=config.pop("region", "na"),
        config={"marketplaces": ["US"], **config},
        created_at=NOW,
    )


class World:
    """A sandbox, a simulated clock and a connected client."""

    def __init__(self, clock: SimulatedClock | None = None, **spec: Any) -> None:
        self.clock = clock or SimulatedClock(NOW)
        seller = SellerSpec(start=spec.pop("start", START), **spec)
        self.sandbox = AmazonSandbox(self.clock, sellers={"seller": seller})
        self.transport = transport(self.sandbox)
        self.tokens = LwaTokens(self.sandbox, httpx2.Client(transport=self.transport))
        self.retries: list[tuple[ConnectorError, float]] = []

    def client(self, **config: Any) -> amazon.AmazonFinances:
        return amazon.connect(
            connection(**config),
            token=self.tokens,
            clock=self.clock,
            transport=self.transport,
            retry=RetryPolicy(attempts=4),
            on_retry=lambda error, delay: self.retries.append((error, delay)),
        )

    def sync(self, start: datetime, end: datetime) -> list[Any]:
        with self.client() as client:
            return list(client.settlements(start, end))


@pytest.fixture
def world() -> World:
    return World()


def window() -> tuple[datetime, datetime]:
    return NOW - timedelta(days=120), NOW


def test_settlements_of_a_window_match_the_sandbox_truth(world: World) -> None:
    start, end = window()
    batches = world.sync(start, end)

    truth = [g for g in world.sandbox.groups("seller") if start <= g["start"] < end]
    assert [b.settlement.provider_settlement_id for b in batches] == [g["id"] for g in truth]
    for batch, group in zip(batches, truth, strict=True):
        settlement = batch.settlement
        assert settlement.net == Decimal(group["total"])
        assert sum(line.amount for line in batch.lines) == settlement.net
        assert len(batch.lines) == group["lines"]
        assert settlement.period_start == group["start"]
        assert settlement.period_end == group["end"]
        assert settlement.currency == "USD"
    assert batches[-1].settlement.status is SettlementStatus.OPEN
    assert batches[-1].settlement.period_end is None
    assert batches[-1].settlement.deposit_date is None
    assert {b.settlement.status for b in batches[:-1]} == {SettlementStatus.CLOSED}


def test_totals_split_lines_by_category_and_deposit_dates_are_local(world: World) -> None:
    batch = world.sync(*window())[0]
    settlement = batch.settlement
    by_category = {
        c: sum((x.amount for x in batch.lines if x.category is c), Decimal(0)) for c in LineCategory
    }
    sales = LineCategory.SALE, LineCategory.SHIPPING, LineCategory.TAX, LineCategory.PROMOTION
    assert settlement.gross == sum(by_category[c] for c in sales)
    assert settlement.fees == by_category[LineCategory.FEE] < 0
    assert settlement.refunds == by_category[LineCategory.REFUND]
    assert settlement.reserves == by_category[LineCategory.RESERVE]
    # Groups close at 07:30 UTC: still the previous evening in Los Angeles.
    assert settlement.period_end is not None
    assert settlement.deposit_date == settlement.period_end.date() - timedelta(days=1)
    sale = next(x for x in batch.lines if x.description == "Principal")
    assert sale.order_id and sale.sku and sale.posted_at and sale.posted_at.tzinfo is UTC


def test_yen_settlements_have_whole_amounts_and_tokyo_deposit_dates() -> None:
    world = World(currency="JPY", marketplace="JP")
    with amazon.connect(
        connection(region="fe", marketplaces=["JP"]),
        token=world.tokens,
        clock=world.clock,
        transport=world.transport,
    ) as client:
        batch = next(iter(client.settlements(*window())))
    assert all(line.amount == line.amount.to_integral_value() for line in batch.lines)
    assert batch.settlement.currency == "JPY"
    assert batch.settlement.period_end is not None
    assert batch.settlement.deposit_date == batch.settlement.period_end.date()  # 16:30 in Tokyo


def test_paging_across_many_group_and_event_pages() -> None:
    world = World(cadence=timedelta(days=1), lines_per_group=720)  # over 100 events each
    start = NOW - timedelta(days=110)
    batches = world.sync(start, NOW)

    truth = [g for g in world.sandbox.groups("seller") if g["start"] >= start]
    assert len(batches) == len(truth) > 100  # two pages of groups
    assert [len(b.lines) for b in batches] == [g["lines"] for g in truth]
    calls = world.sandbox.stats()["calls"]
    assert calls["listFinancialEventGroups"] == 2
    assert calls["listFinancialEventsByGroupId"] >= 2 * len(truth)  # two pages of events each


def test_settlements_stream_one_group_at_a_time(world: World) -> None:
    with world.client() as client:
        first = next(iter(client.settlements(*window())))
    assert first.lines
    assert world.sandbox.stats()["calls"] == {
        "listFinancialEventGroups": 1,
        "listFinancialEventsByGroupId": 1,
    }


def test_429_then_success_honours_retry_after_on_the_simulated_clock(world: World) -> None:
    world.sandbox.add_fault("429", path_prefix="/finances/v0/financialEventGroups", retry_after=7)
    before = world.clock.now()
    with world.client() as client:
        next(iter(client.settlements(*window())))
    assert world.clock.now() - before == timedelta(seconds=7)
    assert [(type(e), d) for e, d in world.retries] == [(RateLimited, 7.0)]


def test_server_errors_are_retried(world: World) -> None:
    world.sandbox.add_fault("500", times=2)
    world.sandbox.add_fault("503", times=1)
    assert world.sync(*window())
    assert len(world.retries) == 3
    assert world.sandbox.stats()["faults_injected"] == 3


@pytest.mark.parametrize("kind", ["html", "malformed", "errors_body"])
def test_a_broken_page_is_a_data_error(world: World, kind: str) -> None:
    world.sandbox.add_fault(kind)
    with pytest.raises(UnexpectedPayload) as caught:
        world.sync(*window())
    assert caught.value.error_class is ErrorClass.DATA
    if kind == "errors_body":
        assert "InternalFailure" in str(caught.value)
    else:
        assert "not the documented JSON" in str(caught.value)
        assert caught.value.raw


def test_a_repeating_next_token_stops_with_a_loop_error() -> None:
    world = World(cadence=timedelta(days=1))
    world.sandbox.add_fault(
        "repeat_token", path_prefix="/finances/v0/financialEventGroups", times=-1
    )
    with pytest.raises(UnexpectedPayload, match="endless loop"):
        world.sync(NOW - timedelta(days=150), NOW)


def test_an_expired_access_token_is_refreshed_once(world: World) -> None:
    with world.client() as client:
        batches = client.settlements(*window())
        next(batches)
        world.sandbox.expire_access_tokens()
        assert list(batches)
    assert world.tokens.refreshes == 2


def test_a_revoked_grant_is_an_auth_error(world: World) -> None:
    world.tokens.token()
    world.sandbox.revoke("seller")
    with pytest.raises(AuthRevoked) as caught:
        world.sync(*window())
    assert caught.value.error_class is ErrorClass.AUTH


def test_a_403_that_survives_a_refresh_is_revoked_access() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(403, json={"errors": [{"code": "Unauthorized", "message": "no"}]})

    tokens = Tokens()
    client = amazon.connect(
        connection(),
        token=tokens,
        clock=SimulatedClock(NOW),
        transport=httpx2.MockTransport(handler),
    )
    with pytest.raises(AuthRevoked, match="authorise the app again") as caught:
        list(client.settlements(*window()))
    assert caught.value.error_class is ErrorClass.AUTH
    assert tokens.invalidated == 1


@pytest.mark.parametrize("market", MARKETPLACES, ids=lambda m: m.country)
def test_every_marketplace_maps_to_its_region(market: amazon.Marketplace) -> None:
    assert amazon.marketplaces_for(market.region, [market.country]) == [market]
    assert amazon.marketplaces_for(market.region.upper(), [market.marketplace_id]) == [market]
    seen: list[str] = []
    client = amazon.connect(
        connection(region=market.region, marketplaces=[market.country]),
        token=Tokens(),
        clock=SimulatedClock(NOW),
        transport=recording(seen),
    )
    list(client.settlements(*window()))
    assert seen == [REGIONS[market.region]]


def test_marketplace_codes_accept_gb_for_the_uk_and_default_to_the_whole_region() -> None:
    assert [m.country for m in amazon.marketplaces_for("eu", ["GB", "de"])] == ["UK", "DE"]
    assert [m.country for m in amazon.marketplaces_for("fe", [])] == ["SG", "AU", "JP"]


def test_config_for_keeps_the_regions_marketplaces_as_country_codes() -> None:
    assert amazon.config_for("eu", ["GB", "de", "UK"]) == {"marketplaces": ["UK", "DE"]}
    assert amazon.config_for("NA", []) == {"marketplaces": ["US", "CA", "MX", "BR"]}
    with pytest.raises(ConfigError, match="belongs to region na, not eu"):
        amazon.config_for("eu", ["US"])


@pytest.mark.parametrize(
    ("region", "codes", "message"),
    [
        ("xx", ["US"], "unknown Amazon region 'xx'; choose na, eu or fe"),
        ("eu", ["XX"], "unknown Amazon marketplace 'XX'; valid codes in region eu: UK, DE, FR"),
        ("eu", ["US"], "US (ATVPDKIKX0DER) belongs to region na, not eu"),
    ],
)
def test_unknown_regions_and_marketplaces_are_clear(
    region: str, codes: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        amazon.marketplaces_for(region, codes)


def test_a_connection_without_a_region_takes_its_marketplaces_region() -> None:
    conn = connection(region=None, marketplaces=["DE"])
    client = amazon.connect(conn, token=Tokens(), clock=SimulatedClock(NOW))
    assert str(client.api.http.base_url) == REGIONS["eu"]
    with pytest.raises(ConfigError, match="needs a region"):
        amazon.connect(
            connection(region=None, marketplaces=[]), token=Tokens(), clock=SimulatedClock(NOW)
        )


def test_the_api_base_url_can_point_elsewhere() -> None:
    seen: list[str] = []
    client = amazon.connect(
        connection(api_base_url="http://127.0.0.1:8123/"),
        token=Tokens(),
        clock=SimulatedClock(NOW),
        transport=recording(seen),
    )
    list(client.settlements(*window()))
    assert seen == ["http://127.0.0.1:8123"]


def test_windows_longer_than_180_days_are_rejected(world: World) -> None:
    with world.client() as client:
        with pytest.raises(ValueError, match="at most 180 days"):
            client.settlements(NOW - timedelta(days=181), NOW)
        with pytest.raises(ValueError, match="at most 180 days"):  # rounding to whole seconds
            client.settlements(NOW - timedelta(days=180, microseconds=1), NOW)
        assert list(client.settlements(NOW - timedelta(days=180), NOW))
        with pytest.raises(ValueError, match="timezone-aware"):
            client.settlements(datetime(2026, 1, 1), NOW)


def test_the_window_end_is_clamped_two_minutes_into_the_past(world: World) -> None:
    requests: list[httpx2.Request] = []
    inner = transport(world.sandbox)

    def spy(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        return inner.handle_request(request)

    client = amazon.connect(
        connection(), token=world.tokens, clock=world.clock, transport=httpx2.MockTransport(spy)
    )
    list(client.settlements(NOW - timedelta(days=10), NOW + timedelta(days=1)))
    params = requests[0].url.params
    assert params["FinancialEventGroupStartedBefore"] == "2026-03-02T11:58:00Z"
    assert params["FinancialEventGroupStartedAfter"] == "2026-02-20T12:00:00Z"
    assert params["MaxResultsPerPage"] == "100"
    assert list(client.settlements(NOW - timedelta(minutes=1), NOW)) == []


def test_client_side_rate_limiting_keeps_a_long_sync_free_of_429s() -> None:
    world = World(cadence=timedelta(days=1), lines_per_group=5)
    before = world.clock.now()
    batches = world.sync(NOW - timedelta(days=150), NOW)

    stats = world.sandbox.stats()
    assert stats["throttled"] == 0
    event_calls = stats["calls"]["listFinancialEventsByGroupId"]
    assert event_calls == len(batches) == 150
    floor = (event_calls - 30) / 0.5  # a burst of 30, then 0.5 requests per second
    elapsed = (world.clock.now() - before).total_seconds()
    assert floor <= elapsed <= floor + 5


# ---- hand-made bodies: what the mapping does with each list and each malformed field ----


def money(amount: str, currency: str = "USD") -> dict[str, Any]:
    return {"CurrencyCode": currency, "CurrencyAmount": f"@{amount}@"}


GROUP = {
    "FinancialEventGroupId": "G1",
    "ProcessingStatus": "Closed",
    "FundTransferStatus": "Succeeded",
    "OriginalTotal": money("0.00"),
    "FundTransferDate": "2026-02-01T05:00:00Z",
    "FinancialEventGroupStart": "2026-01-18T05:00:00Z",
    "FinancialEventGroupEnd": "2026-02-01T05:00:00Z",
    "SomeFieldAmazonAddedLater": {"x": 1},
}


def charge(kind: str, amount: str) -> dict[str, Any]:
    return {"ChargeType": kind, "ChargeAmount": money(amount)}


def fee(kind: str, amount: str) -> dict[str, Any]:
    return {"FeeType": kind, "FeeAmount": money(amount)}


EVENTS: dict[str, Any] = {
    "ShipmentEventList": [
        {
            "AmazonOrderId": "111-1",
            "PostedDate": "2026-01-20T10:00:00Z",
            "ShipmentItemList": [
                {
                    "SellerSKU": "SKU-1",
                    "ItemChargeList": [
                        charge("Principal", "19.99"),
                        charge("Tax", "1.60"),
                        charge("ShippingCharge", "4.99"),
                        charge("GiftwrapTax", "0.10"),
                        charge("Giftwrap", "2.00"),
                    ],
                    "ItemFeeList": [fee("Commission", "-3.00")],
                    "PromotionList": [
                        {
                            "PromotionType": "Promo",
                            "PromotionId": "P",
                            "PromotionAmount": money("-1.00"),
                        }
                    ],
                    "ItemTaxWithheldList": [
                        {
                            "TaxCollectionModel": "MarketplaceFacilitator",
                            "TaxesWithheld": [
                                charge("MarketplaceFacilitatorTax-Principal", "-1.60")
                            ],
                        }
                    ],
                }
            ],
        }
    ],
    "RefundEventList": [
        {
            "AmazonOrderId": "111-2",
            "PostedDate": "2026-01-21T10:00:00+01:00",
            "ShipmentItemAdjustmentList": [
                {
                    "SellerSKU": "SKU-2",
                    "ItemChargeAdjustmentList": [
                        charge("Principal", "-10"),
                        charge("Tax", "-0.80"),
                    ],
                    "ItemFeeAdjustmentList": [fee("Commission", "1.50")],
                }
            ],
        }
    ],
    "ServiceFeeEventList": [{"FeeReason": "x", "FeeList": [fee("FBAStorageFee", "-7.25")]}],
    "AdjustmentEventList": [
        {
            "AdjustmentType": "ReserveEvent",
            "PostedDate": "2026-01-22T00:00:00Z",
            "AdjustmentAmount": money("-50.00"),
        },
        {
            "AdjustmentType": "FBAInventoryReimbursement",
            "PostedDate": "2026-01-22T00:00:00Z",
            "AdjustmentAmount": money("12.34"),
            "AdjustmentItemList": [{"SellerSKU": "SKU-3", "Quantity": "1"}],
        },
    ],
    "ProductAdsPaymentEventList": [
        {
            "postedDate": "2026-01-23T00:00:00Z",
            "transactionType": "Charge",
            "baseValue": money("-9.00"),
            "taxValue": money("-1.00"),
            "transactionValue": money("-10.00"),
        }
    ],
    "FBALiquidationEventList": [
        {
            "PostedDate": "2026-01-24T00:00:00Z",
            "OriginalRemovalOrderId": "R1",
            "LiquidationProceedsAmount": money("30.00"),
            "LiquidationFeeAmount": money("-3.00"),
        }
    ],
    "ChargebackEventList": [],
    "DebtRecoveryEventList": [],
}


def body(value: Any) -> bytes:
    """JSON whose `"@1.00@"` strings become numbers with exactly that text."""
    return json.dumps(value).replace('"@', "").replace('@"', "").encode()


def serve(events: Any, group: Any = GROUP) -> Callable[[httpx2.Request], httpx2.Response]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/financialEvents"):
            payload = {"payload": {"FinancialEvents": events}}
        else:
            payload = {"payload": {"FinancialEventGroupList": [group]}}
        return httpx2.Response(200, content=body(payload))

    return handler


def sync_bodies(events: Any, group: Any = GROUP) -> list[Any]:
    client = amazon.connect(
        connection(),
        token=Tokens(),
        clock=SimulatedClock(NOW),
        transport=httpx2.MockTransport(serve(events, group)),
    )
    return list(client.settlements(NOW - timedelta(days=90), NOW))


def test_each_event_list_maps_to_its_documented_category() -> None:
    [batch] = sync_bodies(EVENTS)
    got = [(line.category.value, line.description, str(line.amount)) for line in batch.lines]
    assert got == [
        ("sale", "Principal", "19.99"),
        ("tax", "Tax", "1.60"),
        ("shipping", "ShippingCharge", "4.99"),
        ("tax", "GiftwrapTax", "0.10"),
        ("sale", "Giftwrap", "2.00"),
        ("fee", "Commission", "-3.00"),
        ("promotion", "Promo", "-1.00"),
        ("tax", "MarketplaceFacilitatorTax-Principal", "-1.60"),
        ("refund", "Principal", "-10"),
        ("tax", "Tax", "-0.80"),
        ("fee", "Commission", "1.50"),
        ("fee", "FBAStorageFee", "-7.25"),
        ("reserve", "ReserveEvent", "-50.00"),
        ("adjustment", "FBAInventoryReimbursement", "12.34"),
        ("other", "Charge", "-10.00"),
        ("other", "FBALiquidation LiquidationProceedsAmount", "30.00"),
        ("other", "FBALiquidation LiquidationFeeAmount", "-3.00"),
    ]
    refund = batch.lines[8]
    assert (refund.order_id, refund.sku) == ("111-2", "SKU-2")
    assert refund.posted_at == datetime(2026, 1, 21, 9, 0, tzinfo=UTC)
    assert batch.lines[13].sku == "SKU-3"
    settlement = batch.settlement
    assert settlement.reserves == Decimal("-50.00")
    assert settlement.refunds == Decimal("-10")
    assert settlement.deposit_date == date(2026, 1, 31)  # 05:00 UTC is still January 31 in L.A.


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            {"ShipmentEventList": [{"PostedDate": "20 Jan 2026", "ShipmentItemList": []}]},
            r"ShipmentEventList\[0\]: PostedDate: '20 Jan 2026' is not an ISO 8601 date-time",
        ),
        (
            {"ServiceFeeEventList": [{"FeeList": [{"FeeAmount": money("-1.00")}]}]},
            r"ServiceFeeEventList\[0\]: required field 'FeeType' is missing",
        ),
        (
            {
                "ServiceFeeEventList": [
                    {
                        "FeeList": [fee("X", "1")] * 2
                        + [{"FeeType": "Y", "FeeAmount": money("1", "XYZ")}]
                    }
                ]
            },
            r"FeeList\[\]\.FeeAmount\.CurrencyCode: unknown currency code 'XYZ'",
        ),
        (
            {
                "ServiceFeeEventList": [
                    {"FeeList": [{"FeeType": "Y", "FeeAmount": money("1", "EUR")}]}
                ]
            },
            "EUR differs from the group's USD",
        ),
        (
            {
                "ServiceFeeEventList": [
                    {
                        "FeeList": [
                            {
                                "FeeType": "Y",
                                "FeeAmount": {"CurrencyCode": "USD", "CurrencyAmount": "1.00"},
                            }
                        ]
                    }
                ]
            },
            r"CurrencyAmount: '1.00' is not a number",
        ),
        (
            {"AdjustmentEventList": [{"AdjustmentType": "X", "AdjustmentAmount": None}]},
            "AdjustmentAmount: is not a Currency object",
        ),
        (
            {"BrandNewEventList": [{"Amount": money("1.00")}]},
            "BrandNewEventList is an event list this connector cannot map",
        ),
        (
            {"ServiceFeeEventList": [{"FeeList": [{"FeeType": 7, "FeeAmount": money("1")}]}]},
            r"FeeList\[\]\.FeeType: 7 is not a string",
        ),
        ({"ShipmentEventList": {"not": "a list"}}, "ShipmentEventList is not a list"),
        ({"ShipmentEventList": ["not an object"]}, "not the documented object"),
    ],
)
def test_a_malformed_event_names_the_field(events: Any, message: str) -> None:
    with pytest.raises(UnexpectedPayload, match=message) as caught:
        sync_bodies(events)
    assert caught.value.error_class is ErrorClass.DATA


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"FinancialEventGroupStart": "yesterday"}, "FinancialEventGroupStart"),
        ({"FinancialEventGroupStart": "2026-01-18T05:00:00"}, "FinancialEventGroupStart"),
        ({"OriginalTotal": money("1.00", "ABC")}, "unknown currency code 'ABC'"),
        ({"OriginalTotal": {"CurrencyCode": "USD", "CurrencyAmount": "1"}}, "not a JSON number"),
        ({"FinancialEventGroupId": None}, "FinancialEventGroupId"),
        ({"OriginalTotal": money("1.123456")}, "net"),
    ],
)
def test_a_malformed_group_names_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(UnexpectedPayload, match=message):
        sync_bodies({}, {**GROUP, **change})


def test_a_group_without_its_id_is_a_data_error() -> None:
    group = {k: v for k, v in GROUP.items() if k != "FinancialEventGroupId"}
    with pytest.raises(UnexpectedPayload, match="FinancialEventGroupId: Field required"):
        sync_bodies({}, group)


def test_amounts_keep_their_exact_decimal_text() -> None:
    events = {
        "ServiceFeeEventList": [
            {"FeeList": [fee("A", "0.10"), fee("B", "0.20"), fee("C", "1234567890123.45")]}
        ]
    }
    [batch] = sync_bodies(events, {**GROUP, "OriginalTotal": money("1234567890123.75")})
    assert [str(line.amount) for line in batch.lines] == ["0.10", "0.20", "1234567890123.45"]
    assert sum(line.amount for line in batch.lines) == batch.settlement.net
