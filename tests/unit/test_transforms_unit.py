"""Unit tests of every core and mart transform on hand-written rows (dbt's unit tests).

Expected rows are written by hand from the transform's contract, never computed by the code
under test. Inputs go through `netflix_elt.testing.run_transform` on the embedded engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from netflix_elt.testing import run_transform, write_table
from transforms.core.dim_genome_tags import dim_genome_tags
from transforms.core.dim_movies import dim_movies
from transforms.core.dim_movies_with_tags import dim_movies_with_tags
from transforms.core.dim_users import dim_users
from transforms.core.fct_genome_scores import fct_genome_scores
from transforms.core.fct_ratings import fct_ratings
from transforms.marts.mart_movie_releases import mart_movie_releases

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Snowpark session on the embedded engine over a throwaway warehouse folder."""
    from netflix_elt.adapters import adapter_for
    from netflix_elt.config import load_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(tmp_path_factory.mktemp("unit_home")))
        settings = load_settings(REPO)
        adapter = adapter_for(settings)
        try:
            yield adapter.session
        finally:
            adapter.close()


def test_dim_movies_cleans_titles_with_initcap_and_splits_genres(session: Any) -> None:
    src_movies = [
        {"movie_id": 1, "title": "  toy story (1995) ", "genres": "Adventure|Animation|Children"},
        {"movie_id": 2, "title": "CITY OF GOD (CIDADE DE DEUS) (2002)", "genres": "Crime|Drama"},
        {"movie_id": 3, "title": "the lord of the rings: the two towers", "genres": "(no genres listed)"},
        {"movie_id": 4, "title": "11'09\"01 - september 11 (2002)", "genres": "Drama"},
        {"movie_id": 5, "title": "jack-o'-lantern", "genres": "Horror"},
    ]
    rows = run_transform(dim_movies, {"src_movies": src_movies}, session)
    # Snowflake INITCAP: the first letter after whitespace or punctuation is upper-case, the rest lower
    assert rows == [
        {
            "movie_id": 1,
            "movie_title": "Toy Story (1995)",
            "genres": "Adventure|Animation|Children",
            "genre_array": ["Adventure", "Animation", "Children"],
        },
        {
            "movie_id": 2,
            "movie_title": "City Of God (Cidade De Deus) (2002)",
            "genres": "Crime|Drama",
            "genre_array": ["Crime", "Drama"],
        },
        {
            "movie_id": 3,
            "movie_title": "The Lord Of The Rings: The Two Towers",
            "genres": "(no genres listed)",
            "genre_array": ["(no genres listed)"],
        },
        {
            "movie_id": 4,
            "movie_title": "11'09\"01 - September 11 (2002)",
            "genres": "Drama",
            "genre_array": ["Drama"],
        },
        {"movie_id": 5, "movie_title": "Jack-O'-Lantern", "genres": "Horror", "genre_array": ["Horror"]},
    ]


def test_dim_genome_tags_trims_and_capitalises(session: Any) -> None:
    src = [{"tag_id": 1, "tag": " 007 "}, {"tag_id": 2, "tag": "action packed"}, {"tag_id": 3, "tag": "SCI-FI"}]
    assert run_transform(dim_genome_tags, {"src_genome_tags": src}, session) == [
        {"tag_id": 1, "tag_name": "007"},
        {"tag_id": 2, "tag_name": "Action Packed"},
        {"tag_id": 3, "tag_name": "Sci-Fi"},
    ]


def test_dim_users_is_the_distinct_union_of_raters_and_taggers(session: Any) -> None:
    ratings = [{"user_id": 1, "movie_id": 10}, {"user_id": 1, "movie_id": 11}, {"user_id": 2, "movie_id": 10}]
    tags = [{"user_id": 2, "movie_id": 10}, {"user_id": 3, "movie_id": 12}, {"user_id": 3, "movie_id": 13}]
    rows = run_transform(dim_users, {"src_ratings": ratings, "src_tags": tags}, session)
    assert rows == [{"user_id": 1}, {"user_id": 2}, {"user_id": 3}]


