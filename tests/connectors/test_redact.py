"""Secrets never reach a log line: our own, httpx2's, or any other library's."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx2
import pytest

from connectors.redact import (
    HTTP_LOGGERS,
    SENSITIVE_PARAMS,
    RedactingFilter,
    install_log_redaction,
    redact_text,
    redact_url,
)
from reconcile.models import SECRET_NAMES

SECRET_URL = "https://api.example.test/x?app_secret=S3CRET&refresh_token=x&page=2"


@pytest.fixture
def redaction() -> Iterator[RedactingFilter]:
    """Installs the filter for one test and takes it off every logger and handler after."""
    installed = install_log_redaction()
    try:
        yield installed
    finally:
        for name in HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(installed)
        for handler in logging.getLogger().handlers:
            handler.removeFilter(installed)


def test_the_sensitive_parameters_are_the_canonical_secret_names() -> None:
    assert {name.lower() for name in SECRET_NAMES} == SENSITIVE_PARAMS
    for name in ("app_secret", "consumer_key", "consumer_secret", "oauth_signature", "sign"):
        assert redact_url(f"https://a.test/p?{name}=S3CRET&page=2") == (
            f"https://a.test/p?{name}=***&page=2"
        )


def test_httpx2_request_log_comes_out_masked(
    redaction: RedactingFilter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx2")
    with httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(200))) as http:
        http.get(SECRET_URL)
    [line] = [r.getMessage() for r in caplog.records if r.name == "httpx2"]
    assert "S3CRET" not in line and "refresh_token=x" not in line
    assert "app_secret=***&refresh_token=***&page=2" in line
    assert "S3CRET" not in caplog.text


def test_root_handlers_mask_what_other_libraries_log(redaction: RedactingFilter) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_log_redaction()
        other = logging.getLogger("some.library")
        other.warning("calling %s with %s", SECRET_URL, {"access_token": "eyJabc"})
        try:
            raise RuntimeError(f"refused {SECRET_URL}")
        except RuntimeError:
            other.exception("failed")
    finally:
        root.removeHandler(handler)
        handler.removeFilter(redaction)
    logged = stream.getvalue()
    assert "S3CRET" not in logged and "eyJabc" not in logged
    assert logged.count("app_secret=***") == 2
    assert "RuntimeError: refused" in logged


def test_a_record_whose_arguments_do_not_fit_is_masked_not_raised() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "GET %s %s", (SECRET_URL,), exc_info=None
    )
    assert RedactingFilter().filter(record)
    assert "S3CRET" not in record.getMessage()
    assert "did not fit" in record.getMessage()


def test_installing_twice_attaches_one_filter() -> None:
    first = install_log_redaction()
    try:
        assert install_log_redaction() is first
        assert logging.getLogger("httpx2").filters.count(first) == 1
        assert logging.getLogger("httpcore2.http11").filters.count(first) == 1
    finally:
        for name in HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(first)
        for handler in logging.getLogger().handlers:
            handler.removeFilter(first)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET https://u:pw@a.test/p?code=abc", "GET https://***@a.test/p?code=***"),
        (
            '{"app_secret": "abc", "code": "InvalidInput"}',
            '{"app_secret": "***", "code": "InvalidInput"}',
        ),
        ("error_code=5&sign=12", "error_code=5&sign=***"),
        (
            "[(b'Set-Cookie', b'sid=abc'), (b'Date', b'today')]",
            "[(b'Set-Cookie', b'***'), (b'Date', b'today')]",
        ),
    ],
)
def test_free_text_masks_secret_parameters_userinfo_and_logged_headers(
    text: str, masked: str
) -> None:
    assert redact_text(text) == masked
