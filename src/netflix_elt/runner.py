"""Run a command's graph: ready steps in dependency order, independent ones in parallel.

The runner only schedules, skips and records; what a step does is its builder's job (one per
step kind: seed, transform, snapshot, test). What reads a step that did not succeed is skipped,
naming the failure it comes from. Around each step, hooks (Hamilton's lifecycle hooks) time and
report it. On an engine without parallel sessions statements are serialized; otherwise up to
`threads` steps run at once.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

from netflix_elt.artifacts import NodeResult
from netflix_elt.graph import BuildGraph, GraphNode, Step
from netflix_elt.sql import first_line

Builder = Callable[[GraphNode], NodeResult]
FAILED = ("error", "fail", "skipped")


class Hook(Protocol):
    """Called around every step (timings, progress lines); a hook must not raise."""

    def after(self, index: int, total: int, gnode: GraphNode, result: NodeResult) -> None: ...


class Reporter:
    """A hook from a plain `(index, total, result)` callback (the CLI's progress line)."""

    def __init__(self, callback: Callable[[int, int, NodeResult], None]) -> None:
        self.callback = callback

    def after(self, index: int, total: int, gnode: GraphNode, result: NodeResult) -> None:
        self.callback(index, total, result)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def failure_reason(res: NodeResult) -> str:
    """Why what reads this failed step is skipped: `upstream 'raw_movies' failed test a, b`."""
    if res.status == "skipped":  # already names where the failure comes from
        return res.message.removeprefix("skipped: ")
    tests = res.extra.get("tests") or ()
    failed = [t["expectation"] for t in tests if t["severity"] == "error" and t["status"] in ("fail", "error")]
    if failed:
        return f"upstream {res.name!r} failed test {', '.join(failed)}"
    return f"upstream {res.name!r} did not succeed"


class Runner:
    def __init__(
        self,
        graph: BuildGraph,
        builders: Mapping[Step, Builder],
        *,
        threads: int = 1,
        serialize: bool = True,
        hooks: Iterable[Hook] = (),
        debug: bool = False,
    ) -> None:
        self.graph = graph
        self.builders = builders
        self.threads = max(1, threads)
        self.lock = threading.Lock() if serialize else None
        self.hooks = list(hooks)
        self.debug = debug

    def _run_one(self, gnode: GraphNode) -> NodeResult:
        with self.lock if self.lock is not None else contextlib.nullcontext():
            started = time.perf_counter()
            started_at = _now()
            try:
                result = self.builders[gnode.step](gnode)
            except Exception as e:  # one failing step must not stop the others
                msg = str(e).strip() if getattr(e, "multiline", False) else first_line(e)
                if self.debug:
                    msg += "\n" + traceback.format_exc()
                result = NodeResult(gnode.name, gnode.unique_id, gnode.kind, "error", message=msg, exception=e)
            result.execution_time = time.perf_counter() - started
            result.started_at, result.completed_at = started_at, _now()
            result.thread_id = threading.current_thread().name
            return result

    def _skip(self, gnode: GraphNode, done: Mapping[str, NodeResult]) -> NodeResult | None:
        """A skipped result when an upstream step failed: the one that failed itself is named
        before one that was only skipped, the earliest in the graph's order first."""
        bad = [d for d in self.graph.order if d in gnode.depends_on and d in done and done[d].status in FAILED]
        if not bad:
            return None
        roots = [d for d in bad if done[d].status != "skipped"]
        why = failure_reason(done[(roots or bad)[0]])
        return NodeResult(gnode.name, gnode.unique_id, gnode.kind, "skipped", message=f"skipped: {why}")

    def run(self) -> list[NodeResult]:
        """Run every step; the results come in the graph's order."""
        graph = self.graph
        deps = {k: {d for d in graph[k].depends_on if d in graph.nodes} for k in graph.order}
        position = {k: i for i, k in enumerate(graph.order)}
        done: dict[str, NodeResult] = {}
        pending = set(graph.order)
        running: dict[Future[NodeResult], str] = {}
        # finished futures arrive here (a done-callback): concurrent.futures.wait() takes every future's
        # lock one by one, and a Ctrl-C between two of them left a lock held, so the workers could never
        # report and the pool's shutdown waited for them forever (`build` hung after SIGINT)
        finished: queue.SimpleQueue[Future[NodeResult]] = queue.SimpleQueue()
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="netflix-elt") as pool:
            while pending or running:
                ready = sorted((k for k in pending if deps[k] <= done.keys()), key=position.__getitem__)
                for k in ready:
                    skipped = self._skip(graph[k], done)
                    if skipped is not None:
                        pending.discard(k)
                        self._record(done, k, skipped)
                        continue
                    if len(running) >= self.threads:
                        break
                    pending.discard(k)
                    fut = pool.submit(self._run_one, graph[k])
                    running[fut] = k
                    fut.add_done_callback(finished.put)
                if not running:
                    if pending and not ready:  # cannot happen with a DAG; guard against a hang
                        raise RuntimeError(f"unschedulable steps: {sorted(pending)}")
                    continue
                fut = finished.get()
                self._record(done, running.pop(fut), fut.result())
        return [done[k] for k in graph.order]

    def _record(self, done: dict[str, NodeResult], key: str, res: NodeResult) -> None:
        done[key] = res
        for hook in self.hooks:
            hook.after(len(done), len(self.graph), self.graph[key], res)
