"""dbt's artifacts under target/: manifest.json (v12), run_results.json (v6), catalog.json (v1),
sources.json (v3), and the compiled SQL of each node, in dbt's exact schemas so that the tools
dbt users keep (dbt-artifacts-parser, dbt-coverage, dbt-docs, DataHub) read them."""

from __future__ import annotations

from pathlib import Path

from netflix_elt.artifacts.common import (
    CATALOG_VERSION,
    MANIFEST_VERSION,
    RUN_RESULTS_VERSION,
    SOURCES_VERSION,
    metadata,
    target_relative,
    write_json,
)
from netflix_elt.artifacts.expectation_nodes import ExpectationIndex, ExpectationNode, expectation_nodes
from netflix_elt.artifacts.manifest import build_manifest, manifest_tests, write_manifest
from netflix_elt.artifacts.run_results import (
    NodeResult,
    build_run_results,
    command_of,
    read_results,
    read_run_results,
    write_run_results,
)
from netflix_elt.artifacts.sources import FreshnessResult, build_sources, write_sources
from netflix_elt.registry import Node


def write_compiled(target_dir: Path, node: Node, sql: str) -> Path:
    """Write a node's SQL under target/compiled/<layer>/<name>.sql (as dbt does)."""
    path = target_dir / "compiled" / node.layer / f"{node.name}.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql.rstrip() + ";\n", encoding="utf-8")
    return path


__all__ = [
    "CATALOG_VERSION",
    "MANIFEST_VERSION",
    "RUN_RESULTS_VERSION",
    "SOURCES_VERSION",
    "ExpectationIndex",
    "ExpectationNode",
    "FreshnessResult",
    "NodeResult",
    "build_manifest",
    "build_run_results",
    "build_sources",
    "command_of",
    "expectation_nodes",
    "manifest_tests",
    "metadata",
    "read_results",
    "read_run_results",
    "target_relative",
    "write_compiled",
    "write_json",
    "write_manifest",
    "write_run_results",
    "write_sources",
]
