"""The warm process: import what commands need, then fork one child per command that asks.

`python -m netflix_elt.warm.server SOCKET [IDLE_MINUTES]` (what `netflix-elt warm start` runs, in its
own session). The process never opens a session, a project or a warehouse: a fork carries only
imported code. For each connection it forks a *keeper*; the keeper forks the *command*, tells the
caller its pid (the caller forwards Ctrl-C and other signals to it), waits for it and sends back how
it ended. The listener stays single-threaded and keeps no children (SIGCHLD ignored: the kernel reaps
keepers), so it is safe to fork again and again. It holds `warm-<key>.lock` (flock) for its whole
life: a second warm process for the same socket exits at once, and a caller removes a dead socket
only when nobody holds the lock.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import gc
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from netflix_elt.huge_pages import keep_off_huge_pages
from netflix_elt.warm import IDLE_MINUTES, NOT_PRELOADED, PRELOAD, fingerprint, lock_path

MAX_MESSAGE = 1 << 22  # bytes of one message (the request holds the caller's environment)
RESET_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP, signal.SIGUSR1)
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}  # what stops the listener (`stop`, a stale caller, Ctrl-C)


def encode(message: dict[str, Any]) -> bytes:
    """A message as sent: its length (4 bytes, big-endian), then JSON."""
    data = json.dumps(message).encode()
    return struct.pack("!I", len(data)) + data


def send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(encode(message))


def receive(conn: socket.socket, first: bytes = b"") -> dict[str, Any] | None:
    """One length-prefixed JSON message (None at end of stream); `first`: bytes already read."""
    buf = first
    while len(buf) < 4:
        chunk = conn.recv(4 - len(buf))
        if not chunk:
            return None
        buf += chunk
    (size,) = struct.unpack("!I", buf[:4])
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes")
    body = buf[4:]
    while len(body) < size:
        chunk = conn.recv(min(1 << 16, size - len(body)))
        if not chunk:
            return None
        body += chunk
    return json.loads(body[:size])


def preload() -> None:
    """The imports a command would pay for, then the heap frozen: forks do not copy it when they collect."""
    for name in PRELOAD:
        importlib.import_module(name)
    loaded = [m for m in NOT_PRELOADED if any(k == m or k.startswith(m + ".") for k in sys.modules)]
    if loaded:  # a dependency pulled in what each command must import for itself
        raise RuntimeError(f"the preload imported {', '.join(loaded)}")
    gc.collect()
    gc.freeze()


def serve(path: Path, idle_minutes: float = IDLE_MINUTES) -> None:
    """Listen on `path` until `stop`, a stale caller (both SIGTERM) or `idle_minutes` without a request.

    The socket is bound under a temporary name and renamed into place, so a caller never finds one
    that does not answer yet; it is removed at exit if it is still this process's.
    """
    lock = open(lock_path(path), "a")  # noqa: SIM115  (held, and so locked, until the process exits)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another warm process runs for this socket
    preload()
    printed = fingerprint()
    started = time.time()
    me = os.getpid()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # the handler's SystemExit is lost when it runs inside a fork hook or a finalizer (Python prints
    # it as unraisable): the signal's byte on this pipe stops the loop all the same
    woken, wake = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = path.with_name(f".{path.name}.{me}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    listener.bind(str(temporary))
    os.chmod(temporary, 0o600)
    listener.listen(16)
    os.replace(temporary, path)
    inode = os.stat(path).st_ino
    atexit.register(_unlink_if_ours, path, inode)
    requests = 0
    while True:
        ready, _, _ = select.select([listener, woken], [], [], idle_minutes * 60)
        if not ready:
            return  # idle
        if woken in ready:
            if STOP_SIGNALS & set(os.read(woken, 64)):  # one byte per signal: its number
                return  # a stop whose handler's exit was swallowed
            continue
        conn, _ = listener.accept()
        if not _same_user(conn):
            conn.close()
            continue
        try:
            keeper = os.fork()
        except OSError:  # out of processes or memory: this caller runs cold, the next may fit
            traceback.print_exc()
            conn.close()
            continue
        if keeper == 0:
            listener.close()
            lock.close()  # the listener's lock, not the keeper's to hold
            signal.set_wakeup_fd(-1)  # a signal to the keeper must not stop the listener
            os.close(woken)
            os.close(wake)
            atexit.unregister(_unlink_if_ours)  # the socket is the listener's, not a command's to remove
            try:
                code = _keep(conn, me, printed, started, requests)
            except BaseException:  # the warm process's log (its stderr) gets the traceback
                traceback.print_exc()
                code = 70
            os._exit(code)
        conn.close()
        requests += 1


def _same_user(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def _unlink_if_ours(path: Path, inode: int) -> None:
    """At exit: remove the socket unless a newer warm process has put its own there."""
    with contextlib.suppress(OSError):
        if os.stat(path).st_ino == inode:
            path.unlink()


def _stop_listener(listener: int) -> None:
    """SIGTERM to the listener, only while it is this keeper's parent (else the pid is somebody else's)."""
    if os.getppid() == listener:
        with contextlib.suppress(ProcessLookupError):
            os.kill(listener, signal.SIGTERM)


def _keep(conn: socket.socket, listener: int, printed: str, started: float, requests: int) -> int:
    """One caller: a request for a command (run it), `status` or `stop`."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    msg, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
    try:
        request = receive(conn, msg) if msg else None
        if request is None:
            return 0
        kind = request.get("kind")
        if kind == "status":
            send(conn, {"pid": listener, "started": started, "requests": requests, "fingerprint": printed})
            return 0
        if kind == "stop":
            send(conn, {"stopped": listener})
            _stop_listener(listener)
            return 0
        if request.get("fingerprint") != printed:
            send(conn, {"stale": "the installation changed since the warm process started"})
            _stop_listener(listener)
            return 0
        if len(fds) != 3:
            send(conn, {"error": "expected the caller's stdin, stdout and stderr"})
            return 0
        # the signals a caller forwards wait (blocked) until the command has its own handlers: one
        # arriving at once would otherwise meet the listener's handlers, inside fork hooks that swallow it
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, RESET_SIGNALS + (signal.SIGINT,))
        child = os.fork()
        if child == 0:
            conn.close()
            _run_command(request, fds, mask)  # never returns
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for fd in fds:
            os.close(fd)
        fds = []
        with contextlib.suppress(OSError):  # a caller gone already: _wait sees it and ends the command
            send(conn, {"pid": child})
        return _wait(conn, child)
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def _wait(conn: socket.socket, child: int) -> int:
    """Wait for the command; if the caller goes away first, end the command (SIGTERM, then SIGKILL)."""
    gone_at: float | None = None
    while True:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                _send_quietly(conn, {"signal": os.WTERMSIG(status)})
            else:
                _send_quietly(conn, {"exit": os.waitstatus_to_exitcode(status)})
            return 0
        if gone_at is None:
            ready, _, _ = select.select([conn], [], [], 0.05)
            if ready and not _peek(conn):
                gone_at = time.monotonic()
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)
        else:
            time.sleep(0.05)
            if time.monotonic() - gone_at > 10:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)


