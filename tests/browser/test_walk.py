"""The browser walk: from the demo's broken channel to books with nothing missing.

One test, end to end, in Debian's chromium against `streamlit run` on the demo workspace: the
Overview's banner, Reconnect through the sandbox's consent page, backfill the gaps, post, and
the Overview again. Every page is photographed into the artifacts folder (conftest); with
WORKBENCH_UPDATE_SCREENSHOTS=1 the Overview (banner showing) and the Health timeline also
replace the README's pictures in docs/screenshots/.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ROOT, VIEWPORT, artifacts_dir

pytestmark = pytest.mark.slow

BROKEN = "Amazon US"  # the demo's channel whose grant was revoked three weeks ago
TIMEOUT_MS = 60_000
DOCS = {"overview-before": "overview.png", "health": "health.png"}

# Streamlit scrolls its main area inside the window, so a "full page" screenshot of the window
# stops at the fold: the height the content needs is measured and the window grown to it.
CONTENT_HEIGHT = """() => Math.max(document.body.scrollHeight,
    ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebarContent"]')]
        .map((el) => el.scrollHeight))"""


@dataclass
class Shots:
    """Full-page screenshots of the walk, by name, in `folder`."""

    folder: Path
    taken: dict[str, Path] = field(default_factory=dict)

    def take(self, page: Page, name: str) -> None:
        settle(page)
        height = max(VIEWPORT["height"], int(page.evaluate(CONTENT_HEIGHT)))
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        try:
            settle(page)
            path = self.folder / f"{name}.png"
            page.screenshot(path=path, full_page=True)
            self.taken[name] = path
        finally:
            page.set_viewport_size(VIEWPORT)

    @contextlib.contextmanager
    def kept_on_failure(self, browser: BrowserContext) -> Iterator[None]:
        """On a failure, a screenshot of every open tab as it was (failure-<n>.png)."""
        try:
            yield
        except BaseException:
            for number, page in enumerate(browser.pages, start=1):
                with contextlib.suppress(Exception):
                    page.screenshot(path=self.folder / f"failure-{number}.png", full_page=True)
            raise

    def publish(self) -> None:
        """Copy the README's screenshots into docs/screenshots/ (when asked to)."""
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        for name, file_name in DOCS.items():
            shutil.copyfile(self.taken[name], target / file_name)


def settle(page: Page) -> None:
    """Wait until the app has finished its run and drawn it: the script no longer running, no
    element left stale from the previous run, no placeholder of an element whose code is still
    loading, every chart drawn. (A plain page passes at once.)"""
    app = page.get_by_test_id("stApp")
    if not app.count():
        return
    expect(app).to_have_attribute("data-test-script-state", "notRunning")
    expect(page.locator("[data-stale='true']")).to_have_count(0)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    charts = page.get_by_test_id("stPlotlyChart")
    for index in range(charts.count()):
        expect(charts.nth(index).locator(".main-svg").first).to_be_visible()


def open_page(page: Page, title: str) -> None:
    """Go to a page through the sidebar and wait for its title."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    settle(page)


def metric(page: Page, label: str) -> str:
    """The value an `st.metric` shows."""
    figure = page.get_by_test_id("stMetric").filter(has_text=label)
    return figure.get_by_test_id("stMetricValue").inner_text().strip()


def errors(page: Page) -> list[str]:
    """The text of every `st.error` on the page."""
    return page.get_by_test_id("stAlertContentError").all_inner_texts()


def test_a_seller_reconnects_backfills_and_posts_until_nothing_is_missing(
    browser: BrowserContext, app_url: str
) -> None:
    browser.set_default_timeout(TIMEOUT_MS)
    shots = Shots(artifacts_dir())
    page = browser.new_page()
    page.goto(app_url)
    with shots.kept_on_failure(browser):
        look_around(page, shots)
        app = reconnect(browser, page, shots)
        backfill(app, shots)
        post(app, shots)

        open_page(app, "Overview")
        assert metric(app, "Missing settlements") == "0"
        expect(app.get_by_text(re.compile("is disconnected"))).to_have_count(0)
        shots.take(app, "overview-after")
    if os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") == "1":
        shots.publish()


def look_around(page: Page, shots: Shots) -> None:
    """The Overview with its banner and figures, then the pages that explain them."""
    expect(page.get_by_text(f"{BROKEN} is disconnected")).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Missing settlements")).to_be_visible()
    assert int(metric(page, "Missing settlements")) > 0
    shots.take(page, "overview-before")
    for title in ("Connections", "Health", "Settlements"):
        open_page(page, title)
        shots.take(page, title.lower())
    open_page(page, "Overview")


def reconnect(browser: BrowserContext, page: Page, shots: Shots) -> Page:
    """Reconnect from the banner through the sandbox's consent page (a new tab); the app tab
    the consent page sends the user back to."""
    page.get_by_role("button", name=f"Reconnect {BROKEN}").click()
    with browser.expect_page() as opened:
        page.get_by_role("link", name=re.compile("consent page")).click()
    consent = opened.value
    allow = consent.get_by_role("button", name="Allow access")
    expect(allow).to_be_visible()
    shots.take(consent, "consent")
    allow.click()
    expect(consent.get_by_text(f"{BROKEN} is connected")).to_be_visible()
    assert not errors(consent), errors(consent)
    shots.take(consent, "reconnected")
    return consent


def backfill(app: Page, shots: Shots) -> None:
    """Backfill every gap the Gaps page selects, and wait for the progress to finish."""
    open_page(app, "Gaps")
    shots.take(app, "gaps")
    app.get_by_role("button", name="Backfill the selected gaps").click()
    expect(app.get_by_role("button", name="Refresh the gaps")).to_be_visible()
    assert not errors(app), errors(app)
    done = app.get_by_test_id("stProgress").get_by_text(re.compile(r"(\d+) of \1 gaps done"))
    expect(done).to_be_visible()
    fetched = re.compile(rf"^{BROKEN} \(settlements\): [1-9]\d* fetched")
    expect(app.get_by_test_id("stAlertContentSuccess").filter(has_text=fetched)).to_be_visible()
    shots.take(app, "gaps-backfilled")


def post(app: Page, shots: Shots) -> None:
    """Post every settlement the Post page selects."""
    open_page(app, "Post")
    shots.take(app, "post")
    app.get_by_role("button", name=re.compile(r"^Post [1-9]\d* settlements?$")).click()
    expect(app.get_by_text(re.compile(r"^Posted [1-9]\d* settlements?\.$"))).to_be_visible()
    assert not errors(app), errors(app)
    shots.take(app, "post-done")
