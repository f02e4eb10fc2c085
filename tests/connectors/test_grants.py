"""The fake OAuth 2.0 server: grant lifecycles on a simulated clock, rotation, PKCE, client auth."""

from __future__ import annotations

import base64
import hashlib
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest

from connectors.clock import SimulatedClock
from connectors.sandbox.grants import AccessDenied, GrantServer
from tests.connectors.consent import callback, consent, consent_form

CLIENTS = {"app-1": "s3cret", "app-2": "other"}
REDIRECT = "http://127.0.0.1:8501/callback"


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


def lwa(clock: SimulatedClock) -> GrantServer:
    return GrantServer(
        clock,
        clients=CLIENTS,
        access_ttl=timedelta(hours=1),
        rotate_refresh=False,
        client_auth="post",
        access_prefix="Atza|",
        refresh_prefix="Atzr|",
    )


def xero(clock: SimulatedClock, grace: timedelta = timedelta(minutes=30)) -> GrantServer:
    return GrantServer(
        clock,
        clients=CLIENTS,
        access_ttl=timedelta(minutes=30),
        rotate_refresh=True,
        refresh_grace=grace,
        refresh_idle_ttl=timedelta(days=60),
        client_auth="basic",
        scopes="offline_access accounting.transactions",
    )


def post(server: GrantServer, data: dict[str, str], *, basic: bool = False) -> httpx2.Response:
    """POST a form to the token endpoint, authenticating as app-1 by form or Basic."""
    headers = {}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(b"app-1:s3cret").decode()
    else:
        data = {"client_id": "app-1", "client_secret": "s3cret", **data}
    with httpx2.Client(transport=httpx2.MockTransport(server.token)) as client:
        return client.post("https://auth.test/token", data=data, headers=headers)


def refresh(server: GrantServer, token: str, *, basic: bool = False) -> httpx2.Response:
    return post(server, {"grant_type": "refresh_token", "refresh_token": token}, basic=basic)


def body(response: httpx2.Response) -> dict[str, Any]:
    result: dict[str, Any] = response.json()
    return result


def test_lwa_refresh_returns_the_same_refresh_token_and_a_prefixed_access_token(
    clock: SimulatedClock,
) -> None:
    server = lwa(clock)
    token = server.issue_refresh_token("seller-a")
    assert token.startswith("Atzr|")
    response = refresh(server, token)
    assert response.status_code == 200
    payload = body(response)
    assert payload["refresh_token"] == token
    assert payload["access_token"].startswith("Atza|")
    assert payload["token_type"] == "bearer"
    assert payload["expires_in"] == 3600
    assert "scope" not in payload
    assert response.headers["cache-control"] == "no-store"
    assert server.access_subject(payload["access_token"]) == "seller-a"
    assert refresh(server, token).status_code == 200
    assert server.refresh_grants == 2


def test_access_token_expires_after_its_lifetime_on_the_simulated_clock(
    clock: SimulatedClock,
) -> None:
    server = lwa(clock)
    access = body(refresh(server, server.issue_refresh_token()))["access_token"]
    clock.advance(timedelta(minutes=59, seconds=59))
    assert server.access_subject(access) == "seller"
    clock.advance(timedelta(seconds=1))
    with pytest.raises(AccessDenied) as denied:
        server.access_subject(access)
    assert denied.value.reason == "expired"


@pytest.mark.parametrize(
    ("token", "reason"), [(None, "missing"), ("", "missing"), ("x", "invalid")]
)
def test_access_subject_names_why_a_token_is_refused(
    clock: SimulatedClock, token: str | None, reason: str
) -> None:
    with pytest.raises(AccessDenied) as denied:
        lwa(clock).access_subject(token)
    assert denied.value.reason == reason


def test_expire_access_tokens_expires_every_issued_token_now(clock: SimulatedClock) -> None:
    server = lwa(clock)
    access = body(refresh(server, server.issue_refresh_token()))["access_token"]
    server.expire_access_tokens()
    with pytest.raises(AccessDenied, match="expired"):
        server.access_subject(access)
    fresh = body(refresh(server, server.issue_refresh_token()))["access_token"]
    assert server.access_subject(fresh) == "seller"


