"""Run the parses of one batch side by side, within an estimate of the memory they hold at once.

Why: a parse holds its typed Arrow table (the fast path reads the file as it types it, the exact
path holds its text too), and when the fast path still held the file's bytes beside its table,
ratings and genome scores parsed side by side took ml-20m's `load` to a 3.0 GB peak (each
job's estimate: load.PARSE_MEMORY_PER_BYTE x its file). So jobs start largest first, each
when a worker is free and its estimate fits in what the running jobs leave of the budget; a job
whose estimate exceeds the whole budget runs alone. Small files still parse beside a big one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")

__all__ = ["run_within"]


def run_within(
    jobs: Sequence[J],
    cost: Callable[[J], int],
    budget: int,
    workers: int,
    fn: Callable[[J], R],
    *,
    thread_name_prefix: str = "netflix-elt-job",
    on_result: Callable[[int, R], None] | None = None,
) -> list[R]:
    """`fn` of every job on up to `workers` threads, never starting one whose `cost` does not fit in
    `budget` minus the costs of the running ones (a job costlier than `budget` runs alone). Results
    come in `jobs`' order; after all have run, the first failure in that order is raised.

    `on_result(index, result)` runs in the calling thread for each job that succeeded, as each
    finishes (the load COPYs a file while the others still parse); what it raises starts no more
    jobs, waits for the running ones and is raised.
    """
    need = [min(max(cost(j), 0), budget) for j in jobs]
    pending = sorted(range(len(jobs)), key=lambda i: -need[i])  # largest first
    free = [budget]
    ready = threading.Condition()
    results: dict[int, R] = {}
    errors: dict[int, BaseException] = {}
    finished: queue.SimpleQueue[int] = queue.SimpleQueue()

    def take() -> int | None:
        with ready:
            while pending:
                fit = next((i for i in pending if need[i] <= free[0]), None)
                if fit is not None:
                    pending.remove(fit)
                    free[0] -= need[fit]
                    return fit
                ready.wait()  # a running job ends, or nothing fits until one does
            return None

    def worker() -> None:
        while (i := take()) is not None:
            try:
                results[i] = fn(jobs[i])
            except BaseException as e:  # kept for its place in `jobs`' order
                errors[i] = e
            finally:
                with ready:
                    free[0] += need[i]
                    ready.notify_all()
                finished.put(i)

    n = max(1, min(workers, len(jobs)))
    with ThreadPoolExecutor(n, thread_name_prefix=thread_name_prefix) as pool:
        futures = [pool.submit(worker) for _ in range(n)]
        try:
            for _ in range(len(jobs)):
                i = finished.get()
                if on_result is not None and i in results:
                    on_result(i, results[i])
        except BaseException:
            with ready:
                pending.clear()
                ready.notify_all()
            raise
        for f in futures:
            f.result()
    for i in range(len(jobs)):
        if i in errors:
            raise errors[i]
    return [results[i] for i in range(len(jobs))]
