"""Materializations: the SQL the framework generates from each transform's DataFrame.

Snowpark gives the SELECT of a DataFrame; everything around it (CREATE OR REPLACE, MERGE) is
generated here, so it is the same Snowflake SQL on the emulator and on a real account. The
emulator's gaps are handled here too, never in transform code (see docs/EMULATOR_GAPS.md):
a top-level set operation is wrapped as `SELECT * FROM (...)`, and MERGE is written by hand
because Snowpark's `Table.merge` emits an unaliased USING subquery.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from netflix_elt.build_state import WatermarkStore
from netflix_elt.config import Settings
from netflix_elt.durability import confirm_written
from netflix_elt.errors import TransformError
from netflix_elt.faults import fault
from netflix_elt.registry import Node, Project
from netflix_elt.sql import literal, quote, wrap

if TYPE_CHECKING:
    from snowflake.snowpark import DataFrame, Session


@dataclass
class Compiler:
    """Turns nodes into DataFrames (by calling the transform functions) and DataFrames into SQL."""

    project: Project
    settings: Settings
    session: Session
    run_started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    inline_missing: bool = False
    _known: dict[str, bool] = field(default_factory=dict)

    def relation(self, node: Node) -> str:
        """The fully qualified name a non-ephemeral node is (or will be) stored under."""
        s = self.settings
        if node.kind == "source":
            return s.fqn(s.raw_schema, s.config.sources[node.name].table)
        if node.kind == "snapshot":
            return s.fqn(s.snapshot_schema, node.name)
        return s.fqn(s.target_schema, node.name)

    def input_frame(self, name: str, cache: dict[str, DataFrame]) -> DataFrame:
        node = self.project[name]
        if node.kind == "transform" and node.materialized == "ephemeral":
            return self.dataframe(node, cache)
        relation = self.relation(node)
        if not self._exists(relation):
            if self.inline_missing and node.kind == "transform":
                # compile/show before a build: inline the upstream query instead of its table
                return self.dataframe(node, cache)
            hint = {
                "source": "run `netflix-elt load` first",
                "seed": "run `netflix-elt seed` first",
            }.get(node.kind, f"build it first: `netflix-elt run -s +{node.name}`")
            raise TransformError(f"input {name!r} ({relation}) does not exist yet; {hint}")
        return self.session.table(relation)

    def _exists(self, relation: str) -> bool:
        if relation not in self._known:
            self._known[relation] = table_exists(self.session, relation)
        return self._known[relation]

    def dataframe(self, node: Node, cache: dict[str, DataFrame] | None = None) -> DataFrame:
        """Call the transform with its inputs; ephemeral inputs are inlined as subqueries."""
        cache = {} if cache is None else cache
        if node.name in cache:
            return cache[node.name]
        assert node.func is not None
        kwargs: dict[str, Any] = {n: self.input_frame(n, cache) for n in node.inputs}
        if node.takes_session:
            kwargs["session"] = self.session
        if "run_started_at" in _params(node.func):
            kwargs["run_started_at"] = self.run_started_at
        try:
            df = node.func(**kwargs)
        except Exception as e:
            raise TransformError(f"transform {node.name!r} ({node.file}) raised {type(e).__name__}: {e}") from e
        if df is None or not hasattr(df, "queries"):
            raise TransformError(
                f"transform {node.name!r} ({node.file}) returned {type(df).__name__}, not a Snowpark DataFrame"
            )
        cache[node.name] = df
        return df

    def select_sql(self, node: Node) -> str:
        """The single SELECT statement a transform compiles to."""
        sql = dataframe_sql(self.dataframe(node), node.name)
        check_output_names(sql, node)
        return sql


def _params(func: Callable[..., Any]) -> Sequence[str]:
    import inspect

    return list(inspect.signature(func).parameters)


def dataframe_sql(df: DataFrame, name: str) -> str:
    queries = df.queries
    if queries.get("post_actions") or len(queries["queries"]) != 1:
        raise TransformError(
            f"transform {name!r} builds temporary objects (e.g. session.create_dataframe); "
            "a transform must compile to a single SELECT"
        )
    return queries["queries"][-1].strip().rstrip(";")


_DISAMBIGUATED = re.compile(r"^[lr]_[0-9a-f]{4}_", re.IGNORECASE)


def check_output_names(sql: str, node: Node) -> None:
    """Refuse Snowpark's join-disambiguated names (`l_0001_MOVIE_ID`) as output columns.

    After a join on a shared column name Snowpark renames both sides; selecting the column
    without an alias would silently name the warehouse column `l_0001_MOVIE_ID`.
    """
    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except sqlglot.errors.ParseError:
        return
    # look through `SELECT * FROM (...)` wrappers (sort, limit) to the select that names columns
    while isinstance(tree, exp.Select) and tree.named_selects == ["*"]:
        source = tree.args.get("from") or tree.args.get("from_")
        inner = source.this if source is not None else None
        if not isinstance(inner, exp.Subquery):
            break
        tree = inner.this
    names = tree.named_selects if isinstance(tree, exp.Query) else []
    bad = [n for n in names if _DISAMBIGUATED.match(n)]
    if bad:
        raise TransformError(
            f"transform {node.name!r} ({node.file}) outputs column {bad[0]!r}, a name Snowpark made up after a "
            f"join; alias it, e.g. F.col({bad[0][7:].lower()!r}).alias({bad[0][7:].lower()!r})"
        )


def dedupe_sql(sql: str, unique_key: Sequence[str], latest_by: Sequence[str]) -> str:
    """One row per unique key: the first by `latest_by`, each column descending, NULL last."""
    keys = ", ".join(quote(k) for k in unique_key)
    order = ", ".join(f"{quote(c)} DESC NULLS LAST" for c in latest_by)
    return f"{wrap(sql)}\nQUALIFY ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {order}) = 1"


def newer_sql(latest_by: Sequence[str], new: str = "s", old: str = "t") -> str:
    """A condition true when row `new` comes strictly before row `old` in dedupe_sql's order.

    Lexicographic over `latest_by`, each column descending with NULL last (a NULL is older than
    any value), so `dedupe_sql` and a MERGE guarded by this condition agree on which row wins.
    It is never NULL, and false for equal rows (a MERGE redone over the same rows changes nothing).
    """
    terms = []
    for i, c in enumerate(latest_by):
        same = [f"{new}.{quote(p)} IS NOT DISTINCT FROM {old}.{quote(p)}" for p in latest_by[:i]]
        a, b = f"{new}.{quote(c)}", f"{old}.{quote(c)}"
        terms.append(" AND ".join([*same, f"({a} IS NOT NULL AND ({b} IS NULL OR {a} > {b}))"]))
    return "(" + " OR ".join(f"({t})" for t in terms) + ")" if terms else "TRUE"


def create_view_sql(relation: str, sql: str) -> str:
    return f"CREATE OR REPLACE VIEW {relation} AS\n{wrap(sql)}"


def create_table_sql(relation: str, sql: str) -> str:
    return f"CREATE OR REPLACE TABLE {relation} AS\n{wrap(sql)}"


def merge_sql(
    relation: str,
    source_sql: str,
    columns: Sequence[str],
    unique_key: Sequence[str],
    latest_by: Sequence[str] = (),
) -> str:
    """A MERGE that inserts new keys and updates matched ones (Snowflake syntax, aliased both sides).

    With `latest_by`, a matched row is updated only when the source row is newer by that order
    (`newer_sql`): the target row keeps its own values of those columns to compare against.
    """
    on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in unique_key)
    keys = {k.upper() for k in unique_key}
    updates = ", ".join(f"t.{quote(c)} = s.{quote(c)}" for c in columns if c.upper() not in keys)
    cols = ", ".join(quote(c) for c in columns)
    vals = ", ".join(f"s.{quote(c)}" for c in columns)
    guard = f" AND {newer_sql(latest_by)}" if latest_by else ""
    return (
        f"MERGE INTO {relation} AS t\nUSING (\n{source_sql}\n) AS s\nON {on}\n"
        f"WHEN MATCHED{guard} THEN UPDATE SET {updates}\n"
        f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({vals})"
    )


def latest_order(node: Node) -> tuple[str, ...]:
    """The order that picks an incremental node's row per unique key: `latest_by`, then the load.

    The incremental_key is the last tie-breaker unless latest_by already places it.
    """
    assert node.incremental_key
    order = tuple(node.latest_by)
    return order if node.incremental_key in order else (*order, node.incremental_key)


def delta_sql(sql: str, node: Node, watermark: Any) -> str:
    """The rows whose incremental_key is beyond the watermark (all rows without one)."""
    assert node.incremental_key
    if watermark is None:
        return sql
    return f"{wrap(sql)}\nWHERE {quote(node.incremental_key)} > {literal(watermark)}"


def incremental_source_sql(sql: str, node: Node, watermark: Any) -> str:
    """New rows only (incremental_key beyond the watermark), one per unique key, the latest by
    `latest_order(node)`. Which row is latest does not depend on when it was loaded, only on that
    order, so a MERGE guarded by the same order gives the table a full build over all rows gives."""
    return dedupe_sql(delta_sql(sql, node, watermark), node.unique_key, latest_order(node))


@dataclass
class BuildResult:
    rows: int | None
    sql: list[str]
    message: str = ""


def table_exists(session: Session, relation: str) -> bool:
    """Whether a table or view exists (the emulator lists views only in INFORMATION_SCHEMA.VIEWS)."""
    db, schema, name = relation.split(".")
    where = f"WHERE TABLE_SCHEMA = '{schema}' AND TABLE_NAME = '{name}'"
    rows = session.sql(
        f"SELECT COUNT(*) FROM (SELECT TABLE_NAME FROM {db}.INFORMATION_SCHEMA.TABLES {where} "
        f"UNION ALL SELECT TABLE_NAME FROM {db}.INFORMATION_SCHEMA.VIEWS {where})"
    ).collect()
    return bool(rows[0][0])


def count_rows(session: Session, relation: str) -> int:
    return int(session.sql(f"SELECT COUNT(*) FROM {relation}").collect()[0][0])


def columns_of(session: Session, sql: str) -> list[str]:
    return [c.strip('"') for c in session.sql(wrap(sql)).columns]


def build(compiler: Compiler, node: Node, *, full_refresh: bool = False) -> BuildResult:
    """Materialize one transform; a failed statement leaves the previous relation intact."""
    session = compiler.session
    relation = compiler.relation(node)
    sql = compiler.select_sql(node)
    if node.materialized == "view":
        stmt = create_view_sql(relation, sql)
        session.sql(stmt).collect()
        confirm_written(session, f"view {relation}", TransformError)
        return BuildResult(None, [stmt])
    if node.materialized == "table":
        stmt = create_table_sql(relation, sql)
        session.sql(stmt).collect()
        confirm_written(session, f"table {relation}", TransformError, f"SELECT COUNT(*) FROM {relation}")
        fault("transform.build")  # test hook (netflix_elt.faults)
        return BuildResult(count_rows(session, relation), [stmt])
    if node.materialized == "incremental":
        return _build_incremental(compiler, node, relation, sql, full_refresh)
    raise TransformError(f"transform {node.name!r}: materialization {node.materialized!r} is not built")


def _build_incremental(compiler: Compiler, node: Node, relation: str, sql: str, full_refresh: bool) -> BuildResult:
    session = compiler.session
    assert node.incremental_key
    key = quote(node.incremental_key)
    order = latest_order(node)
    columns = columns_of(session, sql)
    missing = [c for c in (*node.unique_key, *order) if c.upper() not in {n.upper() for n in columns}]
    if missing:
        raise TransformError(
            f"transform {node.name!r} ({node.file}): unique_key, incremental_key and latest_by must be "
            f"output columns (the table keeps them to compare later rows with); missing {', '.join(missing)}"
        )
    state = WatermarkStore(session, compiler.settings)
    if full_refresh or not table_exists(session, relation):
        stmt = create_table_sql(relation, incremental_source_sql(sql, node, None))
        session.sql(stmt).collect()
        confirm_written(session, f"table {relation}", TransformError, f"SELECT COUNT(*) FROM {relation}")
        state.set(node.name, session.sql(f"SELECT MAX({key}) FROM ({wrap(sql)})").collect()[0][0])
        return BuildResult(count_rows(session, relation), [stmt], "full build")
    watermark = state.get(node.name)
    if watermark is None:
        watermark = session.sql(f"SELECT MAX({key}) FROM {relation}").collect()[0][0]
    # the highest key of every row beyond the watermark, not only of the rows that win their key
    delta = wrap(delta_sql(sql, node, watermark))
    new_watermark = session.sql(f"SELECT MAX({key}) FROM ({delta})").collect()[0][0]
    if new_watermark is None:  # nothing arrived since the last run
        return BuildResult(count_rows(session, relation), [], "merged: 0 inserted, 0 updated")
    source = incremental_source_sql(sql, node, watermark)
    stmt = merge_sql(relation, source, columns, node.unique_key, order)
    res = session.sql(stmt).collect()
    confirm_written(session, f"the MERGE into {relation}", TransformError, f"SELECT COUNT(*) FROM {relation}")
    fault("incremental.merge")  # test hook: merged, watermark not yet advanced
    inserted, updated = (int(res[0][0]), int(res[0][1])) if res else (0, 0)
    state.set(node.name, new_watermark)
    return BuildResult(count_rows(session, relation), [stmt], f"merged: {inserted} inserted, {updated} updated")
