"""Loading a split file (`extract --split-size`) into the embedded engine: the same RAW rows as the file whole,
one LOAD_HISTORY row per part under one load id, rejects naming the part and the line in it, and a batch with a
missing, altered or extra part refused (exit 4) with nothing loaded; over a local folder and S3 (moto)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import sqlglot
from click.testing import CliRunner

from netflix_elt.api import Workspace
from netflix_elt.cli import main
from netflix_elt.errors import LoadError
from netflix_elt.ingest.extract import extract
from tests import snowflake_rules as rules
from tests.conftest import PROJECT_DIR, moto_server, use_moto

SPLIT = 300_000
SCALE = 20_000
BUCKET = "split-landing"


def cli(*args: str):
    return CliRunner().invoke(main, [*args, "--project-dir", str(PROJECT_DIR)], catch_exceptions=False)


def q(ws: Workspace, sql: str) -> list[tuple]:
    return [tuple(r) for r in ws.session.sql(sql).collect()]


def csv_figures(path: Path) -> tuple[int, float, int]:
    """(records, sum of rating, sum of timestamp) of a ratings file, by Python's csv module."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return len(rows), sum(float(r["rating"]) for r in rows), sum(int(r["timestamp"]) for r in rows)


def csv_count(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def raw_figures(ws: Workspace) -> tuple[int, float, int]:
    n, rating, ts = q(ws, 'SELECT COUNT(*), SUM(RATING), SUM("TIMESTAMP") FROM MOVIELENS.RAW.RAW_RATINGS')[0]
    return int(n), float(rating), int(ts)


@pytest.fixture
def ws(isolated_home) -> Iterator[Workspace]:
    with Workspace.from_options(PROJECT_DIR) as ws:
        yield ws


def test_a_split_batch_loads_as_the_whole_file_with_a_history_row_per_part(ws: Workspace, tmp_path: Path) -> None:
    extract("synthetic", str(tmp_path / "whole"), scale=SCALE, seed=5, split_size=0)
    manifest = extract("synthetic", str(tmp_path / "lz"), scale=SCALE, seed=5, split_size=SPLIT)
    ratings = manifest.file("ratings.csv")
    assert ratings is not None and len(ratings.parts) >= 2
    ws.load(str(tmp_path / "lz"))
    original = tmp_path / "whole" / "batch=0001"
    assert raw_figures(ws) == pytest.approx(csv_figures(original / "ratings.csv"))
    # one LOAD_HISTORY row per part, under the file's one load id, with the part's name, checksum and counts
    history = q(
        ws,
        "SELECT FILE, LOAD_ID, ROWS_PARSED, ROWS_LOADED, ROWS_REJECTED, CHECKSUM, STATUS "
        "FROM MOVIELENS.RAW.LOAD_HISTORY "
        "WHERE SOURCE_TABLE = 'RAW_RATINGS' ORDER BY FILE",
    )
    uri = manifest.url
    lid = history[0][1]
    assert history == [(f"{uri}/{p.name}", lid, p.rows, p.rows, 0, p.sha256, "LOADED") for p in ratings.parts]
    # each row says which part and which line of it it came from
    per_part = q(
        ws,
        "SELECT _SOURCE_FILE, COUNT(*), MAX(_SOURCE_ROW), COUNT(DISTINCT _LOAD_ID) FROM MOVIELENS.RAW.RAW_RATINGS "
        "GROUP BY 1 ORDER BY 1",
    )
    assert per_part == [(f"{uri}/{p.name}", p.rows, p.rows, 1) for p in ratings.parts]
    # a full extract split in parts is one extract: staging (latest load) reads the union of its parts
    scores = manifest.file("genome-scores.csv")
    assert scores is not None and len(scores.parts) >= 2
    ws.run(["src_genome_scores"])
    assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.DEV.SRC_GENOME_SCORES")[0][0] == csv_count(
        original / "genome-scores.csv"
    )
    # loading again loads nothing: every part is loaded already
    again = ws.load(str(tmp_path / "lz"))
    assert {f.status for f in again.files} == {"UNCHANGED"}
    assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY")[0][0] == len(manifest.objects())


def _source_folder(folder: Path, ratings: list[str], movies: list[str]) -> Path:
    folder.mkdir(parents=True)
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "".join(f"{r}\n" for r in ratings))
    (folder / "movies.csv").write_text("movieId,title,genres\n" + "".join(f"{m}\n" for m in movies))
    (folder / "links.csv").write_text("movieId,imdbId,tmdbId\n1,0114709,862\n")
    (folder / "tags.csv").write_text("userId,movieId,tag,timestamp\n1,1,fun,1139045764\n")
    return folder


