"""The landing zone: immutable, numbered batches of source files, on a local folder or S3.

Layout (same on both backends)::

    <landing>/batch=0001/ratings.csv ... manifest.json
    <landing>/batch=0002/...

A batch is complete only once its ``manifest.json`` exists, and the manifest is written LAST
(atomically for local folders), so a reader never sees a half-written batch. A new batch takes
the number after the highest complete one; leftovers of an interrupted write under that number
are removed first. S3 goes through boto3 with the standard credential chain; boto3 itself honours
``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_S3`` (MinIO, moto), so no endpoint or secret is passed here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, ValidationError

from netflix_elt.errors import IngestError

__all__ = ["BatchManifest", "FileEntry", "Landing", "LocalLanding", "S3Landing", "file_digest"]

MANIFEST = "manifest.json"
_BATCH_RE = re.compile(r"^batch=(\d{4,})$")
_BLOCK = 8 << 20


class FileEntry(BaseModel):
    """One landed file: data rows exclude the header line."""

    name: str
    rows: int
    bytes: int
    sha256: str


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


class Landing(ABC):
    """A landing zone; create with :meth:`from_url`."""

    url: str

    @staticmethod
    def from_url(url: str) -> Landing:
        """``s3://bucket/prefix`` -> S3Landing; ``file:///abs/path`` or a plain path -> LocalLanding."""
        if not url or not str(url).strip():
            raise IngestError("landing URL is empty: use a folder, file:///abs/path or s3://bucket/prefix")
        url = str(url).strip()
        if url.startswith("s3://"):
            parsed = urlparse(url)
            if not parsed.netloc:
                raise IngestError(f"landing URL {url} has no bucket: use s3://bucket/prefix")
            return S3Landing(parsed.netloc, parsed.path.strip("/"))
        if url.startswith("file://"):
            parsed = urlparse(url)
            if parsed.netloc not in ("", "localhost"):
                raise IngestError(f"landing URL {url}: file URLs must be absolute, file:///abs/path")
            return LocalLanding(Path(unquote(parsed.path)))
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url):
            raise IngestError(f"landing URL {url}: unsupported scheme; use a folder, file:// or s3://")
        return LocalLanding(Path(url).expanduser())

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

    def write_batch(self, src_dir: Path, files: list[str], *, source: str = "") -> BatchManifest:
        """Copy ``files`` from ``src_dir`` as the next batch, then write its manifest (last)."""
        src_dir = Path(src_dir)
        if not files:
            raise IngestError(f"nothing to land from {src_dir}: the file list is empty")
        entries = []
        for name in files:
            path = src_dir / name
            if "/" in name or "\\" in name or not path.is_file():
                raise IngestError(f"cannot land {path}: not a file in {src_dir}")
            rows, size, sha = file_digest(path)
            if size == 0:
                raise IngestError(f"cannot land {path}: the file is empty (0 bytes)")
            entries.append(FileEntry(name=name, rows=rows, bytes=size, sha256=sha))
        n = self.next_batch()
        manifest = BatchManifest(
            batch=n,
            created_at=datetime.now(UTC),
            source=source or f"files from {src_dir}",
            files=entries,
            url=self.batch_url(n),
        )
        self._put_batch(n, src_dir, entries)
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
            if m and child.is_dir():
                seen.add(int(m.group(1)))
                if (child / MANIFEST).is_file():
                    complete.add(int(m.group(1)))
        return complete, seen

    def list_batches(self) -> list[BatchManifest]:
        if not self.root.is_dir():
            raise IngestError(f"landing folder {self.url} does not exist")
        return super().list_batches()

    def _read_manifest(self, n: int) -> BatchManifest:
        path = self.root / _batch_dir(n) / MANIFEST
        return self._parse_manifest(n, path.read_bytes(), str(path))

    def _put_batch(self, n: int, src_dir: Path, entries: list[FileEntry]) -> None:
        target = self.root / _batch_dir(n)
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
        tmp.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)  # atomic: the batch appears complete or not at all

    def fetch(self, batch: BatchManifest, dest: Path | None = None, *, verify: bool = False) -> Path:
        """The batch folder itself; sizes are always checked, sha256 only with ``verify=True``."""
        folder = self.root / _batch_dir(batch.batch)
        for e in batch.files:
            path = folder / e.name
            if not path.is_file():
                raise IngestError(f"{path} listed in the manifest of batch {batch.batch} is missing")
            if path.stat().st_size != e.bytes:
                raise IngestError(f"{path} has {path.stat().st_size} bytes, the manifest says {e.bytes}")
            if verify and file_digest(path)[2] != e.sha256:
                raise IngestError(f"{path} does not match the sha256 in its manifest")
        return folder


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

            self._client = boto3.client("s3")
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

    def _put_batch(self, n: int, src_dir: Path, entries: list[FileEntry]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "checking the bucket") from None
        prefix = self._key(_batch_dir(n)) + "/"
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            stale = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", [])]
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
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, f"writing s3://{self.bucket}/{key}") from None

    def fetch(self, batch: BatchManifest, dest: Path) -> Path:
        """Download the batch's files into ``dest`` and verify each size and sha256."""
        from botocore.exceptions import BotoCoreError, ClientError

        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        for e in batch.files:
            key = self._key(_batch_dir(batch.batch), e.name)
            target = dest / e.name
            if target.is_file() and target.stat().st_size == e.bytes and file_digest(target)[2] == e.sha256:
                continue  # already fetched
            try:
                self.client.download_file(self.bucket, key, str(target))
            except (ClientError, BotoCoreError) as exc:
                raise self._fail(exc, f"downloading s3://{self.bucket}/{key}") from None
            rows, size, sha = file_digest(target)
            if size != e.bytes or sha != e.sha256:
                target.unlink(missing_ok=True)
                raise IngestError(
                    f"s3://{self.bucket}/{key} does not match its manifest: {size} bytes, sha256 {sha}; "
                    f"expected {e.bytes} bytes, sha256 {e.sha256}"
                )
        return dest
