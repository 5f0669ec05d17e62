"""Splitting a large file at extract (`extract --split-size`): parts at record boundaries, each with the header,
named for a declared file and a part number, listed in the manifest; names and part lists the manifest may not
hold are refused. Records are compared with Python's csv module, independently of the project's parser."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime
from pathlib import Path

import pytest

from netflix_elt.errors import IngestError
from netflix_elt.ingest.extract import extract
from netflix_elt.ingest.landing import Landing
from netflix_elt.ingest.landing.manifest import BatchManifest, FileEntry, FilePart, check_entry_name, part_of
from netflix_elt.ingest.landing.split import parse_size, split_file

SPLIT = 300_000  # bytes: the small synthetic ratings (2.5 MB) and genome scores (5.8 MB) split, the rest do not


def records(data: bytes) -> tuple[list[str], list[list[str]]]:
    """(header, data records) of CSV bytes, by Python's csv module."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def landings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, BatchManifest]:
    """The same synthetic batch landed whole and split."""
    root = tmp_path_factory.mktemp("split")
    extract("synthetic", str(root / "whole"), scale=20_000, seed=5, split_size=0)
    manifest = extract("synthetic", str(root / "split"), scale=20_000, seed=5, split_size=SPLIT)
    return root / "whole" / "batch=0001", root / "split" / "batch=0001", manifest


