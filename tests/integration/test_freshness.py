"""Source freshness on the embedded engine (tiny project, real CLI): a source aged by updating its
RAW timestamps warns, then errors (exit 1); a source never loaded or dropped is a runtime error;
target/sources.json validates against dbt's vendored sources v3 schema; `build` warns about a
stale source and still succeeds; a bad period is a config error naming the setting (exit 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from netflix_elt.api import Workspace
from netflix_elt.cli import main
from netflix_elt.freshness import source_freshness
from tests.conftest import tiny_config, write_tiny_project

SCHEMAS = Path(__file__).resolve().parents[1] / "dbt_schemas"
SOURCES = """
[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
mode = "append"
columns = {{ id = "INTEGER", name = "VARCHAR" }}
freshness = {{ warn_after = "2 days", error_after = "7 days" }}

[sources.raw_extra]
table = "RAW_EXTRA"
file = "extra.csv"
mode = "full"
optional = true
columns = {{ id = "INTEGER" }}
freshness = {{ error_after = "12 hours", field = "_LOADED_AT" }}
"""
CONFIG = tiny_config(SOURCES, name="fresh", database="FRESH")
TRANSFORMS = """
from netflix_elt import transform


@transform(layer="core", materialized="table")
def dim_items(raw_items):
    return raw_items.select("id", "name")
"""
ITEMS = "id,name\n1,apple\n2,pear\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fresh")
    write_tiny_project(root, "fresh", CONFIG, TRANSFORMS, ITEMS)
    return root


@pytest.fixture(autouse=True)
def _home(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(project / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(project / "target"))


def cli(project: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--project-dir", str(project)])


def age_raw_items(project: Path, days: float) -> datetime:
    """Set every RAW_ITEMS row's _LOADED_AT to `days` ago (UTC) and return that time."""
    at = (datetime.now(UTC) - timedelta(days=days)).replace(tzinfo=None, microsecond=0)
    with Workspace.from_options(project) as ws:
        ws.session.sql(
            f"UPDATE FRESH.RAW.RAW_ITEMS SET _LOADED_AT = '{at.isoformat(sep=' ')}'::TIMESTAMP_NTZ"
        ).collect()
    return at


def sources_json(project: Path) -> dict:
    data = json.loads((project / "target" / "sources.json").read_text())
    schema = json.loads((SCHEMAS / "sources-v3.json").read_text())
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(data)
    ]
    assert errors == []
    return {r["unique_id"].split(".")[-1]: r for r in data["results"]}


def test_fresh_after_a_load_and_a_never_loaded_source_is_a_runtime_error(project: Path) -> None:
    res = cli(project, "build", "--from", str(project / "landing"))
    assert res.exit_code == 0, res.output
    res = cli(project, "source", "freshness")
    assert res.exit_code == 1, res.output  # raw_extra has no rows
    rows = sources_json(project)
    assert rows["raw_items"]["status"] == "pass" and 0 <= rows["raw_items"]["max_loaded_at_time_ago_in_s"] < 600
    assert rows["raw_extra"]["status"] == "runtime error"
    assert "FRESH.RAW.RAW_EXTRA has no rows" in rows["raw_extra"]["error"]
    res = cli(project, "source", "freshness", "-s", "source:raw_items")
    assert res.exit_code == 0, res.output
    assert list(sources_json(project)) == ["raw_items"]


def test_a_stale_source_warns_then_errors(project: Path) -> None:
    at = age_raw_items(project, 3)
    res = cli(project, "source", "freshness", "-s", "source:raw_items")
    assert res.exit_code == 0, res.output  # warn does not fail
    row = sources_json(project)["raw_items"]
    assert row["status"] == "warn" and row["max_loaded_at"].startswith(at.isoformat())
    assert row["criteria"]["warn_after"] == {"count": 2, "period": "day"}
    assert row["criteria"]["error_after"] == {"count": 7, "period": "day"}
    assert abs(row["max_loaded_at_time_ago_in_s"] - 3 * 86400) < 600
    assert "WARN" in res.output and "3 days" in res.output

    at = age_raw_items(project, 10)
    res = cli(project, "source", "freshness", "-s", "raw_items")
    assert res.exit_code == 1, res.output
    row = sources_json(project)["raw_items"]
    assert row["status"] == "error" and row["max_loaded_at"].startswith(at.isoformat())


def test_now_can_be_given_instead_of_waiting(project: Path) -> None:
    with Workspace.from_options(project) as ws:
        latest = ws.session.sql("SELECT MAX(_LOADED_AT) FROM FRESH.RAW.RAW_ITEMS").collect()[0][0]
        checks = {
            hours: source_freshness(ws, ["raw_items"], now=latest + timedelta(hours=hours), write=False).results[0]
            for hours in (47, 49, 7 * 24 + 1)
        }
    assert {h: r.status for h, r in checks.items()} == {47: "pass", 49: "warn", 169: "error"}
    assert checks[49].age_seconds == 49 * 3600


def test_build_warns_about_a_stale_source_and_still_succeeds(project: Path) -> None:
    age_raw_items(project, 3)
    res = cli(project, "build", "--from", str(project / "landing"))  # the same file: nothing new to load
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "source raw_items is stale (warn): last loaded 3 days ago, over 2 days" in out
    assert "source raw_extra: freshness could not be checked" in out
    assert out.count("is stale") == 1


def test_a_dropped_table_is_a_runtime_error(project: Path) -> None:
    with Workspace.from_options(project) as ws:
        ws.session.sql("DROP TABLE FRESH.RAW.RAW_EXTRA").collect()
    res = cli(project, "source", "freshness", "-s", "source:raw_extra")
    assert res.exit_code == 1, res.output
    assert "FRESH.RAW.RAW_EXTRA: does not exist" in sources_json(project)["raw_extra"]["error"]


@pytest.mark.parametrize(
    ("freshness", "message"),
    [
        ('{{ warn_after = "2 weeks" }}', "sources.raw_items.freshness.warn_after: '2 weeks' is not a period"),
        ("{{ error_after = 7 }}", "sources.raw_items.freshness.error_after: Input should be a valid string"),
        ("{{ }}", "sources.raw_items.freshness: give warn_after, error_after or both"),
        ('{{ warn_after = "7 days", error_after = "1 day" }}', "warn_after (7 days) must be shorter than error_after"),
        (
            '{{ warn_after = "1 day", field = "a;b" }}',
            "sources.raw_items.freshness.field: 'a;b' is not a valid identifier",
        ),
        ('{{ warn_after = "1 day", after = "2 days" }}', "sources.raw_items.freshness.after: Extra inputs"),
    ],
)
def test_a_bad_freshness_setting_is_a_config_error(project: Path, tmp_path: Path, freshness: str, message: str) -> None:
    written = project / "target" / "sources.json"
    before = written.read_bytes() if written.exists() else None
    sources = SOURCES.replace('{{ warn_after = "2 days", error_after = "7 days" }}', freshness)
    root = write_tiny_project(tmp_path, "badfresh", tiny_config(sources, database="BADFRESH"), TRANSFORMS, ITEMS)
    res = CliRunner().invoke(main, ["source", "freshness", "--project-dir", str(root)])
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())
    assert (written.read_bytes() if written.exists() else None) == before  # nothing written
