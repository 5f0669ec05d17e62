"""The landing zone: immutable, numbered batches of source files, on a local folder or S3.

Layout (same on both backends)::

    <landing>/batch=0001/ratings.csv ... manifest.json
    <landing>/batch=0002/...

A batch is complete only once its ``manifest.json`` exists, and the manifest is written LAST
(atomically for local folders), so a reader never sees a half-written batch. A new batch takes
the number after the highest complete one; leftovers of an interrupted write under that number
are removed first. S3 goes through boto3 with the standard credential chain; boto3 itself honours
``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_S3`` (MinIO, moto), so no endpoint or secret is passed here.

The landing zone is written by other people and systems, so nothing in it is trusted: manifest
entries must be plain file names from the declared set (checked when the manifest is parsed,
before any byte is written), files are copied or downloaded into the caller's private folder and
verified there (size and sha256) before use, and symlinks or other non-regular files are refused.
A new batch number is allocated atomically: under a file lock on a local folder, and with
conditional writes (``If-None-Match: *``) on S3, so two concurrent extracts never share a number.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, Field, ValidationError

from netflix_elt.errors import IngestError, LockError
from netflix_elt.ingest.parse import sha256_of

__all__ = [
    "DECLARED_FILES",
    "BatchManifest",
    "FileEntry",
    "Landing",
    "LocalLanding",
    "S3Landing",
    "check_landing_url",
    "file_digest",
]

MANIFEST = "manifest.json"
CLAIM = "_claim.json"  # S3: who is writing a batch that has no manifest yet
LOCK_FILE = ".netflix-elt-extract.lock"  # local: held while a batch number is allocated and written
# The GroupLens files a landing zone may hold (README.txt carries the licence); extract lands no other.
DECLARED_FILES = frozenset(
    {"ratings.csv", "tags.csv", "movies.csv", "links.csv", "genome-scores.csv", "genome-tags.csv", "README.txt"}
)
EXTRACT_LOCK_TIMEOUT = 60.0
STALE_CLAIM_SECONDS = 24 * 3600.0  # a claim from another host older than this is abandoned
_BATCH_RE = re.compile(r"^batch=(\d{4,})$")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._=+-]{0,254}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BLOCK = 8 << 20


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


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_regular(path: Path, *, follow_symlinks: bool = False, hint: str = "") -> int:
    """A read-only descriptor on ``path`` if it is a regular file; IngestError naming it otherwise.

    Why: O_NOFOLLOW and fstat on the open descriptor, so a symlink swapped in after a check is
    still refused, and nothing about the target of a link is revealed.
    """
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise IngestError(f"{path} does not exist") from None
    if stat.S_ISLNK(st.st_mode) and not follow_symlinks:
        raise IngestError(f"{path} is a symlink, not a regular file; refused{hint}")
    if not stat.S_ISLNK(st.st_mode) and not stat.S_ISREG(st.st_mode):
        raise IngestError(f"{path} is {_kind(st.st_mode)}, not a regular file; refused")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_symlinks and exc.errno == errno.ELOOP:  # swapped for a symlink after the lstat
            raise IngestError(f"{path} is a symlink, not a regular file; refused{hint}") from None
        raise IngestError(f"cannot read {path}: {exc.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        what = "the target of symlink" if follow_symlinks else "now"
        raise IngestError(f"{path} ({what}) is {_kind(st.st_mode)}, not a regular file; refused")
    return fd


def copy_verified(src: Path, dest: Path, *, follow_symlinks: bool = False, hint: str = "") -> tuple[int, str]:
    """Copy a regular file to ``dest`` (created new, never through a link): (bytes, sha256)."""
    fd = open_regular(src, follow_symlinks=follow_symlinks, hint=hint)
    h = hashlib.sha256()
    size = 0
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "rb") as fh, os.fdopen(out, "wb") as oh:
            while block := fh.read(_BLOCK):
                h.update(block)
                oh.write(block)
                size += len(block)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return size, h.hexdigest()


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

    @staticmethod
    def from_url(url: str, declared: Iterable[str] | None = None) -> Landing:
        """``s3://bucket/prefix`` -> S3Landing; ``file:///abs/path`` or a plain path -> LocalLanding.

        ``declared``: the file names a batch may hold (default: the GroupLens files and README.txt).
        """
        url = check_landing_url(url)
        landing: Landing
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
    def _put_batch(self, n: int, src_dir: Path, entries: list[FileEntry]) -> None:
        """Store files then the manifest for batch n (manifest last)."""

    @abstractmethod
    def fetch(self, batch: BatchManifest, dest: Path) -> Path:
        """A local folder holding the batch's files (verified against the manifest)."""

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
        self, src_dir: Path, files: list[str], *, source: str = "", number: int | None = None
    ) -> BatchManifest:
        """Copy ``files`` from ``src_dir`` as a new batch, then write its manifest (last).

        ``number`` is a batch number reserved with :meth:`allocate` by the caller; without it the
        next number is reserved here.
        """
        if number is None:
            with self.allocate() as n:
                return self.write_batch(src_dir, files, source=source, number=n)
        src_dir = Path(src_dir)
        if not files:
            raise IngestError(f"nothing to land from {src_dir}: the file list is empty")
        entries = []
        for name in files:
            check_entry_name(name, self.declared, f"cannot land {src_dir / name}")
            path = src_dir / name
            os.close(open_regular(path))  # a regular file, not a link to one
            rows, size, sha = file_digest(path)
            if size == 0:
                raise IngestError(f"cannot land {path}: the file is empty (0 bytes)")
            entries.append(FileEntry(name=name, rows=rows, bytes=size, sha256=sha))
        manifest = BatchManifest(
            batch=number,
            created_at=datetime.now(UTC),
            source=source or f"files from {src_dir}",
            files=entries,
            url=self.batch_url(number),
        )
        self._put_batch(number, src_dir, entries)
        self._write_manifest(manifest)
        return manifest

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
        return manifest


