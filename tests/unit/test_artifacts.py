"""dbt artifacts without a warehouse: the project's manifest, result rows, sources.json, paths, retry.

dbt-artifacts-parser (strict pydantic models of dbt's schemas) and the vendored JSON schemas are
the judges; expectations are counted with plain YAML. tests/integration/test_dbt_artifacts.py
checks the same files after a real build and validate.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest
import yaml

from netflix_elt.artifacts import (
    FreshnessResult,
    NodeResult,
    build_manifest,
    build_run_results,
    build_sources,
    expectation_nodes,
    target_relative,
)
from netflix_elt.config import load_settings
from netflix_elt.registry import load_project
from tests.conftest import PROJECT_DIR

SCHEMAS = Path(__file__).resolve().parents[1] / "dbt_schemas"


@pytest.fixture(scope="module")
def project_settings():
    settings = load_settings(PROJECT_DIR)
    return settings, load_project(settings)


def schema_errors(data: dict[str, Any], name: str) -> list[str]:
    schema = json.loads((SCHEMAS / name).read_text())
    return [
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in jsonschema.Draft202012Validator(schema).iter_errors(data)
    ]


def test_the_project_manifest_parses_and_holds_one_test_per_expectation(project_settings) -> None:
    from dbt_artifacts_parser.parser import parse_manifest

    settings, project = project_settings
    manifest = build_manifest(project, settings, "inv-1", engine="embedded")
    parsed = parse_manifest(manifest)
    n_yaml = sum(
        len(yaml.safe_load(p.read_text())["expectations"]) for p in (PROJECT_DIR / "expectations").rglob("*.yml")
    )
    tests = [n for n in parsed.nodes.values() if n.resource_type == "test"]
    assert len(tests) == n_yaml > 0
    assert len({n.unique_id for n in tests}) == n_yaml  # distinct ids
    names = {n.name for n in project.nodes.values() if n.kind != "source"}
    assert {n.name for n in parsed.nodes.values() if n.resource_type != "test"} == names
    model = parsed.nodes["model.movielens.fct_ratings"]
    assert model.depends_on.nodes == ["model.movielens.src_ratings"] and model.config.materialized == "incremental"
    assert model.original_file_path == "transforms/core/fct_ratings.py" and model.path == "core/fct_ratings.py"
    assert model.fqn == ["movielens", "core", "fct_ratings"] and model.alias == "FCT_RATINGS"
    assert len(model.checksum.checksum) == 64
    # the same expectations give the same ids (what run_results rows point at) on every run
    again = build_manifest(project, settings, "inv-2", engine="embedded")
    assert sorted(k for k in again["nodes"] if k.startswith("test.")) == sorted(n.unique_id for n in tests)


def test_the_old_shapes_are_rejected_by_the_parser(project_settings) -> None:
    """The checks can fail: what netflix-elt used to write is refused by dbt's models."""
    from dbt_artifacts_parser.parser import parse_manifest

    settings, project = project_settings
    manifest = build_manifest(project, settings, "inv", engine="embedded")
    extra_key = json.loads(json.dumps(manifest))
    extra_key["nodes"]["model.movielens.fct_ratings"]["layer"] = "core"  # a key dbt's node has not
    with pytest.raises(pydantic.ValidationError):
        parse_manifest(extra_key)
    own_metadata = json.loads(json.dumps(manifest))
    own_metadata["metadata"]["netflix_elt_schema_version"] = "v1"
    with pytest.raises(pydantic.ValidationError):
        parse_manifest(own_metadata)
    missing = json.loads(json.dumps(manifest))
    del missing["sources"]["source.movielens.raw.raw_ratings"]["identifier"]
    with pytest.raises(pydantic.ValidationError):
        parse_manifest(missing)


def test_a_suite_file_that_does_not_read_is_left_out_naming_the_file(project_settings, tmp_path: Path) -> None:
    settings, project = project_settings
    core = tmp_path / "expectations" / "core"
    core.mkdir(parents=True)
    (core / "dim_movies.yml").write_text(
        "expectations:\n  - type: expect_column_values_to_be_unique\n    kwargs: {column: movie_id}\n"
    )
    (core / "broken.yml").write_text("expectations: [")
    (core / "dim_nothing.yml").write_text("expectations:\n  - type: expect_table_row_count_to_be_between\n")
    (core / "fct_ratings.yml").write_text(
        "expectations:\n  - name: reads\n    type: unexpected_rows_expectation\n"
        "    kwargs: {unexpected_rows_query: 'SELECT * FROM {batch} JOIN {ref:dim_movis} USING (movie_id)'}\n"
    )
    index = expectation_nodes(settings.model_copy(update={"project_dir": tmp_path}), project)
    assert [(n.suite, n.label, n.column_name) for n in index.nodes] == [
        ("dim_movies", "expect_column_values_to_be_unique(movie_id)", "movie_id")
    ]
    assert index.nodes[0].depends_on == ("model.movielens.dim_movies",)
    assert len(index.warnings) == 3, index.warnings
    assert "broken.yml" in index.warnings[0] and "not valid YAML" in index.warnings[0]
    assert "dim_nothing.yml" in index.warnings[1] and "'dim_nothing' names no table" in index.warnings[1]
    assert "fct_ratings.yml" in index.warnings[2] and "{ref:dim_movis}" in index.warnings[2]


