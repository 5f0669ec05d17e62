"""A reported load, build or snapshot is on disk (issue 11, section 5).

On a nearly full disk DuckDB's COMMIT failed, the emulator answered HTTP 500, the connector
retried the COMMIT and the emulator reported the retry (no open transaction) as success: `load`
printed every file as loaded, exited 0 and saved nothing. Now a failed write is an error with
"the warehouse could not be written: disk full?" and a non-zero exit, and after each write the
embedded engine checkpoints and reads back (netflix_elt.adapters.durability).

Two kinds of test:
* everywhere: the engine's own failures, injected in the emulator's cursor in this process
  (a COMMIT that DuckDB could not write, a checkpoint that fails once), and the mechanism's units;
* on a real small filesystem: a tmpfs mounted for the test, nearly filled, holding
  NETFLIX_ELT_HOME (the CLI runs as subprocesses). Skipped, with the reason, where mounting is
  not permitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from netflix_elt.adapters import durability
from netflix_elt.adapters.durability import DISK_FULL
from netflix_elt.artifacts import read_results
from netflix_elt.cli import main
from netflix_elt.errors import LoadError, TransformError
from tests.conftest import tiny_config, write_tiny_project
from tests.robustness.crash_harness import copy_project

CONFIG = tiny_config(
    """
