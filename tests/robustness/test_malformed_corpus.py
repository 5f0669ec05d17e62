"""A corpus of malformed landed files: every record is loaded or rejected, or the file is refused.

One warehouse is built from good batch 1; each case then lands one broken file as a new batch
and runs the CLI. Each case asserts: the exit code; loaded + rejected = the data records of the
file, counted independently of the loader (Python's csv module over the good file, adjusted by
what the case did to it); RAW rows of earlier loads and the DEV tables unchanged; and that a
later good batch still loads (after `load --skip-batch K` where the bad batch was refused).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from netflix_elt.cli import main
from tests.conftest import PROJECT_DIR

CRLF = "\r\n"


def _ratings() -> str:
    rows = [f"{u},{m},{(u * m) % 10 / 2 + 0.5},{964982703 + u * 100 + m}" for u in range(1, 6) for m in range(1, 9)]
    return "userId,movieId,rating,timestamp" + CRLF + CRLF.join(rows) + CRLF


def _movies() -> str:
    rows = []
    for i in range(1, 61):
        if i % 7 == 0:
            rows.append(f'{i},"Movie {i}, The ({1950 + i})",Drama|Comedy')
        elif i % 11 == 0:
            rows.append(f'{i},"""Quoted"" Movie {i} ({1950 + i})",Horror')
        else:
            rows.append(f"{i},Movie {i} ({1950 + i}),Action")
    return "movieId,title,genres" + CRLF + CRLF.join(rows) + CRLF


def _links() -> str:
    rows = [f"{i},{i:07d},{'' if i % 13 == 0 else 1000 + i}" for i in range(1, 61)]
    return "movieId,imdbId,tmdbId" + CRLF + CRLF.join(rows) + CRLF


def _tags() -> str:
    rows = []
    for i in range(1, 41):
        tag = f'"tag, {i}"' if i % 5 == 0 else (f'"say ""t{i}"""' if i % 9 == 0 else f"tag{i}")
        rows.append(f"{1 + i % 4},{i},{tag},{1139045764 + i}")
    return "userId,movieId,tag,timestamp" + CRLF + CRLF.join(rows) + CRLF


def _genome_tags() -> str:
    rows = [f"{i},{'genome, ' + str(i) if i % 6 == 0 else 'genome' + str(i)}" for i in range(1, 31)]
    rows = [f'{r.split(",", 1)[0]},"{r.split(",", 1)[1]}"' if "genome, " in r else r for r in rows]
    return "tagId,tag" + CRLF + CRLF.join(rows) + CRLF


def _genome_scores() -> str:
    rows = [f"{m},{t},{(m * t) % 100 / 100}" for m in range(1, 11) for t in range(1, 7)]
    return "movieId,tagId,relevance" + CRLF + CRLF.join(rows) + CRLF


BASE = {
    "ratings.csv": _ratings(),
    "movies.csv": _movies(),
    "links.csv": _links(),
    "tags.csv": _tags(),
    "genome-tags.csv": _genome_tags(),
    "genome-scores.csv": _genome_scores(),
}
TABLES = {
    "ratings.csv": "RAW_RATINGS",
    "movies.csv": "RAW_MOVIES",
    "links.csv": "RAW_LINKS",
    "tags.csv": "RAW_TAGS",
    "genome-tags.csv": "RAW_GENOME_TAGS",
    "genome-scores.csv": "RAW_GENOME_SCORES",
}


def records_of(text: str) -> int:
    """Data records of a well-formed CSV text, by Python's csv module (independent of the loader)."""
    return len(list(csv.reader(io.StringIO(text, newline="")))) - 1


def lines(name: str) -> list[str]:
    return BASE[name].split(CRLF)[:-1]  # header + data lines, without terminators


def join(ls: list[str], end: str = CRLF) -> bytes:
    return (end.join(ls) + end).encode()


def replace_line(name: str, k: int, new: str) -> bytes:
    ls = lines(name)
    ls[k] = new
    return join(ls)


@dataclass
class Case:
    id: str
    file: str
    make: Callable[[], bytes]
    exit: int
    records: int = 0  # data records the file holds (by the independent count)
    rejected: int = 0
    message: str = ""  # a regex the error must match (exit 4)


def n(name: str) -> int:
    return records_of(BASE[name])


