"""Issue 19: statements the `snowflake` profile sends, checked against Snowflake's documented rules.

Each statement is parsed with sqlglot's Snowflake dialect and the rule is asserted on the tree:
- Parquet COPY: `USE_LOGICAL_TYPE = TRUE` (CREATE FILE FORMAT, Parquet options), point 2;
- `load --force`: `FORCE = TRUE` on every COPY (COPY INTO <table>, copy options), point 4;
- seeds: no DDL between BEGIN and COMMIT (DDL commits implicitly: Transactions), point 5;
- `init` sends no CREATE DATABASE on Snowflake (the admin SQL does: CREATE DATABASE), point 7;
- the Snowflake session sets AUTOCOMMIT = TRUE (Parameters, AUTOCOMMIT), point 8;
- key-pair connections without `authenticator` are accepted (key-pair authentication), point 9.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from netflix_elt.config import load_settings
from netflix_elt.errors import LoadError
from netflix_elt.ingest import load as load_mod
from tests.conftest import PROJECT_DIR


def parse(sql: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    assert tree is not None
    return tree


def copy_params(sql: str) -> dict[str, exp.CopyParameter]:
    tree = parse(sql)
    assert isinstance(tree, exp.Copy), sql
    return {p.this.name.upper(): p for p in tree.args.get("params", [])}


def file_format(sql: str) -> dict[str, str]:
    fmt = copy_params(sql)["FILE_FORMAT"]
    return {p.this.name.upper(): p.args["value"].sql("snowflake").upper() for p in fmt.expressions}


@pytest.fixture
def sf_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    return load_settings(PROJECT_DIR, profile="snowflake")


class RecordingSession:
    """Records every statement; fails the first one containing `fail_on`."""

    def __init__(self, fail_on: str | None = None, count: int = 0) -> None:
        self.log: list[str] = []
        self.fail_on, self.count = fail_on, count

    def sql(self, text: str) -> RecordingSession:
        self.log.append(text)
        if self.fail_on and self.fail_on in text:
            raise RuntimeError("boom: the COPY failed")
        return self

    def collect(self) -> list[Any]:
        if "INFORMATION_SCHEMA" in self.log[-1]:  # a new account's catalog: nothing there yet
            return []
        return [(self.count,)]


# point 2 and 4: the local-landing Parquet COPY ----------------------------------------------------
def test_parquet_copy_uses_logical_types_and_force_only_when_asked():
    location = "@MOVIELENS.RAW.NETFLIX_ELT_LOAD_STAGE/load_1/"
    plain = load_mod.copy_parquet_sql(location, "ratings.parquet", "MOVIELENS.RAW.RAW_RATINGS")
    assert file_format(plain) == {"TYPE": "PARQUET", "USE_LOGICAL_TYPE": "TRUE"}
    assert copy_params(plain)["MATCH_BY_COLUMN_NAME"].expression.name.upper() == "CASE_INSENSITIVE"
    assert "FORCE" not in copy_params(plain)
    forced = load_mod.copy_parquet_sql(location, "ratings.parquet", "MOVIELENS.RAW.RAW_RATINGS", force=True)
    assert copy_params(forced)["FORCE"].expression.sql("snowflake").upper() == "TRUE"
    assert file_format(forced)["USE_LOGICAL_TYPE"] == "TRUE"


def test_load_force_reaches_every_local_copy(sf_settings, tmp_path):
    from datetime import datetime

    from netflix_elt.ingest.load import FileLoad, LandedBatch

    class Parsed:
        parquet = tmp_path / "ratings.parquet"
        rejects_parquet = tmp_path / "rejects.parquet"
        keys = 3

    batch = LandedBatch("batch=0001", "s3://b/p/batch=0001", {})
    fl = FileLoad("raw_ratings", "RAW_RATINGS", "s3://b/p/batch=0001/ratings.csv", "LOADED", 3, 3, 0, 1)
    for force in (False, True):
        session = RecordingSession()
        plan = [(batch, Parsed(), fl)]
        load_mod._apply(session, sf_settings, plan, datetime(2026, 1, 1), lambda _m: None, force=force)
        copies = [s for s in session.log if s.startswith("COPY INTO")]
        assert len(copies) == 2  # the rows and the rejects
        for sql in copies:
            assert file_format(sql)["USE_LOGICAL_TYPE"] == "TRUE"
            assert ("FORCE" in copy_params(sql)) is force


# point 5: seeds publish without DDL inside a transaction -------------------------------------------
def test_seed_statements_run_no_ddl_inside_a_transaction(sf_settings):
    from netflix_elt.seeds import load_seeds

    session = RecordingSession(count=10)  # the seed file has 10 rows
    load_seeds(session, sf_settings, ["seed_movie_release_dates"])  # type: ignore[arg-type]
    in_transaction = False
    for sql in session.log:
        tree = parse(sql)
        if isinstance(tree, exp.Transaction):
            in_transaction = True
        elif isinstance(tree, exp.Commit | exp.Rollback):
            in_transaction = False
        elif in_transaction:
            assert not isinstance(tree, exp.Create | exp.Drop | exp.Alter), f"DDL inside a transaction: {sql}"
    target = f"{sf_settings.database}.{sf_settings.target_schema}.SEED_MOVIE_RELEASE_DATES"
    new = f"{target}__NETFLIX_ELT_NEW"
    copy = next(s for s in session.log if s.startswith("COPY INTO"))
    assert parse(copy).this.sql("snowflake") == new  # loaded into the new table, not the seed
    publish = f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {new}"
    assert session.log.index(publish) > session.log.index(copy)
    assert session.log[-1] == f"DROP TABLE IF EXISTS {new}"


def test_a_failed_seed_copy_never_touches_the_seed(sf_settings):
    from netflix_elt.seeds import load_seeds

    session = RecordingSession(fail_on="COPY INTO")
    with pytest.raises(RuntimeError, match="boom"):
        load_seeds(session, sf_settings, ["seed_movie_release_dates"])  # type: ignore[arg-type]
    target = f"{sf_settings.database}.{sf_settings.target_schema}.SEED_MOVIE_RELEASE_DATES"
    tables = {t.sql("snowflake") for s in session.log for t in parse(s).find_all(exp.Table)}
    assert target not in tables and f"{target}__NETFLIX_ELT_NEW" in tables
    assert session.log[-1] == f"DROP TABLE IF EXISTS {target}__NETFLIX_ELT_NEW"


def test_a_row_count_mismatch_keeps_the_old_seed(sf_settings):
    from netflix_elt.seeds import load_seeds

    session = RecordingSession(count=1)  # the COPY brought 1 row, the file has 10
    with pytest.raises(LoadError, match="the old seed is kept"):
        load_seeds(session, sf_settings, ["seed_movie_release_dates"])  # type: ignore[arg-type]
    target = f"{sf_settings.database}.{sf_settings.target_schema}.SEED_MOVIE_RELEASE_DATES"
    assert not any(s.startswith(f"CREATE OR REPLACE TABLE {target} AS") for s in session.log)


def test_a_failed_seed_copy_leaves_the_old_seed_on_the_embedded_engine(tmp_path, monkeypatch):
    """The real emulator: load the seed, then a COPY that fails (a file that is not Parquet)."""
    from netflix_elt import seeds
    from netflix_elt.adapters import adapter_for

    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    settings = load_settings(PROJECT_DIR)
    adapter = adapter_for(settings)
    try:
        session = adapter.session
        assert seeds.load_seeds(session, settings, ["seed_movie_release_dates"]) == {"seed_movie_release_dates": 10}
        table = f"{settings.database}.{settings.target_schema}.SEED_MOVIE_RELEASE_DATES"
        before = sorted(tuple(r) for r in session.sql(f"SELECT * FROM {table}").collect())
        real_copy = seeds.copy_parquet

        def broken_copy(session: Any, settings: Any, parquet: Path, table: str, folder: str, **kw: Any) -> None:
            parquet.write_bytes(b"not a parquet file")
            real_copy(session, settings, parquet, table, folder, **kw)

        monkeypatch.setattr(seeds, "copy_parquet", broken_copy)
        with pytest.raises(Exception):  # noqa: B017 - the emulator's own error
            seeds.load_seeds(session, settings, ["seed_movie_release_dates"])
        after = sorted(tuple(r) for r in session.sql(f"SELECT * FROM {table}").collect())
        assert after == before and len(after) == 10
        assert not adapter.relation_exists(f"{table}__NETFLIX_ELT_NEW")
    finally:
        adapter.release()


# point 7: init sends no CREATE DATABASE on Snowflake -----------------------------------------------
def test_init_creates_the_database_only_on_the_embedded_engine(sf_settings):
    from netflix_elt.commands import init_statements

    snowflake = [parse(s) for s in init_statements(sf_settings)]
    assert snowflake and not any(isinstance(t, exp.Create) and t.kind == "DATABASE" for t in snowflake)
    assert all(isinstance(t, exp.Create) and t.kind == "SCHEMA" for t in snowflake)
    local = load_settings(PROJECT_DIR)
    first = parse(init_statements(local)[0])
    assert isinstance(first, exp.Create) and first.kind == "DATABASE" and first.args.get("exists")


# point 8: AUTOCOMMIT is set on the Snowflake session ------------------------------------------------
def test_snowflake_session_sets_autocommit(sf_settings, monkeypatch):
    from snowflake.snowpark import Session

    from netflix_elt.adapters.snowflake import SnowflakeAdapter

    adapter = SnowflakeAdapter(sf_settings)
    base = {"account": "a", "user": "u", "password": "p", "session_parameters": {"QUERY_TAG": "x"}}
    monkeypatch.setattr(adapter, "connection_params", lambda: dict(base))
    seen: dict[str, Any] = {}

    class Builder:
        def configs(self, params: dict[str, Any]) -> Builder:
            seen.update(params)
            return self

        def create(self) -> str:
            return "session"

    monkeypatch.setattr(Session, "builder", Builder())
    assert adapter._open() == "session"
    assert seen["session_parameters"] == {"QUERY_TAG": "x", "AUTOCOMMIT": True}
    assert seen["database"] == sf_settings.database


# point 9: key-pair without an authenticator ---------------------------------------------------------
def test_private_key_file_without_authenticator_is_key_pair(tmp_path, monkeypatch):
    from netflix_elt.connections import snowflake_connection_params

    sf = tmp_path / "sf"
    sf.mkdir()
    (sf / "connections.toml").write_text('[default]\naccount = "a"\nuser = "SVC"\nprivate_key_file = "~/k.p8"\n')
    monkeypatch.setenv("SNOWFLAKE_HOME", str(sf))
    monkeypatch.setenv("HOME", str(tmp_path))
    params = snowflake_connection_params()
    assert params["private_key_file"] == str(tmp_path / "k.p8") and "authenticator" not in params


def test_a_key_file_without_authenticator_is_still_kept_out_of_the_project(tmp_path, monkeypatch):
    from netflix_elt.connections import snowflake_connection_params
    from netflix_elt.errors import ConfigError

    sf = tmp_path / "sf"
    sf.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    key = project / "k.p8"
    (sf / "connections.toml").write_text(f'[default]\naccount = "a"\nuser = "SVC"\nprivate_key_file = "{key}"\n')
    monkeypatch.setenv("SNOWFLAKE_HOME", str(sf))
    with pytest.raises(ConfigError, match="inside the project folder"):
        snowflake_connection_params(project_dir=project)
