"""fct_ratings: an incremental MERGE driven by load ids, checked against DuckDB over the same CSVs.

The original dbt model appended rows newer than max(timestamp): it dropped late-arriving ratings
and rows sharing the newest timestamp, and kept re-ratings twice. Here each run merges what was
loaded since the last one, keyed by (user_id, movie_id); the latest rating by (timestamp, load,
source row) wins, whatever order loads arrive in (tests/integration/test_incremental_order.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from netflix_elt.api import Workspace
from tests.conftest import PROJECT_DIR, require_fixture

FCT = "SELECT USER_ID, MOVIE_ID, RATING, DATE_PART(EPOCH_SECOND, RATING_TIMESTAMP) FROM MOVIELENS.DEV.FCT_RATINGS"


def _write_batch2(fixture: Path, folder: Path) -> dict[str, list[tuple[int, int, float, int]]]:
    """A second extract: full movies/links/tags, and a ratings delta with the cases that matter."""
    folder.mkdir(parents=True)
    for name in ("movies.csv", "links.csv", "tags.csv"):
        shutil.copy(fixture / name, folder / name)
    con = duckdb.connect()
    max_ts = con.execute(f"SELECT MAX(timestamp) FROM read_csv('{fixture / 'ratings.csv'}')").fetchone()[0]
    existing = con.execute(
        f"SELECT userId, movieId, rating, timestamp FROM read_csv('{fixture / 'ratings.csv'}') ORDER BY 1, 2 LIMIT 3"
    ).fetchall()
    rerated = [(u, m, 0.5 if r != 0.5 else 5.0, t + 100) for u, m, r, t in existing]
    same_max_ts = [(1, 99001, 4.5, max_ts), (2, 99002, 3.0, max_ts)]
    late = [(3, 99003, 2.5, 1_000_000_000)]  # an old event loaded late
    twice = [(4, 99004, 1.0, 1_100_000_000), (4, 99004, 2.0, 1_100_000_500)]  # same pair twice in one load
    rows = rerated + same_max_ts + late + twice
    with (folder / "ratings.csv").open("w", newline="") as f:
        f.write("userId,movieId,rating,timestamp\r\n")
        for u, m, r, t in rows:
            f.write(f"{u},{m},{r:.1f},{t}\r\n")
    return {"rerated": rerated, "same_max_ts": same_max_ts, "late": late, "twice": twice}


def _reference(fixture: Path, batch2: Path) -> set[tuple]:
    """Latest rating per (user, movie): the later timestamp wins, then the later load, then the later row."""
    con = duckdb.connect()
    return set(
        con.execute(
            f"""SELECT userId, movieId, rating, timestamp FROM (
                  SELECT *, 1 AS load, ROW_NUMBER() OVER () AS line FROM read_csv('{fixture / "ratings.csv"}')
                  UNION ALL SELECT *, 2, ROW_NUMBER() OVER () FROM read_csv('{batch2 / "ratings.csv"}'))
                QUALIFY ROW_NUMBER() OVER (PARTITION BY userId, movieId
                                           ORDER BY timestamp DESC, load DESC, line DESC) = 1"""
        ).fetchall()
    )


def _fct(ws: Workspace) -> set[tuple]:
    return {(u, m, float(r), int(t)) for u, m, r, t in ws.session.sql(FCT).collect()}


@pytest.fixture
def ws(isolated_home):
    with Workspace.from_options(PROJECT_DIR) as ws:
        yield ws


def test_incremental_merge_by_load(ws, tmp_path):
    fixture = require_fixture()
    ws.load(str(fixture))
    ws.seed()
    first = {r.name: r for r in ws.run(["+fct_ratings"]).results}
    assert first["fct_ratings"].message == "full build" and first["fct_ratings"].rows == 100_836

    batch2 = tmp_path / "batch2"
    cases = _write_batch2(fixture, batch2)
    report = ws.load(str(batch2))
    assert {f.table: f.rows_loaded for f in report.loaded}["RAW_RATINGS"] == 8
    # plan, before the run: the new load reaches fct_ratings through src_ratings, merged, not rebuilt
    from netflix_elt.change.plan import plan

    planned = {n.name: n for n in plan(ws, ["fct_ratings"]).nodes}
    assert (planned["fct_ratings"].action, planned["fct_ratings"].reason) == ("build", "upstream changed")
    assert planned["fct_ratings"].upstream == ["src_ratings"] and planned["fct_ratings"].how == "merge new rows"

    second = {r.name: r for r in ws.run(["fct_ratings"]).results}["fct_ratings"]
    got = _fct(ws)
    assert got == _reference(fixture, batch2)
    assert second.rows == 100_836 + 4
    assert second.message == "merged: 4 inserted, 3 updated"
    for u, m, r, t in cases["rerated"] + cases["same_max_ts"] + cases["late"]:
        assert (u, m, r, t) in got
    assert (4, 99004, 2.0, 1_100_000_500) in got and (4, 99004, 1.0, 1_100_000_000) not in got

    # a re-run is skipped: nothing it reads has changed
    third = {r.name: r for r in ws.run(["fct_ratings"]).results}["fct_ratings"]
    assert third.message == "up to date (code and inputs unchanged)"
    # and without the recorded build state, the MERGE finds nothing new and changes nothing
    ws.session.sql("DELETE FROM MOVIELENS.AUDIT.BUILD_STATE").collect()
    fourth = {r.name: r for r in ws.run(["fct_ratings"]).results}["fct_ratings"]
    assert fourth.message == "merged: 0 inserted, 0 updated"
    assert _fct(ws) == got

    # a full refresh rebuilds the same table from every load
    ws.run(["fct_ratings"], full_refresh=True)
    assert _fct(ws) == got

    # the mart picks up the merged rows
    ws.run(["mart_movie_releases"])
    n = ws.session.sql("SELECT COUNT(*) FROM MOVIELENS.DEV.MART_MOVIE_RELEASES").collect()[0][0]
    assert n == len(got)


def test_a_full_build_runs_the_dedupe_window_only_where_a_key_repeats(ws, tmp_path, monkeypatch):
    """The embedded engine counts repeated keys before a full build (checks_keys_before_dedupe): one
    load without a repeated (user, movie) is copied as it is, two loads with re-ratings go through
    the window, and Snowflake's way (always the window, no count) builds the same tables."""
    import csv

    import netflix_elt.materializations.incremental as inc
    from netflix_elt.adapters.embedded import EmbeddedAdapter

    fixture = require_fixture()
    built: list[str] = []
    checks: list[str] = []
    real_table, real_check = inc.create_table_sql, inc.repeated_keys_sql
    monkeypatch.setattr(inc, "create_table_sql", lambda rel, sql: built.append(sql) or real_table(rel, sql))
    monkeypatch.setattr(inc, "repeated_keys_sql", lambda sql, key: checks.append(sql) or real_check(sql, key))
    ws.load(str(fixture))
    ws.run(["+fct_ratings"])
    assert len(checks) == 1 and "QUALIFY" not in built[-1]
    with (fixture / "ratings.csv").open(newline="") as f:
        every_row = {(int(u), int(m), float(r), int(t)) for u, m, r, t in list(csv.reader(f))[1:]}
    assert _fct(ws) == every_row  # the fixture rates each (user, movie) once

    batch2 = tmp_path / "batch2"
    _write_batch2(fixture, batch2)
    ws.load(str(batch2))
    ws.run(["fct_ratings"], full_refresh=True)
    assert len(checks) == 2 and "QUALIFY ROW_NUMBER()" in built[-1]
    latest = _reference(fixture, batch2)
    assert _fct(ws) == latest and len(latest) < len(every_row) + 8  # re-ratings and a pair loaded twice

    monkeypatch.setattr(EmbeddedAdapter, "checks_keys_before_dedupe", False)
    ws.run(["fct_ratings"], full_refresh=True)
    assert len(checks) == 2 and "QUALIFY ROW_NUMBER()" in built[-1]
    assert _fct(ws) == latest


