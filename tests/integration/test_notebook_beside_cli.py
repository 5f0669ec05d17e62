"""A notebook's `netflix_elt.connect()` beside the CLI on the embedded engine (issue 13, point 7).

The DuckDB files open in one process at a time: whoever comes second gets the warehouse lock's
message naming the holder's pid and command (exit 3 from the CLI, LockError in Python), never the
emulator's HTTP 500; `close_session()` gives the warehouse back; a second target is refused
instead of switching the first session's schema.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import netflix_elt
from netflix_elt.errors import ConfigError, LockError
from netflix_elt.lock import lock_path, read_holder
from tests.conftest import tiny_config, write_tiny_project

CONFIG = (
    tiny_config(
        """
[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
columns = {{ id = "INTEGER", price = "FLOAT" }}
""",
        name="nb",
        database="NB",
    )
    + '\n[targets.prod]\nschema = "PROD"\n'
)

TRANSFORMS = """
from netflix_elt import transform


@transform(layer="staging", materialized="view")
def stg_items(raw_items):
    return raw_items.select("id", "price")
"""

NOTEBOOK = """
import os, sys
import netflix_elt

session = netflix_elt.connect()  # the project from NETFLIX_ELT_PROJECT_DIR
print("connected", os.getpid(), flush=True)
sys.stdin.readline()
netflix_elt.close_session(session)
print("closed", flush=True)
sys.stdin.readline()
"""

HOLDER = """
import sys
from pathlib import Path
from netflix_elt.lock import warehouse_lock
with warehouse_lock(Path(sys.argv[1]), "netflix-elt build", 0):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tiny_project(tmp_path, "nb", CONFIG, TRANSFORMS, "id,price\n1,3.5\n2,12.0\n")
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("NETFLIX_ELT_PROJECT_DIR", str(tmp_path))
    return tmp_path


def _python(code: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netflix_elt.cli", *args, "--project-dir", str(project)],
        cwd=project,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _readline(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        raise AssertionError(f"the child process said nothing: {proc.communicate()[1][-2000:]}")
    return line


@pytest.fixture
def notebook(project: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc = _python(NOTEBOOK, cwd=project)
    try:
        word, pid = _readline(proc).split()
        assert word == "connected"
        yield proc, int(pid)
    finally:
        proc.kill()
        proc.wait()


def test_cli_beside_a_notebook_gets_the_lock_message_then_works_after_close_session(
    project: Path, notebook: tuple[subprocess.Popen[str], int]
) -> None:
    proc, pid = notebook
    for args in (["tables"], ["run", "--lock-timeout", "0"]):
        done = _cli(project, *args)
        out = done.stdout + done.stderr
        assert done.returncode == 3, out
        assert f"locked by pid {pid}" in out and "python (netflix_elt.connect)" in out, out
        assert "HTTP 500" not in out and "290500" not in out and "Traceback" not in out, out
    assert proc.stdin is not None
    proc.stdin.write("close\n")
    proc.stdin.flush()
    assert _readline(proc) == "closed"  # the notebook process is still alive, its session closed
    done = _cli(project, "tables")
    assert done.returncode == 0, done.stdout + done.stderr


def test_connect_beside_a_cli_writer_raises_lock_error_naming_it(project: Path) -> None:
    holder = _python(HOLDER, str(project / "home"), cwd=project)
    try:
        assert _readline(holder) == "held"
        with pytest.raises(LockError) as e:
            netflix_elt.connect(project_dir=project)
        assert f"pid {holder.pid}" in str(e.value) and "netflix-elt build" in str(e.value)
        assert e.value.exit_code == 3
    finally:
        holder.kill()
        holder.wait()


def test_connect_to_another_target_never_switches_the_first_session(project: Path) -> None:
    first = netflix_elt.connect(project_dir=project)
    try:
        assert first.get_current_schema() == '"DEV"'
        try:
            other = netflix_elt.connect(target="prod", project_dir=project)
        except ConfigError as e:
            assert "'dev'" in str(e) and "'prod'" in str(e)
        else:
            assert other is not first and other.get_current_schema() == '"PROD"'
        assert first.get_current_schema() == '"DEV"'
        assert read_holder(lock_path(project / "home")).command == "python (netflix_elt.connect)"  # type: ignore[union-attr]
    finally:
        netflix_elt.close_session(first)
    assert read_holder(lock_path(project / "home")) is None  # the warehouse is released
