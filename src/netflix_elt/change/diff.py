"""`netflix-elt diff NODE --against prod`: how a node's table differs between two targets (SQLMesh's table_diff).

Everything is counted by the engine, in SQL: the two relations are joined FULL OUTER on the
node's key, and one query counts the keys only on the left, only on the right, and in both with
different values (per column too); a few sample rows of each kind are fetched with LIMIT. Neither
table is ever read into Python, so the same statements diff 20M-row facts on Snowflake.

The key is the one the project already relies on: the node's `unique_key` (incremental
transforms), else the column(s) its suite tests unique (`expect_column_values_to_be_unique`,
`expect_compound_columns_to_be_unique`), else every column the two sides share (then a changed
row shows up as one key only left and one only right).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from netflix_elt.change.targets import comparable_node, other_target
from netflix_elt.compiler import relation_of
from netflix_elt.errors import ConfigError, SelectorError
from netflix_elt.registry import Node, Project
from netflix_elt.sql import quote, string

if TYPE_CHECKING:
    from netflix_elt.api import Workspace
    from netflix_elt.config import Settings

UNIQUE_TYPES = {"expect_column_values_to_be_unique": "column", "expect_compound_columns_to_be_unique": "column_list"}
KINDS = ("only_left", "only_right", "changed")


@dataclass
class TableDiff:
    """The differences of one node between two targets; `left` is this target, `right` the other."""

    node: str
    left_target: str
    right_target: str
    left: str
    right: str
    key: list[str]
    key_source: str
    left_rows: int = 0
    right_rows: int = 0
    matched: int = 0
    only_left: int = 0
    only_right: int = 0
    changed: int = 0
    column_changes: dict[str, int] = field(default_factory=dict)
    columns_only_left: list[str] = field(default_factory=list)
    columns_only_right: list[str] = field(default_factory=list)
    type_changes: dict[str, list[str]] = field(default_factory=dict)  # column -> [left type, right type]
    duplicate_keys: dict[str, int] = field(default_factory=dict)  # side -> rows beyond one per key
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sql: list[str] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(
            self.only_left
            or self.only_right
            or self.changed
            or self.columns_only_left
            or self.columns_only_right
            or self.type_changes
            or self.left_rows != self.right_rows
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["differs"] = self.differs
        return out


def diff_key(settings: Settings, project: Project, node: Node) -> tuple[tuple[str, ...], str]:
    """(key columns upper-case, where the key comes from); () when there is none (all columns)."""
    from netflix_elt.quality.suites import read_suite, suite_paths

    if node.unique_key:
        return node.unique_key, f"unique_key of {node.kind} {node.name!r}"
    path = suite_paths(settings.project_dir).get(node.name)
    if path is not None:
        suite = read_suite(path, project.nodes, gx_check=False)
        for spec in suite.expectations:
            arg = UNIQUE_TYPES.get(spec.type)
            if arg and spec.kwargs.get(arg) and not spec.kwargs.get("row_condition"):
                value = spec.kwargs[arg]
                cols = (value,) if isinstance(value, str) else tuple(value)
                return tuple(str(c).upper() for c in cols), f"{spec.label} in {suite.where()}"
    return (), "no key declared: every shared column"


def column_types(ws: Workspace, relation: str) -> dict[str, str]:
    """Column -> data type of a table or view, in column order (INFORMATION_SCHEMA.COLUMNS)."""
    db, schema, name = relation.split(".")
    rows = ws.session.sql(
        f"SELECT COLUMN_NAME, DATA_TYPE FROM {db}.INFORMATION_SCHEMA.COLUMNS "
        f"WHERE TABLE_SCHEMA = {string(schema)} AND TABLE_NAME = {string(name)} ORDER BY ORDINAL_POSITION"
    ).collect()
    return {str(r[0]).upper(): str(r[1]).upper() for r in rows}


# SQL ------------------------------------------------------------------------------------------------
def _side(prefix: str, column: str) -> str:
    return quote(f"{prefix}__{column}")


def joined_sql(left: str, right: str, key: tuple[str, ...], columns: tuple[str, ...]) -> str:
    """The CTEs `L`, `R` and `J`: both sides FULL OUTER JOINed on the key (NULL-safe: EQUAL_NULL),
    each column as L__C and R__C, and `__IN_L`/`__IN_R` saying which side a row came from."""
    cols = ", ".join(quote(c) for c in (*key, *columns))
    on = " AND ".join(f"EQUAL_NULL(L.{quote(k)}, R.{quote(k)})" for k in key)
    picks = [f"{s}.{quote(c)} AS {_side(s, c)}" for s in ("L", "R") for c in (*key, *columns)]
    return (
        f"WITH L AS (SELECT {cols}, TRUE AS {quote('__DIFF_IN')} FROM {left}),\n"
        f"R AS (SELECT {cols}, TRUE AS {quote('__DIFF_IN')} FROM {right}),\n"
        f"J AS (SELECT {', '.join(picks)}, L.{quote('__DIFF_IN')} AS {quote('__IN_L')}, "
        f"R.{quote('__DIFF_IN')} AS {quote('__IN_R')}\n"
        f"  FROM L FULL OUTER JOIN R ON {on})\n"
    )


def _differs(column: str) -> str:
    return f"NOT EQUAL_NULL({_side('L', column)}, {_side('R', column)})"


def _where(kind: str, columns: tuple[str, ...]) -> str:
    in_l, in_r = quote("__IN_L"), quote("__IN_R")
    if kind == "only_left":
        return f"{in_r} IS NULL"
    if kind == "only_right":
        return f"{in_l} IS NULL"
    if not columns:
        return "FALSE"
    return f"{in_l} AND {in_r} AND ({' OR '.join(_differs(c) for c in columns)})"


def summary_sql(left: str, right: str, key: tuple[str, ...], columns: tuple[str, ...]) -> str:
    """One row: MATCHED, ONLY_LEFT, ONLY_RIGHT, CHANGED, then one count per compared column (C0, C1, ...)."""
    in_l, in_r = quote("__IN_L"), quote("__IN_R")
    counts = [
        f"COUNT_IF({in_l} AND {in_r}) AS MATCHED",
        f"COUNT_IF({_where('only_left', columns)}) AS ONLY_LEFT",
        f"COUNT_IF({_where('only_right', columns)}) AS ONLY_RIGHT",
        f"COUNT_IF({_where('changed', columns)}) AS CHANGED",
        *(f"COUNT_IF({in_l} AND {in_r} AND {_differs(c)}) AS C{i}" for i, c in enumerate(columns)),
    ]
    return joined_sql(left, right, key, columns) + "SELECT " + ",\n  ".join(counts) + "\nFROM J"


def sample_sql(left: str, right: str, key: tuple[str, ...], columns: tuple[str, ...], kind: str, n: int) -> str:
    """Up to `n` rows of one kind (`only_left`, `only_right`, `changed`), ordered by the key."""
    sides = {"only_left": ("L",), "only_right": ("R",), "changed": ("L", "R")}[kind]
    picks = [_side(sides[0], k) for k in key] + [_side(s, c) for c in columns for s in sides]
    order = ", ".join(_side(sides[0], k) for k in key)
    return (
        joined_sql(left, right, key, columns)
        + f"SELECT {', '.join(picks)} FROM J WHERE {_where(kind, columns)} ORDER BY {order} LIMIT {int(n)}"
    )


def rows_sql(relation: str, key: tuple[str, ...]) -> str:
    """Rows of a relation and how many of them repeat a key (rows beyond the first per key)."""
    keys = ", ".join(quote(k) for k in key)
    return (
        f"SELECT (SELECT COUNT(*) FROM {relation}), (SELECT COALESCE(SUM(N - 1), 0) FROM "
        f"(SELECT COUNT(*) AS N FROM {relation} GROUP BY {keys} HAVING COUNT(*) > 1))"
    )


# the command ----------------------------------------------------------------------------------------
def table_diff(ws: Workspace, name: str, against: str, *, sample: int = 5) -> TableDiff:
    """Diff node `name` in the workspace's target against target `against` (nothing is written)."""
    if sample < 0:
        raise ConfigError(f"--sample must be 0 or more, not {sample}")
    node = comparable_node(ws.project, name.lower())
    other = other_target(ws.settings, against, "--against")
    if other.target == ws.settings.target:
        raise ConfigError(f"--against {against!r} is the target being diffed (--target {ws.settings.target!r})")
    left, right = relation_of(ws.settings, node), relation_of(other, node)
    for target, rel in ((ws.settings.target, left), (other.target, right)):
        if not ws.adapter.relation_exists(rel):
            raise SelectorError(
                f"{node.kind} {node.name!r} is not built in target {target!r} ({rel}); "
                f"build it there first: `netflix-elt run -s {node.name} --target {target}`"
            )
    key, source = diff_key(ws.settings, ws.project, node)
    ltypes, rtypes = column_types(ws, left), column_types(ws, right)
    shared = [c for c in ltypes if c in rtypes]
    if not key:
        key = tuple(shared)
    sides = ((ws.settings.target, ltypes), (other.target, rtypes))
    missing = [(k, t) for k in key for t, types in sides if k not in types]
    if missing:
        k, t = missing[0]
        raise ConfigError(f"diff key column {k} ({source}) is not a column of {node.name!r} in target {t!r}")
    columns = tuple(c for c in shared if c not in key)
    out = TableDiff(
        node.name, ws.settings.target, other.target, left, right, [k.lower() for k in key], source,
        columns_only_left=[c.lower() for c in ltypes if c not in rtypes],
        columns_only_right=[c.lower() for c in rtypes if c not in ltypes],
        type_changes={c.lower(): [ltypes[c], rtypes[c]] for c in shared if ltypes[c] != rtypes[c]},
    )  # fmt: skip
    for side, rel in (("left", left), ("right", right)):
        stmt = rows_sql(rel, key)
        out.sql.append(stmt)
        rows, dupes = ws.session.sql(stmt).collect()[0]
        setattr(out, f"{side}_rows", int(rows))
        if dupes:
            out.duplicate_keys[side] = int(dupes)
    stmt = summary_sql(left, right, key, columns)
    out.sql.append(stmt)
    row = ws.session.sql(stmt).collect()[0]
    out.matched, out.only_left, out.only_right, out.changed = (int(v) for v in row[:4])
    out.column_changes = {c.lower(): int(v) for c, v in zip(columns, row[4:], strict=True) if v}
    for kind in KINDS:
        if sample and getattr(out, kind):
            stmt = sample_sql(left, right, key, columns, kind, sample)
            out.sql.append(stmt)
            out.samples[kind] = [_sample_row(r, key, columns, kind) for r in ws.session.sql(stmt).collect()]
    return out


def _sample_row(row: Any, key: tuple[str, ...], columns: tuple[str, ...], kind: str) -> dict[str, Any]:
    """A sample as {column: value}; a changed row as its key and {column: [left, right]} of what differs."""
    values = list(row)
    keys = {k.lower(): values[i] for i, k in enumerate(key)}
    rest = values[len(key) :]
    if kind != "changed":
        return {**keys, **{c.lower(): v for c, v in zip(columns, rest, strict=True)}}
    pairs = {c.lower(): [rest[2 * i], rest[2 * i + 1]] for i, c in enumerate(columns)}
    return {**keys, **{c: lr for c, lr in pairs.items() if lr[0] != lr[1]}}
