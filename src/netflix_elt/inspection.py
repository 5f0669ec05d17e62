"""Read-only commands: the SQL of transforms (`compile`), a preview of rows (`show`), the tables.

They change nothing in the warehouse; on an engine whose files one process at a time may open,
the workspace still takes the lock, without waiting, so a writer elsewhere gives a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.adapters import adapter_class
from netflix_elt.artifacts import target_relative, write_compiled, write_manifest
from netflix_elt.compiler import relation_of
from netflix_elt.errors import ConfigError, TransformError
from netflix_elt.graph import unique_id
from netflix_elt.suggest import unknown

if TYPE_CHECKING:
    from netflix_elt.api import Workspace


def compile_sql(ws: Workspace, names: Sequence[str] = ()) -> dict[str, tuple[Path, str]]:
    """SQL of each transform (all when none named), also written under target/compiled/."""
    chosen = list(names) or [n.name for n in ws.project.of_kind("transform", "snapshot")]
    compilable = [n.name for n in ws.project.of_kind("transform", "snapshot")]
    for name in chosen:
        if name in ws.project and name not in compilable:
            raise ConfigError(
                f"{name!r} is a {ws.project[name].kind}: only transforms and snapshots have SQL to compile"
            )
        if name not in compilable:
            raise ConfigError(unknown("transform or snapshot", name, compilable))
    out: dict[str, tuple[Path, str]] = {}
    comp = ws.compiler(inline_missing=True)
    for name in chosen:
        sql = comp.select_sql(ws.project[name])
        out[name] = (write_compiled(ws.settings.target_dir, ws.project[name], sql), sql)
    pname = ws.settings.config.project.name
    compiled = {
        unique_id(pname, ws.project[name]): (target_relative(ws.settings, path), sql)
        for name, (path, sql) in out.items()
    }
    write_manifest(ws.project, ws.settings, ws.invocation_id, engine=adapter_class(ws.settings).name, compiled=compiled)
    return out


def show_rows(ws: Workspace, name: str, limit: int = 10) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Preview rows of a node (its relation, or the compiled query for ephemeral/analysis)."""
    if name not in ws.project:
        raise ConfigError(unknown("node", name, ws.project.nodes))
    node = ws.project[name]
    if not node.builds:
        sql = ws.compiler(inline_missing=True).select_sql(node)
    else:
        relation = relation_of(ws.settings, node)
        if not ws.adapter.relation_exists(relation):
            how = {"source": "load", "seed": f"seed -s {name}", "snapshot": f"snapshot -s {name}"}
            build = how.get(node.kind, f"run -s +{name}")
            raise TransformError(f"{name!r} is not built yet ({relation}); run `netflix-elt {build}`")
        sql = f"SELECT * FROM {relation}"
    df = ws.session.sql(f"SELECT * FROM ({sql}) LIMIT {int(limit)}")
    rows = df.collect()
    return [c.strip('"') for c in df.columns], [tuple(r) for r in rows]


def list_tables(ws: Workspace) -> list[tuple[str, str, str, int]]:
    """Every table and view of the warehouse: (schema, name, TABLE or VIEW, rows)."""
    db = ws.settings.database
    return [
        (schema, name, kind, ws.adapter.row_count(f"{db}.{schema}.{name}"))
        for schema, name, kind in ws.adapter.relations(db)
    ]
