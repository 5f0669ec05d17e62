"""The Snowflake external-stage load: every statement parses as Snowflake SQL (sqlglot's Snowflake dialect),
carries no secret, and keeps Snowflake's documented rules (issue 19: VALIDATE only after a plain COPY, no DDL
inside the transaction, ERROR_ON_COLUMN_COUNT_MISMATCH on a plain COPY, FORCE with load --force)."""

from datetime import datetime

import pytest
import sqlglot
from sqlglot import exp

from netflix_elt.config import load_settings
from netflix_elt.errors import ConfigError, LoadError
from netflix_elt.ingest import external_stage as ext
from netflix_elt.ingest.landing.manifest import BatchManifest, FileEntry
from netflix_elt.ingest.load import PastLoad, _Book
from tests.conftest import PROJECT_DIR

AT = datetime(2026, 1, 2, 3, 4, 5)
ALL = ["ratings.csv", "movies.csv", "tags.csv", "links.csv"]


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    return load_settings(PROJECT_DIR, profile="snowflake")


def manifest(batch: int, names: list[str]) -> BatchManifest:
    files = [FileEntry(name=n, rows=10, bytes=100, sha256=f"{i:064d}") for i, n in enumerate(names)]
    return BatchManifest(batch=batch, created_at=AT, source="test", files=files, url=f"s3://b/p/batch={batch:04d}")


