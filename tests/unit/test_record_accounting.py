"""Random quotes, commas and line breaks put into real GroupLens lines: no good line is ever lost.

The invariant: a file is either refused (naming itself and a line) or every line that the
mutation did not touch is loaded as its own record with its original values, and loaded +
rejected = the records of the file. Touched lines may be rejected or join each other; they can
never take an untouched line down with them.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netflix_elt.config import load_settings
from netflix_elt.errors import LoadError
from netflix_elt.ingest.parse import parse_csv
from tests.conftest import FIXTURE_DIR, PROJECT_DIR

SOURCES = {"tags.csv": "raw_tags", "movies.csv": "raw_movies", "ratings.csv": "raw_ratings"}
INSERTS = ['"', ",", "\n", "\r\n", '""', '"\n']


def _original(name: str) -> list[str]:
    path = FIXTURE_DIR / name
    if not path.is_file():
        pytest.skip(f"MovieLens fixture folder {FIXTURE_DIR} is absent (see ../shared/data/movielens/SOURCES.md)")
    return [ln.removesuffix("\r") for ln in path.read_text(encoding="utf-8").split("\n")[:300]]  # header + 299


mutation = st.tuples(st.integers(1, 298), st.integers(0, 60), st.sampled_from(INSERTS))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(SOURCES)), mutations=st.lists(mutation, min_size=1, max_size=5))
def test_untouched_lines_always_load_or_the_file_is_refused(tmp_path: Path, name: str, mutations) -> None:
    lines = _original(name)
    touched: dict[int, str] = {}
    for i, pos, text in mutations:
        line = touched.get(i, lines[i])
        pos = min(pos, len(line))
        touched[i] = line[:pos] + text + line[pos:]
    physical: list[int | None] = []  # original line index of each physical line, None if touched
    out = []
    for i, line in enumerate(lines[:-1] if lines[-1] == "" else lines):
        pieces = touched.get(i, line).split("\n")
        out.extend(pieces)
        physical.extend([None] * len(pieces) if i in touched else [i])
    path = tmp_path / name
    path.write_bytes(("\r\n".join(p.removesuffix("\r") for p in out) + "\r\n").encode())
    source = load_settings(PROJECT_DIR).config.sources[SOURCES[name]]
    try:
        parsed = parse_csv(
            path,
            source,
            load_id=1,
            loaded_at=datetime(2026, 1, 1),
            source_file=str(path),
            source_name="t",
            work_dir=tmp_path / "w",
        )
    except LoadError as e:
        assert str(path) in str(e) and "line" in str(e)
        return
    import duckdb

    loaded = {
        int(r[-1]) + 1: r[:-1]  # _SOURCE_ROW + 1 = physical line number of the record's first line
        for r in duckdb.sql(
            f"SELECT *, _SOURCE_ROW FROM '{parsed.parquet}'"  # the file's columns and _SOURCE_ROW, then the row again
        ).fetchall()
    }
    rejected = (
        {r[0] for r in duckdb.sql(f"SELECT LINE_NUMBER FROM '{parsed.rejects_parquet}'").fetchall()}
        if parsed.rejects_parquet
        else set()
    )
    assert parsed.rows_loaded == len(loaded) and parsed.rows_rejected == len(rejected)
    assert parsed.rows_loaded + parsed.rows_rejected == parsed.rows_in_file
    assert not set(loaded) & rejected
    types = list(source.columns.values())
    for number, origin in enumerate(physical[1:], start=2):
        if origin is None:
            continue
        assert number not in rejected, f"untouched line {number} was rejected"
        assert number in loaded, f"untouched line {number} vanished"
        want = next(csv.reader(io.StringIO(lines[origin])))
        got = [str(v) if t == "VARCHAR" else v for v, t in zip(loaded[number][: len(types)], types, strict=True)]
        conv = {"INTEGER": int, "FLOAT": float, "VARCHAR": str}
        assert got == [conv[t](v) if v != "" else None for v, t in zip(want, types, strict=True)]
    # touched lines end up in a record each: loaded, rejected, or inside a multi-line record
    firsts = set(loaded) | rejected
    assert all(n in firsts for n, o in enumerate(physical[1:], start=2) if o is not None)
