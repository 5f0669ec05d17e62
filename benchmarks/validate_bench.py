"""Time `netflix-elt validate` over a warehouse built from synthetic MovieLens data.

usage: python benchmarks/validate_bench.py [--scale 20m] [--home DIR] [--keep] [--reuse] [--cli]

Builds a throwaway warehouse (extract synthetic -> load -> seed -> run -> snapshot, without per-node tests),
then times one `validate` of every suite: one GX batch per table, every expectation as SQL in the
engine. Prints seconds for each step, validation per suite, and peak RSS of the process.

--home DIR --keep keeps the warehouse; --reuse then skips the build when DIR already holds one (to
time validate again after a change). --cli also times `netflix-elt validate` in a fresh process
(Python start, session start, GX import included: what a user waits for).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHAPE_GENERATOR = REPO.parent / "shared" / "anchors" / "gen_ml20m_shape.py"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def land(scale: str, landing: Path) -> str:
    """Synthetic files via the project's generator; the shape generator if that is unavailable."""
    try:
        from netflix_elt.ingest.extract import extract

        extract("synthetic", str(landing), scale=scale)
        return str(landing)
    except ImportError:
        folder = landing / "shape"
        from netflix_elt.movielens.generator import parse_scale

        subprocess.run([sys.executable, str(SHAPE_GENERATOR), str(folder), str(parse_scale(scale))], check=True)
        return str(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="20m", help="ratings: small, 500k, 2m, 20m ...")
    ap.add_argument("--home", default=None, help="state folder (default: a temp folder, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the state folder")
    ap.add_argument("--reuse", action="store_true", help="skip the build if --home already holds a warehouse")
    ap.add_argument("--cli", action="store_true", help="also time `netflix-elt validate` in a fresh process")
    args = ap.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="validate_bench_"))
    os.environ["NETFLIX_ELT_HOME"] = str(home / "home")
    os.environ["NETFLIX_ELT_TARGET_PATH"] = str(home / "target")
    from netflix_elt.api import Workspace

    timings: dict[str, float] = {}
    reuse = args.reuse and args.home and (home / "home" / "warehouse").is_dir()
    try:
        if not reuse:
            t = time.perf_counter()
            url = land(args.scale, home / "landing")
            timings["extract"] = time.perf_counter() - t
        with Workspace.from_options(REPO) as ws:
            if not reuse:
                t = time.perf_counter()
                ws.load(url)
                ws.seed()
                timings["load+seed"] = time.perf_counter() - t
                t = time.perf_counter()
                outcome = ws.run()
                snaps = ws.snapshot()
                outcome.results += snaps.results
                timings["run+snapshot"] = time.perf_counter() - t
                if not outcome.ok:
                    sys.exit(f"build failed: {[(r.name, r.message) for r in outcome.results if r.status != 'success']}")
            else:
                ws.session  # noqa: B018 - start the engine before the clock, as after a build
            rss_before = peak_rss_mb()
            from sqlalchemy import event
            from sqlalchemy.engine import Engine

            sent: list[str] = []

            def count_statement(conn: object, cursor: object, statement: str, *rest: object) -> None:
                sent.append(statement)

            event.listen(Engine, "before_cursor_execute", count_statement)
            cpu = cpu_seconds()
            t = time.perf_counter()
            report = ws.validate()
            timings["validate"] = time.perf_counter() - t
            cpu = cpu_seconds() - cpu
            event.remove(Engine, "before_cursor_execute", count_statement)
            rows = int(ws.session.sql(f"SELECT COUNT(*) FROM {ws.settings.database}.DEV.FCT_RATINGS").collect()[0][0])
        if args.cli:
            from netflix_elt.adapters.embedded import ENGINE

            ENGINE.shutdown()  # release the warehouse files so the fresh process can open them
            t = time.perf_counter()
            cli = [sys.executable, "-m", "netflix_elt.cli", "validate", "--project-dir", str(REPO)]
            proc = subprocess.run(cli, capture_output=True, text=True, check=False)
            timings["cli validate"] = time.perf_counter() - t
            if proc.returncode != 0:
                print(proc.stdout[-2000:], proc.stderr[-2000:])
        per_suite: dict[str, float] = {}
        for r in report.results:
            per_suite[r.suite] = per_suite.get(r.suite, 0.0) + r.execution_time
        counts: dict[str, int] = {}
        for r in report.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        print(f"scale={args.scale} fct_ratings rows={rows:,} expectations={len(report.results)} {counts}")
        for name, secs in sorted(per_suite.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<22} {secs:7.2f} s")
        for step, secs in timings.items():
            print(f"{step:<10} {secs:8.2f} s")
        print(f"validate seconds: {timings['validate']:.2f} ({len(sent)} SQL statements sent by GX)")
        # the embedded engine runs in this process: CPU time is steadier than wall time on a shared box
        print(f"validate CPU seconds (this process, engine included): {cpu:.2f}")
        print(f"peak RSS: {peak_rss_mb():.0f} MB (before validate: {rss_before:.0f} MB)")
        for r in report.results:
            if r.status not in ("pass",):
                print(f"  {r.suite}.{r.expectation}: {r.status} {r.unexpected_count} {r.message[:100]}")
    finally:
        if not args.keep and not args.home:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
