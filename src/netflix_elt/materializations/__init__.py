"""Materializations: one class per way a node is written (view, table, incremental, ephemeral, snapshot).

`strategy_for(node)` picks the class once from `node.materialized`; each has the same small
interface (`build`, `compiled_text`), as SQLMesh's evaluation strategies do.
"""

from __future__ import annotations

from netflix_elt.materializations.base import BuildContext, BuildResult, Materialization
from netflix_elt.materializations.ephemeral import Ephemeral
from netflix_elt.materializations.incremental import Incremental
from netflix_elt.materializations.snapshot import Snapshot
from netflix_elt.materializations.table import Table
from netflix_elt.materializations.view import View
from netflix_elt.registry import Materialized, Node

STRATEGIES: dict[Materialized, Materialization] = {
    Materialized.VIEW: View(),
    Materialized.TABLE: Table(),
    Materialized.INCREMENTAL: Incremental(),
    Materialized.EPHEMERAL: Ephemeral(),
    Materialized.ANALYSIS: Ephemeral(),
    Materialized.SNAPSHOT: Snapshot(),
}

__all__ = ["STRATEGIES", "BuildContext", "BuildResult", "Materialization", "strategy_for"]


def strategy_for(node: Node) -> Materialization:
    """The materialization of a node, chosen from `node.materialized`."""
    return STRATEGIES[Materialized(node.materialized)]
