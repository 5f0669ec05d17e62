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
import ast
import json
import os
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


def anchor_sql() -> tuple[str, str]:
    """The anchors' own LOAD and FLOOR SQL, read from ../shared/anchors/bench_peer.py.

    One fix, the same for both peers: their CSV COPY sets `quote '"'` but no `escape '"'`, so
    DuckDB rejects GroupLens titles with doubled quotes (`\"\"\"Silent Hunter\"\" Doctor (1961)\"`),
    which real MovieLens files and our generator contain.
    """
    tree = ast.parse((ANCHORS / "bench_peer.py").read_text())
    consts = {
        t.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    load = consts["LOAD"].replace("quote '\"')", "quote '\"', escape '\"')")
    return load, consts["FLOOR"]


def run_anchors(data_dir: Path, skip: bool) -> dict[str, tuple[float, float]]:
    """The floor and the dbt peer, step by step as ../shared/anchors/bench_peer.py runs them."""
    out: dict[str, tuple[float, float]] = {}
    if skip or not (ANCHORS / "bench_peer.py").is_file():
        print(f"anchors skipped ({'--skip-anchors' if skip else f'not found at {ANCHORS}'})")
        return out
    dbt_bin = dbt_venv()
    py, dbt = str(dbt_bin / "python"), str(dbt_bin / "dbt")
    load, floor = anchor_sql()
    tmp = Path(tempfile.mkdtemp(prefix="netflix-elt-anchors-"))
    floor_db, peer_db = tmp / "floor.duckdb", tmp / "peer.duckdb"
    code = f"import duckdb; duckdb.connect({str(floor_db)!r}).execute({(load.format(d=data_dir) + floor)!r})"
    out["floor: load+transform"] = timed([py, "-c", code], dict(os.environ))[:2]
    env = dict(os.environ, PEER_DB=str(peer_db), DBT_PROFILES_DIR=str(ANCHORS / "dbt_peer"))
    proj = ["--project-dir", str(ANCHORS / "dbt_peer"), "--target-path", str(tmp / "target"), "--log-path", str(tmp)]
    code = f"import duckdb; duckdb.connect({str(peer_db)!r}).execute({load.format(d=data_dir)!r})"
    out["peer: load (duckdb copy)"] = timed([py, "-c", code], env)[:2]
    for step in ("seed", "run", "snapshot", "test"):
        out[f"peer: dbt {step}"] = timed([dbt, step, *proj], env)[:2]
    out["peer: total"] = (sum(out[k][0] for k in out if k.startswith("peer:")), 0.0)
    inc = (
        f"import duckdb; c=duckdb.connect({str(peer_db)!r}); "
        "n=c.execute('select count(*) from raw.raw_ratings').fetchone()[0]//100; "
        'c.execute(f\'insert into raw.raw_ratings select userid, movieid, rating, "timestamp" + 100000000 '
        "from raw.raw_ratings using sample {n} rows')"
    )
    timed([py, "-c", inc], env)
    out["peer: incremental dbt run"] = timed([dbt, "run", *proj], env)[:2]
    for k, (sec, rss) in out.items():
        print(f"  {k:<28} {sec:7.2f} s  peak {rss:,.0f} MB")
    shutil.rmtree(tmp, ignore_errors=True)
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
    parser.add_argument("--only-anchors", action="store_true", help="run just the anchors on the kept batch 1")
    args = parser.parse_args(argv)
    if args.only_anchors:
        run_anchors((args.keep or Path(".")) / "home" / "landing" / "batch=0001", False)
        return 0

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
    peer_map = {
        "load": "peer: load (duckdb copy)",
        "seed": "peer: dbt seed",
        "run": "peer: dbt run",
        "snapshot": "peer: dbt snapshot",
        "validate": "peer: dbt test",
    }
    for st in STAGES:
        ours = full.get(st, {"seconds": 0.0, "peak_rss_mb": 0.0})
        rows.append(
            (
                st,
                f"{ours['seconds']:.2f}",
                f"{ours['peak_rss_mb']:,.0f}",
                f"{peer[peer_map[st]][0]:.2f}" if st in peer_map and peer_map[st] in peer else "-",
                "",
            )
        )
    ours_total = full_wall
    peer_total = peer["peer: total"][0] if "peer: total" in peer else None
    floor = peer["floor: load+transform"][0] if "floor: load+transform" in peer else None
    rows.append(
        (
            "full build (wall)",
            f"{ours_total:.2f}",
            f"{full_rss:,.0f}",
            f"{peer_total:.2f}" if peer_total else "-",
            f"{floor:.2f}" if floor else "-",
        )
    )
    rows.append(
        (
            "incremental +1% (wall)",
            f"{inc_wall:.2f}",
            f"{inc_rss:,.0f}",
            f"{peer['peer: incremental dbt run'][0]:.2f}" if "peer: incremental dbt run" in peer else "-",
            "",
        )
    )
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
