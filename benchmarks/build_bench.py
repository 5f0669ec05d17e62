"""netflix-elt build against dbt-duckdb and a plain-DuckDB floor, measured in the same run.

    python benchmarks/build_bench.py --scale 20m        (make bench)

1. Generates synthetic data at the scale (not counted), batch 1 and a +1% batch 2.
2. Times `netflix-elt build` on the embedded engine, per stage (load, seed, run, snapshot,
   validate, from target/timings.json) with peak RSS, then the incremental build after batch 2.
3. On the same batch-1 files runs the anchors from ../shared/anchors: the dbt peer (in its own
   virtual environment, created here: dbt-core<1.12 with dbt-duckdb) and the plain-DuckDB floor.
4. Prints a side-by-side table, `framework/dbt ratio`, and last `framework/floor ratio`
   (our load + run / the floor's load + transforms).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANCHORS = (ROOT / ".." / "shared" / "anchors").resolve()
BIN = Path(sys.executable).parent
DBT_VENV = ROOT / ".bench" / "dbt-venv"
STAGES = ("startup", "load", "seed", "run", "snapshot", "validate")


def sh(cmd: list[str], env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if check and res.returncode != 0:
        sys.exit(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds and peak RSS (MB) of a command, measured by /usr/bin/time."""
    started = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if res.returncode != 0:
        sys.exit(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    rss = int(res.stderr.strip().splitlines()[-1]) / 1024
    return seconds, rss, res


def dbt_venv() -> Path:
    """The dbt peer's own virtual environment (created once, then reused)."""
    if not (DBT_VENV / "bin" / "dbt").exists():
        print("creating the dbt peer's virtual environment (dbt-core<1.12, dbt-duckdb) ...", flush=True)
        sh([sys.executable, "-m", "venv", str(DBT_VENV)])
        sh([str(DBT_VENV / "bin" / "pip"), "install", "-q", "dbt-core<1.12", "dbt-duckdb"])
    return DBT_VENV / "bin"


def run_anchors(data_dir: Path, skip_dbt: bool) -> dict[str, float]:
    """Run ../shared/anchors/bench_peer.py on the same files and parse its lines."""
    out: dict[str, float] = {}
    if skip_dbt:
        return out
    bench = ANCHORS / "bench_peer.py"
    if not bench.is_file():
        print(f"anchors not found at {ANCHORS}: skipping the dbt peer and the floor")
        return out
    res = sh([str(dbt_venv() / "python"), str(bench), str(data_dir), str(dbt_venv())], check=False)
    print(res.stdout, end="")
    if res.returncode != 0:
        print(res.stderr[-2000:])
    for line in res.stdout.splitlines():
        m = re.match(r"^(.+?)\s+(\d+\.\d+) s(?:\s+peak (\d+) MB)?", line)
        if m:
            out[m.group(1).strip()] = float(m.group(2))
            if m.group(3):
                out[m.group(1).strip() + " rss"] = float(m.group(3))
    return out


def print_node_profile(target: Path, label: str, top: int = 8) -> None:
    """Where the time went: the slowest nodes of the last command (build + test seconds each)."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    slow = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:top]
    print(f"  slowest nodes of the {label}:")
    for r in slow:
        print(f"    {r['name']:<24} {r['execution_time']:6.2f} s  {r['status']:<8} {r['message'][:70]}")


def stage_times(target: Path) -> dict[str, dict[str, float]]:
    return json.loads((target / "timings.json").read_text())["stages"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="20m")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temp dir)")
    parser.add_argument("--skip-anchors", action="store_true", help="do not run the dbt peer and the floor")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="netflix-elt-bench-"))
    home, target = work / "home", work / "target"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    env = {**os.environ, "NETFLIX_ELT_HOME": str(home), "NETFLIX_ELT_TARGET_PATH": str(target)}
    cli = [str(BIN / "netflix-elt")]
    print(f"machine: {os.cpu_count()} cores; scale {args.scale}; work folder {work}", flush=True)

    t0 = time.perf_counter()
    sh([*cli, "extract", "--source", "synthetic", "--scale", args.scale, "--seed", str(args.seed)], env)
    print(f"generate batch 1 (not counted): {time.perf_counter() - t0:.1f} s", flush=True)
    batch1 = home / "landing" / "batch=0001"

    full_wall, full_rss, res = timed([*cli, "build"], env)
    if "ERROR" in res.stdout or "FAIL" in res.stdout:
        print(res.stdout[-3000:])
    full = stage_times(target)
    print(f"netflix-elt build: {full_wall:.2f} s wall, peak {full_rss:,.0f} MB", flush=True)
    print_node_profile(target, "full build")

    t0 = time.perf_counter()
    sh([*cli, "extract", "--source", "synthetic", "--scale", args.scale, "--seed", str(args.seed), "--batch", "2"], env)
    print(f"generate batch 2, +1% (not counted): {time.perf_counter() - t0:.1f} s", flush=True)
    inc_wall, inc_rss, _ = timed([*cli, "build"], env)
    inc = stage_times(target)
    print_node_profile(target, "incremental build")

    peer = run_anchors(batch1, args.skip_anchors)

    rows = [("stage", "netflix-elt s", "peak MB", "dbt peer s", "floor s")]
    peer_map = {"load": "peer: load (duckdb copy)", "seed": "peer: dbt seed", "run": "peer: dbt run",
                "snapshot": "peer: dbt snapshot", "validate": "peer: dbt test"}
    for st in STAGES:
        ours = full.get(st, {"seconds": 0.0, "peak_rss_mb": 0.0})
        rows.append((st, f"{ours['seconds']:.2f}", f"{ours['peak_rss_mb']:,.0f}",
                     f"{peer[peer_map[st]]:.2f}" if st in peer_map and peer_map[st] in peer else "-", ""))
    ours_total = full_wall
    peer_total = peer.get("peer: total")
    floor = peer.get("floor: load+transform")
    rows.append(("full build (wall)", f"{ours_total:.2f}", f"{full_rss:,.0f}",
                 f"{peer_total:.2f}" if peer_total else "-", f"{floor:.2f}" if floor else "-"))
    rows.append(("incremental +1% (wall)", f"{inc_wall:.2f}", f"{inc_rss:,.0f}",
                 f"{peer['peer: incremental dbt run']:.2f}" if "peer: incremental dbt run" in peer else "-", ""))
    inc_stages = ", ".join(f"{k} {v['seconds']:.2f}" for k, v in inc.items())
    print()
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    print(f"incremental stages: {inc_stages}")
    load_run = full.get("load", {}).get("seconds", 0) + full.get("run", {}).get("seconds", 0)
    if peer_total:
        print(f"framework/dbt ratio: {ours_total / peer_total:.2f}")
    if floor:
        print(f"framework/floor ratio: {load_run / floor:.2f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
