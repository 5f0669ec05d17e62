"""A batch's manifest: the FileEntry/BatchManifest models, entry-name checks and file digests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from netflix_elt.errors import IngestError
from netflix_elt.ingest.landing.files import _BLOCK

MANIFEST = "manifest.json"
CLAIM = "_claim.json"  # S3: who is writing a batch that has no manifest yet
# The GroupLens files a landing zone may hold (README.txt carries the licence); extract lands no other.
DECLARED_FILES = frozenset(
    {"ratings.csv", "tags.csv", "movies.csv", "links.csv", "genome-scores.csv", "genome-tags.csv", "README.txt"}
)
_BATCH_RE = re.compile(r"^batch=(\d{4,})$")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_PART_RE = re.compile(r"^(?P<stem>.+)\.part-(?P<n>\d{4})(?P<ext>\.[A-Za-z0-9]+)$")
MAX_PARTS = 9999  # part numbers are four digits


class FilePart(BaseModel):
    """One part of a split file, as landed: its own header line, then a run of the file's records."""

    name: str
    rows: int = Field(ge=0)
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class FileEntry(BaseModel):
    """One landed file: data rows exclude the header line.

    A split file (``extract --split-size``) is one logical entry whose ``parts`` are the objects
    landed (``ratings.part-0001.csv``, ...); its rows, bytes and sha256 are then the whole file's,
    as extracted, and only the parts exist in the landing zone.
    """

    name: str
    rows: int = Field(ge=0)
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    parts: list[FilePart] = Field(default_factory=list)

    def objects(self) -> list[FilePart | FileEntry]:
        """What is landed for this entry: its parts, or the file itself when it is not split."""
        return list(self.parts) if self.parts else [self]


class BatchManifest(BaseModel):
    """What a batch holds; the loader trusts only files listed here."""

    batch: int
    created_at: datetime
    source: str
    files: list[FileEntry]
    url: str

    def file(self, name: str) -> FileEntry | None:
        """The entry for ``name``, or None when the batch does not hold that file."""
        return next((f for f in self.files if f.name == name), None)

    def objects(self) -> list[FilePart | FileEntry]:
        """Every landed object of the batch (a split file's parts in order), without the manifest."""
        return [o for f in self.files for o in f.objects()]

    def dump(self) -> str:
        """The manifest's JSON; ``parts`` only where a file is split, so unsplit manifests read as before."""
        return self.model_dump_json(indent=2, exclude_defaults=True) + "\n"


def part_name(name: str, n: int) -> str:
    """The name of part ``n`` (1-based) of a split file: ``ratings.csv`` -> ``ratings.part-0001.csv``."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not 1 <= n <= MAX_PARTS:
        raise IngestError(f"cannot name part {n} of {name!r}: parts are numbered 1..{MAX_PARTS} of a name.ext")
    return f"{stem}.part-{n:04d}.{ext}"


def part_of(name: str) -> tuple[str, int] | None:
    """(the split file, the part number) a part name stands for, or None when it is no part name."""
    m = _PART_RE.match(name)
    return (m["stem"] + m["ext"], int(m["n"])) if m else None


def file_digest(path: Path) -> tuple[int, int, str]:
    """(data records, bytes, sha256) in one streaming pass.

    Records are lines after the header, except in a file with quotes, where a quoted field may
    span lines: there they are counted as the loader will split them (`records.py`), so `load`
    can compare its count with the manifest's.
    """
    h = hashlib.sha256()
    size = newlines = 0
    last = b""
    quoted = False
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            h.update(block)
            size += len(block)
            newlines += block.count(b"\n")
            quoted = quoted or b'"' in block
            last = block[-1:]
    lines = newlines + (1 if size and last != b"\n" else 0)
    rows = max(0, lines - 1)
    if quoted and path.suffix == ".csv":
        from netflix_elt.errors import LoadError
        from netflix_elt.ingest.records import decode, split_records

        try:
            text = decode(path.name, path.read_bytes())
            ncols = len(text.split("\n", 1)[0].split(","))
            rows = split_records(path.name, text, ncols).records
        except LoadError:
            pass  # the loader refuses such a file, naming the line; the manifest keeps the line count
    return rows, size, h.hexdigest()


def _batch_dir(n: int) -> str:
    return f"batch={n:04d}"


def check_entry_name(name: str, declared: Iterable[str], where: str, *, part: bool = False) -> str:
    """Refuse a landed file name that is not a plain, declared one (with ``part``: a part of one).

    Why: a manifest is written by whoever can write the landing zone; a name with a separator,
    ``..`` or an absolute path would make the loader write, delete or stat files elsewhere. A part
    name must map to a declared file and a part number 1..9999, and only a split entry lists parts.
    """
    declared = frozenset(declared)
    if not isinstance(name, str) or not _PLAIN_NAME.match(name) or name in (MANIFEST, CLAIM):
        raise IngestError(
            f"{where}: entry {name!r} is not a plain file name (letters, digits, '.', '_', '-'; "
            "no separators, no '..', not absolute); the batch is refused"
        )
    of = part_of(name) if part else None
    if (name not in declared or part) and (of is None or of[0] not in declared or of[1] == 0):
        what = "a part (<name>.part-NNNN.<ext>) of a file" if part else "a file"
        raise IngestError(
            f"{where}: entry {name!r} is not {what} this project lands ({', '.join(sorted(declared))}); "
            "the batch is refused"
        )
    return name


def check_parts(entry: FileEntry, where: str) -> None:
    """A split entry's parts are exactly its part names 1..N, in order, whose rows add up to the file's.

    Why: a manifest names the parts the loader reads as one file; a gap, a duplicate, a part of another
    file or a row count that does not add up would load something other than what was extracted.
    """
    if not entry.parts:
        return
    names = [p.name for p in entry.parts]
    expected = [part_name(entry.name, i) for i in range(1, len(names) + 1)]
    if names != expected:
        raise IngestError(
            f"{where}: the parts of {entry.name} are {', '.join(names)}; expected {', '.join(expected)} "
            "(numbered from 1, in order); the batch is refused"
        )
    if sum(p.rows for p in entry.parts) != entry.rows:
        raise IngestError(
            f"{where}: the parts of {entry.name} hold {sum(p.rows for p in entry.parts):,} data rows, the "
            f"entry says {entry.rows:,}; the batch is refused"
        )
