"""Sessions, servers, threads and file descriptors are released on every exit path, Ctrl-C included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from netflix_elt.adapters.embedded import ENGINE
from netflix_elt.cli import main
from tests.conftest import PROJECT_DIR, interruptible
from tests.robustness.test_retry import project  # noqa: F401 - the tiny project fixture

CLI = str(Path(sys.executable).with_name("netflix-elt"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def server_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "netflix-elt-embedded-snowflake"]


def test_many_commands_in_one_process_do_not_leak(project: Path) -> None:  # noqa: F811
    def cli(*args: str) -> int:
        return CliRunner().invoke(main, [*args, "--project-dir", str(project)]).exit_code

    commands: list[tuple[tuple[str, ...], int]] = [
        (("load", "--from", str(project / "landing")), 0),
        (("run",), 0),
        (("tables",), 0),
        (("show", "steady"), 0),
        (("show", "nope"), 2),  # failing: unknown node
        (("run", "-s", "nothing_here"), 2),  # failing: selector matches nothing
        (("run", "--bogus"), 2),  # failing: usage
        (("load", "--from", str(project / "missing")), 4),  # failing: input
        (("compile",), 0),
        (("ls",), 0),
    ]
    for args, code in commands:  # warm up: the engine and its server start once per process
        assert cli(*args) == code, args
    threads, fds = len(threading.enumerate()), open_fds()
    for args, code in commands:
        assert cli(*args) == code, args
    assert len(threading.enumerate()) <= threads + 1, [t.name for t in threading.enumerate()]
    assert open_fds() <= fds + 5
    assert len(server_threads()) == 1

    ENGINE.shutdown()
    assert server_threads() == [] and not ENGINE.running and ENGINE.sessions == {}
    assert cli("tables") == 0  # and the engine starts again on demand
    ENGINE.shutdown()


@pytest.fixture
def landed(isolated_home: Path) -> dict[str, str]:
    env = {**os.environ}
    subprocess.run([CLI, "extract", "--project-dir", str(PROJECT_DIR)], env=env, check=True, capture_output=True)
    subprocess.run([CLI, "load", "--project-dir", str(PROJECT_DIR)], env=env, check=True, capture_output=True)
    return env


def test_run_exits_promptly_after_its_work(landed: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [CLI, "run", "-s", "+dim_movies", "--project-dir", str(PROJECT_DIR)],
        env=landed,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    done_at = None
    for line in proc.stdout:
        if line.startswith("Done."):
            done_at = time.monotonic()
    proc.wait(timeout=60)
    assert proc.returncode == 0 and done_at is not None
    assert time.monotonic() - done_at < 3, "the process lingered after its work was done"


def test_ctrl_c_exits_130_with_one_line(landed: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [CLI, "build", "--project-dir", str(PROJECT_DIR)],
        env=landed,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    assert proc.stdout is not None and proc.stderr is not None
    for line in proc.stdout:
        if " of " in line and "transform" in line:  # the first transform is built: mid-run
            break
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    proc.wait(timeout=60)
    err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert time.monotonic() - sent < 10
    assert err.strip().splitlines() == ["Interrupted"] and "Traceback" not in err


def test_a_closed_session_leaves_nothing_for_exit(tmp_path: Path) -> None:
    """Released sessions are closed for the connector too: nothing queries the stopped server at exit."""
    script = (
        "from pathlib import Path\n"
        "from netflix_elt.adapters.embedded import ENGINE\n"
        f"s = ENGINE.session(Path({str(tmp_path / 'wh')!r}))\n"
        "s.sql('SELECT 1').collect()\n"
        "ENGINE.shutdown()\n"
        "assert s.connection.is_closed(), 'the connector connection is still open'\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "abort-request" not in proc.stderr, proc.stderr


def test_a_command_freezes_the_heap_before_the_last_collection() -> None:
    """The process's collector is tuned (the exit's full collection cost every command ~1 s after its
    last line); CliRunner, the library's way in, leaves the host process's settings alone."""
    script = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, gc.get_threshold()))\n"
        "from click.testing import CliRunner\n"
        "from netflix_elt.cli import main\n"
        f"args = ['ls', '--project-dir', {str(PROJECT_DIR)!r}]\n"
        "assert CliRunner().invoke(main, args).exit_code == 0 and gc.get_threshold() == (700, 10, 10)\n"
        "main(args, standalone_mode=False)\n"  # as the console script calls it
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "frozen True (50000, 50, 100)", proc.stdout
