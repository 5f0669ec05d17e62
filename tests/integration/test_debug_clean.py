"""`netflix-elt debug`, `netflix-elt clean`, `python -m netflix_elt` and shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import sqlglot
from click.testing import CliRunner

from netflix_elt.cli import main

CONFIG = """
[project]
transforms = "{package}"
{extra_project}
[targets.dev]
schema = "DEV"

[profiles.local]
engine = "embedded"

[profiles.snowflake]
engine = "snowflake"

[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
columns = {{ id = "INTEGER" }}
{extra}
"""

TRANSFORM = """
from netflix_elt import transform


@transform(layer="staging")
def stg_items({inputs}):
    return {first}
"""


def _project(root: Path, *, extra: str = "", extra_project: str = "", inputs: str = "raw_items") -> Path:
    package = f"dbg_{root.parent.name.replace('-', '_')}"  # unique per test: modules stay imported
    (root / "config").mkdir(parents=True)
    (root / "config" / "netflix_elt.toml").write_text(
        CONFIG.format(package=package, extra=extra, extra_project=extra_project)
    )
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    (root / package / "items.py").write_text(TRANSFORM.format(inputs=inputs, first=inputs.split(",")[0]))
    return root


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NETFLIX_ELT_TARGET_PATH", raising=False)
    monkeypatch.delenv("NETFLIX_ELT_TARGET", raising=False)
    monkeypatch.delenv("NETFLIX_ELT_PROFILE", raising=False)
    monkeypatch.delenv("NETFLIX_ELT_PROJECT_DIR", raising=False)
    for var in [v for v in os.environ if v.startswith("SNOWFLAKE_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SNOWFLAKE_HOME", str(tmp_path / "no-snowflake-config"))  # no connections.toml
    return tmp_path


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


def _lines(text: str) -> dict[str, str]:
    """`  name   value` lines of the output, by their first word(s) (two spaces or more separate them)."""
    out = {}
    for line in text.splitlines():
        parts = [p for p in line.strip().split("  ") if p]
        if len(parts) >= 2:
            out[parts[0].strip()] = "  ".join(p.strip() for p in parts[1:])
    return out


# debug -------------------------------------------------------------------------------------------
def test_debug_shows_versions_settings_with_their_source_and_passes(env):
    root = _project(env / "p")
    res = _cli("debug", "--project-dir", str(root), "--target", "dev")
    assert res.exit_code == 0, res.output
    got = _lines(res.output)
    # versions, against the modules' own attributes (not importlib.metadata, which debug reads)
    assert got["duckdb"] == duckdb.__version__ and got["sqlglot"] == sqlglot.__version__
    assert got["python"] == ".".join(map(str, sys.version_info[:3]))
    assert got["project folder"] == f"{root.resolve()}  (command line --project-dir)"
    assert got["target"] == "dev (schema MOVIELENS.DEV)  (command line --target)"
    assert got["profile"] == "local (engine embedded)  ([project] default_profile)"
    assert got["state folder"] == f"{(env / 'home').resolve()}  (environment NETFLIX_ELT_HOME)"
    assert got["artifacts (target path)"] == f"{root.resolve() / 'target'}  (default: <project>/target)"
    assert got["layers"] == "staging, intermediate, core, marts  ([project] layers)"
    for check in ("config", "packages", "project", "landing", "connection"):
        assert got[check].startswith("OK"), (check, res.output)
    assert "1 source, 1 transform" in got["project"]
    assert "not created yet" in got["landing"] and "throwaway folder" in got["connection"]
    assert "All checks passed." in res.output
    assert not (env / "home").exists()  # debug wrote nothing: no warehouse, no landing


def test_debug_reads_the_options_environment_variables(env, monkeypatch):
    root = _project(env / "p")
    monkeypatch.setenv("NETFLIX_ELT_PROJECT_DIR", str(root))
    monkeypatch.setenv("NETFLIX_ELT_TARGET", "dev")
    res = _cli("debug")
    assert res.exit_code == 0, res.output
    got = _lines(res.output)
    assert got["project folder"].endswith("(environment NETFLIX_ELT_PROJECT_DIR)")
    assert got["target"].endswith("(environment NETFLIX_ELT_TARGET)")


def test_debug_on_a_built_warehouse_and_a_landing(env):
    root = _project(env / "p")
    landing = env / "home" / "landing" / "batch=0001"
    landing.mkdir(parents=True)
    (landing / "manifest.json").write_text("{}")
    assert _cli("init", "--project-dir", str(root)).exit_code == 0
    res = _cli("debug", "--project-dir", str(root))
    assert res.exit_code == 0, res.output
    got = _lines(res.output)
    assert got["landing"] == f"OK  {(env / 'home' / 'landing').resolve().as_uri()} reachable, 1 complete batch"
    assert f"on the warehouse {(env / 'home' / 'warehouse').resolve()}" in got["connection"]


def test_debug_bad_config_fails_at_the_config_check(env):
    root = _project(env / "p")
    (root / "config" / "netflix_elt.toml").write_text("[project\n")
    res = _cli("debug", "--project-dir", str(root))
    assert res.exit_code == 2
    assert "debug: the config check failed: config file" in res.output and "is not valid TOML" in res.output
    assert "duckdb" in res.output  # the versions still print
    assert "connection" not in _lines(res.output)


def test_debug_unknown_target_exits_2_naming_it(env):
    root = _project(env / "p")
    res = _cli("debug", "--project-dir", str(root), "--target", "prd")
    assert res.exit_code == 2
    assert "debug: the config check failed: unknown target 'prd' (--target)" in res.output


def test_debug_missing_landing_exits_4_before_connecting(env):
    missing = env / "nowhere" / "landing"
    root = _project(env / "p", extra=f'[landing]\nurl = "{missing}"\n')
    res = _cli("debug", "--project-dir", str(root))
    assert res.exit_code == 4, res.output
    assert f"debug: the landing check failed: landing folder {missing} does not exist ([landing] url" in res.output
    assert "connection" not in _lines(res.output)  # stopped at the first failure


def test_debug_broken_project_fails_at_the_project_check(env):
    root = _project(env / "p", inputs="raw_itmes")
    res = _cli("debug", "--project-dir", str(root))
    assert res.exit_code == 2
    assert "debug: the project check failed:" in res.output and "did you mean 'raw_items'?" in res.output


def test_debug_bad_snowflake_connection_exits_2_without_secrets(env, monkeypatch):
    # variables alone are no connection (as in the connector): the error names the missing one
    home = env / "snowflake-home"
    home.mkdir()
    monkeypatch.setenv("SNOWFLAKE_HOME", str(home))
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "s3cret-Value-42")
    monkeypatch.setenv("SNOWFLAKE_USER", "alice")
    root = _project(env / "p")
    res = _cli("debug", "--project-dir", str(root), "--profile", "snowflake")
    assert res.exit_code == 2, res.output
    assert "debug: the connection check failed:" in res.output, res.output
    assert str(home / "connections.toml") in res.output and "known: none" in res.output
    assert "s3cret-Value-42" not in res.output


def test_debug_when_another_process_holds_the_warehouse(env):
    root = _project(env / "p")
    (env / "home" / "warehouse").mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; from pathlib import Path; from netflix_elt.lock import warehouse_lock\n"
         f"with warehouse_lock(Path({str(env / 'home')!r}), 'netflix-elt build', 0):\n"
         "    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        res = _cli("debug", "--project-dir", str(root))
    finally:
        holder.kill()
        holder.wait()
    assert res.exit_code == 3, res.output
    assert "debug: the connection check failed: the warehouse" in res.output
    assert f"pid {holder.pid}" in res.output and "netflix-elt build" in res.output


# clean -------------------------------------------------------------------------------------------
def _dead_pid() -> int:
    pid = 32000
    while Path(f"/proc/{pid}").exists():
        pid -= 1
    return pid


def _tree(root: Path) -> tuple[int, int]:
    files = [Path(d) / f for d, _, fs in os.walk(root) for f in fs]
    return len(files), sum(p.stat().st_size for p in files)


def test_clean_removes_target_and_leftover_temp_folders_and_keeps_the_warehouse(env, monkeypatch):
    from netflix_elt import tempfiles

    # a temp root of this test's own: another netflix-elt process of the machine that exits between
    # the two cleans leaves its folder in the shared one, and the second would rightly remove it
    (env / "tmp").mkdir()
    monkeypatch.setattr(tempfiles, "_BASE", str(env / "tmp"))
    root = _project(env / "p")
    (root / "target" / "compiled" / "staging").mkdir(parents=True)
    (root / "target" / "run_results.json").write_text('{"results": []}')
    (root / "target" / "compiled" / "staging" / "stg_items.sql").write_text("select 1")
    count, size = _tree(root / "target")
    warehouse = env / "home" / "warehouse"
    warehouse.mkdir(parents=True)
    (warehouse / "MOVIELENS.db").write_bytes(b"x" * 100)
    (env / "home" / "landing").mkdir()
    (env / "home" / "landing" / "keep.csv").write_text("id\n1\n")
    dead = tempfiles.root() / f"p{_dead_pid()}-12345"
    dead.mkdir()
    res = _cli("clean", "--project-dir", str(root))
    assert res.exit_code == 0, res.output
    assert f"removed artifacts folder {root.resolve() / 'target'} ({count} files, {size:,} bytes)" in res.output
    assert f"removed temporary folder of an exited netflix-elt process {dead}" in res.output
    assert not (root / "target").exists() and not dead.exists()
    assert (warehouse / "MOVIELENS.db").read_bytes() == b"x" * 100  # kept
    assert (env / "home" / "landing" / "keep.csv").is_file()
    assert "kept the warehouse" in res.output and "clean --warehouse" in res.output
    again = _cli("clean", "--project-dir", str(root))
    assert again.exit_code == 0 and "nothing to remove" in again.output


def test_clean_warehouse_removes_only_the_warehouse_files(env):
    root = _project(env / "p")
    warehouse = env / "home" / "warehouse"
    (warehouse / "sub").mkdir(parents=True)
    (warehouse / "MOVIELENS.db").write_bytes(b"x" * 10)
    (warehouse / "sub" / "_fs_global.db").write_bytes(b"y" * 5)
    (env / "home" / "landing").mkdir()
    (env / "home" / "landing" / "keep.csv").write_text("id\n1\n")
    res = _cli("clean", "--project-dir", str(root), "--warehouse")
    assert res.exit_code == 0, res.output
    assert f"removed warehouse (embedded engine files) {warehouse.resolve()} (2 files, 15 bytes)" in res.output
    assert sorted(p.name for p in warehouse.iterdir()) == [".lock"]  # the lock file it held stays
    assert (env / "home" / "landing" / "keep.csv").is_file()


def test_clean_warehouse_is_refused_on_snowflake(env):
    root = _project(env / "p")
    (root / "target").mkdir()
    res = _cli("clean", "--project-dir", str(root), "--profile", "snowflake", "--warehouse")
    assert res.exit_code == 2
    assert "clean --warehouse removes the embedded engine's files" in res.output
    assert (root / "target").is_dir()  # nothing removed


def test_clean_refuses_a_target_path_that_is_the_project(env, monkeypatch):
    root = _project(env / "p")
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(root))
    res = _cli("clean", "--project-dir", str(root))
    assert res.exit_code == 2
    assert "is the project folder, one of its parents" in res.output
    assert (root / "config" / "netflix_elt.toml").is_file()


def test_clean_while_a_command_runs_changes_nothing(env):
    root = _project(env / "p")
    (root / "target").mkdir()
    (root / "target" / "run_results.json").write_text("{}")
    (env / "home" / "warehouse").mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; from pathlib import Path; from netflix_elt.lock import warehouse_lock\n"
         f"with warehouse_lock(Path({str(env / 'home')!r}), 'netflix-elt run', 0):\n"
         "    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        res = _cli("clean", "--project-dir", str(root))
    finally:
        holder.kill()
        holder.wait()
    assert res.exit_code == 3 and "netflix-elt run" in res.output
    assert (root / "target" / "run_results.json").is_file()


# python -m netflix_elt and shell completion --------------------------------------------------------
def _module(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env}
    return subprocess.run([sys.executable, "-m", "netflix_elt", *args], capture_output=True, text=True, env=full,
                          timeout=120)  # fmt: skip


def test_python_dash_m_runs_the_cli():
    res = _module("--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Usage: netflix-elt [OPTIONS] COMMAND [ARGS]...")
    commands = {line.split()[0] for line in res.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert {"debug", "clean", "run", "build", "ls"} <= commands
    bad = _module("no-such-command")
    assert bad.returncode == 2 and "No such command 'no-such-command'" in bad.stderr


def test_bash_completion_script_and_answers():
    script = _module(_NETFLIX_ELT_COMPLETE="bash_source")
    assert script.returncode == 0
    assert (
        "_netflix_elt_completion()" in script.stdout
        and "complete -o nosort -F _netflix_elt_completion netflix-elt" in script.stdout
    )
    started = time.monotonic()
    answer = _module(_NETFLIX_ELT_COMPLETE="bash_complete", COMP_WORDS="netflix-elt de", COMP_CWORD="1")
    assert answer.returncode == 0 and answer.stdout.split() == ["plain,debug"], answer.stdout
    assert time.monotonic() - started < 60
    flags = _module(_NETFLIX_ELT_COMPLETE="bash_complete", COMP_WORDS="netflix-elt clean --wa", COMP_CWORD="2")
    assert flags.stdout.split() == ["plain,--warehouse"]


def test_debug_s3_landing_reachable_or_missing_bucket(env, monkeypatch):
    import boto3

    from tests.conftest import moto_server, use_moto

    with moto_server() as endpoint:
        use_moto(monkeypatch, endpoint)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="landing-ok")
        s3.put_object(Bucket="landing-ok", Key="ml/batch=0001/manifest.json", Body=b"{}")
        s3.put_object(Bucket="landing-ok", Key="ml/batch=0002/ratings.csv", Body=b"x")  # no manifest: incomplete
        ok = _project(env / "ok", extra='[landing]\nurl = "s3://landing-ok/ml"\n')
        res = _cli("debug", "--project-dir", str(ok))
        assert res.exit_code == 0, res.output
        assert _lines(res.output)["landing"] == "OK  s3://landing-ok/ml reachable, 1 complete batch"
        missing = _project(env / "missing", extra='[landing]\nurl = "s3://no-such-bucket/ml"\n')
        res = _cli("debug", "--project-dir", str(missing))
    assert res.exit_code == 4, res.output
    assert (
        "debug: the landing check failed: landing s3://no-such-bucket/ml: bucket 'no-such-bucket' does not exist"
        in res.output
    )
    assert "connection" not in _lines(res.output)
