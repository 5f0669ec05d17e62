"""Every statement the framework emits parses as Snowflake SQL (sqlglot's Snowflake dialect)."""

from dataclasses import replace

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from netflix_elt import compiler, sql
from netflix_elt.admin import admin_sql
from netflix_elt.config import load_settings
from netflix_elt.materializations import statements as m
from netflix_elt.registry import Node
from tests.conftest import PROJECT_DIR

SELECT = 'SELECT "USER_ID", "MOVIE_ID", "RATING", "_LOAD_ID" FROM MOVIELENS.RAW.RAW_RATINGS'
UNION = 'SELECT "USER_ID" FROM MOVIELENS.DEV.A UNION SELECT "USER_ID" FROM MOVIELENS.DEV.B'
INC = Node(
    name="fct",
    kind="transform",
    layer="core",
    materialized="incremental",
    unique_key=("USER_ID", "MOVIE_ID"),
    incremental_key="_LOAD_ID",
    latest_by=("RATING",),
)


def parse(sql: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    assert tree is not None
    return tree


def test_view_and_table_wrap_set_operations():
    view = parse(m.create_view_sql("MOVIELENS.DEV.V", UNION))
    assert isinstance(view, exp.Create) and view.args["kind"] == "VIEW" and view.args.get("replace")
    table = parse(m.create_table_sql("MOVIELENS.DEV.T", UNION))
    assert table.args["kind"] == "TABLE"
    # the top-level set operation is inside a subquery (the emulator cannot describe it bare)
    assert isinstance(table.expression, exp.Select)


def test_repeated_keys_counts_what_the_dedupe_window_would_drop():
    """The embedded engine's check before a full build's dedupe: Snowflake SQL, and 0 exactly when
    dedupe_sql keeps every row (DuckDB over rows with a repeated key, a NULL key twice, and none)."""
    check = m.repeated_keys_sql(UNION, ["USER_ID", "MOVIE_ID"])
    tree = parse(check)
    assert tree.find(exp.Having) is not None and [g.name for g in tree.find(exp.Group).expressions] == [
        "USER_ID",
        "MOVIE_ID",
    ]
    assert tree.find(exp.Union) is not None  # the SELECT as it is, inside a subquery
    cases = {
        "(1, 1, 1), (1, 2, 2), (2, 1, 3)": 0,
        "(1, 1, 1), (1, 1, 2), (2, 1, 3), (2, 1, 4), (3, 3, 5)": 2,
        "(NULL, 1, 1), (NULL, 1, 2)": 1,
    }
    for values, repeated in cases.items():
        rows = f'SELECT * FROM (VALUES {values}) AS v("USER_ID", "MOVIE_ID", "RATING")'
        dedupe = m.dedupe_sql(rows, ["USER_ID", "MOVIE_ID"], ["RATING"])
        con = duckdb.connect()
        assert con.execute(m.repeated_keys_sql(rows, ["USER_ID", "MOVIE_ID"])).fetchone()[0] == repeated
        kept = con.execute(f"SELECT COUNT(*) FROM ({dedupe})").fetchone()[0]
        assert (kept == values.count("(")) == (repeated == 0)


def test_incremental_source_filters_by_watermark_and_dedupes():
    sql = m.incremental_source_sql(SELECT, INC, 7)
    tree = parse(sql)
    assert '"_LOAD_ID" > 7' in sql
    qualify = tree.find(exp.Qualify)
    assert qualify is not None
    window = qualify.find(exp.Window)
    assert [c.name for c in window.args["partition_by"]] == ["USER_ID", "MOVIE_ID"]
    # latest_by first, the load only breaks ties: when a row was loaded does not make it newer
    assert [o.this.name for o in window.args["order"].expressions] == ["RATING", "_LOAD_ID"]
    assert all(o.args.get("desc") and not o.args.get("nulls_first") for o in window.args["order"].expressions)
    assert "WHERE" not in m.incremental_source_sql(SELECT, INC, None)


def test_deduplicate_false_skips_the_window_of_a_full_build_only():
    """A node whose SELECT is unique on its key (deduplicate=False) is written as it is in full; what
    a MERGE takes beyond the watermark is still one row per key, the latest."""
    unique = replace(INC, deduplicate=False)
    assert m.incremental_source_sql(SELECT, unique, None) == SELECT
    merged = parse(m.incremental_source_sql(SELECT, unique, 7))
    assert merged.find(exp.Qualify) is not None
    assert parse(m.incremental_source_sql(SELECT, INC, None)).find(exp.Qualify) is not None


def test_merge_statement_shape():
    sql = m.incremental_merge_sql(
        "MOVIELENS.DEV.FCT",
        m.incremental_source_sql(SELECT, INC, 3),
        ["USER_ID", "MOVIE_ID", "RATING", "_LOAD_ID"],
        INC.unique_key,
        m.latest_order(INC),
    )
    tree = parse(sql)
    assert isinstance(tree, exp.Merge)
    assert tree.this.alias == "t" and tree.args["using"].alias == "s"
    matched, not_matched = tree.args["whens"].expressions
    # a matched row is updated only by a newer one, compared on the target's own order columns
    assert matched.args["matched"] and matched.args["condition"] is not None
    compared = {(c.table, c.name) for c in matched.args["condition"].find_all(exp.Column)}
    assert compared == {("s", "RATING"), ("t", "RATING"), ("s", "_LOAD_ID"), ("t", "_LOAD_ID")}
    assert not not_matched.args["matched"] and not_matched.args.get("condition") is None
    assert 't."RATING" = s."RATING"' in sql and 't."USER_ID" = s."USER_ID" AND' in sql
    # keys are never updated
    assert 'SET t."USER_ID"' not in sql and ', t."USER_ID" = s' not in sql.split("UPDATE SET")[1]


def test_upsert_statements_are_snowflake_delete_using_and_insert_anti_join():
    delete = parse(m.upsert_delete_sql("MOVIELENS.DEV.FCT", "MOVIELENS.DEV.W", INC.unique_key, m.latest_order(INC)))
    assert isinstance(delete, exp.Delete) and delete.args["using"]
    compared = {(c.table, c.name) for c in delete.args["where"].find_all(exp.Column)}
    assert compared == {(a, c) for a in "st" for c in ("USER_ID", "MOVIE_ID", "RATING", "_LOAD_ID")}
    insert = parse(m.upsert_insert_sql("MOVIELENS.DEV.FCT", "MOVIELENS.DEV.W", ["USER_ID", "MOVIE_ID"], INC.unique_key))
    assert isinstance(insert, exp.Insert)
    exists = insert.find(exp.Exists)
    assert exists is not None and isinstance(exists.parent, exp.Not)
    # without latest_by every matched row is replaced, as MERGE ... WHEN MATCHED THEN UPDATE
    assert "AND (" not in m.upsert_delete_sql("T", "W", ["K"], ())


def test_latest_order_ends_with_the_load_unless_latest_by_places_it():
    assert m.latest_order(INC) == ("RATING", "_LOAD_ID")
    placed = replace(INC, latest_by=("TS", "_LOAD_ID", "_SOURCE_ROW"))
    assert m.latest_order(placed) == ("TS", "_LOAD_ID", "_SOURCE_ROW")
    assert m.latest_order(replace(INC, latest_by=())) == ("_LOAD_ID",)


# a value or NULL, few distinct values so that ties are common
_cell = st.one_of(st.none(), st.integers(0, 2))


_duck = duckdb.connect()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_cell, _cell, _cell), min_size=2, max_size=2))
def test_newer_sql_is_the_order_of_dedupe_sql(pair):
    """`newer_sql(s, t)` holds exactly when dedupe_sql ranks s before t (DESC, NULL last)."""
    (s_row, t_row) = pair
    cols = ("A", "B", "C")
    con = _duck
    values = lambda r: ", ".join("NULL::INT" if v is None else str(v) for v in r)  # noqa: E731
    names = ", ".join(f'"{c}"' for c in cols)
    got = con.execute(
        f"SELECT {m.newer_sql(cols)} FROM (SELECT * FROM (VALUES ({values(s_row)})) AS v({names})) AS s, "
        f"(SELECT * FROM (VALUES ({values(t_row)})) AS v({names})) AS t"
    ).fetchone()[0]
    key = lambda r: tuple((v is not None, v or 0) for v in r)  # noqa: E731  NULL is the oldest
    assert got is (key(s_row) > key(t_row))
    parse(f"SELECT 1 FROM a AS s, b AS t WHERE {m.newer_sql(cols)}")


