"""Keep secrets out of logs, errors and exports: mask tokens in URLs, headers and free text.

The names whose values are secret come from `reconcile.models.SECRET_NAMES`, the one list the
store also checks connection settings against. `install_log_redaction()` extends the masking to
log records the HTTP libraries write themselves (httpx2 logs every URL at INFO).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reconcile.models import SECRET_NAMES

MASK = "***"

SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "x-amz-access-token",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-shopify-access-token",
        "proxy-authorization",
    }
)
SENSITIVE_PARAMS = frozenset(name.lower() for name in SECRET_NAMES)
# Loggers of the HTTP stack that write URLs or headers (httpcore2 logs from child loggers only,
# and a logger's filters never see records propagated from its children).
HTTP_LOGGERS = (
    "httpx2",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpcore2.socks",
)


def _names(names: Iterable[str]) -> str:
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


# "code" is a secret in a query string or form body, but an error code in a JSON body or dict.
_JSON_NAMES = SENSITIVE_PARAMS - {"code"}
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-|]+"), rf"\1 {MASK}"),
    (re.compile(r"\bAtz[ar]\|[A-Za-z0-9._~+/=\-|]+"), MASK),
    (re.compile(rf"(?i)(?<![\w-])({_names(SENSITIVE_PARAMS)})=[^&\s\"'<>#,;]+"), rf"\1={MASK}"),
    (
        re.compile(
            rf"(?i)(?<![\w-])(['\"]?(?:{_names(_JSON_NAMES)})['\"]?\s*:\s*['\"]?)[^'\"&,\s}}]+"
        ),
        rf"\1{MASK}",
    ),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@"), rf"\1{MASK}@"),
    # headers as httpcore2 logs them at DEBUG: (b'Set-Cookie', b'value')
    (
        re.compile(
            rf"(?i)(\(b?['\"](?:{_names(SENSITIVE_HEADERS)})['\"],\s*b?)(['\"])(?:\\.|(?!\2).)*\2"
        ),
        rf"\1'{MASK}'",
    ),
)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with known secret values, token-shaped strings and secret parameters masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_url(url: str) -> str:
    """`url` with credentials and sensitive query parameters masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = urlencode(
        [
            (k, MASK if k.lower() in SENSITIVE_PARAMS else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with authentication headers masked."""
    return {k: MASK if k.lower() in SENSITIVE_HEADERS else v for k, v in headers.items()}


class RedactingFilter(logging.Filter):
    """Masks secrets in each record it sees: the formatted message, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite `record` in place (every handler then sees the masked text); keep it."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            message = f"{record.msg} (the log arguments did not fit the message)"
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()
_FILTER = RedactingFilter()


def install_log_redaction() -> RedactingFilter:
    """Mask secrets in what the HTTP libraries and every root handler log (idempotent)."""
    for name in HTTP_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_FILTER)
    return _FILTER
