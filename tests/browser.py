"""Headless Chromium for the browser tests (docs site, dashboard): skipped with the reason where absent."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def headless_chromium(profile_dir: Path, *, window: str, page_load_timeout: int) -> Iterator[Any]:
    """A selenium driver on headless Chromium (for a fixture to yield from), quit afterwards."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip(f"{CHROMIUM} or {CHROMEDRIVER} is absent; `make chromium` installs them (Debian packages)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={window}",
        f"--user-data-dir={profile_dir}",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(page_load_timeout)
    try:
        yield driver
    finally:
        driver.quit()


@contextlib.contextmanager
def serve_cli(args: list[str], env: dict[str, str], stop_timeout: float = 20) -> Iterator[str]:
    """`netflix-elt <args>` (a server that prints its http://127.0.0.1:PORT/ URL first) in a subprocess:
    its URL, then it is stopped with SIGINT (killed if it lingers).

    Both go to its whole process group, as Ctrl-C in a terminal does: `dashboard` runs the Streamlit
    server as a child, and a child left behind (its parent killed at the timeout) kept the shared
    fixture warehouse open, so every later test that opened it failed on the lock."""
    import re
    import signal
    import subprocess
    import sys

    from tests.conftest import interruptible

    exe = Path(sys.executable).with_name("netflix-elt")
    proc = subprocess.Popen(
        [str(exe), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        yield match.group(0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        deadline = time.monotonic() + stop_timeout  # the group's other members (the server) too
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def keep_screenshot(driver: Any, target: Path, name: str, *, min_bytes: int, in_repo: Path) -> Path:
    """The page as `<target>/test-artifacts/<name>` (at least `min_bytes`: something was drawn); copied
    over `in_repo` (the README's picture) when NETFLIX_ELT_UPDATE_SCREENSHOT is set."""
    import shutil

    shot = target / "test-artifacts" / name
    shot.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > min_bytes
    if os.environ.get("NETFLIX_ELT_UPDATE_SCREENSHOT"):
        in_repo.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, in_repo)
    return shot