def test_quote_escapes():
    assert sql.quote('we"ird') == '"WE""IRD"'
    assert sql.literal("o'neil") == "'o''neil'"
    assert sql.literal(7) == "7" and sql.literal(None) == "NULL"
    assert sql.first_line(ValueError("first\nsecond")) == "first" and sql.first_line(ValueError()) == "ValueError"


def test_admin_sql_parses_and_names_everything(tmp_path, monkeypatch):
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    settings = load_settings(PROJECT_DIR)
    text = admin_sql(settings, s3_url="s3://bucket/movielens")
    statements = sqlglot.parse(text, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    assert len(statements) >= text.count(";") >= 15  # a trailing comment may parse as one more
    for needle in (
        "CREATE ROLE IF NOT EXISTS TRANSFORMER",
        "CREATE WAREHOUSE IF NOT EXISTS COMPUTE_WH",
        "CREATE DATABASE IF NOT EXISTS MOVIELENS",
        "CREATE SCHEMA IF NOT EXISTS MOVIELENS.RAW",
        "CREATE SCHEMA IF NOT EXISTS MOVIELENS.PROD",
        "CREATE SCHEMA IF NOT EXISTS MOVIELENS.SNAPSHOTS",
        "STORAGE_ALLOWED_LOCATIONS = ('s3://bucket/movielens/')",
        "GRANT USAGE ON INTEGRATION",
    ):
        assert needle in text
    assert "AWS_SECRET" not in text and "aws_key_id" not in text.lower()


def test_load_statements_parse(tmp_path, monkeypatch):
    from netflix_elt.ingest.load import HISTORY_COLUMNS, METADATA_COLUMNS, _ddl

    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    settings = load_settings(PROJECT_DIR)
    src = settings.config.sources["raw_ratings"]
    parse(f"CREATE TABLE IF NOT EXISTS MOVIELENS.RAW.{src.table} ({_ddl({**src.columns, **METADATA_COLUMNS})})")
    parse(f"CREATE TABLE IF NOT EXISTS MOVIELENS.RAW.LOAD_HISTORY ({_ddl(HISTORY_COLUMNS)})")
    parse(
        "COPY INTO MOVIELENS.RAW.RAW_RATINGS FROM @MOVIELENS.RAW.NETFLIX_ELT_LOAD_STAGE/load_1/x.parquet "
        "FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE"
    )


@pytest.mark.parametrize("bad", ["SELEC 1", "CREATE OR REPLACE TABLE AS"])
def test_parser_rejects_garbage(bad):
    with pytest.raises(sqlglot.errors.ParseError):
        parse(bad)


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "l_0002_MOVIE_ID", "RATING" FROM t',
        'SELECT * FROM ( SELECT "r_00a1_MOVIE_ID", "X" FROM t) ORDER BY 1 LIMIT 20',
    ],
)
def test_snowpark_disambiguated_names_are_refused(sql):
    from netflix_elt.errors import TransformError

    with pytest.raises(TransformError, match="a name Snowpark made up after a join; alias it"):
        compiler.check_output_names(sql, INC)


def test_plain_names_pass():
    compiler.check_output_names('SELECT "MOVIE_ID", "L_0000" FROM t', INC)


TRICKY = ["a\\b", "C:\\new\\table", "it's", "\\'", '{"sql": "SELECT \\"ID\\""}', "end\\", "tab\there"]


@pytest.mark.parametrize("value", TRICKY)
def test_string_literals_hold_their_value_in_snowflake_and_in_duckdb(value):
    import duckdb

    from netflix_elt.sql import duckdb_string, string

    tree = sqlglot.parse_one(f"SELECT {string(value)}", read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    assert tree.expressions[0].this == value  # what Snowflake reads: a backslash is an escape there
    assert duckdb.connect().execute(f"SELECT {duckdb_string(value)}").fetchall()[0][0] == value  # local: literal
