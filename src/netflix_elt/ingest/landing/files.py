"""Regular files only: open one without following links, copy one verified (size, sha256), read
one whole, checked as it is read, or open one for a read from front to back."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

from netflix_elt.errors import IngestError

_BLOCK = 8 << 20


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


def sha256_hex(*parts: bytes) -> str:
    """The sha256 of the parts as one stream (a file read as its first line and the rest)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.hexdigest()


def open_stream(path: Path, *, hint: str = "") -> BinaryIO:
    """A regular file opened through ``open_regular`` for one read from front to back: a big file is
    parsed as it is read (ingest/parse.py), not held whole beside what it parses into."""
    return os.fdopen(open_regular(path, hint=hint), "rb")


def read_regular(path: Path, *, sha256: str | None = None, hint: str = "") -> tuple[bytes, bytes]:
    """A regular file's first line and the rest, read once through ``open_regular``.

    With ``sha256`` (its manifest's) a file whose content differs is refused (IngestError): the
    bytes returned are the ones checked, so what is parsed is what the manifest describes, with no
    private copy in between (the copy of an ml-20m batch was 760 MB written and read again).
    """
    fd = open_regular(path, hint=hint)
    with os.fdopen(fd, "rb") as fh:
        head, body = fh.readline(), fh.read()
    if sha256 is not None:
        check_sha256(path, sha256_hex(head, body), sha256)
    return head, body


def check_sha256(path: Path, actual: str, expected: str) -> None:
    """IngestError when what was read is not the content its manifest describes."""
    if actual != expected:
        raise IngestError(f"{path} does not match the sha256 in its manifest")
