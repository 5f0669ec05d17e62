"""One builder per step kind of a command's graph: seed, transform, snapshot, test suite.

Builders share one context (settings, project, adapter, invocation, build state, validator): a
node whose fingerprint is recorded and whose relation exists is left as it is ("up to date");
what is built is recorded after it is confirmed on disk; a suite that passed is recorded with
its node, so an unchanged node is not tested twice (`run` builds without tests, `build` tests).
After an incremental merge (or a load appended to a RAW table) a suite runs on what changed
since it last passed (quality.scopes); a source whose loads are those its suite passed on is not
tested again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netflix_elt.artifacts import NodeResult, target_relative, write_compiled
from netflix_elt.build_state import BuildState
from netflix_elt.compiler import Compiler, relation_of
from netflix_elt.graph import GraphNode, Step
from netflix_elt.known_relations import KnownRelations
from netflix_elt.materializations import BuildContext, strategy_for
from netflix_elt.registry import Kind, Node

if TYPE_CHECKING:
    from netflix_elt.adapters import Adapter
    from netflix_elt.change.defer import Defer
    from netflix_elt.config import Settings
    from netflix_elt.invocation import Invocation
    from netflix_elt.quality import DataValidator
    from netflix_elt.registry import Project
    from netflix_elt.runner import Builder


@dataclass
class Builders:
    """The builders of one command, over one build state read once when the command starts."""

    settings: Settings
    project: Project
    adapter: Adapter
    invocation: Invocation
    state: BuildState
    validator: DataValidator | None = None  # only commands that run tests need GX
    full_refresh: bool = False
    built: dict[str, NodeResult] = field(default_factory=dict)
    defer: Defer | None = None  # --defer: see netflix_elt.change.defer
    # built this command from another target's rows (directly or upstream): not recorded as built
    from_deferred: set[str] = field(default_factory=set)
    known: KnownRelations = field(init=False)  # which relations exist: one catalog query per command

    def __post_init__(self) -> None:
        self.known = KnownRelations(self.adapter, self.settings)

    def by_step(self) -> dict[Step, Builder]:
        return {Step.SEED: self.seed, Step.TRANSFORM: self.model, Step.SNAPSHOT: self.model, Step.TEST: self.test}

    # helpers -----------------------------------------------------------------------------------
    def context(self) -> BuildContext:
        compiler = Compiler(
            self.project, self.settings, self.adapter, self.invocation, defer=self.defer, known=self.known
        )
        return BuildContext(
            self.settings,
            self.project,
            self.adapter,
            self.invocation,
            compiler,
            basis=self.state.basis if self.state is not None else None,  # no build state: never rebuilt on it
        )

    def _result(self, gnode: GraphNode, status: str, message: str, **kw: Any) -> NodeResult:
        return NodeResult(gnode.name, gnode.unique_id, gnode.kind, status, message=message, **kw)

    def _reads_deferred(self, node: Node) -> bool:
        """Whether an input (through ephemeral ones) was built this command from deferred rows."""
        for name in node.inputs:
            inp = self.project[name]
            if name in self.from_deferred or (not inp.builds and inp.is_model and self._reads_deferred(inp)):
                return True
        return False

    def up_to_date(self, node: Node) -> bool:
        """Whether the node is left as it is: the one decision `build` and `plan` both make."""
        exists = self.known.exists(relation_of(self.settings, node))
        return not self.full_refresh and self.state.is_current(node, exists)

    # steps -------------------------------------------------------------------------------------
    def seed(self, gnode: GraphNode) -> NodeResult:
        """Load a seed whose file changed since its last load (or whose table is gone)."""
        from netflix_elt.seeds import load_seeds

        node = gnode.node
        relation = relation_of(self.settings, node)
        if self.up_to_date(node):
            res = self._result(gnode, "success", "up to date (file unchanged)", relation=relation)
        else:
            self.state.forget(node)
            rows = load_seeds(self.adapter.session, self.settings, [node.name])[node.name]
            self.known.add(relation)
            self.state.record(node)
            res = self._result(gnode, "success", "seed", rows=rows, relation=relation)
        self.built[node.name] = res
        return res

    def model(self, gnode: GraphNode) -> NodeResult:
        """Build a transform or apply a snapshot, unless it is up to date; write what ran."""
        node = gnode.node
        relation = relation_of(self.settings, node)
        if self.up_to_date(node):
            res = self._result(
                gnode,
                "success",
                "up to date (code and inputs unchanged)",
                relation=relation,
                extra={"up_to_date": True},
            )
        else:
            self.state.forget(node)
            strategy = strategy_for(node)
            ctx = self.context()
            built = strategy.apply(ctx, node, full_refresh=self.full_refresh)
            if node.builds:
                self.known.add(relation)
            deferred = dict(ctx.compiler.deferred)
            message = built.message or str(node.materialized)
            if deferred or self._reads_deferred(node):
                # its rows rest on another target's: the next build without --defer rebuilds it
                self.from_deferred.add(node.name)
                if deferred and self.defer is not None:
                    message += f" ({self.defer.note(deferred)})"
            else:
                self.state.record(node, sql=ctx.compiler.select_sql(node))  # the SELECT `plan` diffs against
            code = strategy.compiled_text(ctx, node, built)
            path = write_compiled(self.settings.target_dir, node, code)
            res = self._result(
                gnode,
                "success",
                message,
                rows=built.rows,
                relation=relation,
                compiled_path=target_relative(self.settings, path),
                compiled_code=code,
                extra={"merged": built.merged, **({"deferred": deferred} if deferred else {})},
            )
        self.built[node.name] = res
        return res

    def test(self, gnode: GraphNode) -> NodeResult:
        """Run a node's suite on its table (on what changed, after an incremental merge); an
        error-severity failure fails the step (and so skips what reads the table), a warn-severity
        one only shows in the message."""
        from netflix_elt.quality.scopes import Scopes

        assert self.validator is not None, "a graph with tests needs a validator"
        node = gnode.node
        relation = relation_of(self.settings, node)
        built = self.built.get(node.name)
        if built is not None and built.extra.get("up_to_date") and self.state.was_tested(node):
            return self._result(gnode, "pass", "up to date (its tests passed on this build)", relation=relation)
        suite = self.validator.suites[node.name]
        scopes = Scopes(self.state, full=self.full_refresh)
        if node.kind == Kind.SOURCE and scopes.up_to_date(node, suite):
            return self._result(gnode, "pass", "up to date (its tests passed on these loads)", relation=relation)
        rebuilt = built is not None and not built.extra.get("up_to_date") and not built.extra.get("merged")
        deferred = node.name in self.from_deferred  # rows resting on another target's: whole, and not kept
        scope = scopes.decide(node, suite, rebuilt=rebuilt or deferred)
        tests = self.validator.run_suite(suite, scope=scope)  # its checkpoint appends failures to the audit table
        if deferred:
            scopes.store.forget(node.name)
        else:
            counted = built.rows if built is not None and built.extra.get("merged") else None  # the build's count
            scopes.record(node, suite, tests, rows=counted)
        failed = [t.expectation for t in tests if t.blocks]
        warned = [t.expectation for t in tests if t.status == "warn"]
        extra = {
            "suite": node.name,
            "tests": [
                {
                    "expectation": t.expectation,
                    "severity": t.severity,
                    "status": t.status,
                    "unexpected": t.unexpected_count,
                    "message": t.message,
                    "sample": json.loads(t.sample_json()),  # the failing rows the CLI's summary shows
                    "scope": t.scope,
                    "rows_checked": t.rows_checked,
                }
                for t in tests
            ],
        }
        if failed:
            status, message = "fail", f"{len(failed)} error-severity expectation(s) failed: {', '.join(failed)}"
        elif warned:
            status, message = "warn", f"{len(tests)} tests, warn: {', '.join(warned)}"
        else:
            status, message = "pass", f"{len(tests)} tests passed"
        if scope is not None and not failed:  # a failure's message names the expectations only
            changed = next((t.rows_checked for t in tests if t.scope.startswith("changed rows")), None)
            message += f" (incremental, {scope.column} > {scope.since_sql}" + (
                f": {changed:,} changed rows)" if changed is not None else ")"
            )
        if node.kind not in (Kind.SOURCE, Kind.SEED):  # sources and seeds are tested on every build
            if failed:
                self.state.forget(node)  # rebuilt and retested next time
            elif node.name not in self.from_deferred:
                self.state.record(node, tested=True)
        return self._result(gnode, status, message, relation=relation, failures=len(failed) or None, extra=extra)