[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
mode = "append"
columns = {{ id = "INTEGER", name = "VARCHAR", price = "FLOAT" }}
""",
    name="tiny",
    database="TINY",
    threads=1,
)

TRANSFORMS = """
from netflix_elt import snapshot, transform


@transform(layer="staging", materialized="view")
def stg_items(raw_items):
    return raw_items.select("id", "name", "price")


@transform(layer="core", materialized="table")
def priced(stg_items):
    return stg_items.select("id", "price")


@snapshot(unique_key="id", strategy="check", check_cols=["name", "price"])
def snap_items(stg_items):
    return stg_items
"""


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tiny_project(tmp_path, "durable", CONFIG, TRANSFORMS, "id,name,price\n1,apple,3.5\n2,melon,12.0\n")
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    return tmp_path


def cli(project: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--project-dir", str(project)], catch_exceptions=False)


def query(project: Path, sql: str) -> list[tuple]:
    from netflix_elt.api import Workspace

    with Workspace.from_options(project) as ws:
        return [tuple(r) for r in ws.session.sql(sql).collect()]


@contextlib.contextmanager
def engine_fails(monkeypatch: pytest.MonkeyPatch, match: Callable[[str], bool], times: int = 1) -> Iterator[list[int]]:
    """The emulator's next `times` statements matching `match` fail as DuckDB fails on a full disk.

    DuckDB rolls the transaction back and raises "Failed to commit: Could not write file ...: No
    space left on device" (seen on a nearly full tmpfs); the emulator answers HTTP 500.
    """
    import duckdb
    from fakesnow.cursor import FakeSnowflakeCursor

    real = FakeSnowflakeCursor.execute
    left = [times]

    def execute(self, command, *args, **kwargs):  # type: ignore[no-untyped-def]
        if left[0] and match(command):
            left[0] -= 1
            with contextlib.suppress(Exception):
                self._duck_conn.rollback()
            raise duckdb.TransactionException(
                'Failed to commit: Could not write file "/full/TINY.db.wal": No space left on device'
            )
        return real(self, command, *args, **kwargs)

    monkeypatch.setattr(FakeSnowflakeCursor, "execute", execute)
    try:
        yield left
    finally:
        monkeypatch.setattr(FakeSnowflakeCursor, "execute", real)


def is_commit(sql: str) -> bool:
    return sql.strip().rstrip(";").upper() == "COMMIT"


def is_checkpoint(sql: str) -> bool:
    return "checkpoint(" in sql.lower()


# -- everywhere: the engine's failures injected in this process ----------------------------------


def test_a_commit_that_could_not_be_written_fails_the_load_and_the_next_load_retries(tiny, monkeypatch):
    with engine_fails(monkeypatch, is_commit) as left:
        res = cli(tiny, "load", "--from", str(tiny / "landing"))
    assert left == [0], "the COMMIT was not reached"
    assert res.exit_code == LoadError.exit_code, res.output
    assert DISK_FULL in res.output and "No space left on device" in res.output, res.output
    assert query(tiny, "SELECT COUNT(*) FROM TINY.RAW.LOAD_HISTORY") == [(0,)]
    assert query(tiny, "SELECT COUNT(*) FROM TINY.RAW.RAW_ITEMS") == [(0,)]
    res = cli(tiny, "load", "--from", str(tiny / "landing"))
    assert res.exit_code == 0, res.output
    assert query(tiny, "SELECT COUNT(*) FROM TINY.RAW.LOAD_HISTORY") == [(1,)]
    assert query(tiny, "SELECT COUNT(*) FROM TINY.RAW.RAW_ITEMS") == [(2,)]


def test_a_checkpoint_that_fails_once_fails_the_load(tiny, monkeypatch):
    with engine_fails(monkeypatch, is_checkpoint) as left:
        res = cli(tiny, "load", "--from", str(tiny / "landing"))
    assert left == [0], "no checkpoint after the load's COMMIT"
    assert res.exit_code == LoadError.exit_code, res.output
    assert DISK_FULL in res.output and "the load of 1 files" in res.output, res.output
    # the COMMIT itself was written: the next load finds the file loaded, with its rows
    res = cli(tiny, "load", "--from", str(tiny / "landing"))
    assert res.exit_code == 0, res.output
    assert query(tiny, "SELECT COUNT(*) FROM TINY.RAW.RAW_ITEMS") == [(2,)]


def test_a_build_whose_write_fails_is_reported_and_not_recorded(tiny, monkeypatch):
    assert cli(tiny, "load", "--from", str(tiny / "landing")).exit_code == 0
    with engine_fails(monkeypatch, lambda sql: "CREATE OR REPLACE TABLE TINY.DEV.PRICED" in sql.upper()) as left:
        res = cli(tiny, "run")
    assert left == [0]
    assert res.exit_code == TransformError.exit_code, res.output
    results = {r["name"]: r for r in read_results(tiny / "target")}
    assert results["priced"]["status"] == "error"
    assert DISK_FULL in results["priced"]["message"], results["priced"]
    built = {r[0] for r in query(tiny, "SELECT NODE FROM TINY.AUDIT.BUILD_STATE")}
    assert "priced" not in built and "stg_items" in built
    res = cli(tiny, "run")
    assert res.exit_code == 0, res.output
    assert query(tiny, "SELECT COUNT(*) FROM TINY.DEV.PRICED") == [(2,)]


def test_a_checkpoint_that_fails_once_fails_the_build_and_the_snapshot(tiny, monkeypatch):
    assert cli(tiny, "load", "--from", str(tiny / "landing")).exit_code == 0
    with engine_fails(monkeypatch, is_checkpoint) as left:
        res = cli(tiny, "run", "-s", "stg_items")
    assert left == [0], "no checkpoint after the view"
    assert res.exit_code == TransformError.exit_code, res.output
    assert DISK_FULL in res.output and "view TINY.DEV.STG_ITEMS" in res.output, res.output
    assert "stg_items" not in {r[0] for r in query(tiny, "SELECT NODE FROM TINY.AUDIT.BUILD_STATE")}
    assert cli(tiny, "run").exit_code == 0
    with engine_fails(monkeypatch, is_checkpoint) as left:
        res = cli(tiny, "snapshot")
    assert left == [0], "no checkpoint after the snapshot"
    assert res.exit_code == 1, res.output
    assert DISK_FULL in res.output and "snapshot TINY.SNAPSHOTS.SNAP_ITEMS" in res.output, res.output
    assert "snap_items" not in {r[0] for r in query(tiny, "SELECT NODE FROM TINY.AUDIT.BUILD_STATE")}
    res = cli(tiny, "snapshot")
    assert res.exit_code == 0, res.output
    assert query(tiny, "SELECT COUNT(*) FROM TINY.SNAPSHOTS.SNAP_ITEMS WHERE IS_CURRENT") == [(2,)]


# -- everywhere: the mechanism's units ------------------------------------------------------------


class IOException(Exception):
    """Named as DuckDB's, which it raises for reads too."""


class FakeSession:
    """Records statements; `fail` maps a statement prefix to the exception it raises."""

    def __init__(self, rows: list[tuple] | None = None, fail: dict[str, Exception] | None = None) -> None:
        self.sent: list[str] = []
        self.rows = rows if rows is not None else [(1,)]
        self.fail = fail or {}

    def sql(self, sql: str) -> FakeSession:
        self.sent.append(sql)
        self._last = sql
        return self

    def collect(self) -> list[tuple]:
        for prefix, e in self.fail.items():
            if self._last.startswith(prefix):
                raise e
        return self.rows


def test_an_engine_that_needs_no_checkpoint_gets_no_extra_sql():
    session = FakeSession()  # not registered: a Snowflake session
    durability.confirm_written(session, "the load", LoadError, "SELECT COUNT(*) FROM T", 1)
    assert session.sent == []


def test_a_failing_checkpoint_is_reported_with_its_reason_not_swallowed():
    session = FakeSession(fail={"SELECT * FROM checkpoint": RuntimeError("IO Error: No space left on device\nmore")})
    durability.register(session, "MOVIELENS")
    with pytest.raises(LoadError) as e:
        durability.confirm_written(session, "the load of 2 files", LoadError, "SELECT COUNT(*) FROM T", 2)
    msg = str(e.value)
    assert msg.startswith(DISK_FULL) and "the load of 2 files" in msg and "No space left on device" in msg
    assert "more" not in msg
    assert session.sent == ["SELECT * FROM checkpoint('MOVIELENS')"]


def test_a_read_back_that_misses_rows_is_reported():
    session = FakeSession(rows=[(0,)])
    durability.register(session, "MOVIELENS")
    with pytest.raises(TransformError, match="reported saved but is not there"):
        durability.confirm_written(session, "the load", TransformError, "SELECT COUNT(*) FROM T", 6)
    assert session.sent[-1] == "SELECT COUNT(*) FROM T"


def test_the_server_answers_a_failed_write_as_a_query_error_not_a_retryable_500():
    """The connector retries HTTP 500; a retried COMMIT after a failed one 'succeeded'."""

    async def app(scope, receive, send):  # a stand-in for fakesnow's app, failing as it does
        if scope["path"] == "/queries/v1/query-request" and scope.get("write_fails", True):
            try:
                raise OSError('Failed to commit: Could not write file "x.db": No space left on device')
            except OSError as e:
                logging.getLogger("fakesnow.server").error("Unhandled exception", exc_info=e)
        elif scope.get("other_bug"):
            try:
                raise IOException("IO Error: No files found that match the pattern")  # a read, not a write
            except IOException as e:
                logging.getLogger("fakesnow.server").error("Unhandled exception", exc_info=e)
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b'{"success": false}'})

    def serve(**scope: object) -> list[dict]:
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        async def receive() -> dict:
            return {"type": "http.request"}

        asyncio.run(durability.asgi(app)({"type": "http", **scope}, receive, send))
        return sent

    durability.capture_server_errors()
    sent = serve(path="/queries/v1/query-request")
    assert sent[0]["status"] == 200
    body = json.loads(sent[1]["body"])
    assert body["success"] is False and body["message"].startswith(DISK_FULL) and "No space left" in body["message"]
    # any other emulator failure is left as it was
    sent = serve(path="/queries/v1/query-request", write_fails=False, other_bug=True)
    assert sent[0]["status"] == 500


