"""The browser walk's setting: the demo, the app on it in `streamlit run`, Debian's chromium.

Everything binds 127.0.0.1 and stops when the test ends, whatever happened; chromium runs with
its background networking off, so nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import BrowserContext, ViewportSize, sync_playwright

from workbench import demo as demo_workspace

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "workbench" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
STARTUP_SECONDS = 60


def artifacts_dir() -> Path:
    """Where screenshots and the app's log go: $WORKBENCH_ARTIFACTS, else beside this file."""
    chosen = os.environ.get("WORKBENCH_ARTIFACTS")
    folder = Path(chosen) if chosen else Path(__file__).parent / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def streamlit_command(port: int) -> list[str]:
    """`streamlit run` of the app on 127.0.0.1:`port`, headless, no telemetry, no file watcher."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for `/_stcore/health` to answer; fail with the app's log if it never does."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx2.TransportError):
            if httpx2.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"streamlit did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


@contextlib.contextmanager
def running_app(env: dict[str, str], log: Path) -> Iterator[str]:
    """The app in a `streamlit run` child on a free loopback port; its URL. Always stopped."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            streamlit_command(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_until_healthy(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[demo_workspace.Demo]:
    """The demo workspace, built by the real code; its sandboxes serve until the test ends."""
    built = demo_workspace.build(tmp_path / "demo", port=0)
    try:
        yield built
    finally:
        built.stop()


@pytest.fixture
def app_url(demo: demo_workspace.Demo) -> Iterator[str]:
    """The app on the demo, as `workbench demo` opens it."""
    env = {**os.environ, **demo.environ(), "PYTHONUNBUFFERED": "1"}
    with running_app(env, artifacts_dir() / "streamlit.log") as url:
        yield url


@pytest.fixture
def browser() -> Iterator[BrowserContext]:
    """A fresh context of Debian's chromium, headless (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
            "(or run `sudo apt-get install chromium`)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = chromium.new_context(viewport=VIEWPORT)
            yield context
            context.close()
        finally:
            chromium.close()