@pytest.mark.parametrize("name", ["ratings.csv", "genome-scores.csv"])
def test_a_large_file_lands_as_parts_whose_records_are_the_file(landings, name: str) -> None:
    whole, split, manifest = landings
    original = (whole / name).read_bytes()
    assert len(original) > SPLIT and not (split / name).exists()
    entry = manifest.file(name)
    assert entry is not None and len(entry.parts) >= -(-len(original) // SPLIT)  # each part <= SPLIT bytes
    header, expected = records(original)
    got: list[list[str]] = []
    for i, part in enumerate(entry.parts, start=1):
        assert part.name == name.replace(".csv", f".part-{i:04d}.csv") and part_of(part.name) == (name, i)
        data = (split / part.name).read_bytes()
        assert len(data) <= SPLIT and data.endswith(b"\n")
        assert data.startswith(original.split(b"\n", 1)[0] + b"\n")  # the header, byte for byte
        part_header, rows = records(data)
        assert part_header == header and rows and len(rows) == part.rows
        assert (part.bytes, part.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        got += rows
    assert got == expected
    # the logical entry is the file as extracted
    assert (entry.rows, entry.bytes, entry.sha256) == (
        len(expected),
        len(original),
        hashlib.sha256(original).hexdigest(),
    )


def test_small_files_land_whole_and_the_manifest_reads_back(landings) -> None:
    whole, split, manifest = landings
    assert manifest.file("movies.csv").parts == []  # type: ignore[union-attr]
    assert (split / "movies.csv").read_bytes() == (whole / "movies.csv").read_bytes()
    listed = sorted(p.name for p in split.iterdir() if p.name != "manifest.json")
    assert listed == sorted(o.name for o in manifest.objects())
    assert Landing.from_url(str(split.parent)).list_batches() == [manifest]
    # an unsplit entry's JSON has no "parts": manifests read as before
    text = (split / "manifest.json").read_text()
    assert text.count('"parts"') == 2


def test_a_quoted_field_spanning_lines_is_never_cut(tmp_path: Path) -> None:
    rows = ['1,"Title, with a comma (1995)",Drama'] + [
        f'{i},"a ""quoted"" line\nand its second line",Comedy' for i in range(2, 60)
    ]
    data = ("movieId,title,genres\n" + "\n".join(rows) + "\n").encode()
    path = tmp_path / "movies.csv"
    path.write_bytes(data)
    parts = split_file(path, 200, tmp_path / "parts")
    assert parts is not None and len(parts) > 5
    got = []
    for part, file in parts:
        header, recs = records(file.read_bytes())
        assert header == ["movieId", "title", "genres"] and len(recs) == part.rows
        got += recs
    assert got == records(data)[1]


def test_a_file_the_loader_would_refuse_is_not_split(tmp_path: Path) -> None:
    """A quote that closes only lines later, with a record of its own between: which lines are meant cannot be
    told (records.split_records refuses it), so the file lands whole and the loader names the line."""
    data = b'userId,movieId,tag,timestamp\n1,1,"open,1\n2,2,x,2\n3,3,close",3\n' + b"4,4,y,4\n" * 100
    path = tmp_path / "tags.csv"
    path.write_bytes(data)
    assert split_file(path, 100, tmp_path / "parts") is None
    assert split_file(path, 0, tmp_path / "parts") is None  # 0: never split


def test_split_sizes() -> None:
    assert parse_size("100MB") == 100_000_000 and parse_size("512KiB") == 524_288 and parse_size("0") == 0
    assert parse_size(" 2 GB ") == 2_000_000_000 and parse_size(1234) == 1234
    for bad in ("ten", "5XB", "-1", "1.5MB"):
        with pytest.raises(ValueError):
            parse_size(bad)


@pytest.mark.parametrize(
    "name",
    ["ratings.part-0000.csv", "evil.part-0001.csv", "../ratings.part-0001.csv", "ratings.part-1.csv", "ratings.csv"],
)
def test_a_part_name_must_be_a_declared_file_and_a_part_number(name: str) -> None:
    declared = {"ratings.csv", "movies.csv"}
    with pytest.raises(IngestError, match="the batch is refused"):
        check_entry_name(name, declared, "test", part=True)
    assert check_entry_name("ratings.part-0002.csv", declared, "test", part=True) == "ratings.part-0002.csv"
    with pytest.raises(IngestError, match="is not a file this project lands"):  # a part is no top-level entry
        check_entry_name("ratings.part-0002.csv", declared, "test")


def _manifest_with(parts: list[FilePart], rows: int) -> bytes:
    entry = FileEntry(name="ratings.csv", rows=rows, bytes=10, sha256="0" * 64, parts=parts)
    m = BatchManifest(batch=1, created_at=datetime(2026, 1, 1), source="t", files=[entry], url="file:///x/batch=0001")
    return m.dump().encode()


@pytest.mark.parametrize(
    ("names", "rows", "why"),
    [
        (["ratings.part-0001.csv", "ratings.part-0003.csv"], 2, "numbered from 1, in order"),
        (["ratings.part-0002.csv", "ratings.part-0001.csv"], 2, "numbered from 1, in order"),
        (["ratings.part-0001.csv", "movies.part-0002.csv"], 2, "numbered from 1, in order"),
        (["ratings.part-0001.csv", "ratings.part-0002.csv"], 3, "hold 2 data rows, the entry says 3"),
    ],
)
def test_a_manifest_whose_parts_do_not_make_the_file_is_refused(names: list[str], rows: int, why: str) -> None:
    parts = [FilePart(name=n, rows=1, bytes=5, sha256="1" * 64) for n in names]
    landing = Landing.from_url("/nonexistent/landing")
    with pytest.raises(IngestError, match=why):
        landing._parse_manifest(1, _manifest_with(parts, rows), "test")


def test_the_external_stage_loads_a_split_file_with_one_copy_and_a_history_row_per_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlglot
    from sqlglot import exp

    from netflix_elt.config import load_settings
    from netflix_elt.ingest import external_stage as ext
    from netflix_elt.ingest.load import _Book
    from tests import snowflake_rules as rules
    from tests.conftest import PROJECT_DIR

    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    settings = load_settings(PROJECT_DIR, profile="snowflake")
    at = datetime(2026, 1, 2, 3, 4, 5)
    parts = [FilePart(name=f"ratings.part-000{i}.csv", rows=10 * i, bytes=100, sha256=f"{i}" * 64) for i in (1, 2, 3)]
    files = [
        FileEntry(name="ratings.csv", rows=60, bytes=300, sha256="a" * 64, parts=parts),
        *(FileEntry(name=n, rows=5, bytes=50, sha256="b" * 64) for n in ("movies.csv", "tags.csv", "links.csv")),
    ]
    m = BatchManifest(batch=1, created_at=at, source="t", files=files, url="s3://b/p/batch=0001")
    script = ext.batch_script(settings, "s3://b/p", m, _Book([], False), 7, at)
    trees = [sqlglot.parse_one(s, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE) for s in script]
    assert not any(isinstance(t, exp.Command) for t in trees)
    assert rules.check_all(script) == []
    copies = [s for s in script if s.startswith("COPY INTO MOVIELENS.RAW.RAW_RATINGS__LANDING")]
    assert len(copies) == 1  # one COPY of every part: Snowflake loads them in parallel
    assert "FROM @MOVIELENS.RAW.NETFLIX_ELT_LANDING/batch=0001/ FILES = ('ratings.part-0001.csv', " in copies[0]
    assert "_SOURCE_FILE = METADATA$FILENAME" in copies[0] and "ratings.part-0003.csv')" in copies[0]
    create = next(s for s in script if s.startswith("CREATE OR REPLACE TRANSIENT TABLE MOVIELENS.RAW.RAW_RATINGS__"))
    assert '"_SOURCE_FILE" VARCHAR' in create
    assert not any('"_SOURCE_FILE"' in s for s in script if "RAW_MOVIES__LANDING (" in s)  # unsplit: as before
    history = [s for s in script if s.startswith("INSERT INTO MOVIELENS.RAW.LOAD_HISTORY") and "RAW_RATINGS" in s]
    assert len(history) == 3
    for part, sql in zip(parts, history, strict=True):
        uri = f"'s3://b/p/batch=0001/{part.name}'"
        assert sql.split(" SELECT ", 1)[1].startswith(f"7, 'RAW_RATINGS', {uri}, 'batch=0001', '{part.sha256}', ")
        assert f"_SOURCE_FILE = {uri})" in sql and f"SOURCE_FILE = {uri})" in sql  # rows and rejects of the part
    typed = next(s for s in script if s.startswith('INSERT INTO MOVIELENS.RAW.RAW_RATINGS ("USERID"'))
    assert "'s3://b/p/batch=0001/' || REGEXP_SUBSTR(_SOURCE_FILE, '[^/]+$') AS SOURCE_URI" in typed
    assert "o._PART_OFFSET AS LINE" in typed  # the header offset, per part
    validate = next(s for s in script if "ERROR, " in s and "RAW_RATINGS__LANDING, JOB_ID" in s)
    assert "'s3://b/p/batch=0001/' || REGEXP_SUBSTR(FILE, '[^/]+$'), LINE" in validate  # rejects name their part
    # the other files keep one load id each, after the split file's one
    ids = [
        int(s.split(" SELECT ", 1)[1].split(",")[0]) for s in script if s.startswith("INSERT INTO MOVIELENS.RAW.LOAD_H")
    ]
    assert ids == [7, 7, 7, 8, 9, 10]
