from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import ApiClient, RetryPolicy, TokenAuth, retry_after
from connectors.clock import SimulatedClock
from connectors.errors import (
    AuthExpired,
    AuthRevoked,
    ConfigError,
    RateLimited,
    UnexpectedPayload,
    UpstreamUnavailable,
)
from connectors.pagination import LinkHeader, NextToken, Offset, PageNumber, cursor_pages
from connectors.ratelimit import Rate, RateLimiter
from connectors.redact import redact_headers, redact_text, redact_url
from reconcile.models import ErrorClass

Handler = Callable[[httpx2.Request], httpx2.Response]
START = datetime(2026, 1, 1, tzinfo=UTC)


def client(
    handler: Handler,
    *,
    clock: SimulatedClock | None = None,
    limiter: RateLimiter | None = None,
    auth: TokenAuth | None = None,
    retry: RetryPolicy | None = None,
) -> ApiClient:
    clock = clock or SimulatedClock(START)
    http = httpx2.Client(
        base_url="https://api.example.test", transport=httpx2.MockTransport(handler)
    )
    return ApiClient(
        "example",
        http,
        limiter=limiter or RateLimiter(clock),
        clock=clock,
        auth=auth,
        retry=retry,
        jitter=lambda: 1.0,
    )


class Tokens:
    def __init__(self) -> None:
        self.issued = 0
        self.invalidated = 0

    def token(self) -> str:
        self.issued += 1
        return f"tok-{self.issued}"

    def invalidate(self) -> None:
        self.invalidated += 1


def test_retries_429_honouring_retry_after_on_the_injected_clock() -> None:
    answers = [httpx2.Response(429, headers={"Retry-After": "7"}), httpx2.Response(200, json={})]
    clock = SimulatedClock(START)
    api = client(lambda request: answers.pop(0), clock=clock)

    api.request("GET", "/x", operation="op")

    assert clock.now() == datetime(2026, 1, 1, 0, 0, 7, tzinfo=UTC)


def test_5xx_and_network_errors_are_retried_then_raised_as_transient() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx2.ConnectError("refused", request=request)
        return httpx2.Response(503, text="down")

    api = client(handler, retry=RetryPolicy(attempts=3, base_delay=0.5))
    with pytest.raises(UpstreamUnavailable) as caught:
        api.request("GET", "/x", operation="op")
    assert len(calls) == 3
    assert caught.value.error_class is ErrorClass.TRANSIENT
    assert caught.value.status == 503


def test_a_retry_after_longer_than_the_policy_allows_is_raised_not_slept() -> None:
    clock = SimulatedClock(START)
    api = client(lambda r: httpx2.Response(429, headers={"Retry-After": "66975"}), clock=clock)
    with pytest.raises(RateLimited) as caught:
        api.request("GET", "/x", operation="op")
    assert caught.value.retry_after == 66975
    assert clock.now() == START


def test_401_invalidates_the_token_and_retries_once_then_raises_auth() -> None:
    tokens = Tokens()
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["Authorization"])
        return httpx2.Response(401, json={"Detail": "TokenExpired"})

    api = client(handler, auth=TokenAuth(tokens))
    with pytest.raises(AuthExpired) as caught:
        api.request("GET", "/x", operation="op")
    assert seen == ["Bearer tok-1", "Bearer tok-2"]
    assert tokens.invalidated == 1
    assert caught.value.error_class is ErrorClass.AUTH


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, AuthRevoked), (404, ConfigError), (400, ConfigError)],
)
def test_status_codes_map_to_the_error_tree(status: int, error: type[Exception]) -> None:
    api = client(lambda r: httpx2.Response(status, json={"errors": []}))
    with pytest.raises(error):
        api.request("GET", "/x", operation="op")


def test_request_id_and_status_travel_with_the_error() -> None:
    api = client(lambda r: httpx2.Response(403, headers={"x-amzn-RequestId": "rid-9"}))
    with pytest.raises(AuthRevoked) as caught:
        api.request("GET", "/x", operation="op")
    assert "rid-9" in str(caught.value)
    assert "HTTP 403" in str(caught.value)


def test_a_body_that_is_not_json_is_a_data_error_with_the_raw_payload_kept() -> None:
    api = client(lambda r: httpx2.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(UnexpectedPayload) as caught:
        api.json("GET", "/x", operation="op")
    assert caught.value.error_class is ErrorClass.DATA
    assert caught.value.raw == "<html>oops</html>"


def test_json_numbers_decode_as_exact_decimals() -> None:
    api = client(lambda r: httpx2.Response(200, content=b'{"amount": 0.1, "n": 3}'))
    body = api.json("GET", "/x", operation="op")
    assert str(body["amount"]) == "0.1"
    assert body["n"] == 3


def test_rate_limiter_spaces_calls_at_the_documented_rate_after_the_burst() -> None:
    clock = SimulatedClock(START)
    limiter = RateLimiter(clock, operations={"op": Rate(0.5, 3)})
    api = client(lambda r: httpx2.Response(200, json={}), clock=clock, limiter=limiter)
    for _ in range(8):
        api.request("GET", "/x", operation="op")
    # 3 at once from the burst, then one every 2 s
    assert (clock.now() - START).total_seconds() == pytest.approx(10.0)


def test_shared_bucket_can_be_lowered_to_what_the_provider_reports() -> None:
    clock = SimulatedClock(START)
    limiter = RateLimiter(clock, shared={"minute": Rate.per_minute(60)})
    limiter.observe_remaining("minute", 0)
    waited = limiter.acquire("anything")
    assert waited == pytest.approx(1.0)


def pages_of(pages: dict[str | None, dict[str, Any]], key: str) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=pages[request.url.params.get(key)])

    return handler