def test_fct_genome_scores_rounds_to_4_decimals_and_drops_zero(session: Any) -> None:
    src = [
        {"movie_id": 1, "tag_id": 1, "relevance": 0.123456},
        {"movie_id": 1, "tag_id": 2, "relevance": 0.0},
        {"movie_id": 2, "tag_id": 1, "relevance": 0.99995},
        {"movie_id": 2, "tag_id": 2, "relevance": 0.00004},
    ]
    rows = run_transform(fct_genome_scores, {"src_genome_scores": src}, session)
    assert [(r["movie_id"], r["tag_id"]) for r in rows] == [(1, 1), (2, 1), (2, 2)]
    assert [r["relevance_score"] for r in rows] == pytest.approx([0.1235, 1.0, 0.0])
    assert set(rows[0]) == {"movie_id", "tag_id", "relevance_score"}


def test_fct_ratings_keeps_rated_rows_and_its_columns(session: Any) -> None:
    t1, t2 = datetime(2015, 3, 31, 6, 40, 2), datetime(1996, 1, 1)
    src = [
        {
            "user_id": 1,
            "movie_id": 10,
            "rating": 4.5,
            "rating_timestamp": t1,
            "_load_id": 1,
            "_source_row": 1,
            "extra": "dropped",
        },
        {
            "user_id": 2,
            "movie_id": 10,
            "rating": None,
            "rating_timestamp": t2,
            "_load_id": 1,
            "_source_row": 2,
            "extra": "x",
        },
        {
            "user_id": 3,
            "movie_id": 11,
            "rating": 0.5,
            "rating_timestamp": t2,
            "_load_id": 2,
            "_source_row": 1,
            "extra": "y",
        },
    ]
    rows = run_transform(fct_ratings, {"src_ratings": src}, session, types={"src_ratings": {"rating": "DOUBLE"}})
    assert rows == [
        {"user_id": 1, "movie_id": 10, "rating": 4.5, "rating_timestamp": t1, "_load_id": 1, "_source_row": 1},
        {"user_id": 3, "movie_id": 11, "rating": 0.5, "rating_timestamp": t2, "_load_id": 2, "_source_row": 1},
    ]


def test_dim_movies_with_tags_left_joins_scores_and_tags(session: Any) -> None:
    movies = [
        {"movie_id": 1, "movie_title": "Heat (1995)", "genres": "Action", "genre_array": None},
        {"movie_id": 2, "movie_title": "Up (2009)", "genres": "Animation", "genre_array": None},
    ]
    scores = [
        {"movie_id": 1, "tag_id": 7, "relevance_score": 0.9},
        {"movie_id": 1, "tag_id": 8, "relevance_score": 0.1},
    ]
    tags = [{"tag_id": 7, "tag_name": "Heist"}, {"tag_id": 8, "tag_name": "Pixar"}]
    rows = run_transform(
        dim_movies_with_tags,
        {"dim_movies": movies, "fct_genome_scores": scores, "dim_genome_tags": tags},
        session,
    )
    assert rows == [
        {"movie_id": 1, "movie_title": "Heat (1995)", "genres": "Action", "tag_name": "Heist", "relevance_score": 0.9},
        {"movie_id": 1, "movie_title": "Heat (1995)", "genres": "Action", "tag_name": "Pixar", "relevance_score": 0.1},
        {"movie_id": 2, "movie_title": "Up (2009)", "genres": "Animation", "tag_name": None, "relevance_score": None},
    ]


