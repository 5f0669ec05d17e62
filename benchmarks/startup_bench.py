"""Small commands on the fixture, cold and from a warm process: ``python benchmarks/startup_bench.py``.

Builds a throwaway warehouse from ../shared/data/movielens/ml-latest-small (not counted), starts a
warm process (`netflix-elt warm start`, not counted), then runs each command `--repeat` times,
cold (NETFLIX_ELT_WARM=0) and warm interleaved, and prints the median wall seconds of each and
their ratio. The issue's figure is `validate -s dim_movies`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT.parent / "shared" / "data" / "movielens" / "ml-latest-small"
CLI = [str(Path(sys.executable).parent / "netflix-elt")]
COMMANDS = (["validate", "-s", "dim_movies"], ["show", "dim_movies"], ["ls"])


def timed(args: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run([*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"netflix-elt {' '.join(args)} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return seconds


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
        for _ in range(args.repeat):
            for cmd in COMMANDS:
                for mode, e in (("cold", cold), ("warm", env)):
                    times.setdefault((" ".join(cmd), mode), []).append(timed(cmd, e))
        print(f"medians of {args.repeat} runs (s):")
        print(f"  {'command':<28} {'cold':>6} {'warm':>6} {'warm/cold':>9}")
        for cmd in COMMANDS:
            name = " ".join(cmd)
            c, w = statistics.median(times[(name, "cold")]), statistics.median(times[(name, "warm")])
            print(f"  {name:<28} {c:6.2f} {w:6.2f} {w / c:9.2f}")
    finally:
        subprocess.run([*CLI, "warm", "stop"], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
