"""Generate and load at a scale: ``python benchmarks/load_bench.py --scale 20m``.

Prints the seconds and peak RSS of `netflix-elt extract --source synthetic` and of
`netflix-elt load` (the embedded engine: parse, PUT, COPY INTO, load history), each measured as
its own process by /usr/bin/time, and the rows loaded per RAW table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent / "netflix-elt")


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    started = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-f", "%M", CLI, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if res.returncode != 0:
        sys.exit(f"netflix-elt {' '.join(args)} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return seconds, int(res.stderr.strip().splitlines()[-1]) / 1024, res.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="20m")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="netflix-elt-load-bench-"))
    env = {**os.environ, "NETFLIX_ELT_HOME": str(work / "home"), "NETFLIX_ELT_TARGET_PATH": str(work / "target")}
    try:
        gen_s, gen_mb, _ = timed(
            ["extract", "--source", "synthetic", "--scale", args.scale, "--seed", str(args.seed)], env
        )
        load_s, load_mb, out = timed(["load"], env)
        print(f"scale {args.scale} on {os.cpu_count()} cores")
        print(f"generate: {gen_s:6.2f} s  peak RSS {gen_mb:,.0f} MB")
        print(f"load:     {load_s:6.2f} s  peak RSS {load_mb:,.0f} MB")
        for line in out.splitlines():
            if "RAW_" in line and "│" in line:
                print("  " + " ".join(line.replace("│", " ").split()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
