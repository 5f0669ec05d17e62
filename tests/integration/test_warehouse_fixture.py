"""Every transform on the real ml-latest-small fixture, checked against plain DuckDB over the same CSVs."""

from __future__ import annotations

import json

import duckdb
import pytest
import sqlglot
import yaml

from tests.conftest import FIXTURE_DIR, PROJECT_DIR

# Snowflake's INITCAP word delimiters (https://docs.snowflake.com/en/sql-reference/functions/initcap)
SNOWFLAKE_DELIMS = set(' \t\n\r\f\v!?@"^#$&~_,.:;+-*%/|\\[](){}<>')


def snowflake_initcap(text: str) -> str:
    """An independent Python model of Snowflake's INITCAP with its default delimiters."""
    out, cap = [], True
    for ch in text:
        out.append(ch.upper() if cap else ch.lower())
        cap = ch in SNOWFLAKE_DELIMS
    return "".join(out)


def csv(name: str) -> str:
    return f"read_csv('{FIXTURE_DIR / name}', header=true, quote='\"', escape='\"', all_varchar=true)"


@pytest.fixture(scope="module")
def ref() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in ("ratings", "tags", "movies", "links"):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {csv(name + '.csv')}")
    return con


def rows(ws, sql: str) -> list[tuple]:
    return [tuple(r) for r in ws.session.sql(sql).collect()]


def count(ws, table: str) -> int:
    return rows(ws, f"SELECT COUNT(*) FROM MOVIELENS.{table}")[0][0]


def test_row_counts_match_an_independent_computation(fixture_workspace, ref):
    ws = fixture_workspace
    expected = {
        "RAW.RAW_RATINGS": ref.execute("SELECT COUNT(*) FROM ratings").fetchone()[0],
        "RAW.RAW_TAGS": ref.execute("SELECT COUNT(*) FROM tags").fetchone()[0],
        "RAW.RAW_MOVIES": ref.execute("SELECT COUNT(*) FROM movies").fetchone()[0],
        "RAW.RAW_LINKS": ref.execute("SELECT COUNT(*) FROM links").fetchone()[0],
        "DEV.SRC_RATINGS": ref.execute("SELECT COUNT(*) FROM ratings").fetchone()[0],
        "DEV.SRC_TAGS": ref.execute("SELECT COUNT(*) FROM tags").fetchone()[0],
        "DEV.SRC_MOVIES": ref.execute("SELECT COUNT(*) FROM movies").fetchone()[0],
        "DEV.SRC_LINKS": ref.execute("SELECT COUNT(*) FROM links").fetchone()[0],
        "DEV.DIM_MOVIES": ref.execute("SELECT COUNT(DISTINCT movieId) FROM movies").fetchone()[0],
        "DEV.DIM_USERS": ref.execute(
            "SELECT COUNT(*) FROM (SELECT userId FROM ratings UNION SELECT userId FROM tags)"
        ).fetchone()[0],
        "DEV.FCT_RATINGS": ref.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT userId, movieId FROM ratings)"
        ).fetchone()[0],
        "DEV.MART_MOVIE_RELEASES": ref.execute("SELECT COUNT(*) FROM ratings").fetchone()[0],
        "DEV.FCT_GENOME_SCORES": 0,
        "DEV.DIM_GENOME_TAGS": 0,
        "DEV.SEED_MOVIE_RELEASE_DATES": 10,
    }
    actual = {t: count(ws, t) for t in expected}
    assert actual == expected
    # the published figures of this release
    assert (actual["DEV.FCT_RATINGS"], actual["DEV.DIM_MOVIES"], actual["DEV.DIM_USERS"]) == (100_836, 9_742, 610)


def test_titles_are_trimmed_and_initcapped_like_snowflake(fixture_workspace, ref):
    expected = {
        int(m): snowflake_initcap(t.strip()) for m, t in ref.execute("SELECT movieId, title FROM movies").fetchall()
    }
    actual = dict(rows(fixture_workspace, "SELECT MOVIE_ID, MOVIE_TITLE FROM MOVIELENS.DEV.DIM_MOVIES"))
    assert actual == expected
    # spot checks of the quirks: quoted comma titles, doubled quotes, non-ASCII, trailing spaces
    assert actual[11] == "American President, The (1995)"
    assert actual[7789] == "11'09\"01 - September 11 (2002)"
    assert any(t.startswith("Misérables, Les") for t in actual.values())
    assert not any(t != t.strip() for t in actual.values())


def test_genre_arrays_and_no_genres_listed(fixture_workspace, ref):
    got = {
        m: (g, json.loads(a))
        for m, g, a in rows(fixture_workspace, "SELECT MOVIE_ID, GENRES, GENRE_ARRAY FROM MOVIELENS.DEV.DIM_MOVIES")
    }
    for movie_id, genres in ref.execute("SELECT movieId, genres FROM movies").fetchall():
        assert got[int(movie_id)] == (genres, genres.split("|"))
    no_genres = [m for m, (g, _) in got.items() if g == "(no genres listed)"]
    assert len(no_genres) == 34
    assert all(got[m][1] == ["(no genres listed)"] for m in no_genres)


def test_links_keep_zero_padded_imdb_ids_and_null_tmdb(fixture_workspace, ref):
    got = dict(rows(fixture_workspace, "SELECT MOVIE_ID, IMDB_ID FROM MOVIELENS.DEV.SRC_LINKS"))
    assert got == {int(m): i for m, i in ref.execute("SELECT movieId, imdbId FROM links").fetchall()}
    assert got[1] == "0114709"
    nulls = rows(fixture_workspace, "SELECT COUNT(*) FROM MOVIELENS.DEV.SRC_LINKS WHERE TMDB_ID IS NULL")[0][0]
    assert nulls == ref.execute("SELECT COUNT(*) FROM links WHERE tmdbId IS NULL OR tmdbId = ''").fetchone()[0] == 8


