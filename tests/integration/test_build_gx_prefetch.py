"""`build` imports GX and checks the suites on a thread while the load parses and copies (issue 14),
and a suite GX rejects still stops the build before the load commits: nothing is kept (exit 2,
naming the file)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from netflix_elt.api import Workspace
from tests.conftest import PROJECT_DIR
from tests.integration.test_loader import q, write_landing


def _project(root: Path) -> Path:
    for part in ("config", "seeds", "transforms", "expectations"):
        shutil.copytree(PROJECT_DIR / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _cli(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NETFLIX_ELT_HOME": str(home), "NETFLIX_ELT_TARGET_PATH": str(home / "target")}
    cmd = [sys.executable, "-m", "netflix_elt.cli", *args, "--project-dir", str(project)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=project)


def test_a_suite_gx_rejects_stops_the_build_before_the_load_commits(tmp_path, monkeypatch):
    project = _project(tmp_path / "project")
    suite = project / "expectations" / "core" / "dim_users.yml"
    suite.write_text(
        suite.read_text().replace("expect_column_values_to_not_be_null", "expect_column_values_to_be_nul", 1)
    )
    landing = write_landing(tmp_path / "landing")
    home = tmp_path / "home"
    res = _cli(project, home, "build", "--from", str(landing))
    assert res.returncode == 2, res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert "dim_users.yml" in out and "unknown expectation type 'expect_column_values_to_be_nul'" in out
    assert "did you mean 'expect_column_values_to_be_null'" in out
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(home))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(home / "target"))
    with Workspace.from_options(project) as ws:
        ws.init()
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY") == [(0,)]
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.RAW_RATINGS") == [(0,)]


def test_the_build_checks_its_suites_on_a_thread_and_runs_them(isolated_home, tmp_path, monkeypatch):
    """The GX check ran on the prefetch thread, the load waited for it, and the tests then ran."""
    import threading

    from netflix_elt.quality import suites as suites_mod

    seen: list[str] = []
    real = suites_mod.check_with_gx

    def spy(where, spec):
        seen.append(threading.current_thread().name)
        return real(where, spec)

    monkeypatch.setattr(suites_mod, "check_with_gx", spy)
    landing = write_landing(tmp_path / "landing")
    with Workspace.from_options(PROJECT_DIR) as ws:
        out = ws.build(["dim_movies"], from_url=str(landing))
        ran = {r.name: r.status for r in out.results if r.kind == "test"}
        assert ran and set(ran.values()) <= {"pass", "fail", "warn", "skipped"} and "pass" in ran.values(), ran
    assert seen and set(seen) == {"netflix-elt-gx-import"}


def test_the_load_copies_while_the_suites_are_checked_and_commits_after(isolated_home, tmp_path, monkeypatch):
    """On the embedded engine the COPYs run while GX imports and checks; the COMMIT waits for it."""
    import threading
    import time

    from netflix_elt.ingest import load as load_mod
    from netflix_elt.quality import suites as suites_mod

    events: list[str] = []
    lock = threading.Lock()

    def note(what: str) -> None:
        with lock:
            events.append(what)

    real_check, real_copy, real_confirm = suites_mod.check_with_gx, load_mod.copy_parquet, load_mod.confirm_written
    first = threading.Event()

    def slow_check(where, spec):
        if not first.is_set():
            first.set()
            time.sleep(2.0)  # a slow GX import: the load must not wait for it to copy
        out = real_check(where, spec)
        note("checked")
        return out

    def copy(*a, **kw):
        note("copy")
        return real_copy(*a, **kw)

    def confirm(*a, **kw):
        note("committed")
        return real_confirm(*a, **kw)

    monkeypatch.setattr(suites_mod, "check_with_gx", slow_check)
    monkeypatch.setattr(load_mod, "copy_parquet", copy)
    monkeypatch.setattr(load_mod, "confirm_written", confirm)
    landing = write_landing(tmp_path / "landing")
    with Workspace.from_options(PROJECT_DIR) as ws:
        assert ws.adapter.copies_from_local_path  # the embedded engine COPYs the parsed files in place
        ws.build(["dim_movies"], from_url=str(landing))
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY")[0][0] > 0
    assert "copy" in events and "checked" in events and "committed" in events, events
    assert events.index("copy") < events.index("checked"), events  # copied while the suites were checked
    last_check = len(events) - 1 - events[::-1].index("checked")
    assert last_check < events.index("committed"), events  # every suite checked before the COMMIT
