"""Loading RAW: rejects with line numbers and reasons, idempotent reloads, unreadable files, rollback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from netflix_elt.api import Workspace
from netflix_elt.errors import LoadError
from tests.conftest import PROJECT_DIR

MOVIES = 'movieId,title,genres\r\n1,Toy Story (1995),Animation|Comedy\r\n2,"American President, The (1995)",Drama\r\n'
LINKS = "movieId,imdbId,tmdbId\r\n1,0114709,862\r\n2,0112346,\r\n"
TAGS = 'userId,movieId,tag,timestamp\r\n1,1,"say ""hi""",1139045764\r\n'
RATINGS_LINES = [
    "1,1,4.0,964982703",  # line 2: good
    "1,2,x,964981247",  # line 3: non-numeric rating
    "1,3,4.0",  # line 4: too few columns
    "2,abc,3.0,964982224",  # line 5: non-numeric id
    "2,2,6.0,964982931",  # line 6: rating out of range
    "3,1,3.5,yesterday",  # line 7: unparseable timestamp
    "3,2,5.0,964983000,9",  # line 8: too many columns
    "4,1,0.5,964984000",  # line 9: good
]


def write_landing(folder: Path, ratings_lines: list[str] = RATINGS_LINES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "movies.csv").write_text(MOVIES, newline="")
    (folder / "links.csv").write_text(LINKS, newline="")
    (folder / "tags.csv").write_text(TAGS, newline="")
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\r\n" + "\r\n".join(ratings_lines) + "\r\n", newline=""
    )
    return folder


def q(ws: Workspace, sql: str) -> list[tuple]:
    return [tuple(r) for r in ws.session.sql(sql).collect()]


@pytest.fixture
def ws(isolated_home):
    with Workspace.from_options(PROJECT_DIR) as ws:
        yield ws


def raw_counts(ws: Workspace) -> dict[str, int]:
    tables = ("RAW_RATINGS", "RAW_MOVIES", "RAW_LINKS", "RAW_TAGS", "LOAD_HISTORY", "LOAD_REJECTS")
    return {t: q(ws, f"SELECT COUNT(*) FROM MOVIELENS.RAW.{t}")[0][0] for t in tables}


def test_malformed_rows_go_to_rejects_with_line_and_reason(ws, tmp_path):
    landing = write_landing(tmp_path / "landing")
    report = ws.load(str(landing))
    ratings = next(f for f in report.files if f.table == "RAW_RATINGS")
    assert (ratings.rows_parsed, ratings.rows_loaded, ratings.rows_rejected) == (8, 2, 6)
    assert ratings.rows_loaded + ratings.rows_rejected == len(RATINGS_LINES)

    good = q(
        ws,
        'SELECT USERID, MOVIEID, RATING, "TIMESTAMP", _SOURCE_ROW, _SOURCE_FILE FROM MOVIELENS.RAW.RAW_RATINGS '
        "ORDER BY _SOURCE_ROW",
    )
    uri = (landing / "ratings.csv").resolve().as_uri()
    assert good == [(1, 1, 4.0, 964982703, 1, uri), (4, 1, 0.5, 964984000, 8, uri)]

    rejects = q(ws, "SELECT LINE_NUMBER, RAW_LINE, REASON, SOURCE_FILE FROM MOVIELENS.RAW.LOAD_REJECTS ORDER BY 1")
    assert [r[0] for r in rejects] == [3, 4, 5, 6, 7, 8]
    assert [r[1] for r in rejects] == RATINGS_LINES[1:7]
    reasons = [r[2] for r in rejects]
    assert reasons[0].startswith("invalid FLOAT in rating")
    assert reasons[1] == "expected 4 fields, found 3"
    assert reasons[2].startswith("invalid INTEGER in movieId")
    assert reasons[3].startswith("rating out of range 0.5..5.0")
    assert reasons[4].startswith("invalid INTEGER in timestamp")
    assert reasons[5] == "expected 4 fields, found 5"
    assert {r[3] for r in rejects} == {uri}

    history = q(
        ws,
        "SELECT SOURCE_TABLE, ROWS_PARSED, ROWS_LOADED, ROWS_REJECTED, CHECKSUM FROM MOVIELENS.RAW.LOAD_HISTORY "
        "WHERE SOURCE_TABLE = 'RAW_RATINGS'",
    )
    assert history[0][:4] == ("RAW_RATINGS", 8, 2, 6) and len(history[0][4]) == 64
    # quoting survives: a comma inside quotes, doubled quotes, an empty nullable tmdbId
    assert q(ws, "SELECT TITLE FROM MOVIELENS.RAW.RAW_MOVIES WHERE MOVIEID = 2") == [
        ("American President, The (1995)",)
    ]
    assert q(ws, "SELECT TAG FROM MOVIELENS.RAW.RAW_TAGS") == [('say "hi"',)]
    assert q(ws, "SELECT IMDBID, TMDBID FROM MOVIELENS.RAW.RAW_LINKS ORDER BY MOVIEID") == [
        ("0114709", 862),
        ("0112346", None),
    ]