def test_ratings_timestamps_and_values(fixture_workspace, ref):
    got = rows(
        fixture_workspace,
        "SELECT USER_ID, MOVIE_ID, RATING, DATE_PART(EPOCH_SECOND, RATING_TIMESTAMP) FROM MOVIELENS.DEV.FCT_RATINGS",
    )
    expected = ref.execute(
        "SELECT userId::INT, movieId::INT, rating::DOUBLE, timestamp::BIGINT FROM ratings"
    ).fetchall()
    assert sorted(got) == sorted(expected)


def test_mart_release_info(fixture_workspace, ref):
    got = dict(
        rows(
            fixture_workspace,
            "SELECT RELEASE_INFO_AVAILABLE, COUNT(*) FROM MOVIELENS.DEV.MART_MOVIE_RELEASES GROUP BY 1",
        )
    )
    known = ref.execute("SELECT COUNT(*) FROM ratings WHERE movieId::INT BETWEEN 1 AND 10").fetchone()[0]
    assert got == {"known": known, "unknown": 100_836 - known}


def test_dim_users_and_ephemeral_movies_with_tags(fixture_workspace, ref):
    users = {r[0] for r in rows(fixture_workspace, "SELECT USER_ID FROM MOVIELENS.DEV.DIM_USERS")}
    assert users == {
        int(u) for (u,) in ref.execute("SELECT userId FROM ratings UNION SELECT userId FROM tags").fetchall()
    }
    # the ephemeral model is never a table; its SQL inlines dim_movies and the genome tables
    assert not rows(
        fixture_workspace,
        "SELECT COUNT(*) FROM MOVIELENS.INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = 'DIM_MOVIES_WITH_TAGS'",
    )[0][0]
    cols, sample = fixture_workspace.show("dim_movies_with_tags", 5)
    assert cols == ["MOVIE_ID", "MOVIE_TITLE", "GENRES", "TAG_NAME", "RELEVANCE_SCORE"]
    assert len(sample) == 5 and all(r[3] is None for r in sample)  # no genome files in this release


def test_top_rated_analysis_matches_pandas_style_reference(fixture_workspace, ref):
    cols, got = fixture_workspace.show("top_rated_movies", 50)
    expected = ref.execute(
        """SELECT r.movieId::INT, AVG(r.rating::DOUBLE) a, COUNT(*) n FROM ratings r GROUP BY 1 HAVING COUNT(*) > 100
           ORDER BY a DESC, n DESC, 1 LIMIT 20"""
    ).fetchall()
    assert cols == ["MOVIE_ID", "MOVIE_TITLE", "AVG_RATING", "NUM_RATINGS"]
    assert [(r[0], r[3]) for r in got] == [(m, n) for m, _, n in expected]
    assert [round(float(r[2]), 6) for r in got] == [round(a, 6) for _, a, _ in expected]


def test_compile_writes_valid_snowflake_sql_for_every_transform(fixture_workspace):
    compiled = fixture_workspace.compile()
    assert {"top_rated_movies", "dim_movies_with_tags", "fct_ratings", "mart_movie_releases"} <= set(compiled)
    for _name, (path, sql) in compiled.items():
        assert path.is_file() and path.read_text().strip().rstrip(";") == sql.strip()
        sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    # the ephemeral node is inlined as a subquery, not referenced as a table
    assert "DIM_MOVIES_WITH_TAGS" not in compiled["dim_movies_with_tags"][1].upper()
    assert "MOVIELENS.DEV.DIM_MOVIES" in compiled["dim_movies_with_tags"][1]


def test_artifacts_written(built_fixture_warehouse):
    manifest = json.loads((built_fixture_warehouse / "build_manifest.json").read_text())
    results = json.loads((built_fixture_warehouse / "build_run_results.json").read_text())
    assert manifest["nodes"]["model.movielens.fct_ratings"]["depends_on"]["nodes"] == ["model.movielens.src_ratings"]
    assert manifest["nodes"]["model.movielens.fct_ratings"]["config"]["materialized"] == "incremental"
    assert "source.movielens.raw.raw_ratings" in manifest["sources"]
    # what reads fct_ratings: transforms/marts/*.py and transforms/analyses/top_rated_movies.py
    children = manifest["child_map"]["model.movielens.fct_ratings"]
    assert {c for c in children if not c.startswith("test.")} == {
        "model.movielens.mart_movie_releases",
        "model.movielens.mart_movie_stats",
        "model.movielens.mart_rating_distribution",
        "model.movielens.mart_ratings_monthly",
        "analysis.movielens.top_rated_movies",
    }
    # and its tests (dbt's child_map lists them): one per expectation of expectations/core/fct_ratings.yml
    suite = yaml.safe_load((PROJECT_DIR / "expectations" / "core" / "fct_ratings.yml").read_text())
    tests = [c for c in children if manifest["nodes"][c]["resource_type"] == "test"]
    on_fct = [c for c in tests if manifest["nodes"][c]["attached_node"] == "model.movielens.fct_ratings"]
    assert len(on_fct) == len(suite["expectations"])
    by_id = {r["unique_id"]: r for r in results["results"]}  # dbt's rows: no name, the unique_id
    assert by_id["model.movielens.fct_ratings"]["status"] == "success"
    assert by_id["model.movielens.fct_ratings"]["adapter_response"]["rows_affected"] == 100_836
    assert "model.movielens.dim_movies_with_tags" not in by_id  # ephemeral: compiled, not run
