"""`netflix_elt.ref()` and `netflix_elt.source()` on the fixture warehouse, checked against the CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import netflix_elt
from netflix_elt.errors import ConfigError, TransformError
from tests.conftest import PROJECT_DIR


@pytest.fixture
def session(built_fixture_warehouse: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(built_fixture_warehouse / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(built_fixture_warehouse / "target"))
    s = netflix_elt.connect(project_dir=PROJECT_DIR)
    yield s
    netflix_elt.close_session(s)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_ref_is_the_node_table_of_the_session_target(session, fixture_dir):
    movies = _csv(fixture_dir / "movies.csv")
    df = netflix_elt.ref(session, "dim_movies")
    rows = df.select("movie_id", "genres").collect()
    assert sorted((int(r[0]), r[1]) for r in rows) == sorted((int(m["movieId"]), m["genres"]) for m in movies)
    assert len(rows) == 9742
    assert df.table_name.upper().endswith("MOVIELENS.DEV.DIM_MOVIES")  # the DEV target's relation


def test_source_is_the_raw_table(session, fixture_dir):
    ratings = _csv(fixture_dir / "ratings.csv")
    rows = netflix_elt.source(session, "raw_ratings").select("userId", "movieId", "rating", "timestamp").collect()
    got = sorted((int(u), int(m), float(r), int(t)) for u, m, r, t in rows)
    want = sorted((int(r["userId"]), int(r["movieId"]), float(r["rating"]), int(r["timestamp"])) for r in ratings)
    assert got == want and len(got) == 100836


def test_ref_of_a_seed_and_of_an_ephemeral_transform(session, fixture_dir):
    seed = _csv(PROJECT_DIR / "seeds" / "seed_movie_release_dates.csv")
    rows = netflix_elt.ref(session, "seed_movie_release_dates").collect()
    assert sorted((int(r[0]), str(r[1])) for r in rows) == sorted((int(s["movie_id"]), s["release_date"]) for s in seed)
    # ephemeral: not a relation but its query; the small release has no genome, so one row per movie
    eph = netflix_elt.ref(session, "dim_movies_with_tags")
    ids = [int(r[0]) for r in eph.select("movie_id").collect()]
    assert sorted(ids) == sorted(int(m["movieId"]) for m in _csv(fixture_dir / "movies.csv"))


def test_unknown_names_get_a_suggestion(session):
    with pytest.raises(
        ConfigError, match=r"ref\(\): no transform, seed or snapshot named 'dim_movis'; did you mean 'dim_movies'\?"
    ):
        netflix_elt.ref(session, "dim_movis")
    with pytest.raises(ConfigError, match=r"source\(\): no source named 'raw_rating'; did you mean 'raw_ratings'\?"):
        netflix_elt.source(session, "raw_rating")
    with pytest.raises(
        ConfigError, match=r"'raw_ratings' is a source.*use netflix_elt\.source\(session, 'raw_ratings'\)"
    ):
        netflix_elt.ref(session, "raw_ratings")
    with pytest.raises(
        ConfigError, match=r"'dim_movies' is a transform.*use netflix_elt\.ref\(session, 'dim_movies'\)"
    ):
        netflix_elt.source(session, "dim_movies")
    with pytest.raises(ConfigError, match="not 'prod'"):
        netflix_elt.ref(session, "dim_movies", target="prod")


def test_a_node_not_built_says_how_to_build_it(session):
    # the fixture warehouse ran `run` only: snapshots were never applied
    with pytest.raises(
        TransformError,
        match=r"snapshot 'snap_tags' is not in the warehouse yet \(MOVIELENS\.SNAPSHOTS\.SNAP_TAGS\); "
        r"run `netflix-elt snapshot -s snap_tags`",
    ):
        netflix_elt.ref(session, "snap_tags")


def test_a_session_connect_did_not_open(fixture_workspace, fixture_dir):
    # a Workspace's own session: ref() resolves the settings from the project folder and the target
    df = netflix_elt.ref(fixture_workspace.session, "dim_movies", project_dir=PROJECT_DIR, target="dev")
    assert df.count() == len(_csv(fixture_dir / "movies.csv"))
    with pytest.raises(ConfigError, match="unknown target 'qa'"):
        netflix_elt.ref(fixture_workspace.session, "dim_movies", project_dir=PROJECT_DIR, target="qa")