def test_strict_rotation_rejects_the_previous_refresh_token_at_once(clock: SimulatedClock) -> None:
    server = xero(clock, grace=timedelta(0))
    first = server.issue_refresh_token()
    second = body(refresh(server, first, basic=True))["refresh_token"]
    assert second != first
    rejected = refresh(server, first, basic=True)
    assert rejected.status_code == 400
    assert body(rejected)["error"] == "invalid_grant"
    assert refresh(server, second, basic=True).status_code == 200
    assert server.refresh_grants == 2


def test_rotation_grace_keeps_the_previous_token_usable_for_thirty_minutes(
    clock: SimulatedClock,
) -> None:
    server = xero(clock)
    first = server.issue_refresh_token()
    assert refresh(server, first, basic=True).status_code == 200
    clock.advance(timedelta(minutes=29))
    retried = refresh(server, first, basic=True)
    assert retried.status_code == 200
    assert body(retried)["scope"] == "offline_access accounting.transactions"
    clock.advance(timedelta(minutes=1))
    assert body(refresh(server, first, basic=True))["error"] == "invalid_grant"
    assert refresh(server, body(retried)["refresh_token"], basic=True).status_code == 200


def test_refresh_token_unused_for_the_idle_lifetime_dies(clock: SimulatedClock) -> None:
    server = xero(clock)
    token = server.issue_refresh_token()
    clock.advance(timedelta(days=59))
    renewed = body(refresh(server, token, basic=True))["refresh_token"]
    clock.advance(timedelta(days=59, hours=23))
    assert refresh(server, renewed, basic=True).status_code == 200
    idle = server.issue_refresh_token()
    clock.advance(timedelta(days=60))
    assert body(refresh(server, idle, basic=True))["error"] == "invalid_grant"


def test_non_rotating_refresh_token_use_resets_its_idle_clock(clock: SimulatedClock) -> None:
    server = GrantServer(
        clock,
        clients=CLIENTS,
        access_ttl=timedelta(hours=1),
        rotate_refresh=False,
        refresh_idle_ttl=timedelta(days=10),
    )
    token = server.issue_refresh_token()
    for _ in range(3):
        clock.advance(timedelta(days=9))
        assert refresh(server, token).status_code == 200
    clock.advance(timedelta(days=10))
    assert refresh(server, token).status_code == 400


def test_revocation_endpoint_kills_the_grant_and_its_access_tokens(clock: SimulatedClock) -> None:
    server = xero(clock)
    token = server.issue_refresh_token()
    payload = body(refresh(server, token, basic=True))
    auth = {"Authorization": "Basic " + base64.b64encode(b"app-1:s3cret").decode()}
    with httpx2.Client(transport=httpx2.MockTransport(server.revoke)) as client:
        url = "https://auth.test/connect/revocation"
        assert client.post(url, data={"token": payload["refresh_token"]}, headers=auth).is_success
        assert client.post(url, data={"token": "unknown"}, headers=auth).status_code == 200
        assert client.post(url, data={"token": "x"}).status_code == 401
    with pytest.raises(AccessDenied) as denied:
        server.access_subject(payload["access_token"])
    assert denied.value.reason == "revoked"
    assert body(refresh(server, payload["refresh_token"], basic=True))["error"] == "invalid_grant"


def test_revoke_all_for_one_subject_leaves_other_subjects_working(clock: SimulatedClock) -> None:
    server = lwa(clock)
    alice, bob = server.issue_refresh_token("alice"), server.issue_refresh_token("bob")
    server.revoke_all("alice")
    assert body(refresh(server, alice))["error"] == "invalid_grant"
    assert refresh(server, bob).status_code == 200
    server.revoke_all()
    assert refresh(server, bob).status_code == 400


def test_refresh_token_bound_to_one_client_is_refused_to_another(clock: SimulatedClock) -> None:
    server = lwa(clock)
    token = server.issue_refresh_token(client_id="app-2")
    assert body(refresh(server, token))["error"] == "invalid_grant"
    with pytest.raises(ValueError, match="unknown client"):
        server.issue_refresh_token(client_id="nobody")