def test_mart_movie_releases_marks_known_and_unknown_release_dates(session: Any) -> None:
    t = datetime(2000, 1, 2, 3, 4, 5)
    ratings = [
        {"user_id": 1, "movie_id": 10, "rating": 4.0, "rating_timestamp": t, "_load_id": 1, "_source_row": 1},
        {"user_id": 2, "movie_id": 20, "rating": 2.5, "rating_timestamp": t, "_load_id": 1, "_source_row": 2},
    ]
    seed = [{"movie_id": 10, "release_date": date(1995, 12, 15)}, {"movie_id": 30, "release_date": date(2001, 1, 1)}]
    rows = run_transform(mart_movie_releases, {"fct_ratings": ratings, "seed_movie_release_dates": seed}, session)
    assert rows == [
        {
            "user_id": 1,
            "movie_id": 10,
            "rating": 4.0,
            "rating_timestamp": t,
            "release_date": date(1995, 12, 15),
            "release_info_available": "known",
            "_load_id": 1,
            "_source_row": 1,
        },
        {
            "user_id": 2,
            "movie_id": 20,
            "rating": 2.5,
            "rating_timestamp": t,
            "release_date": None,
            "release_info_available": "unknown",
            "_load_id": 1,
            "_source_row": 2,
        },
    ]


def test_run_transform_accepts_pandas_and_names_missing_inputs(session: Any) -> None:
    import pandas as pd

    from netflix_elt.errors import ConfigError

    frame = pd.DataFrame({"tag_id": [5, 6], "tag": ["dark", "  FUNNY"]})
    assert run_transform(dim_genome_tags, {"src_genome_tags": frame}, session) == [
        {"tag_id": 5, "tag_name": "Dark"},
        {"tag_id": 6, "tag_name": "Funny"},
    ]
    with pytest.raises(ConfigError, match="src_tags"):
        run_transform(dim_users, {"src_ratings": [{"user_id": 1}]}, session)
    db = session.get_current_database()
    rel = write_table(session, f"{db}.NETFLIX_ELT_UNIT.EMPTY_INPUT", [], {"user_id": "BIGINT"})
    assert session.sql(f"SELECT COUNT(*) FROM {rel}").collect()[0][0] == 0


def test_src_ratings_converts_unix_seconds_to_timestamp_ntz_explicitly(session: Any) -> None:
    """Not TO_TIMESTAMP, which follows the account's TIMESTAMP_TYPE_MAPPING (issue 19, point 9): seconds
    added to the epoch as TIMESTAMP_NTZ (exactly seconds, whatever the number's size)."""
    import sqlglot
    from sqlglot import exp

    from netflix_elt.compiler import dataframe_sql
    from transforms.staging.src_ratings import src_ratings

    table = "MOVIELENS.NETFLIX_ELT_UNIT.SRC_RATINGS_NTZ_IN"
    session.sql("CREATE SCHEMA IF NOT EXISTS MOVIELENS.NETFLIX_ELT_UNIT").collect()
    session.sql(
        f'CREATE OR REPLACE TABLE {table} ("userId" INTEGER, "movieId" INTEGER, '
        '"rating" DOUBLE, "timestamp" INTEGER, "_LOAD_ID" INTEGER, "_SOURCE_ROW" INTEGER)'
    ).collect()
    session.sql(f"INSERT INTO {table} VALUES (1, 2, 4.5, 1700000000, 1, 2)").collect()
    df = src_ratings(session.table(table))
    tree = sqlglot.parse_one(dataframe_sql(df, "src_ratings"), read="snowflake")
    calls = [f.name.upper() for f in tree.find_all(exp.Anonymous)]
    assert "TO_TIMESTAMP" not in calls and "TO_TIMESTAMP_LTZ" not in calls
    added = [d for d in tree.find_all(exp.DateAdd, exp.TsOrDsAdd, exp.TimestampAdd)]
    assert added and added[0].text("unit").upper() == "SECOND", tree.sql("snowflake")
    assert any(c.to.is_type(exp.DataType.Type.TIMESTAMPNTZ) for c in tree.find_all(exp.Cast)), tree.sql("snowflake")
    epoch = session.sql(
        f"SELECT DATE_PART(EPOCH_SECOND, rating_timestamp) FROM ({dataframe_sql(df, 'src_ratings')})"
    ).collect()
    assert int(epoch[0][0]) == 1700000000
