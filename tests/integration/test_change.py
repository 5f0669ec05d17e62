"""Change safely (issue 18, items 3 and 4): diff between targets, --defer prod, clone prod into dev.

One warehouse per module: the real fixture loaded into RAW and the whole project built in PROD.
The tests then run in order in DEV: a build that fails without --defer and succeeds with it, a
changed transform diffed against PROD, and a clone from PROD followed by builds. Every expected
number is computed apart from the framework: with DuckDB over the warehouse file (the engine's
session released first) or with Python's csv module over the fixture's files.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from click.testing import CliRunner

from netflix_elt.api import Workspace
from netflix_elt.cli import main
from netflix_elt.registry import Project
from tests.conftest import PROJECT_DIR, require_fixture
from tests.integration.test_incremental import _reference, _write_batch2

DB = "MOVIELENS"


@pytest.fixture(scope="module")
def prod_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fixture loaded and every node built in target prod; DEV is empty."""
    fixture = require_fixture()
    root = tmp_path_factory.mktemp("change")
    env = {"NETFLIX_ELT_HOME": str(root / "home"), "NETFLIX_ELT_TARGET_PATH": str(root / "target")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with Workspace.from_options(PROJECT_DIR, target="prod") as ws:
            ws.load(str(fixture))
            ws.seed()
            out = ws.run()
            assert out.ok, [(r.name, r.message) for r in out.results if r.status != "success"]
            ws.adapter.release()
        yield root
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def home(prod_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(prod_root / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(prod_root / "target"))
    return prod_root


def _duck(root: Path, sql: str) -> list[tuple[Any, ...]]:
    """Plain DuckDB over the warehouse file, after giving the engine's session up."""
    with Workspace.from_options(PROJECT_DIR) as ws:
        ws.adapter.release()
    con = duckdb.connect(str(root / "home" / "warehouse" / f"{DB}.db"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, [*args, "--project-dir", str(PROJECT_DIR)], catch_exceptions=False)


def _relations(root: Path, schema: str) -> set[str]:
    rows = _duck(root, f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}'")
    return {r[0].lower() for r in rows}


def _same_rows(root: Path, table: str) -> tuple[int, int, int]:
    """(rows in DEV, rows in PROD, rows of either side missing from the other, as multisets)."""
    d, p = f"{DB}.DEV.{table}", f"{DB}.PROD.{table}"
    nd, np_ = _duck(root, f"SELECT (SELECT COUNT(*) FROM {d}), (SELECT COUNT(*) FROM {p})")[0]
    (gap,) = _duck(
        root,
        f"SELECT (SELECT COUNT(*) FROM (SELECT * FROM {d} EXCEPT ALL SELECT * FROM {p})) + "
        f"(SELECT COUNT(*) FROM (SELECT * FROM {p} EXCEPT ALL SELECT * FROM {d}))",
    )[0]
    return nd, np_, gap


def _movie_ids() -> list[int]:
    with (require_fixture() / "movies.csv").open(newline="", encoding="utf-8") as f:
        return [int(row["movieId"]) for row in csv.DictReader(f)]


# --defer ----------------------------------------------------------------------------------------
def test_without_defer_a_mart_needs_its_upstream_in_dev(home: Path) -> None:
    with Workspace.from_options(PROJECT_DIR) as ws:
        out = ws.run(["mart_genre_stats"])
    res = out.of("mart_genre_stats")
    assert res.status == "error" and "MOVIELENS.DEV.MART_MOVIE_STATS" in res.message and "does not exist" in res.message
    assert _relations(home, "DEV") == set()  # nothing was built


def test_defer_reads_prod_and_builds_only_the_selection(home: Path) -> None:
    res = _cli("run", "-s", "mart_genre_stats", "--defer", "prod")
    assert res.exit_code == 0, res.output
    assert "deferred to prod: mart_movie_stats from MOVIELENS.PROD.MART_MOVIE_STATS" in res.output
    compiled = (home / "target" / "compiled" / "marts" / "mart_genre_stats.sql").read_text()
    assert "FROM MOVIELENS.PROD.MART_MOVIE_STATS" in compiled
    assert compiled.count("MOVIELENS.DEV.") == 1  # only the table it creates
    sqlglot.parse(compiled, read="snowflake")
    assert _relations(home, "DEV") == {"mart_genre_stats"}  # the upstream was not built in dev
    n_dev, n_prod, gap = _same_rows(home, "MART_GENRE_STATS")
    assert n_dev == n_prod > 0 and gap == 0  # the same rows as prod's own build
    # built from prod's rows: not recorded as built in dev, so a build without --defer redoes it
    state = _duck(home, f"SELECT NODE FROM {DB}.AUDIT.BUILD_STATE WHERE TARGET_SCHEMA = 'DEV'")
    assert state == []
    # JSON events say which inputs were deferred
    res = _cli("run", "-s", "mart_genre_stats", "--defer", "prod", "--log-format", "json")
    events = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    built = next(e for e in events if e["event"] == "node_result" and e["node"] == "mart_genre_stats")
    assert built["data"]["deferred"] == {"mart_movie_stats": "MOVIELENS.PROD.MART_MOVIE_STATS"}


def test_defer_bad_targets_exit_2_and_change_nothing(home: Path) -> None:
    for bad, words in (("staging", "unknown target 'staging'"), ("dev", "is the target being built")):
        for cmd in ("run", "build"):
            res = _cli(cmd, "-s", "mart_tag_stats", "--defer", bad)
            assert res.exit_code == 2, res.output
            assert words in res.output
    assert "mart_tag_stats" not in _relations(home, "DEV")


def test_build_with_defer_builds_and_tests_only_the_selection(home: Path) -> None:
    res = _cli("build", "-s", "mart_ratings_monthly", "--defer", "prod", "--from", str(require_fixture()))
    assert res.exit_code == 0, res.output
    assert "deferred to prod: fct_ratings from MOVIELENS.PROD.FCT_RATINGS" in res.output
    assert "test mart_ratings_monthly" in res.output  # its suite ran on the dev table
    assert _relations(home, "DEV") == {"mart_genre_stats", "mart_ratings_monthly"}
    # independently: DuckDB over the fixture's ratings.csv (one rating per user and movie there)
    ratings = require_fixture() / "ratings.csv"
    con = duckdb.connect()
    expected = con.execute(
        "SELECT CAST(date_trunc('month', to_timestamp(timestamp)) AS DATE), COUNT(*), COUNT(DISTINCT userId) "
        f"FROM read_csv('{ratings}') GROUP BY 1"
    ).fetchall()
    got = _duck(home, f"SELECT RATING_MONTH, NUM_RATINGS, NUM_USERS FROM {DB}.DEV.MART_RATINGS_MONTHLY")
    assert sorted(got) == sorted(expected) and len(got) > 100


# diff -------------------------------------------------------------------------------------------
def _changed_project(ws: Workspace) -> Project:
    """mart_movie_stats changed in dev: movies whose id is a multiple of 10 dropped, 7 rated +1,
    13 also copied under id + 1,000,000."""
    from snowflake.snowpark import functions as F

    node = ws.project["mart_movie_stats"]
    original = node.func
    assert original is not None

    def changed(**inputs: Any) -> Any:
        df = original(**inputs)
        mid = F.col("movie_id")
        df = df.with_column("avg_rating", F.when(mid % 7 == 0, F.col("avg_rating") + 1).otherwise(F.col("avg_rating")))
        shifted = [(mid + 1_000_000).alias("movie_id") if c.upper() == "MOVIE_ID" else F.col(c) for c in df.columns]
        return df.filter(mid % 10 != 0).union_all(df.filter(mid % 13 == 0).select(shifted))

    changed.__signature__ = __import__("inspect").signature(original)  # type: ignore[attr-defined]
    nodes = [replace(n, func=changed) if n.name == node.name else n for n in ws.project.nodes.values()]
    return Project(nodes, root=ws.project.root, transforms_dir=ws.project.transforms_dir)


def test_diff_after_changing_one_transform_in_dev(home: Path) -> None:
    with Workspace.from_options(PROJECT_DIR) as base:
        settings, project = base.settings, _changed_project(base)
    with Workspace(settings, project) as ws:
        out = ws.run(["mart_movie_stats"], defer="prod")
        assert out.ok, [r.message for r in out.results]
        assert "fct_ratings from MOVIELENS.PROD.FCT_RATINGS" in out.of("mart_movie_stats").message
    res = _cli("diff", "mart_movie_stats", "--against", "prod", "--output", "json", "--sample", "3")
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)

    # independently: DuckDB over the warehouse file, and the fixture's movies.csv
    d, p = f"{DB}.DEV.MART_MOVIE_STATS", f"{DB}.PROD.MART_MOVIE_STATS"
    ids = _movie_ids()
    (n_dev,), (n_prod,) = _duck(home, f"SELECT COUNT(*) FROM {d}")[0], _duck(home, f"SELECT COUNT(*) FROM {p}")[0]
    assert (got["left_rows"], got["right_rows"]) == (n_dev, n_prod)
    assert n_prod == len(ids)
    only_dev = sum(1 for i in ids if i % 13 == 0 and i + 1_000_000 not in set(ids))
    only_prod = sum(1 for i in ids if i % 10 == 0)
    assert (got["only_left"], got["only_right"]) == (only_dev, only_prod)
    info = "information_schema.columns WHERE table_schema = 'PROD' AND table_name = 'MART_MOVIE_STATS'"
    cols = [r[0] for r in _duck(home, f"SELECT column_name FROM {info} AND column_name <> 'MOVIE_ID'")]
    join = f"{d} a JOIN {p} b USING (MOVIE_ID)"
    per_column = {
        c.lower(): _duck(home, f"SELECT COUNT(*) FROM {join} WHERE a.{c} IS DISTINCT FROM b.{c}")[0][0] for c in cols
    }
    assert got["column_changes"] == {c: n for c, n in per_column.items() if n}
    rated_7 = _duck(
        home, f"SELECT COUNT(*) FROM {p} WHERE MOVIE_ID % 7 = 0 AND MOVIE_ID % 10 <> 0 AND AVG_RATING IS NOT NULL"
    )
    assert got["changed"] == got["column_changes"]["avg_rating"] == rated_7[0][0] > 0
    assert got["matched"] == n_prod - only_prod
    assert got["key"] == ["movie_id"] and "expectations/marts/mart_movie_stats.yml" in got["key_source"]
    assert got["differs"] is True and got["type_changes"] == {} and got["duplicate_keys"] == {}

    # samples: 3 of each kind, ordered by the key, of the right kind
    assert [r["movie_id"] for r in got["samples"]["only_right"]] == sorted(i for i in ids if i % 10 == 0)[:3]
    assert all(r["movie_id"] > 1_000_000 for r in got["samples"]["only_left"])
    for row in got["samples"]["changed"]:
        left, right = row["avg_rating"]
        assert row["movie_id"] % 7 == 0 and abs(float(left) - float(right) - 1) < 1e-9
    for stmt in got["sql"]:  # what ran on the engine is Snowflake SQL
        assert len(sqlglot.parse(stmt, read="snowflake")) == 1

    text = _cli("diff", "mart_movie_stats", "--against", "prod", "--fail-on-diff")
    assert text.exit_code == 1
    assert f"{only_prod:,}" in text.output and "avg_rating" in text.output and "dev and prod differ" in text.output


def test_diff_identical_and_bad_input(home: Path) -> None:
    same = _cli("diff", "mart_genre_stats", "--against", "prod", "--fail-on-diff")
    assert same.exit_code == 0 and "dev and prod are identical" in same.output, same.output
    cases = {
        ("mart_movie_stat", "--against", "prod"): "did you mean 'mart_movie_stats'",
        ("mart_genre_stats", "--against", "qa"): "unknown target 'qa' (--against)",
        ("mart_genre_stats", "--against", "dev"): "is the target being diffed",
        ("fct_ratings", "--against", "prod"): "not built in target 'dev' (MOVIELENS.DEV.FCT_RATINGS)",
        ("raw_ratings", "--against", "prod"): "shared RAW schema",
        ("top_rated_movies", "--against", "prod"): "is analysis",
        ("mart_genre_stats", "--against", "prod", "--sample", "-1"): "--sample",
        ("mart_genre_stats", "--against", "prod", "--output", "xml"): "--output",
    }
    for args, words in cases.items():
        res = _cli("diff", *args)
        assert res.exit_code == 2, (args, res.output)
        assert words in res.output, (args, res.output)


# clone ------------------------------------------------------------------------------------------
def test_clone_then_build_is_up_to_date_and_merges_right(home: Path, tmp_path: Path) -> None:
    for args, words in (
        (("--from", "qa"), "unknown target 'qa' (--from)"),
        (("--from", "dev"), "is the target cloned into"),
        (("--from", "prod", "-s", "nope"), "nope"),
        (("--from", "prod", "--to", "prod", "--target", "dev"), "name different targets"),
    ):
        res = _cli("clone", *args)
        assert res.exit_code == 2 and words in res.output, (args, res.output)
    before = _relations(home, "DEV")

    res = _cli("clone", "--from", "prod", "--to", "dev")
    assert res.exit_code == 0, res.output
    assert "by copy (the embedded engine has no zero-copy clone)" in res.output
    prod = _relations(home, "PROD")
    assert _relations(home, "DEV") == prod and before < prod
    for table in ("FCT_RATINGS", "MART_MOVIE_STATS", "SEED_MOVIE_RELEASE_DATES", "DIM_MOVIES"):
        n_dev, n_prod, gap = _same_rows(home, table)
        assert n_dev == n_prod > 0 and gap == 0, table
    views = _duck(
        home, f"SELECT view_name, sql FROM duckdb_views() WHERE schema_name = 'DEV' AND database_name = '{DB}'"
    )
    assert views and all("PROD" not in sql.upper() for _, sql in views)  # views read dev's own relations
    q = "SELECT NODE, {v} FROM {db}.AUDIT.{t} WHERE TARGET_SCHEMA = '{s}' ORDER BY 1"
    for table, value in (("BUILD_STATE", "FINGERPRINT"), ("INCREMENTAL_STATE", "WATERMARK")):
        dev = _duck(home, q.format(v=value, db=DB, t=table, s="DEV"))
        assert dev == _duck(home, q.format(v=value, db=DB, t=table, s="PROD")) and dev, table

    with Workspace.from_options(PROJECT_DIR) as ws:
        out = ws.run()
        assert out.ok and out.results
        assert all(r.message.startswith("up to date") for r in out.results), [
            (r.name, r.message) for r in out.results if not r.message.startswith("up to date")
        ]
        fixture = require_fixture()
        batch2 = tmp_path / "batch2"
        _write_batch2(fixture, batch2)
        ws.load(str(batch2))
        merged = ws.run(["fct_ratings"]).of("fct_ratings")
    expected = _reference(fixture, batch2)
    got = _duck(home, f"SELECT USER_ID, MOVIE_ID, RATING, epoch(RATING_TIMESTAMP)::BIGINT FROM {DB}.DEV.FCT_RATINGS")
    assert {(u, m, float(r), int(t)) for u, m, r, t in got} == expected
    (prod_rows,) = _duck(home, f"SELECT COUNT(*) FROM {DB}.PROD.FCT_RATINGS")[0]
    assert prod_rows == 100_836  # prod untouched
    inserted = len(expected) - prod_rows
    assert merged.message.startswith(f"merged: {inserted} inserted, "), merged.message
