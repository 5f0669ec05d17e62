"""`netflix-elt retry` reruns only what failed or was skipped in the last run (dbt retry)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from netflix_elt.artifacts import read_results
from netflix_elt.cli import main
from tests.conftest import write_tiny_project

CONFIG = """
[project]
name = "retry"
transforms = "{package}"

[warehouse]
database = "RETRY"

[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
columns = {{ id = "INTEGER", price = "FLOAT" }}
"""

TRANSFORMS = """
import os

from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(layer="staging", materialized="view")
def stg_items(raw_items):
    return raw_items.select("id", "price")


@transform(layer="core", materialized="table")
def flaky(stg_items):
    if os.environ.get("RETRY_BREAK"):
        return stg_items.select(F.sql_expr("CAST('x' AS INTEGER)").alias("id"))
    return stg_items.select("id")


@transform(layer="marts", materialized="table")
def after_flaky(flaky):
    return flaky.select("id")


@transform(layer="marts", materialized="table")
def steady(stg_items):
    return stg_items.select("id", "price")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tiny_project(tmp_path, "retry", CONFIG, TRANSFORMS, "id,price\n1,3.5\n2,12.0\n")
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    return tmp_path


def cli(project: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--project-dir", str(project)])


def statuses(project: Path) -> dict[str, str]:
    return {r["name"]: r["status"] for r in read_results(project / "target")}  # a test row's name: its suite


def test_retry_without_run_results_exits_2(project: Path) -> None:
    res = cli(project, "retry")
    assert res.exit_code == 2 and "there is no previous run to retry" in res.output, res.output


def test_retry_reruns_only_failed_and_skipped(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(project, "load", "--from", str(project / "landing")).exit_code == 0
    monkeypatch.setenv("RETRY_BREAK", "1")
    assert cli(project, "run").exit_code == 1
    before = statuses(project)
    assert before == {"stg_items": "success", "flaky": "error", "after_flaky": "skipped", "steady": "success"}

    res = cli(project, "retry")  # still broken: the same two fail again, exit 1
    assert res.exit_code == 1 and statuses(project) == {"flaky": "error", "after_flaky": "skipped"}

    monkeypatch.delenv("RETRY_BREAK")
    res = cli(project, "retry")
    assert res.exit_code == 0, res.output
    assert "retrying 2 of the last `run`: flaky, after_flaky" in res.output
    assert statuses(project) == {"flaky": "success", "after_flaky": "success"}

    res = cli(project, "retry")
    assert res.exit_code == 0 and "nothing to retry" in res.output
