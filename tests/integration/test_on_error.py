"""Per-source ON_ERROR policies, the deletion guard, duplicate content, and the manifest's counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from netflix_elt.api import Workspace
from netflix_elt.config import load_settings
from netflix_elt.errors import ConfigError, LoadError, NetflixEltError
from netflix_elt.ingest.landing import Landing
from tests.conftest import PROJECT_DIR
from tests.integration.test_loader import RATINGS_LINES, q, write_landing

FILES = ["ratings.csv", "movies.csv", "links.csv", "tags.csv"]
GOOD = ["1,1,4.0,964982703", "2,1,3.0,964982704", "3,1,2.0,964982705", "4,1,1.0,964982706"]


def workspace(**on_error: str) -> Workspace:
    """The project with some sources' on_error changed (as `[sources.X] on_error = ...` would)."""
    settings = load_settings(PROJECT_DIR)
    sources = {
        name: src.model_copy(update={"on_error": on_error[name]}) if name in on_error else src
        for name, src in settings.config.sources.items()
    }
    config = settings.config.model_copy(update={"sources": sources})
    return Workspace(settings.model_copy(update={"config": config}))


def history(ws: Workspace) -> list[tuple]:
    return q(
        ws,
        "SELECT BATCH, SOURCE_TABLE, STATUS, ROWS_PARSED, ROWS_LOADED, ROWS_REJECTED, MESSAGE "
        "FROM MOVIELENS.RAW.LOAD_HISTORY WHERE SOURCE_TABLE = 'RAW_RATINGS' ORDER BY LOAD_ID",
    )


def land(landing: Landing, folder: Path, ratings: list[str], files: list[str] = FILES) -> int:
    return landing.write_batch(write_landing(folder, ratings), files).batch


@pytest.mark.parametrize(
    ("policy", "skipped"),
    [
        ("continue", False),
        ("skip_file", True),
        ("skip_file_6", True),  # 6 of 8 rejected: at least 6
        ("skip_file_7", False),
        ("skip_file_75%", True),  # 75% of 8 = 6
        ("skip_file_76%", False),
    ],
)
def test_skip_file_policies_record_the_file_and_later_batches_load(isolated_home, tmp_path, policy, skipped):
    url = str(tmp_path / "landing")
    landing = Landing.from_url(url)
    land(landing, tmp_path / "b1", GOOD)
    land(landing, tmp_path / "b2", RATINGS_LINES, ["ratings.csv"])  # 2 good, 6 rejected
    land(landing, tmp_path / "b3", ["9,9,4.5,964990000"], ["ratings.csv"])
    with workspace(raw_ratings=policy) as ws:
        report = ws.load(url)
        rows = history(ws)
        assert [r[0] for r in rows] == ["batch=0001", "batch=0002", "batch=0003"]
        b2 = rows[1]
        assert b2[3:6] == ((8, 0, 6) if skipped else (8, 2, 6))
        assert b2[2] == ("SKIPPED" if skipped else "LOADED")
        if skipped:
            assert b2[6].startswith(f"on_error = {policy}: 6 of 8 records rejected (first: line 3, invalid FLOAT")
        # the rejects are kept either way, and the batch after it loads
        load_id = q(ws, "SELECT LOAD_ID FROM MOVIELENS.RAW.LOAD_HISTORY WHERE BATCH = 'batch=0002'")[0][0]
        assert q(ws, f"SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_REJECTS WHERE _LOAD_ID = {load_id}") == [(6,)]
        assert q(ws, f"SELECT COUNT(*) FROM MOVIELENS.RAW.RAW_RATINGS WHERE _LOAD_ID = {load_id}") == [
            (0 if skipped else 2,)
        ]
        assert rows[2][2:5] == ("LOADED", 1, 1)
        assert [f.status for f in report.files if f.file.endswith("batch=0002/ratings.csv")] == [
            "SKIPPED" if skipped else "LOADED"
        ]
        # a skipped file is not tried again
        again = ws.load(url)
        assert not again.loaded and len(history(ws)) == 3


def test_abort_statement_refuses_then_skip_batch_lets_later_batches_load(isolated_home, tmp_path):
    url = str(tmp_path / "landing")
    landing = Landing.from_url(url)
    land(landing, tmp_path / "b1", GOOD)
    land(landing, tmp_path / "b2", RATINGS_LINES, ["ratings.csv"])
    land(landing, tmp_path / "b3", ["9,9,4.5,964990000"], ["ratings.csv"])
    with workspace(raw_ratings="abort_statement") as ws:
        with pytest.raises(LoadError, match=r"batch=0002/ratings\.csv: 6 of 8 records rejected .*--skip-batch 2"):
            ws.load(url)
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY") == [(0,)]  # nothing changed
        with pytest.raises(ConfigError, match="has no batch 7"):
            ws.load(url, skip_batches=[7])
        ws.load(url, skip_batches=[2])
        rows = history(ws)
        assert [(r[0], r[2], r[4], r[6]) for r in rows] == [
            ("batch=0001", "LOADED", 4, ""),
            ("batch=0002", "SKIPPED", 0, "skipped by the user (--skip-batch 2)"),
            ("batch=0003", "LOADED", 1, ""),
        ]
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.RAW_RATINGS") == [(5,)]


