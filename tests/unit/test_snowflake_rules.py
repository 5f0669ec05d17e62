"""The rules of tests/snowflake_rules.py: each fires on the bad statement quoted in issue 19 and is silent
on what the framework now emits (an S3 batch, the local Parquet COPY, seeds, the compiled src_ratings)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from netflix_elt.config import load_settings
from netflix_elt.ingest import external_stage as ext
from netflix_elt.ingest import load as load_mod
from netflix_elt.ingest.landing.manifest import BatchManifest, FileEntry
from netflix_elt.ingest.load import _Book
from tests import snowflake_rules as rules
from tests.conftest import PROJECT_DIR
from tests.unit.test_snowflake_fidelity import RecordingSession

AT = datetime(2026, 1, 2, 3, 4, 5)

# the bad statements of issue 19, as the framework sent them before --------------------------------
BAD_TRANSFORMING_COPY = (
    'COPY INTO MOVIELENS.RAW.RAW_RATINGS ("USERID", "MOVIEID", "RATING", "TIMESTAMP", "_LOAD_ID", "_LOADED_AT", '
    '"_SOURCE_FILE", "_SOURCE_ROW") FROM (SELECT $1, $2, $3, $4, 7, \'2026-01-02 03:04:05\'::TIMESTAMP_NTZ, '
    "METADATA$FILENAME, METADATA$FILE_ROW_NUMBER FROM @MOVIELENS.RAW.NETFLIX_ELT_LANDING/batch=0001/ratings.csv) "
    "FILE_FORMAT = (TYPE = CSV FIELD_DELIMITER = ',' SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '\"' "
    "ESCAPE_UNENCLOSED_FIELD = NONE EMPTY_FIELD_AS_NULL = TRUE ENCODING = 'UTF8' "
    "ERROR_ON_COLUMN_COUNT_MISMATCH = TRUE) ON_ERROR = CONTINUE"
)
BAD_VALIDATE = (
    "INSERT INTO MOVIELENS.RAW.LOAD_REJECTS (_LOAD_ID, SOURCE_TABLE, SOURCE_FILE, LINE_NUMBER, RAW_LINE, REASON, "
    "REJECTED_AT) SELECT 7, 'RAW_RATINGS', FILE, LINE, REJECTED_RECORD, ERROR, '2026-01-02 03:04:05'::TIMESTAMP_NTZ "
    "FROM TABLE(VALIDATE(MOVIELENS.RAW.RAW_RATINGS, JOB_ID => '_last'))"
)
BAD_PARQUET_COPY = (
    "COPY INTO MOVIELENS.RAW.RAW_RATINGS FROM @MOVIELENS.RAW.NETFLIX_ELT_LOAD_STAGE/load_1/ratings_1.parquet "
    "FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE"
)
BAD_SEED_SCRIPT = [
    "BEGIN",
    'CREATE OR REPLACE TABLE MOVIELENS.ANALYTICS.SEED_MOVIE_RELEASE_DATES ("MOVIEID" INTEGER, "RELEASE_DATE" DATE)',
    "COPY INTO MOVIELENS.ANALYTICS.SEED_MOVIE_RELEASE_DATES FROM @MOVIELENS.RAW.NETFLIX_ELT_LOAD_STAGE/seed/s.parquet "
    "FILE_FORMAT = (TYPE = PARQUET USE_LOGICAL_TYPE = TRUE) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE",
    "COMMIT",
]
BAD_SRC_RATINGS = (
    'SELECT "userId" AS user_id, "movieId" AS movie_id, "rating" AS rating, '
    'TO_TIMESTAMP("timestamp") AS rating_timestamp FROM MOVIELENS.RAW.RAW_RATINGS'
)
BAD_SRC_RATINGS_CAST = 'SELECT "timestamp"::TIMESTAMP AS rating_timestamp FROM MOVIELENS.RAW.RAW_RATINGS'


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    return load_settings(PROJECT_DIR, profile="snowflake")


def s3_script(settings: Any, force: bool = False) -> list[str]:
    """What the framework now sends for one S3 batch: stage, landing DDL, BEGIN, the load, COMMIT, cleanup."""
    files = [
        FileEntry(name=n, rows=10, bytes=100, sha256=f"{i:064d}")
        for i, n in enumerate(["ratings.csv", "movies.csv", "tags.csv", "links.csv"])
    ]
    manifest = BatchManifest(batch=1, created_at=AT, source="test", files=files, url="s3://b/p/batch=0001")
    script = ext.batch_script(settings, "s3://b/p", manifest, _Book([], force), 1, AT)
    return [ext.stage_sql(settings, "s3://b/p"), *script]


def local_script(settings: Any, tmp_path: Any, force: bool = False) -> list[str]:
    """What the framework now sends for a local landing: PUT and the Parquet COPY in one transaction."""
    from netflix_elt.ingest.load import FileLoad, LandedBatch

    class Parsed:
        parquet = tmp_path / "ratings.parquet"
        rejects_parquet = tmp_path / "rejects.parquet"
        keys = 3

    batch = LandedBatch("batch=0001", "s3://b/p/batch=0001", {})
    fl = FileLoad("raw_ratings", "RAW_RATINGS", "s3://b/p/batch=0001/ratings.csv", "LOADED", 3, 3, 0, 1)
    session = RecordingSession()
    load_mod._apply(session, settings, [(batch, Parsed(), fl)], AT, lambda _m: None, force=force)  # type: ignore[arg-type]
    return session.log


def seed_script(settings: Any) -> list[str]:
    from netflix_elt.seeds import load_seeds

    session = RecordingSession(count=10)  # the seed file has 10 rows
    load_seeds(session, settings, ["seed_movie_release_dates"])  # type: ignore[arg-type]
    return session.log


# each rule fires on the bad statement of the issue ------------------------------------------------
def test_a_validate_after_a_transforming_copy_fires():
    assert rules.no_validate_after_transforming_copy([BAD_TRANSFORMING_COPY, BAD_VALIDATE])
    assert not rules.no_validate_after_transforming_copy([BAD_VALIDATE])  # no COPY before it


def test_b_parquet_without_logical_types_fires():
    assert rules.parquet_uses_logical_type([BAD_PARQUET_COPY])
    assert rules.parquet_uses_logical_type(["CREATE FILE FORMAT MOVIELENS.RAW.PQ TYPE = PARQUET"])
    assert not rules.parquet_uses_logical_type([BAD_PARQUET_COPY], timestamps=False)


def test_c_ddl_inside_a_transaction_fires():
    assert len(rules.no_ddl_in_transaction(BAD_SEED_SCRIPT)) == 1
    assert rules.no_ddl_in_transaction(["BEGIN", "TRUNCATE TABLE MOVIELENS.RAW.X", "ROLLBACK"])
    assert not rules.no_ddl_in_transaction(BAD_SEED_SCRIPT[1:2] + ["BEGIN", "COMMIT"])


def test_d_a_forced_load_without_force_fires():
    assert rules.force_on_every_copy([BAD_TRANSFORMING_COPY, BAD_PARQUET_COPY], force=True)
    assert not rules.force_on_every_copy([BAD_TRANSFORMING_COPY], force=False)


def test_e_a_column_count_check_on_a_transforming_copy_fires():
    assert rules.column_count_check_only_on_plain_copy([BAD_TRANSFORMING_COPY])


def test_f_timestamps_without_ntz_fire():
    assert rules.explicit_timestamp_ntz([BAD_SRC_RATINGS])
    assert rules.explicit_timestamp_ntz([BAD_SRC_RATINGS_CAST])
    assert rules.explicit_timestamp_ntz(["SELECT TRY_CAST(x AS TIMESTAMP) FROM t"])
    # NTZ casts, and the word in a literal or a quoted name, are fine
    assert not rules.explicit_timestamp_ntz(
        ["SELECT TO_TIMESTAMP_NTZ(\"timestamp\"), x::TIMESTAMP_NTZ, 'TO_TIMESTAMP(' AS s FROM t"]
    )


# and all of them are silent on what the framework now sends ---------------------------------------
@pytest.mark.parametrize("force", [False, True])
def test_rules_are_silent_on_an_s3_batch(settings, force):
    script = s3_script(settings, force)
    assert any(s.startswith("COPY INTO") for s in script) and "BEGIN" in script
    assert rules.check_all(script, force=force) == []


def test_rules_are_silent_on_the_local_parquet_copy(settings, tmp_path):
    location = f"@{settings.database}.{settings.raw_schema}.{load_mod.STAGE}/load_1/"
    for force in (False, True):
        copy = load_mod.copy_parquet_sql(location, "ratings_1.parquet", "MOVIELENS.RAW.RAW_RATINGS", force=force)
        assert rules.check_all([copy], force=force) == []
        assert rules.check_all(local_script(settings, tmp_path, force), force=force) == []


def test_rules_are_silent_on_seeds(settings):
    script = seed_script(settings)
    assert any(s.startswith("COPY INTO") for s in script)
    assert rules.check_all(script) == []


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Snowpark session on the embedded engine (as in test_transforms_unit)."""
    from netflix_elt.adapters import adapter_for

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(tmp_path_factory.mktemp("rules_home")))
        adapter = adapter_for(load_settings(PROJECT_DIR))
        try:
            yield adapter.session
        finally:
            adapter.close()


def test_rules_are_silent_on_the_compiled_src_ratings(session):
    from netflix_elt.compiler import dataframe_sql
    from transforms.staging.src_ratings import src_ratings

    table = "MOVIELENS.NETFLIX_ELT_UNIT.SRC_RATINGS_RULES_IN"
    session.sql("CREATE SCHEMA IF NOT EXISTS MOVIELENS.NETFLIX_ELT_UNIT").collect()
    session.sql(
        f'CREATE OR REPLACE TABLE {table} ("userId" INTEGER, "movieId" INTEGER, '
        '"rating" DOUBLE, "timestamp" INTEGER, "_LOAD_ID" INTEGER, "_SOURCE_ROW" INTEGER)'
    ).collect()
    sql = dataframe_sql(src_ratings(session.table(table)), "src_ratings")
    assert rules.check_all([sql]) == []
