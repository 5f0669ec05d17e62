"""`netflix-elt plan` and `state:modified` on a tiny project (embedded engine): plan's verdicts,
checked against what the next `build` really rebuilds, and the state selectors' picks.

    raw_items -> stg_items (view) -> dim_items (table) -> mart_a -> mart_c
                                                       -> mart_b
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import sqlglot
from click.testing import CliRunner

from netflix_elt.artifacts import read_results
from netflix_elt.change.plan import pretty_sql
from netflix_elt.cli import main
from tests.conftest import ITEMS_MART, write_items_project

ALL = {"stg_items", "dim_items", "mart_a", "mart_b", "mart_c"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_items_project(tmp_path, "pl", "PL", "id,name,price\n1,apple,3.5\n2,melon,12.0\n")
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    return tmp_path


def package(root: Path) -> Path:
    return next(p for p in root.iterdir() if p.name.startswith("pl_"))


def cli(project: Path, *args: str, code: int = 0) -> str:
    res = CliRunner().invoke(main, [*args, "--project-dir", str(project)], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res.output


def build(project: Path, *args: str) -> set[str]:
    """Build; the models it really rebuilt (run_results.json's messages)."""
    cli(project, "build", "--from", str(project / "landing"), *args)
    return {
        r["name"]
        for r in read_results(project / "target")
        if r["resource_type"] == "model" and not r["message"].startswith("up to date")
    }


def plan_json(project: Path, *args: str) -> dict:
    return json.loads(cli(project, "plan", "--output", "json", *args))


def verdicts(doc: dict) -> dict[str, str]:
    return {n["name"]: n["reason"] for n in doc["nodes"] if n["kind"] == "transform"}


def edit(root: Path, module: str, old: str, new: str) -> None:
    """Change a transform's file; the next command of this process imports it anew (a CLI process would)."""
    path = package(root) / f"{module}.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    forget_modules(root)


def forget_modules(root: Path) -> None:
    name = package(root).name
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]
    importlib.invalidate_caches()


def test_plan_names_what_build_then_rebuilds(project: Path) -> None:
    doc = plan_json(project)  # nothing built yet: every node is new
    assert verdicts(doc) == dict.fromkeys(ALL, "new")
    assert doc["counts"] == {"build": 5, "breaking": 0, "up_to_date": 0}
    assert build(project) == ALL

    doc = plan_json(project, "--fail-on-changes")  # exit 0: nothing to build
    assert verdicts(doc) == dict.fromkeys(ALL, "up to date")
    assert doc["summary"] == "0 to build (0 breaking), 5 up to date"

    # mart_b drops a column (breaking); mart_a changes its logic only (non-breaking) and forces mart_c
    edit(project, "mart_b", 'select("id", "price")', 'select("id")')
    edit(
        project,
        "mart_a",
        'return dim_items.select("id", "price")',
        'return dim_items.filter("price > 5").select("id", "price")',
    )
    out = cli(project, "plan", "--output", "json", "--fail-on-changes", code=1)
    doc = json.loads(out)
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert verdicts(doc) == {
        "stg_items": "up to date",
        "dim_items": "up to date",
        "mart_a": "code changed",
        "mart_b": "code changed",
        "mart_c": "upstream changed",
    }
    assert nodes["mart_b"]["category"] == "breaking" and nodes["mart_b"]["removed"] == ["PRICE"]
    assert nodes["mart_b"]["added"] == [] and nodes["mart_b"]["retyped"] == []
    assert nodes["mart_a"]["category"] == "non-breaking" and nodes["mart_a"]["removed"] == []
    assert nodes["mart_a"]["forces"] == ["mart_c"] and nodes["mart_c"]["upstream"] == ["mart_a"]
    assert (
        nodes["mart_c"]["detail"] == "mart_a changed"
        and nodes["mart_a"]["detail"] == "logic only (same columns and types)"
    )
    # the diff is of the SELECT built against the SELECT now: the filter is an added line
    diff = nodes["mart_a"]["diff"].splitlines()
    assert diff[:2] == ["--- mart_a (built)", "+++ mart_a (now)"]
    assert "+    price > 5" in diff and "+  WHERE" in diff and "-FROM PL.DEV.DIM_ITEMS" in diff, diff
    assert any(line.startswith("-") and "PRICE" in line.upper() for line in nodes["mart_b"]["diff"].splitlines())
    assert doc["summary"] == "3 to build (1 breaking), 2 up to date"

    text = cli(project, "plan", "-s", "mart_b")
    assert "mart_b" in text and "removed PRICE" in text and "breaking" in text
    assert "plan for target dev: 1 to build (1 breaking), 0 up to date" in text
    assert "mart_a" not in text  # -s narrows the plan as it narrows build

    planned = {n["name"] for n in doc["nodes"] if n["action"] == "build"}
    assert build(project) == planned == {"mart_a", "mart_b", "mart_c"}
    assert verdicts(plan_json(project)) == dict.fromkeys(ALL, "up to date")