@pytest.mark.parametrize(
    ("client_auth", "basic", "status"),
    [
        ("post", True, 401),
        ("post", False, 200),
        ("basic", False, 401),
        ("basic", True, 200),
        ("either", True, 200),
        ("either", False, 200),
    ],
)
def test_client_authentication_follows_the_configured_method(
    clock: SimulatedClock, client_auth: Any, basic: bool, status: int
) -> None:
    server = GrantServer(
        clock,
        clients=CLIENTS,
        access_ttl=timedelta(hours=1),
        rotate_refresh=False,
        client_auth=client_auth,
    )
    response = refresh(server, server.issue_refresh_token(), basic=basic)
    assert response.status_code == status
    if status == 401:
        assert body(response)["error"] == "invalid_client"


def test_wrong_client_secret_is_invalid_client_with_a_basic_challenge(
    clock: SimulatedClock,
) -> None:
    server = xero(clock)
    headers = {"Authorization": "Basic " + base64.b64encode(b"app-1:wrong").decode()}
    with httpx2.Client(transport=httpx2.MockTransport(server.token)) as client:
        data = {"grant_type": "refresh_token", "refresh_token": server.issue_refresh_token()}
        response = client.post("https://auth.test/token", data=data, headers=headers)
    assert response.status_code == 401
    assert body(response)["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert "wrong" not in response.text


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "nope"}, "invalid_grant"),
    ],
)
def test_malformed_token_requests_get_rfc6749_errors(
    clock: SimulatedClock, data: dict[str, str], error: str
) -> None:
    response = post(lwa(clock), data)
    assert response.status_code == 400
    assert body(response)["error"] == error


def test_token_endpoint_requires_a_form_post(clock: SimulatedClock) -> None:
    server = lwa(clock)
    with httpx2.Client(transport=httpx2.MockTransport(server.token)) as client:
        as_json = client.post("https://auth.test/token", json={"grant_type": "refresh_token"})
        as_get = client.get("https://auth.test/token")
    assert body(as_json)["error"] == "invalid_request"
    assert body(as_get)["error"] == "invalid_request"


def test_injected_token_failures_answer_with_the_status_then_recover(
    clock: SimulatedClock,
) -> None:
    server = lwa(clock)
    token = server.issue_refresh_token()
    server.fail_token_requests(2, status=503)
    assert [refresh(server, token).status_code for _ in range(3)] == [503, 503, 200]
    assert server.refresh_grants == 1


