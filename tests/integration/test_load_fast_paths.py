"""The load's fast paths (issue 14) keep its guarantees: COPY in place on the embedded engine (no
PUT), the files of a batch parsed side by side but decided and numbered in source order, and the
first failure in that order reported with nothing loaded."""

from __future__ import annotations

import csv
import threading
from datetime import datetime
from pathlib import Path

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netflix_elt.api import Workspace
from netflix_elt.config import SourceSection, load_settings
from netflix_elt.errors import LoadError
from netflix_elt.ingest import load as load_mod
from tests.conftest import PROJECT_DIR
from tests.integration.test_loader import q, raw_counts, write_landing


def test_local_copy_statement_is_one_snowflake_copy_without_put():
    settings = load_settings(PROJECT_DIR)
    stmts = load_mod.parquet_statements(
        settings, "/tmp/a b/it's/raw_ratings_1.parquet", "DB.RAW.R", "load_1", local=True
    )
    assert len(stmts) == 1 and not stmts[0].startswith("PUT")
    tree = sqlglot.parse_one(stmts[0], read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    assert isinstance(tree, sqlglot.exp.Copy)
    assert tree.args["files"][0].this.this == "file:///tmp/a b/it's/"  # the quote survived, escaped
    assert "FILES = ('raw_ratings_1.parquet')" in stmts[0]
    staged = load_mod.parquet_statements(settings, "/tmp/x/raw_ratings_1.parquet", "DB.RAW.R", "load_1")
    assert [s.split()[0] for s in staged] == ["PUT", "COPY"]  # what Snowflake gets: PUT, then COPY


def test_embedded_load_sends_no_put_and_loads_every_row(isolated_home, tmp_path, monkeypatch):
    landing = write_landing(tmp_path / "landing")
    sent: list[str] = []
    real = load_mod.copy_parquet

    def spy(session, settings, parquet, table, folder, **kw):
        sent.extend(load_mod.parquet_statements(settings, parquet.as_posix(), table, folder, **kw))
        return real(session, settings, parquet, table, folder, **kw)

    monkeypatch.setattr(load_mod, "copy_parquet", spy)
    with Workspace.from_options(PROJECT_DIR) as ws:
        report = ws.load(str(landing))
        assert sent and not [s for s in sent if s.startswith("PUT")]
        with (landing / "ratings.csv").open(newline="") as f:
            lines = sum(1 for _ in csv.reader(f)) - 1
        ratings = next(f for f in report.files if f.table == "RAW_RATINGS")
        assert ratings.rows_loaded + ratings.rows_rejected == lines
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.RAW_RATINGS")[0][0] == ratings.rows_loaded
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_REJECTS")[0][0] == ratings.rows_rejected


def test_files_parse_side_by_side_but_load_ids_follow_the_sources(isolated_home, tmp_path, monkeypatch):
    landing = write_landing(tmp_path / "landing")
    threads: set[str] = set()
    real = load_mod.parse_csv

    def spy(*a, **kw):
        threads.add(threading.current_thread().name)
        return real(*a, **kw)

    monkeypatch.setattr(load_mod, "parse_csv", spy)
    with Workspace.from_options(PROJECT_DIR) as ws:
        report = ws.load(str(landing))
        rows = q(ws, "SELECT LOAD_ID, SOURCE_TABLE FROM MOVIELENS.RAW.LOAD_HISTORY ORDER BY LOAD_ID")
    assert all(t.startswith("netflix-elt-parse") for t in threads)
    settings = load_settings(PROJECT_DIR)
    present = {p.name for p in landing.iterdir()}
    declared = [s.table for s in settings.config.sources.values() if s.file in present]
    assert [t for _, t in rows] == declared  # numbered in the sources' order, whichever parse ended first
    assert [i for i, _ in rows] == list(range(1, len(declared) + 1))
    assert [f.table for f in report.files if f.status == "LOADED"] == declared


def _copy_of_movies_then(monkeypatch, then):
    """ratings.csv's parse waits until movies.csv is COPY'd, then runs `then` (and parses, if it returns)."""
    copied = threading.Event()
    real_copy, real_parse = load_mod.copy_parquet, load_mod.parse_csv

    def copy_spy(session, settings, parquet, table, folder, **kw):
        real_copy(session, settings, parquet, table, folder, **kw)
        if table.endswith("RAW_MOVIES"):
            copied.set()

    def parse_spy(path, source, **kw):
        if path.name == "ratings.csv":
            assert copied.wait(60), "movies.csv was not copied while ratings.csv parsed"
            then()
        return real_parse(path, source, **kw)

    monkeypatch.setattr(load_mod, "copy_parquet", copy_spy)
    monkeypatch.setattr(load_mod, "parse_csv", parse_spy)


def test_a_file_is_copied_while_the_others_parse_and_all_load_in_source_order(isolated_home, tmp_path, monkeypatch):
    """On the embedded engine a parsed file is COPY'd while a bigger one still parses; the load ids
    and history still follow the sources' order, and every row is there."""
    landing = write_landing(tmp_path / "landing")
    _copy_of_movies_then(monkeypatch, lambda: None)
    with Workspace.from_options(PROJECT_DIR) as ws:
        report = ws.load(str(landing))
        rows = q(ws, "SELECT LOAD_ID, SOURCE_TABLE, ROWS_LOADED FROM MOVIELENS.RAW.LOAD_HISTORY ORDER BY LOAD_ID")
        counts = raw_counts(ws)
    settings = load_settings(PROJECT_DIR)
    present = {p.name for p in landing.iterdir()}
    declared = [s.table for s in settings.config.sources.values() if s.file in present]
    assert [t for _, t, _ in rows] == declared and [i for i, _, _ in rows] == list(range(1, len(declared) + 1))
    assert {t: n for _, t, n in rows} == {t: counts[t] for t in declared}
    assert [f.table for f in report.files if f.status == "LOADED"] == declared


def test_a_file_refused_after_another_was_copied_leaves_raw_as_it_was(isolated_home, tmp_path, monkeypatch):
    """movies.csv is COPY'd in the load's transaction while ratings.csv parses; ratings.csv is then
    refused (exit 4): the transaction is rolled back, so RAW and LOAD_HISTORY are as they were."""
    landing = write_landing(tmp_path / "landing")

    def refuse() -> None:
        raise LoadError("ratings.csv: refused by the test")

    with Workspace.from_options(PROJECT_DIR) as ws:
        ws.init()
        before = raw_counts(ws)
        _copy_of_movies_then(monkeypatch, refuse)
        with pytest.raises(LoadError, match="refused by the test") as e:
            ws.load(str(landing))
        assert e.value.exit_code == 4
        assert raw_counts(ws) == before
        assert q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY")[0][0] == 0
        monkeypatch.undo()
        ws.load(str(landing))  # the same batch loads whole once the file is fixed
        assert (
            q(ws, "SELECT COUNT(*) FROM MOVIELENS.RAW.RAW_MOVIES")[0][0]
            == before["RAW_MOVIES"] + sum(1 for _ in csv.reader((landing / "movies.csv").open(newline=""))) - 1
        )


def test_the_first_bad_file_in_source_order_is_reported_and_nothing_loads(isolated_home, tmp_path):
    landing = write_landing(tmp_path / "landing")
    (landing / "ratings.csv").write_text("userId,movieId,rating\n1,1,4.0\n")  # wrong header (1st source)
    (landing / "links.csv").write_text("movieId,imdb\n1,2\n")  # wrong header too (a later source)
    with Workspace.from_options(PROJECT_DIR) as ws:
        ws.init()
        before = raw_counts(ws)
        with pytest.raises(LoadError, match=r"ratings\.csv: wrong header"):
            ws.load(str(landing))
        assert raw_counts(ws) == before


def parse(path: Path, source: SourceSection, source_name: str, work_dir: Path) -> load_mod.ParsedFile:
    """One file parsed as the load parses it (load 1, its own name as the source file)."""
    return load_mod.parse_csv(
        path,
        source,
        load_id=1,
        loaded_at=datetime(2026, 1, 1),
        source_file=path.name,
        source_name=source_name,
        work_dir=work_dir,
    )


def test_the_parse_hashes_exactly_the_bytes_it_read(isolated_home, tmp_path):
    """The header line and the body are read apart; their checksum is still the whole file's."""
    landing = write_landing(tmp_path / "landing")
    settings = load_settings(PROJECT_DIR)
    src = settings.config.sources["raw_movies"]
    parsed = parse(landing / "movies.csv", src, "raw_movies", tmp_path / "w")
    assert parsed.sha256 == load_mod.sha256_of(landing / "movies.csv")


def _reads(monkeypatch, landing: Path) -> list[str]:
    """The landed files the load reads (each once, checked against its manifest as it is read), by
    batch folder and name, whether read whole or as a stream; a read of anything but the landed file
    itself (a copy) fails the test."""
    from netflix_elt.ingest.landing import files as files_mod

    read: list[str] = []
    for name in ("read_regular", "open_stream"):
        real = getattr(files_mod, name)

        def spy(path, _real=real, **kw):
            read.append(path.relative_to(landing).as_posix())
            return _real(path, **kw)

        monkeypatch.setattr(files_mod, name, spy)
    return read


FILES = ["ratings.csv", "movies.csv", "links.csv", "tags.csv"]


def test_a_batch_loaded_before_is_not_read_again_but_still_checked(isolated_home, tmp_path, monkeypatch):
    from netflix_elt.ingest.landing import Landing

    url = str(tmp_path / "landing")
    landing = Landing.from_url(url)
    landing.write_batch(write_landing(tmp_path / "b1"), FILES)
    read = _reads(monkeypatch, (tmp_path / "landing").resolve())
    with Workspace.from_options(PROJECT_DIR) as ws:
        ws.load(url)
        assert sorted(read) == sorted(f"batch=0001/{f}" for f in FILES)
        before = raw_counts(ws)
        read.clear()
        landing.write_batch(write_landing(tmp_path / "b2", ["7,1,2.0,964990000"]), FILES)
        report = ws.load(url)
        # batch 1 is in LOAD_HISTORY with the manifest's checksums, and batch 2's movies, links and
        # tags are the same extracts again: only its new ratings are read
        assert read == ["batch=0002/ratings.csv"]
        status = {"/".join(f.file.split("/")[-2:]): f.status for f in report.files}
        expected = {f"batch=0001/{f}": "UNCHANGED" for f in FILES} | {f"batch=0002/{f}": "UNCHANGED" for f in FILES}
        expected["batch=0002/ratings.csv"] = "LOADED"
        assert {k: v for k, v in status.items() if v != "MISSING"} == expected
        with (tmp_path / "b2" / "ratings.csv").open(newline="") as f:
            new_ratings = sum(1 for _ in csv.reader(f)) - 1
        assert raw_counts(ws)["RAW_RATINGS"] == before["RAW_RATINGS"] + new_ratings
        read.clear()
        assert ws.load(url).loaded == [] and read == []  # nothing new: nothing read
        read.clear()
        ws.load(url, force=True)  # --force reads (and verifies) everything again
        assert sorted(read) == sorted(f"batch={b}/{f}" for b in ("0001", "0002") for f in FILES)


def test_a_loaded_file_swapped_for_a_symlink_is_still_refused(isolated_home, tmp_path):
    from netflix_elt.errors import NetflixEltError
    from netflix_elt.ingest.landing import Landing

    url = str(tmp_path / "landing")
    Landing.from_url(url).write_batch(write_landing(tmp_path / "b1"), FILES)
    with Workspace.from_options(PROJECT_DIR) as ws:
        ws.load(url)
        counts = raw_counts(ws)
        landed = tmp_path / "landing" / "batch=0001" / "movies.csv"
        secret = tmp_path / "secret.csv"
        secret.write_bytes(landed.read_bytes())
        landed.unlink()
        landed.symlink_to(secret)
        with pytest.raises(NetflixEltError, match=r"batch=0001/movies\.csv.*symlink"):
            ws.load(url)
        assert raw_counts(ws) == counts


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (b"1,2,3.0,4\n\n5,6,1.0,7\n", 3),
        (b"1,2,3.0,4\r\n\r\n5,6,1.0,7\r\n", 3),
        (b"1,2,3.0,4\n5,6,1.0,7\n\n", 4),
    ],
)
def test_an_empty_line_in_a_numeric_file_is_rejected_with_its_line(tmp_path, body, line):
    """The fast path reads an empty line as a row of NULLs; the rule check sends the file down the exact
    path, which rejects that line (and only it) by number, as the csv module counts lines."""
    settings = load_settings(PROJECT_DIR)
    path = tmp_path / "ratings.csv"
    path.write_bytes(b"userId,movieId,rating,timestamp\n" + body)
    parsed = parse(path, settings.config.sources["raw_ratings"], "raw_ratings", tmp_path / "w")
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    assert parsed.rows_loaded == sum(1 for r in rows if r) == 2
    assert parsed.rows_rejected == 1 and parsed.first_reject == (line, "empty line")


