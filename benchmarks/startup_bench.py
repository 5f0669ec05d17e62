"""Small commands on the fixture, cold and from a warm process: ``python benchmarks/startup_bench.py``.

Builds a throwaway warehouse from ../shared/data/movielens/ml-latest-small (not counted), starts a
warm process (`netflix-elt warm start`, not counted), then runs each command `--repeat` times,
cold (NETFLIX_ELT_WARM=0) and warm interleaved, and prints the median wall seconds of each and
their ratio. The issue's figures are `validate -s dim_movies` and, for every command that connects
to the warehouse, when its session was ready (its first statements answered): the wall-clock time
of the command's debug event "session open ..." (`--log-level debug --log-format json`) less the
time this script started the command.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT.parent / "shared" / "data" / "movielens" / "ml-latest-small"
CLI = [str(Path(sys.executable).parent / "netflix-elt")]
COMMANDS = (["validate", "-s", "dim_movies"], ["show", "dim_movies"], ["ls"])
DEBUG_JSON = ["--log-level", "debug", "--log-format", "json"]


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float | None]:
    """(wall seconds, seconds until its session was ready or None where it opened none)."""
    started = time.time()
    t0 = time.perf_counter()
    res = subprocess.run([*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"netflix-elt {' '.join(args)} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return seconds, session_ready(res.stdout + "\n" + res.stderr, started)


def session_ready(output: str, started: float) -> float | None:
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "log" and str(event.get("message", "")).startswith("session open"):
            return datetime.fromisoformat(event["ts"]).timestamp() - started
    return None


def median_or_dash(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):6.2f}" if known else f"{'-':>6}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not (FIXTURE / "ratings.csv").is_file():
        sys.exit(f"the MovieLens fixture {FIXTURE} is absent (see ../shared/data/movielens/SOURCES.md)")
    work = Path(tempfile.mkdtemp(prefix="netflix-elt-startup-"))
    sockets = Path(tempfile.mkdtemp(prefix="nw-"))
    env = {**os.environ, "NETFLIX_ELT_HOME": str(work / "home"), "NETFLIX_ELT_TARGET_PATH": str(work / "target"),
           "NETFLIX_ELT_WARM_DIR": str(sockets)}  # fmt: skip
    cold = {**env, "NETFLIX_ELT_WARM": "0"}
    try:
        timed(["build", "--from", str(FIXTURE), "-q"], cold)
        t0 = time.perf_counter()
        timed(["warm", "start"], env)
        print(f"{os.cpu_count()} cores; warm process started in {time.perf_counter() - t0:.1f} s (not counted)")
        times: dict[tuple[str, str], list[float]] = {}
        ready: dict[tuple[str, str], list[float | None]] = {}
        for _ in range(args.repeat):
            for cmd in COMMANDS:
                for mode, e in (("cold", cold), ("warm", env)):
                    seconds, session = timed([*cmd, *DEBUG_JSON], e)
                    times.setdefault((" ".join(cmd), mode), []).append(seconds)
                    ready.setdefault((" ".join(cmd), mode), []).append(session)
        print(f"medians of {args.repeat} runs (s); 'session' = its session ready (first statements answered):")
        print(f"  {'command':<28} {'cold':>6} {'warm':>6} {'warm/cold':>9} {'session cold':>12} {'warm':>6}")
        for cmd in COMMANDS:
            name = " ".join(cmd)
            c, w = statistics.median(times[(name, "cold")]), statistics.median(times[(name, "warm")])
            rc, rw = median_or_dash(ready[(name, "cold")]), median_or_dash(ready[(name, "warm")])
            print(f"  {name:<28} {c:6.2f} {w:6.2f} {w / c:9.2f} {rc:>12} {rw}")
    finally:
        subprocess.run([*CLI, "warm", "stop"], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
