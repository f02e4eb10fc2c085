"""Amazon's website authorization workflow: where a seller consents, and how the app is named.

A public SP-API application sends the seller to Seller Central's consent page
(`/apps/authorize/consent?application_id=...&state=...&redirect_uri=...`, plus `version=beta`
while the app is a draft). Seller Central redirects back with `state`, `selling_partner_id` and
`spapi_oauth_code`; the code lives 5 minutes and is exchanged at the LWA token endpoint with
`grant_type=authorization_code`, the same `redirect_uri` and the LWA client's id and secret in
the form (no PKCE). Source: `reference/channel-apis.md` §1, "Authorization (public app)" and
"Seller Central URLs"; each region's consent goes to its primary Seller Central host.
"""

from __future__ import annotations

from connectors.amazon_marketplaces import MARKETPLACES, PROVIDER
from connectors.errors import ConfigError
from connectors.oauth_flow import ConsentStyle

CONSENT_PATH = "/apps/authorize/consent"
SELLER_CENTRAL = {
    "na": "https://sellercentral.amazon.com",
    "eu": "https://sellercentral-europe.amazon.com",
    "fe": "https://sellercentral.amazon.co.jp",
}
CONSENT_URLS = {region: host + CONSENT_PATH for region, host in SELLER_CENTRAL.items()}
CONSENT_URL = CONSENT_URLS["na"]
APPLICATION_ID = "application_id"  # the connection-config key of the SP-API application id
APPLICATION_PREFIX = "amzn1.sp.solution."

STYLE = ConsentStyle(
    pkce=False,
    client_key=APPLICATION_ID,
    client_prefix=APPLICATION_PREFIX,  # an LWA client id (amzn1.application-oa2-client.) is not it
    client_param="application_id",
    response_type=False,
    code_param="spapi_oauth_code",
    account_param="selling_partner_id",
    draft_params={"version": "beta"},
    regional_urls=CONSENT_URLS,
    marketplace_regions={
        key: m.region for m in MARKETPLACES for key in (m.country, m.marketplace_id)
    },
)


def consent_url(region: str) -> str:
    """The Seller Central consent URL of a region (na, eu, fe)."""
    try:
        return CONSENT_URLS[region.strip().lower()]
    except KeyError:
        known = ", ".join(CONSENT_URLS)
        raise ConfigError(PROVIDER, f"unknown Amazon region {region!r}; choose {known}") from None
