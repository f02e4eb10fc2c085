"""A deterministic Amazon seller history, generated lazily: financial event groups and events.

Group `i` of a seller starts at `spec.start + i * cadence` and ends one cadence later; everything
about it (id, events, amounts) derives from `(seed, seller, i)` alone, so a 10,000-group seller
costs nothing until a group is asked for. Amounts are integers in the currency's minor unit
(JPY has none) and a group's total is exactly the sum of its lines.
"""

from __future__ import annotations

import base64
import hashlib
import random
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.amazon_marketplaces import CURRENCY_EXPONENTS, marketplace

SETTLE_MARGIN = 300  # seconds: a group's last event is posted before it closes
CACHE_LINES = 200_000  # events of recent groups kept for paging, counted in lines
# Rough units of each currency per US dollar, so prices look local.
PER_DOLLAR = {"MXN": 17, "BRL": 5, "SEK": 10, "PLN": 4, "TRY": 30, "EGP": 50, "ZAR": 18}
PER_DOLLAR |= {"AED": 4, "SAR": 4, "INR": 80, "JPY": 150}


@dataclass(frozen=True, kw_only=True)
class SellerSpec:
    """How a sandbox seller's settlement history looks."""

    currency: str = "USD"
    start: datetime
    cadence: timedelta = timedelta(days=14)
    lines_per_group: int = 30
    marketplace: str = "US"

    def __post_init__(self) -> None:
        if self.currency not in CURRENCY_EXPONENTS:
            raise ValueError(f"unknown currency {self.currency!r}")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.cadence < timedelta(minutes=10):
            raise ValueError("cadence must be at least 10 minutes")
        if self.lines_per_group < 1:
            raise ValueError("lines_per_group must be at least 1")
        marketplace(self.marketplace)


@dataclass(slots=True)
class Event:
    """One financial event; amounts in minor units, each (type, amount) pair is one line.

    Only `posted` changes, once, while its group is generated.
    """

    list_name: str
    posted: int  # epoch seconds
    order_id: str | None
    sku: str | None
    quantity: int
    charges: tuple[tuple[str, int], ...] = ()
    fees: tuple[tuple[str, int], ...] = ()
    promotions: tuple[tuple[str, int], ...] = ()
    withheld: tuple[tuple[str, int], ...] = ()

    @property
    def lines(self) -> int:
        return len(self.charges) + len(self.fees) + len(self.promotions) + len(self.withheld)

    @property
    def total(self) -> int:
        return sum(
            a for part in (self.charges, self.fees, self.promotions, self.withheld) for _, a in part
        )


@dataclass(frozen=True, slots=True)
class Summary:
    """What a group looks like at one moment: the events posted so far."""

    total: int
    lines: int
    visible: int  # how many events


@dataclass(frozen=True, slots=True)
class Generated:
    """A group's events in posting order, with running sums for any cut-off."""

    events: tuple[Event, ...]
    posted: tuple[int, ...]
    totals: tuple[int, ...]  # totals[k]: the sum of the first k events
    lines: tuple[int, ...]

    def upto(self, cutoff: datetime) -> Summary:
        visible = bisect_left(self.posted, cutoff.timestamp())
        return Summary(self.totals[visible], self.lines[visible], visible)


