"""Keep secrets out of logs, errors and exports: mask tokens in URLs, headers and free text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
SENSITIVE_PARAMS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "code",
        "code_verifier",
        "token",
        "id_token",
        "password",
        "api_key",
        "apikey",
        "signature",
        "spapi_oauth_code",
        "x-amz-signature",
        "x-amz-security-token",
    }
)
_TEXT_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-|]+"),
    re.compile(r"\bAtz[ar]\|[A-Za-z0-9._~+/=\-|]+"),
    re.compile(
        r"(?i)(\"?(?:access_token|refresh_token|client_secret|code_verifier|id_token|password)\"?"
        r"\s*[:=]\s*\"?)([^\"&,\s}]+)"
    ),
)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with known secret values and token-shaped strings masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = _TEXT_PATTERNS[0].sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _TEXT_PATTERNS[1].sub(MASK, text)
    return _TEXT_PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}", text)


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
