"""The Notebook page under AppTest through the app's navigation, on a workspace the real sync
filled (the `world` fixture): add, run, use an earlier cell, chart, save, reload, export,
import; the empty and error states."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import nbformat
import polars as pl
import pytest
import streamlit as st
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from reconcile import notebook
from reconcile.errors import StoreError
from reconcile.ipynb import write_ipynb
from reconcile.notebook import Cell
from tests.workbench.conftest import World
from workbench import services
from workbench.notebook import editor_cells, moved, removed, saved_cells, shown
from workbench.sync import sync_connection

WORKBENCH = Path(__file__).resolve().parents[2] / "workbench"
APP, PAGE = str(WORKBENCH / "app.py"), str(WORKBENCH / "pages" / "notebook.py")
BY_CONNECTION = "SELECT connection, currency, count(*) AS n FROM v_settlements GROUP BY ALL"


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def synced(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """A year of Amazon US settlements, synced, in the database the app is pointed at."""
    monkeypatch.setenv("WORKBENCH_DB", world.store.path)
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    [result] = sync_connection(world.rt, world.amazon_connection())
    assert result.ok, result.error
    return world


def page() -> AppTest:
    """The app, switched to the Notebook page (the sidebar picks the only workspace)."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/notebook.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Notebook"
    return at


def select(at: AppTest, label: str, value: str) -> None:
    next(box for box in at.selectbox if box.label == label).select(value).run()
    assert not at.exception, at.exception


def add(at: AppTest, kind: str, source: str, name: str = "") -> None:
    at.button(key=f"nb_add_{kind}").click().run()
    at.text_area[-1].input(source)
    if name:
        at.text_input[-1].input(name)
    at.run()


def press(at: AppTest, label: str, index: int = 0) -> None:
    [button for button in at.button if button.label == label][index].click().run()
    assert not at.exception, at.exception


def sources(at: AppTest) -> list[str]:
    return [area.value for area in at.text_area]


def test_without_a_workspace_the_page_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "empty.duckdb"))
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = page()
    assert "No workspace yet" in at.info[0].value


def test_an_empty_notebook_shows_the_limits_and_how_to_start(synced: World) -> None:
    at = page()
    assert "This notebook is empty" in at.info[0].value
    limits = " ".join(caption.value for caption in at.caption)
    assert "stops after 10 s" in limits and "at most 1,000 rows" in limits


def test_a_sql_cell_runs_and_shows_its_rows_and_time(synced: World) -> None:
    at = page()
    add(at, "sql", BY_CONNECTION)
    press(at, "Run")

    table = at.dataframe[0].value
    assert list(table["connection"]) == ["Amazon US"]
    assert int(table["n"][0]) == len(synced.amazon.groups())
    assert any(c.value.startswith("1 row in ") for c in at.caption)
    assert "Ran 1 cell; 0 failed." in at.success[0].value


def test_a_cell_uses_an_earlier_cell_by_number_and_by_name(synced: World) -> None:
    at = page()
    add(at, "sql", "SELECT currency, net FROM v_settlements", name="nets")
    add(at, "markdown", "Positive payouts, counted:")
    add(at, "sql", "SELECT count(*) AS positive FROM nets WHERE net > 0")
    add(at, "sql", "SELECT positive * 2 AS doubled FROM cell_3")
    press(at, "Run all")

    positive = sum(1 for group in synced.amazon.groups() if float(group["total"]) > 0)
    assert int(at.dataframe[1].value["positive"][0]) == positive
    assert int(at.dataframe[2].value["doubled"][0]) == 2 * positive
    assert "Positive payouts, counted:" in [m.value for m in at.markdown]


def test_a_large_result_shows_the_row_limit(synced: World) -> None:
    at = page()
    add(at, "sql", "SELECT range AS n FROM range(100000)")
    press(at, "Run")
    assert len(at.dataframe[0].value) == 1000
    assert any("showing the first 1,000 of at least 1,001 rows" in c.value for c in at.caption)


