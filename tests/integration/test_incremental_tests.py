"""Incremental data tests: after a merge, the suites run on what changed and fail exactly as the
whole-table run (`validate --full`) does on the same warehouse; the rows they report having read
equal DuckDB's own count of the batch (quality.incremental, docs/data_tests.md)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlalchemy import event
from sqlalchemy.engine import Engine

from netflix_elt.api import Workspace
from tests.conftest import PROJECT_DIR, require_fixture

FCT = "MOVIELENS.DEV.FCT_RATINGS"
COLUMNS = "user_id, movie_id, rating, rating_timestamp, _load_id, _source_row"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One warehouse for the module: the fixture built (whole-table tests, state recorded)."""
    root = tmp_path_factory.mktemp("inctest")
    old = {k: os.environ.get(k) for k in ("NETFLIX_ELT_HOME", "NETFLIX_ELT_TARGET_PATH")}
    os.environ["NETFLIX_ELT_HOME"] = str(root / "home")
    os.environ["NETFLIX_ELT_TARGET_PATH"] = str(root / "target")
    try:
        with Workspace.from_options(PROJECT_DIR) as ws:
            out = ws.build(from_url=str(require_fixture()))
            assert out.ok, [(r.name, r.message) for r in out.results if r.status not in ("success", "pass")]
            tests = {r.name: r for r in out.results if r.kind == "test"}
            assert "incremental" not in tests["fct_ratings"].message  # a first build tests whole tables
        yield root
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def ws(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(home / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(home / "target"))
    with Workspace.from_options(PROJECT_DIR) as w:
        yield w


def _tests(outcome, name: str) -> dict[str, dict]:
    return {t["expectation"]: t for t in outcome.of(name, "test").extra["tests"]}


def _write_clean_batch2(fixture: Path, folder: Path) -> None:
    """A second extract that breaks nothing: movies.csv gains a movie (a new load, so dim_movies is
    rebuilt), and a ratings delta re-rates 3 pairs and rates 4 new ones (one twice), all of known movies."""
    folder.mkdir(parents=True)
    for name in ("links.csv", "tags.csv"):
        shutil.copy(fixture / name, folder / name)
    (folder / "movies.csv").write_bytes((fixture / "movies.csv").read_bytes() + b"99999,A Test Movie (2019),Drama\r\n")
    con = duckdb.connect()
    ratings = f"read_csv('{fixture / 'ratings.csv'}')"
    rerated = con.execute(f"SELECT userId, movieId, rating, timestamp FROM {ratings} ORDER BY 1, 2 LIMIT 3").fetchall()
    unrated = con.execute(
        f"SELECT movieId FROM read_csv('{fixture / 'movies.csv'}') WHERE movieId NOT IN "
        f"(SELECT movieId FROM {ratings} WHERE userId = 1) ORDER BY 1 LIMIT 3"
    ).fetchall()
    rows = [(u, m, 0.5 if r != 0.5 else 5.0, t + 100) for u, m, r, t in rerated]
    rows += [(1, m, 4.0, 1_500_000_000) for (m,) in unrated]
    rows += [(2, 99999, 3.0, 1_500_000_000), (2, 99999, 3.5, 1_500_000_500)]  # the new movie, twice
    with (folder / "ratings.csv").open("w", newline="") as f:
        f.write("userId,movieId,rating,timestamp\r\n")
        for u, m, r, t in rows:
            f.write(f"{u},{m},{r:.1f},{t}\r\n")


def _winners_from_batch2(fixture: Path, batch2: Path) -> int:
    """Keys whose latest rating (timestamp, then load, then row) comes from batch 2, in plain DuckDB."""
    return (
        duckdb.connect()
        .execute(
            f"""SELECT COUNT(*) FROM (SELECT load FROM (
              SELECT *, 1 AS load, ROW_NUMBER() OVER () AS line FROM read_csv('{fixture / "ratings.csv"}')
              UNION ALL SELECT *, 2, ROW_NUMBER() OVER () FROM read_csv('{batch2 / "ratings.csv"}'))
            QUALIFY ROW_NUMBER() OVER (PARTITION BY userId, movieId ORDER BY timestamp DESC, load DESC, line DESC) = 1)
            WHERE load = 2"""
        )
        .fetchone()[0]
    )


def test_a_clean_batch_is_tested_on_its_rows_and_passes(ws, home, tmp_path):
    fixture = require_fixture()
    batch2 = tmp_path / "batch2"
    _write_clean_batch2(fixture, batch2)
    gx_sql: list[str] = []  # what GX's engines send (SQLAlchemy's public cursor event)

    def record(conn, cursor, statement, parameters, context, executemany):
        gx_sql.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        out = ws.build(from_url=str(batch2))
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert out.ok, [(r.name, r.message) for r in out.results if r.status not in ("success", "pass")]

    # each changed-rows batch is materialized once as a temporary table (valid Snowflake), and GX
    # never runs the bare batch query, which would send every changed row back to learn the columns
    batch_query = 'SELECT * FROM MOVIELENS.DEV.FCT_RATINGS WHERE "_LOAD_ID" > 1'
    temp = [q for q in gx_sql if q.startswith("CREATE OR REPLACE TEMPORARY TABLE gx_temp_")]
    assert any(q.endswith(f" AS {batch_query}") for q in temp), temp
    for q in temp:
        assert isinstance(sqlglot.parse_one(q, read="snowflake"), sqlglot.exp.Create), q
    bare = [q for q in gx_sql if q.rstrip(";").endswith('"_LOAD_ID" > 1') and not q.startswith("CREATE")]
    assert not bare, bare

    fct = _tests(out, "fct_ratings")
    winners = _winners_from_batch2(fixture, batch2)
    assert winners == 7  # 4 new keys (one of them twice in the file) and 3 re-rated
    not_null = fct["expect_column_values_to_not_be_null(user_id)"]
    assert not_null["scope"].startswith("changed rows (_load_id > ") and not_null["rows_checked"] == winners
    unique = fct["expect_compound_columns_to_be_unique(user_id, movie_id)"]
    assert unique["scope"].startswith("rows sharing a key (user_id, movie_id)") and unique["rows_checked"] is None
    assert fct["row_count_matches_raw_ratings"]["scope"].startswith("delta: the previous passing state")
    # dim_movies was rebuilt from the new movies load: the relationship is proved on the whole table
    assert fct["movie_id_in_dim_movies"]["scope"].startswith("whole table (reads dim_movies")
    assert all(t["status"] == "pass" for t in fct.values())
    assert "incremental, _load_id > " in out.of("fct_ratings", "test").message

    raw_rows = duckdb.connect().execute(f"SELECT COUNT(*) FROM read_csv('{batch2 / 'ratings.csv'}')").fetchone()[0]
    raw = _tests(out, "raw_ratings")
    assert {t["rows_checked"] for t in raw.values()} == {raw_rows} == {8}
    mart = _tests(out, "mart_movie_releases")
    assert mart["expect_column_values_to_not_be_null(movie_id)"]["rows_checked"] == winners
    assert mart["row_count_matches_fct_ratings"]["scope"] == "whole table"  # two counts: always whole

    # a source with no new load is not tested again; one whose loads changed is
    again = ws.build(from_url=str(batch2))
    assert again.of("raw_ratings", "test").message == "up to date (its tests passed on these loads)"
    assert again.of("fct_ratings", "test").message.startswith("up to date")


def _compare(ws: Workspace, label_counts: dict[str, int]) -> None:
    """validate (incremental) and validate --full on fct_ratings: the same verdicts, counts and samples."""
    inc = {r.expectation: r for r in ws.validate(["fct_ratings"]).results}
    full = {r.expectation: r for r in ws.validate(["fct_ratings"], full=True).results}
    assert set(inc) == set(full)
    for label, r in inc.items():
        f = full[label]
        assert (r.status, r.unexpected_count) == (f.status, f.unexpected_count), label
        assert f.scope == "whole table"
    for label, count in label_counts.items():
        assert inc[label].status == "fail" and inc[label].unexpected_count == count, label
        assert inc[label].scope != "whole table", label
    recon = "row_count_matches_raw_ratings"
    assert inc[recon].sample == full[recon].sample  # the same two counts, from the delta and from RAW


def _inject(ws: Workspace, select_sql: str) -> int:
    """Rows added to fct_ratings as a merge would add them: with a load id beyond the watermark."""
    top = ws.session.sql(f"SELECT MAX(_load_id) FROM {FCT}").collect()[0][0]
    ws.session.sql(f"INSERT INTO {FCT} ({COLUMNS}) SELECT {select_sql.format(load=top + 100)}").collect()
    return top + 100


@pytest.mark.parametrize(
    ("case", "select_sql", "fails"),
    [
        (
            "duplicate key",
            "user_id, movie_id, rating, rating_timestamp, {load}, _source_row FROM " + FCT + " WHERE user_id = 1 "
            "AND movie_id IN (1, 3)",
            {"expect_compound_columns_to_be_unique(user_id, movie_id)": 2, "row_count_matches_raw_ratings": 1},
        ),
        (
            "null",
            "NULL, 1, 4.0, rating_timestamp, {load}, 1 FROM " + FCT + " WHERE user_id = 1 AND movie_id = 1",
            {"expect_column_values_to_not_be_null(user_id)": 1, "no_nulls_in_columns": 1},
        ),
        (
            "out of range",
            "999999, 1, 9.0, rating_timestamp, {load}, 1 FROM " + FCT + " WHERE user_id = 1 AND movie_id = 1",
            {"expect_column_values_to_be_between(rating)": 1, "rating_in_half_stars": 1},
        ),
    ],
)
def test_bad_new_rows_fail_incrementally_as_they_fail_in_full(ws, case, select_sql, fails):
    load = _inject(ws, select_sql)
    try:
        _compare(ws, fails)
    finally:
        ws.session.sql(f"DELETE FROM {FCT} WHERE _load_id = {load}").collect()
    clean = {r.expectation: r for r in ws.validate(["fct_ratings"]).results}
    assert all(r.status == "pass" for r in clean.values()), case


def test_an_edited_expectation_runs_on_the_whole_table(ws):
    """An expectation is proved incrementally only from a pass of that expectation as written now."""
    from netflix_elt.quality.incremental import Passed

    store = ws.session.sql(
        "SELECT PASSED FROM MOVIELENS.AUDIT.TEST_STATE WHERE NODE = 'fct_ratings' AND TARGET_SCHEMA = 'DEV'"
    ).collect()
    prev = Passed.from_json(json.loads(store[0][0]))
    assert prev is not None and "rating_in_half_stars" in prev.labels
    edited = {**prev.labels, "rating_in_half_stars": "0" * 16}
    ws.session.sql(
        "UPDATE MOVIELENS.AUDIT.TEST_STATE SET PASSED = "
        f"'{json.dumps({**prev.as_json(), 'labels': edited})}' WHERE NODE = 'fct_ratings' AND TARGET_SCHEMA = 'DEV'"
    ).collect()
    res = {r.expectation: r for r in ws.validate(["fct_ratings"]).results}
    assert res["rating_in_half_stars"].scope.startswith("whole table (did not pass")
    assert res["expect_column_values_to_not_be_null(user_id)"].scope.startswith("changed rows")


def test_a_bad_raw_batch_fails_its_new_rows_as_the_full_suite_does(ws, tmp_path):
    """Last (RAW keeps the bad load): ratings of 3.7 (in the loader's range, no half star) and a
    timestamp past the dataset's range in a new load fail raw_ratings' half-star check (error) and
    warn its timestamp check on that load's rows, with the counts validate --full finds."""
    batch3 = tmp_path / "batch3"
    batch3.mkdir()
    for name in ("movies.csv", "links.csv", "tags.csv"):  # content loaded before: not loaded again
        shutil.copy(require_fixture() / name, batch3 / name)
    (batch3 / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\r\n1,2,3.7,1500000000\r\n1,5,4.0,1600000000\r\n2,6,3.7,1500000000\r\n"
    )
    out = ws.build(from_url=str(batch3))
    raw = _tests(out, "raw_ratings")
    assert out.of("raw_ratings", "test").status == "fail", out.of("raw_ratings", "test").message
    assert out.of("fct_ratings", "transform").status == "skipped"
    assert (raw["rating_in_half_stars"]["status"], raw["rating_in_half_stars"]["unexpected"]) == ("fail", 2)
    assert (raw["timestamp_in_dataset_range"]["status"], raw["timestamp_in_dataset_range"]["unexpected"]) == ("warn", 1)
    assert {t["rows_checked"] for t in raw.values()} == {3}
    full = {r.expectation: r for r in ws.validate(["raw_ratings"], full=True).results}
    for label, t in raw.items():
        assert (t["status"], t["unexpected"]) == (full[label].status, full[label].unexpected_count), label
