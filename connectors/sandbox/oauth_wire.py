"""The OAuth 2.0 wire format the sandboxes' grant server speaks (RFC 6749, RFC 7636).

Form bodies, client credentials, PKCE verification, JSON error responses and redirects that
carry a code or an error back to the client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote, urlencode

import httpx2

FORM_TYPE = "application/x-www-form-urlencoded"


class OAuthError(Exception):
    """An RFC 6749 error response, raised inside the endpoints and turned into JSON."""

    def __init__(self, error: str, description: str = "", status: int = 400) -> None:
        self.error = error
        self.description = description
        self.status = status
        super().__init__(error)


def verify_pkce(challenge: str | None, verifier: str | None) -> None:
    """Check a code_verifier against the code's S256 challenge (both absent is fine)."""
    if challenge is None:
        if verifier is not None:
            raise OAuthError("invalid_grant", "code_verifier sent but no code_challenge was")
        return
    if not verifier:
        raise OAuthError("invalid_grant", "code_verifier is required")
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if not secrets.compare_digest(computed, challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")


def form_fields(request: httpx2.Request) -> dict[str, str]:
    """The fields of a POSTed form body, each sent once; `OAuthError` otherwise."""
    if request.method != "POST":
        raise OAuthError("invalid_request", "use POST")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise OAuthError("invalid_request", f"the body must be {FORM_TYPE}")
    try:
        parsed = parse_qs(request.read().decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as error:
        raise OAuthError("invalid_request", "the body is not UTF-8") from error
    if any(len(values) > 1 for values in parsed.values()):
        raise OAuthError("invalid_request", "a parameter was sent more than once")
    return {key: values[0] for key, values in parsed.items()}


def basic_credentials(request: httpx2.Request) -> tuple[str, str] | None:
    """The client id and secret of an `Authorization: Basic` header, None without one."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401) from error
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401)
    return unquote(client_id), unquote(secret)


def json_response(status: int, body: Mapping[str, object]) -> httpx2.Response:
    """A JSON token-endpoint response, never cached."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return httpx2.Response(status, json=dict(body), headers=headers)


def error_fields(error: OAuthError) -> dict[str, str]:
    """`error` and, when there is one, `error_description`."""
    fields = {"error": error.error}
    if error.description:
        fields["error_description"] = error.description
    return fields


def error_response(error: OAuthError, request: httpx2.Request) -> httpx2.Response:
    """The JSON error answer; a 401 to Basic credentials carries `WWW-Authenticate`."""
    response = json_response(error.status, error_fields(error))
    if error.status == 401 and _has_basic(request):
        response.headers["WWW-Authenticate"] = 'Basic realm="sandbox"'
    return response


def _has_basic(request: httpx2.Request) -> bool:
    return request.headers.get("authorization", "").lower().startswith("basic ")


def with_state(fields: dict[str, str], state: str | None) -> dict[str, str]:
    """The callback fields plus `state` when the request carried one."""
    return {**fields, "state": state} if state is not None else fields


def redirect(redirect_uri: str, fields: Mapping[str, str]) -> httpx2.Response:
    """A 302 back to the client with `fields` added to its redirect URI's query."""
    separator = "&" if "?" in redirect_uri else "?"
    return httpx2.Response(302, headers={"Location": redirect_uri + separator + urlencode(fields)})
