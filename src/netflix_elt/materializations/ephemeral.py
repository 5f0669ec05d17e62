"""`ephemeral` and `analysis`: compiled (inlined into readers, or written for people), never built."""

from __future__ import annotations

from netflix_elt.errors import TransformError
from netflix_elt.materializations.base import BuildContext, BuildResult, Materialization
from netflix_elt.registry import Node


class Ephemeral(Materialization):
    def build(self, ctx: BuildContext, node: Node, *, full_refresh: bool = False) -> BuildResult:
        raise TransformError(f"transform {node.name!r}: materialization {node.materialized!r} is not built")

    def compiled_text(self, ctx: BuildContext, node: Node, result: BuildResult) -> str:
        return ctx.compiler.select_sql(node)