class LocalLanding(Landing):
    """A folder on this machine; fetch returns the batch folder itself (no copy)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.url = self.root.as_uri()

    def describe(self) -> str:
        return f"local folder {self.root}"

    def _batch_numbers(self) -> tuple[set[int], set[int]]:
        if not self.root.exists():
            return set(), set()
        if not self.root.is_dir():
            raise IngestError(f"landing {self.url} is not a folder")
        complete, seen = set(), set()
        for child in self.root.iterdir():
            m = _BATCH_RE.match(child.name)
            if m and child.is_dir():  # a symlinked batch folder is refused when it is read
                seen.add(int(m.group(1)))
                if (child / MANIFEST).is_file():
                    complete.add(int(m.group(1)))
        return complete, seen

    @contextlib.contextmanager
    def _reserve(self, batch: int | None) -> Iterator[int]:
        """Hold ``<landing>/.netflix-elt-extract.lock`` (fcntl.flock) while the batch is written.

        Why: two extracts reading the same "next batch" would both write it; the kernel drops the
        lock when its holder dies, so a killed extract never blocks the next one.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(
                self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644
            )
        except OSError as exc:
            raise IngestError(f"cannot lock landing {self.url} ({LOCK_FILE}): {exc.strerror}") from None
        try:
            deadline = time.monotonic() + EXTRACT_LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockError(
                            f"landing {self.url} is locked by another extract ({self.root / LOCK_FILE}); "
                            f"waited {EXTRACT_LOCK_TIMEOUT:g}s"
                        ) from None
                    time.sleep(0.05)
            yield self._next_checked(batch)
        finally:
            os.close(fd)  # releases the flock

    def list_batches(self) -> list[BatchManifest]:
        if not self.root.is_dir():
            raise IngestError(f"landing folder {self.url} does not exist")
        return super().list_batches()

    def _batch_folder(self, n: int) -> Path:
        folder = self.root / _batch_dir(n)
        if folder.is_symlink():
            raise IngestError(f"{folder} is a symlink, not a folder of the landing zone; refused")
        return folder

    def _read_manifest(self, n: int) -> BatchManifest:
        path = self._batch_folder(n) / MANIFEST
        fd = open_regular(path)
        with os.fdopen(fd, "rb") as fh:
            return self._parse_manifest(n, fh.read(), str(path))

    def _put_batch(self, n: int, src_dir: Path, entries: list[FileEntry]) -> None:
        target = self._batch_folder(n)
        try:
            if target.exists():  # leftovers of an interrupted write: never complete, safe to replace
                shutil.rmtree(target)
            target.mkdir(parents=True)
            for e in entries:
                shutil.copyfile(src_dir / e.name, target / e.name)
        except OSError as exc:
            raise IngestError(f"cannot write batch {n} to {self.url}: {exc}") from exc

    def _write_manifest(self, manifest: BatchManifest) -> None:
        path = self.root / _batch_dir(manifest.batch) / MANIFEST
        tmp = path.with_name(MANIFEST + ".tmp")
        tmp.unlink(missing_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(tmp, flags, 0o644), "w", encoding="utf-8") as fh:
            fh.write(manifest.model_dump_json(indent=2) + "\n")
        os.replace(tmp, path)  # atomic: the batch appears complete or not at all

    def fetch(self, batch: BatchManifest, dest: Path | None = None, *, verify: bool = False) -> Path:
        """A verified private copy of the batch in ``dest``; without ``dest``, the batch folder itself.

        Why a copy: whoever writes the landing zone could swap a checked file for a symlink before
        the loader opens it; the copy is made through O_NOFOLLOW and verified (size, sha256) as it
        is written. Without ``dest`` sizes are checked in place, sha256 only with ``verify=True``.
        """
        folder = self._batch_folder(batch.batch)
        if dest is not None:
            dest = Path(dest)
            dest.mkdir(parents=True, exist_ok=True)
        for e in batch.files:
            path = folder / e.name
            if not os.path.lexists(path):
                raise IngestError(f"{path} listed in the manifest of batch {batch.batch} is missing")
            if dest is None:
                os.close(open_regular(path))
                size = path.stat().st_size
                if size != e.bytes:
                    raise IngestError(f"{path} has {size} bytes, the manifest says {e.bytes}")
                if verify and sha256_of(path) != e.sha256:
                    raise IngestError(f"{path} does not match the sha256 in its manifest")
                continue
            target = dest / e.name
            target.unlink(missing_ok=True)
            size, sha = copy_verified(path, target)
            if size != e.bytes or sha != e.sha256:
                target.unlink(missing_ok=True)
                if size != e.bytes:
                    raise IngestError(f"{path} has {size} bytes, the manifest says {e.bytes}")
                raise IngestError(f"{path} does not match the sha256 in its manifest")
        return folder if dest is None else dest


