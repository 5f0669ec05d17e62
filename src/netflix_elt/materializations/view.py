"""`materialized="view"`: CREATE OR REPLACE VIEW over the transform's SELECT."""

from __future__ import annotations

from netflix_elt.errors import TransformError
from netflix_elt.materializations.base import BuildContext, BuildResult, Materialization
from netflix_elt.materializations.statements import create_view_sql
from netflix_elt.registry import Node


class View(Materialization):
    def build(self, ctx: BuildContext, node: Node, *, full_refresh: bool = False) -> BuildResult:
        relation = ctx.relation(node)
        stmt = create_view_sql(relation, ctx.compiler.select_sql(node))
        ctx.adapter.session.sql(stmt).collect()
        ctx.adapter.confirm_written(f"view {relation}", TransformError)
        return BuildResult(None, [stmt])
