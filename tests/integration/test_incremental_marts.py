"""Incremental marts: a +1% batch merges only what fct_ratings took in, and the table is always the
one `--full-refresh` builds; a change to what the merged rows rest on (a seed, the node's code)
rebuilds in full (`BuildState.basis`)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from netflix_elt.api import Workspace
from netflix_elt.artifacts import read_results
from tests.conftest import PROJECT_DIR, require_fixture, tiny_config, write_tiny_project
from tests.integration.test_incremental import _reference, _write_batch2

MART = (
    "SELECT USER_ID, MOVIE_ID, RATING, DATE_PART(EPOCH_SECOND, RATING_TIMESTAMP), RELEASE_DATE, "
    "RELEASE_INFO_AVAILABLE, _LOAD_ID, _SOURCE_ROW FROM MOVIELENS.DEV.MART_MOVIE_RELEASES"
)


def _mart(ws: Workspace) -> set[tuple]:
    return {(u, m, float(r), int(t), d, k, lo, sr) for u, m, r, t, d, k, lo, sr in ws.session.sql(MART).collect()}


def _expected(ratings: set[tuple]) -> set[tuple]:
    """The latest ratings joined, in plain DuckDB, to the seed CSV as the mart describes."""
    con = duckdb.connect()
    con.execute("CREATE TABLE r (u INTEGER, m INTEGER, rating DOUBLE, ts BIGINT)")
    con.executemany("INSERT INTO r VALUES (?, ?, ?, ?)", sorted(ratings))
    seed = PROJECT_DIR / "seeds" / "seed_movie_release_dates.csv"
    rows = con.execute(
        f"""SELECT r.u, r.m, r.rating, r.ts, s.release_date,
                   CASE WHEN s.release_date IS NULL THEN 'unknown' ELSE 'known' END
            FROM r LEFT JOIN read_csv('{seed}', columns = {{'movie_id': 'INTEGER', 'release_date': 'DATE'}},
                                      header = true) s ON r.m = s.movie_id"""
    ).fetchall()
    return set(rows)


@pytest.fixture
def ws(isolated_home):
    with Workspace.from_options(PROJECT_DIR) as ws:
        yield ws


def test_mart_movie_releases_merges_the_new_ratings_and_equals_a_full_refresh(ws, tmp_path):
    fixture = require_fixture()
    ws.load(str(fixture))
    ws.seed()
    first = {r.name: r for r in ws.run(["+mart_movie_releases"]).results}["mart_movie_releases"]
    assert first.message == "full build" and first.rows == 100_836
    one = (
        duckdb.connect()
        .execute(f"SELECT userId, movieId, rating, timestamp FROM read_csv('{fixture / 'ratings.csv'}')")
        .fetchall()
    )
    assert {row[:6] for row in _mart(ws)} == _expected(set(one))

    batch2 = tmp_path / "batch2"
    _write_batch2(fixture, batch2)
    ws.load(str(batch2))
    second = {r.name: r for r in ws.run(["fct_ratings", "mart_movie_releases"]).results}
    # the same rows fct_ratings merged (4 new keys, 3 re-rated), not the 100k others
    assert second["mart_movie_releases"].message == "merged: 4 inserted, 3 updated"
    merged = _mart(ws)
    assert {row[:6] for row in merged} == _expected(_reference(fixture, batch2))

    ws.run(["mart_movie_releases"], full_refresh=True)
    assert _mart(ws) == merged  # every column, _load_id and _source_row included


CONFIG = tiny_config(
    """
[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
mode = "append"
columns = {{ id = "INTEGER", price = "FLOAT" }}

[seeds.seed_vat]
file = "seed_vat.csv"
columns = {{ id = "INTEGER", vat = "FLOAT" }}
""",
    name="incmart",
    database="INCMART",
)

ITEMS = """
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(layer="staging", materialized="view")
def stg_items(raw_items):
    return raw_items.select(F.col("id"), F.col("price"), F.col("_LOAD_ID"), F.col("_SOURCE_ROW"))


@transform(layer="core", materialized="incremental", unique_key=["id"], incremental_key="_load_id",
           latest_by=["_load_id", "_source_row"])
def fct_items(stg_items):
    return stg_items


@transform(layer="marts", materialized="incremental", unique_key=["id"], incremental_key="_load_id",
           latest_by=["_load_id", "_source_row"])
def mart_items(fct_items, seed_vat):
    joined = fct_items.join(seed_vat, fct_items["id"] == seed_vat["id"], "left", rsuffix="_vat")
    return joined.select("id", (F.col("price") * (F.lit(1) + F.coalesce(F.col("vat"), F.lit(0)))).alias("gross"),
                         "_load_id", "_source_row")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tiny_project(tmp_path, "incmart", CONFIG, textwrap.dedent(ITEMS), "id,price\n1,10.0\n2,20.0\n")
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "seed_vat.csv").write_text("id,vat\n1,0.5\n")
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    return tmp_path


