"""`target/manifest.json` and `target/run_results.json`, in dbt's artifact shape where it fits.

Catalog and lineage tools that read dbt artifacts find the same keys here: `nodes`, `sources`,
`parent_map`, `child_map`; `results[]` with `unique_id`, `status`, `execution_time`.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netflix_elt import __version__, graph
from netflix_elt.adapters import adapter_class
from netflix_elt.config import Settings
from netflix_elt.graph import unique_id
from netflix_elt.registry import Node, Project

MANIFEST_VERSION = "https://netflix-elt.dev/schemas/manifest/v1.json"
RUN_RESULTS_VERSION = "https://netflix-elt.dev/schemas/run-results/v1.json"
RESOURCE_TYPES = {**graph.RESOURCE_TYPES, "test": "test"}  # a result's kind -> dbt's resource_type


def _metadata(kind: str, settings: Settings, invocation_id: str) -> dict[str, Any]:
    return {
        "netflix_elt_schema_version": kind,
        "netflix_elt_version": __version__,
        "generated_at": datetime.now(UTC).isoformat(),
        "invocation_id": invocation_id,
        "env": {"target": settings.target, "profile": settings.profile, "engine": adapter_class(settings).name},
        "python": platform.python_version(),
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically, so a reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def build_manifest(project: Project, settings: Settings, relations: dict[str, str], invocation_id: str) -> dict:
    name = settings.config.project.name
    uid = {n: unique_id(name, project[n]) for n in project.nodes}
    nodes: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    for n in project.order:
        node = project[n]
        entry = {
            "unique_id": uid[n],
            "name": n,
            "resource_type": RESOURCE_TYPES[node.kind] if node.materialized != "analysis" else "analysis",
            "package_name": name,
            "layer": node.layer,
            "description": node.description,
            "columns": {c.lower(): {"name": c.lower(), "description": d} for c, d in node.columns.items()},
            "config": {
                "materialized": node.materialized,
                "unique_key": [k.lower() for k in node.unique_key] or None,
                "incremental_key": node.incremental_key.lower() if node.incremental_key else None,
                "tags": list(node.tags),
            },
            "tags": list(node.tags),
            "depends_on": {"nodes": [uid[i] for i in node.inputs]},
            "original_file_path": os.path.relpath(node.file, settings.project_dir) if node.file else "",
            "relation_name": relations.get(n),
        }
        if node.snapshot is not None:
            entry["config"].update(
                strategy=node.snapshot.strategy,
                updated_at=node.snapshot.updated_at,
                check_cols=node.snapshot.check_cols,
                hard_deletes=node.snapshot.hard_deletes,
            )
        (sources if node.kind == "source" else nodes)[uid[n]] = entry
    return {
        "metadata": _metadata(MANIFEST_VERSION, settings, invocation_id),
        "nodes": nodes,
        "sources": sources,
        "parent_map": {uid[n]: [uid[i] for i in project[n].inputs] for n in project.order},
        "child_map": {uid[n]: [uid[c] for c in project.dag.downstream[n]] for n in project.order},
    }


def write_manifest(project: Project, settings: Settings, relations: dict[str, str], invocation_id: str) -> Path:
    path = settings.target_dir / "manifest.json"
    _write_json(path, build_manifest(project, settings, relations, invocation_id))
    return path


@dataclass
class NodeResult:
    name: str
    unique_id: str
    kind: str
    status: str  # success, error, skipped, pass, fail, warn
    execution_time: float = 0.0
    rows: int | None = None
    message: str = ""
    relation: str | None = None
    compiled_path: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    failures: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    exception: BaseException | None = field(default=None, repr=False, compare=False)  # not written


def write_run_results(
    settings: Settings,
    results: list[NodeResult],
    *,
    command: str,
    args: dict[str, Any],
    elapsed: float,
    invocation_id: str,
) -> Path:
    path = settings.target_dir / "run_results.json"
    data = {
        "metadata": _metadata(RUN_RESULTS_VERSION, settings, invocation_id),
        "command": command,
        "results": [
            {
                "unique_id": r.unique_id,
                "name": r.name,
                "resource_type": RESOURCE_TYPES.get(r.kind, r.kind),
                "status": r.status,
                "execution_time": round(r.execution_time, 4),
                "timing": [{"name": "execute", "started_at": r.started_at, "completed_at": r.completed_at}],
                "adapter_response": {"rows_affected": r.rows},
                "message": r.message,
                "failures": r.failures,
                "relation_name": r.relation,
                "compiled_path": r.compiled_path,
                **({"details": r.extra} if r.extra else {}),
            }
            for r in results
        ],
        "elapsed_time": round(elapsed, 4),
        "args": args,
    }
    _write_json(path, data)
    return path


def read_run_results(target_dir: Path, *, required: bool = True) -> dict[str, Any]:
    """The last command's run_results.json; without it, ConfigError (exit 2) or {} when not required."""
    path = target_dir / "run_results.json"
    if not path.is_file():
        if not required:
            return {}
        from netflix_elt.errors import ConfigError

        raise ConfigError(f"{path} does not exist: there is no previous run to retry")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if not required:
            return {}
        raise


def write_compiled(target_dir: Path, node: Node, sql: str) -> Path:
    """Write a node's SQL under target/compiled/<layer>/<name>.sql (as dbt does)."""
    path = target_dir / "compiled" / node.layer / f"{node.name}.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql.rstrip() + ";\n", encoding="utf-8")
    return path