class History:
    """One seller's groups and events, generated on demand from `(seed, seller, index)`."""

    def __init__(self, seller: str, spec: SellerSpec, seed: int) -> None:
        self.seller = seller
        self.spec = spec
        self.seed = seed
        self.exponent = CURRENCY_EXPONENTS[spec.currency]
        self._origin = spec.start.astimezone(UTC)
        self._cadence = int(spec.cadence.total_seconds())
        self._ids: dict[str, int] = {}
        self._complete: dict[int, Summary] = {}
        self._cache: OrderedDict[int, Generated] = OrderedDict()
        self._cached_lines = 0

    def count(self, now: datetime) -> int:
        """How many groups have started by `now` (the last of them is still open)."""
        if now < self._origin:
            return 0
        return int((now - self._origin).total_seconds()) // self._cadence + 1

    def start(self, index: int) -> datetime:
        return self._origin + timedelta(seconds=index * self._cadence)

    def end(self, index: int) -> datetime:
        return self.start(index + 1)

    def started_between(self, after: datetime, before: datetime, now: datetime) -> range:
        """Indices of the groups started in `[after, before)` and by `now`."""
        first = max(0, -(-int((after - self._origin).total_seconds()) // self._cadence))
        stop = max(0, -(-int((before - self._origin).total_seconds()) // self._cadence))
        return range(first, min(stop, self.count(now)))

    def group_id(self, index: int) -> str:
        digest = hashlib.sha256(f"{self.seed}/{self.seller}/{index}".encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def index_of(self, group_id: str, now: datetime) -> int | None:
        """The index of an id among the groups started by `now`."""
        for index in range(len(self._ids), self.count(now)):
            self._ids[self.group_id(index)] = index
        found = self._ids.get(group_id)
        return found if found is not None and found < self.count(now) else None

    def generated(self, index: int) -> Generated:
        """A group's events (kept for a while: their pages are asked for in a row)."""
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        group = self._generate(index)
        self._cache[index] = group
        self._cached_lines += group.lines[-1]
        while self._cached_lines > CACHE_LINES and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cached_lines -= dropped.lines[-1]
        return group

    def summary(self, index: int, cutoff: datetime) -> Summary:
        """Total and line count of the events posted before `cutoff`."""
        known = self._complete.get(index)
        if known is not None:
            return known
        group = self.generated(index)
        result = group.upto(cutoff)
        if result.visible == len(group.events):  # a closed group never changes again
            self._complete[index] = result
        return result

    def _generate(self, index: int) -> Generated:
        rng = random.Random(f"{self.seed}/{self.seller}/{index}")
        maker = _EventMaker(rng, self.spec.currency, self.exponent, index)
        events: list[Event] = []
        totals, lines = [0], [0]
        room = self.spec.lines_per_group
        while room > 0:
            event = maker.make(room)
            events.append(event)
            totals.append(totals[-1] + event.total)
            lines.append(lines[-1] + event.lines)
            room -= event.lines
        start = int(self.start(index).timestamp())
        span = max(1, self._cadence - SETTLE_MARGIN)
        times = sorted(start + int(rng.random() * span) for _ in events)
        for event, posted in zip(events, times, strict=True):
            event.posted = posted
        return Generated(tuple(events), tuple(times), tuple(totals), tuple(lines))


class _EventMaker:
    """Realistic events: mostly sales, some refunds, the odd fee, adjustment and ad charge."""

    def __init__(self, rng: random.Random, currency: str, exponent: int, group: int) -> None:
        self._r = rng.random
        self._per_cent: int = PER_DOLLAR.get(currency, 1) * 10**exponent
        self._group = group
        self._serial = 0

    def _money(self, low_cents: int, high_cents: int) -> int:
        cents = low_cents + int(self._r() * (high_cents - low_cents))
        return cents * self._per_cent // 100

    def _order(self) -> str:
        self._serial += 1
        prefix, middle = 100 + int(self._r() * 900), int(self._r() * 10**7)
        return f"{prefix}-{middle:07d}-{self._group % 10**5:05d}{self._serial % 100:02d}"

    def make(self, room: int) -> Event:
        pick = self._r()
        if room >= 2 and pick < 0.86:
            return self._sale(room)
        if room >= 2 and pick < 0.94:
            return self._refund(room)
        if pick < 0.97:
            return self._service_fee()
        if pick < 0.99:
            return self._adjustment()
        return self._ads()

    def _sale(self, room: int) -> Event:
        r = self._r
        sku = int(r() * 400)
        quantity = 1 if r() < 0.8 else 2 + int(r() * 2)
        principal = (599 + sku * 7919 % 8400) * self._per_cent // 100 * quantity
        charges = [("Principal", principal)]
        fees = [("Commission", -max(1, principal * 15 // 100))]
        withheld: list[tuple[str, int]] = []
        promotions: list[tuple[str, int]] = []
        room -= 2
        if room >= 1 and r() < 0.5:
            tax = principal * 8 // 100
            charges.append(("Tax", tax))
            room -= 1
            if room >= 1 and r() < 0.7:
                withheld.append(("MarketplaceFacilitatorTax-Principal", -tax))
                room -= 1
        if room >= 1 and r() < 0.3:
            charges.append(("ShippingCharge", self._money(399, 999)))
            room -= 1
        if room >= 1 and r() < 0.7:
            fees.append(("FBAPerUnitFulfillmentFee", -self._money(250, 650) * quantity))
            room -= 1
        if room >= 1 and r() < 0.1:
            promotions.append(("PromotionMetaDataDefinitionValue", -principal // 10))
        return Event(
            "ShipmentEventList",
            0,
            self._order(),
            f"SKU-{sku:04d}",
            quantity,
            tuple(charges),
            tuple(fees),
            tuple(promotions),
            tuple(withheld),
        )

    def _refund(self, room: int) -> Event:
        r = self._r
        sku = int(r() * 400)
        principal = (599 + sku * 7919 % 8400) * self._per_cent // 100
        commission = max(1, principal * 15 // 100)
        charges = [("Principal", -principal)]
        fees = [("Commission", commission)]
        if room >= 3 and r() < 0.6:
            fees.append(("RefundCommission", -max(1, commission // 5)))
        if room >= len(charges) + len(fees) + 1 and r() < 0.4:
            charges.append(("Tax", -(principal * 8 // 100)))
        return Event(
            "RefundEventList", 0, self._order(), f"SKU-{sku:04d}", 1, tuple(charges), tuple(fees)
        )

    def _service_fee(self) -> Event:
        kind = ("FBAStorageFee", "Subscription", "FBALongTermStorageFee")[int(self._r() * 3)]
        return Event(
            "ServiceFeeEventList", 0, None, None, 0, fees=((kind, -self._money(99, 3999)),)
        )

    def _adjustment(self) -> Event:
        if self._r() < 0.5:
            return Event(
                "AdjustmentEventList",
                0,
                None,
                None,
                0,
                charges=(("ReserveEvent", -self._money(1000, 9000)),),
            )
        return Event(
            "AdjustmentEventList",
            0,
            None,
            f"SKU-{int(self._r() * 400):04d}",
            1,
            charges=(("FBAInventoryReimbursement", self._money(500, 5000)),),
        )

    def _ads(self) -> Event:
        return Event(
            "ProductAdsPaymentEventList",
            0,
            None,
            None,
            0,
            charges=(("Charge", -self._money(1000, 20000)),),
        )
