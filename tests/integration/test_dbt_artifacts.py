"""dbt's own readers on the artifacts of a fixture build, a validate and a docs generate.

Every file parses with dbt-artifacts-parser (strict pydantic models of dbt's schemas) and
validates against dbt's published JSON schemas (vendored under tests/dbt_schemas/, no network);
the test nodes are counted against expectations/*.yml read with plain YAML; dbt-coverage reads
manifest + catalog and finds documented and tested columns.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from netflix_elt.api import Workspace
from tests.conftest import PROJECT_DIR, require_fixture

pytestmark = pytest.mark.timeout(900)
SCHEMAS = Path(__file__).resolve().parents[1] / "dbt_schemas"
PNAME = "movielens"
DBT = "https://schemas.getdbt.com/dbt"


def dbt_schema(name: str) -> dict[str, Any]:
    path = SCHEMAS / name
    if path.suffix == ".gz":
        return json.loads(gzip.decompress(path.read_bytes()))
    return json.loads(path.read_text())


def schema_errors(data: dict[str, Any], name: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(dbt_schema(name))
    return [f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator.iter_errors(data)][:5]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """build, then validate, then docs generate on the fixture; each command's artifacts kept.
    The target folder is outside the project, as in CI (NETFLIX_ELT_TARGET_PATH)."""
    from netflix_elt.docs import generate_docs

    fixture = require_fixture()
    root = tmp_path_factory.mktemp("dbt_artifacts")
    target = root / "target"
    kept: dict[str, Any] = {"root": root, "target": target}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(root / "home"))
        mp.setenv("NETFLIX_ELT_TARGET_PATH", str(target))
        with Workspace.from_options(PROJECT_DIR) as ws:
            kept["build"] = ws.build(from_url=str(fixture))
            assert kept["build"].ok, [(r.name, r.status, r.message[:200]) for r in kept["build"].results]
            (root / "build").mkdir()
            for f in ("manifest.json", "run_results.json"):
                shutil.copy(target / f, root / "build" / f)
            kept["validate"] = ws.validate()
            (root / "validate").mkdir()
            for f in ("manifest.json", "run_results.json"):
                shutil.copy(target / f, root / "validate" / f)
            kept["docs"] = generate_docs(ws)
    for step in ("build", "validate"):
        kept[step + "_files"] = {
            f: json.loads((root / step / f).read_text()) for f in ("manifest.json", "run_results.json")
        }
    kept["manifest"] = json.loads((target / "manifest.json").read_text())
    kept["catalog"] = json.loads((target / "catalog.json").read_text())
    yield kept


def yaml_expectations() -> list[tuple[str, str, dict[str, Any]]]:
    """(folder, table, expectation) of every suite file, read with plain YAML (not netflix_elt)."""
    out = []
    for path in sorted((PROJECT_DIR / "expectations").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        table = str(doc.get("table") or path.stem).lower()
        out += [(path.parent.name, table, e) for e in doc["expectations"]]
    return out


def table_id(folder: str, table: str) -> str:
    if folder == "raw":
        return f"source.{PNAME}.raw.{table}"
    return f"{'snapshot' if folder == 'snapshots' else 'model'}.{PNAME}.{table}"


# dbt-artifacts-parser and dbt's JSON schemas ------------------------------------------------------
def test_every_artifact_parses_with_dbt_artifacts_parser(run: dict[str, Any]) -> None:
    from dbt_artifacts_parser.parser import parse_catalog, parse_manifest, parse_run_results

    for step in ("build", "validate"):
        files = run[step + "_files"]
        manifest = parse_manifest(files["manifest.json"])
        assert type(manifest).__name__ == "ManifestV12"
        assert type(parse_run_results(files["run_results.json"])).__name__ == "RunResultsV6"
        tests = [n for n in manifest.nodes.values() if n.resource_type == "test"]
        assert tests and all(n.test_metadata is not None and n.test_metadata.name for n in tests)  # generic tests
    assert type(parse_manifest(run["manifest"])).__name__ == "ManifestV12"  # docs generate's
    assert type(parse_catalog(run["catalog"])).__name__ == "CatalogV1"


def test_every_artifact_validates_against_dbt_published_schemas(run: dict[str, Any]) -> None:
    for step in ("build", "validate"):
        assert schema_errors(run[step + "_files"]["run_results.json"], "run-results-v6.json") == [], step
    assert schema_errors(run["catalog"], "catalog-v1.json") == []
    assert schema_errors(run["validate_files"]["manifest.json"], "manifest-v12.json.gz") == []


def test_metadata_is_dbt_metadata_only(run: dict[str, Any]) -> None:
    build, validate = run["build_files"], run["validate_files"]
    assert build["manifest.json"]["metadata"]["dbt_schema_version"] == f"{DBT}/manifest/v12.json"
    assert build["run_results.json"]["metadata"]["dbt_schema_version"] == f"{DBT}/run-results/v6.json"
    assert run["catalog"]["metadata"]["dbt_schema_version"] == f"{DBT}/catalog/v1.json"
    assert validate["run_results.json"]["metadata"]["invocation_id"] == run["validate"].invocation_id
    base = {"dbt_schema_version", "dbt_version", "generated_at", "invocation_id", "invocation_started_at", "env"}
    assert set(run["catalog"]["metadata"]) == base
    assert set(build["run_results.json"]["metadata"]) == base
    assert set(build["manifest.json"]["metadata"]) == base | {
        "project_name",
        "adapter_type",
        "send_anonymous_usage_stats",
    }
    env = build["manifest.json"]["metadata"]["env"]
    assert env["NETFLIX_ELT_TARGET"] == "dev" and env["NETFLIX_ELT_ENGINE"] == "embedded"
    assert all(isinstance(v, str) for v in env.values())
    assert build["run_results.json"]["args"]["which"] == "build"
    assert validate["run_results.json"]["args"]["which"] == "validate"
    top = {
        "metadata",
        "nodes",
        "sources",
        "macros",
        "docs",
        "exposures",
        "metrics",
        "groups",
        "selectors",
        "disabled",
        "parent_map",
        "child_map",
        "group_map",
        "saved_queries",
        "semantic_models",
        "unit_tests",
    }
    assert set(build["manifest.json"]) == top


# test nodes and their results ---------------------------------------------------------------------
def test_one_test_node_per_expectation_with_its_table_refs_and_severity(run: dict[str, Any]) -> None:
    manifest = run["validate_files"]["manifest.json"]
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    expected = yaml_expectations()
    assert len(tests) == len(expected) > 50
    by_key = {(n["meta"]["netflix_elt"]["suite"], n["meta"]["netflix_elt"]["index"]): n for n in tests}
    counters: dict[str, int] = {}
    for folder, table, e in expected:
        i = counters[table] = counters.get(table, -1) + 1
        node = by_key[table, i]
        assert node["unique_id"].startswith(f"test.{PNAME}.") and node["unique_id"] in manifest["nodes"]
        assert node["test_metadata"]["name"] == e["type"] and node["test_metadata"]["namespace"] == "great_expectations"
        for k, v in (e.get("kwargs") or {}).items():
            assert node["test_metadata"]["kwargs"][k] == v, (table, k)
        assert node["config"]["severity"] == ("WARN" if e.get("severity") == "warn" else "ERROR")
        assert node["depends_on"]["nodes"][0] == table_id(folder, table) == node["attached_node"]
        refs = set(re.findall(r"\{ref:(\w+)\}", json.dumps(e.get("kwargs") or {}))) - {table}
        read = {uid.split(".")[-1] for uid in node["depends_on"]["nodes"][1:]}
        assert read == refs, (table, e)
        assert manifest["parent_map"][node["unique_id"]] == node["depends_on"]["nodes"]
        assert node["unique_id"] in manifest["child_map"][table_id(folder, table)]
        column = (e.get("kwargs") or {}).get("column")
        assert node["column_name"] == (column.lower() if column else None)
        assert node["original_file_path"] == f"expectations/{folder}/{table}.yml"
        named = [r["name"] for r in node["refs"]] + [s[1] for s in node["sources"]]
        assert sorted(named) == sorted({table} | refs), (table, e)
    reading = [n for n in tests if len(n["depends_on"]["nodes"]) > 1]
    assert reading, "some expectation reads a second table ({ref:...})"


def test_build_and_validate_give_each_test_node_its_own_result(run: dict[str, Any]) -> None:
    for step in ("build", "validate"):
        files = run[step + "_files"]
        nodes = files["manifest.json"]["nodes"]
        test_ids = {u for u, n in nodes.items() if n["resource_type"] == "test"}
        results = files["run_results.json"]["results"]
        ids = [r["unique_id"] for r in results if r["unique_id"].startswith("test.")]
        assert sorted(ids) == sorted(test_ids), step  # every test once, nothing else
        known = set(nodes) | set(files["manifest.json"]["sources"])
        assert {r["unique_id"] for r in results} <= known, step
        for r in results:
            assert r["thread_id"] and r["timing"][0]["name"] == "execute" and r["execution_time"] >= 0
    # validate: each row has the status of its expectation in the report
    nodes = run["validate_files"]["manifest.json"]["nodes"]
    by_label = {(r.suite, r.expectation): r.status for r in run["validate"].results}
    for r in run["validate_files"]["run_results.json"]["results"]:
        meta = nodes[r["unique_id"]]["meta"]["netflix_elt"]
        assert r["status"] == by_label[meta["suite"], meta["expectation"]] == "pass"
    # build: the suite steps' expectations, one row each, with the same statuses
    in_memory = {
        (r.name, t["expectation"]): t["status"]
        for r in run["build"].results
        if r.kind == "test"
        for t in r.extra["tests"]
    }
    rows = run["build_files"]["run_results.json"]["results"]
    build_nodes = run["build_files"]["manifest.json"]["nodes"]
    metas = [build_nodes[r["unique_id"]]["meta"]["netflix_elt"] for r in rows if r["unique_id"].startswith("test.")]
    statuses = [r["status"] for r in rows if r["unique_id"].startswith("test.")]
    on_disk = {(m["suite"], m["expectation"]): s for m, s in zip(metas, statuses, strict=True)}
    assert on_disk == {k: ("skipped" if v == "not built" else v) for k, v in in_memory.items()}


def test_built_models_carry_their_compiled_sql_inside_the_project_relative_target(run: dict[str, Any]) -> None:
    target = run["target"]
    manifest = run["build_files"]["manifest.json"]
    dim = manifest["nodes"][f"model.{PNAME}.dim_movies"]
    assert dim["compiled_path"] == "target/compiled/core/dim_movies.sql"  # not ../../tmp/...
    written = (target / "compiled" / "core" / "dim_movies.sql").read_text()
    assert written == dim["compiled_code"].rstrip() + ";\n" and "FROM MOVIELENS.DEV.SRC_MOVIES" in written
    row = next(r for r in run["build_files"]["run_results.json"]["results"] if r["unique_id"] == dim["unique_id"])
    assert row["compiled"] is True and row["compiled_code"] == dim["compiled_code"]
    assert row["relation_name"] == "MOVIELENS.DEV.DIM_MOVIES"
    assert "../" not in json.dumps(manifest) and str(target) not in json.dumps(manifest)
    for uid, n in manifest["nodes"].items():
        for key in ("schema", "fqn", "path", "original_file_path", "alias", "checksum", "database", "config"):
            assert key in n, (uid, key)
    src = manifest["sources"][f"source.{PNAME}.raw.raw_ratings"]
    assert (src["identifier"], src["source_name"], src["loader"]) == ("RAW_RATINGS", "raw", "netflix-elt")
    assert src["original_file_path"] == "config/netflix_elt.toml"


# coverage --------------------------------------------------------------------------------------------
def test_dbt_coverage_finds_documented_and_tested_columns(run: dict[str, Any], tmp_path: Path) -> None:
    from dbt_coverage import CoverageType, do_compute

    target = run["target"]
    doc = do_compute(PROJECT_DIR, run_artifacts_dir=target, cov_report=tmp_path / "doc.json", cov_type=CoverageType.DOC)
    test = do_compute(
        PROJECT_DIR, run_artifacts_dir=target, cov_report=tmp_path / "test.json", cov_type=CoverageType.TEST
    )
    assert doc.coverage > 0 and test.coverage > 0
    # tested columns, computed from the YAML and the catalog alone: a column expectation's column
    catalog = {**run["catalog"]["nodes"], **run["catalog"]["sources"]}
    columns = {uid: {c.lower() for c in n["columns"]} for uid, n in catalog.items()}
    tested = {
        (table_id(folder, table), str(e["kwargs"]["column"]).lower())
        for folder, table, e in yaml_expectations()
        if "column" in (e.get("kwargs") or {}) and table_id(folder, table) in columns
    }
    tested = {(uid, c) for uid, c in tested if c in columns[uid]}
    assert len(test.covered) == len(tested) > 0
    assert len(test.total) == len(doc.total) == sum(len(c) for c in columns.values())