def test_money_keeps_its_currency_decimals_and_dates_are_iso(synced: World) -> None:
    at = page()
    add(at, "sql", "SELECT currency, net, deposit_date FROM v_settlements ORDER BY 3 LIMIT 1")
    press(at, "Run")
    row = at.dataframe[0].value.iloc[0]
    assert row["net"].count(".") == 1 and len(row["net"].split(".")[1]) == 2
    assert len(row["deposit_date"]) == 10 and row["deposit_date"][4] == "-"


def test_a_result_charts_from_its_columns(synced: World) -> None:
    at = page()
    add(at, "sql", "SELECT deposit_date, net FROM v_settlements")
    press(at, "Run")
    select(at, "Chart", "line")
    assert len(at.get("plotly_chart")) == 1
    chosen = {box.label: box.value for box in at.selectbox}
    assert (chosen["x"], chosen["y"]) == ("deposit_date", "net")
    select(at, "Chart", "timeline")  # the result has no label column for a timeline's rows
    assert "a timeline needs a row label" in at.warning[0].value


def test_a_bad_query_shows_duckdbs_message_with_the_cell_and_what_to_do(synced: World) -> None:
    at = page()
    add(at, "sql", "SELECT * FROM v_nothing")
    press(at, "Run")
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("cell 1 failed: Catalog Error: Table with name v_nothing")
    assert "Fix the query and run it again." in message
    assert "Traceback" not in message


def test_a_refused_statement_is_an_error_not_a_write(synced: World) -> None:
    at = page()
    add(at, "sql", "DELETE FROM v_settlements")
    press(at, "Run")
    assert "cells only read" in at.error[0].value
    assert synced.store.settlements(synced.workspace_id).height == len(synced.amazon.groups())


def test_cells_are_saved_and_come_back_on_a_new_visit(synced: World) -> None:
    at = page()
    add(at, "markdown", "# Payouts")
    add(at, "sql", BY_CONNECTION, name="by_connection")
    press(at, "Down")  # the Markdown cell moves below the query
    assert any("Unsaved changes" in c.value for c in at.caption)
    press(at, "Save")
    assert "Saved 2 cells." in at.success[0].value

    again = page()
    assert sources(again) == [BY_CONNECTION, "# Payouts"]
    assert again.text_input[0].value == "by_connection"
    assert notebook.load(synced.store, synced.workspace_id) == [
        Cell("sql", BY_CONNECTION, "by_connection"),
        Cell("markdown", "# Payouts"),
    ]


def test_a_deleted_cell_is_gone_and_a_bad_name_is_not_saved(synced: World) -> None:
    at = page()
    add(at, "sql", "SELECT 1 AS one", name="v_gaps")
    add(at, "sql", "SELECT 2 AS two")
    press(at, "Save")
    assert "taken by a view" in at.error[0].value
    press(at, "Delete", 0)
    assert sources(at) == ["SELECT 2 AS two"]
    press(at, "Save")
    assert notebook.load(synced.store, synced.workspace_id) == [Cell("sql", "SELECT 2 AS two")]


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> list[MemoryMediaFileStorage]:
    """The files AppTest's runs serve (downloads), kept so a test can read them."""
    kept: list[MemoryMediaFileStorage] = []

    def keeping(endpoint: str) -> MemoryMediaFileStorage:
        kept.append(MemoryMediaFileStorage(endpoint))
        return kept[-1]

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", keeping)
    return kept


def test_export_downloads_a_notebook_of_the_cells_on_the_page(
    synced: World, media: list[MemoryMediaFileStorage]
) -> None:
    at = page()
    add(at, "sql", BY_CONNECTION, name="by_connection")
    [button] = at.get("download_button")
    url = button.proto.url
    exported = media[-1].get_file(url.rsplit("/", 1)[1]).content

    nb = nbformat.reads(bytes(exported).decode(), as_version=4)
    nbformat.validate(nb)
    assert "open_session(" in nb.cells[0].source
    assert repr(synced.store.path) in nb.cells[0].source
    assert BY_CONNECTION in nb.cells[1].source
    assert nb.cells[1].source.startswith("by_connection = cell_1 = s.sql(")


