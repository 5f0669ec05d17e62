"""Per-node fingerprints: editing one transform rebuilds it and what is downstream of it, nothing else
(tiny project, embedded engine). Before, one hash over the whole transforms package rebuilt every node."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from netflix_elt.artifacts import read_results
from netflix_elt.cli import main
from tests.conftest import write_items_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_items_project(tmp_path, "fp", "FP", "id,name,price\n1,apple,3.5\n2,melon,12.0\n")
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    return tmp_path


def build(project: Path) -> dict[str, str]:
    args = ["build", "--from", str(project / "landing"), "--project-dir", str(project)]
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return {r["name"]: r["message"] for r in read_results(project / "target") if r["resource_type"] == "model"}


def rebuilt(messages: dict[str, str]) -> set[str]:
    return {n for n, m in messages.items() if not m.startswith("up to date")}


def test_editing_one_transform_rebuilds_it_and_its_downstream_only(project: Path) -> None:
    assert rebuilt(build(project)) == {"stg_items", "dim_items", "mart_a", "mart_b", "mart_c"}
    assert rebuilt(build(project)) == set()  # nothing changed
    package = next(p for p in project.iterdir() if p.name.startswith("fp_"))
    mart_a = package / "mart_a.py"
    mart_a.write_text(mart_a.read_text().replace("):\n", '):\n    """Prices by item, now documented."""\n', 1))
    assert rebuilt(build(project)) == {"mart_a", "mart_c"}
    # a changed decorator setting is a change of the node too
    mart_b = package / "mart_b.py"
    mart_b.write_text(mart_b.read_text().replace('materialized="table"', 'materialized="view"'))
    assert rebuilt(build(project)) == {"mart_b"}
    # a new load of the source rebuilds everything that reads it
    (project / "landing" / "items.csv").write_text("id,name,price\n1,apple,3.5\n2,melon,13.0\n")
    assert rebuilt(build(project)) == {"stg_items", "dim_items", "mart_a", "mart_b", "mart_c"}
