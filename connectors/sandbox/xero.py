"""A fake Xero: identity (OAuth 2.0, connections) and the Accounting API, on one host.

It follows the official spec (`specs/xero/`) and the behaviours of ledger-apis.md §A that the
spec leaves out: the `xero-tenant-id` check (403), expired tokens (401 `TokenExpired`), rate
limits with their headers, the short-lived `Idempotency-Key` cache (a resend after the TTL
creates a duplicate, as Xero does), `summarizeErrors`, and the 3.5 MB body cap. Scenario
controls drive grants, tenants, faults, the clock and the cache.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx2

from connectors.clock import Clock, SimulatedClock
from connectors.sandbox.faults import FaultPlan, fault_response
from connectors.sandbox.grants import AccessDenied, GrantServer
from connectors.sandbox.kill import KillPlan
from connectors.sandbox.xero_endpoints import Call, dispatch
from connectors.sandbox.xero_identity import Connections
from connectors.sandbox.xero_limits import (
    CONFLICT,
    Cached,
    IdempotencyCache,
    Limits,
    Verdict,
    fingerprint,
)
from connectors.sandbox.xero_render import (
    bad_request,
    invoice_truth,
    not_connected,
    problem,
    respond,
    token_expired,
    validation_exception,
)
from connectors.sandbox.xero_store import Books

CLIENT_ID = "sandbox-xero-client"
CLIENT_SECRET = "sandbox-xero-secret"
APP_NAME = "Reconciliation Workbench"  # the name the sandbox app is registered under
DEFAULT_TENANTS = ("Demo Company (UK)",)
ACCOUNTING = "/api.xro/2.0/"
AUTHORIZE_PATH = "/identity/connect/authorize"
TOKEN_PATH = "/connect/token"
REVOCATION_PATH = "/connect/revocation"
BODY_LIMIT = int(3.5 * 1024 * 1024)
KEY_LIMIT = 128
HOLD_LIMIT = 10.0  # seconds a held request waits for release() before it goes on anyway
OFFERED_SCOPES = (
    "openid profile email offline_access accounting.transactions accounting.transactions.read"
    " accounting.invoices accounting.invoices.read accounting.payments accounting.payments.read"
    " accounting.banktransactions accounting.banktransactions.read accounting.manualjournals"
    " accounting.manualjournals.read accounting.settings accounting.settings.read"
    " accounting.contacts accounting.contacts.read accounting.attachments"
    " accounting.attachments.read"
)
_TENANT_NAMESPACE = uuid.UUID("6f1d2c1e-52a4-4c55-9a0e-7d1f0c3b8e21")


def tenant_id_for(name: str) -> str:
    """The stable tenant id the sandbox gives an organisation name."""
    return str(uuid.uuid5(_TENANT_NAMESPACE, name))


class XeroSandbox:
    """Xero's identity and accounting endpoints with scenario controls."""

    name = "xero"

    def __init__(
        self,
        clock: Clock,
        *,
        idempotency_ttl: timedelta = timedelta(minutes=6),
        enforce_rate_limits: bool = True,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        tenants: Sequence[str] = DEFAULT_TENANTS,
        base_currency: str = "GBP",
        app_name: str = APP_NAME,
    ) -> None:
        self.clock = clock
        self.client_id, self.client_secret = client_id, client_secret
        self.grants = GrantServer(
            clock,
            clients={client_id: client_secret},
            access_ttl=timedelta(minutes=30),
            rotate_refresh=True,
            refresh_grace=timedelta(minutes=30),
            refresh_idle_ttl=timedelta(days=60),
            client_auth="basic",
            scopes=OFFERED_SCOPES,
            title="Xero (sandbox)",
            client_names={client_id: app_name},
            account_label="Xero user",
        )
        self.books = {tenant_id_for(n): Books(clock.now, base_currency) for n in tenants}
        self.tenant_names = {tenant_id_for(n): n for n in tenants}
        self.faults = FaultPlan()
        self.limits = Limits(clock, enforce=enforce_rate_limits)
        self.idempotency = IdempotencyCache(clock, idempotency_ttl)
        self.counters: Counter[str] = Counter()
        self.connections = Connections(clock, self.tenant_names)
        self.grants.on_consent = self.connections.connect
        self.grants.consent_note = "Organisations it connects: " + ", ".join(tenants)
        self._lock = threading.RLock()
        self._gate = threading.Event()
        self._gate.set()
        self._lose = 0
        self.kills = KillPlan()

    @property
    def tenant_ids(self) -> list[str]:
        return list(self.books)

    # ---- Sandbox protocol ----------------------------------------------------------------

    def handles(self, path: str) -> bool:
        lowered = path.lower()
        return lowered.startswith(("/api.xro/2.0/", "/connections")) or path in (
            AUTHORIZE_PATH,
            TOKEN_PATH,
            REVOCATION_PATH,
        )

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request as Xero would."""
        path = request.url.path
        if path == AUTHORIZE_PATH:
            return self.grants.authorize(request)
        if path == TOKEN_PATH:
            return self.grants.token(request)
        if path == REVOCATION_PATH:
            return self.grants.revoke(request)
        body = request.read()
        with self._lock:
            self.counters["calls"] += 1
        if len(body) > BODY_LIMIT:
            return respond(413, {"Message": "The request is larger than the 3.5 MB limit"})
        subject = self._subject(request)
        if isinstance(subject, httpx2.Response):
            return subject
        if path.lower().startswith("/connections"):
            return self.connections.handle(request, subject)
        response = self._accounting(request, subject, body)
        with self._lock:
            self.kills.mark(request, response)
        return response

    def control(self, action: str, payload: dict[str, Any]) -> Any:
        """Run a scenario control by name (the loopback server's control endpoint)."""
        controls: dict[str, Callable[[dict[str, Any]], Any]] = {
            "issue_refresh_token": lambda p: {
                "refresh_token": self.issue_refresh_token(p.get("subject", "seller"))
            },
            "issued_tokens": lambda p: list(self.grants.issued),
            "revoke": lambda p: self.revoke(p.get("subject")),
            "expire_access_tokens": lambda p: self.expire_access_tokens(),
            "add_fault": lambda p: self.add_fault(
                p["kind"],
                path_prefix=p.get("path_prefix", ACCOUNTING),
                times=int(p.get("times", 1)),
                retry_after=p.get("retry_after"),
            ),
            "clear_faults": lambda p: self.clear_faults(),
            "disconnect_tenant": lambda p: self.disconnect_tenant(p["tenant_id"]),
            "invoices": lambda p: self.invoices(p.get("tenant_id")),
            "tenants": lambda p: dict(self.tenant_names),
            "advance": lambda p: self.advance(float(p["seconds"])),
            "set_time": lambda p: self.set_time(str(p["iso"])),
            "stats": lambda p: self.stats(),
            "set_idempotency_ttl": lambda p: self.set_idempotency_ttl(float(p["seconds"])),
            "spend_daily_limit": lambda p: self.spend_daily_limit(
                p.get("tenant_id"), int(p.get("calls", self.limits.per_day))
            ),
            "lose_responses": lambda p: self.lose_responses(int(p.get("times", 1))),
            "hold": lambda p: self.hold(),
            "release": lambda p: self.release(),
            "kill_after_response": lambda p: self.kill_after_response(
                int(p["pid"]), str(p["method"]), str(p["path"]), int(p.get("nth", 1))
            ),
            "reset_books": lambda p: self.reset_books(),
            "deny_consent": lambda p: self.deny_consent(bool(p.get("deny", True))),
        }
        if action not in controls:
            raise ValueError(f"unknown control {action!r}; choose one of {', '.join(controls)}")
        return controls[action](payload)

    # ---- scenario controls ---------------------------------------------------------------

    def issue_refresh_token(self, subject: str = "seller") -> str:
        """A refresh token as if `subject` had consented; every tenant is connected to it."""
        token = self.grants.issue_refresh_token(subject)
        self.connections.connect(subject)
        return token

    def revoke(self, subject: str | None = None) -> None:
        """Revoke the grants (of `subject`, or all) and drop their connections."""
        self.grants.revoke_all(subject)
        self.connections.drop(subject=subject)

    def expire_access_tokens(self) -> None:
        self.grants.expire_access_tokens()

    def add_fault(
        self,
        kind: str,
        *,
        path_prefix: str = ACCOUNTING,
        times: int = 1,
        retry_after: float | None = None,
    ) -> None:
        """Inject a fault (faults.FAULT_KINDS); `errors_body` is a 400 ValidationException."""
        self.faults.add(kind, path_prefix=path_prefix, times=times, retry_after=retry_after)

    def clear_faults(self) -> None:
        self.faults.clear()

    def disconnect_tenant(self, tenant_id: str) -> None:
        """The user disconnected the app from this organisation in Xero."""
        self.connections.drop(tenant_id=tenant_id)

    def deny_consent(self, deny: bool = True) -> None:
        """While set, a consent decision counts as declined, whichever button was pressed."""
        self.grants.deny_consent = deny

    def lose_responses(self, times: int = 1) -> None:
        """Process the next `times` accounting calls, then answer 504 (the answer is lost)."""
        with self._lock:
            self._lose += times

    def kill_after_response(self, pid: int, method: str, path: str, nth: int = 1) -> None:
        """SIGKILL `pid` right after the answer to the `nth` next `method path...` is written.

        For crash tests on loopback: the ledger has done the work and replied, and the client
        dies before it can act on the reply. Only the loopback server carries it out.
        """
        with self._lock:
            self.kills.arm(pid, method, path, nth)

    def reset_books(self) -> None:
        """Empty every organisation's books and forget the idempotency cache (grants stay)."""
        with self._lock:
            for tenant in self.books:
                self.books[tenant] = Books(self.clock.now, self.books[tenant].currency)
            self.idempotency = IdempotencyCache(self.clock, self.idempotency.ttl)

    def spend_daily_limit(self, tenant_id: str | None = None, calls: int = 5000) -> None:
        """Use up `calls` of the tenant's daily allowance now."""
        self.limits.spend(tenant_id or self.tenant_ids[0], calls)

    def hold(self) -> None:
        """Keep admitted accounting calls in progress until `release()` (concurrency tests)."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def advance(self, seconds: float) -> None:
        self._simulated().advance(timedelta(seconds=seconds))

    def set_time(self, iso: str) -> None:
        moment = datetime.fromisoformat(iso)
        if moment.tzinfo is None:
            raise ValueError("set_time needs a timezone-aware ISO timestamp")
        self._simulated().set(moment)

    def set_idempotency_ttl(self, seconds: float) -> None:
        self.idempotency.ttl = timedelta(seconds=seconds)

    def stats(self) -> dict[str, int]:
        """Counts of calls, creates, idempotent replays, 429s and refresh grants."""
        with self._lock:
            return {
                "calls": self.counters["calls"],
                "creates": self.counters["creates"],
                "idempotent_replays": self.counters["idempotent_replays"],
                "rate_limited": self.counters["rate_limited"],
                "refresh_grants": self.grants.refresh_grants,
                "faults_injected": self.faults.injected,
                "max_in_flight": self.limits.max_in_flight,
            }

    def invoices(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """The truth: every invoice and bill held, amounts as decimal strings."""
        with self._lock:
            chosen = [tenant_id] if tenant_id else self.tenant_ids
            return [
                invoice_truth(tenant, invoice, self.books[tenant])
                for tenant in chosen
                for invoice in self.books[tenant].invoices.values()
            ]

    # ---- identity ------------------------------------------------------------------------

    def _subject(self, request: httpx2.Request) -> str | httpx2.Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            return self.grants.access_subject(token.strip() if scheme.lower() == "bearer" else None)
        except AccessDenied as denied:
            if denied.reason == "expired":
                return token_expired(self.clock.now())
            return problem(401, "Unauthorized", "AuthenticationUnsuccessful")

    # ---- accounting ----------------------------------------------------------------------

    def _accounting(self, request: httpx2.Request, subject: str, body: bytes) -> httpx2.Response:
        tenant_id = request.headers.get("xero-tenant-id", "").strip().lower()
        if not self.connections.reaches(subject, tenant_id):
            return not_connected()
        with self._lock:
            fault = self.faults.take(request.url.path)
            if fault is not None and fault.kind != "repeat_token":
                answer = fault_response(fault, self._errors_body, self._fault_throttle(tenant_id))
                if answer is not None:
                    return answer
            verdict = self.limits.enter(tenant_id)
            if verdict.problem is not None:
                self.counters["rate_limited"] += 1
                return self._throttled(verdict, tenant_id)
        try:
            self._gate.wait(HOLD_LIMIT)
            repeat = fault is not None and fault.kind == "repeat_token"
            with self._lock:
                response = self._idempotent(request, tenant_id, body, repeat)
        finally:
            with self._lock:
                self.limits.leave(tenant_id)
        return self._finish(response, tenant_id)

    def _idempotent(
        self, request: httpx2.Request, tenant_id: str, body: bytes, repeat: bool
    ) -> httpx2.Response:
        key = request.headers.get("idempotency-key")
        if request.method not in ("PUT", "POST") or not key:
            return self._dispatch(request, tenant_id, body, repeat)
        if len(key) > KEY_LIMIT:
            return bad_request("ValidationException", "Idempotency-Key is over 128 characters")
        url = request.url
        print_ = fingerprint(request.method, url.path, url.query.decode(), body)
        cached = self.idempotency.lookup(tenant_id, key, print_)
        if cached is CONFLICT:
            message = f"Idempotency Key {key} is used with a different request"
            return bad_request("IdempotencyKeyException", message)
        if isinstance(cached, Cached):
            self.counters["idempotent_replays"] += 1
            return httpx2.Response(cached.status, content=cached.content, headers=cached.headers)
        response = self._dispatch(request, tenant_id, body, repeat)
        if response.status_code < 500:
            content = response.read()
            headers = dict(response.headers)
            self.idempotency.store(tenant_id, key, print_, response.status_code, content, headers)
        return response

    def _dispatch(
        self, request: httpx2.Request, tenant_id: str, body: bytes, repeat: bool
    ) -> httpx2.Response:
        books = self.books[tenant_id]
        params = dict(request.url.params.items())
        if repeat:
            params["page"] = "1"  # a server that ignores paging: the same page again
        parts = tuple(p for p in request.url.path[len(ACCOUNTING) :].split("/") if p)
        call = Call(
            request.method,
            (parts[0].lower(), *parts[1:]) if parts else (),
            params,
            request.headers,
            body,
            self.clock.now(),
        )
        before = len(books.invoices) + len(books.payments)
        response = dispatch(books, call)
        self.counters["creates"] += len(books.invoices) + len(books.payments) - before
        return response

    def _finish(self, response: httpx2.Response, tenant_id: str) -> httpx2.Response:
        with self._lock:
            response.headers.update(self.limits.headers(tenant_id))
            if self._lose > 0:
                self._lose -= 1
                return httpx2.Response(504, content=b"Gateway Timeout")
        return response

    def _throttled(self, verdict: Verdict, tenant_id: str) -> httpx2.Response:
        headers = {"X-Rate-Limit-Problem": verdict.problem or "minute"}
        if verdict.retry_after is not None:
            headers["Retry-After"] = str(verdict.retry_after)
        headers.update(self.limits.headers(tenant_id))
        return httpx2.Response(429, headers=headers)

    def _fault_throttle(self, tenant_id: str) -> Callable[[float | None], httpx2.Response]:
        def throttled(retry_after: float | None) -> httpx2.Response:
            seconds = None if retry_after is None else max(1, round(retry_after))
            self.counters["rate_limited"] += 1
            return self._throttled(Verdict("minute", seconds), tenant_id)

        return throttled

    @staticmethod
    def _errors_body() -> httpx2.Response:
        element = {"ValidationErrors": [{"Message": "A validation error was injected"}]}
        return validation_exception([element])

    def _simulated(self) -> SimulatedClock:
        if not isinstance(self.clock, SimulatedClock):
            raise TypeError("the sandbox runs on the system clock; time cannot be moved")
        return self.clock
