"""Amazon marketplaces: ids, regions, currencies and the local time zone settlements are dated in.

Source: the SP-API marketplace id table (`reference/channel-apis.md` §1.2). A seller connects to
one regional endpoint (`na`, `eu`, `fe`) and sells in one or more of that region's marketplaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connectors.errors import ConfigError

PROVIDER = "amazon"

REGIONS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}

# ISO 4217 minor-unit exponents of the currencies Amazon marketplaces settle in.
CURRENCY_EXPONENTS = {
    "USD": 2,
    "CAD": 2,
    "MXN": 2,
    "BRL": 2,
    "GBP": 2,
    "EUR": 2,
    "SEK": 2,
    "PLN": 2,
    "TRY": 2,
    "EGP": 2,
    "ZAR": 2,
    "AED": 2,
    "SAR": 2,
    "INR": 2,
    "SGD": 2,
    "AUD": 2,
    "JPY": 0,
}


@dataclass(frozen=True, slots=True)
class Marketplace:
    """One Amazon marketplace; `timezone` (IANA) dates its settlements."""

    country: str
    site: str
    marketplace_id: str
    region: str
    currency: str
    timezone: str


MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("US", "amazon.com", "ATVPDKIKX0DER", "na", "USD", "America/Los_Angeles"),
    Marketplace("CA", "amazon.ca", "A2EUQ1WTGCTBG2", "na", "CAD", "America/Los_Angeles"),
    Marketplace("MX", "amazon.com.mx", "A1AM78C64UM0Y8", "na", "MXN", "America/Mexico_City"),
    Marketplace("BR", "amazon.com.br", "A2Q3Y263D00KWC", "na", "BRL", "America/Sao_Paulo"),
    Marketplace("UK", "amazon.co.uk", "A1F83G8C2ARO7P", "eu", "GBP", "Europe/London"),
    Marketplace("DE", "amazon.de", "A1PA6795UKMFR9", "eu", "EUR", "Europe/Berlin"),
    Marketplace("FR", "amazon.fr", "A13V1IB3VIYZZH", "eu", "EUR", "Europe/Paris"),
    Marketplace("ES", "amazon.es", "A1RKKUPIHCS9HS", "eu", "EUR", "Europe/Madrid"),
    Marketplace("IT", "amazon.it", "APJ6JRA9NG5V4", "eu", "EUR", "Europe/Rome"),
    Marketplace("NL", "amazon.nl", "A1805IZSGTT6HS", "eu", "EUR", "Europe/Amsterdam"),
    Marketplace("SE", "amazon.se", "A2NODRKZP88ZB9", "eu", "SEK", "Europe/Stockholm"),
    Marketplace("PL", "amazon.pl", "A1C3SOZRARQ6R3", "eu", "PLN", "Europe/Warsaw"),
    Marketplace("BE", "amazon.com.be", "AMEN7PMS3EDWL", "eu", "EUR", "Europe/Brussels"),
    Marketplace("IE", "amazon.ie", "A28R8C7NBKEWEA", "eu", "EUR", "Europe/Dublin"),
    Marketplace("TR", "amazon.com.tr", "A33AVAJ2PDY3EV", "eu", "TRY", "Europe/Istanbul"),
    Marketplace("EG", "amazon.eg", "ARBP9OOSHTCHU", "eu", "EGP", "Africa/Cairo"),
    Marketplace("ZA", "amazon.co.za", "AE08WJ6YKNBMC", "eu", "ZAR", "Africa/Johannesburg"),
    Marketplace("AE", "amazon.ae", "A2VIGQ35RCS4UG", "eu", "AED", "Asia/Dubai"),
    Marketplace("SA", "amazon.sa", "A17E79C6D8DWNP", "eu", "SAR", "Asia/Riyadh"),
    Marketplace("IN", "amazon.in", "A21TJRUUN4KGV", "eu", "INR", "Asia/Kolkata"),
    Marketplace("SG", "amazon.sg", "A19VAU5U5O7RUS", "fe", "SGD", "Asia/Singapore"),
    Marketplace("AU", "amazon.com.au", "A39IBJ37TRP1C6", "fe", "AUD", "Australia/Sydney"),
    Marketplace("JP", "amazon.co.jp", "A1VC38T7YXB528", "fe", "JPY", "Asia/Tokyo"),
)

_ALIASES = {"GB": "UK"}
_BY_CODE = {m.country: m for m in MARKETPLACES} | {m.marketplace_id: m for m in MARKETPLACES}


def marketplace(code: str, *, region: str | None = None) -> Marketplace:
    """The marketplace for a country code (`US`, `UK` or `GB`, ...) or a marketplace id.

    `region` only narrows the list of valid codes the error message offers.
    """
    key = code.strip().upper()
    found = _BY_CODE.get(_ALIASES.get(key, key)) or _BY_CODE.get(code.strip())
    if found is None:
        offered = [m.country for m in MARKETPLACES if region in (None, m.region)]
        where = f" in region {region}" if region else ""
        raise ConfigError(
            PROVIDER,
            f"unknown Amazon marketplace {code!r}; valid codes{where}: {', '.join(offered)}"
            " (or their marketplace ids)",
        )
    return found


def region_url(region: str) -> str:
    """The production endpoint of an SP-API region."""
    try:
        return REGIONS[region.strip().lower()]
    except KeyError:
        raise ConfigError(
            PROVIDER, f"unknown Amazon region {region!r}; choose na, eu or fe"
        ) from None


def marketplaces_for(region: str, countries: Sequence[str]) -> list[Marketplace]:
    """The marketplaces named by `countries` (codes or ids), all of which must be in `region`.

    An empty `countries` means every marketplace of the region, in the documented order.
    """
    key = region.strip().lower()
    region_url(key)
    if not countries:
        return [m for m in MARKETPLACES if m.region == key]
    chosen: list[Marketplace] = []
    for code in countries:
        found = marketplace(code, region=key)
        if found.region != key:
            raise ConfigError(
                PROVIDER,
                f"Amazon marketplace {found.country} ({found.marketplace_id}) belongs to region "
                f"{found.region}, not {key}; connect it through the {found.region} region",
            )
        if found not in chosen:
            chosen.append(found)
    return chosen
