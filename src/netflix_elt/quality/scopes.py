"""Which tables a command tests incrementally, and the passing state it records for the next one.

`build` and `validate` ask `Scopes.decide` per suite: None (whole tables: a full build, a
`--full-refresh`, `validate --full`, a table that is not incremental, or no passing state to
build on) or a `Scope` over the rows beyond the last passing watermark. After a suite ran,
`Scopes.record` keeps what passed (AUDIT.TEST_STATE) for the next command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netflix_elt.build_state import PassedStore
from netflix_elt.compiler import relation_of
from netflix_elt.quality.incremental import (
    LOAD_COLUMN,
    Passed,
    Scope,
    can_scope,
    loads_named,
    newest_load,
    spec_hash,
    watermark_of,
)

if TYPE_CHECKING:
    from netflix_elt.build_state import BuildState
    from netflix_elt.quality.results import ExpectationResult
    from netflix_elt.quality.suites import Suite
    from netflix_elt.registry import Node


class Scopes:
    """One command's decisions over one build state (fingerprints and loads read once)."""

    def __init__(self, state: BuildState, *, full: bool = False) -> None:
        self.state = state
        self.full = full
        self.store = PassedStore(state.session, state.settings)

    def previous(self, node: Node) -> Passed | None:
        return Passed.from_json(self.store.get(node.name))

    def up_to_date(self, node: Node, suite: Suite) -> bool:
        """A source whose loads are those its whole suite, as written now, passed on."""
        prev = None if self.full else self.previous(node)
        return prev is not None and prev.fingerprint == self.state.fingerprint(node.name) and prev.covers(suite)

    def decide(self, node: Node, suite: Suite, *, rebuilt: bool = False) -> Scope | None:
        """A Scope over what changed since the suite last passed, or None for whole tables."""
        if self.full or rebuilt or not can_scope(node):
            return None
        prev = self.previous(node)
        if prev is None or prev.watermark is None:
            return None
        changed = frozenset(r for r in suite.refs() if prev.refs.get(r) != self.state.fingerprint(r))
        column = node.incremental_key or LOAD_COLUMN
        return Scope(relation_of(self.state.settings, node), column.lower(), prev, changed)

    def record(self, node: Node, suite: Suite, results: list[ExpectationResult], rows: int | None = None) -> None:
        """Keep the expectations that passed, with what a later incremental run proves from.

        `rows` is the table's row count if the command already knows it (the build counted it);
        it is counted only when a delta query needs it.
        """
        if not can_scope(node):
            return
        passed = {r.expectation for r in results if r.status == "pass"}
        labels = {s.label: spec_hash(s) for s in suite.expectations if s.label in passed}
        watermark = watermark_of(self.state, node)
        if not labels or watermark is None:
            self.store.forget(node.name)
            return
        needs_rows = any("{passed:rows}" in str(s.incremental) for s in suite.expectations)
        if needs_rows and rows is None:
            relation = relation_of(self.state.settings, node)
            rows = int(self.state.session.sql(f"SELECT COUNT(*) FROM {relation}").collect()[0][0])
        loads: dict[str, Any] = {}
        for source in sorted(loads_named(suite)):
            newest = newest_load(self.state, source)
            if newest is not None:
                loads[source] = newest
        refs = {r: self.state.fingerprint(r) for r in sorted(suite.refs())}
        fp = self.state.fingerprint(node.name)
        kept = Passed(watermark, fp, labels, rows if needs_rows else None, loads, refs)
        self.store.put(node.name, kept.as_json())
