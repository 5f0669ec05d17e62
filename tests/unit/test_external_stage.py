"""The Snowflake external-stage load: every statement parses as Snowflake SQL and carries no secret."""

from datetime import datetime

import pytest
import sqlglot

from netflix_elt.config import load_settings
from netflix_elt.errors import ConfigError, LoadError
from netflix_elt.ingest import external_stage as ext
from netflix_elt.ingest.landing import BatchManifest, FileEntry
from tests.conftest import PROJECT_DIR

AT = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    return load_settings(PROJECT_DIR, profile="snowflake")


def manifest(batch: int, names: list[str]) -> BatchManifest:
    files = [FileEntry(name=n, rows=10, bytes=100, sha256=f"{i:064d}") for i, n in enumerate(names)]
    return BatchManifest(batch=batch, created_at=AT, source="test", files=files, url=f"s3://b/p/batch={batch:04d}")


def parse(sql: str) -> sqlglot.exp.Expression:
    return sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)


def test_stage_uses_the_storage_integration_and_no_keys(settings):
    sql = ext.stage_sql(settings, "s3://bucket/movielens")
    parse(sql)
    assert "URL = 's3://bucket/movielens/'" in sql
    assert "STORAGE_INTEGRATION = MOVIELENS_S3_INTEGRATION" in sql
    assert "CREDENTIALS" not in sql.upper() and "AWS_KEY" not in sql.upper()
    with pytest.raises(ConfigError, match="s3:// only"):
        ext.stage_sql(settings, "/local/folder")


def test_batch_statements_parse_and_carry_load_metadata(settings):
    m = manifest(1, ["ratings.csv", "movies.csv", "tags.csv", "links.csv"])
    stmts, files = ext.load_batch_statements(settings, "s3://b/p", m, set(), 7, AT)
    for stmt in stmts:
        parse(stmt)
    copy = next(s for s in stmts if s.startswith("COPY INTO MOVIELENS.RAW.RAW_RATINGS"))
    assert "METADATA$FILENAME" in copy and "METADATA$FILE_ROW_NUMBER" in copy and "ON_ERROR = CONTINUE" in copy
    assert "FROM @MOVIELENS.RAW.NETFLIX_ELT_LANDING/batch=0001/ratings.csv" in copy
    assert any("VALIDATE(MOVIELENS.RAW.RAW_RATINGS, JOB_ID => '_last')" in s for s in stmts)
    assert any(s.startswith("DELETE FROM MOVIELENS.RAW.RAW_RATINGS") and "NOT BETWEEN 0.5 AND 5.0" in s for s in stmts)
    assert [f[0] for f in files] == ["RAW_RATINGS", "RAW_TAGS", "RAW_MOVIES", "RAW_LINKS"]
    assert [f[2] for f in files] == [7, 8, 9, 10]


def test_already_loaded_files_are_skipped_and_missing_required_fails(settings):
    m = manifest(1, ["ratings.csv", "movies.csv", "tags.csv", "links.csv"])
    seen = {("s3://b/p/batch=0001/ratings.csv", f"{0:064d}")}
    _, files = ext.load_batch_statements(settings, "s3://b/p", m, seen, 1, AT)
    assert "RAW_RATINGS" not in [f[0] for f in files]
    _, forced = ext.load_batch_statements(settings, "s3://b/p", m, seen, 1, AT, force=True)
    assert "RAW_RATINGS" in [f[0] for f in forced]
    with pytest.raises(LoadError, match=r"batch=0001/tags\.csv: file not found"):
        ext.load_batch_statements(settings, "s3://b/p", manifest(1, ["ratings.csv"]), set(), 1, AT)
    # a later delta batch may hold ratings only
    _, later = ext.load_batch_statements(settings, "s3://b/p", manifest(2, ["ratings.csv"]), set(), 1, AT)
    assert [f[0] for f in later] == ["RAW_RATINGS"]


class RecordingSession:
    def __init__(self, fail_on: str | None = None):
        self.sql_log: list[str] = []
        self.fail_on = fail_on

    def sql(self, text):
        self.sql_log.append(text)
        if self.fail_on and self.fail_on in text:
            raise RuntimeError("boom")
        return self

    def collect(self):
        return []


def test_failure_rolls_back():
    session = RecordingSession(fail_on="COPY INTO")
    with pytest.raises(LoadError, match="rolled back"):
        ext.run_in_transaction(session, ["COPY INTO X FROM @s/f", "INSERT INTO Y VALUES (1)"], lambda _m: None)
    assert session.sql_log == ["BEGIN", "COPY INTO X FROM @s/f", "ROLLBACK"]
