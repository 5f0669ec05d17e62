"""`materialized="table"`: CREATE OR REPLACE TABLE AS the transform's SELECT (one atomic statement)."""

from __future__ import annotations

from netflix_elt.errors import TransformError
from netflix_elt.faults import fault
from netflix_elt.materializations.base import BuildContext, BuildResult, Materialization
from netflix_elt.materializations.statements import create_table_sql
from netflix_elt.registry import Node


class Table(Materialization):
    def build(self, ctx: BuildContext, node: Node, *, full_refresh: bool = False) -> BuildResult:
        adapter = ctx.adapter
        relation = ctx.relation(node)
        stmt = create_table_sql(relation, ctx.compiler.select_sql(node))
        adapter.session.sql(stmt).collect()
        rows = adapter.written_rows(relation, f"table {relation}", TransformError)
        fault("transform.build")  # test hook (netflix_elt.faults)
        return BuildResult(rows, [stmt])