class S3Landing(Landing):
    """``s3://bucket/prefix`` through boto3's default credential chain and endpoint settings."""

    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.url = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            # a session of its own: boto3's default session is not thread-safe
            self._client = boto3.session.Session().client("s3")
            from netflix_elt.connections import register_secret

            creds = self._client._request_signer._credentials  # scrub them from any traceback
            if creds is not None:
                register_secret(getattr(creds, "secret_key", None), getattr(creds, "token", None))
        return self._client

    def describe(self) -> str:
        endpoint = getattr(self.client.meta, "endpoint_url", None)
        return f"S3 bucket {self.bucket!r}, prefix {self.prefix!r} (endpoint {endpoint})"

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _fail(self, exc: Exception, what: str) -> IngestError:
        from botocore.exceptions import ClientError, NoCredentialsError

        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchBucket", "404") and "bucket" in what:
                return IngestError(f"landing {self.url}: bucket {self.bucket!r} does not exist")
            if code == "NoSuchBucket":
                return IngestError(f"landing {self.url}: bucket {self.bucket!r} does not exist")
            return IngestError(f"landing {self.url}: {what} failed: {code or exc}")
        if isinstance(exc, NoCredentialsError):
            return IngestError(f"landing {self.url}: no AWS credentials found (standard chain) for {what}")
        return IngestError(f"landing {self.url}: {what} failed: {exc}")

    def _batch_numbers(self) -> tuple[set[int], set[int]]:
        from botocore.exceptions import BotoCoreError, ClientError

        complete, seen = set(), set()
        base = self._key() + "/" if self.prefix else ""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base)
            for page in pages:
                for obj in page.get("Contents", []):
                    rest = obj["Key"][len(base) :].split("/")
                    m = _BATCH_RE.match(rest[0])
                    if m and len(rest) == 2:
                        seen.add(int(m.group(1)))
                        if rest[1] == MANIFEST:
                            complete.add(int(m.group(1)))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "listing the bucket") from None
        return complete, seen

    def _read_manifest(self, n: int) -> BatchManifest:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._key(_batch_dir(n), MANIFEST)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, f"reading s3://{self.bucket}/{key}") from None
        return self._parse_manifest(n, body, f"s3://{self.bucket}/{key}")

    @staticmethod
    def _conflict(exc: Exception) -> bool:
        """A conditional write lost: 412 PreconditionFailed, or 409 ConditionalRequestConflict."""
        from botocore.exceptions import ClientError

        if not isinstance(exc, ClientError):
            return False
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = exc.response.get("Error", {}).get("Code", "")
        return status in (409, 412) or code in ("PreconditionFailed", "ConditionalRequestConflict")

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail(exc, f"reading s3://{self.bucket}/{key}") from None
        except BotoCoreError as exc:
            raise self._fail(exc, f"reading s3://{self.bucket}/{key}") from None
        return True

    @contextlib.contextmanager
    def _reserve(self, batch: int | None) -> Iterator[int]:
        """Claim the next batch with a conditional write of ``batch=N/_claim.json`` (If-None-Match: *).

        Why: S3 has no locks, but a conditional PUT succeeds for exactly one writer. The loser
        is refused (LockError, exit 3) naming the writer; a claim left by a killed extract (its
        pid is gone on this host, or it is older than a day) is taken over with If-Match on its
        ETag, which again only one taker wins. Loaders ignore claims: only a manifest makes a batch.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        token = uuid.uuid4().hex
        me = {
            "token": token,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        body = json.dumps(me).encode()
        for _ in range(5):
            n = self._next_checked(batch)
            key = self._key(_batch_dir(n), CLAIM)
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*")
            except (ClientError, BotoCoreError) as exc:
                if not self._conflict(exc):
                    raise self._fail(exc, f"claiming s3://{self.bucket}/{key}") from None
                if self._exists(self._key(_batch_dir(n), MANIFEST)):
                    continue  # completed meanwhile: the next number is free
                self._take_over(key, body, n)
            if self._exists(self._key(_batch_dir(n), MANIFEST)):  # finished and unclaimed before we came
                self._release(key, token)
                continue
            break
        else:
            raise LockError(f"landing {self.url}: could not claim a batch number (other extracts keep landing)")
        try:
            yield n
        finally:
            self._release(key, token)

    def _take_over(self, key: str, body: bytes, n: int) -> None:
        """Replace an abandoned claim (If-Match on its ETag), or refuse naming the live writer."""
        from botocore.exceptions import BotoCoreError, ClientError

        from netflix_elt.lock import pid_alive

        holder: Any = {}
        etag, age = None, 0.0
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
            etag = obj["ETag"]
            age = (datetime.now(UTC) - obj["LastModified"]).total_seconds()  # the server's clock
            holder = json.loads(obj["Body"].read() or b"{}")
        except (ClientError, BotoCoreError, ValueError, KeyError, TypeError):
            pass
        if not isinstance(holder, dict):
            holder = {}
        host, pid = str(holder.get("host", "?")), holder.get("pid")
        abandoned = (host == socket.gethostname() and isinstance(pid, int) and not pid_alive(pid)) or (
            age > STALE_CLAIM_SECONDS
        )
        who = f"pid {pid} on {host} since {holder.get('started_at', '?')}"
        if abandoned and etag is not None:
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfMatch=etag)
                return
            except (ClientError, BotoCoreError) as exc:
                if not self._conflict(exc):
                    raise self._fail(exc, f"claiming s3://{self.bucket}/{key}") from None
        raise LockError(
            f"batch {n} of landing {self.url} is being written by another extract ({who}); "
            "nothing was landed, run extract again when it has finished"
        )

    def _release(self, key: str, token: str) -> None:
        """Delete our claim (only if it is still ours)."""
        from botocore.exceptions import BotoCoreError, ClientError

        with contextlib.suppress(ClientError, BotoCoreError, ValueError):
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
            if json.loads(obj["Body"].read() or b"{}").get("token") == token:
                self.client.delete_object(Bucket=self.bucket, Key=key)

    def _put_batch(self, n: int, src_dir: Path, entries: list[FileEntry]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "checking the bucket") from None
        prefix = self._key(_batch_dir(n)) + "/"
        keep = {prefix + CLAIM, prefix + MANIFEST}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            stale = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", []) if o["Key"] not in keep]
            for i in range(0, len(stale), 1000):  # leftovers of an interrupted write
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": stale[i : i + 1000]})
            for e in entries:
                self.client.upload_file(str(src_dir / e.name), self.bucket, prefix + e.name)
        except (ClientError, BotoCoreError, OSError) as exc:
            raise self._fail(exc, f"writing batch {n}") from None

    def _write_manifest(self, manifest: BatchManifest) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._key(_batch_dir(manifest.batch), MANIFEST)
        body = (manifest.model_dump_json(indent=2) + "\n").encode()
        try:  # If-None-Match: a manifest is never replaced, even by a writer that lost its claim
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*"
            )
        except (ClientError, BotoCoreError) as exc:
            if self._conflict(exc):
                raise LockError(
                    f"batch {manifest.batch} of landing {self.url} was completed by another extract "
                    "meanwhile; this batch was not landed, run extract again"
                ) from None
            raise self._fail(exc, f"writing s3://{self.bucket}/{key}") from None

    def fetch(self, batch: BatchManifest, dest: Path) -> Path:
        """Download the batch's files into ``dest`` (the caller's private folder) and verify each.

        Every name was checked when the manifest was parsed (plain, declared), so nothing is written
        outside ``dest``; a download lands in ``.<name>.part`` and is renamed only once its size and
        sha256 match the manifest.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        for e in batch.files:
            check_entry_name(e.name, self.declared, f"manifest of batch {batch.batch} of {self.url}")
            key = self._key(_batch_dir(batch.batch), e.name)
            target = dest / e.name
            if (
                target.is_file()
                and not target.is_symlink()
                and target.stat().st_size == e.bytes
                and sha256_of(target) == e.sha256
            ):
                continue  # already fetched
            part = dest / f".{e.name}.part"
            part.unlink(missing_ok=True)
            try:
                self.client.download_file(self.bucket, key, str(part))
            except (ClientError, BotoCoreError) as exc:
                part.unlink(missing_ok=True)
                raise self._fail(exc, f"downloading s3://{self.bucket}/{key}") from None
            size, sha = part.stat().st_size, sha256_of(part)
            if size == e.bytes and sha == e.sha256:
                os.replace(part, target)
            else:
                part.unlink(missing_ok=True)
                raise IngestError(
                    f"s3://{self.bucket}/{key} does not match its manifest: {size} bytes, sha256 {sha}; "
                    f"expected {e.bytes} bytes, sha256 {e.sha256}"
                )
        return dest