# -- on a real small filesystem (tmpfs) -------------------------------------------------------------

CLI = [str(Path(sys.executable).with_name("netflix-elt"))]


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs mounted for this test; skipped with the reason where that is not permitted."""
    mnt = tmp_path / "small_fs"
    mnt.mkdir()
    if not shutil.which("mount"):
        pytest.skip("no `mount` command: cannot mount a small tmpfs for the disk-full test")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"exit {done.returncode}"
        pytest.skip(f"mounting a tmpfs is not permitted here ({why}); the injected-fault tests cover the mechanism")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(mnt: Path, leave_kib: int) -> Path:
    """Write a file of zeros until `leave_kib` KiB are free on the filesystem (tmpfs allocates on write)."""
    filler = mnt / "filler"
    st = os.statvfs(mnt)
    todo = st.f_bavail * st.f_frsize - leave_kib * 1024
    chunk = b"\0" * (1 << 20)
    with filler.open("ab") as f:
        while todo > 0:
            f.write(chunk[: min(len(chunk), todo)])
            todo -= len(chunk)
    return filler


class Cli:
    def __init__(self, project: Path, home: Path, target: Path) -> None:
        self.project = project
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NETFLIX_ELT_")}
        self.env.update(NETFLIX_ELT_HOME=str(home), NETFLIX_ELT_TARGET_PATH=str(target))
        self.warehouse = home / "warehouse" / "MOVIELENS.db"

    def __call__(self, *args: str) -> tuple[int, str]:
        done = subprocess.run(
            [*CLI, *args, "--project-dir", str(self.project)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return done.returncode, done.stdout + done.stderr

    def sql(self, sql: str) -> list[tuple]:
        """Read the warehouse file directly, as a fresh process would (after the CLI exited)."""
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The project (without data tests) and one synthetic small batch, landed outside the small filesystem."""
    root = tmp_path_factory.mktemp("disk_full")
    project = copy_project(root / "project")
    run = Cli(project, root / "extract_home", root / "extract_target")
    code, out = run("extract", "--source", "synthetic", "--scale", "small", "--to", str(root / "landing"))
    assert code == 0, out
    return project, root / "landing"