def test_plan_sees_new_loads_and_writes_nothing(project: Path) -> None:
    build(project)
    (project / "landing" / "items.csv").write_text("id,name,price\n1,apple,3.5\n2,melon,13.0\n")
    cli(project, "load", "--from", str(project / "landing"))

    from netflix_elt.api import Workspace
    from netflix_elt.change.plan import plan

    with Workspace.from_options(project) as ws:
        before = _audit(ws)
        with ws.session.query_history() as history:
            result = plan(ws)
        statements = [q.sql_text.lstrip().split(None, 1)[0].upper() for q in history.queries]
        assert statements and set(statements) <= {"SELECT", "DESCRIBE", "SHOW"}, statements
        assert _audit(ws) == before
        details = dict(next(rows for name, rows in before if name == "BUILD_DETAILS")[i][1:3] for i in range(5))
        for name, text in details.items():  # the SELECT kept of each build (what diffs read) is Snowflake SQL
            sql = json.loads(text)["sql"]
            assert sqlglot.parse_one(pretty_sql(sql), read="snowflake").find(sqlglot.exp.Select), name
    nodes = {n.name: n for n in result.nodes}
    assert nodes["stg_items"].reason == "new source loads" and nodes["stg_items"].upstream == ["raw_items"]
    assert nodes["stg_items"].detail == "raw_items: load 2 (2 loads) (read: 1 (1 loads))"
    assert nodes["stg_items"].forces == ["dim_items", "mart_a", "mart_b", "mart_c"]
    assert {n: p.reason for n, p in nodes.items() if n != "stg_items"} == dict.fromkeys(
        ALL - {"stg_items"}, "upstream changed"
    )
    assert build(project) == {n for n, p in nodes.items() if p.action == "build"} == ALL


def _audit(ws) -> list[tuple]:
    """Every AUDIT table with its rows (what plan must leave as it was)."""
    s = ws.settings
    names = ws.session.sql(
        f"SELECT TABLE_NAME FROM {s.database}.INFORMATION_SCHEMA.TABLES "
        f"WHERE TABLE_SCHEMA = '{s.audit_schema}' ORDER BY 1"
    ).collect()
    return [
        (r[0], sorted(map(tuple, ws.session.sql(f"SELECT * FROM {s.database}.{s.audit_schema}.{r[0]}").collect())))
        for r in names
    ]


def test_plan_on_a_target_never_built_creates_nothing(project: Path) -> None:
    cli(project, "init")
    from netflix_elt.api import Workspace
    from netflix_elt.change.plan import plan

    with Workspace.from_options(project) as ws:
        result = plan(ws)
        assert {n.name: n.reason for n in result.nodes if n.kind == "transform"} == dict.fromkeys(ALL, "new")
        assert _audit(ws) == []  # no BUILD_STATE / BUILD_DETAILS created by reading them


def test_state_modified_selects_the_change_and_its_downstream(project: Path) -> None:
    assert build(project) == ALL
    shutil.copytree(project / "target", project / "prod_artifacts")
    assert cli(project, "ls", "-o", "name", "-s", "state:modified").split() == []
    edit(project, "mart_a", 'select("id", "price")', 'select("price", "id")')

    assert cli(project, "ls", "-o", "name", "-s", "state:modified").split() == ["mart_a"]
    assert cli(project, "ls", "-o", "name", "-s", "state:modified+").split() == ["mart_a", "mart_c"]
    assert cli(project, "ls", "-o", "name", "-s", "state:new").split() == []
    state = ["--state", str(project / "prod_artifacts")]
    assert cli(project, "ls", "-o", "name", "-s", "state:modified+", *state).split() == ["mart_a", "mart_c"]
    # a new transform is new and modified, against either state
    (package(project) / "mart_d.py").write_text(textwrap.dedent(ITEMS_MART.format(name="mart_d", input="mart_b")))
    forget_modules(project)
    assert cli(project, "ls", "-o", "name", "-s", "state:new").split() == ["mart_d"]
    assert cli(project, "ls", "-o", "name", "-s", "state:new", *state).split() == ["mart_d"]
    assert set(cli(project, "ls", "-o", "name", "-s", "state:modified").split()) == {"mart_a", "mart_d"}

    assert build(project, "-s", "state:modified+") == {"mart_a", "mart_c", "mart_d"}
    assert cli(project, "ls", "-o", "name", "-s", "state:modified").split() == []  # against the new build
    # against the old artifacts, the change is still a change
    assert set(cli(project, "ls", "-o", "name", "-s", "state:modified", *state).split()) == {"mart_a", "mart_d"}


def test_bad_state_selectors_and_folders_exit_2_naming_them(project: Path, tmp_path: Path) -> None:
    out = cli(project, "ls", "-s", "state:modifed", code=2)
    assert "unknown state 'modifed'" in out and "did you mean 'modified'" in out
    out = cli(project, "ls", "-s", "stat:modified", code=2)
    assert "unknown method 'stat'" in out and "did you mean 'state'" in out
    missing = tmp_path / "nowhere"
    out = cli(project, "ls", "-s", "state:modified", "--state", str(missing), code=2)
    assert str(missing) in out and "no such folder" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    out = cli(project, "ls", "-s", "state:modified", "--state", str(empty), code=2)
    assert str(empty / "manifest.json") in out and "not found" in out
    (empty / "manifest.json").write_text("{not json")
    out = cli(project, "ls", "-s", "state:modified", "--state", str(empty), code=2)
    assert str(empty / "manifest.json") in out and "is not a manifest" in out
    (empty / "manifest.json").write_text(json.dumps({"results": []}))  # a run_results.json, say
    out = cli(project, "ls", "-s", "state:modified", "--state", str(empty), code=2)
    assert "is not a manifest" in out and "'nodes'" in out