def test_an_empty_line_is_rejected_where_every_column_may_be_null(tmp_path):
    """No rule catches pyarrow's NULL row when every column may be NULL: the fast path itself must
    look for the empty line, or it would load as a row of NULLs."""
    settings = load_settings(PROJECT_DIR)
    ratings = settings.config.sources["raw_ratings"]
    lenient = ratings.model_copy(update={"nullable": list(ratings.columns), "ranges": {}})
    path = tmp_path / "ratings.csv"
    path.write_bytes(b"userId,movieId,rating,timestamp\n1,2,3.0,4\n\n5,6,1.0,7\n")
    parsed = parse(path, lenient, "raw_ratings", tmp_path / "w")
    assert (parsed.rows_loaded, parsed.rows_rejected, parsed.first_reject) == (2, 1, (3, "empty line"))


@pytest.mark.parametrize("blank", [b"\n", b"\r\n"])
@pytest.mark.parametrize("cut", [0, 1, 2])
def test_an_empty_line_across_two_blocks_is_found(tmp_path, monkeypatch, blank, cut):
    """Where every column may be NULL the fast path looks for an empty line itself: also where the
    block it reads ends inside that line's ends (`cut` bytes of `\n` + blank in the first block)."""
    first = b"1,2,3.0,4\n"
    body = first + b"5,6,1.0,7\n" + blank + b"8,9,2.0,10\n"
    monkeypatch.setattr("netflix_elt.ingest.parse.BLOCK", len(first) + len(b"5,6,1.0,7") + cut)
    ratings = load_settings(PROJECT_DIR).config.sources["raw_ratings"]
    lenient = ratings.model_copy(update={"nullable": list(ratings.columns), "ranges": {}})
    path = tmp_path / "ratings.csv"
    path.write_bytes(b"userId,movieId,rating,timestamp\n" + body)
    parsed = parse(path, lenient, "raw_ratings", tmp_path / "w")
    assert (parsed.rows_loaded, parsed.rows_rejected, parsed.first_reject) == (3, 1, (4, "empty line"))