@pytest.mark.timeout(600)
def test_load_on_a_full_disk_fails_and_the_next_load_with_space_loads(small_fs, landed, tmp_path):
    project, landing = landed
    run = Cli(project, small_fs / "home", tmp_path / "target")
    filler = fill(small_fs, leave_kib=4096)  # the load needs ~14 MiB of write-ahead log
    code, out = run("load", "--from", str(landing))
    assert code == LoadError.exit_code, out
    assert DISK_FULL in out and "No space left on device" in out, out
    filler.unlink()
    assert run.sql("SELECT COUNT(*) FROM RAW.LOAD_HISTORY") == [(0,)]
    assert run.sql("SELECT COUNT(*) FROM RAW.RAW_RATINGS") == [(0,)]
    code, out = run("load", "--from", str(landing))
    assert code == 0, out
    assert run.sql("SELECT COUNT(*) FROM RAW.LOAD_HISTORY") == [(6,)]
    assert run.sql("SELECT COUNT(*) FROM RAW.RAW_RATINGS") == [(100_836,)]


@pytest.mark.timeout(600)
def test_run_and_snapshot_on_a_full_disk_fail_and_record_nothing_unsaved(small_fs, landed, tmp_path):
    project, landing = landed
    run = Cli(project, small_fs / "home", tmp_path / "target")
    for args in (("load", "--from", str(landing)), ("seed",)):
        code, out = run(*args)
        assert code == 0, out

    filler = fill(small_fs, leave_kib=2048)
    code, out = run("run")
    assert code == TransformError.exit_code, out
    assert DISK_FULL in out, out
    failed = {line.split()[5] for line in out.splitlines() if " ERROR " in line and "transform" in line}
    assert failed, out
    filler.unlink()
    built = {r[0] for r in run.sql("SELECT NODE FROM AUDIT.BUILD_STATE")}
    assert not failed & built, (failed, built)
    code, out = run("run")
    assert code == 0, out

    filler = fill(small_fs, leave_kib=256)
    code, out = run("snapshot")
    assert code == 1, out
    assert DISK_FULL in out, out
    filler.unlink()
    snaps = {r[0] for r in run.sql("SELECT NODE FROM AUDIT.BUILD_STATE")} & {"snap_movies", "snap_tags"}
    assert snaps != {"snap_movies", "snap_tags"}, out
    code, out = run("snapshot")
    assert code == 0, out
    assert run.sql("SELECT COUNT(*) FROM SNAPSHOTS.SNAP_MOVIES WHERE IS_CURRENT") == [(9_742,)]
