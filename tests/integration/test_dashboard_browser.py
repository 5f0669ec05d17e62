"""`netflix-elt dashboard` on the fixture warehouse in headless Chromium, and beside the CLI.

The server runs as a subprocess (as a user starts it); once a page has opened the warehouse, a CLI
command gets the warehouse lock's message naming the dashboard (exit 3), never an HTTP 500.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import headless_chromium, keep_screenshot, serve_cli
from tests.conftest import PROJECT_DIR

SCREENSHOT_IN_REPO = PROJECT_DIR / "docs" / "img" / "dashboard.png"
pytestmark = pytest.mark.timeout(300)


def env_of(warehouse: Path, target: Path) -> dict[str, str]:
    return {**os.environ, "NETFLIX_ELT_HOME": str(warehouse / "home"), "NETFLIX_ELT_TARGET_PATH": str(target)}


@pytest.fixture(scope="module")
def served(built_fixture_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`netflix-elt dashboard --port 0` in a subprocess; its URL once it answers."""
    from netflix_elt.adapters.embedded import ENGINE

    # this test process still holds the warehouse it built (and its lock): give it to the server
    ENGINE.release(ENGINE.key(built_fixture_warehouse / "home" / "warehouse"))
    target = tmp_path_factory.mktemp("dashboard_target")
    env = env_of(built_fixture_warehouse, target)
    started = time.monotonic()
    args = ["dashboard", "--port", "0", "--project-dir", str(PROJECT_DIR)]
    with serve_cli(args, env) as url:
        yield {"url": url, "env": env, "target": target, "startup": time.monotonic() - started}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from headless_chromium(tmp_path_factory.mktemp("chromium-profile"), window="1600,2200", page_load_timeout=60)


RENDERED = """
const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
return {
  charts: charts.length,
  drawn: charts.filter(c => c.querySelector('canvas, svg') && c.getBoundingClientRect().height > 50).length,
  metrics: [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => m.innerText.replace(/\\n+/g, ' | ')),
  tables: document.querySelectorAll('[data-testid="stDataFrame"]').length,
  errors: [...document.querySelectorAll('[data-testid="stException"], [data-testid="stAlert"]')].map(e => e.innerText),
  running: !!document.querySelector('[data-testid="stStatusWidget"]'),
};
"""


VEGA_VIEWS = """
window.__vegaViews = 0;  // a chart's Vega view, each time Streamlit's front end (re)builds one
new MutationObserver((changes) => {
  for (const c of changes) for (const n of c.addedNodes)
    if (/^(svg|CANVAS)$/.test(n.nodeName) && n.classList.contains('marks')
        && n.closest('[data-testid="stVegaLiteChart"]'))
      window.__vegaViews++;
}).observe(document, {subtree: true, childList: true});
"""


def wait_rendered(browser: Any, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = browser.execute_script(RENDERED)
        done = state["drawn"] == 5 and state["tables"] == 1 and len(state["metrics"]) == 6
        if done or state["errors"] or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def test_dashboard_renders_every_chart_in_chromium_then_the_cli_gets_the_lock_message(
    browser: Any, served: dict[str, Any]
) -> None:
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": VEGA_VIEWS})
    started = time.monotonic()
    browser.get(served["url"])
    state = wait_rendered(browser)
    first_render = time.monotonic() - started
    assert not state["errors"], state["errors"]
    assert state["charts"] == state["drawn"] == 5, state
    assert state["tables"] == 1
    metrics = dict(m.split(" | ", 1) for m in state["metrics"])
    assert metrics["Ratings"] == "100,836" and metrics["Users"] == "610" and metrics["Movies"] == "9,742"
    assert metrics["First rating"] == "1996-03-29" and metrics["Last rating"] == "2018-09-24"
    print(f"first full render {first_render:.2f}s (server up after {served['startup']:.2f}s)")

    time.sleep(1.0)  # let the last chart finish its transition before the picture
    # fixed-height chart boxes: each chart built twice at most (at its box's first size, then at the
    # measured one), not a third time when a content-sized box grew around the drawn chart (15 before)
    views = browser.execute_script("return window.__vegaViews")
    assert 5 <= views <= 10, views
    keep_screenshot(browser, served["target"], "dashboard.png", min_bytes=50_000, in_repo=SCREENSHOT_IN_REPO)

    # the page opened the warehouse: a CLI command now gets the lock's message naming the dashboard
    done = subprocess.run(
        [sys.executable, "-m", "netflix_elt.cli", "tables", "--project-dir", str(PROJECT_DIR)],
        env=served["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 3, out
    assert "netflix-elt dashboard" in out and "locked by pid" in out, out
    assert "HTTP 500" not in out and "290500" not in out and "Traceback" not in out
