"""A fake Amazon: the Login with Amazon token endpoint and Finances API v0, with scenario controls.

It follows `shared/specs/amazon/financesV0.json`: the `{"payload", "errors"}` envelope, the
capitalised `NextToken`, `MaxResultsPerPage` bounds, group windows of at most 180 days (longer
ones list nothing), dates at least two minutes old, 403 for a missing, expired or refused access
token, and 0.5 requests per second with a burst of 30 per seller and operation (429
`QuotaExceeded`, without a rate-limit header). Sellers are the subjects of the LWA grants.
"""

from __future__ import annotations

import re
import threading
import uuid
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2

from connectors.clock import Clock, SimulatedClock
from connectors.ratelimit import Rate, TokenBucket
from connectors.sandbox.amazon_auth import (
    APP_NAME,
    APPLICATION_ID,
    CONSENT_PATH,
    consent_dialect,
    lwa_server,
)
from connectors.sandbox.amazon_controls import actions
from connectors.sandbox.amazon_history import Event, History, SellerSpec
from connectors.sandbox.amazon_report import settlement_report
from connectors.sandbox.amazon_wire import (
    Rejected,
    Renderer,
    errors,
    invalid,
    page_size,
    paging,
    query_date,
)
from connectors.sandbox.faults import FaultPlan, fault_response
from connectors.sandbox.grants import AccessDenied

__all__ = ["AmazonSandbox", "SellerSpec"]

TOKEN_PATH = "/auth/o2/token"
GROUPS_PATH = "/finances/v0/financialEventGroups"
EVENTS_PATH = re.compile(r"^/finances/v0/financialEventGroups/([^/]+)/financialEvents$")
GROUPS, EVENTS = "listFinancialEventGroups", "listFinancialEventsByGroupId"
RATE = Rate(0.5, 30)
DELAY = timedelta(minutes=2)
WINDOW = timedelta(days=180)
DEFAULT_SELLER = "seller"
EVENT_LISTS = (
    "ShipmentEventList",
    "RefundEventList",
    "GuaranteeClaimEventList",
    "ChargebackEventList",
    "ServiceFeeEventList",
    "AdjustmentEventList",
    "ProductAdsPaymentEventList",
    "DebtRecoveryEventList",
)
DENIED = {
    "missing": "Access token is missing in the request header.",
    "expired": "The access token you provided has expired.",
    "invalid": "The access token you provided is revoked, malformed or invalid.",
    "revoked": "The access token you provided is revoked, malformed or invalid.",
}
QUOTA = "You exceeded your quota for the requested resource."
CLIENT_ID = "amzn1.application-oa2-client.sandbox"
CLIENT_SECRET = "sandbox-client-secret"


