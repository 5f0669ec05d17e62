"""scripts/demo_reset.sh: `make demo` resets only the warehouse and landing it made, and says so."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts" / "demo_reset.sh"


def _run(state: Path, reset: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), str(state), reset], capture_output=True, text=True, timeout=60)


def _fill(state: Path) -> None:
    for name in ("warehouse", "landing"):
        (state / name).mkdir(parents=True)
        (state / name / "data").write_text(name)
    (state / "notes.txt").write_text("the user's")


def test_first_run_marks_the_folder_and_a_rerun_resets_only_warehouse_and_landing(tmp_path: Path) -> None:
    state = tmp_path / ".netflix_elt"
    first = _run(state)
    assert first.returncode == 0 and first.stdout == ""  # nothing to reset on a fresh clone
    assert (state / ".made-by-make-demo").is_file()
    _fill(state)
    again = _run(state)
    assert again.returncode == 0, again.stderr
    assert f"resetting {state}/warehouse {state}/landing" in again.stdout
    assert sorted(p.name for p in state.iterdir()) == [".made-by-make-demo", "notes.txt"]
    assert (state / "notes.txt").read_text() == "the user's"


def test_a_warehouse_make_demo_did_not_make_is_left_alone_with_exit_2(tmp_path: Path) -> None:
    state = tmp_path / ".netflix_elt"
    _fill(state)
    refused = _run(state)
    assert refused.returncode == 2
    assert f"{state}/warehouse {state}/landing was not made by make demo" in refused.stderr
    assert "make demo RESET=1" in refused.stderr
    assert (state / "warehouse" / "data").read_text() == "warehouse" and not (state / ".made-by-make-demo").exists()
    forced = _run(state, "1")
    assert forced.returncode == 0 and "RESET=1" in forced.stdout
    assert not (state / "warehouse").exists() and (state / ".made-by-make-demo").is_file()


def test_a_landing_alone_counts_as_the_user_s_too(tmp_path: Path) -> None:
    state = tmp_path / "home"
    (state / "landing" / "batch=0001").mkdir(parents=True)
    refused = _run(state)
    assert refused.returncode == 2 and f"{state}/landing was not made" in refused.stderr
    assert (state / "landing" / "batch=0001").is_dir()


def test_usage_without_a_folder_fails() -> None:
    assert subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True).returncode != 0