def _parsed_rows(parsed: load_mod.ParsedFile) -> tuple[list[tuple], list[tuple]]:
    import duckdb

    good = duckdb.sql(f"SELECT * FROM '{parsed.parquet}' ORDER BY _SOURCE_ROW").fetchall()
    bad = (
        duckdb.sql(f"SELECT LINE_NUMBER, REASON FROM '{parsed.rejects_parquet}' ORDER BY 1").fetchall()
        if parsed.rejects_parquet
        else []
    )
    return good, bad


_LINE_END_PIECES = ["\r", "\r\n", "\n", "\r\r\n", "\n\r\n", "\n\n"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    crlf=st.booleans(),
    # the columns declared nullable; raw_links' imdbId is VARCHAR: never a missing value by rule
    nullable=st.sampled_from([(), ("movieId", "tmdbId"), ("movieId",)]),
    # (line, where in it: 0 its start, 1 after its first comma, 2 its end before the line end, 3 after it)
    cuts=st.lists(st.tuples(st.integers(0, 19), st.integers(0, 3), st.sampled_from(_LINE_END_PIECES)), max_size=4),
    # bytes the fast path reads at a time: the whole body at once, or blocks that cut lines and line ends
    block=st.sampled_from([None, 2, 3, 19, 40, 97]),
)
def test_stray_carriage_returns_load_as_the_exact_path_loads_them(
    tmp_path_factory, monkeypatch, crlf, nullable, cuts, block
):
    """The fast path keeps no CR count of its own and relies on pyarrow's row count: for any CR, CRLF,
    LF or empty line put at a line's edges into a file of digits (one column VARCHAR, which no rule
    needs a value in), it loads and rejects exactly what the exact path does (the path the
    record-accounting tests hold to the csv module), by line number, however the blocks it is read
    in cut the lines (an empty line across two blocks included)."""
    if block is not None:
        monkeypatch.setattr("netflix_elt.ingest.parse.BLOCK", block)
    tmp_path = tmp_path_factory.mktemp("cr")
    links = load_settings(PROJECT_DIR).config.sources["raw_links"]
    source = links.model_copy(update={"nullable": list(nullable)})
    end = "\r\n" if crlf else "\n"
    lines = [[f"{i},{i + 100_000:07d},{i * 7}", end] for i in range(1, 21)]
    for i, where, piece in cuts:
        text, ending = lines[i]
        if where == 3:
            lines[i][1] = ending + piece
        else:
            at = (0, text.index(",") + 1, len(text))[where]
            lines[i][0] = text[:at] + piece + text[at:]
    text = "".join(t + e for t, e in lines)
    path = tmp_path / "links.csv"
    path.write_bytes(("movieId,imdbId,tmdbId" + end + text).encode())
    fast = parse(path, source, "raw_links", tmp_path / "fast")
    with monkeypatch.context() as m:
        m.setattr("netflix_elt.ingest.parse._fast_table", lambda body, source: None)
        exact = parse(path, source, "raw_links", tmp_path / "exact")
    assert _parsed_rows(fast) == _parsed_rows(exact)
    assert (fast.rows_in_file, fast.rows_loaded, fast.rows_rejected, fast.keys) == (
        exact.rows_in_file,
        exact.rows_loaded,
        exact.rows_rejected,
        exact.keys,
    )
    # no quotes here: each line (LF-ended, or a last one without an LF) is one record
    assert fast.rows_in_file == text.count("\n") + (not text.endswith("\n"))


