"""A landing zone in a folder on this machine: batch numbers under a file lock, atomic manifests."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Collection, Iterator
from pathlib import Path

from netflix_elt.errors import IngestError, LockError
from netflix_elt.ingest.landing.base import Landing, objects_of
from netflix_elt.ingest.landing.files import copy_verified, open_regular
from netflix_elt.ingest.landing.manifest import _BATCH_RE, MANIFEST, BatchManifest, FileEntry, _batch_dir
from netflix_elt.ingest.parse import sha256_of

LOCK_FILE = ".netflix-elt-extract.lock"  # local: held while a batch number is allocated and written
EXTRACT_LOCK_TIMEOUT = 60.0


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

    def batch_folder(self, n: int) -> Path:
        """Where batch ``n``'s files are (a symlinked batch folder is refused)."""
        folder = self.root / _batch_dir(n)
        if folder.is_symlink():
            raise IngestError(f"{folder} is a symlink, not a folder of the landing zone; refused")
        return folder

    def _read_manifest(self, n: int) -> BatchManifest:
        path = self.batch_folder(n) / MANIFEST
        fd = open_regular(path)
        with os.fdopen(fd, "rb") as fh:
            return self._parse_manifest(n, fh.read(), str(path))

    def _put_batch(self, n: int, src_dir: Path, entries: list[FileEntry], parts_dir: Path | None = None) -> None:
        target = self.batch_folder(n)
        try:
            if target.exists():  # leftovers of an interrupted write: never complete, safe to replace
                shutil.rmtree(target)
            target.mkdir(parents=True)
            for name, path in objects_of(src_dir, entries, parts_dir):
                shutil.copyfile(path, target / name)
        except OSError as exc:
            raise IngestError(f"cannot write batch {n} to {self.url}: {exc}") from exc

    def _write_manifest(self, manifest: BatchManifest) -> None:
        path = self.root / _batch_dir(manifest.batch) / MANIFEST
        tmp = path.with_name(MANIFEST + ".tmp")
        tmp.unlink(missing_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(tmp, flags, 0o644), "w", encoding="utf-8") as fh:
            fh.write(manifest.dump())
        os.replace(tmp, path)  # atomic: the batch appears complete or not at all

    def fetch(
        self, batch: BatchManifest, dest: Path | None = None, *, verify: bool = False, skip: Collection[str] = ()
    ) -> Path:
        """A verified private copy of the batch in ``dest``; without ``dest``, the batch folder itself.

        Why a copy: whoever writes the landing zone could swap a checked file for a symlink before
        the loader opens it; the copy is made through O_NOFOLLOW and verified (size, sha256) as it
        is written. Without ``dest`` sizes are checked in place, sha256 only with ``verify=True``.
        ``skip``: names the caller will not read (their content is loaded already): checked in place
        as without ``dest`` (a regular file of the manifest's size), not copied.
        """
        folder = self.batch_folder(batch.batch)
        if dest is not None:
            dest = Path(dest)
            dest.mkdir(parents=True, exist_ok=True)
        if folder.is_dir():
            self.unlisted_parts(batch, (p.name for p in folder.iterdir()), str(folder))
        for e in batch.objects():
            path = folder / e.name
            if not os.path.lexists(path):
                raise IngestError(f"{path} listed in the manifest of batch {batch.batch} is missing")
            if dest is None or e.name in skip:
                os.close(open_regular(path))
                size = path.stat().st_size
                if size != e.bytes:
                    raise IngestError(f"{path} has {size} bytes, the manifest says {e.bytes}")
                if verify and dest is None and sha256_of(path) != e.sha256:
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
