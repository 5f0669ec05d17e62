"""`target/manifest.json` in dbt's manifest v12 schema: every node, source and expectation test.

Each entry carries the keys dbt requires (database, schema, name, resource_type, package_name,
path, original_file_path, unique_id, fqn, alias, checksum; sources also source_name,
source_description, loader, identifier) and the usual optional ones dbt writes. What dbt has no
key for (a node's layer, incremental key, latest_by) goes under `config`/`meta`, where dbt's
schema allows extras.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netflix_elt.artifacts.common import MANIFEST_VERSION, metadata, project_relative, write_json
from netflix_elt.artifacts.expectation_nodes import SOURCE_NAME, ExpectationIndex, ExpectationNode, expectation_nodes
from netflix_elt.compiler import relation_of
from netflix_elt.config import FreshnessSection, Settings
from netflix_elt.graph import unique_id
from netflix_elt.registry import Kind, Node, Project

LOADER = "netflix-elt"
ADAPTER_TYPE = "snowflake"  # both engines speak Snowflake SQL
TOP_LEVEL_EMPTY = ("macros", "docs", "exposures", "metrics", "groups", "selectors")
TOP_LEVEL_LATER = ("saved_queries", "semantic_models", "unit_tests")


def _checksum(text: str) -> dict[str, str]:
    return {"name": "sha256", "checksum": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def _node_checksum(settings: Settings, node: Node, code: str) -> dict[str, str]:
    """A seed's file; a transform's or snapshot's code and settings as its build fingerprint hashes
    them (build_state.checksum_of), so `--state DIR`'s state:modified compares what build compares."""
    from netflix_elt.build_state import checksum_of, node_code, package_dir

    if node.kind == Kind.SEED or node.func is None:
        return _file_checksum(node.file, code or node.name)
    try:
        return {"name": "sha256", "checksum": checksum_of(node, node_code(node, package_dir(settings)))}
    except OSError:
        return _checksum(code or node.name)