def _line_in(part: Path, text: str) -> int:
    """The line number (the header is line 1) of `text` in a part, read independently of the loader."""
    return part.read_text().split("\n").index(text) + 1


def test_a_malformed_line_in_part_2_is_rejected_naming_part_2_and_its_line(ws: Workspace, tmp_path: Path) -> None:
    ratings = [f"{u},{m},{1 + (u + m) % 5}.0,96498{u:02d}{m:02d}" for u in range(10, 20) for m in range(10, 14)]
    bad = "15,x,4.0,964981510"
    ratings[9] = bad  # the 10th record: past the first part of 150 bytes
    folder = _source_folder(tmp_path / "src", ratings, ["1,Toy Story (1995),Animation"])
    manifest = extract(str(folder), str(tmp_path / "lz"), split_size=150)
    parts = manifest.file("ratings.csv").parts  # type: ignore[union-attr]
    assert len(parts) >= 3
    part2 = tmp_path / "lz" / "batch=0001" / parts[1].name
    assert bad in part2.read_text().split("\n")  # the bad record landed in part 2
    report = ws.load(str(tmp_path / "lz"))
    uri = manifest.url
    rejects = q(ws, "SELECT SOURCE_FILE, LINE_NUMBER, RAW_LINE, REASON FROM MOVIELENS.RAW.LOAD_REJECTS")
    assert rejects == [(f"{uri}/{parts[1].name}", _line_in(part2, bad), bad, "invalid INTEGER in movieId: 'x'")]
    by_part = {f.file.rsplit("/", 1)[1]: (f.rows_parsed, f.rows_loaded, f.rows_rejected) for f in report.files}
    assert by_part[parts[1].name] == (parts[1].rows, parts[1].rows - 1, 1)
    assert raw_figures(ws)[0] == len(ratings) - 1  # every record loaded or rejected


def test_under_abort_statement_a_reject_in_part_2_names_it_and_loads_nothing(ws: Workspace, tmp_path: Path) -> None:
    movies = [f'{i},"Movie, number {i} ({1990 + i % 20})",Drama|Comedy' for i in range(1, 40)]
    movies[12] = '13,"Unlucky (2000)",Drama,extra'  # four fields: rejected; movies are abort_statement
    folder = _source_folder(tmp_path / "src", ["1,1,4.0,964982703"], movies)
    manifest = extract(str(folder), str(tmp_path / "lz"), split_size=400)
    parts = manifest.file("movies.csv").parts  # type: ignore[union-attr]
    part2 = tmp_path / "lz" / "batch=0001" / parts[1].name
    assert movies[12] in part2.read_text().split("\n")
    line = _line_in(part2, movies[12])
    with pytest.raises(
        LoadError, match=rf"movies\.csv: 1 of 39 records rejected \(first: {parts[1].name} line {line},"
    ):
        ws.load(str(tmp_path / "lz"))
    assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY") == [(0,)]
    assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.RAW_MOVIES") == [(0,)]


def _tamper(folder: Path, name: str, how: str) -> None:
    part = folder / name
    if how == "missing":
        part.unlink()
    elif how == "altered":  # same size, one byte changed: only the checksum tells
        data = bytearray(part.read_bytes())
        data[-2] = ord("1") if data[-2] != ord("1") else ord("2")
        part.write_bytes(bytes(data))
    else:  # an extra part the manifest does not list
        extra = re.sub(r"part-\d{4}", "part-0099", name)
        (folder / extra).write_bytes(part.read_bytes())


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("missing", "is missing"),
        ("altered", "does not match the sha256 in its manifest"),
        ("extra", "ratings.part-0099.csv is a part the manifest of batch 1 does not list"),
    ],
)
def test_a_missing_altered_or_extra_part_refuses_the_batch(isolated_home, tmp_path: Path, how: str, message: str):
    manifest = extract("synthetic", str(tmp_path / "lz"), scale=SCALE, seed=5, split_size=SPLIT)
    parts = manifest.file("ratings.csv").parts  # type: ignore[union-attr]
    _tamper(tmp_path / "lz" / "batch=0001", parts[1].name, how)
    res = cli("load", "--from", str(tmp_path / "lz"))
    assert res.exit_code == 4, res.output  # bad input data (docs/exit_codes.md)
    assert message in " ".join(res.output.split()) and "Traceback" not in res.output
    with Workspace.from_options(PROJECT_DIR) as ws:
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY") == [(0,)]
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.RAW_RATINGS") == [(0,)]