R, M, L, T, GT, GS = "ratings.csv", "movies.csv", "links.csv", "tags.csv", "genome-tags.csv", "genome-scores.csv"
BIG = "x" * (10 * 1024 * 1024)

CASES = [
    # ratings: an append source, on_error = continue (the default): good rows load, bad ones are rejected
    Case("ratings-unterminated-quote", R, lambda: replace_line(R, 5, '1,5,"4.0,964982703'), 0, n(R), 1),
    Case("ratings-stray-quote", R, lambda: replace_line(R, 5, '1,5,4"0,964982703'), 0, n(R), 1),
    Case("ratings-text-after-closing-quote", R, lambda: replace_line(R, 5, '1,5,"4.0"x,964982703'), 0, n(R), 1),
    Case("ratings-extra-column", R, lambda: replace_line(R, 3, "1,3,4.0,964982703,9"), 0, n(R), 1),
    Case("ratings-missing-column", R, lambda: replace_line(R, 3, "1,3,4.0"), 0, n(R), 1),
    Case("ratings-hex-integer", R, lambda: replace_line(R, 2, "1,0x10,4.0,964982703"), 0, n(R), 1),
    Case("ratings-underscore-integer", R, lambda: replace_line(R, 2, "1,1_0,4.0,964982703"), 0, n(R), 1),
    Case("ratings-space-around-integer", R, lambda: replace_line(R, 2, " 1,2,4.0,964982703"), 0, n(R), 1),
    Case("ratings-plus-sign-is-fine", R, lambda: replace_line(R, 2, "+1,2,4.0,964982703"), 0, n(R), 0),
    Case("ratings-float-exponent-is-fine", R, lambda: replace_line(R, 2, "1,2,4e0,964982703"), 0, n(R), 0),
    Case("ratings-nan-rating", R, lambda: replace_line(R, 2, "1,2,nan,964982703"), 0, n(R), 1),
    Case("ratings-rating-out-of-range", R, lambda: replace_line(R, 2, "1,2,7.5,964982703"), 0, n(R), 1),
    Case("ratings-negative-timestamp", R, lambda: replace_line(R, 2, "1,2,3.0,-5"), 0, n(R), 1),
    Case("ratings-integer-overflow", R, lambda: replace_line(R, 2, "99999999999999999999,2,3.0,964982703"), 0, n(R), 1),
    Case("ratings-empty-id", R, lambda: replace_line(R, 2, ",2,3.0,964982703"), 0, n(R), 1),
    Case("ratings-blank-line", R, lambda: join([*lines(R)[:4], "", *lines(R)[4:]]), 0, n(R) + 1, 1),
    Case("ratings-repeated-header", R, lambda: join([*lines(R)[:10], lines(R)[0], *lines(R)[10:]]), 0, n(R) + 1, 1),
    Case("ratings-nul-byte", R, lambda: replace_line(R, 4, "1,4,\x004.0,964982703"), 0, n(R), 1),
    Case("ratings-truncated-last-line", R, lambda: join(lines(R))[:-6], 0, n(R), 1),
    Case("ratings-duplicate-keys-in-one-file", R, lambda: join([*lines(R), lines(R)[1], lines(R)[2]]), 0, n(R) + 2, 0),
    Case(
        "ratings-mixed-crlf-and-lf",
        R,
        lambda: b"".join(ln.encode() + (b"\n" if i % 2 else b"\r\n") for i, ln in enumerate(lines(R))),
        0,
        n(R),
        0,
    ),
    Case("ratings-bom", R, lambda: b"\xef\xbb\xbf" + BASE[R].encode(), 0, n(R), 0),
    Case("ratings-header-only", R, lambda: join(lines(R)[:1]), 0, 0, 0),
    Case("ratings-quoted-newline-in-a-number", R, lambda: replace_line(R, 6, '1,6,"4.0\r\n",964982703'), 0, n(R), 1),
    Case("ratings-10mb-field", R, lambda: replace_line(R, 7, f"1,7,{BIG},964982703"), 0, n(R), 1),
    Case(
        "ratings-half-the-lines-bad",
        R,
        lambda: join([lines(R)[0], *[ln if i % 2 else ln + ",x" for i, ln in enumerate(lines(R)[1:])]]),
        0,
        n(R),
        (n(R) + 1) // 2,
    ),
    Case("ratings-cr-only", R, lambda: join(lines(R), "\r"), 4, message=r"ratings\.csv: has CR-only line endings"),
    Case(
        "ratings-latin-1",
        R,
        lambda: replace_line(R, 3, "1,3,4.0,964982703").replace(b"1,3,4.0", b"1,3,4.0\xe9", 1),
        4,
        message=r"ratings\.csv: line 4 is not UTF-8",
    ),
    Case("ratings-gzip-named-csv", R, lambda: gzip.compress(BASE[R].encode()), 4, message=r"ratings\.csv: is gzip"),
    Case(
        "ratings-reordered-header",
        R,
        lambda: replace_line(R, 0, "movieId,userId,rating,timestamp"),
        4,
        message=r"ratings\.csv: wrong header 'movieId,userId,rating,timestamp'",
    ),
    Case(
        "ratings-recased-header",
        R,
        lambda: replace_line(R, 0, "userid,movieid,rating,timestamp"),
        4,
        message=r"ratings\.csv: wrong header",
    ),
    # full extracts: on_error = abort_statement (the default), so one reject refuses the file
    Case(
        "tags-unterminated-quote",
        T,
        lambda: replace_line(T, 7, '2,60756,"funny,1445714994'),
        4,
        n(T),
        1,
        r"tags\.csv: 1 of \d+ records rejected \(first: line 8, unterminated quoted field 3",
    ),
    Case("tags-stray-quote", T, lambda: replace_line(T, 3, '2,3,fun"ny,1445714994'), 4, n(T), 1, r"line 4, stray"),
    Case("tags-text-after-quote", T, lambda: replace_line(T, 3, '2,3,"fun"ny,1445714994'), 4, n(T), 1, "line 4"),
    Case(
        "tags-unterminated-quote-on-the-last-line",
        T,
        lambda: join([*lines(T), '3,9,"open,1445714994']),
        4,
        n(T) + 1,
        1,
        r"line 42, unterminated",
    ),
    Case("tags-extra-column", T, lambda: replace_line(T, 3, "2,3,a,b,1445714994"), 4, n(T), 1, "expected 4 fields"),
    Case(
        "tags-ambiguous-quote-refuses-the-file",
        T,
        lambda: join([lines(T)[0], '2,3,"open,1445714994', *lines(T)[1:4], 'close",1445714994', *lines(T)[4:]]),
        4,
        message=r"tags\.csv: line 2 opens a quoted field that closes only at line 6, but line 3 in between is a "
        r"record by itself",
    ),
    Case(
        "tags-two-broken-quotes-reject-two-lines",
        T,
        lambda: join([*lines(T)[:3], '2,3,"open,1445714994', *lines(T)[3:6], 'close",1445714994', *lines(T)[6:]]),
        4,
        n(T) + 2,
        2,
        r"first: line 4, unterminated quoted field 3",
    ),
    Case("tags-embedded-newline", T, lambda: replace_line(T, 2, '2,2,"two\nlines",1445714994'), 0, n(T), 0),
    Case("tags-doubled-quotes", T, lambda: replace_line(T, 2, '2,2,"say ""hi"", ok",1445714994'), 0, n(T), 0),
    Case("tags-nul-byte", T, lambda: replace_line(T, 2, "2,2,a\x00b,1445714994"), 4, n(T), 1, "NUL byte"),
    Case(
        "movies-unparseable-ids",
        M,
        lambda: join([lines(M)[0], *[("x" + ln if i < 10 else ln) for i, ln in enumerate(lines(M)[1:])]]),
        4,
        n(M),
        10,
        r"movies\.csv: 10 of 60 records rejected .*on_error = abort_statement.*--skip-batch",
    ),
    Case(
        "movies-unterminated-quote-in-title",
        M,
        lambda: replace_line(M, 7, '7,"Movie 7, The (1957),Drama'),
        4,
        n(M),
        1,
        "line 8, unterminated",
    ),
    Case(
        "movies-truncated-file",
        M,
        lambda: join(lines(M)[:30])[:-5],
        4,
        29,
        1,
        r"last line has no line terminator \(truncated file\?\)",
    ),
    Case(
        "movies-mass-deletion",
        M,
        lambda: join(lines(M)[:40]),
        4,
        message=r"movies\.csv: this full extract of RAW_MOVIES has 39 keys \(movieId\), the previous one \d+ .*"
        r"max_delete_fraction = 0\.05",
    ),
    Case("movies-duplicate-key", M, lambda: join([*lines(M), lines(M)[5]]), 0, n(M) + 1, 0),
    Case("links-empty-tmdb-id-is-fine", L, lambda: replace_line(L, 2, "2,0000002,"), 0, n(L), 0),
    Case("links-extra-column", L, lambda: replace_line(L, 2, "2,0000002,1002,9"), 4, n(L), 1, "expected 3 fields"),
    Case(
        "genome-scores-out-of-range", GS, lambda: replace_line(GS, 2, "1,2,1.5"), 4, n(GS), 1, "relevance out of range"
    ),
    Case("genome-scores-stray-quote", GS, lambda: replace_line(GS, 2, '1,2,0."5'), 4, n(GS), 1, "stray quote"),
    Case("genome-tags-unterminated-quote", GT, lambda: replace_line(GT, 2, '2,"genome2'), 4, n(GT), 1, "unterminated"),
    Case("zero-byte-file", L, lambda: b"", 4, message=r"links\.csv: file is empty \(0 bytes\)"),
]


