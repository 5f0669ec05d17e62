"""ingest.schedule.run_within: parses side by side only within the memory estimate (issue 14: peak RSS)."""

from __future__ import annotations

import threading
import time

import pytest

from netflix_elt.ingest.schedule import run_within


class Recorder:
    """A job function that notes which jobs run at once, and the most estimated memory held together."""

    def __init__(self, cost: dict[str, int]) -> None:
        self.cost, self.running, self.lock = cost, set(), threading.Lock()
        self.peak, self.together = 0, set()

    def __call__(self, job: str) -> str:
        with self.lock:
            self.running.add(job)
            self.peak = max(self.peak, sum(self.cost[j] for j in self.running))
            self.together |= {frozenset(self.running)} if len(self.running) > 1 else set()
        time.sleep(0.05 if self.cost[job] < 100 else 0.3)
        with self.lock:
            self.running.discard(job)
        if job.startswith("bad"):
            raise ValueError(job)
        return job.upper()


def test_two_big_jobs_never_run_together_but_small_ones_run_beside_a_big_one() -> None:
    cost = {"ratings": 1500, "genome": 600, "tags": 50, "movies": 10, "links": 5}
    rec = Recorder(cost)
    jobs = ["movies", "ratings", "links", "genome", "tags"]
    assert run_within(jobs, cost.__getitem__, 1600, 2, rec) == [j.upper() for j in jobs]  # jobs' order
    assert rec.peak <= 1600
    assert not any({"ratings", "genome"} <= pair for pair in rec.together)
    assert any("ratings" in pair and pair & {"tags", "movies", "links"} for pair in rec.together)


def test_a_job_costlier_than_the_budget_runs_alone_and_a_roomy_budget_runs_two_at_once() -> None:
    cost = {"huge": 5000, "a": 10, "b": 10}
    rec = Recorder(cost)
    assert run_within(["a", "huge", "b"], cost.__getitem__, 1000, 2, rec) == ["A", "HUGE", "B"]
    assert not any("huge" in pair for pair in rec.together)
    rec = Recorder({"x": 400, "y": 400})
    run_within(["x", "y"], rec.cost.__getitem__, 1000, 2, rec)
    assert frozenset({"x", "y"}) in rec.together


def test_every_job_runs_and_the_first_failure_in_order_is_raised() -> None:
    cost = {"ok1": 10, "bad1": 10, "ok2": 10, "bad2": 500}
    rec = Recorder(cost)
    seen: list[str] = []

    def fn(job: str) -> str:
        seen.append(job)
        return rec(job)

    with pytest.raises(ValueError, match="^bad1$"):
        run_within(["ok1", "bad1", "ok2", "bad2"], cost.__getitem__, 1000, 2, fn)
    assert sorted(seen) == ["bad1", "bad2", "ok1", "ok2"]
