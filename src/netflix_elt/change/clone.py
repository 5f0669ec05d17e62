"""`netflix-elt clone --from prod --to dev [-s SEL]`: start a dev target from prod's relations.

Tables (table, incremental, seed) are copied with the adapter's clone statement: on Snowflake a
zero-copy `CREATE OR REPLACE TABLE dev.x CLONE prod.x`, on the embedded engine a full copy
(`adapter.zero_copy_clone`). Views cannot be cloned across schemas (prod's view names prod's
tables), so each is compiled again in the target schema over the target's relations; an input
the target lacks is read from the source target, as `--defer` does. Sources (RAW) and snapshots
(SNAPSHOTS) are shared by every target: nothing to clone.

The build state travels with the rows: each cloned node's fingerprint (AUDIT.BUILD_STATE) and,
for incremental ones, its watermark and basis, so the next build in the target skips what is up
to date and merges only what arrived after the source's last merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netflix_elt.build_state import StateTable
from netflix_elt.change.defer import Defer
from netflix_elt.change.targets import other_target
from netflix_elt.compiler import Compiler, relation_of
from netflix_elt.config import Settings
from netflix_elt.errors import ConfigError, SelectorError
from netflix_elt.materializations import BuildContext, strategy_for
from netflix_elt.registry import Materialized, Node

if TYPE_CHECKING:
    from netflix_elt.api import Workspace

# the state tables a node's rows depend on: (table, value column, stamp column)
STATE_TABLES = (
    ("BUILD_STATE", "FINGERPRINT", "BUILT_AT"),
    ("BUILD_DETAILS", "DETAILS", "BUILT_AT"),  # what the fingerprint was made of (plan, state:modified)
    ("INCREMENTAL_STATE", "WATERMARK", "UPDATED_AT"),
    ("INCREMENTAL_BASIS", "BASIS", "UPDATED_AT"),
)


@dataclass
class Cloned:
    name: str
    kind: str  # "table" (cloned or copied) or "view" (compiled again in the target)
    source: str
    target: str
    statement: str
    deferred: dict[str, str] = field(default_factory=dict)  # a view's inputs read from the source target


@dataclass
class CloneReport:
    source_target: str
    target: str
    zero_copy: bool
    cloned: list[Cloned] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # node -> why


def clone_nodes(ws: Workspace, select_: Sequence[str], exclude: Sequence[str]) -> list[Node]:
    """The relations a target has of its own (built transforms and seeds), in graph order."""
    names = ws.selected(select_, exclude, ("seed", "transform"))
    return [ws.project[n] for n in names if ws.project[n].builds]


def clone(ws: Workspace, from_target: str, select_: Sequence[str] = (), exclude: Sequence[str] = ()) -> CloneReport:
    """Copy the selected nodes' relations and build state from `from_target` into the workspace's target.

    Checked before anything changes: the source target exists and differs, and every node named
    by `-s` is built there (with no selection, nodes the source has not built are skipped).
    """
    src = other_target(ws.settings, from_target, "--from")
    dst = ws.settings
    if src.target == dst.target:
        raise ConfigError(f"--from {from_target!r} is the target cloned into (--to {dst.target!r})")
    nodes = clone_nodes(ws, select_, exclude)
    report = CloneReport(src.target, dst.target, ws.adapter.zero_copy_clone)
    with ws.writing("clone", {"from": src.target, "select": list(select_), "exclude": list(exclude)}):
        absent = [n for n in nodes if not ws.adapter.relation_exists(relation_of(src, n))]
        if absent and select_:
            missing = ", ".join(f"{n.name} ({relation_of(src, n)})" for n in absent)
            raise SelectorError(f"not built in target {src.target!r}, so nothing to clone: {missing}")
        report.skipped = {n.name: f"not built in target {src.target!r}" for n in absent}
        ws.session.sql(f"CREATE SCHEMA IF NOT EXISTS {dst.database}.{dst.target_schema}").collect()
        for node in (n for n in nodes if n not in absent):
            report.cloned.append(_clone_one(ws, src, node))
            _copy_state(ws, src, node, fresh=not report.cloned[-1].deferred)
    return report


def _clone_one(ws: Workspace, src: Settings, node: Node) -> Cloned:
    source, target = relation_of(src, node), relation_of(ws.settings, node)
    if node.materialized != Materialized.VIEW:
        stmt = ws.adapter.clone_table_sql(source, target)
        ws.session.sql(stmt).collect()
        return Cloned(node.name, "table", source, target, stmt)
    compiler = Compiler(ws.project, ws.settings, ws.adapter, ws.invocation, defer=Defer(src, frozenset()))
    ctx = BuildContext(ws.settings, ws.project, ws.adapter, ws.invocation, compiler)
    built = strategy_for(node).apply(ctx, node)  # a view with a contract is checked, as in a build
    return Cloned(node.name, "view", source, target, built.sql[-1], dict(compiler.deferred))


def _copy_state(ws: Workspace, src: Settings, node: Node, *, fresh: bool) -> None:
    """The node's state rows from the source target's scope into this one's (absent there: none here).

    A view that reads the source target's relations (`fresh` False) gets no fingerprint: the next
    build compiles it again over the target's own."""
    for table, value, stamp in STATE_TABLES:
        if table not in ("BUILD_STATE", "BUILD_DETAILS") and node.materialized != Materialized.INCREMENTAL:
            continue
        theirs = StateTable(ws.session, src, table, value, stamp).get(node.name)
        ours = StateTable(ws.session, ws.settings, table, value, stamp)
        ours.put(node.name, theirs if fresh else None)
