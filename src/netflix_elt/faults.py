"""A test hook: kill this process at a named point, to prove that runs are crash-safe.

`NETFLIX_ELT_FAULT=phase:N` (e.g. `snapshot.merge:2`) makes the N-th arrival at `fault("phase")`
send SIGKILL to the process: no cleanup, no `finally`, no atexit, the same as a power cut or the
OOM killer. Used only by tests/robustness/test_crash_safety.py; unset, it costs one dict lookup.
Points: load.copy, load.commit, seed.copy, transform.build, incremental.rebuild, incremental.merge,
incremental.upsert, snapshot.work, snapshot.merge (the last three: the embedded adapter's
transactions), incremental.work.merge, incremental.work.swap, snapshot.swap (its copy-and-publish
MERGE, which no build step uses now).
"""

from __future__ import annotations

import os
import signal
import threading

_COUNTS: dict[str, int] = {}
_LOCK = threading.Lock()


def fault(point: str) -> None:
    """Die here if NETFLIX_ELT_FAULT names this point and this is its N-th arrival."""
    spec = os.environ.get("NETFLIX_ELT_FAULT")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    with _LOCK:
        _COUNTS[point] = _COUNTS.get(point, 0) + 1
        hit = _COUNTS[point] == int(nth or 1)
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)