def _peek(conn: socket.socket) -> bytes:
    try:
        return conn.recv(1, socket.MSG_PEEK)
    except OSError:
        return b""


def _send_quietly(conn: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        send(conn, message)


def _run_command(request: dict[str, Any], fds: list[int], mask: set[signal.Signals]) -> None:
    """In the command's process: become the caller (terminal, folder, environment, argv), run the CLI."""
    code = 70
    try:
        for signum in RESET_SIGNALS:  # as a fresh Python process starts, whatever the warm process inherited
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python sets it at start: BrokenPipeError, not death
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # what came meanwhile is delivered now
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        _become_caller(request)
        from netflix_elt.cli import main
        from netflix_elt.warm import client

        client.IN_WARM_COMMAND = True
        try:
            main(prog_name=request.get("prog_name") or "netflix-elt")
            code = 0
        except SystemExit as e:
            if e.code is None or isinstance(e.code, int):
                code = e.code or 0
            else:  # as Python does at exit: the message on stderr, status 1
                print(e.code, file=sys.stderr)
                code = 1
        except KeyboardInterrupt:
            code = 130
        atexit._run_exitfuncs()
    except BaseException:  # before the CLI ran (or in the exit handlers): tell the caller, not the log
        with contextlib.suppress(Exception):
            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _become_caller(request: dict[str, Any]) -> None:
    """The caller's folder, environment (and what the standard library read from it at start:
    the temp folder, the time zone) and argv; Python's stdio objects on the caller's descriptors."""
    import tempfile

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    time.tzset()
    sys.argv = list(request["argv"])
    encoding = os.environ.get("PYTHONIOENCODING", "").split(":")[0] or sys.stdout.encoding or "utf-8"
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    sys.stdin = open(0, encoding=encoding, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding=encoding, buffering=1 if unbuffered or os.isatty(1) else -1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding=encoding, errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    idle = float(args[1]) if len(args) > 1 else IDLE_MINUTES
    keep_off_huge_pages()  # before the preload allocates: every fork inherits it
    serve(Path(args[0]), idle)


if __name__ == "__main__":
    main()
