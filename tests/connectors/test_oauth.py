"""OAuth token sources and the code flow, against the fake grant server."""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from pydantic import SecretStr

from connectors.clock import SimulatedClock, SystemClock
from connectors.errors import (
    AuthRevoked,
    ConfigError,
    ConnectorError,
    RateLimited,
    UnexpectedPayload,
    UpstreamUnavailable,
)
from connectors.oauth import (
    AuthMethod,
    RefreshingTokenSource,
    TokenSet,
    store_initial_token,
    stored_token_set,
)
from connectors.oauth_flow import (
    AuthorizationFailed,
    PendingAuthorization,
    begin_authorization,
    complete_authorization,
)
from connectors.sandbox.grants import GrantServer
from connectors.secrets import EncryptedFileKeyring, MemoryKeyring, SecretStore
from reconcile.models import ErrorClass
from tests.connectors.consent import consent as consent_page_decision

WORKER = Path(__file__).with_name("oauth_worker.py")
CLIENT_SECRET = "client-secret-value-123"
INITIAL = "initial-refresh-token-value"
TOKEN_URL = "https://auth.test/token"
REDIRECT = "http://127.0.0.1:8501/callback"


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
def store() -> SecretStore:
    secrets = SecretStore(MemoryKeyring())
    secrets.set("c1", "client_secret", CLIENT_SECRET)
    return secrets


def lwa_server(clock: SimulatedClock) -> GrantServer:
    return GrantServer(
        clock,
        clients={"app-1": CLIENT_SECRET},
        access_ttl=timedelta(hours=1),
        rotate_refresh=False,
        client_auth="post",
        access_prefix="Atza|",
        refresh_prefix="Atzr|",
    )


def xero_server(clock: SimulatedClock, grace: timedelta = timedelta(0)) -> GrantServer:
    return GrantServer(
        clock,
        clients={"app-1": CLIENT_SECRET},
        access_ttl=timedelta(minutes=30),
        rotate_refresh=True,
        refresh_grace=grace,
        refresh_idle_ttl=timedelta(days=60),
        client_auth="basic",
    )


def source(
    store: SecretStore,
    clock: SimulatedClock,
    lock_dir: Path,
    handler: Callable[[httpx2.Request], httpx2.Response],
    *,
    auth_method: AuthMethod = "client_secret_post",
    on_refresh: Callable[[TokenSet], None] | None = None,
) -> RefreshingTokenSource:
    return RefreshingTokenSource(
        "amazon" if auth_method == "client_secret_post" else "xero",
        "c1",
        store,
        token_url=TOKEN_URL,
        client_id="app-1",
        auth_method=auth_method,
        transport=httpx2.MockTransport(handler),
        clock=clock,
        lock_dir=lock_dir,
        on_refresh=on_refresh,
    )


def seeded(store: SecretStore, server: GrantServer) -> str:
    refresh = server.issue_refresh_token(client_id="app-1")
    store_initial_token(store, "c1", refresh)
    return refresh


def stored(store: SecretStore) -> TokenSet:
    tokens = stored_token_set(store, "c1")
    assert tokens is not None
    return tokens


# ---- refreshing ---------------------------------------------------------------------------------


