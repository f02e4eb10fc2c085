"""App benchmark: each page's render under AppTest, on the demo and on 1,000,000 lines, and the
browser's time to the Overview's first figure.

- **pages, demo** (target under 1.5 s each): the demo workspace, built by `workbench.demo` (a
  year of the real sync and posting code against the sandboxes).
- **pages, large** (target under 3 s each): the workspace of `bench/app_data.py`: 30 channels,
  about 30,000 settlements, 1,000,000 lines, 80,000 events and a 30,000-entry ledger.
- **browser** (target under 2 s): `streamlit run` on the demo, Debian's chromium headless;
  from navigation start to the "Missing settlements" figure in the DOM, each load in a fresh
  browser context (no cache, a new session).

A page's render is timed on a fresh `AppTest` whose first run (the Overview) has made the
process's resources (the AppContext); then every `st.cache_data` is cleared and the page is
switched to: the figure a user sees on a page whose data is not cached yet (after a write, or
after the 30-second TTL). "cached" is the rerun of the same page right after. Each data set is
measured in its own subprocess, after one untimed round of every page (imports, first compile);
each figure is the median of `--runs`.

    python bench/app_bench.py                          # everything, 5 runs
    python bench/app_bench.py --skip-browser --runs 3
    python bench/app_bench.py --profile post --data large   # cProfile of one page's render
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import app_data  # beside this script (bench/ is not a package)
from machine import machine

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "workbench" / "app.py"
TARGETS = {"demo": 1.5, "large": 3.0}
BROWSER_TARGET = 2.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Set by the page itself: the instant (ms since navigation start) the figure enters the DOM.
FIRST_FIGURE = """(() => {
  const seen = () => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
    .some((label) => label.textContent.includes('Missing settlements'));
  const watch = new MutationObserver(() => {
    if (window.__firstFigure === undefined && seen()) {
      window.__firstFigure = performance.now();
      watch.disconnect();
    }
  });
  watch.observe(document, {childList: true, subtree: true});
})();"""


def pages() -> list[str]:
    """Every page the app's navigation registers (by file name), the Overview first."""
    entry = APP.read_text()
    names = [p.stem for p in sorted((ROOT / "workbench" / "pages").glob("*.py"))]
    return sorted((n for n in names if f'"{n}.py"' in entry), key=lambda n: n != "overview")


# -- pages under AppTest (in a child process per data set) -----------------------------------


