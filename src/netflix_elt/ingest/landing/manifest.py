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


class FileEntry(BaseModel):
    """One landed file: data rows exclude the header line."""

    name: str
    rows: int = Field(ge=0)
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


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


def check_entry_name(name: str, declared: Iterable[str], where: str) -> str:
    """Refuse a landed file name that is not a plain, declared one.

    Why: a manifest is written by whoever can write the landing zone; a name with a separator,
    ``..`` or an absolute path would make the loader write, delete or stat files elsewhere.
    """
    declared = frozenset(declared)
    if not isinstance(name, str) or not _PLAIN_NAME.match(name) or name in (MANIFEST, CLAIM):
        raise IngestError(
            f"{where}: entry {name!r} is not a plain file name (letters, digits, '.', '_', '-'; "
            "no separators, no '..', not absolute); the batch is refused"
        )
    if name not in declared:
        raise IngestError(
            f"{where}: entry {name!r} is not a file this project lands ({', '.join(sorted(declared))}); "
            "the batch is refused"
        )
    return name