def parse(sql: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    assert tree is not None
    return tree


def statements_of(script: list[str]) -> list[exp.Expression]:
    """Every statement of a script, parsed as Snowflake SQL (a parse error fails the test)."""
    return [parse(s) for s in script]


def is_ddl(tree: exp.Expression) -> bool:
    return isinstance(tree, exp.Create | exp.Drop | exp.Alter | exp.TruncateTable)


def transforms(tree: exp.Expression) -> bool:
    """A COPY whose FROM is a SELECT."""
    return isinstance(tree, exp.Copy) and any(
        isinstance(f, exp.Subquery | exp.Select) for f in tree.args.get("files") or []
    )


def file_format(tree: exp.Expression) -> dict[str, str]:
    params = {p.this.name.upper(): p for p in tree.args["params"]}
    return {p.this.name.upper(): p.args["value"].sql("snowflake").upper() for p in params["FILE_FORMAT"].expressions}


def test_stage_uses_the_storage_integration_and_no_keys(settings):
    sql = ext.stage_sql(settings, "s3://bucket/movielens")
    parse(sql)
    assert "URL = 's3://bucket/movielens/'" in sql
    assert "STORAGE_INTEGRATION = MOVIELENS_S3_INTEGRATION" in sql
    assert "CREDENTIALS" not in sql.upper() and "AWS_KEY" not in sql.upper()
    with pytest.raises(ConfigError, match="s3:// only"):
        ext.stage_sql(settings, "/local/folder")


def test_batch_statements_parse_and_carry_load_metadata(settings):
    stmts, files = ext.load_batch_statements(settings, "s3://b/p", manifest(1, ALL), _Book([], False), 7, AT)
    statements_of(stmts)
    copy = next(s for s in stmts if s.startswith("COPY INTO MOVIELENS.RAW.RAW_RATINGS__LANDING"))
    assert "INCLUDE_METADATA = (_SOURCE_ROW = METADATA$FILE_ROW_NUMBER)" in copy and "ON_ERROR = CONTINUE" in copy
    assert "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE" in copy and "PARSE_HEADER = TRUE" in copy
    assert "SKIP_HEADER" not in copy  # PARSE_HEADER reads the header instead
    assert "FROM @MOVIELENS.RAW.NETFLIX_ELT_LANDING/batch=0001/ratings.csv" in copy
    assert any("VALIDATE(MOVIELENS.RAW.RAW_RATINGS__LANDING, JOB_ID => '_last')" in s for s in stmts)
    typed = next(s for s in stmts if s.startswith('INSERT INTO MOVIELENS.RAW.RAW_RATINGS ("USERID"'))
    assert 'TRY_CAST("RATING" AS DOUBLE) NOT BETWEEN 0.5 AND 5.0' in typed and "WHERE WHY IS NULL" in typed
    assert "'s3://b/p/batch=0001/ratings.csv', LINE - 1" in typed  # _SOURCE_FILE is the full URI, as locally
    assert [f[0] for f in files] == ["RAW_RATINGS", "RAW_TAGS", "RAW_MOVIES", "RAW_LINKS"]
    assert [f[2] for f in files] == [7, 8, 9, 10]


def test_the_order_of_a_batch_with_landing_ddl_outside_the_transaction(settings):
    """Landing DDL before BEGIN, the landing tables dropped after COMMIT; per file: the plain COPY, VALIDATE's
    rejects, the typed rejects, the typed INSERT, the history row (issue 19, point 1)."""
    script = ext.batch_script(settings, "s3://b/p", manifest(1, ALL), _Book([], False), 1, AT)
    trees = statements_of(script)
    begin = next(i for i, t in enumerate(trees) if isinstance(t, exp.Transaction))
    commit = next(i for i, t in enumerate(trees) if isinstance(t, exp.Commit))
    assert begin == 4 and all(isinstance(t, exp.Create) for t in trees[:begin])
    assert all(s.startswith("CREATE OR REPLACE TRANSIENT TABLE") and "__LANDING" in s for s in script[:begin])
    assert len(trees) - commit - 1 == 4 and all(isinstance(t, exp.Drop) for t in trees[commit + 1 :])
    assert not any(is_ddl(t) for t in trees[begin + 1 : commit]), "no DDL between BEGIN and COMMIT"
    kinds, copied = [], None
    for sql, tree in zip(script[begin + 1 : commit], trees[begin + 1 : commit], strict=True):
        if isinstance(tree, exp.Copy):
            assert not transforms(tree) and tree.this.name.endswith("__LANDING")
            copied = tree.this.sql("snowflake")
            kinds.append("copy")
        elif "ERROR, " in sql and sql.endswith(f"FROM TABLE(VALIDATE({copied}, JOB_ID => '_last'))"):
            kinds.append("validate")
        elif sql.startswith("INSERT INTO MOVIELENS.RAW.LOAD_REJECTS"):
            kinds.append("typed rejects")
        elif sql.startswith("INSERT INTO MOVIELENS.RAW.LOAD_HISTORY"):
            kinds.append("history")
        else:
            assert sql.startswith("INSERT INTO MOVIELENS.RAW.RAW_"), sql
            kinds.append("typed insert")
    assert kinds == ["copy", "validate", "typed rejects", "typed insert", "history"] * 4


def test_no_validate_follows_a_transforming_copy(settings):
    """VALIDATE: "Validation fails if: SELECT statements are used to transform data during a COPY"."""
    script = ext.batch_script(settings, "s3://b/p", manifest(1, ALL), _Book([], False), 1, AT)
    last_copy = None
    validating = 0
    for sql, tree in zip(script, statements_of(script), strict=True):
        if isinstance(tree, exp.Copy):
            last_copy = tree
        if "VALIDATE(" in sql:
            validating += 1
            assert last_copy is not None and not transforms(last_copy)
            assert f"VALIDATE({last_copy.this.sql('snowflake')}, JOB_ID => '_last')" in sql
    assert validating == 4 * 3  # VALIDATE's rejects; the header offset in the typed rejects and the typed insert


def test_column_count_mismatch_is_checked_by_a_plain_copy(settings):
    """ERROR_ON_COLUMN_COUNT_MISMATCH is ignored by a transforming COPY; this one is plain (point 3)."""
    src = settings.config.sources["raw_ratings"]
    tree = parse(ext.copy_sql(settings, src, "batch=0001/ratings.csv"))
    assert isinstance(tree, exp.Copy) and not transforms(tree)
    fmt = file_format(tree)
    assert fmt["ERROR_ON_COLUMN_COUNT_MISMATCH"] == "TRUE" and fmt["PARSE_HEADER"] == "TRUE"
    # the landing table: the file's columns, all VARCHAR, and the row number
    create = parse(ext.create_landing_sql(settings, src))
    cols = {c.name: c.args["kind"].this for c in create.find_all(exp.ColumnDef)}
    assert list(cols) == ["USERID", "MOVIEID", "RATING", "TIMESTAMP", "_SOURCE_ROW"]
    assert all(t == exp.DataType.Type.VARCHAR for c, t in cols.items() if c != "_SOURCE_ROW")


def test_typed_rows_carry_the_local_value_rules_and_their_line(settings):
    from netflix_elt.ingest.parse import _VALID as LOCAL_VALID

    src = settings.config.sources["raw_ratings"]
    checked = ext.checked_sql(settings, src)
    parse(checked)
    # the value rules of the local loader (parse._VALID), the reason naming the column and the value
    assert set(ext._VALID) == set(LOCAL_VALID)
    assert "RLIKE(\"USERID\", '[+-]?[0-9]+')" in checked
    assert "THEN 'invalid INTEGER in userId: ''' || LEFT(\"USERID\", 100) || ''''" in checked
    assert "'rating out of range 0.5..5.0: ' || TRY_CAST(\"RATING\" AS DOUBLE)" in checked
    assert "THEN 'missing value in movieId'" in checked and "THEN 'repeated header line'" in checked
    # the header offset: 1 when the first row number is 1 or VALIDATE rejected that line, else 0
    assert (
        "_SOURCE_ROW + (SELECT CASE WHEN MIN(_SOURCE_ROW) = 1 OR MIN(_SOURCE_ROW) IN (SELECT LINE FROM "
        "TABLE(VALIDATE(MOVIELENS.RAW.RAW_RATINGS__LANDING, JOB_ID => '_last'))) THEN 1 ELSE 0 END" in checked
    )


def test_already_loaded_files_are_skipped_and_missing_required_fails(settings):
    m = manifest(1, ALL)
    # the same ratings content under another batch and path was loaded before
    seen = [PastLoad(3, "RAW_RATINGS", "s3://b/p/batch=0009/ratings.csv", "batch=0009", f"{0:064d}", "LOADED", 10, 10)]
    _, files = ext.load_batch_statements(settings, "s3://b/p", m, _Book(seen, False), 1, AT)
    assert "RAW_RATINGS" not in [f[0] for f in files]
    assert "RAW_RATINGS__LANDING" not in " ".join(ext.before_sql(settings, files))
    _, forced = ext.load_batch_statements(settings, "s3://b/p", m, _Book(seen, True), 1, AT)
    assert "RAW_RATINGS" in [f[0] for f in forced]
    with pytest.raises(LoadError, match=r"batch=0001/tags\.csv: file not found"):
        ext.load_batch_statements(settings, "s3://b/p", manifest(1, ["ratings.csv"]), _Book([], False), 1, AT)
    # a later delta batch may hold ratings only
    _, later = ext.load_batch_statements(settings, "s3://b/p", manifest(2, ["ratings.csv"]), _Book([], False), 1, AT)
    assert [f[0] for f in later] == ["RAW_RATINGS"]


@pytest.mark.parametrize(
    ("policy", "copy_on_error", "skip"),
    [
        ("continue", "CONTINUE", "FALSE"),
        ("skip_file", "CONTINUE", "(SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_REJECTS WHERE _LOAD_ID = 1) > 0"),
        ("skip_file_10", "CONTINUE", "(SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_REJECTS WHERE _LOAD_ID = 1) >= 10"),
        ("skip_file_5%", "CONTINUE", " * 100 >= 5.0 * 10)"),
        ("abort_statement", "ABORT_STATEMENT", "FALSE"),
    ],
)
def test_each_on_error_policy_applies_to_every_reject_of_the_file(settings, policy, copy_on_error, skip):
    """The landing COPY aborts for abort_statement and continues otherwise; the SKIP_FILE policies count every
    reject (VALIDATE's and the typed checks'), as the local loader does (load._skips)."""
    src = settings.config.sources["raw_ratings"].model_copy(update={"on_error": policy})
    sql = ext.copy_sql(settings, src, "batch=0001/ratings.csv")
    parse(sql)
    assert sql.endswith(f"ON_ERROR = {copy_on_error}")
    condition = ext.skip_sql(settings, src, 1, 10)
    assert skip in condition
    typed = ext.typed_statements(settings, src, "s3://b/p/batch=0001/ratings.csv", 1, AT, 10)
    statements_of(typed)
    assert typed[1].endswith(f"WHERE WHY IS NULL AND NOT ({condition})")


def test_default_policies_continue_for_deltas_and_abort_for_full_extracts(settings):
    stmts, _ = ext.load_batch_statements(settings, "s3://b/p", manifest(1, ALL), _Book([], False), 1, AT)
    copies = {s.split()[2]: s for s in stmts if s.startswith("COPY INTO")}
    assert copies["MOVIELENS.RAW.RAW_RATINGS__LANDING"].endswith("ON_ERROR = CONTINUE")
    assert copies["MOVIELENS.RAW.RAW_MOVIES__LANDING"].endswith("ON_ERROR = ABORT_STATEMENT")
    history = [s for s in stmts if s.startswith("INSERT INTO MOVIELENS.RAW.LOAD_HISTORY")]
    assert history and all("'SKIPPED'" in h and "KEY_COUNT" in h for h in history)


def test_skip_batch_only_records_the_files_as_skipped(settings):
    m = manifest(2, ["ratings.csv", "movies.csv"])
    stmts, files = ext.load_batch_statements(settings, "s3://b/p", m, _Book([], False), 5, AT, skip=True)
    statements_of(stmts)
    assert not any(s.startswith("COPY") for s in stmts)
    assert all("'SKIPPED'" in s and "--skip-batch 2" in s for s in stmts) and len(files) == 2
    assert ext.before_sql(settings, files, skip=True) == [] and ext.after_sql(settings, files, skip=True) == []


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


def test_landing_ddl_runs_outside_the_transaction_and_is_dropped_after_a_failure():
    session = RecordingSession(fail_on="COPY INTO")
    with pytest.raises(LoadError, match="rolled back"):
        ext.run_in_transaction(
            session,
            ["COPY INTO X__LANDING FROM @s/f"],
            lambda _m: None,
            before=["CREATE OR REPLACE TRANSIENT TABLE X__LANDING (A VARCHAR)"],
            after=["DROP TABLE IF EXISTS X__LANDING"],
        )
    assert session.sql_log == [
        "CREATE OR REPLACE TRANSIENT TABLE X__LANDING (A VARCHAR)",
        "BEGIN",
        "COPY INTO X__LANDING FROM @s/f",
        "ROLLBACK",
        "DROP TABLE IF EXISTS X__LANDING",
    ]
    ok = RecordingSession()
    ext.run_in_transaction(ok, ["COPY INTO X__LANDING FROM @s/f"], lambda _m: None, after=["DROP TABLE X__LANDING"])
    assert ok.sql_log == ["BEGIN", "COPY INTO X__LANDING FROM @s/f", "COMMIT", "DROP TABLE X__LANDING"]


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
    for force in (False, True):
        stmts, _ = ext.load_batch_statements(settings, "s3://b/p", manifest(1, ALL), _Book([], force), 1, AT)
        copies = [parse(s) for s in stmts if s.startswith("COPY INTO")]
        assert len(copies) == 4
        for tree in copies:
            params = {p.this.name.upper(): p for p in tree.args.get("params", [])}
            assert ("FORCE" in params) is force
            if force:
                assert params["FORCE"].expression.sql("snowflake").upper() == "TRUE"


class ScriptedSession(RecordingSession):
    """Answers the queries load_from_external_stage asks; `rejects` maps a load id to its first reject."""

    def __init__(self, rejects: dict[int, tuple[int, str]]):
        super().__init__()
        self.rejects = rejects

    def collect(self):
        last = self.sql_log[-1]
        if last.startswith("SELECT COALESCE(MAX(LOAD_ID), 0)"):
            return [(0,)]
        if last.startswith("SELECT LINE_NUMBER, REASON"):
            load_id = int(last.split("_LOAD_ID = ")[1].split()[0])
            return [self.rejects[load_id]] if load_id in self.rejects else []
        return []


def test_a_typed_reject_under_abort_statement_rolls_the_batch_back(settings, monkeypatch):
    """ON_ERROR = ABORT_STATEMENT sees only what the landing COPY could not parse; a row the typed checks reject
    fails the batch before COMMIT, as the local loader refuses it; the landing tables are dropped after."""
    from netflix_elt.ingest import load as load_mod

    class FakeLanding:
        def list_batches(self):
            return [manifest(1, ALL)]

    monkeypatch.setattr(load_mod.Landing, "from_url", staticmethod(lambda _url, *a: FakeLanding()))
    monkeypatch.setattr(load_mod, "check_s3_headers", lambda *_a: None)
    session = ScriptedSession({3: (5, "invalid INTEGER in movieId: 'x'")})  # load 3: movies.csv (abort_statement)
    with pytest.raises(LoadError, match=r"movies\.csv: records rejected \(first: line 5, invalid INTEGER"):
        load_mod.load_from_external_stage(session, settings, "s3://b/p", force=False, say=lambda _m: None)
    log = session.sql_log
    begin, rollback = log.index("BEGIN"), log.index("ROLLBACK")
    assert "COMMIT" not in log
    landed = [s for s in settings.config.sources.values() if s.file in ALL]
    assert [s for s in log[:begin] if "__LANDING" in s] == [ext.create_landing_sql(settings, s) for s in landed]
    assert [s for s in log[rollback + 1 :] if "__LANDING" in s] == [ext.drop_landing_sql(settings, s) for s in landed]
    assert not any(s.startswith(("CREATE", "DROP", "ALTER", "TRUNCATE")) for s in log[begin:rollback])