def land(landing, folder: Path, name: str) -> int:
    """Land one file as the next batch, as `extract` would; a 0-byte file (which extract refuses to
    land) is put there by hand, as another system writing the landing zone might."""
    from datetime import UTC, datetime

    from netflix_elt.ingest.landing.manifest import BatchManifest, FileEntry, file_digest

    if (folder / name).stat().st_size:
        return landing.write_batch(folder, [name]).batch
    k = landing.next_batch()
    rows, size, sha = file_digest(folder / name)
    entries = [FileEntry(name=name, rows=rows, bytes=size, sha256=sha)]
    landing._put_batch(k, folder, entries)
    landing._write_manifest(
        BatchManifest(batch=k, created_at=datetime.now(UTC), source="test", files=entries, url=landing.batch_url(k))
    )
    return k


def _cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, [*args, "--project-dir", str(PROJECT_DIR)])
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory):
    """A warehouse built from good batch 1, shared by the cases (each adds its own batches)."""
    import os

    from netflix_elt.ingest.landing import Landing

    root = tmp_path_factory.mktemp("corpus")
    old = {k: os.environ.get(k) for k in ("NETFLIX_ELT_HOME", "NETFLIX_ELT_TARGET_PATH")}
    os.environ["NETFLIX_ELT_HOME"] = str(root / "home")
    os.environ["NETFLIX_ELT_TARGET_PATH"] = str(root / "target")
    good = root / "good"
    good.mkdir()
    for name, text in BASE.items():
        (good / name).write_bytes(text.encode())
    landing = Landing.from_url(str(root / "landing"))
    landing.write_batch(good, list(BASE))
    code, out = _cli("build", "--from", str(root / "landing"))
    assert code == 0, out
    try:
        yield root, landing
    finally:
        global _WS
        _WS = None
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _rows(sql: str) -> list[tuple]:
    from netflix_elt.api import Workspace

    global _WS
    if _WS is None:  # the CLI commands of this process share the engine's session on the warehouse
        _WS = Workspace.from_options(PROJECT_DIR)
    return sorted((tuple(r) for r in _WS.session.sql(sql).collect()), key=repr)


