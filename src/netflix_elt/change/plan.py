"""`netflix-elt plan`: what `build` would do to each selected node and why, changing nothing.

The verdict (built or left as it is) is `Builders.up_to_date`, the very call `build` makes, over
a read-only BuildState: plan cannot disagree with build. The reason is read from what the last
build recorded beside each fingerprint (BuildState.made_of, AUDIT.BUILD_DETAILS): the node's own
checksum (code changed: a diff of its SELECT against the one built, and whether the change is
breaking, as SQLMesh categorises: a column removed or retyped is, an added column or a change of
logic only is not), its inputs' fingerprints (upstream changed, or new loads of a source), its
suite. Nothing is written: no AUDIT table is created, no target/ artifact.

What it cannot see: files landed but not loaded yet (`build` loads them first; plan reads RAW as
it is), rows changed in RAW by hand (the fingerprints cannot either).
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import sqlglot

from netflix_elt.build_state import BuildState, WatermarkStore
from netflix_elt.builders import Builders
from netflix_elt.commands import build_selection
from netflix_elt.compiler import relation_of
from netflix_elt.materializations import BuildContext
from netflix_elt.registry import Kind, Materialized, Node

if TYPE_CHECKING:
    from snowflake.snowpark.types import StructType

    from netflix_elt.api import Workspace

BUILDS = "build"
UP_TO_DATE = "up to date"
# why a node would be built; the first five are causes of their own, "upstream changed" is forced
NEW, MISSING, CODE, LOADS, SUITE, CHANGED, UPSTREAM = (
    "new",
    "relation missing",
    "code changed",
    "new source loads",
    "tests changed",
    "changed",
    "upstream changed",
)


@dataclass
class NodePlan:
    """One node's verdict and reason; `diff`, `category` and the column lists for a code change."""

    name: str
    kind: str
    materialized: str
    relation: str
    action: str  # BUILDS or UP_TO_DATE
    reason: str  # UP_TO_DATE, or one of NEW ... UPSTREAM
    detail: str = ""
    how: str = ""  # what build would run: "create view", "full build", "merge new rows", ...
    diff: str | None = None
    category: str | None = None  # "breaking" / "non-breaking" (a code change of a table or view)
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    retyped: list[str] = field(default_factory=list)  # "COL: OLD -> NEW"
    upstream: list[str] = field(default_factory=list)  # the changed inputs (upstream changed, new loads)
    forces: list[str] = field(default_factory=list)  # the selected downstream this change rebuilds


@dataclass
class Plan:
    target: str
    nodes: list[NodePlan]

    @property
    def to_build(self) -> list[NodePlan]:
        return [n for n in self.nodes if n.action == BUILDS]

    @property
    def changes(self) -> bool:
        return bool(self.to_build)

    def summary(self) -> str:
        """`3 to build (1 breaking), 12 up to date`."""
        breaking = sum(n.category == "breaking" for n in self.nodes)
        return f"{len(self.to_build)} to build ({breaking} breaking), {len(self.nodes) - len(self.to_build)} up to date"

    def as_json(self) -> dict[str, Any]:
        counts = {
            "build": len(self.to_build),
            "breaking": sum(n.category == "breaking" for n in self.nodes),
            "up_to_date": len(self.nodes) - len(self.to_build),
        }
        nodes = [asdict(n) for n in self.nodes]
        return {"target": self.target, "summary": self.summary(), "counts": counts, "nodes": nodes}


def pretty_sql(sql: str) -> str:
    """One clause a line (Snowpark's SQL is one long line), so a diff shows the line that changed."""
    try:
        return sqlglot.transpile(sql, read="snowflake", write="snowflake", pretty=True)[0]
    except sqlglot.errors.ParseError:
        return sql


def sql_diff(name: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        pretty_sql(old).splitlines(), pretty_sql(new).splitlines(), f"{name} (built)", f"{name} (now)", lineterm=""
    )
    return "\n".join(lines)


def _types(schema: StructType) -> dict[str, str]:
    return {f.name.strip('"').upper(): str(f.datatype) for f in schema.fields}


def categorize(old: dict[str, str], new: dict[str, str]) -> tuple[str, list[str], list[str], list[str]]:
    """SQLMesh's categories from two {column: type} maps: (category, removed, added, retyped)."""
    removed = [c for c in old if c not in new]
    added = [c for c in new if c not in old]
    retyped = [f"{c}: {old[c]} -> {new[c]}" for c in old if c in new and old[c] != new[c]]
    return ("breaking" if removed or retyped else "non-breaking"), removed, added, retyped


