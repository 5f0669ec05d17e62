"""Node -> DataFrame -> SQL: call a transform with its inputs and read back its single SELECT.

Snowpark gives the SELECT of a DataFrame; everything around it (CREATE OR REPLACE, MERGE) is the
materializations' (netflix_elt.materializations). One Compiler serves a whole command, with the
command's Invocation, so every node sees the same `run_started_at`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from netflix_elt.config import Settings
from netflix_elt.errors import TransformError
from netflix_elt.invocation import Invocation
from netflix_elt.registry import Kind, Materialized, Node, Project

if TYPE_CHECKING:
    from snowflake.snowpark import DataFrame, Session

    from netflix_elt.adapters import Adapter
    from netflix_elt.change.defer import Defer
    from netflix_elt.known_relations import KnownRelations


def relation_of(settings: Settings, node: Node) -> str:
    """The one place a node is mapped to the fully qualified name it is (or will be) stored under."""
    s = settings
    if node.kind == Kind.SOURCE:
        return s.fqn(s.raw_schema, s.config.sources[node.name].table)
    if node.kind == Kind.SNAPSHOT:
        return s.fqn(s.snapshot_schema, node.name)
    return s.fqn(s.target_schema, node.name)


@dataclass
class Compiler:
    """Turns nodes into DataFrames (by calling the transform functions) and DataFrames into SQL."""

    project: Project
    settings: Settings
    adapter: Adapter
    invocation: Invocation
    inline_missing: bool = False
    defer: Defer | None = None  # --defer: unselected inputs missing here are read from that target
    deferred: dict[str, str] = field(default_factory=dict)  # input -> the other target's relation read
    known: KnownRelations | None = None  # the command's (builders.py); else each relation is asked once
    _known: dict[str, bool] = field(default_factory=dict)
    _sql: dict[str, str] = field(default_factory=dict)  # one compile per node and command step

    @property
    def session(self) -> Session:
        return self.adapter.session

    @property
    def run_started_at(self) -> Any:
        return self.invocation.run_started_at

    def relation(self, node: Node) -> str:
        return relation_of(self.settings, node)

    def input_frame(self, name: str, cache: dict[str, DataFrame]) -> DataFrame:
        node = self.project[name]
        if node.kind == Kind.TRANSFORM and node.materialized == Materialized.EPHEMERAL:
            return self.dataframe(node, cache)
        relation = self.relation(node)
        if not self._exists(relation):
            elsewhere = self.defer.relation(node) if self.defer is not None else None
            if elsewhere is not None and self._exists(elsewhere):
                self.deferred[name] = elsewhere
                return self.session.table(elsewhere)
            if self.inline_missing and node.kind == Kind.TRANSFORM:
                # compile/show before a build: inline the upstream query instead of its table
                return self.dataframe(node, cache)
            hint = {
                "source": "run `netflix-elt load` first",
                "seed": "run `netflix-elt seed` first",
            }.get(node.kind, f"build it first: `netflix-elt run -s +{node.name}` (or read another target's: --defer)")
            raise TransformError(f"input {name!r} ({relation}) does not exist yet; {hint}")
        return self.session.table(relation)

    def _exists(self, relation: str) -> bool:
        if self.known is not None:
            return self.known.exists(relation)
        if relation not in self._known:
            self._known[relation] = self.adapter.relation_exists(relation)
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
            hint = self.adapter.transform_error_hint(e)  # a known engine gap says what works instead
            raise TransformError(
                f"transform {node.name!r} ({node.file}) raised {type(e).__name__}: {e}" + (f"; {hint}" if hint else "")
            ) from e
        if df is None or not hasattr(df, "queries"):
            raise TransformError(
                f"transform {node.name!r} ({node.file}) returned {type(df).__name__}, not a Snowpark DataFrame"
            )
        cache[node.name] = df
        return df

    def select_sql(self, node: Node) -> str:
        """The single SELECT statement a transform compiles to (compiled once per Compiler)."""
        if node.name not in self._sql:
            sql = dataframe_sql(self.dataframe(node), node.name)
            check_output_names(sql, node)
            self._sql[node.name] = sql
        return self._sql[node.name]


def _params(func: Callable[..., Any]) -> Sequence[str]:
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
