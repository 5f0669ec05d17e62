"""Seconds and peak RSS per stage of a command (startup, load, seed, run, snapshot, validate).

`target/timings.json` is what benchmarks/build_bench.py reads. Stages are timed two ways: a
block (`with timer.stage("load")`) or, inside the graph, each step's execution time added to the
stage of its kind (a runner hook), so tests run right after a table count as `validate`.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

from netflix_elt.artifacts import NodeResult
from netflix_elt.graph import GraphNode, Step

STAGE_OF_STEP = {Step.SEED: "seed", Step.TRANSFORM: "run", Step.SNAPSHOT: "snapshot", Step.TEST: "validate"}


def process_age() -> float | None:
    """Seconds since this process started (Linux: /proc, to 10 ms), or None where that is unknown."""
    try:
        stat = Path("/proc/self/stat").read_text()
        started = int(stat.rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, uptime - started)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timings:
    """Per-stage totals of one command; also a runner hook."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}

    def add(self, name: str, seconds: float) -> None:
        entry = self.stages.setdefault(name, {"seconds": 0.0, "peak_rss_mb": 0.0})
        entry["seconds"] += seconds
        entry["peak_rss_mb"] = _peak_rss_mb()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def after(self, index: int, total: int, gnode: GraphNode, result: NodeResult) -> None:
        if result.status != "skipped":
            self.add(STAGE_OF_STEP[gnode.step], result.execution_time)

    def write(self, target_dir: Path, invocation_id: str) -> Path:
        path = target_dir / "timings.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"invocation_id": invocation_id, "stages": self.stages}, indent=2))
        return path

    def summary(self) -> str:
        """`load 1.20s, run 3.40s, ...; peak RSS 812 MB` for the end of `build`."""
        if not self.stages:
            return ""
        parts = ", ".join(f"{k} {v['seconds']:.2f}s" for k, v in self.stages.items())
        return f"{parts}; peak RSS {max(v['peak_rss_mb'] for v in self.stages.values()):,.0f} MB"
