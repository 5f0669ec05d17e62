"""Column-level lineage from compiled SQL, chained across nodes back to RAW.

Each node's SELECT is parsed with sqlglot, stars are expanded against the warehouse's column
types, and `sqlglot.lineage` names the table columns each output column reads. Those tables are
mapped back to nodes, so per-node edges (`dim_movies.MOVIE_TITLE <- src_movies.TITLE`) can be
chained into full paths (`... <- raw_movies.TITLE`). dbt Core has no column lineage; this is why
the docs site can answer "where does this column come from" without a catalog vendor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage as sqlglot_lineage
from sqlglot.optimizer.qualify import qualify

# {DATABASE: {SCHEMA: {TABLE: {COLUMN: TYPE}}}}, sqlglot's MappingSchema input
Schema = dict[str, dict[str, dict[str, dict[str, str]]]]
MAX_PATHS = 50  # a column fed by many branches (unions of unions) would list paths combinatorially


@dataclass(frozen=True, order=True)
class ColumnRef:
    """A column of a node (or of a relation no node owns, then `node` is empty)."""

    node: str
    column: str
    relation: str = ""

    def label(self) -> str:
        return f"{self.node or self.relation}.{self.column}"


@dataclass
class ColumnLineage:
    """Where one output column of one node comes from."""

    direct: list[ColumnRef] = field(default_factory=list)
    expression: str = ""
    error: str = ""


def build_schema(columns: Mapping[str, Mapping[str, str]]) -> Schema:
    """sqlglot schema from {"DB.SCHEMA.TABLE": {COLUMN: TYPE}} (types default to VARCHAR)."""
    out: Schema = {}
    for relation, cols in columns.items():
        db, schema, table = relation.split(".")
        out.setdefault(db, {}).setdefault(schema, {})[table] = {c: (t or "VARCHAR") for c, t in cols.items()}
    return out


def _relation_of(table: exp.Table) -> str:
    return ".".join(p for p in (table.catalog, table.db, table.name) if p).upper()


def node_lineage(
    sql: str, schema: Schema, relation_to_node: Mapping[str, str], columns: list[str] | None = None
) -> dict[str, ColumnLineage]:
    """Direct upstream columns of each output column of one SELECT.

    `columns` (upper-case) are the output columns to trace; default: the query's named selects
    after star expansion. Failures are per column, so one odd expression does not hide the rest.
    """
    tree = sqlglot.parse_one(sql, read="snowflake")
    tree = qualify(
        tree,
        schema=schema,
        dialect="snowflake",
        validate_qualify_columns=False,
        quote_identifiers=True,
        identify=True,
    )
    names = {n.upper(): n for n in tree.named_selects}
    out: dict[str, ColumnLineage] = {}
    for col in columns if columns is not None else list(names):
        entry = ColumnLineage()
        out[col] = entry
        if col not in names:
            entry.error = "not a column of the compiled SELECT"
            continue
        try:
            root = sqlglot_lineage(
                exp.column(names[col], quoted=True), tree, schema=schema, dialect="snowflake", trim_selects=False
            )
        except Exception as e:  # sqlglot cannot trace every construct; say so instead of failing the site
            entry.error = f"{type(e).__name__}: {e}"
            continue
        expr = root.expression.unalias() if isinstance(root.expression, exp.Alias) else root.expression
        if not isinstance(expr, exp.Column):  # a plain copy or rename needs no expression
            # without the qualifier's made-up subquery aliases ("_0"."X"), as a reader wrote it
            bare = expr.transform(lambda n: exp.column(n.name, quoted=True) if isinstance(n, exp.Column) else n)
            entry.expression = bare.sql("snowflake")[:300]
        refs: set[ColumnRef] = set()
        for n in root.walk():
            if isinstance(n.expression, exp.Table):
                relation = _relation_of(n.expression)
                column = n.name.split(".")[-1].strip('"').upper()
                refs.add(ColumnRef(relation_to_node.get(relation, ""), column, relation))
        entry.direct = sorted(refs)
    return out


def trace(
    direct: Mapping[str, Mapping[str, ColumnLineage]], node: str, column: str
) -> tuple[list[ColumnRef], list[list[ColumnRef]]]:
    """Origins (columns with no further lineage: RAW, seeds) and every path to them.

    Paths start at the column itself; a column not found upstream ends its path (that relation's
    lineage is unknown), so a missing node never hides the part of the path that is known.
    """
    origins: set[ColumnRef] = set()
    paths: list[list[ColumnRef]] = []

    def walk(ref: ColumnRef, path: list[ColumnRef]) -> None:
        if len(paths) >= MAX_PATHS:
            return
        entry = direct.get(ref.node, {}).get(ref.column)
        ups = entry.direct if entry is not None else []
        ups = [u for u in ups if u not in path]  # a snapshot reading itself must not loop
        if not ups:
            if len(path) > 1:
                origins.add(ref)
                paths.append(path)
            return
        for up in ups:
            walk(up, [*path, up])

    start = ColumnRef(node, column)
    walk(start, [start])
    return sorted(origins), paths
