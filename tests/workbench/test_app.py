from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.workbench.conftest import World
from workbench.sync import sync_connection

APP = str(Path(__file__).resolve().parents[2] / "workbench" / "app.py")


@pytest.fixture
def app(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AppTest:
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "wb.duckdb"))
    return AppTest.from_file(APP, default_timeout=30)


def test_an_empty_database_says_how_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "empty.duckdb"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "No workspace yet" in at.info[0].value


def test_overview_lists_connections_and_settlements(world: World, app: AppTest) -> None:
    connection = world.amazon_connection()
    sync_connection(world.rt, connection)

    at = app.run()

    assert not at.exception
    assert at.title[0].value == "Overview"
    connections = at.dataframe[0].value
    assert list(connections["name"]) == ["Amazon US"]
    assert len(at.dataframe[1].value) == len(world.amazon.groups())


def test_a_disconnected_connection_gets_a_banner_with_the_reconnect_action(
    world: World, app: AppTest
) -> None:
    connection = world.amazon_connection()
    world.amazon.revoke()
    sync_connection(world.rt, connection)

    at = app.run()

    assert "disconnected" in at.warning[0].value
    assert 'workbench reconnect "Amazon US"' in at.warning[0].value
