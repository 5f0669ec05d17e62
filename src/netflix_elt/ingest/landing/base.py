"""The landing zone interface (``Landing``) and the checks on a landing URL."""

from __future__ import annotations

import contextlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from pydantic import ValidationError

from netflix_elt import tempfiles
from netflix_elt.errors import IngestError
from netflix_elt.ingest.landing.files import open_regular
from netflix_elt.ingest.landing.manifest import (
    DECLARED_FILES,
    MANIFEST,
    BatchManifest,
    FileEntry,
    _batch_dir,
    check_entry_name,
    check_parts,
    file_digest,
    part_of,
)

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._=+-]{0,254}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_landing_url(url: str) -> str:
    """The URL stripped, or IngestError when it holds something we would not use faithfully.

    Why: ``urlparse`` silently drops a query string or fragment, so ``s3://b/p#prod`` would land
    in ``s3://b/p`` while the output shows the original; refusing keeps printed == used.
    """
    if not url or not str(url).strip():
        raise IngestError("landing URL is empty: use a folder, file:///abs/path or s3://bucket/prefix")
    url = str(url).strip()
    if _CONTROL.search(url):
        raise IngestError(f"landing URL {url!r} contains a control character")
    if url.startswith(("s3://", "file://")):
        for ch, what in (("?", "a query string"), ("#", "a fragment")):
            if ch in url:
                raise IngestError(f"landing URL {url} has {what} ({ch!r}), which would be ignored; refused")
    if url.startswith("s3://"):
        bucket, _, prefix = url[5:].partition("/")
        if not bucket:
            raise IngestError(f"landing URL {url} has no bucket: use s3://bucket/prefix")
        if not _BUCKET_RE.match(bucket) or ".." in bucket:
            raise IngestError(
                f"landing URL {url}: bucket {bucket!r} is not a valid S3 bucket name "
                "(3-63 lower-case letters, digits, '.' and '-')"
            )
        prefix = prefix.rstrip("/")
        for segment in prefix.split("/") if prefix else ():
            if not _PREFIX_SEGMENT.match(segment) or segment in (".", ".."):
                raise IngestError(
                    f"landing URL {url}: prefix segment {segment!r} has characters other than letters, "
                    "digits, '.', '_', '=', '+' and '-' (or is empty, '.' or '..'); refused"
                )
    return url