def test_lwa_token_is_refreshed_when_missing_and_again_near_expiry(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    refresh = seeded(store, server)
    seen: list[TokenSet] = []
    tokens = source(store, clock, tmp_path, server.token, on_refresh=seen.append)
    first = tokens.token()
    assert server.access_subject(first) == "seller"
    assert tokens.token() == first
    clock.advance(timedelta(minutes=58, seconds=59))
    assert tokens.token() == first
    clock.advance(timedelta(seconds=2))  # now inside the 60 s margin
    second = tokens.token()
    assert second != first
    assert server.refresh_grants == 2
    assert [t.access_token.get_secret_value() for t in seen if t.access_token] == [first, second]
    assert stored(store).refresh_token.get_secret_value() == refresh
    assert stored(store).expires_at == clock.now() + timedelta(hours=1)


def test_rotated_refresh_token_is_persisted_before_the_token_is_returned(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = xero_server(clock)
    initial = seeded(store, server)
    source(store, clock, tmp_path, server.token, auth_method="client_secret_basic").token()
    rotated = stored(store).refresh_token.get_secret_value()
    assert rotated != initial
    clock.advance(timedelta(hours=2))
    fresh = source(store, clock, tmp_path, server.token, auth_method="client_secret_basic")
    assert server.access_subject(fresh.token()) == "seller"
    assert server.refresh_grants == 2
    assert stored(store).refresh_token.get_secret_value() not in (initial, rotated)


def test_refresh_lifetime_sets_when_the_refresh_token_lapses(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = xero_server(clock)
    seeded(store, server)
    tokens = RefreshingTokenSource(
        "xero",
        "c1",
        store,
        token_url=TOKEN_URL,
        client_id="app-1",
        auth_method="client_secret_basic",
        transport=httpx2.MockTransport(server.token),
        clock=clock,
        lock_dir=tmp_path,
        refresh_lifetime=timedelta(days=60),
    )
    tokens.token()
    assert stored(store).refresh_expires_at == clock.now() + timedelta(days=60)


def test_invalidate_forces_a_refresh_of_a_token_the_server_rejected(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    seeded(store, server)
    tokens = source(store, clock, tmp_path, server.token)
    first = tokens.token()
    server.expire_access_tokens()
    tokens.invalidate()
    second = tokens.token()
    assert second != first
    assert server.access_subject(second) == "seller"
    assert tokens.token() == second
    assert server.refresh_grants == 2


def test_revoked_grant_is_auth_revoked_and_keeps_the_stored_set(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = xero_server(clock)
    seeded(store, server)
    before = stored(store)
    server.revoke_all()
    with pytest.raises(AuthRevoked) as raised:
        source(store, clock, tmp_path, server.token, auth_method="client_secret_basic").token()
    assert raised.value.error_class is ErrorClass.AUTH
    assert "the grant was revoked or expired; reconnect" in str(raised.value)
    assert raised.value.status == 400
    assert stored(store) == before


def test_server_error_is_transient_and_the_next_call_recovers(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    seeded(store, server)
    before = stored(store)
    server.fail_token_requests(1, status=500)
    tokens = source(store, clock, tmp_path, server.token)
    with pytest.raises(UpstreamUnavailable) as raised:
        tokens.token()
    assert raised.value.error_class is ErrorClass.TRANSIENT
    assert raised.value.status == 500
    assert stored(store) == before
    assert server.access_subject(tokens.token()) == "seller"


BAD_LIFETIME = {"access_token": "a", "expires_in": "soon"}


def respond(response: httpx2.Response) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda request: response


def fail_with(error: Exception) -> Callable[[httpx2.Request], httpx2.Response]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise error

    return handler


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (respond(httpx2.Response(503, text="<html>down</html>")), UpstreamUnavailable),
        (respond(httpx2.Response(400, json={"error": "server_error"})), UpstreamUnavailable),
        (fail_with(httpx2.ConnectTimeout("slow")), UpstreamUnavailable),
        (fail_with(httpx2.ReadTimeout("slow")), UpstreamUnavailable),
        (fail_with(httpx2.ConnectError("refused")), UpstreamUnavailable),
        (respond(httpx2.Response(429, headers={"Retry-After": "7"})), RateLimited),
        (respond(httpx2.Response(200, text="<html>login</html>")), UnexpectedPayload),
        (respond(httpx2.Response(200, json=["not", "an", "object"])), UnexpectedPayload),
        (respond(httpx2.Response(200, json={"token_type": "bearer"})), UnexpectedPayload),
        (respond(httpx2.Response(200, json=BAD_LIFETIME)), UnexpectedPayload),
        (respond(httpx2.Response(401, json={"error": "invalid_client"})), ConfigError),
        (respond(httpx2.Response(400, json={"error": "unauthorized_client"})), ConfigError),
        (respond(httpx2.Response(400, json={"error": "invalid_grant"})), AuthRevoked),
    ],
)
def test_token_endpoint_failures_map_onto_the_error_tree(
    store: SecretStore,
    clock: SimulatedClock,
    tmp_path: Path,
    handler: Callable[[httpx2.Request], httpx2.Response],
    expected: type[ConnectorError],
) -> None:
    store_initial_token(store, "c1", INITIAL)
    with pytest.raises(ConnectorError) as raised:
        source(store, clock, tmp_path, handler).token()
    assert type(raised.value) is expected
    if expected is RateLimited:
        assert isinstance(raised.value, RateLimited)
        assert raised.value.retry_after == 7


def test_wrong_client_secret_is_a_config_error(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    seeded(store, server)
    store.set("c1", "client_secret", "rotated-away")
    with pytest.raises(ConfigError, match="client id or secret was rejected") as raised:
        source(store, clock, tmp_path, server.token).token()
    assert raised.value.status == 401


def test_missing_token_or_client_secret_says_what_to_do(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    with pytest.raises(AuthRevoked, match="reconnect"):
        source(store, clock, tmp_path, server.token).token()
    seeded(store, server)
    store.delete("c1", "client_secret")
    with pytest.raises(ConfigError, match="workbench connect"):
        source(store, clock, tmp_path, server.token).token()


def test_unreadable_token_entry_needs_a_reconnect(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    store.set("c1", "token", '{"access_token": "half')
    with pytest.raises(AuthRevoked, match="no usable token"):
        source(store, clock, tmp_path, lwa_server(clock).token).token()


def test_wrong_secrets_key_is_a_config_error_not_a_revoked_grant(
    clock: SimulatedClock, tmp_path: Path
) -> None:
    path = tmp_path / "secrets.bin"
    writer = SecretStore(EncryptedFileKeyring(path, passphrase="right"))
    writer.set("c1", "client_secret", CLIENT_SECRET)
    store_initial_token(writer, "c1", INITIAL)
    reader = SecretStore(EncryptedFileKeyring(path, passphrase="wrong"))
    with pytest.raises(ConfigError, match="WORKBENCH_SECRET_KEY does not match"):
        source(reader, clock, tmp_path, lwa_server(clock).token).token()


def test_no_token_or_secret_value_reaches_messages_or_logs(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echoing = respond(
        httpx2.Response(
            400,
            json={"error": "invalid_grant", "error_description": f"bad token {INITIAL}"},
        )
    )
    garbled = respond(httpx2.Response(200, text=f'{{"access_token": "{INITIAL}"'))
    messages: list[str] = []
    for handler in (echoing, garbled, respond(httpx2.Response(500, text=CLIENT_SECRET))):
        store_initial_token(store, "c1", INITIAL)
        with pytest.raises(ConnectorError) as raised:
            source(store, clock, tmp_path, handler).token()
        messages += [str(raised.value), raised.value.raw or ""]
    server = lwa_server(clock)
    seeded(store, server)
    access = source(store, clock, tmp_path, server.token).token()
    messages += [record.getMessage() for record in caplog.records]
    assert any("refreshed the access token" in message for message in messages)
    assert any("bad token ***" in message for message in messages)
    text = "\n".join(messages)
    for secret in (INITIAL, CLIENT_SECRET, access, stored(store).refresh_token.get_secret_value()):
        assert secret not in text


def test_token_set_repr_and_str_hide_the_tokens() -> None:
    tokens = TokenSet(
        access_token=SecretStr("Atza|visible?"),
        refresh_token=SecretStr("Atzr|visible?"),
        expires_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    for shown in (repr(tokens), str(tokens), tokens.model_dump_json()):
        assert "visible?" not in shown
    assert tokens.to_store()["refresh_token"] == "Atzr|visible?"
    assert TokenSet.model_validate(tokens.to_store()) == tokens


def test_store_initial_token_replaces_the_stored_set(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    seeded(store, server)
    source(store, clock, tmp_path, server.token).token()
    store_initial_token(store, "c1", "Atzr|replacement")
    assert stored(store) == TokenSet(refresh_token=SecretStr("Atzr|replacement"))


# ---- concurrency ------------------------------------------------------------------------------


def test_eight_threads_on_an_expired_token_spend_one_rotating_refresh_token(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = xero_server(clock, grace=timedelta(0))
    seeded(store, server)

    def slow_token(request: httpx2.Request) -> httpx2.Response:
        time.sleep(0.02)  # widen the race window a refresh without a lock would lose
        return server.token(request)

    barrier = threading.Barrier(8)
    results: list[str | BaseException] = []

    def worker() -> None:
        tokens = source(store, clock, tmp_path, slow_token, auth_method="client_secret_basic")
        barrier.wait()
        try:
            results.append(tokens.token())
        except ConnectorError as error:
            results.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.refresh_grants == 1
    assert all(isinstance(result, str) for result in results)
    assert {server.access_subject(str(result)) for result in results} == {"seller"}
    clock.advance(timedelta(hours=1))
    later = source(store, clock, tmp_path, server.token, auth_method="client_secret_basic")
    assert server.access_subject(later.token()) == "seller"
    assert server.refresh_grants == 2


class _Bridge(BaseHTTPRequestHandler):
    """Serves a GrantServer over HTTP by translating to and from httpx2 objects."""

    grants: GrantServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        url = f"http://{self.headers.get('host', '127.0.0.1')}{self.path}"
        request = httpx2.Request(self.command, url, headers=dict(self.headers), content=body)
        routes = {"/token": self.grants.token, "/authorize": self.grants.authorize}
        route = routes.get(urlsplit(self.path).path)
        response = route(request) if route else httpx2.Response(404)
        time.sleep(0.05)  # a slow provider: two unlocked refreshes would overlap
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def loopback() -> Iterator[tuple[GrantServer, str]]:
    grants = GrantServer(
        SystemClock(),
        clients={"app-1": CLIENT_SECRET},
        access_ttl=timedelta(hours=1),
        rotate_refresh=True,
        client_auth="basic",
    )
    handler = type("Bridge", (_Bridge,), {"grants": grants})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield grants, f"http://127.0.0.1:{server.server_address[1]}/token"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_two_processes_refreshing_at_once_spend_one_rotating_refresh_token(
    loopback: tuple[GrantServer, str], tmp_path: Path
) -> None:
    grants, token_url = loopback
    secrets_file, lock_dir, go = tmp_path / "secrets.bin", tmp_path / "locks", tmp_path / "go"
    store = SecretStore(EncryptedFileKeyring(secrets_file, passphrase="two-processes"))
    store.set("c-xero", "client_secret", CLIENT_SECRET)
    store_initial_token(store, "c-xero", grants.issue_refresh_token())
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    args = [sys.executable, str(WORKER), str(secrets_file), "two-processes", str(lock_dir)]
    args += ["c-xero", "app-1", token_url, str(go)]
    workers = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(2)
    ]
    time.sleep(0.3)
    go.touch()
    outputs = [worker.communicate(timeout=60) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    tokens = [out.decode().strip() for out, _ in outputs]
    assert [grants.access_subject(token) for token in tokens] == ["seller", "seller"]
    assert tokens[0] == tokens[1]
    assert grants.refresh_grants == 1


# ---- replacing a grant (reconnect) -------------------------------------------------------------


def test_a_replaced_grant_is_proven_stored_and_used_by_the_next_token(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    seeded(store, server)
    tokens = source(store, clock, tmp_path, server.token)
    first = tokens.token()
    replacement = server.issue_refresh_token("new-seller", client_id="app-1")
    tokens.replace_grant(replacement)
    assert server.refresh_grants == 2
    assert stored(store).refresh_token.get_secret_value() == replacement
    assert stored(store).usable(clock.now())
    second = tokens.token()
    assert second != first
    assert server.access_subject(second) == "new-seller"
    later = source(store, clock, tmp_path, server.token).token()
    assert later == second
    assert server.refresh_grants == 2


def test_a_failed_replace_puts_the_previous_token_set_back_exactly(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    seeded(store, server)
    tokens = source(store, clock, tmp_path, server.token)
    first = tokens.token()
    before = store.get("c1", "token")
    with pytest.raises(AuthRevoked, match="reconnect"):
        tokens.replace_grant("Atzr|never-issued")
    assert store.get("c1", "token") == before
    assert tokens.token() == first
    assert server.refresh_grants == 1


def test_a_failed_replace_without_a_previous_set_leaves_no_token(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    server.fail_token_requests(1, status=503)
    tokens = source(store, clock, tmp_path, server.token)
    with pytest.raises(UpstreamUnavailable):
        tokens.replace_grant(server.issue_refresh_token(client_id="app-1"))
    assert stored_token_set(store, "c1") is None


def replace_in_background(tokens: RefreshingTokenSource, refresh: str) -> threading.Thread:
    thread = threading.Thread(target=tokens.replace_grant, args=(refresh,), daemon=True)
    thread.start()
    return thread


def test_a_replace_waits_for_a_refresh_another_thread_is_running(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    seeded(store, server)
    entered, release = threading.Event(), threading.Event()

    def held_token(request: httpx2.Request) -> httpx2.Response:
        if server.refresh_grants == 0:
            entered.set()
            release.wait(timeout=5)
        return server.token(request)

    refresher = threading.Thread(target=source(store, clock, tmp_path, held_token).token)
    refresher.start()
    assert entered.wait(timeout=5)
    replacement = server.issue_refresh_token("new-seller", client_id="app-1")
    replacer = replace_in_background(source(store, clock, tmp_path, server.token), replacement)
    time.sleep(0.2)
    assert replacer.is_alive()
    assert server.refresh_grants == 0
    release.set()
    refresher.join(timeout=5)
    replacer.join(timeout=5)
    assert not replacer.is_alive()
    assert server.refresh_grants == 2
    assert stored(store).refresh_token.get_secret_value() == replacement
    fresh = source(store, clock, tmp_path, server.token).token()
    assert server.access_subject(fresh) == "new-seller"


def test_a_replace_waits_for_the_process_lock_another_process_holds(
    store: SecretStore, clock: SimulatedClock, tmp_path: Path
) -> None:
    server = lwa_server(clock)
    replacement = server.issue_refresh_token(client_id="app-1")
    held = os.open(tmp_path / "c1.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # a second open file: another process, to flock
        replacer = replace_in_background(source(store, clock, tmp_path, server.token), replacement)
        time.sleep(0.2)
        assert replacer.is_alive()
        assert stored_token_set(store, "c1") is None
    finally:
        os.close(held)
    replacer.join(timeout=5)
    assert not replacer.is_alive()
    assert stored(store).refresh_token.get_secret_value() == replacement


# ---- authorization-code flow --------------------------------------------------------------------


def consent(server: GrantServer, pending: PendingAuthorization) -> str:
    """Allow on the fake authorization endpoint's consent page; the redirect location."""
    with httpx2.Client(transport=httpx2.MockTransport(server.authorize)) as client:
        response = consent_page_decision(client, pending.url)
    assert response.status_code == 302
    return response.headers["location"]


def complete(
    server: GrantServer,
    pending: PendingAuthorization,
    callback: str | dict[str, str],
    clock: SimulatedClock,
) -> TokenSet:
    return complete_authorization(
        pending,
        callback,
        token_url=TOKEN_URL,
        client_id="app-1",
        client_secret=CLIENT_SECRET,
        auth_method="client_secret_basic",
        transport=httpx2.MockTransport(server.token),
        clock=clock,
        provider="xero",
    )


def test_pkce_code_flow_end_to_end(clock: SimulatedClock) -> None:
    server = xero_server(clock)
    pending = begin_authorization(
        "https://auth.test/authorize", "app-1", REDIRECT, "offline_access accounting.transactions"
    )
    query = parse_qs(urlsplit(pending.url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == [pending.state]
    assert query["redirect_uri"] == [REDIRECT]
    assert pending.code_verifier is not None
    assert pending.code_verifier not in pending.url
    assert pending.code_verifier not in repr(pending)
    tokens = complete(server, pending, consent(server, pending), clock)
    assert tokens.access_token is not None
    assert server.access_subject(tokens.access_token.get_secret_value()) == "seller"
    assert tokens.scope == "offline_access accounting.transactions"
    assert tokens.expires_at == clock.now() + timedelta(minutes=30)


def test_code_flow_without_pkce_accepts_callback_params(clock: SimulatedClock) -> None:
    server = xero_server(clock)
    pending = begin_authorization(
        "https://auth.test/authorize",
        "app-1",
        REDIRECT,
        "",
        pkce=False,
        extra_params={"prompt": "consent"},
    )
    assert "code_challenge" not in pending.url
    assert "prompt=consent" in pending.url
    params = {k: v[0] for k, v in parse_qs(urlsplit(consent(server, pending)).query).items()}
    assert complete(server, pending, params, clock).refresh_token.get_secret_value()


def test_callback_with_another_state_is_refused_before_any_exchange(
    clock: SimulatedClock,
) -> None:
    server = xero_server(clock)
    pending = begin_authorization("https://auth.test/authorize", "app-1", REDIRECT, "")
    location = consent(server, pending).replace(pending.state, "forged")
    with pytest.raises(AuthorizationFailed, match="state mismatch"):
        complete(server, pending, location, clock)
    assert server.refresh_grants == 0


def test_declined_consent_is_a_clear_auth_error(clock: SimulatedClock) -> None:
    server = xero_server(clock)
    server.deny_consent = True
    pending = begin_authorization("https://auth.test/authorize", "app-1", REDIRECT, "")
    with pytest.raises(AuthorizationFailed, match="consent was declined") as raised:
        complete(server, pending, consent(server, pending), clock)
    assert raised.value.error_class is ErrorClass.AUTH
    with pytest.raises(AuthorizationFailed, match="no authorization code"):
        complete(server, pending, {"state": pending.state}, clock)


def test_replayed_callback_fails_as_an_invalid_grant(clock: SimulatedClock) -> None:
    server = xero_server(clock)
    pending = begin_authorization("https://auth.test/authorize", "app-1", REDIRECT, "")
    location = consent(server, pending)
    complete(server, pending, location, clock)
    with pytest.raises(AuthorizationFailed, match=r"code was refused .*already used"):
        complete(server, pending, location, clock)
