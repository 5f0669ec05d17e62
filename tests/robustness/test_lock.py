"""One writer at a time: the warehouse lock waits, times out with the holder named, and survives SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from netflix_elt.cli import main
from netflix_elt.errors import LockError
from netflix_elt.lock import lock_path, read_holder, warehouse_lock
from tests.conftest import PROJECT_DIR

HOLDER = """
import sys, time
from pathlib import Path
from netflix_elt.lock import warehouse_lock
with warehouse_lock(Path(sys.argv[1]), "netflix-elt build", 0):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(state: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the lock for `seconds` (returns once it holds it)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(state), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def holder(isolated_home: Path) -> Iterator[subprocess.Popen[str]]:
    proc = hold(isolated_home / "home", 60)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_second_writer_times_out_naming_the_holder(isolated_home: Path, holder: subprocess.Popen[str]) -> None:
    started = time.monotonic()
    with pytest.raises(LockError) as e, warehouse_lock(isolated_home / "home", "netflix-elt run", 0.5):
        pass
    assert 0.5 <= time.monotonic() - started < 5
    assert f"pid {holder.pid}" in str(e.value) and "netflix-elt build" in str(e.value)
    assert e.value.exit_code == 3


def test_waiting_writer_proceeds_when_the_holder_finishes(isolated_home: Path) -> None:
    proc = hold(isolated_home / "home", 1.0)
    started = time.monotonic()
    with warehouse_lock(isolated_home / "home", "netflix-elt run", 30):
        waited = time.monotonic() - started
        assert json.loads(lock_path(isolated_home / "home").read_text())["pid"] == os.getpid()
    assert 0.3 < waited < 10
    proc.wait()
    assert read_holder(lock_path(isolated_home / "home")) is None  # released: the body is emptied


def test_lock_of_a_killed_process_is_taken_over(isolated_home: Path) -> None:
    proc = hold(isolated_home / "home", 60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    started = time.monotonic()
    with warehouse_lock(isolated_home / "home", "netflix-elt build", 30) as stale:
        assert time.monotonic() - started < 1  # the kernel released the flock: no waiting
    assert stale is not None and stale.pid == proc.pid and stale.command == "netflix-elt build"


def test_same_process_reenters(isolated_home: Path) -> None:
    with warehouse_lock(isolated_home / "home", "a", 0), warehouse_lock(isolated_home / "home", "b", 0) as inner:
        assert inner is None


def cli(*args: str):
    return CliRunner().invoke(main, [*args, "--project-dir", str(PROJECT_DIR)])


def test_cli_writer_exits_3_with_one_line(isolated_home: Path, holder: subprocess.Popen[str]) -> None:
    started = time.monotonic()
    res = cli("run", "--lock-timeout", "0.3")
    assert res.exit_code == 3, res.output
    assert time.monotonic() - started < 10
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and f"locked by pid {holder.pid}" in lines[0] and "netflix-elt build" in lines[0]
    assert "Traceback" not in res.output


def test_cli_config_timeout_is_used(isolated_home: Path, holder: subprocess.Popen[str], tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "config").mkdir(parents=True)
    (project / "transforms_lock").mkdir()
    (project / "transforms_lock" / "__init__.py").write_text("")
    (project / "config" / "netflix_elt.toml").write_text(
        '[project]\nname = "p"\ntransforms = "transforms_lock"\nlock_timeout = 0.2\n'
    )
    started = time.monotonic()
    res = CliRunner().invoke(main, ["seed", "--project-dir", str(project)])
    assert res.exit_code == 3 and "waited 0.2s" in res.output, res.output
    assert time.monotonic() - started < 10


def test_cli_readers_do_not_wait(isolated_home: Path, holder: subprocess.Popen[str]) -> None:
    res = cli("ls")  # needs no warehouse
    assert res.exit_code == 0, res.output
    started = time.monotonic()
    res = cli("tables")  # needs the embedded engine's files: a clear error at once, not DuckDB's
    assert res.exit_code == 3 and "locked by pid" in res.output and time.monotonic() - started < 5


def test_lock_hints_name_only_the_commands_own_options(isolated_home: Path, holder: subprocess.Popen[str]) -> None:
    """A writer is told about --lock-timeout; a reader (show, tables), which has no such option, is not."""
    res = cli("run", "--lock-timeout", "0")
    assert res.exit_code == 3 and "(--lock-timeout or [project] lock_timeout to wait longer)" in res.output
    for args in (("show", "dim_movies"), ("tables",)):
        res = cli(*args)
        assert res.exit_code == 3 and f"locked by pid {holder.pid}" in res.output, res.output
        assert "--lock-timeout" not in res.output and f"`netflix-elt {args[0]}` does not wait" in res.output
        debug = cli(*args, "--debug")  # the same hint in the traceback, the same exit code
        assert debug.exit_code == 3 and "--lock-timeout" not in debug.output and "does not wait" in debug.output
    api = pytest.raises(LockError, match=r"\(\[project\] lock_timeout to wait longer\)")  # the Python API
    with api, warehouse_lock(isolated_home / "home", "python", 0):
        pass