def render_once(page: str) -> tuple[float, float, list[str]]:
    """One fresh AppTest: the page with its data uncached, then cached; what it complained of."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=600).run()
    st.cache_data.clear()
    started = time.perf_counter()
    at.switch_page(f"pages/{page}.py").run()
    fresh = time.perf_counter() - started
    started = time.perf_counter()
    at.run()
    cached = time.perf_counter() - started
    problems = [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]
    return fresh, cached, problems


def measure_pages(runs: int) -> dict[str, dict[str, Any]]:
    """Every page, `runs` times, after one untimed round."""
    for page in pages():
        render_once(page)
    found: dict[str, dict[str, Any]] = {
        p: {"fresh": [], "cached": [], "problems": []} for p in pages()
    }
    for _ in range(runs):
        for page in pages():
            fresh, cached, problems = render_once(page)
            found[page]["fresh"].append(fresh)
            found[page]["cached"].append(cached)
            found[page]["problems"] = problems
    return found


def profile_page(page: str, top: int) -> None:
    """Where one page's uncached render spends its time (cumulative). AppTest runs the script
    in a thread of its own, so the profiler is switched on in every thread started."""
    render_once(page)
    profiler = cProfile.Profile()

    def start(*_: object) -> None:
        sys.setprofile(None)
        profiler.enable()

    threading.setprofile(start)
    try:
        fresh, _, problems = render_once(page)
    finally:
        threading.setprofile(None)
    print(f"{page}: {fresh:.2f} s uncached ({'; '.join(problems) or 'no errors'})")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def run_child(data: str, env: dict[str, str], runs: int) -> dict[str, dict[str, Any]]:
    """The page renders on one data set, measured in a fresh interpreter."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", data, "--runs", str(runs)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {data} page renders failed:\n{done.stderr.strip()[-3000:]}")
    result: dict[str, dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the browser ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def streamlit_app(env: dict[str, str], log: Path) -> Iterator[str]:
    """`streamlit run` of the app on a free loopback port; its URL. Always stopped."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
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
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 60
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"streamlit did not start:\n{log.read_text()}")
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=15)


def _healthy(url: str) -> bool:
    import httpx2

    try:
        return httpx2.get(f"{url}/_stcore/health", timeout=2).status_code == 200
    except httpx2.TransportError:
        return False


def first_figures(browser: Any, url: str) -> tuple[float, float]:
    """Navigation start to the first figure: a load in a fresh browser context (nothing
    cached), then a second load in the same context (its scripts cached, a new session)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        context.add_init_script(FIRST_FIGURE)
        page = context.new_page()
        found = []
        for _ in range(2):
            page.goto(url)
            page.wait_for_function("window.__firstFigure !== undefined", timeout=60_000)
            found.append(float(page.evaluate("window.__firstFigure")) / 1000)
        return found[0], found[1]
    finally:
        context.close()


def measure_browser(env: dict[str, str], runs: int, scratch: Path) -> dict[str, Any]:
    """The first load on a freshly started server, then `runs` pairs of loads (see
    `first_figures`), each pair in a new browser context."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with streamlit_app(env, scratch / "streamlit.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            first, _ = first_figures(browser, url)
            pairs = [first_figures(browser, url) for _ in range(runs)]
        finally:
            browser.close()
    return {"first": first, "loads": [c for c, _ in pairs], "cached": [w for _, w in pairs]}


# -- the report -------------------------------------------------------------------------------


def seconds(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f}"


def verdicts(results: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each target with whether it is met."""
    found = []
    for data, target in TARGETS.items():
        for page, figures in results.get(data, {}).items():
            median = statistics.median(figures["fresh"])
            ok = median < target and not figures["problems"]
            found.append((f"{data} {page} under {target:g} s: {median:.2f} s", ok))
    if "browser" in results:
        median = statistics.median(results["browser"]["loads"])
        found.append(
            (
                f"browser first figure under {BROWSER_TARGET:g} s: {median:.2f} s",
                median < BROWSER_TARGET,
            )
        )
    return found


def table(results: dict[str, Any], runs: int) -> list[str]:
    """Markdown: one row per page, uncached and cached, per data set."""
    sets = [data for data in TARGETS if data in results]
    head = " | ".join(f"{d}: uncached | {d}: cached" for d in sets)
    rows = [f"| page | {head} |", "|---|" + "---:|" * (2 * len(sets))]
    for page in pages():
        cells = []
        for data in sets:
            figures = results[data][page]
            mark = "" if statistics.median(figures["fresh"]) < TARGETS[data] else " (missed)"
            cells += [f"**{seconds(figures['fresh'])}**{mark}", seconds(figures["cached"])]
        rows.append(f"| {page} | " + " | ".join(cells) + " |")
    targets = " | ".join(f"< {TARGETS[d]:g} s | " for d in sets)
    rows.append(f"| target (median of {runs}) | {targets}|")
    return rows


def report(results: dict[str, Any], facts: dict[str, str], runs: int) -> bool:
    """Print the figures as a markdown section; whether every target is met."""
    results_met = verdicts(results)
    met = all(ok for _, ok in results_met)
    print(
        f"\n## App: page renders and the browser's first figure\n\n**{facts['date']}: "
        f"{'every target met' if met else 'a target MISSED'}.**\n"
    )
    if any(d in results for d in TARGETS):
        print(*table(results, runs), sep="\n")
    if "browser" in results:
        found = results["browser"]
        loads, cached = found["loads"], found["cached"]
        print(
            f"\nBrowser, the Overview on the demo, navigation start to the first figure: "
            f"**{seconds(loads)} s** in a fresh browser context (median of {len(loads)}, "
            f"{min(loads):.2f}-{max(loads):.2f} s), {seconds(cached)} s when the browser has "
            f"the app's scripts cached; the first load on a freshly started server "
            f"{found['first']:.2f} s."
        )
    for data in TARGETS:
        for page, figures in results.get(data, {}).items():
            for problem in figures["problems"]:
                print(f"- PROBLEM on {data} {page}: {problem}")
    print("", *(f"- {key}: {value}" for key, value in facts.items()), sep="\n")
    print(*(f"- {'met' if ok else 'MISSED'}: {text}" for text, ok in results_met), sep="\n")
    return met


# -- the data sets and the run ----------------------------------------------------------------


def large_env(scratch: Path) -> tuple[dict[str, str], app_data.Workspace]:
    """Generate the large workspace now (it is dated to now) and the environment to open it."""
    path = scratch / "large.duckdb"
    started = time.perf_counter()
    app_data.generate(path, datetime.now(UTC).replace(microsecond=0))
    workspace = app_data.describe(path, time.perf_counter() - started)
    env = {
        **os.environ,
        "WORKBENCH_DB": str(path),
        "WORKBENCH_HOME": str(scratch / "home"),
        "WORKBENCH_KEYRING": "file",
        "WORKBENCH_SECRET_KEY": "bench-only-key",
    }
    env.pop("WORKBENCH_DEMO_URL", None)
    return env, workspace


def run_all(args: argparse.Namespace) -> int:
    from workbench import demo as demo_workspace

    results: dict[str, Any] = {}
    facts = machine("streamlit", "duckdb", "polars", "playwright")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="app-bench-") as folder:
        scratch = Path(folder)
        if not args.skip_large:
            env, large = large_env(scratch)
            facts["large workspace"] = (
                f"{large.connections} channels, {large.settlements:,} settlements, "
                f"{large.lines:,} lines, {large.events:,} events, {large.ledger_entries:,} "
                f"ledger entries ({large.file_mb:.0f} MB, generated in "
                f"{large.generate_seconds:.1f} s)"
            )
            log(f"pages on the large workspace, {args.runs} runs ...")
            results["large"] = run_child("large", env, args.runs)
        log("building the demo (a year of syncs and postings) ...")
        started = time.perf_counter()
        demo = demo_workspace.build(scratch / "demo", port=0)
        facts["demo"] = f"built in {time.perf_counter() - started:.0f} s"
        try:
            env = {**os.environ, **demo.environ()}
            log(f"pages on the demo, {args.runs} runs ...")
            results["demo"] = run_child("demo", env, args.runs)
            if not args.skip_browser:
                log(f"the browser, {args.runs} loads ...")
                results["browser"] = measure_browser(env, args.runs, scratch)
        finally:
            demo.stop()
    facts["load"] = (
        f"1-minute load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    )
    met = report(results, facts, args.runs)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"facts": facts, "results": results}, indent=2))
    print(f"- figures written to {args.json}")
    return 0 if met else 1