def _ratings_file(path: Path, n: int, bad: int | None = None) -> None:
    """A ratings.csv of n rows (rating 9.0, out of range, at data line `bad`)."""
    rows = [f"{i},{i % 97 + 1},{9.0 if i == bad else (i % 10 + 1) / 2},{964982703 + i}\n" for i in range(1, n + 1)]
    path.write_text("userId,movieId,rating,timestamp\n" + "".join(rows))


def test_a_file_read_in_blocks_is_typed_as_it_is_read_and_read_once(tmp_path, monkeypatch):
    """A clean numeric file much bigger than a block: typed by the fast path from a stream (never held
    whole), read once, its checksum the whole file's; every row there, in order."""
    from netflix_elt.ingest.landing import files as files_mod

    monkeypatch.setattr("netflix_elt.ingest.parse.BLOCK", 100)
    path = tmp_path / "ratings.csv"
    _ratings_file(path, 500)
    opened = []
    real = files_mod.open_stream
    monkeypatch.setattr(files_mod, "open_stream", lambda p, **kw: opened.append(p) or real(p, **kw))
    monkeypatch.setattr(files_mod, "read_regular", lambda *a, **kw: pytest.fail("read whole"))
    src = load_settings(PROJECT_DIR).config.sources["raw_ratings"]
    parsed = parse(path, src, "raw_ratings", tmp_path / "w")
    assert opened == [path] and parsed.sha256 == load_mod.sha256_of(path)
    with path.open(newline="") as f:
        expected = [(int(a), int(b), float(c), int(d), i) for i, (a, b, c, d) in enumerate(list(csv.reader(f))[1:], 1)]
    assert _parsed_rows(parsed) == (expected, [])


