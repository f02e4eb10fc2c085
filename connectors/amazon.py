"""Amazon Selling Partner API, Finances v0: settlements as financial event groups, with their lines.

The contract (`shared/specs/amazon/financesV0.json`, `reference/channel-apis.md` §1):

- Auth: a Login with Amazon access token in the `x-amz-access-token` header (no SigV4). Amazon
  answers an expired or refused token with **403**, not 401, so the client refreshes once on 403
  too (`refresh_on`).
- `listFinancialEventGroups` lists the groups (settlements) started in
  `[FinancialEventGroupStartedAfter, FinancialEventGroupStartedBefore)`; a window over 180 days
  silently returns nothing, and both dates must be more than two minutes in the past.
- `listFinancialEventsByGroupId` lists one group's events; `amazon_events` maps them to lines.
- Both page with a capitalised `NextToken` (query parameter and payload field), may return empty
  pages, and wrap everything in `{"payload": ..., "errors": [...]}`; a 200 can carry `errors`.
- Both allow 0.5 requests per second with a burst of 30 per seller and application; a 429
  carries `QuotaExceeded` and no rate-limit header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx2
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from connectors.amazon_events import event_lines
from connectors.amazon_marketplaces import (
    CURRENCY_EXPONENTS,
    PROVIDER,
    REGIONS,
    Marketplace,
    marketplace,
    marketplaces_for,
    region_url,
)
from connectors.base import (
    ApiClient,
    ProviderClient,
    RetryPolicy,
    TokenAuth,
    TokenSource,
    body_excerpt,
    make_http,
)
from connectors.clock import Clock
from connectors.errors import (
    AuthRevoked,
    ConfigError,
    ConnectorError,
    UnexpectedPayload,
)
from connectors.pagination import NextToken, dig
from connectors.ratelimit import Rate, RateLimiter
from connectors.redact import redact_text
from reconcile.models import (
    Connection,
    LineCategory,
    Settlement,
    SettlementBatch,
    SettlementLine,
    SettlementStatus,
)

__all__ = [
    "FEEDS",
    "HORIZON",
    "KIND",
    "LOOKBACK",
    "LWA_TOKEN_URL",
    "MAX_WINDOW",
    "PROVIDER",
    "RATES",
    "REGIONS",
    "SETTLEMENT_REPORT_HORIZON",
    "AmazonFinances",
    "Marketplace",
    "config_for",
    "connect",
    "marketplaces_for",
]

KIND = "channel"
FEEDS = ("settlements",)
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
GROUPS_OPERATION = "listFinancialEventGroups"
EVENTS_OPERATION = "listFinancialEventsByGroupId"
RATES = {GROUPS_OPERATION: Rate(0.5, 30), EVENTS_OPERATION: Rate(0.5, 30)}
MAX_WINDOW = timedelta(days=180)  # a longer group window returns no groups at all
LOOKBACK = timedelta(days=3)  # re-fetch overlap: late groups and still-open ones
HORIZON = timedelta(days=730)  # finances events are served for two years
SETTLEMENT_REPORT_HORIZON = timedelta(days=90)  # settlement report files: 90 days
REQUEST_DELAY = timedelta(minutes=2)  # dates in a request must be this far in the past
PAGE_SIZE = 100
GROUPS_PATH = "/finances/v0/financialEventGroups"
ACCESS_HEADER = "x-amz-access-token"

ErrorCallback = Callable[[ConnectorError, float], None]


class _Money(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    currency: str = Field(alias="CurrencyCode")
    amount: Decimal = Field(alias="CurrencyAmount")

    @field_validator("currency")
    @classmethod
    def _known(cls, code: str) -> str:
        if code not in CURRENCY_EXPONENTS:
            raise ValueError(f"unknown currency code {code!r}")
        return code

    @field_validator("amount", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if type(value) not in (int, Decimal):
            raise ValueError(f"{value!r} is not a JSON number")
        return value


class _Group(BaseModel):
    """The fields of a `FinancialEventGroup` a settlement needs; Amazon may add others."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(alias="FinancialEventGroupId", min_length=1)
    status: str | None = Field(None, alias="ProcessingStatus")
    total: _Money = Field(alias="OriginalTotal")
    transferred_at: AwareDatetime | None = Field(None, alias="FundTransferDate")
    start: AwareDatetime = Field(alias="FinancialEventGroupStart")
    end: AwareDatetime | None = Field(None, alias="FinancialEventGroupEnd")

    @field_validator("transferred_at", "start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None


def _envelope(page: Any, response: httpx2.Response) -> None:
    """Every v0 page is `{"payload": {...}}`; `errors` in a 200 means the call failed."""
    if type(page) is dict and not page.get("errors") and type(page.get("payload")) is dict:
        return
    where = f"{response.request.method} {response.request.url.path}"
    raw = redact_text(response.content.decode("utf-8", "replace"))
    if type(page) is not dict:
        raise UnexpectedPayload(PROVIDER, f"{where}: the body is not a JSON object", raw=raw)
    errors = page.get("errors")
    if errors:
        listed = errors if isinstance(errors, list) else [errors]
        text = "; ".join(
            f"{e.get('code')}: {e.get('message')}" if isinstance(e, dict) else str(e)
            for e in listed
        )
        raise UnexpectedPayload(PROVIDER, f"{where} answered with errors: {text}", raw=raw)
    raise UnexpectedPayload(PROVIDER, f"{where}: the body has no payload object", raw=raw)


def _group_list(page: Any) -> list[Any]:
    groups = dig(page, "payload", "FinancialEventGroupList") or []
    if type(groups) is not list:
        raise UnexpectedPayload(PROVIDER, "FinancialEventGroupList is not a list")
    return groups


_GROUP_PAGES = NextToken(_group_list, ("payload", "NextToken"), "NextToken")
_EVENT_PAGES = NextToken(
    lambda page: [dig(page, "payload", "FinancialEvents") or {}],
    ("payload", "NextToken"),
    "NextToken",
)


def _classify(response: httpx2.Response) -> ConnectorError | None:
    """Amazon answers 403 to expired and refused tokens alike; the base refreshes once first."""
    if response.status_code == 403:
        return AuthRevoked(
            PROVIDER,
            f"access token refused even after a refresh ({body_excerpt(response)}): the seller"
            " must authorise the app again in Seller Central",
            status=403,
            request_id=response.headers.get("x-amzn-requestid"),
        )
    return None


def iso(moment: datetime) -> str:
    """The ISO 8601 UTC form Amazon takes in queries: `2026-01-05T00:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _ceil(moment: datetime) -> datetime:
    floor = _floor(moment)
    return floor if floor == moment else floor + timedelta(seconds=1)


class AmazonFinances(ProviderClient):
    """The settlements feed of one Amazon seller account, read through Finances API v0."""

    provider = PROVIDER

    def __init__(
        self,
        api: ApiClient,
        connection: Connection,
        marketplaces: Sequence[Marketplace],
    ) -> None:
        if not marketplaces:
            raise ConfigError(PROVIDER, "an Amazon connection needs at least one marketplace")
        self.api = api
        self.connection = connection
        self.marketplaces = tuple(marketplaces)

    def settlements(self, start: datetime, end: datetime) -> Iterator[SettlementBatch]:
        """One batch per financial event group started in `[start, end)`, streamed.

        `end` is clamped to two minutes before now (the API refuses later dates). The window,
        rounded out to whole seconds, may span at most `MAX_WINDOW` (180 days): a longer one
        raises `ValueError`, since Amazon would silently answer it with no groups.
        """
        window = self._window(start, end)
        return self._batches(start, end, window) if window else iter(())

    def _window(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("settlement windows need timezone-aware datetimes")
        after, before = _floor(start), _ceil(end)
        if before - after > MAX_WINDOW:
            raise ValueError(
                f"Amazon lists settlements at most {MAX_WINDOW.days} days at a time; "
                f"split {iso(after)}..{iso(before)} into smaller windows"
            )
        before = min(before, _floor(self.api.clock.now() - REQUEST_DELAY))
        return (after, before) if after < before else None

    def _batches(
        self, start: datetime, end: datetime, window: tuple[datetime, datetime]
    ) -> Iterator[SettlementBatch]:
        params = {
            "MaxResultsPerPage": str(PAGE_SIZE),
            "FinancialEventGroupStartedAfter": iso(window[0]),
            "FinancialEventGroupStartedBefore": iso(window[1]),
        }
        groups = self.api.paginate(
            GROUPS_PATH, params, _GROUP_PAGES, operation=GROUPS_OPERATION, check=_envelope
        )
        for index, raw in enumerate(groups):
            group = _parse_group(raw, index)
            if start <= group.start < end:
                lines = self._lines(group)
                yield SettlementBatch(self._settlement(group, lines), tuple(lines))

    def _lines(self, group: _Group) -> list[SettlementLine]:
        path = f"{GROUPS_PATH}/{quote(group.id, safe='')}/financialEvents"
        where = f"{EVENTS_OPERATION} of group {group.id}"
        lines: list[SettlementLine] = []
        pages = self.api.paginate(
            path,
            {"MaxResultsPerPage": str(PAGE_SIZE)},
            _EVENT_PAGES,
            operation=EVENTS_OPERATION,
            check=_envelope,
        )
        for events in pages:
            event_lines(events, group.total.currency, where, lines)
        return lines

    def _settlement(self, group: _Group, lines: Sequence[SettlementLine]) -> Settlement:
        sums = dict.fromkeys(LineCategory, Decimal(0))
        for line in lines:
            sums[line.category] += line.amount
        gross = (
            sums[LineCategory.SALE]
            + sums[LineCategory.SHIPPING]
            + sums[LineCategory.TAX]
            + sums[LineCategory.PROMOTION]
        )
        closed = group.status == "Closed"
        try:
            return Settlement(
                connection_id=self.connection.id,
                provider_settlement_id=group.id,
                period_start=group.start,
                period_end=group.end,
                deposit_date=self._local_date(group),
                currency=group.total.currency,
                gross=gross,
                fees=sums[LineCategory.FEE],
                refunds=sums[LineCategory.REFUND],
                reserves=sums[LineCategory.RESERVE],
                net=group.total.amount,
                status=SettlementStatus.CLOSED if closed else SettlementStatus.OPEN,
            )
        except ValidationError as error:
            raise _invalid(f"group {group.id}", error) from None

    def _local_date(self, group: _Group) -> date | None:
        if group.transferred_at is None:
            return None
        currency = group.total.currency
        home = next((m for m in self.marketplaces if m.currency == currency), self.marketplaces[0])
        return group.transferred_at.astimezone(ZoneInfo(home.timezone)).date()


def _parse_group(raw: Any, index: int) -> _Group:
    try:
        return _Group.model_validate(raw)
    except ValidationError as error:
        raise _invalid(f"{GROUPS_OPERATION}: group #{index}", error) from None


def _invalid(where: str, error: ValidationError) -> UnexpectedPayload:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'the group'}: {e['msg']}"
        for e in error.errors(include_url=False, include_input=False)
    )
    return UnexpectedPayload(PROVIDER, f"{where}: {problems}")


def _region(connection: Connection, codes: Sequence[str]) -> str:
    region = connection.region or connection.config.get("region")
    if region:
        region_url(str(region))
        return str(region).strip().lower()
    if codes:
        return marketplace(codes[0]).region
    raise ConfigError(PROVIDER, "an Amazon connection needs a region: choose na, eu or fe")


def _marketplace_codes(connection: Connection) -> list[str]:
    codes = connection.config.get("marketplaces") or []
    if isinstance(codes, str):
        codes = codes.split(",")
    if not isinstance(codes, list | tuple) or not all(isinstance(c, str) for c in codes):
        raise ConfigError(PROVIDER, "marketplaces must be a list of country codes or ids")
    return [code for code in codes if code.strip()]


def config_for(region: str, marketplaces: Sequence[str]) -> dict[str, Any]:
    """A connection's validated Amazon settings: the region's marketplaces as country codes.

    Every code must name a marketplace of `region`; none given means all of the region's.
    """
    return {"marketplaces": [m.country for m in marketplaces_for(region, marketplaces)]}


def connect(
    connection: Connection,
    *,
    token: TokenSource,
    clock: Clock,
    transport: httpx2.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    on_retry: ErrorCallback | None = None,
) -> AmazonFinances:
    """The settlements feed of an Amazon connection.

    Reads `connection.region` (na, eu, fe) and `config`: `marketplaces` (codes or ids; default
    every marketplace of the region) and `api_base_url` (default: the region's endpoint).
    """
    if connection.provider != PROVIDER:
        raise ConfigError(PROVIDER, f"connection {connection.id} is for {connection.provider}")
    codes = _marketplace_codes(connection)
    region = _region(connection, codes)
    marketplaces = marketplaces_for(region, codes)
    base_url = connection.config.get("api_base_url") or region_url(region)
    api = ApiClient(
        PROVIDER,
        make_http(str(base_url).rstrip("/"), transport),
        limiter=RateLimiter(clock, operations=RATES),
        clock=clock,
        auth=TokenAuth(token, header=ACCESS_HEADER, prefix=""),
        retry=retry,
        classify=_classify,
        on_retry=on_retry,
        refresh_on=(401, 403),
    )
    return AmazonFinances(api, connection, marketplaces)