def profile(args: argparse.Namespace) -> int:
    """cProfile of one page on one data set (the demo is built first, about a minute)."""
    with tempfile.TemporaryDirectory(prefix="app-bench-") as folder:
        if args.data == "large":
            env, _ = large_env(Path(folder))
            os.environ.update(env)
            profile_page(args.profile, args.top)
            return 0
        from workbench import demo as demo_workspace

        demo = demo_workspace.build(Path(folder) / "demo", port=0)
        try:
            os.environ.update(demo.environ())
            profile_page(args.profile, args.top)
        finally:
            demo.stop()
    return 0


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each figure")
    parser.add_argument("--skip-browser", action="store_true", help="no browser figure")
    parser.add_argument("--skip-large", action="store_true", help="no 1,000,000-line workspace")
    parser.add_argument("--json", type=Path, help="where to write the figures (JSON)")
    parser.add_argument("--profile", choices=pages(), help="profile this page's render")
    parser.add_argument("--data", choices=tuple(TARGETS), default="large", help="for --profile")
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile")
    parser.add_argument("--child", choices=tuple(TARGETS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.json is None:
        args.json = Path(tempfile.gettempdir()) / "bench" / "app-bench.json"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a markdown section; exit 1 when a target is missed."""
    args = parse(argv)
    if args.child:
        print(json.dumps(measure_pages(args.runs)))
        return 0
    if args.profile:
        return profile(args)
    return run_all(args)


if __name__ == "__main__":
    sys.exit(main())
