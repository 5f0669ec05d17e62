"""The SCD2 snapshot strategy: CTAS on the first run, else pre-checks, ALTERs and one MERGE.

The SQL is built by netflix_elt.snapshots (pure functions of a SnapshotPlan); this module runs
it. Everything that can fail on the data is checked before any statement changes anything, and
the run's changes go through `adapter.merge_versions` (the MERGE on Snowflake; on the embedded
engine its UPDATE and INSERT in one transaction), so the table is always the old or the new one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from netflix_elt.errors import SnapshotError
from netflix_elt.materializations.base import BuildContext, BuildResult, Materialization
from netflix_elt.registry import Node
from netflix_elt.snapshots import (
    SnapshotPlan,
    create_sql,
    duplicate_message,
    nulls_sql,
    precheck_sql,
    skipped_keys_message,
    sql_type,
    version_changes,
)
from netflix_elt.sql import quote, wrap


def check_columns(node: Node, plan: SnapshotPlan) -> None:
    """Fail early, naming the snapshot and the column, on a config that cannot work."""
    cols = set(plan.data_columns)
    where = f"snapshot {node.name!r} ({node.file})"
    clash = sorted(cols & {c.upper() for c in plan.meta.model_dump().values()})
    if clash:
        raise SnapshotError(
            f"{where}: source column(s) {clash} clash with snapshot meta columns; rename them in the "
            "source or set [snapshots.meta_column_names]"
        )
    wanted = [*plan.unique_key, *([plan.config.updated_at] if plan.config.updated_at else []), *plan.check_columns]
    missing = [c for c in wanted if c not in cols]
    if missing:
        raise SnapshotError(f"{where}: column(s) {missing} are not in the source (columns: {sorted(cols)})")


class Snapshot(Materialization):
    def build(self, ctx: BuildContext, node: Node, *, full_refresh: bool = False) -> BuildResult:
        """Apply one snapshot run at the invocation's `run_started_at` (a snapshot has no full refresh)."""
        from snowflake.snowpark.types import StringType

        assert node.snapshot is not None
        adapter, settings = ctx.adapter, ctx.settings
        session = adapter.session
        source_sql = ctx.compiler.select_sql(node)
        schema = session.sql(wrap(source_sql)).schema
        text_cols = {f.name.strip('"').upper() for f in schema.fields if isinstance(f.datatype, StringType)}
        plan = SnapshotPlan(
            name=node.name,
            relation=ctx.relation(node),
            source_sql=source_sql,
            source_columns=tuple(f.name.strip('"') for f in schema.fields),
            unique_key=node.unique_key,
            config=node.snapshot,
            meta=settings.config.snapshots.meta_column_names,
            run_started_at=ctx.invocation.run_started_at,
            text_keys=tuple(k for k in node.unique_key if k.upper() in text_cols),
        )
        check_columns(node, plan)
        stmts: list[str] = []

        def run(sql: str) -> list[Any]:
            stmts.append(sql)
            return session.sql(sql).collect()

        dups = run(precheck_sql(plan))
        if dups:
            raise SnapshotError(duplicate_message(node.name, plan.unique_key, dups))
        bad_keys, null_ua = (int(v) for v in run(nulls_sql(plan))[0])
        if null_ua:
            raise SnapshotError(
                f"{node.name}: the source has {null_ua} rows with a NULL {plan.config.updated_at.lower()}; "  # type: ignore[union-attr]
                "a snapshot cannot track them"
            )
        skipped = f"; {skipped_keys_message(plan, bad_keys)}" if bad_keys else ""
        plan = replace(plan, guard_deletes=bad_keys > 0)
        check = f"SELECT COUNT(*) FROM {plan.relation}"

        if not adapter.relation_exists(plan.relation):
            run(f"CREATE SCHEMA IF NOT EXISTS {settings.database}.{settings.snapshot_schema}")
            run(create_sql(plan))
            adapter.confirm_written(f"snapshot {plan.relation}", SnapshotError, check)
            rows = adapter.row_count(plan.relation)
            return BuildResult(rows, stmts, f"created: {rows} versions{skipped}")

        table_cols = [c.strip('"') for c in session.table(plan.relation).columns]
        meta_names = {c.upper() for c in plan.meta.model_dump().values()}
        absent = [c for c in plan.meta_columns if c not in table_cols]
        if absent:
            raise SnapshotError(
                f"{node.name}: {plan.relation} has no meta column(s) {absent}; were "
                "[snapshots.meta_column_names] or hard_deletes changed after it was created?"
            )
        data_cols = [c for c in table_cols if c not in meta_names]
        types = {f.name.strip('"'): f.datatype for f in schema.fields}
        for col in plan.data_columns:
            if col not in data_cols:
                # DDL before the MERGE: Snowflake would commit an open transaction at a DDL anyway
                run(f"ALTER TABLE {plan.relation} ADD COLUMN {quote(col)} {sql_type(types[col])}")
                data_cols.append(col)

        changes = version_changes(plan, data_cols)
        inserted, closed = adapter.merge_versions(
            plan.relation, changes, log=stmts, name=node.name, error=SnapshotError
        )
        adapter.confirm_written(f"snapshot {plan.relation}", SnapshotError, check)
        rows = adapter.row_count(plan.relation)
        return BuildResult(rows, stmts, f"{inserted} new versions, {closed} closed{skipped}")

    def compiled_text(self, ctx: BuildContext, node: Node, result: BuildResult) -> str:
        """The whole script (checks, ALTERs, MERGE) so what ran can be replayed and reviewed."""
        return ";\n\n".join(result.sql)
