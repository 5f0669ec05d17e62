"""A `netflix-elt` process runs with transparent huge pages off (huge_pages.py); a library user's does not.

Each case runs in a fresh interpreter and reads the kernel's own word on it, `THP_enabled` in
/proc/self/status (Linux 5.0+), so the test process keeps its own setting.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

STATUS = Path("/proc/self/status")
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or "THP_enabled" not in (STATUS.read_text() if STATUS.exists() else ""),
    reason="needs Linux 5.0+ (THP_enabled in /proc/self/status)",
)
SHOW = "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('THP_enabled')][0])"


def python(code: str, **env: str) -> list[str]:
    full = {k: v for k, v in os.environ.items() if k != "NETFLIX_ELT_HUGE_PAGES"}
    full.update(NETFLIX_ELT_WARM="0", **env)
    res = subprocess.run([sys.executable, "-c", code], env=full, cwd=PROJECT_DIR, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


def test_the_call_turns_them_off_for_the_process() -> None:
    before = python(SHOW)
    assert before == ["1"]  # what a fresh interpreter has: the test below is not vacuous
    code = f"from netflix_elt.huge_pages import keep_off_huge_pages as k; print(k()); {SHOW}"
    assert python(code) == ["True", "0"]


def test_the_variable_keeps_the_kernels_default() -> None:
    code = f"from netflix_elt.huge_pages import keep_off_huge_pages as k; print(k()); {SHOW}"
    assert python(code, NETFLIX_ELT_HUGE_PAGES="1") == ["False", "1"]


def test_a_command_turns_them_off_and_importing_the_package_does_not() -> None:
    imported = python(f"import netflix_elt.cli, netflix_elt.api; {SHOW}")
    assert imported == ["1"]
    ran = python(
        "from netflix_elt.cli import main\n"
        "try:\n    main(['--version'], prog_name='netflix-elt')\nexcept SystemExit:\n    pass\n" + SHOW
    )
    assert ran[-1] == "0", ran