def test_a_broken_rule_past_the_first_block_reads_the_file_again_for_its_rejects(tmp_path, monkeypatch):
    """Typed clean, but a rule fails far down: the exact path reads the file again, whole, and rejects
    that line alone, by number, as the csv module counts it."""
    monkeypatch.setattr("netflix_elt.ingest.parse.BLOCK", 100)
    path = tmp_path / "ratings.csv"
    _ratings_file(path, 500, bad=431)
    src = load_settings(PROJECT_DIR).config.sources["raw_ratings"]
    parsed = parse(path, src, "raw_ratings", tmp_path / "w")
    assert (parsed.rows_in_file, parsed.rows_loaded, parsed.rows_rejected) == (500, 499, 1)
    assert parsed.first_reject == (432, "rating out of range 0.5..5.0: 9.0")
    assert parsed.sha256 == load_mod.sha256_of(path)


def test_a_small_file_that_leaves_the_fast_path_is_read_once(tmp_path, monkeypatch):
    """A body within the first block that the fast path refuses (a short row) goes to the exact path
    without a second read: pyarrow's last read, at the end of the file, read nothing."""
    from netflix_elt.ingest.landing import files as files_mod

    path = tmp_path / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,2,3.0,4\n1,2\n")
    monkeypatch.setattr(files_mod, "read_regular", lambda *a, **kw: pytest.fail("read again"))
    parsed = parse(path, load_settings(PROJECT_DIR).config.sources["raw_ratings"], "raw_ratings", tmp_path / "w")
    assert (parsed.rows_loaded, parsed.rows_rejected, parsed.first_reject) == (1, 1, (3, "expected 4 fields, found 2"))