class Landing(ABC):
    """A landing zone; create with :meth:`from_url`."""

    url: str
    declared: frozenset[str] = DECLARED_FILES
    # `extract`'s split size when none is given: a local folder feeds the embedded engine's own
    # parse, where parts only add a Parquet file and a COPY each (S3Landing splits)
    default_split_size: int = 0

    @staticmethod
    def from_url(url: str, declared: Iterable[str] | None = None) -> Landing:
        """``s3://bucket/prefix`` -> S3Landing; ``file:///abs/path`` or a plain path -> LocalLanding.

        ``declared``: the file names a batch may hold (default: the GroupLens files and README.txt).
        """
        url = check_landing_url(url)
        landing: Landing
        from netflix_elt.ingest.landing.local import LocalLanding
        from netflix_elt.ingest.landing.s3 import S3Landing

        if url.startswith("s3://"):
            bucket, _, prefix = url[5:].partition("/")
            landing = S3Landing(bucket, prefix.strip("/"))
        elif url.startswith("file://"):
            parsed = urlparse(url)
            if parsed.netloc not in ("", "localhost"):
                raise IngestError(f"landing URL {url}: file URLs must be absolute, file:///abs/path")
            landing = LocalLanding(Path(unquote(parsed.path)))
        elif re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url):
            raise IngestError(f"landing URL {url}: unsupported scheme; use a folder, file:// or s3://")
        else:
            landing = LocalLanding(Path(url).expanduser())
        if declared is not None:
            landing.declared = frozenset(declared)
        return landing

    @abstractmethod
    def describe(self) -> str:
        """Human-readable location, without credentials."""

    @abstractmethod
    def _batch_numbers(self) -> tuple[set[int], set[int]]:
        """(complete batch numbers, all batch numbers seen) without validating manifests."""

    @abstractmethod
    def _read_manifest(self, n: int) -> BatchManifest:
        """Parse batch n's manifest."""

    @abstractmethod
    def _put_batch(self, n: int, src_dir: Path, entries: list[FileEntry], parts_dir: Path | None = None) -> None:
        """Store batch n's objects (see :func:`objects_of`); the manifest is written after, by the caller."""

    @abstractmethod
    def fetch(self, batch: BatchManifest, dest: Path, *, skip: Collection[str] = ()) -> Path:
        """A local folder holding the batch's files (verified against the manifest).

        ``skip``: names the caller will not read (their content is loaded already): not copied.
        """

    def batch_url(self, n: int) -> str:
        """URL of batch n's folder."""
        return f"{self.url.rstrip('/')}/{_batch_dir(n)}"

    def next_batch(self) -> int:
        """The number the next :meth:`write_batch` will use (1 for an empty or missing landing)."""
        complete, _ = self._batch_numbers()
        return max(complete, default=0) + 1

    def list_batches(self) -> list[BatchManifest]:
        """Complete batches (those with a manifest), oldest first; IngestError when there are none."""
        complete, _ = self._batch_numbers()
        if not complete:
            raise IngestError(
                f"landing {self.url} holds no complete batch (no batch=NNNN/{MANIFEST}); "
                f"run `netflix-elt extract --to {self.url}` first"
            )
        return [self._read_manifest(n) for n in sorted(complete)]

    @contextlib.contextmanager
    def allocate(self, batch: int | None = None) -> Iterator[int]:
        """Reserve the next batch number for the block, so no concurrent extract can take it.

        ``batch``, when given, must be that next number (batches are loaded in order).
        """
        with self._reserve(batch) as n:
            yield n

    @abstractmethod
    def _reserve(self, batch: int | None) -> contextlib.AbstractContextManager[int]:
        """Backend-specific reservation of the next batch number."""

    def _next_checked(self, batch: int | None) -> int:
        nxt = self.next_batch()
        if batch is not None and batch != nxt:
            raise IngestError(
                f"--batch {batch} does not fit landing {self.url}: its next batch is {nxt} "
                f"(batches are numbered 1, 2, ... and loaded in order)"
            )
        return nxt

    def write_batch(
        self,
        src_dir: Path,
        files: list[str],
        *,
        source: str = "",
        number: int | None = None,
        split_size: int = 0,
    ) -> BatchManifest:
        """Copy ``files`` from ``src_dir`` as a new batch, then write its manifest (last).

        ``number`` is a batch number reserved with :meth:`allocate` by the caller; without it the
        next number is reserved here. ``split_size`` (bytes, 0: never) lands a CSV file larger than
        that as parts of at most that size (``landing/split.py``), listed under its manifest entry.
        """
        if number is None:
            with self.allocate() as n:
                return self.write_batch(src_dir, files, source=source, number=n, split_size=split_size)
        src_dir = Path(src_dir)
        if not files:
            raise IngestError(f"nothing to land from {src_dir}: the file list is empty")
        with tempfiles.work_dir("netflix-elt-parts-") as parts_dir:  # never beside the source (a cache)
            entries = [self._entry(src_dir, name, split_size, parts_dir) for name in files]
            manifest = BatchManifest(
                batch=number,
                created_at=datetime.now(UTC),
                source=source or f"files from {src_dir}",
                files=entries,
                url=self.batch_url(number),
            )
            self._put_batch(number, src_dir, entries, parts_dir)
        self._write_manifest(manifest)
        return manifest

    def _entry(self, src_dir: Path, name: str, split_size: int, parts_dir: Path) -> FileEntry:
        """The manifest entry of one file to land, split into parts in ``parts_dir`` when it is large."""
        from netflix_elt.ingest.landing.split import split_file

        check_entry_name(name, self.declared, f"cannot land {src_dir / name}")
        path = src_dir / name
        os.close(open_regular(path))  # a regular file, not a link to one
        rows, size, sha = file_digest(path)
        if size == 0:
            raise IngestError(f"cannot land {path}: the file is empty (0 bytes)")
        parts = split_file(path, split_size, parts_dir) if split_size else None
        if parts is not None and sum(p.rows for p, _ in parts) != rows:  # never land what the loader counts apart
            for _, p in parts:
                p.unlink()
            parts = None
        return FileEntry(name=name, rows=rows, bytes=size, sha256=sha, parts=[p for p, _ in parts or ()])

    def unlisted_parts(self, batch: BatchManifest, present: Iterable[str], where: str) -> None:
        """Refuse a batch holding a part (``<name>.part-NNNN.<ext>``) its manifest does not list.

        Why: a split file loads as the parts its manifest names; an extra part beside them was not
        extracted with them (or a part was renamed), so the batch is refused, not loaded without it.
        """
        listed = {o.name for o in batch.objects()}
        extra = sorted(n for n in present if part_of(n) is not None and n not in listed)
        if extra:
            raise IngestError(
                f"{where}: {', '.join(extra)} {'is a part' if len(extra) == 1 else 'are parts'} the manifest of "
                f"batch {batch.batch} does not list; the batch is refused (land it again)"
            )

    @abstractmethod
    def _write_manifest(self, manifest: BatchManifest) -> None:
        """Publish the manifest, which makes the batch visible."""

    def _parse_manifest(self, n: int, text: bytes, where: str) -> BatchManifest:
        if not text.strip():
            raise IngestError(f"manifest {where} is empty (0 bytes): batch {n} of {self.url} is unusable")
        try:
            manifest = BatchManifest.model_validate_json(text)
        except ValidationError as exc:
            raise IngestError(f"manifest {where} is invalid: {exc.errors()[0]['msg']}") from None
        if manifest.batch != n:
            raise IngestError(f"manifest {where} says batch {manifest.batch}, but lives under batch {n}")
        seen: set[str] = set()
        for entry in manifest.files:
            check_entry_name(entry.name, self.declared, f"manifest {where}")
            if entry.name in seen:
                raise IngestError(f"manifest {where}: entry {entry.name!r} is listed twice; the batch is refused")
            seen.add(entry.name)
            for part in entry.parts:
                check_entry_name(part.name, self.declared, f"manifest {where}", part=True)
            check_parts(entry, f"manifest {where}")
        return manifest


def objects_of(src_dir: Path, entries: list[FileEntry], parts_dir: Path | None) -> list[tuple[str, Path]]:
    """(object name, local file) of every object a batch lands: a split file's parts come from ``parts_dir``."""
    return [
        (o.name, (parts_dir if e.parts and parts_dir is not None else src_dir) / o.name)
        for e in entries
        for o in e.objects()
    ]