def test_concurrent_refreshes_of_one_rotating_token_succeed_exactly_once(
    clock: SimulatedClock,
) -> None:
    server = xero(clock, grace=timedelta(0))
    token = server.issue_refresh_token()
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        statuses.append(refresh(server, token, basic=True).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * 7
    assert server.refresh_grants == 1


# ---- authorization code flow ----------------------------------------------------------------


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(**params: str) -> str:
    query = {"response_type": "code", "client_id": "app-1", "redirect_uri": REDIRECT, **params}
    return "https://auth.test/authorize?" + urlencode(query)


def authorize(
    server: GrantServer, decision: str = "allow", account: str | None = None, **params: str
) -> dict[str, str]:
    """Go through the consent page; the query of the redirect back to the client."""
    with httpx2.Client(transport=httpx2.MockTransport(server.authorize)) as client:
        return callback(consent(client, authorize_url(**params), decision, account), REDIRECT)


def refused(server: GrantServer, **params: str) -> dict[str, str]:
    """A request refused outright: the GET redirects back at once, with no page."""
    with httpx2.Client(transport=httpx2.MockTransport(server.authorize)) as client:
        return callback(client.get(authorize_url(**params)), REDIRECT)


def exchange(server: GrantServer, code: str, **extra: str) -> httpx2.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    return post(server, data, basic=True)


VERIFIER = "v" * 20 + "-verifier-" + "x" * 30


def test_pkce_code_flow_issues_tokens_for_the_right_verifier(clock: SimulatedClock) -> None:
    server = xero(clock)
    query = authorize(
        server,
        state="st-1",
        scope="offline_access",
        code_challenge=challenge_of(VERIFIER),
        code_challenge_method="S256",
    )
    assert query["state"] == "st-1"
    response = exchange(server, query["code"], code_verifier=VERIFIER)
    assert response.status_code == 200
    payload = body(response)
    assert payload["scope"] == "offline_access"
    assert server.access_subject(payload["access_token"]) == "seller"
    assert refresh(server, payload["refresh_token"], basic=True).status_code == 200


@pytest.mark.parametrize("verifier", [None, "w" * 43])
def test_pkce_code_exchange_fails_without_the_matching_verifier(
    clock: SimulatedClock, verifier: str | None
) -> None:
    server = xero(clock)
    query = authorize(server, code_challenge=challenge_of(VERIFIER), code_challenge_method="S256")
    extra = {"code_verifier": verifier} if verifier else {}
    response = exchange(server, query["code"], **extra)
    assert response.status_code == 400
    assert body(response)["error"] == "invalid_grant"


def test_authorization_code_is_single_use_and_a_replay_revokes_its_grant(
    clock: SimulatedClock,
) -> None:
    server = xero(clock)
    code = authorize(server)["code"]
    first = body(exchange(server, code))
    replay = exchange(server, code)
    assert body(replay)["error"] == "invalid_grant"
    with pytest.raises(AccessDenied, match="revoked"):
        server.access_subject(first["access_token"])


def test_authorization_code_expires_after_five_minutes(clock: SimulatedClock) -> None:
    server = xero(clock)
    code = authorize(server)["code"]
    clock.advance(timedelta(minutes=5))
    assert body(exchange(server, code))["error"] == "invalid_grant"


def test_code_exchange_checks_the_redirect_uri(clock: SimulatedClock) -> None:
    server = xero(clock)
    code = authorize(server)["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://evil/cb"}
    assert body(post(server, data, basic=True))["error"] == "invalid_grant"


def test_bad_requests_redirect_with_an_error_before_any_page(clock: SimulatedClock) -> None:
    server = xero(clock)
    assert refused(server, response_type="token")["error"] == "unsupported_response_type"
    plain = refused(server, code_challenge="abc", code_challenge_method="plain", state="s")
    assert plain["error"] == "invalid_request"
    assert plain["state"] == "s"
    assert refused(server, scope="accounting.settings")["error"] == "invalid_scope"


def test_deny_redirects_with_access_denied_and_the_state(clock: SimulatedClock) -> None:
    server = xero(clock)
    declined = authorize(server, decision="deny", state="s1")
    assert (declined["error"], declined["state"]) == ("access_denied", "s1")
    assert "code" not in declined


def test_deny_consent_turns_an_allow_into_a_denial_until_it_is_cleared(
    clock: SimulatedClock,
) -> None:
    server = xero(clock)
    server.deny_consent = True
    declined = authorize(server, state="s2")
    assert (declined["error"], declined["state"]) == ("access_denied", "s2")
    assert "code" not in declined
    assert authorize(server, state="s3")["error"] == "access_denied"
    server.deny_consent = False
    assert "code" in authorize(server, state="s4")


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "query",
    [
        {"client_id": "nobody", "redirect_uri": REDIRECT},
        {"client_id": "app-1"},
        {"client_id": "app-1", "redirect_uri": "javascript:alert(1)"},
    ],
)
def test_authorize_refuses_unknown_clients_and_bad_redirects_with_a_page_not_a_redirect(
    clock: SimulatedClock, query: dict[str, str], method: str
) -> None:
    server = xero(clock)
    fields = {"response_type": "code", "decision": "allow", **query}
    with httpx2.Client(transport=httpx2.MockTransport(server.authorize)) as client:
        if method == "GET":
            response = client.get("https://auth.test/authorize", params=fields)
        else:
            response = client.post("https://auth.test/authorize", data=fields)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "cannot be authorised" in consent_form(response.text).text


