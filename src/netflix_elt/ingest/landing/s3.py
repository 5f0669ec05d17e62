"""A landing zone in an S3 bucket and prefix: boto3's credential chain, claims by conditional writes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import uuid
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netflix_elt.errors import IngestError, LockError
from netflix_elt.ingest.landing.base import Landing, objects_of
from netflix_elt.ingest.landing.manifest import (
    _BATCH_RE,
    CLAIM,
    MANIFEST,
    BatchManifest,
    FileEntry,
    _batch_dir,
    check_entry_name,
)
from netflix_elt.ingest.landing.split import DEFAULT_SPLIT_SIZE
from netflix_elt.ingest.parse import sha256_of

STALE_CLAIM_SECONDS = 24 * 3600.0  # a claim from another host older than this is abandoned


class S3Landing(Landing):
    """``s3://bucket/prefix`` through boto3's default credential chain and endpoint settings."""

    default_split_size = DEFAULT_SPLIT_SIZE  # Snowflake loads the parts of a file in parallel

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

    def _put_batch(self, n: int, src_dir: Path, entries: list[FileEntry], parts_dir: Path | None = None) -> None:
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
            for name, path in objects_of(src_dir, entries, parts_dir):
                self.client.upload_file(str(path), self.bucket, prefix + name)
        except (ClientError, BotoCoreError, OSError) as exc:
            raise self._fail(exc, f"writing batch {n}") from None

    def batch_objects(self, n: int) -> list[str]:
        """The names of the objects under batch ``n``'s folder (one listing)."""
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = self._key(_batch_dir(n)) + "/"
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            return [o["Key"][len(prefix) :] for page in pages for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, f"listing batch {n}") from None

    def _write_manifest(self, manifest: BatchManifest) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._key(_batch_dir(manifest.batch), MANIFEST)
        body = manifest.dump().encode()
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

    def fetch(self, batch: BatchManifest, dest: Path, *, skip: Collection[str] = ()) -> Path:
        """Download the batch's files into ``dest`` (the caller's private folder) and verify each.

        Every name was checked when the manifest was parsed (plain, declared), so nothing is written
        outside ``dest``; a download lands in ``.<name>.part`` and is renamed only once its size and
        sha256 match the manifest. ``skip``: names not downloaded (the caller has their content loaded).
        """
        from botocore.exceptions import BotoCoreError, ClientError

        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        self.unlisted_parts(batch, self.batch_objects(batch.batch), f"{self.url}/{_batch_dir(batch.batch)}")
        for e in batch.objects():
            where = f"manifest of batch {batch.batch} of {self.url}"
            check_entry_name(e.name, self.declared, where, part=e.name not in self.declared)
            key = self._key(_batch_dir(batch.batch), e.name)
            if e.name in skip:
                continue
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
