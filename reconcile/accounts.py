"""Which ledger account each line category of a settlement is posted to.

A workspace maps, per provider, every line category (sale, fee, refund, ...) to an account code
of its chart, plus the provider's clearing account (`clearing`): the current-asset account that
receives the payment of a settlement's net and carries a split settlement's balance from one
month to the next. Where a workspace has chosen nothing, the defaults below apply. They match
the account codes of Xero's demo organisation (and the sandbox): review them before posting
for real, above all `tax` (point it at your sales-tax liability account) and `reserve` (a
"Reserved balances" current asset, if you keep one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import duckdb

from reconcile import sql
from reconcile.database import frame, transaction_on
from reconcile.models import LineCategory

CLEARING = "clearing"
CATEGORIES: tuple[str, ...] = (*(category.value for category in LineCategory), CLEARING)
ANY_PROVIDER = "*"
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,9}$")
_PROVIDER = re.compile(r"^[a-z][a-z0-9_-]*$")

# The defaults, per provider; ANY_PROVIDER serves a provider without a table of its own.
DEFAULT_ACCOUNTS: Mapping[str, Mapping[str, str]] = {
    "amazon": {
        "sale": "200",  # Sales
        "shipping": "200",
        "promotion": "200",
        "refund": "200",  # refunds reduce sales
        "tax": "200",  # marketplace-facilitator tax nets to zero; remap seller-collected tax
        "fee": "404",  # seller and FBA fees
        "reserve": "630",  # held by Amazon: a current asset
        "adjustment": "260",  # reimbursements and other income
        "other": "429",  # advertising, loans, service charges
        CLEARING: "630",  # Marketplace Clearing (payments enabled)
    },
    ANY_PROVIDER: {
        "sale": "200",
        "shipping": "200",
        "promotion": "200",
        "refund": "200",
        "tax": "200",
        "fee": "404",
        "reserve": "630",
        "adjustment": "260",
        "other": "429",
        CLEARING: "630",
    },
}
# The ledger contact a provider's settlements are posted to (Xero creates it if missing).
CONTACTS: Mapping[str, str] = {"amazon": "Amazon"}


class MappingError(ValueError):
    """A category, provider or account code that cannot be stored; says what is allowed."""


@dataclass(frozen=True)
class AccountMap:
    """The account codes one workspace uses for one provider's settlements."""

    provider: str
    codes: Mapping[str, str]
    contact: str

    def code(self, category: str) -> str | None:
        """The account of a line category, None when the category has none."""
        return self.codes.get(category)

    @property
    def clearing(self) -> str | None:
        return self.codes.get(CLEARING)


@dataclass(frozen=True)
class AccountRow:
    """One line of a workspace's mapping, and whether it is the default or its own choice."""

    provider: str
    category: str
    account_code: str
    source: str  # "default" or "workspace"


def default_codes(provider: str) -> dict[str, str]:
    """The default account of every category for `provider`."""
    return dict(DEFAULT_ACCOUNTS.get(provider, DEFAULT_ACCOUNTS[ANY_PROVIDER]))


def contact_for(provider: str) -> str:
    """The ledger contact of a provider's settlements: "Amazon", else the provider's name."""
    return CONTACTS.get(provider, provider.replace("_", " ").title())


def account_map(con: duckdb.DuckDBPyConnection, workspace_id: str, provider: str) -> AccountMap:
    """The workspace's choices for `provider` over the defaults."""
    codes = default_codes(provider)
    chosen = frame(con, "account_mappings", workspace_id=workspace_id, provider=provider)
    codes.update(zip(chosen["category"], chosen["account_code"], strict=True))
    return AccountMap(provider, codes, contact_for(provider))


def account_rows(con: duckdb.DuckDBPyConnection, workspace_id: str) -> list[AccountRow]:
    """The whole mapping of a workspace: for each provider it uses or has mapped, every category.

    A workspace with no channel yet lists the providers that have defaults of their own.
    """
    chosen = frame(con, "account_mappings", workspace_id=workspace_id, provider=None)
    used = frame(con, "account_providers", workspace_id=workspace_id)["provider"].to_list()
    providers = sorted({*used, *chosen["provider"].to_list()})
    if not providers:
        providers = sorted(p for p in DEFAULT_ACCOUNTS if p != ANY_PROVIDER)
    own = {(r["provider"], r["category"]): r["account_code"] for r in chosen.rows(named=True)}
    rows = []
    for provider in providers:
        defaults = default_codes(provider)
        for category in sorted({*CATEGORIES, *(c for p, c in own if p == provider)}, key=_order):
            code = own.get((provider, category))
            source = "workspace" if code is not None else "default"
            rows.append(AccountRow(provider, category, code or defaults.get(category, ""), source))
    return rows


def set_account(
    con: duckdb.DuckDBPyConnection,
    workspace_id: str,
    provider: str,
    category: str,
    account_code: str,
    *,
    at: datetime,
    actor: str = "cli",
) -> AccountRow:
    """Map `category` (or `clearing`) of `provider` to `account_code`, with an audit record.

    Runs its own transaction on `con`; raises `MappingError` for input it cannot store.
    """
    provider, category, code = provider.strip().lower(), category.strip().lower(), account_code
    _check(provider, category, code.strip())
    params = {
        "workspace_id": workspace_id,
        "provider": provider,
        "category": category,
        "account_code": code.strip(),
        "updated_at": at,
    }
    detail = {"provider": provider, "category": category, "account_code": code.strip()}
    audit = {"at": at, "actor": actor, "action": "account_set", "entity": workspace_id}
    with transaction_on(con):
        con.execute(sql.load("account_mapping_upsert"), params)
        con.execute(sql.load("audit_insert"), {**audit, "detail": json.dumps(detail)})
    return AccountRow(provider, category, code.strip(), "workspace")


def _check(provider: str, category: str, code: str) -> None:
    if not _PROVIDER.match(provider):
        raise MappingError(f"{provider!r} is not a provider name (such as amazon)")
    if category not in CATEGORIES:
        raise MappingError(f"unknown category {category!r}; choose one of {', '.join(CATEGORIES)}")
    if not _CODE.match(code):
        raise MappingError(
            f"{code!r} is not an account code: use the code from the ledger's chart of accounts "
            f"(1 to 10 letters, digits, '.', '_' or '-', such as 200)"
        )


def _order(category: str) -> tuple[int, str]:
    return (CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES), category)
