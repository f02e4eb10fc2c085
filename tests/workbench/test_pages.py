"""Every page under AppTest, on the demo: it renders, its main action works, and its empty and
error states say what to do (never a traceback).

The demo is built once for the module by the real code (`workbench.demo`); tests that change
it run in the order the walk would (reconnect, backfill, post, unpost) on that one workspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from reconcile.errors import StoreError
from tests.connectors.consent import callback, consent
from workbench import demo as demo_workspace
from workbench import services
from workbench.demo import DEMO_URL_ENV

APP = str(Path(__file__).resolve().parents[2] / "workbench" / "app.py")
REDIRECT = "http://localhost:8501/"


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[demo_workspace.Demo]:
    built = demo_workspace.build(tmp_path_factory.mktemp("demo") / "home")
    yield built
    built.stop()


@pytest.fixture
def demo(built_demo: demo_workspace.Demo, monkeypatch: pytest.MonkeyPatch) -> demo_workspace.Demo:
    """The module's demo, opened the way `workbench demo` opens the app on it."""
    for name, value in built_demo.environ().items():
        monkeypatch.setenv(name, value)
    return built_demo


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    if name != "overview":
        at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [*at.markdown, *at.caption, *at.info, *at.warning, *at.success, *at.error]
    return "\n".join(str(part.value) for part in parts)


def button(at: AppTest, label: str) -> Any:
    found = [b for b in at.button if b.label == label]
    assert found, [b.label for b in at.button]
    return found[0]


def consent_params(url: str) -> dict[str, str]:
    with httpx2.Client() as client:
        return callback(consent(client, url), REDIRECT)


# -- empty and error states (no demo needed) -----------------------------------------------

PAGES = ("overview", "connections", "health", "gaps", "post", "settlements")


@pytest.mark.parametrize("name", PAGES)
def test_every_page_on_an_empty_database_says_how_to_start(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "empty.duckdb"))
    monkeypatch.delenv(DEMO_URL_ENV, raising=False)
    at = page(name)
    assert "No workspace yet" in at.info[0].value
    assert "workbench demo" in at.info[0].value


@pytest.mark.parametrize(
    ("name", "reader"),
    [
        ("overview", "connection_status"),
        ("connections", "connection_status"),
        ("health", "health"),
        ("gaps", "gaps"),
        ("post", "plans"),
        ("settlements", "settlements"),
    ],
)
def test_a_failing_read_shows_an_error_with_the_action_not_a_traceback(
    name: str, reader: str, demo: demo_workspace.Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise StoreError(f"{demo.settings.db} is locked by another program: close it and retry")

    monkeypatch.setattr(services, reader, broken)
    at = page(name)
    assert not at.exception
    assert "close it and retry" in at.error[0].value
    assert at.error[0].value.startswith("Could not ")


# -- the demo, page by page ----------------------------------------------------------------


def test_overview_shows_the_disconnected_channel_and_what_is_missing(
    demo: demo_workspace.Demo,
) -> None:
    at = page("overview")
    banners = [w.value for w in at.warning]
    assert any("Amazon US is disconnected" in text for text in banners), banners
    figures = {m.label: m.value for m in at.metric}
    assert int(figures["Missing settlements"]) >= 1
    assert figures["At risk (USD)"].startswith("USD ")
    assert figures["At risk (GBP)"].startswith("GBP ")
    assert figures["On hold"] == "1"
    assert figures["Duplicate postings"] == "1"
    assert button(at, "Reconnect Amazon US")


def test_health_calls_out_the_flapping_channel(demo: demo_workspace.Demo) -> None:
    at = page("health")
    assert any("Amazon UK/EU is flapping" in w.value for w in at.warning)
    assert at.date_input(key="health_range").value


def test_settlements_filter_and_show_lines(demo: demo_workspace.Demo) -> None:
    at = page("settlements")
    everything = len(at.dataframe[0].value)
    at.multiselect(key="settlement_currencies").set_value(["GBP"]).run()
    shown = at.dataframe[0].value
    assert 0 < len(shown) < everything
    assert set(shown["net"].str[:3]) == {"GBP"}
    assert len(at.dataframe[1].value) > 0


def test_post_shows_the_hold_and_the_entries_as_sent(demo: demo_workspace.Demo) -> None:
    at = page("post")
    holds = [w.value for w in at.warning]
    assert any("lines_missing" in text for text in holds), holds
    entries = at.dataframe[1].value
    assert list(entries.columns)[:3] == ["reference", "type", "date"]
    assert entries["reference"].str.startswith("RW stl_").all()


def test_gaps_backfill_while_disconnected_says_to_reconnect(demo: demo_workspace.Demo) -> None:
    at = page("gaps")
    at.multiselect(key="backfill_choice").set_value(_us_gaps(at)).run()
    at.button[0].click().run()
    assert not at.exception
    assert any("reconnect" in e.value for e in at.error), [e.value for e in at.error]


def test_reconnect_through_the_consent_page_then_backfill_then_post(
    demo: demo_workspace.Demo,
) -> None:
    at = page("overview")
    us = next(c for c in services.store().connections() if c.name == "Amazon US")
    button(at, "Reconnect Amazon US").click().run()
    url = at.session_state[f"consent-{us.id}"]
    params = consent_params(url)
    st.cache_data.clear()

    back = AppTest.from_file(APP, default_timeout=60)
    back.query_params.update(params)
    back.run()
    assert not back.exception
    assert "Amazon US is connected" in back.success[0].value
    assert not any("Amazon US is disconnected" in w.value for w in back.warning)

    gaps = page("gaps")
    assert _us_gaps(gaps), "the US gap is offered for backfill"
    button(gaps, "Backfill the selected gaps").click().run()
    assert any("new" in s.value for s in gaps.success), texts(gaps)

    post = page("post")
    post.button[0].click().run()
    assert any(s.value.startswith("Posted ") for s in post.success), texts(post)

    overview = page("overview")
    figures = {m.label: m.value for m in overview.metric}
    assert figures["Missing settlements"] == "0", texts(overview)
    assert figures["Unposted"] == "1"  # the settlement on hold, and only it


def test_unpost_needs_the_confirmation(demo: demo_workspace.Demo) -> None:
    at = page("post")
    assert at.button(key="unpost").disabled
    at.checkbox(key="unpost_sure").check().run()
    at.button(key="unpost").click().run()
    assert not at.exception
    assert any(s.value.startswith("Unposted ") for s in at.success), texts(at)


def test_pausing_a_feed_says_what_stops_and_shows_paused(demo: demo_workspace.Demo) -> None:
    at = page("connections")
    assert any("Stops:" in c.value for c in at.caption)
    pause = [b for b in at.button if b.label == "Pause settlements"]
    pause[-1].click().run()
    status = at.dataframe[0].value
    assert "paused" in set(status["status"]), status


def test_an_abandoned_connect_wizard_stores_nothing(demo: demo_workspace.Demo) -> None:
    before = len(services.store().connections())
    at = page("connections")
    at.text_input(key="new-name").set_value("Xero two")
    at.button[-1].click().run()
    assert not at.exception
    assert at.session_state["new-connection-consent"].startswith(demo.url)
    assert len(services.store().connections()) == before


def _us_gaps(at: AppTest) -> list[str]:
    choice = at.multiselect(key="backfill_choice")
    table = pl.DataFrame(at.dataframe[0].value)
    us = set(table.filter(pl.col("connection") == "Amazon US")["id"])
    chosen = [gap for gap in choice.value if gap in us]
    assert chosen, "the demo has a recoverable gap on Amazon US"
    return chosen
