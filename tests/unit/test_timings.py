"""`process_age`: the seconds since the process started, which the "session open" debug event reports."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from netflix_elt.timings import process_age


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="read from /proc")
def test_a_fresh_process_is_young_and_ages_as_the_clock_runs() -> None:
    code = (
        "import time\n"
        "from netflix_elt.timings import process_age\n"
        "a = process_age(); time.sleep(0.5); b = process_age()\n"
        "print(a, b)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    a, b = map(float, res.stdout.split())
    assert 0 <= a < 10  # the interpreter's start and one import, on a busy machine
    assert 0.4 <= b - a <= 2.0  # /proc counts in clock ticks (10 ms)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="read from /proc")
def test_this_process_is_older_than_the_time_since_this_test_started() -> None:
    t0 = time.monotonic()
    age = process_age()
    assert age is not None and age >= time.monotonic() - t0


def test_no_proc_means_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    def missing(self: Path, *a: object, **k: object) -> str:
        raise FileNotFoundError(str(self))

    monkeypatch.setattr(Path, "read_text", missing)
    assert process_age() is None