def test_import_replaces_the_notebook_with_the_files_cells(synced: World) -> None:
    cells = [Cell("markdown", "# Imported"), Cell("sql", BY_CONNECTION, "mine")]
    workspace = synced.store.workspace(synced.workspace_id)
    data = write_ipynb(cells, workspace=workspace, db_path=synced.store.path).encode()
    at = page()
    add(at, "sql", "SELECT 'about to be replaced'")

    at.file_uploader[0].upload("analysis.ipynb", data, "application/x-ipynb+json").run()
    press(at, "Import: replace this notebook with the file's cells")

    assert "Imported and saved 2 cells" in at.success[0].value
    assert sources(at) == ["# Imported", BY_CONNECTION]
    assert notebook.load(synced.store, synced.workspace_id) == cells
    press(at, "Run all")
    assert list(at.dataframe[0].value["connection"]) == ["Amazon US"]


def test_an_import_with_a_problem_saves_nothing_and_names_the_cell(synced: World) -> None:
    data = json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": "code", "metadata": {}, "source": "%%sql\nSELECT 1", "outputs": []},
                {"cell_type": "code", "metadata": {}, "source": "import os", "outputs": []},
            ],
        }
    ).encode()
    at = page()
    at.file_uploader[0].upload("mixed.ipynb", data, "application/x-ipynb+json").run()
    press(at, "Import: replace this notebook with the file's cells")
    message = at.error[0].value
    assert message.startswith("Could not import the notebook: nothing was imported: ")
    assert "notebook cell 2: Python code that is not a query" in message
    assert notebook.load(synced.store, synced.workspace_id) == []


def test_a_workspace_the_views_cannot_be_read_for_is_an_error_with_the_cause(
    synced: World,
) -> None:
    # The app's picker only offers existing workspaces; one removed since is the page's to handle.
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["workspace_id"] = "no-such-workspace"
    at.run()
    assert not at.exception, at.exception
    assert "Could not read the analyst views: no workspace 'no-such-workspace'" in (
        at.error[0].value
    )


def test_a_failing_read_of_the_notebook_is_an_error_with_the_action(
    synced: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(workspace_id: str) -> list[Cell]:
        raise StoreError("the database is locked by another program: close it and retry")

    monkeypatch.setattr(services, "notebook_cells", broken)
    at = page()
    assert at.error[0].value.startswith("Could not open the notebook: the database is locked")


# -- the page's pure helpers -----------------------------------------------------------------------


def test_results_show_money_in_each_rows_currency_and_iso_dates() -> None:
    result = pl.DataFrame(
        {
            "currency": ["USD", "JPY", "KWD", None],
            "net": [Decimal("12.5"), Decimal(1200), Decimal("1.25"), Decimal("7.1000")],
            "day": [date(2026, 1, 2)] * 4,
            "at": [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)] * 4,
        },
        schema_overrides={"net": pl.Decimal(18, 4)},
    )
    assert shown(result).rows() == [
        ("USD", "12.50", "2026-01-02", "2026-01-02 03:04:05 UTC"),
        ("JPY", "1200", "2026-01-02", "2026-01-02 03:04:05 UTC"),
        ("KWD", "1.250", "2026-01-02", "2026-01-02 03:04:05 UTC"),
        (None, "7.1", "2026-01-02", "2026-01-02 03:04:05 UTC"),
    ]


def test_editor_cells_move_within_the_notebook_and_keep_their_keys() -> None:
    cells = editor_cells([Cell("sql", "a", "x"), Cell("markdown", "b"), Cell("sql", "c")])
    first = cells[0].key
    assert [c.source for c in moved(cells, first, 1)] == ["b", "a", "c"]
    assert [c.source for c in moved(cells, first, -1)] == ["a", "b", "c"]
    assert [c.source for c in moved(cells, cells[2].key, 5)] == ["a", "b", "c"]
    assert [c.key for c in removed(cells, first)] == [cells[1].key, cells[2].key]
    assert saved_cells(cells) == [Cell("sql", "a", "x"), Cell("markdown", "b"), Cell("sql", "c")]