def test_the_same_content_under_another_batch_is_skipped_naming_the_earlier_load(isolated_home, tmp_path):
    url = str(tmp_path / "landing")
    landing = Landing.from_url(url)
    land(landing, tmp_path / "b1", GOOD)
    land(landing, tmp_path / "b2", ["5,5,5.0,964990000"], ["ratings.csv"])
    land(landing, tmp_path / "b3", GOOD, ["ratings.csv", "movies.csv"])  # batch 1's ratings and movies again
    with workspace() as ws:
        report = ws.load(url)
        again = [f for f in report.files if "batch=0003" in f.file and f.status != "MISSING"]
        assert [f.status for f in again] == ["UNCHANGED", "UNCHANGED"]
        assert "same content as " in again[0].message and "batch=0001/ratings.csv (loaded as load 1" in again[0].message
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.RAW_RATINGS") == [(5,)]
        forced = ws.load(url, force=True)
        assert {f.status for f in forced.files if "batch=0003" in f.file and f.status != "MISSING"} == {"LOADED"}


def test_an_older_full_extract_landed_anew_is_a_change_back_and_loads(isolated_home, tmp_path):
    url = str(tmp_path / "landing")
    landing = Landing.from_url(url)
    land(landing, tmp_path / "b1", GOOD)
    changed = write_landing(tmp_path / "b2", GOOD)
    movies = (changed / "movies.csv").read_bytes()
    (changed / "movies.csv").write_bytes(movies.replace(b"Toy Story", b"Toy Story!"))
    landing.write_batch(changed, ["movies.csv"])
    landing.write_batch(write_landing(tmp_path / "b3", GOOD), ["movies.csv"])  # batch 1's movies again
    with workspace() as ws:
        report = ws.load(url)
        assert [f.status for f in report.files if f.table == "RAW_MOVIES"] == ["LOADED", "LOADED", "LOADED"]
        ws.run(["src_movies"])
        assert q(ws, "SELECT TITLE FROM MOVIELENS.DEV.SRC_MOVIES ORDER BY MOVIE_ID")[0][0].startswith("Toy Story (")


def test_deletion_guard_refuses_then_allow_deletes_loads(isolated_home, tmp_path):
    url = str(tmp_path / "landing")
    landing = Landing.from_url(url)
    land(landing, tmp_path / "b1", GOOD)
    b2 = write_landing(tmp_path / "b2", GOOD)
    (b2 / "movies.csv").write_text("movieId,title,genres\r\n1,Toy Story (1995),Animation|Comedy\r\n", newline="")
    landing.write_batch(b2, ["movies.csv"])
    with workspace() as ws:
        with pytest.raises(
            LoadError,
            match=r"batch=0002/movies\.csv: this full extract of RAW_MOVIES has 1 keys \(movieId\), the previous one "
            r"2 .*50\.0% would be deleted, more than sources\.raw_movies\.max_delete_fraction = 0\.05.*--allow-deletes",
        ):
            ws.load(url)
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY") == [(0,)]
        ws.load(url, allow_deletes=True)
        assert q(
            ws, "SELECT KEY_COUNT FROM MOVIELENS.RAW.LOAD_HISTORY WHERE SOURCE_TABLE = 'RAW_MOVIES' ORDER BY 1"
        ) == [
            (1,),
            (2,),
        ]


def test_a_file_that_does_not_match_its_manifest_is_refused(isolated_home, tmp_path):
    url = str(tmp_path / "landing")
    landing = Landing.from_url(url)
    land(landing, tmp_path / "b1", GOOD)
    folder = tmp_path / "landing" / "batch=0001"
    manifest = (folder / "manifest.json").read_text()
    landed = folder / "ratings.csv"
    data = landed.read_bytes()
    landed.write_bytes(data.replace(b",964982704\r\n", b"\r\n64982704\r\n", 1))  # same size, one line more
    with workspace() as ws, pytest.raises(NetflixEltError, match=r"ratings\.csv does not match the sha256"):
        ws.load(url)
    # a manifest written by another system with the right checksum but a wrong record count
    landed.write_bytes(data)
    (folder / "manifest.json").write_text(manifest.replace('"rows": 4', '"rows": 5', 1))
    with workspace() as ws, pytest.raises(LoadError, match=r"manifest of batch=0001 says 5 data rows, the file has 4"):
        ws.load(url)
    assert '"rows": 4' in manifest