def test_a_file_that_changes_between_its_two_reads_is_refused(isolated_home, tmp_path, monkeypatch):
    """The exact path's second read must be what the fast path read: a file altered in between is
    refused (exit 4) and RAW stays as it was."""
    from netflix_elt.ingest.landing import files as files_mod

    landing = write_landing(tmp_path / "landing")
    _ratings_file(landing / "ratings.csv", 50, bad=7)
    real = files_mod.read_regular

    def altered_then_read(path, **kw):
        if path.name == "ratings.csv":
            _ratings_file(path, 50, bad=8)
        return real(path, **kw)

    monkeypatch.setattr(files_mod, "read_regular", altered_then_read)
    with Workspace.from_options(PROJECT_DIR) as ws:
        ws.init()
        before = raw_counts(ws)
        with pytest.raises(LoadError, match=r"ratings\.csv: changed while it was being loaded") as e:
            ws.load(str(landing))
        assert e.value.exit_code == 4
        assert raw_counts(ws) == before


def test_a_file_with_a_stray_cr_leaves_the_fast_path():
    """The row count is what refuses a CR that does not end a line; the check itself, on pyarrow's rows."""
    from netflix_elt.ingest.parse import _fast_table

    ratings = load_settings(PROJECT_DIR).config.sources["raw_ratings"]
    assert _fast_table(b"1,2,3.0,4\r\n5,6,1.0,7\r\n", ratings).num_rows == 2
    assert _fast_table(b"1,2,3.0,4\n5,6,1.0,7\n", ratings).num_rows == 2
    for body in (b"1,2,3.0,4\r5,6,1.0,7\n", b"1,2,3.0,4\r\r\n5,6,1.0,7\r\n", b"\r1,2,3.0,4\n"):
        assert _fast_table(body, ratings) is None, body


