"""Split a large landed CSV file into parts of one batch, at record boundaries the loader agrees on.

Why: Snowflake loads one file with one thread ("the number of load operations that run in parallel
can't exceed the number of data files"), so `extract --split-size` cuts a big file into parts that
the loaders read as one logical file (`FileEntry.parts`). Each part starts with the file's header
line (byte for byte) and holds a run of whole records. A record is what `records.split_records`
says it is: in a file without quotes every line; in one with quotes a quoted field may span lines,
and a cut is made only where a record starts. Where the loader would refuse the file (a quote it
cannot place, bytes that are not UTF-8) the file is not split: it lands whole and the loader names
the line, as it would without splitting. A part holds at most `limit` bytes, header included,
unless a single record is larger than that (then that record is a part of its own).
"""

from __future__ import annotations

from pathlib import Path

from netflix_elt.errors import IngestError, LoadError
from netflix_elt.ingest.landing.files import _BLOCK
from netflix_elt.ingest.landing.manifest import MAX_PARTS, FilePart, file_digest, part_name

__all__ = ["DEFAULT_SPLIT_SIZE", "parse_size", "split_file"]

# uncompressed bytes per part on S3: ~100 MB gzip-compressed at the ~4:1 of these numeric CSVs (an
# estimate), the low end of Snowflake's advised 100-250 MB compressed per file
DEFAULT_SPLIT_SIZE = 400_000_000

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def parse_size(text: str | int) -> int:
    """Bytes from ``100MB``, ``512KiB``, ``250000`` or ``0`` (0: do not split); ValueError otherwise."""
    if isinstance(text, int):
        value, unit = text, ""
    else:
        s = text.strip().upper().replace(" ", "")
        digits = s.rstrip("KMGIB")
        unit = s[len(digits) :]
        if not digits.isdigit() or unit not in _UNITS:
            raise ValueError(f"{text!r} is not a size: use bytes or a number with KB, MB, GB (or KiB, MiB, GiB)")
        value = int(digits)
    if value < 0:
        raise ValueError(f"{text!r}: a size cannot be negative")
    return value * _UNITS[unit]


def _record_starts(path: Path) -> set[int] | None:
    """0-based indexes of the body lines (after the header) that start a record, for a file with
    quotes; None when every line is a record. LoadError when the loader would refuse the file."""
    with path.open("rb") as fh:
        quoted = any(b'"' in block for block in iter(lambda: fh.read(_BLOCK), b""))
    if not quoted:
        return None
    from netflix_elt.ingest.records import decode, split_records

    text = decode(path.name, path.read_bytes())
    ncols = len(text.split("\n", 1)[0].split(","))
    split = split_records(path.name, text, ncols)
    return set(split.plain) | {r.line - 2 for r in split.special}


def split_file(path: Path, limit: int, dest: Path) -> list[tuple[FilePart, Path]] | None:
    """The parts of ``path`` written to ``dest`` with their manifest entries, or None when it stays whole.

    Whole: ``limit`` is 0, the file fits in ``limit`` bytes, it is not a CSV file, it has fewer than two
    records, or its record boundaries cannot be told (see the module docstring).
    """
    size = path.stat().st_size
    if limit <= 0 or size <= limit or path.suffix != ".csv":
        return None
    try:
        starts = _record_starts(path)
    except LoadError:
        return None
    dest.mkdir(parents=True, exist_ok=True)
    cuts: list[Path] = []
    with path.open("rb") as fh:
        header = fh.readline()
        budget = max(limit - len(header), 1)
        out, used, records = None, 0, 0
        for i, line in enumerate(fh):
            starts_record = starts is None or i in starts
            if out is None or (starts_record and records and used + len(line) > budget):
                if out is not None:
                    out.close()
                if len(cuts) == MAX_PARTS:
                    raise IngestError(f"{path}: more than {MAX_PARTS} parts of {limit:,} bytes; split less finely")
                cuts.append(dest / part_name(path.name, len(cuts) + 1))
                out = cuts[-1].open("wb")
                out.write(header)
                used, records = 0, 0
            out.write(line)
            used += len(line)
            records += starts_record
        if out is not None:
            out.close()
    if len(cuts) < 2:
        for p in cuts:
            p.unlink()
        return None
    parts = []
    for p in cuts:
        rows, nbytes, sha = file_digest(p)
        parts.append((FilePart(name=p.name, rows=rows, bytes=nbytes, sha256=sha), p))
    return parts
