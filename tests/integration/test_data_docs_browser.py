"""GX Data Docs opened from disk in headless Chromium with the network blocked: the index draws the
validations of two consecutive `validate` commands, and every file it loads is a local one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.browser import headless_chromium, keep_screenshot
from tests.conftest import PROJECT_DIR

SCREENSHOT_IN_REPO = PROJECT_DIR / "docs" / "img" / "data_docs.png"

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def two_commands(built_fixture_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`validate -s dim_movies`, then `validate -s dim_users`, into this module's own target folder."""
    from netflix_elt.cli import main

    target = tmp_path_factory.mktemp("data_docs_target")
    runs = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(built_fixture_warehouse / "home"))
        mp.setenv("NETFLIX_ELT_TARGET_PATH", str(target))
        for suite in ("dim_movies", "dim_users"):
            res = CliRunner().invoke(main, ["validate", "-s", suite, "--project-dir", str(PROJECT_DIR)])
            assert res.exit_code == 0, res.output
            meta = json.loads((target / "run_results.json").read_text())["metadata"]
            runs.append((suite, meta["invocation_id"]))
    return {"target": target, "runs": runs, "index": target / "data_docs" / "index.html"}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver_iter = headless_chromium(
        tmp_path_factory.mktemp("chromium-profile"), window="1400,1000", page_load_timeout=60
    )
    driver = next(driver_iter)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*", "wss://*"]})
    yield driver
    next(driver_iter, None)


def _loaded(driver: Any) -> list[str]:
    """The resolved URL of every script, stylesheet and image the page names (file:// pages keep
    no resource timing entries, so the elements are read; http(s) is blocked besides)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('script[src], link[href], img[src]')).map(e => e.src || e.href)"
    )


def test_the_index_draws_both_commands_offline(browser: Any, two_commands: dict[str, Any]) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(two_commands["index"].as_uri())
    invocations = [inv for _, inv in two_commands["runs"]]

    def drawn(d: Any) -> list[str] | None:
        """The validation rows bootstrap-table (vendored JavaScript) drew, once both commands' are in."""
        rows = d.execute_script(
            "return Array.from(document.querySelectorAll('.bootstrap-table tbody tr')).map(r => r.innerText)"
        )
        return rows if all(any(inv in r for r in rows) for inv in invocations) else None

    rows = WebDriverWait(browser, 30).until(drawn)
    assert browser.execute_script("return typeof jQuery === 'function' && typeof jQuery.fn.bootstrapTable")
    for suite, invocation in two_commands["runs"]:
        assert [r for r in rows if suite in r and invocation in r], (suite, invocation, rows)
    loaded = _loaded(browser)
    assert loaded and [u for u in loaded if not u.startswith("file://")] == []
    assert any(u.endswith("static/vendor/bootstrap/bootstrap.min.css") for u in loaded)
    # the page is styled (bootstrap's CSS applied), not a bare HTML list
    assert browser.execute_script("return getComputedStyle(document.querySelector('nav.navbar')).display") == "flex"
    keep_screenshot(browser, two_commands["target"], "data_docs.png", min_bytes=20_000, in_repo=SCREENSHOT_IN_REPO)


def test_a_validation_page_draws_its_expectations_offline(browser: Any, two_commands: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    suite, invocation = two_commands["runs"][1]
    docs = two_commands["target"] / "data_docs"
    [page] = list((docs / "validations" / suite / invocation).rglob("*.html"))
    browser.get(page.as_uri())
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "user_id" in text and "values must never be null" in text, text[:500]
    assert "Succeeded" in text or "success" in text.lower()
    assert [u for u in _loaded(browser) if not u.startswith("file://")] == []
    assert os.path.getsize(page) > 1000