def test_reload_is_idempotent_and_force_reloads(ws, tmp_path):
    landing = write_landing(tmp_path / "landing")
    ws.load(str(landing))
    before = raw_counts(ws)
    again = ws.load(str(landing))
    assert {f.status for f in again.files if not f.table.startswith("RAW_GENOME")} == {"UNCHANGED"}
    assert raw_counts(ws) == before
    forced = ws.load(str(landing), force=True)
    assert {f.status for f in forced.files if not f.table.startswith("RAW_GENOME")} == {"LOADED"}
    after = raw_counts(ws)
    assert after["RAW_RATINGS"] == 2 * before["RAW_RATINGS"]
    assert after["LOAD_HISTORY"] == 2 * before["LOAD_HISTORY"]
    # a changed file at the same path is new content: it loads
    write_landing(landing, RATINGS_LINES + ["5,1,3.0,964985000"])
    changed = ws.load(str(landing))
    assert [f.status for f in changed.files if f.table == "RAW_RATINGS"] == ["LOADED"]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            lambda d: (d / "ratings.csv").write_text("user,movie,stars,ts\r\n1,1,4.0,1\r\n"),
            r"ratings\.csv: wrong header",
        ),
        (lambda d: (d / "ratings.csv").unlink(), r"ratings\.csv: file not found \(needed for RAW_RATINGS\)"),
        (lambda d: (d / "movies.csv").write_bytes(b""), r"movies\.csv: file is empty \(0 bytes\)"),
        (
            lambda d: (d / "tags.csv").write_bytes(b"userId,movieId,tag,timestamp\r\n1,1,caf\xe9,5\r\n"),
            r"tags\.csv: .*(UTF-8|utf-8|encoding)",
        ),
        (
            lambda d: (d / "links.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary"),
            r"links\.csv: line 1 is not UTF-8",
        ),
    ],
)
def test_unreadable_file_fails_the_load_and_leaves_raw_as_it_was(ws, tmp_path, breakage, message):
    good = write_landing(tmp_path / "good")
    ws.load(str(good))
    before = raw_counts(ws)
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    write_landing(bad, ["9,9,4.0,964982703"])  # new content, so it would load
    breakage(bad)
    with pytest.raises(LoadError, match=message):
        ws.load(str(bad))
    assert raw_counts(ws) == before


def test_missing_landing_folder_is_named(ws, tmp_path):
    from netflix_elt.errors import NetflixEltError

    with pytest.raises(NetflixEltError, match=str(tmp_path / "nowhere")):
        ws.load(str(tmp_path / "nowhere"))


def test_landing_batches_load_in_order_and_once(ws, tmp_path):
    from netflix_elt.ingest.landing import Landing

    url = str(tmp_path / "landing")
    landing = Landing.from_url(url)
    landing.write_batch(write_landing(tmp_path / "b1"), ["ratings.csv", "movies.csv", "links.csv", "tags.csv"])
    first = ws.load(url)
    assert {f.file.split("/")[-2] for f in first.loaded} == {"batch=0001"}
    landing.write_batch(
        write_landing(tmp_path / "b2", ["7,1,2.0,964990000"]), ["ratings.csv", "movies.csv", "links.csv", "tags.csv"]
    )
    second = ws.load(url)
    assert {f.file.split("/")[-2] for f in second.loaded} == {"batch=0002"}
    ids = q(ws, "SELECT DISTINCT _LOAD_ID FROM MOVIELENS.RAW.RAW_RATINGS ORDER BY 1")
    assert len(ids) == 2 and ids[0][0] < ids[1][0]
    # staging reads only the latest full extract of movies
    ws.run(["src_movies"])
    assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.DEV.SRC_MOVIES")[0][0] == 2


def test_a_plain_folder_with_a_symlinked_file_is_refused_without_reading_the_target(ws, tmp_path):
    folder = write_landing(tmp_path / "plain")
    secret = tmp_path / "secret.csv"
    secret.write_text("userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n")
    (folder / "ratings.csv").unlink()
    (folder / "ratings.csv").symlink_to(secret)
    with pytest.raises(LoadError, match=r"plain/ratings\.csv: is a symlink; load reads only regular files"):
        ws.load(str(folder))
    assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY") == [(0,)]
