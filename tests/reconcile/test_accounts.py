"""Account mappings: defaults per provider, a workspace's own choices over them, and checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from reconcile.accounts import (
    CLEARING,
    MappingError,
    account_map,
    account_rows,
    default_codes,
    set_account,
)
from reconcile.store import Store

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def store() -> Store:
    store = Store(":memory:")
    store.add_workspace("Acme Ltd", "USD")
    return store


def test_a_workspace_without_choices_posts_to_the_provider_defaults(store: Store) -> None:
    with store.read() as con:
        accounts = account_map(con, "acme-ltd", "amazon")

    assert accounts.code("sale") == "200"
    assert accounts.clearing == "630"
    assert accounts.contact == "Amazon"
    assert accounts.code("loan") is None
    assert default_codes("shopify")[CLEARING] == "630"  # a provider without its own table


def test_a_choice_overrides_the_default_and_is_audited(store: Store) -> None:
    with store.read() as con:
        set_account(con, "acme-ltd", "Amazon", "FEE", " 310 ", at=NOW)
        accounts = account_map(con, "acme-ltd", "amazon")
        rows = account_rows(con, "acme-ltd")
        audit = con.sql("SELECT action, entity, CAST(detail AS VARCHAR) FROM audit_log").fetchall()

    assert accounts.code("fee") == "310"
    assert accounts.code("sale") == "200"
    fee = next(r for r in rows if r.category == "fee")
    assert (fee.account_code, fee.source) == ("310", "workspace")
    assert {r.source for r in rows if r.category != "fee"} == {"default"}
    assert [(a, e, json.loads(d)["account_code"]) for a, e, d in audit] == [
        ("account_set", "acme-ltd", "310")
    ]


def test_setting_again_replaces_and_other_workspaces_keep_their_defaults(store: Store) -> None:
    store.add_workspace("Other", "GBP")
    with store.read() as con:
        set_account(con, "acme-ltd", "amazon", CLEARING, "090", at=NOW)
        set_account(con, "acme-ltd", "amazon", CLEARING, "631", at=NOW)
        assert account_map(con, "acme-ltd", "amazon").clearing == "631"
        assert account_map(con, "other", "amazon").clearing == "630"


@pytest.mark.parametrize(
    ("provider", "category", "code", "says"),
    [
        ("amazon", "fees", "404", "unknown category"),
        ("amazon", "fee", "", "not an account code"),
        ("amazon", "fee", "4 04", "not an account code"),
        ("Amazon Payments", "fee", "404", "not a provider"),
    ],
)
def test_bad_input_is_refused_with_what_is_allowed(
    store: Store, provider: str, category: str, code: str, says: str
) -> None:
    with store.read() as con, pytest.raises(MappingError, match=says):
        set_account(con, "acme-ltd", provider, category, code, at=NOW)
    with store.read() as con:
        assert con.sql("SELECT count(*) FROM account_mappings").fetchall() == [(0,)]