def test_authorize_answers_other_methods_and_unreadable_forms_with_an_error_page(
    clock: SimulatedClock,
) -> None:
    server = xero(clock)
    with httpx2.Client(transport=httpx2.MockTransport(server.authorize)) as client:
        put = client.put(authorize_url(), content=b"")
        unreadable = client.post(authorize_url(), content=b"{}", headers={"content-type": "x/y"})
    assert put.status_code == 405
    assert unreadable.status_code == 400
    assert "location" not in put.headers and "location" not in unreadable.headers


def named_server(clock: SimulatedClock, name: str) -> GrantServer:
    return GrantServer(
        clock,
        clients=CLIENTS,
        access_ttl=timedelta(minutes=30),
        rotate_refresh=True,
        scopes="offline_access accounting.transactions",
        title="Ledger (sandbox)",
        client_names={"app-1": name},
        account_label="Ledger user",
    )


def test_the_consent_page_names_the_app_scopes_and_account_and_keeps_the_request(
    clock: SimulatedClock,
) -> None:
    server = named_server(clock, "Reconciliation Workbench")
    url = authorize_url(scope="offline_access", state="st-9", code_challenge="c" * 43)
    url += "&code_challenge_method=S256"
    with httpx2.Client(transport=httpx2.MockTransport(server.authorize)) as client:
        page = client.get(url)
    form = consent_form(page.text)
    assert "Reconciliation Workbench wants access to your Ledger (sandbox) account" in form.text
    assert "offline_access" in form.text
    assert "accounting.transactions" not in form.text  # only what was asked for
    assert "Ledger user seller" in form.text
    assert form.action == "/authorize"
    assert form.fields["state"] == "st-9"
    assert form.fields["code_challenge"] == "c" * 43
    assert form.fields["account"] == "seller"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_the_consent_page_escapes_everything_it_echoes(clock: SimulatedClock) -> None:
    evil = '"><script>alert(1)</script>'
    server = named_server(clock, "<img src=x onerror=alert(2)>")
    server.consent_subject = "<b>owner</b>"
    url = authorize_url(state=evil, nonce="' onmouseover='x")
    with httpx2.Client(transport=httpx2.MockTransport(server.authorize)) as client:
        page = client.get(url)
        answer = consent(client, url)
    assert "<script>" not in page.text
    assert "<img" not in page.text
    assert "<b>" not in page.text
    assert "' onmouseover" not in page.text
    form = consent_form(page.text)
    assert form.fields["state"] == evil  # escaped in the page, intact in the form
    assert "<img src=x onerror=alert(2)> wants access" in form.text
    query = callback(answer, REDIRECT)
    assert query["state"] == evil
    assert server.access_subject(body(exchange(server, query["code"]))["access_token"]) == (
        "<b>owner</b>"
    )


def test_several_accounts_are_offered_as_a_choice_and_the_chosen_one_is_granted(
    clock: SimulatedClock,
) -> None:
    server = xero(clock)
    server.consent_subject = "acme"
    server.accounts = ["globex", "acme", "initech"]
    granted: list[str] = []
    server.on_consent = granted.append
    with httpx2.Client(transport=httpx2.MockTransport(server.authorize)) as client:
        form = consent_form(client.get(authorize_url()).text)
    assert form.accounts == ["acme", "globex", "initech"]
    assert form.checked == "acme"
    assert "account" not in form.fields
    default = authorize(server)["code"]
    chosen = authorize(server, account="initech")["code"]
    subjects = [
        server.access_subject(body(exchange(server, code))["access_token"])
        for code in (default, chosen)
    ]
    assert subjects == ["acme", "initech"]
    assert granted == ["acme", "initech"]


def test_a_decision_for_an_account_not_offered_or_without_a_decision_is_refused(
    clock: SimulatedClock,
) -> None:
    server = xero(clock)
    intruder = authorize(server, account="someone-else", state="s")
    assert (intruder["error"], intruder["state"]) == ("invalid_request", "s")
    assert authorize(server, decision="maybe")["error"] == "invalid_request"
    assert server.issued == []
