"""The Snowflake external-stage load: every statement parses as Snowflake SQL and carries no secret."""

from datetime import datetime

import pytest
import sqlglot

from netflix_elt.config import load_settings
from netflix_elt.errors import ConfigError, LoadError
from netflix_elt.ingest import external_stage as ext
from netflix_elt.ingest.landing.manifest import BatchManifest, FileEntry
from netflix_elt.ingest.load import PastLoad, _Book
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
    stmts, files = ext.load_batch_statements(settings, "s3://b/p", m, _Book([], False), 7, AT)
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
    # the same ratings content under another batch and path was loaded before
    seen = [PastLoad(3, "RAW_RATINGS", "s3://b/p/batch=0009/ratings.csv", "batch=0009", f"{0:064d}", "LOADED", 10, 10)]
    _, files = ext.load_batch_statements(settings, "s3://b/p", m, _Book(seen, False), 1, AT)
    assert "RAW_RATINGS" not in [f[0] for f in files]
    _, forced = ext.load_batch_statements(settings, "s3://b/p", m, _Book(seen, True), 1, AT)
    assert "RAW_RATINGS" in [f[0] for f in forced]
    with pytest.raises(LoadError, match=r"batch=0001/tags\.csv: file not found"):
        ext.load_batch_statements(settings, "s3://b/p", manifest(1, ["ratings.csv"]), _Book([], False), 1, AT)
    # a later delta batch may hold ratings only
    _, later = ext.load_batch_statements(settings, "s3://b/p", manifest(2, ["ratings.csv"]), _Book([], False), 1, AT)
    assert [f[0] for f in later] == ["RAW_RATINGS"]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("continue", "ON_ERROR = CONTINUE"),
        ("skip_file", "ON_ERROR = SKIP_FILE"),
        ("skip_file_10", "ON_ERROR = SKIP_FILE_10"),
        ("skip_file_5%", "ON_ERROR = 'SKIP_FILE_5%'"),
        ("abort_statement", "ON_ERROR = ABORT_STATEMENT"),
    ],
)
def test_each_on_error_policy_reaches_the_copy_as_snowflake_spells_it(settings, policy, expected):
    src = settings.config.sources["raw_ratings"].model_copy(update={"on_error": policy})
    sql = ext.copy_sql(settings, src, "batch=0001/ratings.csv", 1, AT)
    parse(sql)
    assert sql.endswith(expected)


def test_default_policies_continue_for_deltas_and_abort_for_full_extracts(settings):
    stmts, _ = ext.load_batch_statements(
        settings,
        "s3://b/p",
        manifest(1, ["ratings.csv", "movies.csv", "tags.csv", "links.csv"]),
        _Book([], False),
        1,
        AT,
    )
    copies = {s.split()[2]: s for s in stmts if s.startswith("COPY INTO")}
    assert copies["MOVIELENS.RAW.RAW_RATINGS"].endswith("ON_ERROR = CONTINUE")
    assert copies["MOVIELENS.RAW.RAW_MOVIES"].endswith("ON_ERROR = ABORT_STATEMENT")
    history = [s for s in stmts if s.startswith("INSERT INTO MOVIELENS.RAW.LOAD_HISTORY")]
    assert history and all("'SKIPPED'" in h and "KEY_COUNT" in h for h in history)


def test_skip_batch_only_records_the_files_as_skipped(settings):
    m = manifest(2, ["ratings.csv", "movies.csv"])
    stmts, files = ext.load_batch_statements(settings, "s3://b/p", m, _Book([], False), 5, AT, skip=True)
    for stmt in stmts:
        parse(stmt)
    assert not any(s.startswith("COPY") for s in stmts)
    assert all("'SKIPPED'" in s and "--skip-batch 2" in s for s in stmts) and len(files) == 2


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


def test_a_refusal_before_commit_rolls_the_batch_back():
    session = RecordingSession()

    def guard():
        raise LoadError("movies.csv: this full extract of RAW_MOVIES has 1 keys")

    with pytest.raises(LoadError, match="has 1 keys"):
        ext.run_in_transaction(session, ["COPY INTO X FROM @s/f"], lambda _m: None, "batch=0002", 2, guard)
    assert session.sql_log == ["BEGIN", "COPY INTO X FROM @s/f", "ROLLBACK"]


def test_deletion_guard_compares_with_the_previous_extract(settings):
    from netflix_elt.ingest.load import deletion_guard

    src = settings.config.sources["raw_movies"]
    prev = PastLoad(1, "RAW_MOVIES", "s3://b/p/batch=0001/movies.csv", "batch=0001", "x", "LOADED", 100, 100)
    deletion_guard("raw_movies", src, "s3://b/p/batch=0002/movies.csv", 95, prev)  # 5% is allowed
    deletion_guard("raw_movies", src, "s3://b/p/batch=0002/movies.csv", 1, None)  # nothing to compare with
    with pytest.raises(LoadError, match=r"has 94 keys \(movieId\), the previous one 100 .*6\.0% would be deleted"):
        deletion_guard("raw_movies", src, "s3://b/p/batch=0002/movies.csv", 94, prev)


def test_load_force_puts_force_true_on_every_external_copy(settings):
    """COPY INTO <table>, FORCE: without it Snowflake's 64-day load metadata skips a loaded file (issue 19, 4)."""
    m = manifest(1, ["ratings.csv", "movies.csv", "tags.csv", "links.csv"])
    for force in (False, True):
        stmts, _ = ext.load_batch_statements(settings, "s3://b/p", m, _Book([], force), 1, AT)
        copies = [parse(s) for s in stmts if s.startswith("COPY INTO")]
        assert len(copies) == 4
        for tree in copies:
            params = {p.this.name.upper(): p for p in tree.args.get("params", [])}
            assert ("FORCE" in params) is force
            if force:
                assert params["FORCE"].expression.sql("snowflake").upper() == "TRUE"
