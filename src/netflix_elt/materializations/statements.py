"""The pure SQL builders of the view, table and incremental materializations (tested with sqlglot).

Plain functions of names and SQL text, so the statements are the same Snowflake SQL on every
engine. A top-level set operation is wrapped as `SELECT * FROM (...)` (sql.wrap), and the MERGE
is written by hand because Snowpark's `Table.merge` emits an unaliased USING subquery.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netflix_elt.registry import Node
from netflix_elt.sql import literal, quote, wrap


def dedupe_sql(sql: str, unique_key: Sequence[str], latest_by: Sequence[str]) -> str:
    """One row per unique key: the first by `latest_by`, each column descending, NULL last."""
    keys = ", ".join(quote(k) for k in unique_key)
    order = ", ".join(f"{quote(c)} DESC NULLS LAST" for c in latest_by)
    return f"{wrap(sql)}\nQUALIFY ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {order}) = 1"


def repeated_keys_sql(sql: str, unique_key: Sequence[str]) -> str:
    """How many unique-key values more than one row of `sql` has (NULLs group together, as in
    dedupe_sql's PARTITION BY): 0 means dedupe_sql would keep every row."""
    keys = ", ".join(quote(k) for k in unique_key)
    return f"SELECT COUNT(*) FROM (SELECT {keys} FROM ({wrap(sql)}) AS r GROUP BY {keys} HAVING COUNT(*) > 1)"


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


def incremental_merge_sql(
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


def upsert_delete_sql(relation: str, source: str, unique_key: Sequence[str], latest_by: Sequence[str] = ()) -> str:
    """The first half of a MERGE as two statements: delete the rows of `relation` that a row of
    `source` (a table, one row per key) replaces, i.e. what `incremental_merge_sql` would update."""
    on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in unique_key)
    guard = f" AND {newer_sql(latest_by)}" if latest_by else ""
    return f"DELETE FROM {relation} AS t USING {source} AS s\nWHERE {on}{guard}"


def upsert_insert_sql(relation: str, source: str, columns: Sequence[str], unique_key: Sequence[str]) -> str:
    """The second half: insert the rows of `source` whose key `relation` no longer has (new keys, and
    the keys upsert_delete_sql just deleted); a matched row the source does not beat stays."""
    on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in unique_key)
    cols = ", ".join(quote(c) for c in columns)
    vals = ", ".join(f"s.{quote(c)}" for c in columns)
    return (
        f"INSERT INTO {relation} ({cols})\nSELECT {vals} FROM {source} AS s\n"
        f"WHERE NOT EXISTS (SELECT 1 FROM {relation} AS t WHERE {on})"
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
    order, so a MERGE guarded by the same order gives the table a full build over all rows gives.
    A full build (no watermark) of a node declared `deduplicate=False` is its SELECT as it is."""
    if watermark is None and not node.deduplicate:
        return sql
    return dedupe_sql(delta_sql(sql, node, watermark), node.unique_key, latest_order(node))