class Planner:
    """One plan over one read-only build state and the same Builders decision build makes."""

    def __init__(self, ws: Workspace) -> None:
        from netflix_elt.quality.suites import suite_paths

        self.ws = ws
        self.state = BuildState(
            ws.session, ws.settings, ws.project, suite_paths(ws.settings.project_dir), read_only=True
        )
        self.builders = Builders(ws.settings, ws.project, ws.adapter, ws.invocation, self.state)
        self.compiler = ws.compiler(inline_missing=True)  # an input never built is inlined, as `compile` does

    def plan(self, select_: tuple[str, ...] | list[str] = (), exclude: tuple[str, ...] | list[str] = ()) -> Plan:
        names, _tested = build_selection(self.ws, select_, exclude)
        project = self.ws.project
        built = [n for n in names if project[n].kind in (Kind.SEED, Kind.TRANSFORM, Kind.SNAPSHOT)]
        nodes = [self.node(project[n]) for n in built]
        building = {n.name for n in nodes if n.action == BUILDS}
        for n in nodes:
            if n.action == BUILDS and n.reason != UPSTREAM:
                below = project.dag.descendants(n.name)
                n.forces = [m for m in built if m in below and m in building]
        return Plan(self.ws.settings.target, nodes)

    def node(self, node: Node) -> NodePlan:
        relation = relation_of(self.ws.settings, node)
        out = NodePlan(node.name, str(node.kind), str(node.materialized), relation, UP_TO_DATE, UP_TO_DATE)
        if self.builders.up_to_date(node):  # the call build makes
            out.detail = "code and inputs unchanged" if node.kind != Kind.SEED else "file unchanged"
            return out
        out.action = BUILDS
        self._reason(node, out)
        out.how = self._how(node, out)
        return out

    def _reason(self, node: Node, out: NodePlan) -> None:
        state, name = self.state, node.name
        recorded = state.recorded().get(name)
        made = state.details().get(name)
        if recorded is None:
            out.reason, out.detail = NEW, "never built in this target"
            if node.kind != Kind.SEED and self.ws.adapter.relation_exists(out.relation):
                out.detail = "no build of it recorded in this target (the relation exists)"
            return
        if recorded.split("+")[0] == state.fingerprint(name):
            out.reason, out.detail = MISSING, f"{out.relation} is gone"
            return
        if made is None:
            out.reason, out.detail = CHANGED, "its fingerprint changed (built before plan kept details)"
            return
        if made.get("checksum") != state.checksum(name):
            out.reason = CODE
            if node.kind == Kind.SEED:
                out.detail = f"{node.file} changed"
            else:
                self._code_change(node, made, out)
            return
        inputs = made.get("inputs") or {}
        changed = [i for i in node.inputs if inputs.get(i) != state.fingerprint(i)]
        sources = self.ws.settings.config.sources
        loaded = [i for i in changed if i in sources and self._only_loads(i, made)]
        if changed and len(loaded) == len(changed):
            out.reason, out.upstream = LOADS, loaded
            versions = state.source_versions()
            was = made.get("loads") or {}
            out.detail = "; ".join(
                f"{i}: load {_load(versions.get(sources[i].table))} (read: {_load(was.get(i))})" for i in loaded
            )
        elif changed:
            out.reason, out.upstream = UPSTREAM, changed
            out.detail = f"{', '.join(changed)} changed"
        elif made.get("suite") != state.suite_hash(name):
            out.reason, out.detail = SUITE, "its expectation suite changed (it is rebuilt and tested)"
        else:
            out.reason, out.detail = CHANGED, "its settings changed"

    def _only_loads(self, source: str, made: dict[str, Any]) -> bool:
        """Whether a source input changed by new loads only (its settings as they were)."""
        state, table = self.state, self.ws.settings.config.sources[source].table
        return (made.get("loads") or {}).get(source) != state.source_versions().get(table, "never loaded")

    def _code_change(self, node: Node, made: dict[str, Any], out: NodePlan) -> None:
        new_sql = self.compiler.select_sql(node)
        old_sql = made.get("sql")
        out.diff = sql_diff(node.name, old_sql, new_sql) if old_sql else None
        if not out.diff:
            out.detail = "its settings changed (the SQL is the same)" if old_sql else "no SQL kept of the last build"
        if node.kind != Kind.TRANSFORM or not self.ws.adapter.relation_exists(out.relation):
            return
        session = self.ws.session
        new = _types(self.compiler.dataframe(node).schema)  # Snowpark describes it, without running it
        old = _types(session.table(out.relation).schema)
        out.category, out.removed, out.added, out.retyped = categorize(old, new)
        parts = [f"removed {', '.join(out.removed)}"] if out.removed else []
        parts += [f"retyped {', '.join(out.retyped)}"] if out.retyped else []
        parts += [f"added {', '.join(out.added)}"] if out.added else []
        out.detail = "; ".join(parts) or out.detail or "logic only (same columns and types)"

    def _how(self, node: Node, out: NodePlan) -> str:
        if node.kind == Kind.SEED:
            return "load the seed"
        if node.kind == Kind.SNAPSHOT:
            return "apply the snapshot (MERGE)"
        if node.materialized == Materialized.VIEW:
            return "create view"
        if node.materialized != Materialized.INCREMENTAL:
            return "create table"
        if not self.ws.adapter.relation_exists(out.relation):
            return "full build (table missing)"
        from netflix_elt.materializations.incremental import Incremental

        ctx = BuildContext(
            self.ws.settings, self.ws.project, self.ws.adapter, self.ws.invocation, self.compiler, self.state.basis
        )
        basis = self.state.basis(node, Incremental.streams(ctx, node))
        kept = WatermarkStore(self.ws.session, self.ws.settings, read_only=True).basis(node.name)
        return "merge new rows" if kept == basis else "full build (code or a non-stream input changed)"


def _load(version: str | None) -> str:
    """`7:3` (newest load id, loads) as `7 (3 loads)`."""
    if not version or ":" not in version:
        return version or "none"
    newest, count = version.split(":", 1)
    return f"{newest} ({count} loads)"


def plan(ws: Workspace, select_: tuple[str, ...] | list[str] = (), exclude: tuple[str, ...] | list[str] = ()) -> Plan:
    """The plan of `build -s ... --exclude ...` in the workspace's target, changing nothing."""
    with ws.locked("plan", wait=False):
        return Planner(ws).plan(select_, exclude)
