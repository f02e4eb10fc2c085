"""The Amazon sandbox's authorization side: Login with Amazon tokens and Seller Central consent.

LWA issues one-hour `Atza|` access tokens and non-rotating `Atzr|` refresh tokens to a client
that authenticates in the form body (client_secret_post). Seller Central's website consent
(`/apps/authorize/consent?application_id=...&state=...&redirect_uri=...[&version=beta]`) names
the SP-API application, not the LWA client, and answers with `spapi_oauth_code`, `state` and
`selling_partner_id` (`reference/channel-apis.md` §1, "Authorization (public app)").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from connectors.clock import Clock
from connectors.sandbox.consent import ConsentDialect
from connectors.sandbox.grants import GrantServer

CONSENT_PATH = "/apps/authorize/consent"  # on the Seller Central host of the seller's region
APPLICATION_ID = "amzn1.sp.solution.sandbox"
APP_NAME = "Reconciliation Workbench"  # the name the sandbox app is registered under
ROLES = ("Finance and Accounting: financial events and settlement reports",)


def lwa_server(
    clock: Clock, client_id: str, client_secret: str, app_name: str, sellers: Sequence[str]
) -> GrantServer:
    """The LWA token endpoint and consent for `sellers` (the first one is the default choice)."""
    grants = GrantServer(
        clock,
        clients={client_id: client_secret},
        access_ttl=timedelta(hours=1),
        rotate_refresh=False,
        client_auth="post",
        access_prefix="Atza|",
        refresh_prefix="Atzr|",
        title="Amazon Seller Central (sandbox)",
        client_names={client_id: app_name},
        permissions=ROLES,
        account_label="Selling partner account",
    )
    if sellers:
        grants.consent_subject = sellers[0]
    grants.accounts = list(sellers)
    return grants


def consent_dialect(application_id: str, client_id: str) -> ConsentDialect:
    """Seller Central's consent request and callback, for one SP-API application."""
    return ConsentDialect(
        client_param="application_id",
        client_label="Application ID",
        code_param="spapi_oauth_code",
        account_param="selling_partner_id",
        response_type=False,
        applications={application_id: client_id},
    )
