"""fct_ratings keeps the latest rating by (rating_timestamp, load, source row), whatever order loads arrive in.

Every expected table is computed here in Python from the rows RAW_RATINGS holds, never by the
framework's SQL: per (user, movie) the row with the highest (timestamp, _LOAD_ID, _SOURCE_ROW).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netflix_elt.api import Workspace
from netflix_elt.build_state import WatermarkStore
from tests.conftest import PROJECT_DIR, require_fixture, tiny_config

Rating = tuple[int, int, float, int]  # user, movie, rating, Unix seconds
Row = tuple[int, int, float, int, int, int]  # ... then _LOAD_ID, _SOURCE_ROW

FCT = (
    "SELECT USER_ID, MOVIE_ID, RATING, DATE_PART(EPOCH_SECOND, RATING_TIMESTAMP), _LOAD_ID, _SOURCE_ROW "
    "FROM MOVIELENS.DEV.FCT_RATINGS"
)
RAW = 'SELECT "USERID", "MOVIEID", "RATING", "TIMESTAMP", _LOAD_ID, _SOURCE_ROW FROM MOVIELENS.RAW.RAW_RATINGS'
T0 = 1_500_000_000


def land(folder: Path, ratings: Iterable[Rating], full_extracts: Path | None = None) -> Path:
    """A landed batch: the full-extract files every load needs (one movie, link and tag, or those
    of `full_extracts`, so that the loader's deletion guard sees nothing deleted) and the ratings."""
    folder.mkdir(parents=True)
    if full_extracts is not None:
        for name in ("movies.csv", "links.csv", "tags.csv"):
            shutil.copy(full_extracts / name, folder / name)
    else:
        (folder / "movies.csv").write_text("movieId,title,genres\r\n1,Toy Story (1995),Comedy\r\n", newline="")
        (folder / "links.csv").write_text("movieId,imdbId,tmdbId\r\n1,0114709,862\r\n", newline="")
        (folder / "tags.csv").write_text("userId,movieId,tag,timestamp\r\n1,1,pixar,1139045764\r\n", newline="")
    with (folder / "ratings.csv").open("w", newline="") as f:
        f.write("userId,movieId,rating,timestamp\r\n")
        for u, m, r, t in ratings:
            f.write(f"{u},{m},{r:.1f},{t}\r\n")
    return folder


def _rows(ws: Workspace, sql: str, user_column: str, users: range | None) -> set[Row]:
    where = f" WHERE {user_column} BETWEEN {users.start} AND {users.stop - 1}" if users else ""
    return {
        (int(u), int(m), float(r), int(t), int(load), int(row))
        for u, m, r, t, load, row in ws.session.sql(sql + where).collect()
    }


def fct(ws: Workspace, users: range | None = None) -> set[Row]:
    return _rows(ws, FCT, "USER_ID", users)


def raw(ws: Workspace, users: range | None = None) -> set[Row]:
    return _rows(ws, RAW, '"USERID"', users)


def latest(rows: Iterable[Row]) -> set[Row]:
    """The reference: per (user, movie) the row with the highest (timestamp, load, source row)."""
    best: dict[tuple[int, int], Row] = {}
    for row in rows:
        key, order = row[:2], row[3:]
        if key not in best or order > best[key][3:]:
            best[key] = row
    return set(best.values())


def run_fct(ws: Workspace, *, full_refresh: bool = False):
    results = {r.name: r for r in ws.run(["+fct_ratings"], full_refresh=full_refresh).results}
    assert results["fct_ratings"].status == "success", results["fct_ratings"].message
    return results["fct_ratings"]


def last_load(ws: Workspace) -> int:
    return int(ws.session.sql("SELECT MAX(_LOAD_ID) FROM MOVIELENS.RAW.RAW_RATINGS").collect()[0][0])


@pytest.fixture
def ws(isolated_home):
    with Workspace.from_options(PROJECT_DIR) as ws:
        yield ws


def test_relanding_an_older_batch_changes_only_its_new_key(ws, tmp_path):
    """The real fixture, then newer re-ratings of 200 pairs, then the fixture's own (older) rows
    of those pairs landed again with one new pair: only the new pair may change the table."""
    fixture = require_fixture()
    ws.load(str(fixture))
    run_fct(ws)
    con = duckdb.connect()
    original: list[Rating] = [
        (u, m, float(r), int(t))
        for u, m, r, t in con.execute(
            f"SELECT userId, movieId, rating, timestamp FROM read_csv('{fixture / 'ratings.csv'}') "
            "ORDER BY 1, 2 LIMIT 200"
        ).fetchall()
    ]
    rerated = [(u, m, 0.5 if r != 0.5 else 5.0, t + 1000) for u, m, r, t in original]
    ws.load(str(land(tmp_path / "rerated", rerated, fixture)))
    second = run_fct(ws)
    second_load = last_load(ws)
    assert second.message == "merged: 0 inserted, 200 updated"
    before = fct(ws)
    assert {(u, m, r, t) for u, m, r, t, *_ in before} >= set(rerated)

    new_pair: Rating = (1, 999_001, 3.5, 900_000_000)  # an old event, but of a pair never rated
    ws.load(str(land(tmp_path / "older", [*original, new_pair], fixture)))
    third = run_fct(ws)
    third_load = last_load(ws)
    assert third.message == "merged: 1 inserted, 0 updated"
    after = fct(ws)
    added = after - before
    assert before <= after and {(u, m, r, t) for u, m, r, t, *_ in added} == {new_pair}
    assert after == latest(raw(ws))
    assert len(after) == 100_836 + 1
    assert WatermarkStore(ws.session, ws.settings).get("fct_ratings") == last_load(ws)

    # the very first batch landed again (forced: its checksum was loaded before) changes no rating;
    # where it ties with the current rating (same timestamp) the later load wins, so only the
    # lineage columns of those rows move to the new load
    ratings = {row[:4] for row in after}
    ws.load(str(fixture), force=True)
    fourth = run_fct(ws)
    assert fourth.message == "merged: 0 inserted, 100636 updated"  # the fixture's pairs not re-rated since
    final = fct(ws)
    assert {row[:4] for row in final} == ratings and final == latest(raw(ws))
    assert {row[4] for row in final} == {last_load(ws), second_load, third_load}

    assert run_fct(ws, full_refresh=True).message == "full build"
    assert fct(ws) == final


def test_ties_go_to_the_later_load_then_the_later_source_row(ws, tmp_path):
    t = T0
    a: list[Rating] = [
        (1, 10, 3.0, t),
        (1, 11, 2.0, t),  # the same pair twice in one load at one time: the later row wins
        (1, 11, 4.0, t),
        (1, 12, 1.0, t + 5),
        (1, 13, 2.5, t),
    ]
    b: list[Rating] = [
        (1, 10, 5.0, t),  # same pair and time as load a: the later load wins
        (1, 12, 2.0, t),  # older than what load a brought: loses although loaded later
        (1, 13, 1.5, t),  # same time as a, and twice in this load: the later row of the later load wins
        (1, 13, 4.5, t),
    ]
    c: list[Rating] = [(1, 11, 0.5, t - 1), (1, 12, 5.0, t + 4)]  # nothing here is the latest
    ws.load(str(land(tmp_path / "a", a)))
    ws.load(str(land(tmp_path / "b", b)))
    first = run_fct(ws)  # both loads in one full build
    load_a, load_b = sorted({row[4] for row in raw(ws)})
    expected = {
        (1, 10, 5.0, t, load_b, 1),
        (1, 11, 4.0, t, load_a, 3),
        (1, 12, 1.0, t + 5, load_a, 4),
        (1, 13, 4.5, t, load_b, 4),
    }
    assert first.message == "full build" and fct(ws) == expected

    ws.load(str(land(tmp_path / "c", c)))
    third = run_fct(ws)
    assert third.message == "merged: 0 inserted, 0 updated"
    assert fct(ws) == expected == latest(raw(ws))
    # the watermark passed load c although none of its rows won: the next run does not merge it again
    assert WatermarkStore(ws.session, ws.settings).get("fct_ratings") == last_load(ws)

    assert run_fct(ws, full_refresh=True).message == "full build"
    assert fct(ws) == expected


def test_a_merge_never_replaces_a_row_by_an_older_one_and_null_is_oldest(ws):
    """The generic guard (incremental_merge_sql with latest_by), on the engine, NULLs included."""
    from netflix_elt.materializations.statements import incremental_merge_sql

    ws.init()
    cols = "K INT, V VARCHAR, TS TIMESTAMP_NTZ, L INT, R INT"
    for name, values in {
        "T": "(1,'old',NULL,1,1), (2,'keep','2020-01-02',1,2), (3,'old','2020-01-01',2,5), "
        "(4,'keep','2020-01-01',3,5), (5,'old','2020-01-01',3,5), (7,'keep','2020-01-01',3,5)",
        "S": "(1,'new','2000-01-01',0,0), (2,'lose',NULL,9,9), (3,'new','2020-01-01',3,1), "
        "(4,'lose','2020-01-01',2,9), (5,'new','2020-01-01',3,6), (6,'ins',NULL,1,1), (7,'same','2020-01-01',3,5)",
    }.items():
        ws.session.sql(f"CREATE OR REPLACE TABLE MOVIELENS.DEV.{name} ({cols})").collect()
        ws.session.sql(f"INSERT INTO MOVIELENS.DEV.{name} VALUES {values}").collect()
    stmt = incremental_merge_sql(
        "MOVIELENS.DEV.T", "SELECT * FROM MOVIELENS.DEV.S", ["K", "V", "TS", "L", "R"], ["K"], ["TS", "L", "R"]
    )
    assert [tuple(r) for r in ws.session.sql(stmt).collect()] == [(1, 3)]
    got = dict(tuple(r) for r in ws.session.sql("SELECT K, V FROM MOVIELENS.DEV.T").collect())
    assert got == {1: "new", 2: "keep", 3: "new", 4: "keep", 5: "new", 6: "ins", 7: "keep"}
    # merged again: nothing is newer any more
    assert [tuple(r) for r in ws.session.sql(stmt).collect()] == [(0, 0)]


def test_the_embedded_upsert_leaves_the_table_the_merge_leaves(ws):
    """adapter.upsert on the embedded engine (DELETE + INSERT in one transaction) against the one-statement
    MERGE of the same rows: the same table and the same (inserted, updated) counts, NULL keys and ties
    included; a second run changes nothing."""
    from netflix_elt.materializations.statements import incremental_merge_sql

    ws.init()
    cols = "K INT, V VARCHAR, TS TIMESTAMP_NTZ, L INT, R INT"
    rows = {
        "T": "(1,'old',NULL,1,1), (2,'keep','2020-01-02',1,2), (3,'old','2020-01-01',2,5), "
        "(NULL,'nk','2020-01-01',1,1), (4,'keep','2020-01-01',3,5), (5,'old','2020-01-01',3,5), "
        "(7,'keep','2020-01-01',3,5)",
        "S": "(1,'new','2000-01-01',0,0), (2,'lose',NULL,9,9), (3,'new','2020-01-01',3,1), (NULL,'nk2',NULL,2,2), "
        "(4,'lose','2020-01-01',2,9), (5,'new','2020-01-01',3,6), (6,'ins',NULL,1,1), (7,'same','2020-01-01',3,5)",
    }
    for name in ("T", "U", "S"):
        ws.session.sql(f"CREATE OR REPLACE TABLE MOVIELENS.DEV.{name} ({cols})").collect()
        ws.session.sql(f"INSERT INTO MOVIELENS.DEV.{name} VALUES {rows['S' if name == 'S' else 'T']}").collect()
    args = ("SELECT * FROM MOVIELENS.DEV.S", ["K", "V", "TS", "L", "R"], ["K"], ["TS", "L", "R"])
    merged = [tuple(r) for r in ws.session.sql(incremental_merge_sql("MOVIELENS.DEV.T", *args)).collect()]
    upsert = ws.adapter.upsert("MOVIELENS.DEV.U", *args, log=(log := []), name="t", error=RuntimeError)
    assert [upsert] == merged == [(2, 3)]  # K 6 and the NULL key inserted; K 1, 3, 5 updated
    assert any(s.startswith("DELETE FROM MOVIELENS.DEV.U") for s in log) and "COMMIT" in log
    table = "SELECT K, V, DATE_PART(EPOCH_SECOND, TS), L, R FROM MOVIELENS.DEV.{} ORDER BY K, V"
    assert [tuple(r) for r in ws.session.sql(table.format("U")).collect()] == [
        tuple(r) for r in ws.session.sql(table.format("T")).collect()
    ]
    assert ws.adapter.upsert("MOVIELENS.DEV.U", *args, log=[], name="t", error=RuntimeError) == (1, 0)  # NULL key again
    assert not ws.adapter.relation_exists("MOVIELENS.DEV.U__NETFLIX_ELT_WORK")


# ---- any order of loads, any grouping of runs: the same table as a full refresh and the reference

_bases = itertools.count(1)  # each example rates with its own users, so examples share one warehouse

_rating = st.tuples(
    st.integers(0, 2),  # user (offset by the example's base)
    st.integers(1, 3),  # movie
    st.sampled_from([0.5, 1.0, 2.5, 3.0, 4.5, 5.0]),
    st.integers(0, 3),  # seconds after T0: few distinct times, so ties are common
)
_batches = st.lists(st.lists(_rating, min_size=1, max_size=6), min_size=3, max_size=4, unique_by=tuple)


@pytest.fixture(scope="module")
def shared_ws(tmp_path_factory) -> Iterator[tuple[Workspace, Path]]:
    root = tmp_path_factory.mktemp("fct_order")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(root / "home"))
        mp.setenv("NETFLIX_ELT_TARGET_PATH", str(root / "target"))
        with Workspace.from_options(PROJECT_DIR) as ws:
            yield ws, root


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=_batches, data=st.data())
def test_any_load_order_and_run_grouping_gives_the_full_refresh_table(shared_ws, batches, data):
    ws, root = shared_ws
    base = next(_bases) * 10
    users = range(base, base + 3)
    batches = [[(base + u, m, r, T0 + s) for u, m, r, s in b] for b in batches]
    order = data.draw(st.permutations(range(len(batches))), label="load order")
    run_after = data.draw(st.lists(st.booleans(), min_size=len(batches), max_size=len(batches)), label="run after")
    for i, (n, run) in enumerate(zip(order, run_after, strict=True)):
        ws.load(str(land(root / f"example{base}" / f"load{i}_batch{n}", batches[n])))
        if run or i == len(order) - 1:
            run_fct(ws)
    loaded = raw(ws, users)
    assert sorted((u, m, r, t) for u, m, r, t, *_ in loaded) == sorted(itertools.chain(*batches))
    incremental = fct(ws, users)
    assert incremental == latest(loaded)
    run_fct(ws, full_refresh=True)
    assert fct(ws, users) == incremental


TINY_CONFIG = tiny_config(
    """
[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
mode = "append"
columns = {{ id = "INTEGER", version = "INTEGER" }}
""",
    name="tiny",
    database="TINY",
    threads=4,
)

TINY_TRANSFORMS = """
from netflix_elt import transform


@transform(layer="core", materialized="incremental", unique_key="id", incremental_key="_load_id", latest_by=["version"])
def items_latest(raw_items):
    return raw_items.select("id", "_load_id")  # drops the column its rows are ordered by
"""


def test_an_order_column_the_table_would_not_keep_is_refused(tmp_path, monkeypatch):
    from tests.conftest import write_tiny_project

    project = write_tiny_project(tmp_path, "fctorder", TINY_CONFIG, TINY_TRANSFORMS, "id,version\n1,2\n")
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    with Workspace.from_options(project) as tiny:
        tiny.load(str(project / "landing"))
        result = {r.name: r for r in tiny.run().results}["items_latest"]
    assert result.status == "error"
    assert "latest_by must be output columns" in result.message and "missing VERSION" in result.message