def _results(project_settings) -> tuple[Any, Any, list[NodeResult]]:
    settings, project = project_settings
    index = expectation_nodes(settings, project)
    dim = index.by_suite("dim_movies")
    t = dict(started_at="2026-01-01T00:00:00Z", completed_at="2026-01-01T00:00:01Z", thread_id="netflix-elt_0")
    results = [
        NodeResult(
            "dim_movies",
            "model.movielens.dim_movies",
            "transform",
            "success",
            1.0,
            rows=9742,
            relation="MOVIELENS.DEV.DIM_MOVIES",
            compiled_code="SELECT 1",
            **t,
        ),
        NodeResult(
            "dim_movies",
            "test.movielens.dim_movies",
            "test",
            "fail",
            0.5,
            message="1 failed",
            extra={
                "suite": "dim_movies",
                "tests": [
                    {"expectation": dim[0].label, "severity": "error", "status": "fail", "unexpected": 2},
                    {"expectation": dim[1].label, "severity": "error", "status": "not built", "unexpected": None},
                ],
            },
            **t,
        ),
        NodeResult("fct_ratings", "test.movielens.fct_ratings", "test", "skipped", message="skipped: upstream", **t),
        NodeResult(
            "dim_users.x",
            "test.movielens.dim_users.x",
            "test",
            "warn",
            failures=3,
            message="3 unexpected",
            extra={"suite": "dim_users", "expectation": "no such label", "status": "warn"},
            **t,
        ),
    ]
    return settings, index, results


def test_result_rows_one_per_expectation_with_the_manifest_ids(project_settings) -> None:
    from dbt_artifacts_parser.parser import parse_run_results

    settings, index, results = _results(project_settings)
    data = build_run_results(
        settings,
        results,
        command="build",
        args={"select": []},
        elapsed=2.0,
        invocation_id="i",
        engine="embedded",
        tests=index,
    )
    assert schema_errors(data, "run-results-v6.json") == []
    parse_run_results(data)
    rows = data["results"]
    dim, fct = index.by_suite("dim_movies"), index.by_suite("fct_ratings")
    assert rows[0]["unique_id"] == "model.movielens.dim_movies" and rows[0]["compiled_code"] == "SELECT 1"
    assert rows[0]["adapter_response"]["rows_affected"] == 9742 and rows[0]["thread_id"] == "netflix-elt_0"
    assert [(r["unique_id"], r["status"], r["failures"]) for r in rows[1:3]] == [
        (dim[0].unique_id, "fail", 2),
        (dim[1].unique_id, "skipped", None),  # 'not built' is dbt's skipped
    ]
    skipped = rows[3 : 3 + len(fct)]  # a skipped suite: each of its expectations skipped
    assert [r["unique_id"] for r in skipped] == [n.unique_id for n in fct] and len(fct) > 1
    assert {r["status"] for r in skipped} == {"skipped"}
    last = rows[-1]  # an expectation the index does not know still gets the id a manifest would give it
    digest = hashlib.md5(b"dim_users\0no such label", usedforsecurity=False).hexdigest()[:10]  # the documented rule
    assert last["unique_id"] == f"test.movielens.dim_users_no_such_label.{digest}" and last["status"] == "warn"
    assert len(rows) == 3 + len(fct) + 1
    assert data["args"]["which"] == "build"


def test_target_paths_stay_relative_when_the_target_is_outside(project_settings, tmp_path, monkeypatch) -> None:
    settings, _ = project_settings
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "elsewhere"))
    inside = tmp_path / "elsewhere" / "compiled" / "core" / "dim_movies.sql"
    assert target_relative(settings, inside) == "target/compiled/core/dim_movies.sql"
    assert target_relative(settings, tmp_path / "stray.sql") == "stray.sql"  # never ../../tmp/...
    monkeypatch.delenv("NETFLIX_ELT_TARGET_PATH")
    assert target_relative(settings, PROJECT_DIR / "target" / "compiled" / "x.sql") == "target/compiled/x.sql"


def test_sources_json_in_dbt_sources_v3(project_settings) -> None:
    from dbt_artifacts_parser.parser import parse_sources

    settings, _ = project_settings
    results = [
        FreshnessResult(
            "source.movielens.raw.raw_ratings",
            "warn",
            "2026-01-01T00:00:00Z",
            "2026-01-02T00:00:00Z",
            86400.0,
            warn_after=(12, "hour"),
            error_after=(2, "day"),
        ),
        FreshnessResult("source.movielens.raw.raw_tags", "runtime error", error="RAW_TAGS does not exist"),
    ]
    data = build_sources(settings, results, elapsed=0.3, invocation_id="i", engine="embedded")
    assert schema_errors(data, "sources-v3.json") == []
    parsed = parse_sources(data)
    assert type(parsed).__name__ == "SourcesV3"
    assert data["results"][0]["criteria"]["warn_after"] == {"count": 12, "period": "hour"}
    bad = json.loads(json.dumps(data))
    bad["results"][0]["status"] = "stale"  # not one of dbt's statuses
    assert schema_errors(bad, "sources-v3.json")


def test_retry_reads_the_command_and_suites_back_through_the_manifest(project_settings, tmp_path, monkeypatch) -> None:
    from netflix_elt.retry import plan_retry

    settings, index, results = _results(project_settings)
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path))
    _, project = project_settings
    (tmp_path / "manifest.json").write_text(json.dumps(build_manifest(project, settings, "i", engine="embedded")))
    data = build_run_results(
        settings,
        results,
        command="build",
        args={"full_refresh": False},
        elapsed=1.0,
        invocation_id="inv-7",
        engine="embedded",
        tests=index,
    )
    (tmp_path / "run_results.json").write_text(json.dumps(data))
    plan = plan_retry(settings)
    assert plan.command == "build" and plan.invocation_id == "inv-7"
    assert plan.names == ["dim_movies", "fct_ratings"]  # the failing and the skipped suites, no passing model
    assert plan.args == {"full_refresh": False}
