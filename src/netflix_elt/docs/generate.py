"""`netflix-elt docs generate`: gather what is known about every node and write the artifacts.

The same gathered documents feed target/catalog.json (dbt's catalog shape), target/lineage.json
(column lineage, which dbt Core lacks) and the static site under target/docs/, so the three can
never disagree.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.artifacts import CATALOG_VERSION, expectation_nodes, metadata, read_results, write_json, write_manifest
from netflix_elt.docs.catalog import (
    Column,
    Relation,
    catalog_entry,
    describe_query,
    last_runs,
    read_relations,
    read_suites,
)
from netflix_elt.docs.lineage import ColumnLineage, ColumnRef, build_schema, node_lineage, trace
from netflix_elt.errors import NetflixEltError
from netflix_elt.graph import unique_id
from netflix_elt.registry import Node

if TYPE_CHECKING:
    from netflix_elt.api import Workspace

LINEAGE_VERSION = "https://netflix-elt.dev/schemas/lineage/v1.json"
RAW_META_COLUMNS = {
    "_LOAD_ID": "Load that brought the row in (RAW.LOAD_HISTORY)",
    "_LOADED_AT": "When that load ran (UTC)",
    "_SOURCE_FILE": "Landing-zone file the row came from",
    "_SOURCE_ROW": "Row number of the record in its source file",
}


@dataclass
class DocsResult:
    """What `docs generate` wrote, for the CLI to print and tests to open."""

    site_dir: Path
    index: Path
    catalog: Path
    lineage: Path
    manifest: Path
    nodes: int
    columns: int
    elapsed: float
    warnings: list[str] = field(default_factory=list)


def _ref_dict(ref: ColumnRef) -> dict[str, str]:
    return {"node": ref.node, "column": ref.column, "relation": ref.relation}


def _compile_sql(ws: Workspace, node: Node) -> tuple[str | None, str]:
    """The node's SELECT, unbuilt upstreams inlined; an error message instead when it cannot compile."""
    try:
        return ws.compiler(inline_missing=True).select_sql(node), ""
    except NetflixEltError as e:
        return None, str(e)


def _columns_for(ws: Workspace, node: Node, rel: Relation | None, sql: str | None, warnings: list[str]) -> list[Column]:
    if rel is not None and rel.columns:
        return list(rel.columns)
    if sql is not None:
        try:
            return describe_query(ws.session, sql)
        except Exception as e:  # the emulator cannot describe every query; the declared columns remain
            warnings.append(f"{node.name}: could not describe the compiled query ({type(e).__name__})")
    return []