def test_a_data_copy_is_a_transformation_that_stamps_the_load(isolated_home, tmp_path):
    """The parsed Parquet holds the file's columns and _SOURCE_ROW; the COPY adds the load's id, time
    and file as constants: every row carries its LOAD_HISTORY row's, and the rows are the CSV's, in order."""
    settings = load_settings(PROJECT_DIR)
    src = settings.config.sources["raw_ratings"]
    columns = load_mod.stamped_columns(src, 7, datetime(2026, 1, 2, 3, 4, 5), "file:///l/it's.csv")
    for local in (True, False):
        stmts = load_mod.parquet_statements(settings, "/tmp/p/r_7.parquet", "DB.RAW.R", "load_7", local=local,
                                            columns=columns)  # fmt: skip
        copy = stmts[-1]
        tree = sqlglot.parse_one(copy, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
        assert isinstance(tree, sqlglot.exp.Copy) and "MATCH_BY_COLUMN_NAME" not in copy
        select = tree.args["files"][0].this
        assert isinstance(select, sqlglot.exp.Select)  # FROM (SELECT ... FROM @stage): a transformation
        raw = f"{settings.database}.{settings.raw_schema}"
        stage = f"@{raw}.NETFLIX_ELT_PARSED/" if local else f"@{raw}.NETFLIX_ELT_LOAD_STAGE/load_7/"
        assert f"FROM {stage}) FILES = ('r_7.parquet')" in copy
        assert [s.split()[0] for s in stmts] == (["COPY"] if local else ["PUT", "COPY"])
    assert [c for c, _ in columns] == [*(f'"{c.upper()}"' for c in src.columns), *load_mod.METADATA_COLUMNS]

    clean = [f"{u},{m},{(u + m) % 10 / 2 + 0.5},{964982703 + u * 7 + m}" for u in range(1, 40) for m in range(1, 9)]
    landing = write_landing(tmp_path / "landing", clean)  # the fast path: every row loads
    with Workspace.from_options(PROJECT_DIR) as ws:
        ws.load(str(landing))
        (lid, at), *_ = q(
            ws, "SELECT LOAD_ID, LOADED_AT FROM MOVIELENS.RAW.LOAD_HISTORY WHERE SOURCE_TABLE = 'RAW_RATINGS'"
        )
        rows = q(ws, 'SELECT USERID, MOVIEID, RATING, "TIMESTAMP", _LOAD_ID, _LOADED_AT, _SOURCE_FILE, _SOURCE_ROW '
                     "FROM MOVIELENS.RAW.RAW_RATINGS ORDER BY _SOURCE_ROW")  # fmt: skip
        stages = q(ws, "SHOW STAGES IN SCHEMA MOVIELENS.RAW")
    with (landing / "ratings.csv").open(newline="") as f:
        expected = [r for r in csv.reader(f)][1:]
    assert len(rows) == len(expected) > 0
    for n, (row, want) in enumerate(zip(rows, expected, strict=True), start=1):
        assert [int(row[0]), int(row[1]), float(row[2]), int(row[3])] == [
            int(want[0]),
            int(want[1]),
            float(want[2]),
            int(want[3]),
        ]
        assert (row[4], row[5], row[7]) == (lid, at, n)
        assert row[6] == f"{landing.resolve().as_uri()}/ratings.csv"
    # the emulator cannot DROP STAGE: the next load replaces it; its folder went with the load
    (url,) = [r[4] for r in stages if r[1] == "NETFLIX_ELT_PARSED"]
    assert url.startswith("file:///") and not Path(url.removeprefix("file://")).exists()


def _distinct_keys(path: Path, key: list[str]) -> int:
    """The distinct keys of a file by Python's csv module, the way DISTINCT counts them (-0.0 = 0.0)."""
    with path.open(newline="") as f:
        return len({tuple(float(r[k]) for k in key) for r in csv.DictReader(f)})


@pytest.mark.parametrize(
    "rows",
    [
        ["1,1,0.5", "1,2,0.5", "2,1,0.5"],  # in key order: counted without DISTINCT
        ["2,1,0.5", "1,1,0.5", "1,2,0.5"],  # out of order, no duplicate
        ["1,1,0.5", "1,1,0.7", "2,1,0.5"],  # a duplicate key next to itself
        ["1,2,0.5", "2,1,0.5", "1,2,0.9"],  # a duplicate key far from itself
        ["1,1,0.5"],
    ],
)
def test_a_full_extract_counts_its_distinct_keys_in_any_row_order(tmp_path, rows):
    """The deletion guard's key count (LOAD_HISTORY.KEY_COUNT) is the file's distinct keys whether the
    rows come in key order (proved by ascending_keys, no DISTINCT) or not."""
    settings = load_settings(PROJECT_DIR)
    src = settings.config.sources["raw_genome_scores"]
    path = tmp_path / "genome-scores.csv"
    path.write_text("movieId,tagId,relevance\n" + "\n".join(rows) + "\n")
    parsed = parse(path, src, "raw_genome_scores", tmp_path / "w")
    assert parsed.rows_rejected == 0
    assert parsed.keys == _distinct_keys(path, src.key)


def test_a_key_named_in_another_case_is_counted_too(tmp_path):
    """The config takes key names in any case (movieid for movieId): the proof finds the columns
    the same way DuckDB's quoted names do, instead of failing the load."""
    settings = load_settings(PROJECT_DIR)
    src = settings.config.sources["raw_genome_scores"]
    lower = src.model_copy(update={"key": ["movieid", "TAGID"]})
    path = tmp_path / "genome-scores.csv"
    path.write_text("movieId,tagId,relevance\n1,1,0.5\n1,2,0.5\n1,2,0.6\n")
    assert parse(path, lower, "raw_genome_scores", tmp_path / "w").keys == _distinct_keys(path, src.key) == 2
    path.write_text("movieId,tagId,relevance\n1,1,0.5\n1,2,0.5\n2,1,0.6\n")
    assert parse(path, lower, "raw_genome_scores", tmp_path / "w2").keys == 3


def test_ascending_keys_proves_only_what_distinct_would_count():
    """Strictly ascending keys are all distinct; anything else (a tie, a NULL, -0.0 after 0.0, NaN,
    a text key) leaves the count to DISTINCT."""
    import pyarrow as pa

    from netflix_elt.ingest.parse import ascending_keys

    def t(**cols: list) -> pa.Table:
        return pa.table(cols)

    assert ascending_keys(t(a=[1, 1, 2], b=[1, 2, 0]), ["a", "b"])
    assert not ascending_keys(t(a=[1, 1, 2], b=[2, 2, 0]), ["a", "b"])  # (1, 2) twice
    assert not ascending_keys(t(a=[1, 2, 1], b=[1, 1, 2]), ["a", "b"])  # distinct, but not in order
    assert not ascending_keys(t(a=[1, None, 3]), ["a"])
    assert not ascending_keys(t(a=[-0.0, 0.0]), ["a"])  # equal to DISTINCT
    assert not ascending_keys(t(a=[1.0, float("nan"), 2.0]), ["a"])
    assert not ascending_keys(t(a=["1", "2"]), ["a"])
    assert ascending_keys(t(a=[5]), ["a"]) and not ascending_keys(t(a=pa.array([None], pa.int64())), ["a"])


def test_the_fast_paths_parquet_has_the_exact_paths_columns_types_rows_and_order(tmp_path, monkeypatch):
    """The fast path's Parquet comes from pyarrow's typed table, the exact path's from DuckDB's checks:
    the COPY reads them by name, so both must hold the same upper-case columns, types and rows, in
    the file's order, and each row what Python's csv module reads on that line (links: a VARCHAR of
    digits, an empty tmdbId)."""
    import csv as csv_mod

    import duckdb

    links = load_settings(PROJECT_DIR).config.sources["raw_links"]
    source = links.model_copy(update={"nullable": ["tmdbId"]})
    rows = [(i, f"{i * 31:07d}", "" if i % 5 == 0 else str(i * 7)) for i in range(1, 200)]
    path = tmp_path / "links.csv"
    path.write_text("movieId,imdbId,tmdbId\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    fast = parse(path, source, "raw_links", tmp_path / "fast")
    with monkeypatch.context() as m:
        m.setattr("netflix_elt.ingest.parse._fast_table", lambda body, source: None)
        exact = parse(path, source, "raw_links", tmp_path / "exact")

    def described(parsed: load_mod.ParsedFile) -> list[tuple]:
        return [(r[0], r[1]) for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{parsed.parquet}'").fetchall()]

    def in_file_order(parsed: load_mod.ParsedFile) -> list[tuple]:
        return duckdb.sql(f"SELECT * FROM '{parsed.parquet}'").fetchall()

    assert described(fast) == described(exact) == [
        ("MOVIEID", "BIGINT"), ("IMDBID", "VARCHAR"), ("TMDBID", "BIGINT"), ("_SOURCE_ROW", "BIGINT")]  # fmt: skip
    with path.open(newline="") as f:
        expected = [
            (int(r["movieId"]), r["imdbId"], int(r["tmdbId"]) if r["tmdbId"] else None, n)
            for n, r in enumerate(csv_mod.DictReader(f), start=1)
        ]
    assert in_file_order(fast) == in_file_order(exact) == expected
    assert (fast.rows_loaded, fast.rows_rejected) == (exact.rows_loaded, exact.rows_rejected) == (len(rows), 0)
