"""Private temporary folders that a killed process does not leave behind.

Why: a load or extract killed by SIGKILL runs no cleanup, so folders made with ``tempfile`` stay in
``/tmp`` for ever (``netflix-elt-load-*``, the emulator's ``fakesnow_bucket_*`` with staged copies).
Here every process gets one folder, ``<tmp>/netflix-elt-<uid>/p<pid>-<start>``, inside a per-user
root that only its owner can enter (0700, not a symlink, owned by us). The folder is removed at exit,
and the first use in a later process removes the folders of processes that are gone (the pid is dead,
or was reused: the start time in ``/proc`` differs).

:func:`process_scope` (used by the CLI for every command) also points :data:`tempfile.tempdir` at
that folder for the command's duration, so libraries' own temporary files (the emulator's stage
bucket, created when it is imported) are swept the same way.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from netflix_elt.errors import ConfigError

__all__ = ["mkdtemp", "process_dir", "process_scope", "root", "sweep", "swept", "work_dir"]

_PROC_RE = re.compile(r"^p(\d+)-(\d+)$")
_GUARD = threading.Lock()
_MINE: dict[int, Path] = {}  # pid -> this process's folder (a forked child makes its own)
_SWEPT: list[Path] = []  # what this process's first use swept (`clean` reports it)
_BASE = tempfile.gettempdir()  # the system temp folder, before process_scope redirects tempfile


def _start_ticks(pid: int) -> int:
    """The process's start time in clock ticks since boot (Linux), 0 where /proc is not available."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(text.rsplit(")", 1)[1].split()[19])


def _alive(pid: int, ticks: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return ticks == 0 or _start_ticks(pid) in (0, ticks)


def root() -> Path:
    """``<tmp>/netflix-elt-<uid>``, created 0700; refused if another user owns it or it is a link."""
    path = Path(_BASE) / f"netflix-elt-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise ConfigError(
            f"temporary folder {path} is not a folder owned by this user; remove it (someone else may "
            "have created it to read our files)"
        )
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def sweep(base: Path | None = None) -> list[Path]:
    """Remove the folders of netflix-elt processes that are gone; returns what was removed."""
    base = base or root()
    removed = []
    for child in base.iterdir():
        m = _PROC_RE.match(child.name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        if not _alive(int(m.group(1)), int(m.group(2))):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


def _remove_mine(pid: int) -> None:
    """At exit: this process's folder, and the emulator's stage bucket wherever it was created."""
    if os.getpid() != pid:
        return
    stage = sys.modules.get("fakesnow.transforms.stage")
    bucket = getattr(stage, "LOCAL_BUCKET_PATH", None)
    if bucket:
        shutil.rmtree(bucket, ignore_errors=True)
    folder = _MINE.pop(pid, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def process_dir() -> Path:
    """This process's private temporary folder (created, and leftovers swept, on first use)."""
    pid = os.getpid()
    with _GUARD:
        folder = _MINE.get(pid)
        if folder is not None and folder.is_dir():
            return folder
        base = root()
        if folder is None:
            _SWEPT.extend(sweep(base))
            atexit.register(_remove_mine, pid)
        folder = base / f"p{pid}-{_start_ticks(pid)}"
        folder.mkdir(mode=0o700, exist_ok=True)
        _MINE[pid] = folder
        return folder


def swept() -> list[Path]:
    """The folders of exited processes this process removed when it made its own folder."""
    return list(_SWEPT)


def mkdtemp(prefix: str) -> Path:
    """A new folder inside :func:`process_dir`; the caller removes it (else the exit or sweep does)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=process_dir()))


@contextlib.contextmanager
def work_dir(prefix: str) -> Iterator[Path]:
    """A new private folder for the block, removed after it (and by the next sweep if killed)."""
    folder = mkdtemp(prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def process_scope() -> Iterator[Path]:
    """Point :mod:`tempfile` at this process's folder for the block (one CLI command)."""
    folder = process_dir()
    previous = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = previous