def test_a_merge_cut_short_is_completed_by_the_next_run(ws, tmp_path):
    """Simulate a crash between the emulator's UPDATE and INSERT halves of the MERGE."""
    fixture = require_fixture()
    ws.load(str(fixture))
    ws.run(["+fct_ratings"])
    batch2 = tmp_path / "batch2"
    _write_batch2(fixture, batch2)
    ws.load(str(batch2))
    new_load = ws.session.sql("SELECT MAX(_LOAD_ID) FROM MOVIELENS.RAW.RAW_RATINGS").collect()[0][0]
    # the UPDATE half ran: re-rated rows carry the new load id; the INSERT half did not
    ws.session.sql(
        f"""UPDATE MOVIELENS.DEV.FCT_RATINGS SET _LOAD_ID = {new_load}
            WHERE (USER_ID, MOVIE_ID) IN (SELECT USERID, MOVIEID FROM MOVIELENS.RAW.RAW_RATINGS
                                          WHERE _LOAD_ID = {new_load})"""
    ).collect()
    ws.run(["fct_ratings"])
    assert _fct(ws) == _reference(fixture, batch2)


def test_build_tests_a_fact_after_the_dimension_its_relationship_test_reads(ws, tmp_path):
    """A new movie and a rating of it arrive together: fct_ratings' relationship test must see the
    new dim_movies, so build orders fct_ratings' test after dim_movies (dbt orders tests so too)."""
    fixture = require_fixture()
    first = ws.build(from_url=str(fixture))
    assert first.ok, [(r.name, r.message) for r in first.results if r.status not in ("success", "pass")]
    batch2 = tmp_path / "batch2"
    batch2.mkdir()
    for name in ("links.csv", "tags.csv"):
        shutil.copy(fixture / name, batch2 / name)
    (batch2 / "movies.csv").write_bytes((fixture / "movies.csv").read_bytes() + b"999999,Brand New (2026),Drama\r\n")
    (batch2 / "ratings.csv").write_text("userId,movieId,rating,timestamp\r\n1,999999,4.5,1700000000\r\n", newline="")
    second = ws.build(from_url=str(batch2))
    status = {(r.kind, r.name): (r.status, r.message) for r in second.results}
    # passes its error-severity tests (the 2023 rating is outside the dataset's range: a warning)
    assert status[("test", "fct_ratings")][0] in ("pass", "warn"), status[("test", "fct_ratings")]
    assert status[("transform", "mart_movie_releases")][0] == "success"


def test_build_tests_what_run_built_untested_then_skips_it(ws):
    """`run` builds without tests; the next `build` must still test those nodes once."""
    fixture = str(require_fixture())
    ws.load(fixture)
    ws.run(["+dim_users"])
    first = ws.build(["dim_users"], from_url=fixture)
    assert first.of("dim_users", "transform").message.startswith("up to date")
    tested = first.of("dim_users", "test")
    assert tested.extra.get("tests") and all(t["status"] == "pass" for t in tested.extra["tests"]), tested.message
    second = ws.build(["dim_users"], from_url=fixture).of("dim_users", "test")
    assert second.message.startswith("up to date") and not second.extra.get("tests")
