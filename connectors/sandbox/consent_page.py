"""The sandboxes' consent and error pages: small, self-contained HTML (inline CSS, no assets).

Everything echoed into a page (client names, scopes, accounts, the request's own parameters)
is HTML-escaped. The pages forbid framing and load nothing from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

import httpx2

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
ALLOW_BUTTON = (
    '<button class="allow" type="submit" name="decision" value="allow">Allow access</button>'
)
DENY_BUTTON = '<button type="submit" name="decision" value="deny">Deny</button>'
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1f2328;
margin:0;padding:48px 16px}
main{max-width:460px;margin:0 auto;background:#fff;border:1px solid #d8dce1;border-radius:10px;
padding:28px 32px;box-shadow:0 1px 3px rgba(0,0,0,.06)}
.badge{display:inline-block;font-size:12px;letter-spacing:.04em;text-transform:uppercase;
color:#6a4b00;background:#fff3cd;border-radius:4px;padding:2px 8px}
h1{font-size:20px;line-height:1.35;margin:12px 0 4px}
h2{font-size:14px;margin:20px 0 6px;color:#57606a}
p.meta{font-size:13px;color:#57606a;margin:0}
ul{margin:0;padding-left:20px}li{margin:3px 0}
label{display:block;padding:6px 0}
.note{font-size:13px;color:#57606a;margin-top:16px}
.actions{display:flex;gap:12px;margin-top:24px}
button{font-size:15px;border-radius:6px;padding:9px 18px;cursor:pointer;border:1px solid #d8dce1;
background:#fff}
button.allow{background:#1f6feb;border-color:#1f6feb;color:#fff}
.error{color:#a40e26}
"""


@dataclass(frozen=True)
class Consent:
    """What a consent page shows and what its form sends back."""

    action: str  # the path the form posts to (the authorization endpoint itself)
    provider: str  # e.g. "Xero (sandbox)"
    app: str  # the client's display name
    client_label: str  # "Client ID" or "Application ID"
    client_id: str
    permissions: Sequence[str]
    account_label: str  # e.g. "Seller account"
    accounts: Sequence[str]  # the first one is chosen by default
    note: str
    hidden: Mapping[str, str]  # the original request's parameters, sent back unchanged


def consent_response(consent: Consent) -> httpx2.Response:
    """The consent page: who asks, for what, on which account; Allow access or Deny."""
    body = "".join(
        (
            f'<span class="badge">{_e(consent.provider)}</span>',
            f"<h1>{_e(consent.app)} wants access to your {_e(consent.provider)} account</h1>",
            f'<p class="meta">{_e(consent.client_label)}: {_e(consent.client_id)}</p>',
            f'<form method="post" action="{_e(consent.action)}">',
            _permissions(consent.permissions),
            _accounts(consent.account_label, consent.accounts),
            f'<p class="note">{_e(consent.note)}</p>' if consent.note else "",
            _hidden(consent.hidden),
            '<div class="actions">',
            ALLOW_BUTTON,
            DENY_BUTTON,
            "</div></form>",
        )
    )
    return _page(200, f"Allow {consent.app}?", body)


def error_page(provider: str, message: str, status: int = 400) -> httpx2.Response:
    """An error page for a request that cannot be sent back to the client (never a redirect)."""
    body = (
        f'<span class="badge">{_e(provider)}</span><h1 class="error">This request cannot be '
        f'authorised</h1><p>{_e(message)}</p><p class="note">Go back to the application and '
        "start connecting again.</p>"
    )
    return _page(status, "Authorisation error", body)


def _permissions(permissions: Sequence[str]) -> str:
    items = "".join(f"<li>{_e(p)}</li>" for p in permissions)
    return f"<h2>It asks to</h2><ul>{items}</ul>"


def _accounts(label: str, accounts: Sequence[str]) -> str:
    if len(accounts) == 1:
        choice = f'<input type="hidden" name="account" value="{_e(accounts[0])}">'
        return f"<h2>{_e(label)}</h2><p>{_e(accounts[0])}</p>{choice}"
    options = "".join(
        f'<label><input type="radio" name="account" value="{_e(account)}"'
        f"{' checked' if index == 0 else ''}> {_e(account)}</label>"
        for index, account in enumerate(accounts)
    )
    return f"<h2>{_e(label)}</h2>{options}"


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{_e(name)}" value="{_e(value)}">'
        for name, value in fields.items()
    )


def _page(status: int, title: str, body: str) -> httpx2.Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return httpx2.Response(status, html=html, headers=HEADERS)


def _e(text: str) -> str:
    return escape(text, quote=True)
