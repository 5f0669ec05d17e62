"""Run the parses of one batch side by side, within an estimate of the memory they hold at once.

Why: a parse holds its typed Arrow table (the fast path reads the file as it types it, the exact
path holds its text too), and when the fast path still held the file's bytes beside its table,
ratings and genome scores parsed side by side took ml-20m's `load` to a 3.0 GB peak (each
job's estimate: load.PARSE_MEMORY_PER_BYTE x its file). So jobs start largest first, each
when a worker is free and its estimate fits in what the running jobs leave of the budget; a job
whose estimate exceeds the whole budget runs alone. Small files still parse beside a big one.
"""

from __future__ import annotations

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
) -> list[R]:
    """`fn` of every job on up to `workers` threads, never starting one whose `cost` does not fit in
    `budget` minus the costs of the running ones (a job costlier than `budget` runs alone). Results
    come in `jobs`' order; after all have run, the first failure in that order is raised."""
    need = [min(max(cost(j), 0), budget) for j in jobs]
    pending = sorted(range(len(jobs)), key=lambda i: -need[i])  # largest first
    free = [budget]
    ready = threading.Condition()
    results: dict[int, R] = {}
    errors: dict[int, BaseException] = {}

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

    n = max(1, min(workers, len(jobs)))
    with ThreadPoolExecutor(n, thread_name_prefix=thread_name_prefix) as pool:
        for f in [pool.submit(worker) for _ in range(n)]:
            f.result()
    for i in range(len(jobs)):
        if i in errors:
            raise errors[i]
    return [results[i] for i in range(len(jobs))]