class AmazonSandbox:
    """Amazon's LWA token endpoint, Seller Central consent and Finances v0 for a few sellers.

    The consent page (`GET /apps/authorize/consent?application_id=...&state=...&redirect_uri=...`)
    offers the sandbox's sellers; the chosen one becomes the grant's subject and comes back as
    `selling_partner_id` with `spapi_oauth_code`, which the LWA token endpoint exchanges (for
    5 minutes, with the same redirect_uri). The sandbox has no registered redirect URI, so the
    consent URL must carry one.
    """

    name = "amazon"

    def __init__(
        self,
        clock: Clock,
        *,
        sellers: Mapping[str, SellerSpec] | None = None,
        seed: int = 1,
        enforce_rate_limits: bool = True,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        application_id: str = APPLICATION_ID,
        app_name: str = APP_NAME,
    ) -> None:
        self.clock = clock
        if sellers is None:
            start = (clock.now() - timedelta(days=364)).replace(hour=0, minute=0, second=0)
            sellers = {DEFAULT_SELLER: SellerSpec(start=start.replace(microsecond=0))}
        self._histories = {name: History(name, spec, seed) for name, spec in sellers.items()}
        self.seed = seed
        self.enforce_rate_limits = enforce_rate_limits
        self.client_id, self.client_secret = client_id, client_secret
        self.application_id = application_id
        self.grants = lwa_server(clock, client_id, client_secret, app_name, list(sellers))
        self.consent_dialect = consent_dialect(application_id, client_id)
        self._faults = FaultPlan()
        self._lock = threading.RLock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._hidden: dict[str, set[int]] = {name: set() for name in self._histories}
        self._withheld: dict[tuple[str, int], tuple[int, int]] = {}  # event index range
        self._calls: Counter[str] = Counter()
        self._throttled = 0
        self._requests = 0

    # ---- the HTTP side ---------------------------------------------------------------------

    def handles(self, path: str) -> bool:
        return path in (TOKEN_PATH, CONSENT_PATH) or path.startswith(GROUPS_PATH)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request the way Amazon would."""
        if request.url.path == TOKEN_PATH:
            return self.grants.token(request)
        if request.url.path == CONSENT_PATH:
            return self.grants.authorize(request, self.consent_dialect)
        with self._lock:
            self._requests += 1
            try:
                return self._finances(request)
            except Rejected as rejected:
                if rejected.status == 429:
                    self._throttled += 1
                body = errors(rejected.code, rejected.message, rejected.details)
                return self._respond(rejected.status, body)

    def _finances(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        match = EVENTS_PATH.match(path)
        if request.method != "GET" or not (match or path == GROUPS_PATH):
            raise Rejected(404, "NotFound", f"No operation serves {request.method} {path}.")
        self._calls[EVENTS if match else GROUPS] += 1
        fault = self._faults.take(path)
        if fault is not None:
            injected = fault_response(fault, self._errors_body, self._quota_exceeded)
            if injected is not None:
                self._throttled += fault.kind == "429"
                injected.headers["x-amzn-RequestId"] = self._request_id()
                return injected
        repeat = fault is not None and fault.kind == "repeat_token"
        seller = self._seller(request)
        self._spend(seller, EVENTS if match else GROUPS)
        params = request.url.params
        if match:
            return self._respond(200, self._events_page(seller, match.group(1), params, repeat))
        return self._respond(200, self._groups_page(seller, params, repeat))

    def _respond(self, status: int, body: str) -> httpx2.Response:
        headers = {"content-type": "application/json", "x-amzn-RequestId": self._request_id()}
        if status in (200, 400, 404):
            headers["x-amzn-RateLimit-Limit"] = str(RATE.per_second)
        return httpx2.Response(status, content=body.encode(), headers=headers)

    def _request_id(self) -> str:
        return str(uuid.UUID(int=(self.seed << 64) | self._requests))

    def _errors_body(self) -> httpx2.Response:
        return self._respond(200, errors("InternalFailure", "We encountered an internal error."))

    def _quota_exceeded(self, retry_after: float | None) -> httpx2.Response:
        response = self._respond(429, errors("QuotaExceeded", QUOTA))
        if retry_after is not None:
            response.headers["Retry-After"] = f"{retry_after:g}"
        return response

    def _seller(self, request: httpx2.Request) -> str:
        try:
            return self.grants.access_subject(request.headers.get("x-amz-access-token"))
        except AccessDenied as denied:
            message = "Access to requested resource is denied."
            raise Rejected(403, "Unauthorized", message, DENIED[denied.reason]) from None

    def _spend(self, seller: str, operation: str) -> None:
        if not self.enforce_rate_limits:
            return
        bucket = self._buckets.get((seller, operation))
        if bucket is None:
            bucket = self._buckets[seller, operation] = TokenBucket(RATE, self.clock)
        if bucket.wait_time() > 1e-6:  # a client that waited exactly its share is served
            raise Rejected(429, "QuotaExceeded", QUOTA)
        bucket.take()

    # ---- listFinancialEventGroups ----------------------------------------------------------

    def _groups_page(self, seller: str, params: httpx2.QueryParams, repeat: bool) -> str:
        size = page_size(params, default=10)
        now = self.clock.now()
        latest = now - DELAY
        before = query_date(params, "FinancialEventGroupStartedBefore") or latest
        after = query_date(params, "FinancialEventGroupStartedAfter") or before - WINDOW
        if before > latest or after > latest:
            raise invalid("Dates must be more than two minutes before the time of the request.")
        if after >= before:
            raise invalid("FinancialEventGroupStartedBefore must be after the StartedAfter date.")
        history = self._histories.get(seller)
        indices: list[int] = []
        if history is not None and before - after <= WINDOW:
            hidden = self._hidden[seller]
            indices = [i for i in history.started_between(after, before, now) if i not in hidden]
        offset, token = paging(params, f"{self.seed}/{seller}", len(indices), size, repeat)
        groups = ",".join(self._group(history, i, now) for i in indices[offset : offset + size])
        head = f'"NextToken":"{token}",' if token else ""
        return f'{{"payload":{{{head}"FinancialEventGroupList":[{groups}]}}}}'

    def _group(self, history: History | None, index: int, now: datetime) -> str:
        assert history is not None  # only indices of a known seller get here
        total = history.summary(index, now - DELAY).total
        return Renderer(history).group(history, index, total, now)

    # ---- listFinancialEventsByGroupId ------------------------------------------------------

    def _events_page(
        self, seller: str, group_id: str, params: httpx2.QueryParams, repeat: bool
    ) -> str:
        size = page_size(params, default=100)
        now = self.clock.now()
        history = self._histories.get(seller)
        index = history.index_of(group_id, now) if history is not None else None
        if history is None or index is None:
            raise Rejected(404, "NotFound", f"Financial event group {group_id} was not found.")
        after, before = self._posted_window(params, now)
        group = history.generated(index)
        first = bisect_left(group.posted, after.timestamp()) if after else 0
        cut = bisect_left(group.posted, before.timestamp())
        visible = self._listed((seller, index), group.events, first, cut)
        if after is not None and before - after > WINDOW:
            visible = ()
        offset, token = paging(params, f"{self.seed}/{seller}", len(visible), size, repeat)
        render = Renderer(history)
        lists: dict[str, list[str]] = {name: [] for name in EVENT_LISTS}
        for event in visible[offset : offset + size]:
            lists[event.list_name].append(render.event(event))
        body = ",".join(f'"{name}":[{",".join(items)}]' for name, items in lists.items())
        head = f'"NextToken":"{token}",' if token else ""
        return f'{{"payload":{{{head}"FinancialEvents":{{{body}}}}}}}'

    def _listed(
        self, key: tuple[str, int], events: Sequence[Event], first: int, cut: int
    ) -> Sequence[Event]:
        held = self._withheld.get(key)
        if held is None:
            return events[first:cut]
        return [e for i, e in enumerate(events[first:cut], first) if not held[0] <= i < held[1]]

    @staticmethod
    def _posted_window(
        params: httpx2.QueryParams, now: datetime
    ) -> tuple[datetime | None, datetime]:
        after, before = query_date(params, "PostedAfter"), query_date(params, "PostedBefore")
        if before is not None and after is None:
            raise invalid("PostedBefore needs PostedAfter.")
        before = before or now - DELAY
        if before > now - DELAY or (after is not None and after >= before):
            raise invalid("PostedAfter must be before PostedBefore, both two minutes old.")
        return after, before

    # ---- scenario controls -----------------------------------------------------------------

    def issue_refresh_token(self, seller: str = DEFAULT_SELLER) -> str:
        """A refresh token for `seller`, as Seller Central's self-authorisation hands out."""
        self._history(seller)
        return self.grants.issue_refresh_token(seller)

    def revoke(self, seller: str = DEFAULT_SELLER) -> None:
        """The seller removes the app: its refresh and access tokens stop working."""
        self.grants.revoke_all(seller)

    def expire_access_tokens(self) -> None:
        self.grants.expire_access_tokens()

    def add_fault(
        self,
        kind: str,
        *,
        path_prefix: str = "/",
        times: int = 1,
        retry_after: float | None = None,
        status: int = 200,
    ) -> None:
        """Answer the next `times` matching requests (-1: until cleared) with a fault."""
        self._faults.add(
            kind, path_prefix=path_prefix, times=times, retry_after=retry_after, status=status
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    def hide(self, seller: str, start: datetime, end: datetime) -> int:
        """Groups started in `[start, end)` vanish from the listings; returns how many."""
        with self._lock:
            indices = self._history(seller).started_between(start, end, end)
            self._hidden[seller].update(indices)
            return len(indices)

    def restore(self, seller: str, start: datetime, end: datetime) -> int:
        """Groups started in `[start, end)` are listed again; returns how many."""
        with self._lock:
            indices = self._history(seller).started_between(start, end, end)
            self._hidden[seller].difference_update(indices)
            return len(indices)

    def withhold_events(self, seller: str, group_id: str, count: int) -> dict[str, Any]:
        """The group's event listing leaves out its last `count` events (0: lists all again).

        `OriginalTotal` in the group listing still counts them, as while Amazon is still
        posting a group's events: the lines fetched do not add up to the settlement's total.
        The events held back are the last `count` posted so far; returns their sum.
        """
        with self._lock:
            history = self._history(seller)
            now = self.clock.now()
            index = history.index_of(group_id, now)
            if index is None:
                raise ValueError(f"seller {seller!r} has no financial event group {group_id!r}")
            posted = history.summary(index, now - DELAY).visible
            if not 0 <= count <= posted:
                raise ValueError(f"count must be between 0 and {posted}, the events posted so far")
            self._withheld[seller, index] = (posted - count, posted)
            if count == 0:
                del self._withheld[seller, index]
            held = history.generated(index).events[posted - count : posted]
            amount = Decimal(sum(event.total for event in held)).scaleb(-history.exponent)
            lines = sum(event.lines for event in held)
            return {"group_id": group_id, "events": count, "lines": lines, "amount": str(amount)}

    def deny_consent(self, deny: bool = True) -> None:
        """While set, a consent decision counts as declined, whichever button was pressed."""
        self.grants.deny_consent = deny

    def groups(self, seller: str = DEFAULT_SELLER) -> list[dict[str, Any]]:
        """The truth about a seller's groups, as of now, for tests to compare with."""
        with self._lock:
            history = self._history(seller)
            now = self.clock.now()
            return [self._truth(history, index, now) for index in range(history.count(now))]

    def _truth(self, history: History, index: int, now: datetime) -> dict[str, Any]:
        summary = history.summary(index, now - DELAY)
        closed = history.end(index) <= now
        total = Decimal(summary.total).scaleb(-history.exponent)
        return {
            "id": history.group_id(index),
            "start": history.start(index),
            "end": history.end(index) if closed else None,
            "status": "Closed" if closed else "Open",
            "currency": history.spec.currency,
            "total": str(total),
            "lines": summary.lines,
            "hidden": index in self._hidden[history.seller],
        }

    def advance(self, seconds: float) -> datetime:
        """Move a simulated clock forward."""
        self._simulated().advance(timedelta(seconds=seconds))
        return self.clock.now()

    def set_time(self, iso: str) -> datetime:
        """Set a simulated clock (ISO 8601 with an offset)."""
        self._simulated().set(datetime.fromisoformat(iso))
        return self.clock.now()

    def stats(self) -> dict[str, Any]:
        """Calls per operation, 429s sent, refresh grants, faults injected."""
        with self._lock:
            return {
                "calls": dict(self._calls),
                "throttled": self._throttled,
                "refresh_grants": self.grants.refresh_grants,
                "faults_injected": self._faults.injected,
            }

    def control(self, action: str, payload: dict[str, Any]) -> Any:
        """Drive a scenario by name, with JSON arguments (the loopback server's control API)."""
        table = actions(self, payload)
        if action not in table:
            raise ValueError(f"unknown action {action!r}; choose one of {', '.join(table)}")
        return table[action]()

    def settlement_report(self, seller: str, group_id: str) -> str:
        """The V2 settlement report file of one group, as Seller Central would serve it."""
        return settlement_report(self._history(seller), group_id, self.clock.now(), self._lock)

    def _history(self, seller: str) -> History:
        try:
            return self._histories[seller]
        except KeyError:
            raise ValueError(
                f"unknown seller {seller!r}; the sandbox has {', '.join(self._histories)}"
            ) from None

    def _simulated(self) -> SimulatedClock:
        if not isinstance(self.clock, SimulatedClock):
            raise ValueError("the sandbox runs on the system clock: time cannot be moved")
        return self.clock