@pytest.fixture
def s3(isolated_home, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with moto_server() as endpoint:
        use_moto(monkeypatch, endpoint)
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _statements(script: str) -> list[str]:
    """The statements of a --print-sql script (comment lines dropped; each ends with `;` at a line's end)."""
    out, current = [], []
    for line in script.splitlines():
        if not line.strip() or line.lstrip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(current).rstrip().removesuffix(";"))
            current = []
    return out


def test_split_over_s3_loads_locally_and_prints_one_copy_of_the_parts_for_snowflake(s3, tmp_path: Path) -> None:
    url = f"s3://{BUCKET}/ml"
    res = cli("extract", "--scale", str(SCALE), "--seed", "5", "--split-size", "300KB", "--to", url)
    assert res.exit_code == 0, res.output
    assert "ratings.part-0001.csv" in res.output
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}  # type: ignore[attr-defined]
    assert "ml/batch=0001/ratings.part-0002.csv" in keys and "ml/batch=0001/ratings.csv" not in keys
    parts = sorted(k.rsplit("/", 1)[1] for k in keys if "/ratings.part-" in k)

    # Snowflake's script: one COPY of every part, one LOAD_HISTORY row per part, every statement Snowflake SQL
    res = cli("load", "--profile", "snowflake", "--print-sql", "--from", url)
    assert res.exit_code == 0, res.output
    stmts = _statements(res.stdout)
    for sql in stmts:
        assert not isinstance(sqlglot.parse_one(sql, read="snowflake"), sqlglot.exp.Command), sql[:200]
    assert rules.check_all(stmts) == []
    assert f"RAW_RATINGS (load 1, {len(parts)} parts)" in res.stdout
    copy = [s for s in stmts if s.startswith("COPY INTO MOVIELENS.RAW.RAW_RATINGS__LANDING")]
    assert len(copy) == 1 and f"FILES = ({', '.join(repr(p) for p in parts)})" in copy[0]
    history = [s for s in stmts if s.startswith("INSERT INTO MOVIELENS.RAW.LOAD_HISTORY") and "'RAW_RATINGS'" in s]
    assert len(history) == len(parts) and all(f"/batch=0001/{p}'" in h for p, h in zip(parts, history, strict=True))

    # the embedded engine downloads the parts (verified) and loads them as one file
    extract("synthetic", str(tmp_path / "whole"), scale=SCALE, seed=5, split_size=0)
    res = cli("load", "--from", url)
    assert res.exit_code == 0, res.output
    with Workspace.from_options(PROJECT_DIR) as ws:
        assert raw_figures(ws) == pytest.approx(csv_figures(tmp_path / "whole" / "batch=0001" / "ratings.csv"))
        files = q(ws, "SELECT FILE FROM MOVIELENS.RAW.LOAD_HISTORY WHERE SOURCE_TABLE = 'RAW_RATINGS' ORDER BY 1")
        assert files == [(f"{url}/batch=0001/{p}",) for p in parts]


def test_without_a_split_size_s3_splits_and_a_local_folder_keeps_files_whole(
    s3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netflix_elt.ingest.landing.local import LocalLanding
    from netflix_elt.ingest.landing.s3 import S3Landing
    from netflix_elt.ingest.landing.split import DEFAULT_SPLIT_SIZE

    assert S3Landing.default_split_size == DEFAULT_SPLIT_SIZE == 400_000_000 and LocalLanding.default_split_size == 0
    monkeypatch.setattr(S3Landing, "default_split_size", SPLIT)  # the default, scaled to the test's files
    res = cli("extract", "--scale", str(SCALE), "--seed", "5", "--to", f"s3://{BUCKET}/dflt")
    assert res.exit_code == 0, res.output
    assert len(extract_parts(s3, "dflt/batch=0001/")) >= 2
    local = extract("synthetic", str(tmp_path / "lz"), scale=SCALE, seed=5)
    assert all(not f.parts for f in local.files) and (tmp_path / "lz" / "batch=0001" / "ratings.csv").is_file()


def extract_parts(s3, prefix: str) -> list[str]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]]  # type: ignore[attr-defined]
    return sorted(k for k in keys if "/ratings.part-" in k)


