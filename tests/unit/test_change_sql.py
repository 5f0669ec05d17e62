"""The SQL behind `diff` and `clone`, and the rules of `--defer`, without a warehouse.

The diff statements are Snowflake SQL (parsed with sqlglot's Snowflake dialect); their counts are
checked on small tables in plain DuckDB (the statements transpiled by sqlglot) against the same
counts worked out in Python over the rows.
"""

from __future__ import annotations

import random

import duckdb
import pytest
import sqlglot

from netflix_elt.adapters.embedded import EmbeddedAdapter
from netflix_elt.adapters.snowflake import SnowflakeAdapter
from netflix_elt.change.defer import Defer
from netflix_elt.change.diff import diff_key, rows_sql, sample_sql, summary_sql
from netflix_elt.change.targets import comparable_node, other_target
from netflix_elt.config import load_settings
from netflix_elt.errors import ConfigError, SelectorError
from netflix_elt.registry import load_project
from tests.conftest import PROJECT_DIR


@pytest.fixture(scope="module")
def settings():
    return load_settings(PROJECT_DIR)


@pytest.fixture(scope="module")
def project(settings):
    return load_project(settings)


def _duck(sql: str, con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(sqlglot.transpile(sql, read="snowflake", write="duckdb")[0]).fetchall()


def _tables(seed: int) -> tuple[list[tuple], list[tuple]]:
    """Two versions of a table keyed by K (NULL keys included), with a few rows changed, dropped, added."""
    rng = random.Random(seed)
    left = [(k, rng.choice([1.0, 2.0, None]), rng.choice(["a", "b"])) for k in range(40)] + [(None, 9.0, "z")]
    right = []
    for k, x, y in left:
        roll = rng.random()
        if roll < 0.15:
            continue  # only left
        if roll < 0.35:
            x = None if x is not None else 3.0  # changed x
        elif roll < 0.45:
            y = y + "!"  # changed y
        right.append((k, x, y))
    right += [(100 + i, 1.0, "n") for i in range(rng.randint(1, 5))]  # only right
    return left, right


@pytest.mark.parametrize("seed", range(5))
def test_diff_counts_equal_a_python_count(seed: int) -> None:
    left, right = _tables(seed)
    con = duckdb.connect()
    for name, rows in (("L_T", left), ("R_T", right)):
        con.execute(f"CREATE TABLE {name} (K INTEGER, X DOUBLE, Y VARCHAR)")
        con.executemany(f"INSERT INTO {name} VALUES (?, ?, ?)", rows)
    key, cols = ("K",), ("X", "Y")
    got = _duck(summary_sql("L_T", "R_T", key, cols), con)[0]

    lk, rk = {r[0]: r for r in left}, {r[0]: r for r in right}  # NULL is a key like any other
    both = lk.keys() & rk.keys()
    changed_x = sum(1 for k in both if lk[k][1] != rk[k][1])
    changed_y = sum(1 for k in both if lk[k][2] != rk[k][2])
    changed = sum(1 for k in both if lk[k][1:] != rk[k][1:])
    assert got == (len(both), len(lk.keys() - rk.keys()), len(rk.keys() - lk.keys()), changed, changed_x, changed_y)
    assert changed > 0 and len(lk.keys() - rk.keys()) > 0

    assert _duck(rows_sql("L_T", key), con)[0] == (len(left), 0)
    samples = _duck(sample_sql("L_T", "R_T", key, cols, "only_right", 2), con)
    assert [s[0] for s in samples] == sorted(rk.keys() - lk.keys() - {None})[:2]
    changed_rows = _duck(sample_sql("L_T", "R_T", key, cols, "changed", 100), con)
    assert len(changed_rows) == changed
    assert all((x_l, y_l) != (x_r, y_r) for _, x_l, x_r, y_l, y_r in changed_rows)


def test_duplicate_keys_are_counted() -> None:
    con = duckdb.connect()
    rows = "(1, 'a'), (1, 'b'), (1, 'c'), (2, 'd'), (NULL, 'e'), (NULL, 'f')"
    con.execute(f"CREATE TABLE T AS SELECT * FROM (VALUES {rows}) v(K, V)")
    assert _duck(rows_sql("T", ("K",)), con)[0] == (6, 3)  # two extra rows of key 1, one of NULL


def test_statements_parse_as_snowflake() -> None:
    key, cols = ("USER_ID", "MOVIE_ID"), ("RATING", "RATING_TIMESTAMP")
    left, right = "MOVIELENS.DEV.FCT_RATINGS", "MOVIELENS.PROD.FCT_RATINGS"
    stmts = [summary_sql(left, right, key, cols), rows_sql(left, key), summary_sql(left, right, key, ())]
    stmts += [sample_sql(left, right, key, cols, kind, 5) for kind in ("only_left", "only_right", "changed")]
    for stmt in stmts:
        (tree,) = sqlglot.parse(stmt, read="snowflake")
        assert tree is not None
    assert "FULL OUTER JOIN" in stmts[0] and 'EQUAL_NULL(L."USER_ID", R."USER_ID")' in stmts[0]
    sf = SnowflakeAdapter.__new__(SnowflakeAdapter)
    emb = EmbeddedAdapter.__new__(EmbeddedAdapter)
    assert sf.clone_table_sql(right, left) == f"CREATE OR REPLACE TABLE {left} CLONE {right}"
    assert emb.clone_table_sql(right, left) == f"CREATE OR REPLACE TABLE {left} AS SELECT * FROM {right}"
    for stmt in (sf.clone_table_sql(right, left), emb.clone_table_sql(right, left)):
        sqlglot.parse_one(stmt, read="snowflake")


def test_the_key_comes_from_unique_key_then_the_suite_then_all_columns(settings, project) -> None:
    assert diff_key(settings, project, project["fct_ratings"]) == (
        ("USER_ID", "MOVIE_ID"),
        "unique_key of transform 'fct_ratings'",
    )
    key, source = diff_key(settings, project, project["mart_movie_stats"])
    assert key == ("MOVIE_ID",) and "expectations/marts/mart_movie_stats.yml" in source
    assert diff_key(settings, project, project["src_movies"]) == ((), "no key declared: every shared column")


def test_bad_nodes_and_targets(settings, project) -> None:
    with pytest.raises(SelectorError, match="did you mean 'mart_movie_stats'"):
        comparable_node(project, "mart_movie_stat")
    with pytest.raises(SelectorError, match="shared RAW schema"):
        comparable_node(project, "raw_ratings")
    with pytest.raises(SelectorError, match="shared SNAPSHOTS schema"):
        comparable_node(project, "snap_movies")
    with pytest.raises(SelectorError, match="is ephemeral"):
        comparable_node(project, "dim_movies_with_tags")
    with pytest.raises(ConfigError, match=r"unknown target 'prd' \(--defer\).*did you mean 'prod'"):
        other_target(settings, "prd", "--defer")
    with pytest.raises(ConfigError, match="is the target being built"):
        Defer.to(settings, "DEV", ())


def test_defer_reads_only_unselected_transforms_and_seeds(settings, project) -> None:
    defer = Defer.to(settings, "prod", ["mart_genre_stats"])
    assert defer.relation(project["mart_movie_stats"]) == "MOVIELENS.PROD.MART_MOVIE_STATS"
    assert defer.relation(project["seed_movie_release_dates"]) == "MOVIELENS.PROD.SEED_MOVIE_RELEASE_DATES"
    assert defer.relation(project["mart_genre_stats"]) is None  # selected: built here
    assert defer.relation(project["raw_ratings"]) is None  # RAW is shared
    assert defer.relation(project["dim_movies_with_tags"]) is None  # ephemeral: inlined, its inputs deferred
