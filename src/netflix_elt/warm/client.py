"""The caller's side of a warm process: hand it the command, relay signals, exit as the command did.

`delegate()` runs first in every `netflix-elt` process (the console script's entry): with no warm
process, or NETFLIX_ELT_WARM=0, it returns None at the cost of one failed connect, and the command
runs here as always. `start`, `stop` and `status` are `netflix-elt warm`'s.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from netflix_elt.warm import ENV_OFF, IDLE_MINUTES, WarmDirError, fingerprint, lock_path, runtime_dir, socket_path
from netflix_elt.warm.server import encode, receive

IN_WARM_COMMAND = False  # set in a command forked from the warm process: it must not delegate again
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
START_TIMEOUT = 120.0  # seconds `warm start` waits for the imports (~4 s on a quiet 2-core machine)


class WarmError(Exception):
    """The warm process could not be started, reached or stopped (the message says which)."""


def _connect(path: Path) -> socket.socket | None:
    """A connection to the warm process on `path`, or None; a socket left by a warm process that died
    (nobody holds its lock) is removed."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        if path.exists() and not _held(lock_path(path)):
            with contextlib.suppress(OSError):
                path.unlink()
        return None
    except OSError:
        sock.close()
        return None
    return sock


def _held(lock: Path) -> bool:
    """Whether a warm process holds `lock` (a missing file is nobody's)."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def delegate(argv: list[str] | None = None) -> int | None:
    """Run this process's command in the warm process, if one runs for this installation: the
    command's exit code (a command ended by signal N ends this process by N too), or None to run it
    here (no warm process, NETFLIX_ELT_WARM=0, a stale one, or any failure before it started there)."""
    if IN_WARM_COMMAND or os.environ.get(ENV_OFF, "").strip().lower() in ("0", "false", "no", "off"):
        return None
    argv = list(sys.argv if argv is None else argv)
    words = [a for a in argv[1:] if not a.startswith("-")]
    if words[:1] == ["warm"]:  # `warm start|stop|status` manage the process: they run here
        return None
    try:
        sock = _connect(socket_path())
    except WarmDirError as e:
        sys.stderr.write(f"netflix-elt: not using a warm process: {e}\n")
        return None
    if sock is None:
        return None
    relay = _Relay()
    with sock, relay:
        try:
            pid = _handshake(sock, argv)
        except OSError:  # e.g. a closed stdin cannot be passed: run here
            pid = None
        if pid is None:
            if relay.pending:  # Ctrl-C before the command started: as if it had come before the connect
                signal.signal(relay.pending[0], signal.SIG_DFL)
                os.kill(os.getpid(), relay.pending[0])
            return None
        relay.start(pid)
        end = receive(sock)
    if end is None:
        return 70  # the keeper died: EX_SOFTWARE
    if "signal" in end:
        signum = int(end["signal"])
        with contextlib.suppress(ValueError, OSError):  # end as the command did, as a shell shows it
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        return 128 + signum
    return int(end.get("exit", 70))


class _Relay:
    """Forwards Ctrl-C and termination signals to the command; those that come before its pid is
    known wait for it (or, if it never starts, are this process's own)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.pending: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Relay:
        self._previous = {s: signal.signal(s, self._on_signal) for s in FORWARDED}
        return self

    def __exit__(self, *_: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.pid is None:
            self.pending.append(signum)
        else:
            self._forward(signum)

    def _forward(self, signum: int) -> None:
        assert self.pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def start(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            self._forward(signum)
        self.pending.clear()


def program_name() -> str:
    """What usage lines call the program, as click would name this process: `netflix-elt` for the
    console script, `python -m netflix_elt.cli` for a module run (the warm command's own `__main__`
    is the warm server, so it is told)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is None or not spec.name:
        return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "netflix-elt"
    return f"python -m {spec.name.removesuffix('.__main__')}"


def _handshake(sock: socket.socket, argv: list[str]) -> int | None:
    """Send the command with this process's stdin, stdout and stderr; the command's pid, or None."""
    request = {
        "kind": "command",
        "argv": argv,
        "prog_name": program_name(),
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "fingerprint": fingerprint(),
    }
    sys.stdout.flush()
    sys.stderr.flush()
    data = encode(request)
    sent = socket.send_fds(sock, [data[: 1 << 16]], [0, 1, 2])  # the descriptors travel with these bytes
    sock.sendall(data[sent:])
    first = receive(sock)
    if first is not None and "pid" in first:
        return int(first["pid"])
    if first and "stale" in first:
        sys.stderr.write(
            f"netflix-elt: the warm process was stopped ({first['stale']}); this command runs "
            "without it. `netflix-elt warm start` starts a new one.\n"
        )
    return None


def status() -> dict[str, Any] | None:
    """The warm process's pid, start time, commands served and whether it is current, or None."""
    sock = _connect(socket_path())
    if sock is None:
        return None
    with sock:
        sock.sendall(encode({"kind": "status"}))
        answer = receive(sock)
    if answer is not None:
        answer["current"] = answer.get("fingerprint") == fingerprint()
    return answer


def stop() -> int | None:
    """Stop the warm process of this installation: its pid, or None when none runs."""
    path = socket_path()
    sock = _connect(path)
    if sock is None:
        return None
    with sock:
        sock.sendall(encode({"kind": "stop"}))
        answer = receive(sock) or {}
    pid = int(answer.get("stopped", 0)) or None
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def start(idle_minutes: float = IDLE_MINUTES) -> dict[str, Any]:
    """Start a warm process (if none runs) and wait until it answers: its status."""
    current = status()
    if current is not None and current["current"]:
        current["already"] = True
        return current
    if current is not None:
        stop()
    path = socket_path(create=True)
    log = runtime_dir() / f"{path.stem}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "netflix_elt.warm.server", str(path), str(idle_minutes)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            env={k: v for k, v in os.environ.items() if k != ENV_OFF},
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        answer = status()
        if answer is not None:
            return answer
        code = proc.poll()
        if code is not None and (code != 0 or not _held(lock_path(path))):
            raise WarmError(f"the warm process exited with {code} while starting; see {log}")
        time.sleep(0.1)  # exit 0 with the lock held: another `warm start` won the race; wait for its answer
    proc.kill()
    raise WarmError(f"the warm process did not answer within {START_TIMEOUT:.0f} s; see {log}")