_WS = None


def _fingerprint(before_load: int) -> dict[str, list[tuple]]:
    """Every RAW row of loads up to `before_load`, and every DEV table."""
    out = {t: _rows(f"SELECT * FROM MOVIELENS.RAW.{t} WHERE _LOAD_ID <= {before_load}") for t in TABLES.values()}
    for (name,) in _rows(
        "SELECT TABLE_NAME FROM MOVIELENS.INFORMATION_SCHEMA.TABLES "
        "WHERE TABLE_SCHEMA = 'DEV' AND TABLE_TYPE = 'BASE TABLE'"
    ):
        out[f"DEV.{name}"] = _rows(f"SELECT * FROM MOVIELENS.DEV.{name}")
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_file(warehouse, case: Case, tmp_path: Path) -> None:
    root, landing = warehouse
    first = landing.next_batch()
    try:
        _check(root, landing, case, tmp_path)
    finally:  # a failed case must not leave its batches pending for the cases after it
        done = {b for (b,) in _rows("SELECT DISTINCT BATCH FROM MOVIELENS.RAW.LOAD_HISTORY")}
        pending = [str(k) for k in range(first, landing.next_batch()) if f"batch={k:04d}" not in done]
        if pending:
            _cli("load", "--from", str(root / "landing"), *[a for k in pending for a in ("--skip-batch", k)])