def test_next_token_pagination_walks_every_page_including_empty_ones() -> None:
    pages = {
        None: {"p": {"items": [1, 2], "NextToken": "a"}},
        "a": {"p": {"items": [], "NextToken": "b"}},
        "b": {"p": {"items": [3]}},
    }
    api = client(pages_of(pages, "NextToken"))
    strategy = NextToken(lambda page: page["p"]["items"], ("p", "NextToken"), "NextToken")
    assert list(api.paginate("/x", {"q": "1"}, strategy, operation="op")) == [1, 2, 3]


def test_a_repeated_page_token_stops_with_a_clear_error() -> None:
    pages = {None: {"items": [1], "next": "same"}, "same": {"items": [2], "next": "same"}}
    api = client(pages_of(pages, "cursor"))
    with pytest.raises(UnexpectedPayload, match="repeated a page token"):
        list(api.paginate("/x", {}, cursor_pages(lambda p: p["items"], ("next",)), operation="o"))


def test_page_number_pagination_stops_on_a_short_page() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        page = int(request.url.params["page"])
        return httpx2.Response(200, json={"rows": list(range(2)) if page < 3 else [9]})

    api = client(handler)
    rows = list(
        api.paginate("/x", {"page": "1"}, PageNumber(lambda p: p["rows"], 2), operation="o")
    )
    assert rows == [0, 1, 0, 1, 9]


def test_offset_pagination_stops_at_the_total() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        offset = int(request.url.params.get("offset", 0))
        return httpx2.Response(
            200, json={"total": 5, "rows": list(range(offset, offset + 2))[: 5 - offset]}
        )

    api = client(handler)
    rows = list(api.paginate("/x", {}, Offset(lambda p: p["rows"], limit=2), operation="o"))
    assert rows == [0, 1, 2, 3, 4]


def test_link_header_pagination_follows_rel_next() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.params.get("page_info") == "abc":
            return httpx2.Response(200, json={"rows": [2]})
        link = '<https://shop.example.test/x.json?page_info=abc&limit=1>; rel="next"'
        return httpx2.Response(200, json={"rows": [1]}, headers={"Link": link})

    api = client(handler)
    assert list(api.paginate("/x", {}, LinkHeader(lambda p: p["rows"]), operation="o")) == [1, 2]


def test_retry_after_accepts_an_http_date() -> None:
    response = httpx2.Response(
        429,
        headers={
            "Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT",
            "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
        },
    )
    assert retry_after(response) == 30


def test_retry_after_reads_a_zone_less_http_date_as_utc() -> None:
    response = httpx2.Response(
        429,
        headers={
            "Retry-After": "Wed, 21 Oct 2026 07:28:30 -0000",
            "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
        },
    )
    assert retry_after(response) == 30


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "soon"},
        {"Retry-After": "inf"},
        {"Retry-After": "nan"},
        {"Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT"},
        {"Retry-After": "Wed, 99 Foo 2026 07:28:30 GMT", "Date": "Wed, 21 Oct 2026 07:28:00 GMT"},
        {"Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT", "Date": "yesterday"},
        {"Retry-After": "Wed, 21 Oct 99999 07:28:30 GMT", "Date": "Wed, 21 Oct 2026 07:28:00 GMT"},
    ],
)
def test_retry_after_is_none_for_a_header_it_cannot_read(headers: dict[str, str]) -> None:
    assert retry_after(httpx2.Response(429, headers=headers)) is None


@settings(max_examples=300, deadline=None)
@given(
    value=st.text(st.characters(min_codepoint=32, max_codepoint=126)),
    date=st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126))),
)
def test_retry_after_never_raises_whatever_the_headers_say(value: str, date: str | None) -> None:
    headers = {"Retry-After": value, **({"Date": date} if date is not None else {})}
    seconds = retry_after(httpx2.Response(429, headers=headers))
    assert seconds is None or 0 <= seconds < float("inf")


def test_an_unreadable_retry_after_falls_back_to_backoff() -> None:
    answers = [httpx2.Response(429, headers={"Retry-After": "soon"}), httpx2.Response(200)]
    clock = SimulatedClock(START)
    api = client(lambda request: answers.pop(0), clock=clock)
    api.request("GET", "/x", operation="op")
    assert clock.now() == START + timedelta(seconds=1)


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_json_nan_and_infinity_are_a_data_error(constant: bytes) -> None:
    api = client(lambda r: httpx2.Response(200, content=b'{"amount": ' + constant + b"}"))
    with pytest.raises(UnexpectedPayload) as caught:
        api.json("GET", "/x", operation="op")
    assert caught.value.raw == '{"amount": ' + constant.decode() + "}"


def test_the_request_log_shows_the_sent_url_with_secrets_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="connectors.base")
    api = client(lambda r: httpx2.Response(200))
    api.request("GET", "/x", operation="op", params={"app_secret": "S3CRET", "page": "2"})
    [line] = [r.getMessage() for r in caplog.records if r.name == "connectors.base"]
    assert line == "example GET https://api.example.test/x?app_secret=***&page=2"


def test_redaction_masks_tokens_in_urls_headers_and_text() -> None:
    url = redact_url("https://u:pw@api.test/p?code=abc&refresh_token=Atzr|xyz&page=2")
    assert "abc" not in url and "xyz" not in url and "pw" not in url and "page=2" in url
    headers = redact_headers({"Authorization": "Bearer s3cret", "Accept": "json"})
    assert headers == {"Authorization": "***", "Accept": "json"}
    text = redact_text(
        '{"access_token": "eyJhbGciOi", "x": 1} Bearer abc.def Atza|QQQ', secrets=["hunter22"]
    )
    assert "eyJhbGciOi" not in text and "abc.def" not in text and "QQQ" not in text
    assert redact_text("password hunter22 here", secrets=["hunter22"]) == "password *** here"
