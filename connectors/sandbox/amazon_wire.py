"""Amazon's wire format for the sandbox: query parameters in; groups, events and errors out.

Pages are written as text, not through `json.dumps`, so that amounts come out as JSON numbers
with their exact decimal digits (`12.30`, `1500` for yen) and a page of a hundred events costs
microseconds per line: the benchmark syncs a million lines through it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime

import httpx2

from connectors.amazon_marketplaces import marketplace
from connectors.sandbox.amazon_history import Event, History


def errors(code: str, message: str, details: str = "") -> str:
    """A v0 error body: `{"errors": [{"code", "message", "details"}]}`."""
    return json.dumps({"errors": [{"code": code, "message": message, "details": details}]})


class Rejected(Exception):
    """An error answer: the status and the one `Error` of its `errors` list."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        self.status, self.code, self.message, self.details = status, code, message, details
        super().__init__(message)


def invalid(message: str) -> Rejected:
    """A 400 `InvalidInput`."""
    return Rejected(400, "InvalidInput", message)


def query_date(params: httpx2.QueryParams, name: str) -> datetime | None:
    """An ISO 8601 query parameter (a date alone means midnight UTC); None when absent."""
    value = params.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(f"{name} is not an ISO 8601 date-time: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def page_size(params: httpx2.QueryParams, default: int) -> int:
    """`MaxResultsPerPage`, which the spec bounds to 1..100."""
    value = params.get("MaxResultsPerPage")
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise invalid(f"MaxResultsPerPage must be an integer from 1 to 100, not {value!r}")
    return int(value)


def paging(
    params: httpx2.QueryParams, owner: str, count: int, size: int, repeat: bool
) -> tuple[int, str | None]:
    """The offset a request asks for and the token of the page after it (None at the end).

    A token is only good with the arguments of the call that produced it.
    """
    query = sorted((k, v) for k, v in params.multi_items() if k != "NextToken")
    fingerprint = hashlib.sha256(f"{owner}/{query}".encode()).hexdigest()[:16]
    offset = 0
    if "NextToken" in params:
        offset = _token_offset(params["NextToken"], fingerprint)
    following = offset if repeat else offset + size
    if following >= count and not repeat:
        return offset, None
    raw = f"{fingerprint}:{following}".encode()
    return offset, base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _token_offset(token: str, fingerprint: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        mark, offset = raw.split(":")
        if mark == fingerprint:
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise invalid("Invalid NextToken: pass it with the arguments of the call that made it.")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def amount_text(minor: int, exponent: int) -> str:
    """Exact decimal text of a minor-unit amount: 1234 -> `12.34` (exponent 2), `1234` (0)."""
    if exponent == 0:
        return str(minor)
    digits = f"{abs(minor):0{exponent + 1}d}"
    return f"{'-' if minor < 0 else ''}{digits[:-exponent]}.{digits[-exponent:]}"


def iso_seconds(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class Renderer:
    """Events as Amazon's JSON, with amounts as exact decimal numbers."""

    def __init__(self, history: History) -> None:
        spec = history.spec
        self._exponent = history.exponent
        self._money = f'{{"CurrencyCode":"{spec.currency}","CurrencyAmount":'
        site = marketplace(spec.marketplace).site
        self._market = site[0].upper() + site[1:]

    def group(self, history: History, index: int, total: int, now: datetime) -> str:
        """A `FinancialEventGroup`: open ones have no end, no transfer date and no trace id."""
        group_id, end = history.group_id(index), history.end(index)
        closed = end <= now
        fields = [
            f'"FinancialEventGroupId":"{group_id}"',
            f'"ProcessingStatus":"{"Closed" if closed else "Open"}"',
            f'"FundTransferStatus":"{"Succeeded" if closed else "Unknown"}"',
            f'"OriginalTotal":{self.money(total)}',
        ]
        if closed:
            trace = hashlib.sha256(group_id.encode()).hexdigest()[:16].upper()
            fields += [
                f'"ConvertedTotal":{self.money(total)}',
                f'"FundTransferDate":"{iso(end)}"',
                f'"TraceId":"{trace}"',
                f'"AccountTail":"{history.seed % 1000:03d}"',
            ]
        fields += [
            f'"BeginningBalance":{self.money(0)}',
            f'"FinancialEventGroupStart":"{iso(history.start(index))}"',
        ]
        if closed:
            fields.append(f'"FinancialEventGroupEnd":"{iso(end)}"')
        return "{" + ",".join(fields) + "}"

    def money(self, minor: int) -> str:
        """An Amazon `Currency` object."""
        return f"{self._money}{amount_text(minor, self._exponent)}}}"

    def _components(self, pairs: tuple[tuple[str, int], ...], type_key: str, key: str) -> str:
        head, exponent = f'{{"{type_key}":"', self._exponent
        middle = f'","{key}":{self._money}'
        return ",".join(f"{head}{kind}{middle}{amount_text(a, exponent)}}}}}" for kind, a in pairs)

    def event(self, event: Event) -> str:
        """One event of any list the history generates."""
        posted = iso_seconds(event.posted)
        if event.list_name == "ShipmentEventList":
            return self._shipment(event, posted)
        if event.list_name == "RefundEventList":
            return self._refund(event, posted)
        if event.list_name == "ServiceFeeEventList":
            fees = self._components(event.fees, "FeeType", "FeeAmount")
            reason = event.fees[0][0]
            return f'{{"FeeReason":"{reason}","FeeList":[{fees}],"FeeDescription":"{reason}"}}'
        if event.list_name == "AdjustmentEventList":
            return self._adjustment(event, posted)
        total = event.charges[0][1]
        base = -(-total * 10 // 11) if total < 0 else total * 10 // 11
        return (
            f'{{"postedDate":"{posted}","transactionType":"Charge","invoiceId":"TR{event.posted}",'
            f'"baseValue":{self.money(base)},"taxValue":{self.money(total - base)},'
            f'"transactionValue":{self.money(total)}}}'
        )

    def _order(self, event: Event, posted: str) -> str:
        order = event.order_id
        return (
            f'"AmazonOrderId":"{order}","SellerOrderId":"{order}",'
            f'"MarketplaceName":"{self._market}","PostedDate":"{posted}"'
        )

    def _shipment(self, event: Event, posted: str) -> str:
        item_id = str(event.order_id).replace("-", "")
        withheld = ""
        if event.withheld:
            taxes = self._components(event.withheld, "ChargeType", "ChargeAmount")
            withheld = (
                ',"ItemTaxWithheldList":[{"TaxCollectionModel":"MarketplaceFacilitator",'
                f'"TaxesWithheld":[{taxes}]}}]'
            )
        promotions = ",".join(
            f'{{"PromotionType":"{kind}","PromotionId":"PR{item_id}",'
            f'"PromotionAmount":{self.money(a)}}}'
            for kind, a in event.promotions
        )
        return (
            f'{{{self._order(event, posted)},"ShipmentItemList":[{{"SellerSKU":"{event.sku}",'
            f'"OrderItemId":"{item_id}","QuantityShipped":{event.quantity},'
            f'"ItemChargeList":[{self._components(event.charges, "ChargeType", "ChargeAmount")}],'
            f'"ItemFeeList":[{self._components(event.fees, "FeeType", "FeeAmount")}]'
            f'{withheld},"PromotionList":[{promotions}]}}]}}'
        )

    def _refund(self, event: Event, posted: str) -> str:
        charges = self._components(event.charges, "ChargeType", "ChargeAmount")
        fees = self._components(event.fees, "FeeType", "FeeAmount")
        return (
            f'{{{self._order(event, posted)},"ShipmentItemAdjustmentList":[{{'
            f'"SellerSKU":"{event.sku}","OrderAdjustmentItemId":"A{event.posted}",'
            f'"QuantityShipped":{event.quantity},"ItemChargeAdjustmentList":[{charges}],'
            f'"ItemFeeAdjustmentList":[{fees}]}}]}}'
        )

    def _adjustment(self, event: Event, posted: str) -> str:
        kind, minor = event.charges[0]
        items = ""
        if event.sku is not None:
            items = (
                f',"AdjustmentItemList":[{{"Quantity":"1","PerUnitAmount":{self.money(minor)},'
                f'"TotalAmount":{self.money(minor)},"SellerSKU":"{event.sku}"}}]'
            )
        return (
            f'{{"AdjustmentType":"{kind}","PostedDate":"{posted}",'
            f'"AdjustmentAmount":{self.money(minor)}{items}}}'
        )