def _check(root: Path, landing, case: Case, tmp_path: Path) -> None:
    url = str(root / "landing")
    last_load = _rows("SELECT COALESCE(MAX(LOAD_ID), 0) FROM MOVIELENS.RAW.LOAD_HISTORY")[0][0]
    before = _fingerprint(last_load)
    bad = tmp_path / "bad"
    bad.mkdir()
    data = case.make()
    (bad / case.file).write_bytes(data)
    batch = land(landing, bad, case.file)

    # a refused file must leave everything as it was even under `build`; a loadable one is loaded
    code, out = _cli("build" if case.exit else "load", "--from", url)
    assert code == case.exit, out
    flat = " ".join(out.split())
    if case.exit:
        assert case.message and re.search(case.message, flat), flat
        if case.rejected:
            assert f"{case.rejected} of {case.records} records rejected" in flat, flat
        assert _fingerprint(last_load) == before
        assert _rows(f"SELECT COUNT(*) FROM MOVIELENS.RAW.LOAD_HISTORY WHERE LOAD_ID > {last_load}") == [(0,)]
    else:
        table = TABLES[case.file]
        history = _rows(
            "SELECT LOAD_ID, ROWS_PARSED, ROWS_LOADED, ROWS_REJECTED, STATUS FROM MOVIELENS.RAW.LOAD_HISTORY "
            f"WHERE LOAD_ID > {last_load} AND SOURCE_TABLE = '{table}'"
        )
        assert len(history) == 1, history
        load_id, parsed, loaded, rejected, status = history[0]
        assert (parsed, loaded + rejected, rejected, status) == (case.records, case.records, case.rejected, "LOADED")
        assert _rows(f"SELECT COUNT(*) FROM MOVIELENS.RAW.{table} WHERE _LOAD_ID = {load_id}") == [(loaded,)]
        rejects = _rows(
            f"SELECT LINE_NUMBER, RAW_LINE, REASON FROM MOVIELENS.RAW.LOAD_REJECTS WHERE _LOAD_ID = {load_id}"
        )
        assert len(rejects) == rejected
        physical = data.decode("utf-8-sig").split("\n")
        for line, raw, reason in rejects:
            assert reason, (line, raw)
            exact = "\n".join(physical[line - 1 : line + raw.count("\n")]).removesuffix("\r")
            if len(exact) > 65536:
                assert raw == exact[:65536] and "cut to its first 65,536" in reason
            else:
                assert raw == exact
        assert _fingerprint(last_load) == before

    # the way on: skip the refused batch, and a later good batch loads
    if case.exit:
        code, out = _cli("load", "--from", url, "--skip-batch", str(batch))
        assert code == 0, out
        hist = _rows(f"SELECT STATUS, MESSAGE, FILE FROM MOVIELENS.RAW.LOAD_HISTORY WHERE LOAD_ID > {last_load}")
        assert [h[:2] for h in hist] == [("SKIPPED", f"skipped by the user (--skip-batch {batch})")], (hist, out)
    good = tmp_path / "good"
    good.mkdir()
    extra = {
        R: f"9{batch:03d},1,3.0,964982703",
        M: f"9{batch:03d},Case {batch} (2000),Drama",
        L: f"9{batch:03d},{batch:07d},1",
        T: f"1,1,case{batch},964982703",
        GT: f"9{batch:03d},case{batch}",
        GS: f"1,9{batch:03d},0.5",
    }[case.file]
    (good / case.file).write_bytes(join([*lines(case.file), extra]))
    landing.write_batch(good, [case.file])
    code, out = _cli("load", "--from", url)
    assert code == 0, out
    loaded = _rows(
        f"SELECT ROWS_LOADED, STATUS FROM MOVIELENS.RAW.LOAD_HISTORY WHERE LOAD_ID > {last_load} AND STATUS = 'LOADED' "
        f"AND BATCH = 'batch={batch + 1:04d}'"
    )
    assert loaded == [(n(case.file) + 1, "LOADED")]


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40
