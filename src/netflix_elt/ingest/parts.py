"""A split file's parts as one logical file in the local loader: one load id, counts and keys over all parts.

Why one load id for all parts: staging reads a full extract as the rows of its latest `_LOAD_ID`
(`transforms/_latest.py`), and snapshots read staging, so the parts must share one, or the
latest extract would be its last part. Each part keeps its own LOAD_HISTORY row (its name,
checksum and counts), its own `_SOURCE_FILE` and `_SOURCE_ROW`, and its rejects their line in the part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netflix_elt.config import SourceSection
from netflix_elt.ingest.parse import ParsedFile


@dataclass
class Part:
    """One landed object of a logical file: the file itself, or one part of a split file."""

    name: str  # the object's name in the batch
    path: Path
    uri: str  # what LOAD_HISTORY.FILE, _SOURCE_FILE and LOAD_REJECTS.SOURCE_FILE say
    digest: str


def first_reject(parsed: list[tuple[Part, ParsedFile]]) -> tuple[str, int, str] | None:
    """(part name, line in the part, reason) of the first rejected record, in part order."""
    for part, p in parsed:
        if p.first_reject is not None:
            return part.name, *p.first_reject
    return None


def distinct_keys(source: SourceSection, parsed: list[ParsedFile]) -> int:
    """Distinct keys among the loaded rows of all parts (their rows when the source has no key).

    Why not the sum of the parts' counts: a key may appear in two parts, and the deletion guard
    compares a full extract's distinct keys with the previous extract's.
    """
    if len(parsed) == 1:
        return parsed[0].keys
    files = [p.parquet for p in parsed if p.parquet is not None and p.rows_loaded]
    if not source.key or not files:
        return sum(p.rows_loaded for p in parsed)
    import duckdb

    from netflix_elt.sql import duckdb_string

    key = ", ".join(f'"{c.upper()}"' for c in source.key)
    paths = ", ".join(duckdb_string(str(f)) for f in files)
    con = duckdb.connect()
    try:
        sql = f"SELECT COUNT(*) FROM (SELECT DISTINCT {key} FROM read_parquet([{paths}]))"
        return int(con.execute(sql).fetchall()[0][0])
    finally:
        con.close()