def _file_checksum(path: str, fallback: str) -> dict[str, str]:
    try:
        return {"name": "sha256", "checksum": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
    except OSError:
        return _checksum(fallback)


def _columns(
    descriptions: Mapping[str, str], types: Mapping[str, str] | None = None, not_null: frozenset[str] = frozenset()
) -> dict[str, Any]:
    types = types or {}
    out: dict[str, Any] = {}
    for col in dict.fromkeys([*descriptions, *types]):
        key = col.lower()
        out[key] = {
            "name": key,
            "description": descriptions.get(col, ""),
            "meta": {},
            "data_type": types.get(col),
            "constraints": [_NOT_NULL] if col in not_null else [],
            "quote": None,
            "tags": [],
            "granularity": None,
        }
    return out


_NOT_NULL = {"type": "not_null", "name": None, "expression": None, "warn_unenforced": True, "warn_unsupported": True}


def _contract(node: Node) -> tuple[dict[str, Any], dict[str, Any]]:
    """dbt's `config.contract` and the node's `contract` (enforced, with the checksum of its columns)."""
    if node.contract is None:
        return {"enforced": False, "alias_types": True}, {"enforced": False, "alias_types": True, "checksum": None}
    text = json.dumps([[c.name.lower(), c.data_type, c.not_null] for c in node.contract.columns])
    return {"enforced": True, "alias_types": True}, {
        "enforced": True,
        "alias_types": True,
        "checksum": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }


def _freshness(cfg: FreshnessSection | None) -> dict[str, Any]:
    """A source's freshness criteria as dbt writes them (count and period, or nulls)."""

    def after(which: str) -> dict[str, Any]:
        t = cfg.after(which) if cfg else None
        return {"count": t[0], "period": t[1]} if t else {"count": None, "period": None}

    return {"warn_after": after("warn_after"), "error_after": after("error_after"), "filter": None}


def _relation(settings: Settings, node: Node) -> tuple[str, str, str]:
    db, schema, name = relation_of(settings, node).split(".")
    return db, schema, name


def _refs(project: Project, node: Node) -> tuple[list[dict[str, Any]], list[list[str]]]:
    refs = [{"name": i, "package": None, "version": None} for i in node.inputs if project[i].kind != Kind.SOURCE]
    sources = [[SOURCE_NAME, i] for i in node.inputs if project[i].kind == Kind.SOURCE]
    return refs, sources


def _fqn(pname: str, original_file_path: str, name: str) -> list[str]:
    """dbt's fqn: the project, the folders under the resource folder, the name."""
    folders = Path(original_file_path).parts[1:-1]
    return [pname, *folders, name]


def source_entry(settings: Settings, node: Node, uid: str) -> dict[str, Any]:
    pname = settings.config.project.name
    src = settings.config.sources[node.name]
    db, schema, identifier = _relation(settings, node)
    path = project_relative(settings, node.file)
    return {
        "database": db,
        "schema": schema,
        "name": node.name,
        "resource_type": "source",
        "package_name": pname,
        "path": path,
        "original_file_path": path,
        "unique_id": uid,
        "fqn": [pname, SOURCE_NAME, node.name],
        "source_name": SOURCE_NAME,
        "source_description": f"Landing-zone files loaded into {settings.raw_schema} by netflix-elt",
        "loader": LOADER,
        "identifier": identifier,
        "quoting": {"database": None, "schema": None, "identifier": None, "column": None},
        "loaded_at_field": src.freshness.field.lower() if src.freshness else None,
        "freshness": _freshness(src.freshness),
        "external": None,
        "description": node.description,
        "columns": _columns(dict.fromkeys(src.columns, ""), dict(src.columns)),
        "meta": {},
        "source_meta": {},
        "tags": list(node.tags),
        "config": {"enabled": True, "meta": {"netflix_elt": {"file": src.file, "mode": src.mode}}, "tags": []},
        "patch_path": None,
        "unrendered_config": {},
        "relation_name": f"{db}.{schema}.{identifier}",
        "created_at": 0.0,
    }


def node_entry(settings: Settings, project: Project, node: Node, uid: str) -> dict[str, Any]:
    """A seed, model (transform), snapshot or analysis as dbt's manifest node."""
    pname = settings.config.project.name
    rtype = uid.split(".")[0]
    db, schema, alias = _relation(settings, node)
    path = project_relative(settings, node.file)
    code = node.source_code
    meta = {"netflix_elt": {"layer": node.layer, "kind": str(node.kind)}}
    config: dict[str, Any] = {
        "enabled": True,
        "alias": None,
        "schema": schema,
        "database": db,
        "tags": list(node.tags),
        "meta": meta,
        "materialized": "seed" if node.kind == Kind.SEED else str(node.materialized),
        "unique_key": [k.lower() for k in node.unique_key] or None,
        "on_schema_change": "ignore",
        "persist_docs": {},
        "post-hook": [],
        "pre-hook": [],
        "quoting": {},
        "column_types": {},
        "full_refresh": None,
        "grants": {},
        "packages": [],
        "docs": {"show": True, "node_color": None},
        "contract": _contract(node)[0],
    }
    if node.incremental_key:
        config["incremental_key"] = node.incremental_key.lower()  # dbt has no such key: an adapter-style extra
    if node.latest_by:
        config["latest_by"] = [k.lower() for k in node.latest_by]
    if not node.deduplicate:
        config["deduplicate"] = False
    entry: dict[str, Any] = {
        "database": db,
        "schema": schema,
        "name": node.name,
        "resource_type": rtype,
        "package_name": pname,
        "path": Path(path).relative_to(Path(path).parts[0]).as_posix() if "/" in path else path,
        "original_file_path": path,
        "unique_id": uid,
        "fqn": _fqn(pname, path, node.name),
        "alias": alias,
        "checksum": _node_checksum(settings, node, code),
        "config": config,
        "tags": list(node.tags),
        "description": node.description,
        "columns": _node_columns(node),
        "meta": meta,
        "group": None,
        "docs": {"show": True, "node_color": None},
        "patch_path": None,
        "build_path": None,
        "unrendered_config": {},
        "created_at": 0.0,
        "relation_name": f"{db}.{schema}.{alias}" if node.builds else None,
        "raw_code": code,
    }
    if node.kind == Kind.SEED:
        config.update(delimiter=",", quote_columns=None)
        entry.update(root_path=str(settings.project_dir), depends_on={"macros": []})
        return entry
    refs, sources = _refs(project, node)
    entry.update(
        language="python",
        refs=refs,
        sources=sources,
        metrics=[],
        depends_on={"macros": [], "nodes": [unique_id(pname, project[i]) for i in node.inputs]},
        compiled_path=None,
        contract=_contract(node)[1],
    )
    if rtype == "model":
        config["access"] = "protected"
        entry.update(access="protected", constraints=[], version=None, latest_version=None, deprecation_date=None)
    if node.snapshot is not None:
        config.update(
            strategy=node.snapshot.strategy,
            updated_at=node.snapshot.updated_at,
            check_cols=node.snapshot.check_cols,
            hard_deletes=node.snapshot.hard_deletes,
            target_schema=schema,
            target_database=db,
        )
    return entry


def _node_columns(node: Node) -> dict[str, Any]:
    if node.contract is None:
        return _columns(node.columns)
    strict = frozenset(c.name for c in node.contract.columns if c.not_null)
    return _columns(node.columns, node.contract.types(), strict)


def test_entry(settings: Settings, test: ExpectationNode) -> dict[str, Any]:
    """An expectation as dbt's generic test node (test_metadata names the GX expectation)."""
    pname = settings.config.project.name
    spec = {"type": test.type, "kwargs": test.kwargs, "severity": test.severity}
    original = project_relative(settings, str(test.file))
    kwargs = dict(test.kwargs)
    if test.column_name is not None:
        kwargs["column_name"] = test.column_name
    if test.refs or test.sources:
        target = f"ref('{test.suite}')" if test.suite in test.refs else f"source('{SOURCE_NAME}', '{test.suite}')"
        kwargs["model"] = "{{ get_where_subquery(" + target + ") }}"
    meta = {
        "netflix_elt": {
            "suite": test.suite,
            "expectation": test.label,
            "severity": test.severity,
            "type": test.type,
            "index": test.index,
            "audit_table": settings.fqn(settings.audit_schema, "TEST_FAILURES"),
        }
    }
    return {
        "database": settings.database,
        "schema": settings.audit_schema,
        "name": test.name,
        "resource_type": "test",
        "package_name": pname,
        "path": f"{test.name}.sql",
        "original_file_path": original,
        "unique_id": test.unique_id,
        "fqn": [pname, *Path(original).parts[1:-1], test.suite, test.name],
        "alias": test.name,
        "checksum": _checksum(json.dumps(spec, sort_keys=True, default=str)),
        "config": {
            "enabled": True,
            "alias": None,
            "schema": settings.audit_schema,
            "database": None,
            "tags": [],
            "meta": meta,
            "group": None,
            "materialized": "test",
            "severity": "ERROR" if test.severity == "error" else "WARN",
            "store_failures": None,
            "store_failures_as": None,
            "where": None,
            "limit": None,
            "fail_calc": "count(*)",
            "warn_if": "!= 0",
            "error_if": "!= 0",
        },
        "tags": [],
        "description": test.description,
        "columns": {},
        "meta": meta,
        "group": None,
        "docs": {"show": True, "node_color": None},
        "patch_path": None,
        "build_path": None,
        "unrendered_config": {},
        "created_at": 0.0,
        "relation_name": None,
        "raw_code": json.dumps(spec, default=str),
        "language": "sql",
        "refs": [{"name": r, "package": None, "version": None} for r in test.refs],
        "sources": [[SOURCE_NAME, s] for s in test.sources],
        "metrics": [],
        "depends_on": {"macros": [], "nodes": list(test.depends_on)},
        "compiled_path": None,
        "contract": {"enforced": False, "alias_types": True, "checksum": None},
        "column_name": test.column_name,
        "file_key_name": f"models.{test.suite}",
        "attached_node": test.tested,
        "test_metadata": {"name": test.type, "kwargs": kwargs, "namespace": "great_expectations"},
    }


def build_manifest(
    project: Project,
    settings: Settings,
    invocation_id: str,
    *,
    engine: str,
    tests: ExpectationIndex | None = None,
    started_at: str | None = None,
    compiled: Mapping[str, tuple[str | None, str]] | None = None,
) -> dict[str, Any]:
    """The manifest of `project`; `compiled` maps the unique_id of each node compiled by this
    command to (compiled_path, SQL), which dbt keeps on the node once it has run."""
    pname = settings.config.project.name
    tests = tests if tests is not None else expectation_nodes(settings, project)
    uid = {n: unique_id(pname, project[n]) for n in project.nodes}
    nodes: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    for n in project.order:
        node = project[n]
        if node.kind == Kind.SOURCE:
            sources[uid[n]] = source_entry(settings, node, uid[n])
        else:
            nodes[uid[n]] = node_entry(settings, project, node, uid[n])
            if compiled and uid[n] in compiled:
                path, code = compiled[uid[n]]
                nodes[uid[n]].update(compiled=True, compiled_path=path, compiled_code=code)
    for t in tests.nodes:
        nodes[t.unique_id] = test_entry(settings, t)
    parent_map: dict[str, list[str]] = {uid[n]: [uid[i] for i in project[n].inputs] for n in project.order}
    child_map: dict[str, list[str]] = {uid[n]: [uid[c] for c in project.dag.downstream[n]] for n in project.order}
    for t in tests.nodes:
        parent_map[t.unique_id] = list(t.depends_on)
        child_map[t.unique_id] = []
        for parent in t.depends_on:
            child_map[parent].append(t.unique_id)
    meta = metadata(MANIFEST_VERSION, settings, invocation_id, engine, started_at)
    meta.update(project_name=pname, adapter_type=ADAPTER_TYPE, send_anonymous_usage_stats=False)
    return {
        "metadata": meta,
        "nodes": nodes,
        "sources": sources,
        **{k: {} for k in TOP_LEVEL_EMPTY},
        "disabled": {},
        "parent_map": parent_map,
        "child_map": {k: sorted(v) for k, v in child_map.items()},
        "group_map": {},
        **{k: {} for k in TOP_LEVEL_LATER},
    }


def write_manifest(
    project: Project,
    settings: Settings,
    invocation_id: str,
    *,
    engine: str,
    tests: ExpectationIndex | None = None,
    started_at: str | None = None,
    compiled: Mapping[str, tuple[str | None, str]] | None = None,
) -> Path:
    path = settings.target_dir / "manifest.json"
    data = build_manifest(
        project, settings, invocation_id, engine=engine, tests=tests, started_at=started_at, compiled=compiled
    )
    write_json(path, data)
    return path


def manifest_tests(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """unique_id -> netflix_elt's meta of each test node of a manifest read back (suite, expectation, ...)."""
    out: dict[str, dict[str, Any]] = {}
    for uid, n in (manifest.get("nodes") or {}).items():
        if n.get("resource_type") == "test":
            out[uid] = dict((n.get("meta") or {}).get("netflix_elt") or {})
    return out
