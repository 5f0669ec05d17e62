"""Time the synthetic generator: ``python benchmarks/generate_bench.py --scale 20m [--out DIR]``.

Prints wall-clock seconds, data rows and bytes per file, and peak RSS (getrusage), so the
"20m in under a minute, bounded memory" budget can be checked on any machine.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from netflix_elt.movielens.generator import generate, parse_scale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="20m", help="small, 500k, 2m, 20m or a number of ratings")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep the files here (default: a temp dir)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="netflix-elt-bench-"))
    try:
        started = time.perf_counter()
        counts = generate(out, scale=args.scale, seed=args.seed, batch=args.batch)
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
        print(f"scale {args.scale} ({parse_scale(args.scale):,} ratings), seed {args.seed}, batch {args.batch}")
        print(f"generate seconds: {seconds:.1f}")
        total = 0
        for name, rows in counts.items():
            size = (out / name).stat().st_size
            total += size
            print(f"  {name:<20} {rows:>12,} rows {size / 1e6:>10.1f} MB")
        print(f"  {'total':<20} {'':>17} {total / 1e6:>10.1f} MB")
        print(f"peak RSS: {peak_mb:.0f} MB")
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