def _build(project: Path, landing: Path, fault: str = "") -> dict[str, str]:
    """`build` in a new process each time: this one must not import the transforms it edits."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project), *sys.path]), "NETFLIX_ELT_FAULT": fault}
    cmd = [sys.executable, "-m", "netflix_elt.cli", "build", "--from", str(landing), "--project-dir", str(project)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if fault:
        assert res.returncode == -9, res.stdout + res.stderr  # SIGKILLed at the fault point
        return {}
    assert res.returncode == 0, res.stdout + res.stderr
    return {r["name"]: r["message"] for r in read_results(project / "target") if r["resource_type"] == "model"}


def _gross(project: Path) -> dict[int, float]:
    """Read straight from the warehouse file (DuckDB underneath), not through the framework."""
    con = duckdb.connect(str(project / "home" / "warehouse" / "INCMART.db"), read_only=True)
    try:
        return {int(i): round(float(g), 6) for i, g in con.execute("SELECT id, gross FROM dev.mart_items").fetchall()}
    finally:
        con.close()


def test_a_seed_or_code_change_rebuilds_an_incremental_mart_in_full(project: Path) -> None:
    first = _build(project, project / "landing")
    assert first["fct_items"] == "full build" and first["mart_items"] == "full build"
    assert _gross(project) == {1: 15.0, 2: 20.0}

    batch2 = project / "batch2"
    batch2.mkdir()
    (batch2 / "items.csv").write_text("id,price\n2,30.0\n3,40.0\n")
    second = _build(project, batch2)
    assert second["fct_items"] == "merged: 1 inserted, 1 updated"
    assert second["mart_items"] == "merged: 1 inserted, 1 updated"
    assert _gross(project) == {1: 15.0, 2: 30.0, 3: 40.0}

    # a new seed file rewrites rows merged earlier: the mart is rebuilt, the fact only merges
    (project / "seeds" / "seed_vat.csv").write_text("id,vat\n1,0.5\n3,0.25\n")
    # killed after deciding to rebuild, before the new table: the next build must rebuild still
    _build(project, batch2, fault="incremental.rebuild:1")
    assert _gross(project) == {1: 15.0, 2: 30.0, 3: 40.0}
    third = _build(project, batch2)  # batch2 again: already loaded, skipped
    assert third["mart_items"] == "full build (code or a non-stream input changed)"
    assert third["fct_items"].startswith("up to date")
    assert _gross(project) == {1: 15.0, 2: 30.0, 3: 50.0}

    # so does an edit of the mart's code
    package = next(p for p in project.iterdir() if p.name.startswith("incmart_"))
    items = package / "items.py"
    items.write_text(items.read_text().replace('F.lit(0)))).alias("gross")', 'F.lit(0))) * 2).alias("gross")'))
    fourth = _build(project, batch2)
    assert fourth["mart_items"] == "full build (code or a non-stream input changed)"
    assert _gross(project) == {1: 30.0, 2: 60.0, 3: 100.0}

    # and of the code above the stream: the fact rebuilds in full, and the mart after it
    items.write_text(
        items.read_text().replace(
            'F.col("price"), F.col("_LOAD_ID")', '(F.col("price") + 1).alias("price"), F.col("_LOAD_ID")'
        )
    )
    fifth = _build(project, batch2)
    assert fifth["fct_items"] == "full build (code or a non-stream input changed)"
    assert fifth["mart_items"] == "full build (code or a non-stream input changed)"
    assert _gross(project) == {1: 33.0, 2: 62.0, 3: 102.5}
