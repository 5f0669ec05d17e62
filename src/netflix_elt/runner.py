"""Run selected nodes in dependency order, independent ones in parallel, skipping downstream of failures.

Each node is handed to a builder (a materialization or the snapshot MERGE); the runner only
schedules, times, reports and records. On the embedded engine statements are serialized (the
emulator has one DuckDB connection per warehouse); on Snowflake up to `threads` run at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path

from netflix_elt.artifacts import NodeResult, unique_id
from netflix_elt.registry import Node, Project
from netflix_elt.sql import first_line

Builder = Callable[[Node], NodeResult]
Reporter = Callable[[int, int, NodeResult], None]


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Runner:
    def __init__(
        self,
        project: Project,
        project_name: str,
        builder: Builder,
        *,
        threads: int = 1,
        serialize: bool = True,
        reporter: Reporter | None = None,
        debug: bool = False,
    ) -> None:
        self.project = project
        self.project_name = project_name
        self.builder = builder
        self.threads = max(1, threads)
        self.lock = threading.Lock() if serialize else None
        self.reporter = reporter
        self.debug = debug

    def _run_one(self, node: Node) -> NodeResult:
        with self.lock if self.lock is not None else contextlib.nullcontext():
            return self._timed(node)

    def _timed(self, node: Node) -> NodeResult:
        started = time.perf_counter()
        started_at = _now()
        try:
            result = self.builder(node)
        except Exception as e:  # one failing node must not stop the others
            msg = first_line(e)
            if self.debug:
                msg += "\n" + traceback.format_exc()
            result = NodeResult(node.name, unique_id(self.project_name, node), node.kind, "error", message=msg)
        result.execution_time = time.perf_counter() - started
        result.started_at, result.completed_at = started_at, _now()
        return result

    def run(self, names: Sequence[str], extra_deps: Mapping[str, set[str]] | None = None) -> list[NodeResult]:
        """Run the named nodes; `extra_deps` adds ordering edges (e.g. a test that reads another table)."""
        selected = list(names)
        chosen = set(selected)
        extra = extra_deps or {}
        deps = {n: {d for d in (*self.project[n].inputs, *extra.get(n, ())) if d in chosen} for n in selected}
        # an ephemeral node is not built; its consumers depend on what it depends on
        done: dict[str, NodeResult] = {}
        total = len(selected)
        order = {n: i for i, n in enumerate(selected)}
        pending = set(selected)
        running: dict[Future[NodeResult], str] = {}
        failed: set[str] = set()
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="netflix-elt") as pool:
            while pending or running:
                ready = sorted((n for n in pending if deps[n] <= done.keys()), key=order.__getitem__)
                for n in ready:
                    pending.discard(n)
                    bad = deps[n] & failed
                    if bad:
                        res = NodeResult(
                            n,
                            unique_id(self.project_name, self.project[n]),
                            self.project[n].kind,
                            "skipped",
                            message=f"skipped: upstream {sorted(bad)[0]!r} did not succeed",
                        )
                        failed.add(n)
                        self._record(done, res, total)
                        continue
                    if len(running) >= self.threads:
                        pending.add(n)
                        continue
                    running[pool.submit(self._run_one, self.project[n])] = n
                if not running:
                    if pending and not ready:  # cannot happen with a DAG; guard against a hang
                        raise RuntimeError(f"unschedulable nodes: {sorted(pending)}")
                    continue
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    n = running.pop(fut)
                    res = fut.result()
                    if res.status in ("error", "fail", "skipped"):
                        failed.add(n)
                    self._record(done, res, total)
        return [done[n] for n in selected]

    def _record(self, done: dict[str, NodeResult], res: NodeResult, total: int) -> None:
        done[res.name] = res
        if self.reporter:
            self.reporter(len(done), total, res)


def write_compiled(target_dir: Path, node: Node, sql: str) -> Path:
    """Write a node's SQL under target/compiled/<layer>/<name>.sql (as dbt does)."""
    path = target_dir / "compiled" / node.layer / f"{node.name}.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql.rstrip() + ";\n", encoding="utf-8")
    return path
