"""`materialized="incremental"`: a full build the first time, then a MERGE of the rows beyond the watermark.

The MERGE goes through `adapter.upsert` (atomic on every engine). The watermark
(build_state.WatermarkStore) is only read-progress bookkeeping: it is saved after the merge is
confirmed on disk, so a crash in between merges the same rows again next time (idempotent).

Which inputs are merged: the stream inputs, those with the incremental_key column (rows only
ever added to them, read beyond the watermark). A change to anything else the rows rest on (the
node's code or settings, a seed or dimension it joins, the code above a stream) makes the next
build a full one (`BuildState.basis`), as SQLMesh backfills a breaking change, so the table is
always the one `--full-refresh` would build.
"""

from __future__ import annotations

from netflix_elt.build_state import PassedStore, WatermarkStore
from netflix_elt.errors import TransformError
from netflix_elt.faults import fault
from netflix_elt.materializations.base import BuildContext, BuildResult, Materialization
from netflix_elt.materializations.statements import (
    create_table_sql,
    delta_sql,
    incremental_merge_sql,
    incremental_source_sql,
    latest_order,
    repeated_keys_sql,
)
from netflix_elt.registry import Node
from netflix_elt.sql import quote, wrap


class Incremental(Materialization):
    # the contract is checked on the rows merged, not on the whole SELECT: its NOT NULL count over
    # fct_ratings' SELECT is a 20M-row window at ml-20m, a second full scan on every incremental run
    enforces_contract_itself = True

    def build(self, ctx: BuildContext, node: Node, *, full_refresh: bool = False) -> BuildResult:
        adapter = ctx.adapter
        session = adapter.session
        relation = ctx.relation(node)
        sql = ctx.compiler.select_sql(node)
        assert node.incremental_key
        key = quote(node.incremental_key)
        order = latest_order(node)
        columns = adapter.columns(sql)
        missing = [c for c in (*node.unique_key, *order) if c.upper() not in {n.upper() for n in columns}]
        if missing:
            raise TransformError(
                f"transform {node.name!r} ({node.file}): unique_key, incremental_key and latest_by must be "
                f"output columns (the table keeps them to compare later rows with); missing {', '.join(missing)}"
            )
        state = WatermarkStore(session, ctx.settings)
        basis = ctx.basis(node, self.streams(ctx, node)) if ctx.basis is not None else None
        exists = adapter.relation_exists(relation)
        rebase = exists and basis is not None and state.basis(node.name) != basis
        if full_refresh or rebase or not exists:
            full = incremental_source_sql(sql, node, None)
            checked: list[str] = []
            if node.deduplicate and adapter.checks_keys_before_dedupe:
                check = repeated_keys_sql(sql, node.unique_key)
                checked.append(check)
                # the SELECT runs twice (count, then CTAS) under the warehouse lock: the same rows both
                # times, unless the transform itself is not deterministic (RANDOM, LIMIT without ORDER BY)
                if not session.sql(check).collect()[0][0]:
                    full = sql  # no key repeats: the window would keep every row as it is
            self.enforce_contract(ctx, node, full)
            stmt = create_table_sql(relation, full)
            fault("incremental.rebuild")  # test hook: decided to rebuild, the old table and basis kept
            PassedStore(session, ctx.settings).forget(node.name)  # tests of the old rows prove nothing now
            session.sql(stmt).collect()
            rows = adapter.written_rows(relation, f"table {relation}", TransformError)
            state.set(node.name, session.sql(f"SELECT MAX({key}) FROM ({wrap(sql)})").collect()[0][0])
            state.set_basis(node.name, basis)  # last: a crash before it builds in full again
            why = " (code or a non-stream input changed)" if rebase and not full_refresh else ""
            return BuildResult(rows, [*checked, stmt], f"full build{why}")
        watermark = state.get(node.name)
        if watermark is None:
            watermark = session.sql(f"SELECT MAX({key}) FROM {relation}").collect()[0][0]
        # the highest key of every row beyond the watermark, not only of the rows that win their key
        delta = wrap(delta_sql(sql, node, watermark))
        new_watermark = session.sql(f"SELECT MAX({key}) FROM ({delta})").collect()[0][0]
        if new_watermark is None:  # nothing arrived since the last run
            return BuildResult(adapter.row_count(relation), [], "merged: 0 inserted, 0 updated", merged=True)
        source = incremental_source_sql(sql, node, watermark)
        self.enforce_contract(ctx, node, source)
        inserted, updated = adapter.upsert(
            relation,
            source,
            columns,
            node.unique_key,
            order,
            log=[],
            name=f"transform {node.name!r}",
            error=TransformError,
        )
        rows = adapter.written_rows(relation, f"the MERGE into {relation}", TransformError)
        fault("incremental.merge")  # test hook: merged, watermark not yet advanced
        state.set(node.name, new_watermark)
        # target/compiled shows the MERGE into the table itself, whatever copy the adapter merged into
        msg = f"merged: {inserted} inserted, {updated} updated"
        merge = incremental_merge_sql(relation, source, columns, node.unique_key, order)
        return BuildResult(rows, [merge], msg, merged=True)

    @staticmethod
    def streams(ctx: BuildContext, node: Node) -> set[str]:
        """The inputs read beyond the watermark: those carrying the incremental_key column."""
        assert node.incremental_key
        key = node.incremental_key.upper()
        cache: dict = {}
        return {
            inp
            for inp in node.inputs
            if key in {c.strip('"').upper() for c in ctx.compiler.input_frame(inp, cache).columns}
        }
