"""One writer at a time: an advisory file lock on the warehouse folder.

Why: the embedded engine's DuckDB files can be opened by one process only (a second one fails
with an obscure "file handle conflict"), and two writers on a real account would interleave
loads and MERGEs. So writing commands take `<state>/warehouse/.lock` with `fcntl.flock`, waiting
up to a timeout, and fail with LockError (exit 3) naming the holder.

The kernel releases a flock when its process dies, however it dies (SIGKILL included), so a lock
left by a crashed run is simply taken over; the JSON body (pid, host, command, started_at) is
only information for the message. The lock file descriptor is not inherited by child processes
(Python's default), so "flock held" means "its process is alive". On the snowflake profile the
lock is local to this machine: it does not stop a writer on another machine. On the embedded
engine the adapter also holds it for as long as its session is open (a notebook's too), since
the DuckDB files stay attached while the session lives.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from netflix_elt.errors import LockError

DEFAULT_TIMEOUT = 60.0
_POLL = 0.1
# locks held by this process: path -> [file, depth]; a nested command or an open embedded session
# re-enters, and the flock is released when the last of them leaves, in whatever order
_HELD: dict[str, list[Any]] = {}
_GUARD = threading.Lock()


@dataclass(frozen=True)
class Holder:
    """What the lock file says about the process holding (or last holding) the lock."""

    pid: int | None
    host: str
    command: str
    started_at: str

    def describe(self) -> str:
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"pid {self.pid}{where} ({self.command}, since {self.started_at})"


def lock_path(state_dir: Path) -> Path:
    return state_dir / "warehouse" / ".lock"


def read_holder(path: Path) -> Holder | None:
    """The lock file's body, or None when it is empty or unreadable (being rewritten)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    get = lambda k: str(data.get(k, "?"))  # noqa: E731
    return Holder(data.get("pid"), get("host"), get("command"), get("started_at"))


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


WAIT_HINT = "[project] lock_timeout to wait longer"  # the CLI names its --lock-timeout where a command has it


@contextlib.contextmanager
def warehouse_lock(state_dir: Path, command: str, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Holder | None]:
    """Hold the warehouse lock for the block; yields the stale holder that was taken over, if any.

    Waits up to `timeout` seconds (0: try once) for another process to finish, then raises
    LockError naming it.
    """
    path = lock_path(state_dir)
    key = str(path.resolve())
    with _GUARD:
        if key in _HELD:  # re-entered by the same process (a command calling another, a session)
            _HELD[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield None
        finally:
            _leave(key)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    f: TextIO = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until the last holder leaves
    try:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = read_holder(path)
                    who = holder.describe() if holder else "another process"
                    if holder is not None and holder.host == socket.gethostname() and not pid_alive(holder.pid):
                        who += ", which has exited but left a child process holding the lock"
                    waited = f"waited {timeout:g}s" if timeout > 0 else "did not wait"
                    raise LockError(f"the warehouse {path.parent} is locked by {who}; {waited}", WAIT_HINT) from None
                time.sleep(_POLL)
        previous = read_holder(path)
        stale = previous if previous is not None and previous.pid != os.getpid() else None
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        f.seek(0)
        f.truncate()
        f.write(json.dumps(me))
        f.flush()
    except BaseException:
        f.close()
        raise
    with _GUARD:
        _HELD[key] = [f, 1]
    try:
        # a body left behind means its process ended without releasing (it was killed)
        yield stale
    finally:
        _leave(key)


def _leave(key: str) -> None:
    """One holder of this process leaves; the last one (in any order) empties the body and unlocks."""
    with _GUARD:
        entry = _HELD.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _HELD[key]
    f = entry[0]
    with contextlib.suppress(OSError):
        f.seek(0)
        f.truncate()
        f.flush()
    f.close()  # closing the descriptor releases the flock