def gather(ws: Workspace) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any], list[str]]:
    """Documents of every node, catalog.json and lineage.json (as dicts), and warnings."""
    settings, project = ws.settings, ws.project
    pname = settings.config.project.name
    relations = ws.relations  # node name -> DB.SCHEMA.NAME for every node with a relation
    rel_to_node = {fqn: name for name, fqn in relations.items()}
    warnings: list[str] = []
    wh = read_relations(ws.session, settings, (settings.raw_schema, settings.target_schema, settings.snapshot_schema))
    builds, tests = last_runs(read_results(settings.target_dir))
    suites, suite_warnings = read_suites(settings.project_dir)
    warnings += suite_warnings
    meta_cols = set(settings.config.snapshots.meta_column_names.model_dump().values())

    docs: dict[str, dict[str, Any]] = {}
    sqls: dict[str, str] = {}
    for name in project.order:
        node = project[name]
        rel = wh.get(relations.get(name, ""))
        sql, sql_error = (None, "") if node.kind in ("source", "seed") else _compile_sql(ws, node)
        if sql is not None:
            sqls[name] = sql
        cols = _columns_for(ws, node, rel, sql, warnings)
        described = {c.name for c in cols}
        declared = [c for c in node.columns if c not in described]
        cols += [Column(c, None, len(cols) + i + 1) for i, c in enumerate(declared)]
        descriptions = {**(RAW_META_COLUMNS if node.kind == "source" else {}), **node.columns}
        promised = {c.name: c.expected for c in node.contract.columns} if node.contract else {}
        docs[name] = {
            "name": name,
            "unique_id": unique_id(pname, node),
            "kind": node.kind,
            "layer": node.layer,
            "materialized": node.materialized,
            "description": node.description,
            "tags": list(node.tags),
            "relation": relations.get(name),
            "relation_type": rel.type if rel else None,
            "built": rel is not None,
            "row_count": rel.row_count if rel else None,
            "last_altered": rel.last_altered if rel else None,
            "file": os.path.relpath(node.file, settings.project_dir) if node.file else "",
            "inputs": list(node.inputs),
            "children": list(project.dag.downstream[name]),
            "columns": [
                {
                    "name": c.name,
                    "type": c.type,
                    "index": c.index,
                    "description": descriptions.get(c.name, ""),
                    "in_warehouse": c.name in described,
                    "contract": promised.get(c.name),
                }
                for c in cols
            ],
            "contract": node.contract is not None,
            "sql": sql,
            "sql_error": sql_error,
            "python": node.source_code,
            "last_run": builds.get(name),
            "suite": suites.get(name),
            "tests": tests.get(name, []),
            "snapshot": (
                {
                    "strategy": node.snapshot.strategy,
                    "unique_key": list(node.unique_key),
                    "updated_at": node.snapshot.updated_at,
                    "check_cols": node.snapshot.check_cols,
                    "hard_deletes": node.snapshot.hard_deletes,
                }
                if node.snapshot
                else None
            ),
        }

    # column lineage: per node from its SQL, then chained back to RAW
    schema = build_schema({fqn: {c.name: c.type or "VARCHAR" for c in r.columns} for fqn, r in wh.items()})
    direct: dict[str, dict[str, ColumnLineage]] = {}
    for name, sql in sqls.items():
        wanted = [c["name"] for c in docs[name]["columns"]]
        try:
            per = node_lineage(sql, schema, rel_to_node, wanted)
        except Exception as e:  # unparsable SQL: the node keeps its docs, without lineage
            warnings.append(f"{name}: no column lineage ({type(e).__name__}: {e})")
            continue
        if project[name].kind == "snapshot":
            for col, entry in per.items():
                if col in meta_cols and not entry.direct:
                    entry.error, entry.expression = "", "SCD2 meta column, set by the snapshot's MERGE"
        direct[name] = per
    lineage_out: dict[str, Any] = {}
    for name, per in direct.items():
        lineage_out[name] = {}
        for col, entry in per.items():
            origins, paths = trace(direct, name, col)
            lineage_out[name][col] = {
                "direct": [_ref_dict(r) for r in entry.direct],
                "expression": entry.expression,
                "origins": [_ref_dict(r) for r in origins],
                "paths": [[r.label() for r in p] for p in paths],
                "error": entry.error,
            }
        for c in docs[name]["columns"]:
            c["lineage"] = lineage_out[name].get(c["name"])

    catalog: dict[str, Any] = {
        "metadata": metadata(CATALOG_VERSION, settings, ws.invocation_id, ws.adapter.name),
        "nodes": {},
        "sources": {},
        "errors": None,
    }
    for doc in docs.values():
        rel = wh.get(doc["relation"] or "")
        if rel is None:
            continue
        descriptions = {c["name"]: c["description"] for c in doc["columns"]}
        section = "sources" if doc["kind"] == "source" else "nodes"
        catalog[section][doc["unique_id"]] = catalog_entry(doc["unique_id"], rel, descriptions)
    lineage_doc = {
        "metadata": {  # not a dbt artifact: netflix-elt's own schema id, dbt's other metadata keys
            **{
                k: v
                for k, v in metadata(LINEAGE_VERSION, settings, ws.invocation_id, ws.adapter.name).items()
                if k != "dbt_schema_version"
            },
            "netflix_elt_schema_version": LINEAGE_VERSION,
        },
        "columns": lineage_out,
    }
    return list(docs.values()), catalog, lineage_doc, warnings


def generate_docs(ws: Workspace) -> DocsResult:
    """Write target/manifest.json, catalog.json, lineage.json and the site under target/docs/."""
    from netflix_elt.docs.site import write_site

    started = time.perf_counter()
    target = ws.settings.target_dir
    tests = expectation_nodes(ws.settings, ws.project)
    manifest = write_manifest(ws.project, ws.settings, ws.invocation_id, engine=ws.adapter.name, tests=tests)
    nodes, catalog, lineage_doc, warnings = gather(ws)
    catalog_path, lineage_path = target / "catalog.json", target / "lineage.json"
    write_json(catalog_path, catalog)
    write_json(lineage_path, lineage_doc)
    site_dir = target / "docs"
    index = write_site(site_dir, nodes, ws.settings, generated_at=catalog["metadata"]["generated_at"])
    return DocsResult(
        site_dir=site_dir,
        index=index,
        catalog=catalog_path,
        lineage=lineage_path,
        manifest=manifest,
        nodes=len(nodes),
        columns=sum(len(n["columns"]) for n in nodes),
        elapsed=time.perf_counter() - started,
        warnings=warnings,
    )
