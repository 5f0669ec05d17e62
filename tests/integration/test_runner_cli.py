"""The runner through the CLI on a tiny project: order, skip on failure, exit codes, old table kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from netflix_elt.artifacts import read_results
from netflix_elt.cli import main
from tests.conftest import tiny_config, write_tiny_project

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
    threads=2,
)

TRANSFORMS = """
import os

from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(layer="staging", materialized="view")
def stg_items(raw_items):
    return raw_items.select("id", "name", "price")


@transform(layer="core", materialized="table", tags=["money"])
def priced(stg_items):
    price = F.col("price")
    if os.environ.get("TINY_BREAK_PRICED"):
        # fails inside the engine, after the statement started
        price = F.sql_expr("CAST(name AS INTEGER)")
    return stg_items.select("id", price.alias("price"))


@transform(layer="core", materialized="table")
def broken(stg_items):
    return stg_items.select(F.sql_expr("CAST(name AS INTEGER)").alias("n"))


@transform(layer="marts", materialized="table")
def after_broken(broken):
    return broken.select("n")


@transform(layer="marts", materialized="table", tags=["money"])
def expensive(priced):
    return priced.filter(F.col("price") > 10)
"""


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tiny_project(
        tmp_path, "tiny", CONFIG, TRANSFORMS, "id,name,price\n1,apple,3.5\n2,melon,12.0\n3,truffle,99.0\n"
    )
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.delenv("TINY_BREAK_PRICED", raising=False)
    return tmp_path


def cli(project: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--project-dir", str(project)], catch_exceptions=False)


def results(project: Path) -> dict[str, dict]:
    return {r["name"]: r for r in read_results(project / "target")}


def test_failure_skips_downstream_and_exits_1(tiny):
    assert cli(tiny, "load", "--from", str(tiny / "landing")).exit_code == 0
    res = cli(tiny, "run")
    assert res.exit_code == 1, res.output
    r = results(tiny)
    assert {n: v["status"] for n, v in r.items()} == {
        "stg_items": "success",
        "priced": "success",
        "broken": "error",
        "after_broken": "skipped",
        "expensive": "success",
    }
    assert "upstream 'broken'" in r["after_broken"]["message"]
    assert "Traceback" not in res.output
    assert r["expensive"]["adapter_response"]["rows_affected"] == 2
    # order: every node after its inputs
    order = list(r)
    assert order.index("stg_items") < order.index("priced") < order.index("expensive")


def test_selectors_and_usage_errors_exit_2(tiny):
    cli(tiny, "load", "--from", str(tiny / "landing"))
    ok = cli(tiny, "run", "--select", "+expensive")
    assert ok.exit_code == 0, ok.output
    assert set(results(tiny)) == {"stg_items", "priced", "expensive"}
    ok = cli(tiny, "run", "-s", "tag:money", "--exclude", "expensive")
    assert ok.exit_code == 0 and set(results(tiny)) == {"priced"}
    ok = cli(tiny, "run", "--layer", "marts", "--exclude", "broken+")
    assert ok.exit_code == 0 and set(results(tiny)) == {"stg_items", "priced", "expensive"}

    nothing = cli(tiny, "run", "-s", "expensiv")
    assert nothing.exit_code == 2
    assert "selector 'expensiv' matches nothing; did you mean 'expensive'?" in nothing.output
    assert cli(tiny, "run", "--bogus").exit_code == 2
    bad_profile = cli(tiny, "run", "--profile", "cloud")
    assert bad_profile.exit_code == 2 and "unknown profile 'cloud'" in bad_profile.output
    assert cli(tiny, "show", "nope").exit_code == 2


def test_failed_rebuild_keeps_the_previous_table(tiny, monkeypatch):
    cli(tiny, "load", "--from", str(tiny / "landing"))
    assert cli(tiny, "run", "-s", "+priced").exit_code == 0
    monkeypatch.setenv("TINY_BREAK_PRICED", "1")
    # a code change (the fingerprint of priced changes, so it is rebuilt, not skipped as up to date)
    module = next(tiny.glob("tiny_*/items.py"))
    module.write_text(module.read_text() + "\n# edited\n")
    res = cli(tiny, "run", "-s", "priced+")
    assert res.exit_code == 1
    assert results(tiny)["priced"]["status"] == "error"
    assert results(tiny)["expensive"]["status"] == "skipped"
    monkeypatch.delenv("TINY_BREAK_PRICED")
    shown = cli(tiny, "show", "priced")
    assert shown.exit_code == 0
    assert "99.0" in shown.output and "12.0" in shown.output  # the old table, intact


def test_ls_compile_and_debug(tiny):
    out = cli(tiny, "ls")
    assert out.exit_code == 0
    for name in ("raw_items", "stg_items", "priced", "broken", "after_broken", "expensive"):
        assert name in out.output
    cli(tiny, "load", "--from", str(tiny / "landing"))
    # before a build, unbuilt upstream transforms are inlined down to the source
    comp = cli(tiny, "compile", "expensive")
    assert comp.exit_code == 0 and "TINY.RAW.RAW_ITEMS" in comp.output and "TINY.DEV.PRICED" not in comp.output
    assert (tiny / "target" / "compiled" / "marts" / "expensive.sql").is_file()
    assert cli(tiny, "run", "-s", "+priced").exit_code == 0
    comp = cli(tiny, "compile", "expensive")
    assert comp.exit_code == 0 and "TINY.DEV.PRICED" in comp.output
    # --debug prints the traceback instead of a one-line error, and keeps the exit code
    res = CliRunner().invoke(main, ["run", "-s", "nope", "--debug", "--project-dir", str(tiny)])
    assert res.exit_code == 2, res.output
    assert "Traceback (most recent call last)" in res.output and "SelectorError: selector 'nope'" in res.output


def test_cycle_and_unknown_input_fail_at_load_time(tiny):
    pkg = next(p for p in tiny.iterdir() if p.name.startswith("tiny_"))
    (pkg / "cycle.py").write_text(
        textwrap.dedent("""
        from netflix_elt import transform

        @transform(layer="core")
        def loop_a(loop_b):
            return loop_b

        @transform(layer="core")
        def loop_b(loop_a):
            return loop_a
    """)
    )
    res = subprocess.run(
        [sys.executable, "-m", "netflix_elt.cli", "ls", "--project-dir", str(tiny)], capture_output=True, text=True
    )
    assert res.returncode == 2
    assert "cycle in the transform graph: loop_a -> loop_b -> loop_a" in res.stderr
    assert "Traceback" not in res.stderr
    (pkg / "cycle.py").write_text(
        textwrap.dedent("""
        from netflix_elt import transform

        @transform(layer="core")
        def uses_typo(stg_itemz):
            return stg_itemz
    """)
    )
    res = subprocess.run(
        [sys.executable, "-m", "netflix_elt.cli", "ls", "--project-dir", str(tiny)], capture_output=True, text=True
    )
    assert res.returncode == 2
    assert "unknown input 'stg_itemz'; did you mean 'stg_items'?" in res.stderr


def test_unchanged_nodes_are_skipped_until_code_or_inputs_change(tiny):
    assert cli(tiny, "load", "--from", str(tiny / "landing")).exit_code == 0
    assert cli(tiny, "run", "-s", "+expensive").exit_code == 0
    again = cli(tiny, "run", "-s", "+expensive")
    assert again.exit_code == 0
    assert {r["message"] for r in results(tiny).values()} == {"up to date (code and inputs unchanged)"}
    # a new load of the source makes everything downstream of it stale
    (tiny / "landing2").mkdir()
    (tiny / "landing2" / "items.csv").write_text("id,name,price\n4,caviar,500.0\n")
    assert cli(tiny, "load", "--from", str(tiny / "landing2")).exit_code == 0
    third = cli(tiny, "run", "-s", "+expensive")
    assert third.exit_code == 0
    assert all("up to date" not in r["message"] for r in results(tiny).values())
    assert results(tiny)["expensive"]["adapter_response"]["rows_affected"] == 3
    # --full-refresh rebuilds even what is up to date
    assert cli(tiny, "run", "-s", "+expensive", "--full-refresh").exit_code == 0
    assert all("up to date" not in r["message"] for r in results(tiny).values())
