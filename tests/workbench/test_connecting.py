from __future__ import annotations

from pathlib import Path

import pytest

from connectors.amazon import config_for as amazon_config
from connectors.errors import AuthRevoked, ConfigError
from connectors.oauth import stored_token_set
from connectors.secrets import MemoryKeyring
from tests.workbench.conftest import World
from workbench.connecting import Credentials, Endpoints, connect, reconnect
from workbench.sync import sync_connection


def amazon_credentials(world: World, refresh_token: str | None = None) -> Credentials:
    return Credentials(
        world.amazon.client_id,
        world.amazon.client_secret,
        refresh_token or world.amazon.issue_refresh_token(),
    )


def connect_amazon(world: World, tmp_path: Path, credentials: Credentials) -> None:
    connect(
        world.app(tmp_path / "wb.duckdb"),
        "amazon",
        workspace_ref="Acme Ltd",
        name="Amazon US",
        region="na",
        settings=amazon_config("na", ["US"]),
        endpoints=Endpoints(),
        credentials=credentials,
    )


def keyring_entries(world: World) -> int:
    backend = world.rt.secrets.backend
    assert isinstance(backend, MemoryKeyring)
    return len(backend)


def test_connect_proves_the_grant_then_stores_the_connection_and_an_event(
    world: World, tmp_path: Path
) -> None:
    connect_amazon(world, tmp_path, amazon_credentials(world))

    [connection] = world.store.connections(world.workspace_id)
    assert connection.config["marketplaces"] == ["US"]
    assert "client_secret" not in str(connection.config)
    assert world.store.events(connection.id)["kind"].to_list() == ["connected"]
    frame = world.store.connection_status(world.workspace_id, as_of=world.clock.now())
    assert frame["grant_expires_at"][0] is not None  # Amazon's yearly re-authorisation


def test_a_refused_grant_leaves_no_connection_and_no_secret_behind(
    world: World, tmp_path: Path
) -> None:
    with pytest.raises(AuthRevoked):
        connect_amazon(world, tmp_path, amazon_credentials(world, "Atzr|not-a-real-grant"))

    assert world.store.connections() == []
    assert keyring_entries(world) == 0


@pytest.mark.parametrize(
    ("region", "marketplaces", "message"),
    [("xx", ["US"], "unknown Amazon region 'xx'"), ("na", ["ZZ"], "ZZ"), ("eu", ["US"], "na")],
)
def test_bad_region_or_marketplace_is_refused_before_anything_is_written(
    region: str, marketplaces: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        amazon_config(region, marketplaces)


def test_reconnect_restores_a_revoked_connection_and_sync_resumes(
    world: World, tmp_path: Path
) -> None:
    connection = world.amazon_connection()
    sync_connection(world.rt, connection)
    world.amazon.revoke()
    [failed] = sync_connection(world.rt, connection)
    assert failed.error is not None

    reconnect(
        world.app(tmp_path / "wb.duckdb"), "Amazon US", None, world.amazon.issue_refresh_token()
    )

    [resumed] = sync_connection(world.rt, connection)
    assert resumed.ok
    assert resumed.inserted == 0
    frame = world.store.connection_status(world.workspace_id, as_of=world.clock.now())
    assert frame["status"].to_list() == ["connected"]


def test_a_failed_reconnect_keeps_the_previous_grant(world: World, tmp_path: Path) -> None:
    connection = world.amazon_connection()
    before = stored_token_set(world.rt.secrets, connection.id)

    with pytest.raises(AuthRevoked):
        reconnect(world.app(tmp_path / "wb.duckdb"), "Amazon US", None, "Atzr|wrong")

    assert stored_token_set(world.rt.secrets, connection.id) == before
    assert "reconnected" not in world.store.events(connection.id)["kind"].to_list()


def test_xero_connect_discovers_the_tenant(world: World, tmp_path: Path) -> None:
    created = connect(
        world.app(tmp_path / "wb.duckdb"),
        "xero",
        workspace_ref="Acme Ltd",
        name="Xero",
        region=None,
        settings={},
        endpoints=Endpoints(),
        credentials=Credentials(
            world.xero.client_id, world.xero.client_secret, world.xero.issue_refresh_token("seller")
        ),
    )

    assert created.config["tenant_name"] == "Demo Company (UK)"
    assert created.config["tenant_id"]
    [result] = sync_connection(world.rt, created)
    assert result.ok