def test_a_missing_part_on_s3_refuses_the_batch_on_both_paths(s3, tmp_path: Path) -> None:
    url = f"s3://{BUCKET}/gap"
    manifest = extract("synthetic", url, scale=SCALE, seed=5, split_size=SPLIT)
    gone = manifest.file("ratings.csv").parts[1].name  # type: ignore[union-attr]
    s3.delete_object(Bucket=BUCKET, Key=f"gap/batch=0001/{gone}")  # type: ignore[attr-defined]
    for args in (("--profile", "snowflake", "--print-sql"), ()):
        res = cli("load", *args, "--from", url)
        assert res.exit_code == 4, res.output
        assert gone in res.output and "Traceback" not in res.output
    with Workspace.from_options(PROJECT_DIR) as ws:
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY") == [(0,)]


def test_a_snapshot_reads_a_split_full_extract_as_one_extract(ws: Workspace, tmp_path: Path) -> None:
    """SCD2 over split full extracts: the union of the parts is the extract, so a second extract with one title
    changed closes exactly one version (a snapshot that saw only the last part would invalidate the rest)."""
    extract("synthetic", str(tmp_path / "whole"), scale=SCALE, seed=5, split_size=0)
    with (tmp_path / "whole" / "batch=0001" / "movies.csv").open(newline="", encoding="utf-8") as f:
        movies = list(csv.reader(f))  # 200 synthetic movies, quoted titles among them

    def land(name: str) -> None:
        folder = _source_folder(tmp_path / name, ["1,1,4.0,964982703"], [])
        with (folder / "movies.csv").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(movies)
        entry = extract(str(folder), str(tmp_path / "lz"), split_size=2_000).file("movies.csv")
        assert entry is not None and len(entry.parts) >= 3

    land("first")
    ws.load(str(tmp_path / "lz"))
    assert ws.run(["src_movies"]).ok and ws.snapshot(["snap_movies"]).ok
    movies[1][1] = movies[1][1] + " (corrected)"  # the next full extract: one title corrected, split again
    land("second")
    ws.load(str(tmp_path / "lz"))
    assert ws.run(["src_movies"]).ok and ws.snapshot(["snap_movies"]).ok
    closed, rows, current = q(
        ws,
        "SELECT COUNT(CASE WHEN VALID_TO IS NOT NULL THEN 1 END), COUNT(*), COUNT(CASE WHEN IS_CURRENT THEN 1 END) "
        "FROM MOVIELENS.SNAPSHOTS.SNAP_MOVIES",
    )[0]
    n = len(movies) - 1
    assert (closed, rows, current) == (1, n + 1, n)
    titles = q(
        ws, f"SELECT TITLE FROM MOVIELENS.SNAPSHOTS.SNAP_MOVIES WHERE MOVIE_ID = {movies[1][0]} ORDER BY VALID_FROM"
    )
    assert [t[0] for t in titles] == [movies[1][1].removesuffix(" (corrected)"), movies[1][1]]


def _ratings(n: int, offset: int = 0) -> list[str]:
    return [f"{u},{10 + u % 7},{1 + u % 5}.0,{964980000 + offset + u}" for u in range(1, n + 1)]


def test_a_skipped_batch_records_every_part_and_a_partly_loaded_delta_is_refused(ws: Workspace, tmp_path: Path):
    url = str(tmp_path / "lz")
    movies = ["1,Toy Story (1995),Animation"]
    extract(str(_source_folder(tmp_path / "b1", _ratings(40), movies)), url, split_size=150)
    report = ws.load(url, skip_batches=[1])
    skipped = [f for f in report.files if f.table == "RAW_RATINGS"]
    assert len(skipped) >= 3 and {f.status for f in skipped} == {"SKIPPED"} and len({f.load_id for f in skipped}) == 1
    assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.RAW_RATINGS") == [(0,)]
    # batch 2: a delta whose first part is byte for byte batch 3's first part, loaded below
    m2 = extract(str(_source_folder(tmp_path / "b2", _ratings(40, offset=1000), movies)), url, split_size=150)
    ws.load(url)
    first = m2.file("ratings.csv").parts[0]  # type: ignore[union-attr]
    later = _ratings(40, offset=1000)[: first.rows] + _ratings(35, offset=5000)  # its first records, then new ones
    m3 = extract(str(_source_folder(tmp_path / "b3", later, movies)), url, split_size=150)
    assert m3.file("ratings.csv").parts[0].sha256 == first.sha256  # type: ignore[union-attr]
    before = q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY")
    with pytest.raises(LoadError, match=r"batch=0003/ratings\.csv: some of its parts are loaded already"):
        ws.load(url)
    assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY") == before
    assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.RAW_RATINGS") == [(40,)]
