"""gx/ is the GX project of expectations/*.yml: GX opens it and lists every suite, and a test fails
when the two drift (expectations/ is the source of truth, `netflix-elt gx generate` rewrites gx/)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from netflix_elt.quality.gx_project import drift, write_gx_project
from netflix_elt.quality.suites import REF, read_suite, suite_files
from tests.conftest import PROJECT_DIR

SEVERITY = {"error": "critical", "warn": "warning"}


def _suites(project: Path) -> list:
    """The suites as `gx generate` reads them (refs taken as known: no project registry here)."""
    paths = suite_files(project)
    return [read_suite(p, [r.lower() for r in REF.findall(p.read_text())], gx_check=False) for p in paths]


def _yaml_suites(project: Path) -> dict[str, list[dict]]:
    """The suite files read with plain PyYAML: table -> its expectations as written."""
    out = {}
    for path in sorted((project / "expectations").rglob("*.yml")):
        raw = yaml.safe_load(path.read_text())
        out[(raw.get("table") or path.stem).lower()] = raw["expectations"]
    return out


def _copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for part in ("config", "expectations", "gx"):
        shutil.copytree(PROJECT_DIR / part, root / part)
    return root


def test_the_committed_gx_folder_is_what_expectations_generates() -> None:
    assert drift(_suites(PROJECT_DIR), PROJECT_DIR) == [], "run `netflix-elt gx generate`"


def test_gx_opens_the_project_and_lists_every_suite_as_written(tmp_path: Path) -> None:
    import great_expectations as gx

    root = _copy_project(tmp_path)  # GX writes store ids and folders where it opens a project
    ctx = gx.get_context(project_root_dir=str(root))
    assert type(ctx).__name__ == "FileDataContext"
    suites = {s.name: s for s in ctx.suites.all()}
    written = _yaml_suites(PROJECT_DIR)
    assert sorted(suites) == sorted(written)
    assert len(suites) == 19
    assert sum(len(v) for v in written.values()) == sum(len(s.expectations) for s in suites.values())
    raw = {e["type"] for v in written.values() for e in v if e["type"] != "no_nulls_in_columns"}
    for name, specs in written.items():
        got = suites[name].expectations
        assert [e.severity.value for e in got] == [SEVERITY[s.get("severity", "error")] for s in specs], name
        assert [e.meta["netflix_elt"]["severity"] for e in got] == [s.get("severity", "error") for s in specs]
        types = [e.expectation_type for e in got]
        assert types == [
            "unexpected_rows_expectation" if s["type"] == "no_nulls_in_columns" else s["type"] for s in specs
        ], name
    assert {"expect_column_values_to_be_in_set", "expect_compound_columns_to_be_unique"} <= raw
    # GX's own save writes the files byte for byte as generated
    for suite in suites.values():
        suite.save()
    for path in (PROJECT_DIR / "gx" / "expectations").glob("*.json"):
        assert (root / "gx" / "expectations" / path.name).read_text() == path.read_text(), path.name


def test_a_changed_yaml_is_drift_until_regenerated(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    suite = root / "expectations" / "core" / "dim_users.yml"
    extra = "  - type: expect_column_values_to_be_between\n    kwargs: {column: user_id, min_value: 1}\n"
    suite.write_text(suite.read_text() + extra)
    (root / "expectations" / "core" / "dim_ghost.yml").write_text("expectations: []\n")
    (root / "gx" / "expectations" / "stale.json").write_text("{}")
    problems = drift(_suites(root), root)
    assert "gx/expectations/dim_users.json differs from what expectations/ generates" in problems
    assert "gx/expectations/dim_ghost.json is missing" in problems
    assert "gx/expectations/stale.json has no suite in expectations/" in problems
    written = write_gx_project(_suites(root), root)
    assert {p.name for p in written} == {"dim_users.json", "dim_ghost.json", "stale.json"}
    assert drift(_suites(root), root) == []
    added = json.loads((root / "gx" / "expectations" / "dim_users.json").read_text())["expectations"][-1]
    assert added["type"] == "expect_column_values_to_be_between"
    assert added["kwargs"] == {"column": "user_id", "min_value": 1.0} and added["severity"] == "critical"


def test_cli_gx_check_exits_1_on_drift_and_generate_fixes_it(tmp_path: Path, isolated_home: Path) -> None:
    from netflix_elt.cli import main

    root = _copy_project(tmp_path)
    shutil.copytree(PROJECT_DIR / "transforms", root / "transforms")
    shutil.copytree(PROJECT_DIR / "seeds", root / "seeds")
    runner = CliRunner()
    ok = runner.invoke(main, ["gx", "check", "--project-dir", str(root)])
    assert ok.exit_code == 0, ok.output
    (root / "gx" / "expectations" / "dim_users.json").write_text("{}")
    bad = runner.invoke(main, ["gx", "check", "--project-dir", str(root)])
    assert bad.exit_code == 1 and "gx/expectations/dim_users.json differs" in bad.output
    fixed = runner.invoke(main, ["gx", "generate", "--project-dir", str(root)])
    assert fixed.exit_code == 0 and "wrote gx/expectations/dim_users.json" in fixed.output
    assert runner.invoke(main, ["gx", "check", "--project-dir", str(root)]).exit_code == 0


def test_a_bad_suite_file_stops_generate_with_exit_2_naming_it(tmp_path: Path, isolated_home: Path) -> None:
    from netflix_elt.cli import main

    root = _copy_project(tmp_path)
    shutil.copytree(PROJECT_DIR / "transforms", root / "transforms")
    shutil.copytree(PROJECT_DIR / "seeds", root / "seeds")
    (root / "expectations" / "core" / "dim_users.yml").write_text("expectations:\n  - kwargs: {column: x}\n")
    before = (root / "gx" / "expectations" / "dim_users.json").read_text()
    res = CliRunner().invoke(main, ["gx", "generate", "--project-dir", str(root)])
    assert res.exit_code == 2, res.output
    assert "dim_users.yml" in res.output
    assert (root / "gx" / "expectations" / "dim_users.json").read_text() == before


@pytest.mark.parametrize("macro", ["raw_links", "mart_movie_stats"])
def test_no_nulls_in_columns_keeps_its_arguments_in_meta(macro: str) -> None:
    data = json.loads((PROJECT_DIR / "gx" / "expectations" / f"{macro}.json").read_text())
    [exp] = [e for e in data["expectations"] if e["meta"]["netflix_elt"].get("macro") == "no_nulls_in_columns"]
    spec = next(e for e in _yaml_suites(PROJECT_DIR)[macro] if e["type"] == "no_nulls_in_columns")
    assert exp["meta"]["netflix_elt"]["exclude"] == spec["kwargs"]["exclude"]
    assert exp["kwargs"] == {"unexpected_rows_query": "SELECT * FROM {batch} WHERE {no_nulls_in_columns}"}
