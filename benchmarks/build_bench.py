"""netflix-elt build against dbt-duckdb and a plain-DuckDB floor, measured in the same run.

    python benchmarks/build_bench.py --scale 20m --repeat 3        (make bench)

1. Generates synthetic data at the scale (not counted), batch 1 and a +1% batch 2, once.
2. Each round, interleaved so that one noisy moment does not decide: `netflix-elt build` on the
   embedded engine from an empty warehouse (per stage from target/timings.json, peak RSS), the
   incremental build after batch 2, then on the same batch-1 files the anchors from
   ../shared/anchors: the dbt peer (its own virtual environment, created here: dbt-core<1.12 with
   dbt-duckdb, including its incremental run after +1% ratings) and the plain-DuckDB floor.
3. Prints the medians side by side and the ratios of medians: `framework/dbt ratio`,
   `incremental framework/dbt ratio`, `framework/floor ratio` (our load + run / the floor's load +
   transforms), and writes every round's figures as JSON under target/bench/.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
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
        print(f"  {k:<28} {sec:7.2f} s  peak {rss:,.0f} MB", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def print_node_profile(target: Path, label: str, top: int = 8) -> None:
    """Where the time went: the slowest nodes of the last command (build + test seconds each)."""
    from netflix_elt.artifacts import read_results

    results = read_results(target)  # dbt's rows with the manifest's names put back
    slow = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:top]
    print(f"  slowest nodes of the {label}:")
    for r in slow:
        print(f"    {r['name']:<24} {r['execution_time']:6.2f} s  {r['status']:<8} {(r['message'] or '')[:70]}")


def stage_times(target: Path) -> dict[str, dict[str, float]]:
    return json.loads((target / "timings.json").read_text())["stages"]


def add_stages(out: dict[str, float], target: Path, prefix: str, peak: str) -> None:
    """The last command's seconds per stage into `out` (keys `prefix` + stage), and its peak RSS:
    from a warm process /usr/bin/time sees only the client, the command's own peak is in timings.json."""
    stages = stage_times(target)
    for st, v in stages.items():
        out[f"{prefix}{st}"] = v["seconds"]
    out[peak] = max(out[peak], *(v["peak_rss_mb"] for v in stages.values()))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run_ours(
    cli: list[str], gen: Path, home: Path, target: Path, extra: dict[str, str] | None = None
) -> dict[str, float]:
    """One netflix-elt full build on batch 1, then the incremental build after batch 2 (a fresh home);
    `extra`: environment for both (the warm process's folder, or NETFLIX_ELT_WARM=0)."""
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    (home / "landing").mkdir(parents=True)
    shutil.copytree(gen / "batch=0001", home / "landing" / "batch=0001")
    env = {**os.environ, "NETFLIX_ELT_HOME": str(home), "NETFLIX_ELT_TARGET_PATH": str(target), **(extra or {})}
    out: dict[str, float] = {}
    out["full build (wall)"], out["full build peak MB"], res = timed([*cli, "build"], env)
    if "ERROR" in res.stdout or "FAIL" in res.stdout:
        print(res.stdout[-3000:])
    add_stages(out, target, "", "full build peak MB")
    print(f"netflix-elt build: {out['full build (wall)']:.2f} s wall, peak {out['full build peak MB']:,.0f} MB")
    print_node_profile(target, "full build")
    shutil.copytree(gen / "batch=0002", home / "landing" / "batch=0002")
    out["incremental +1% (wall)"], out["incremental peak MB"], _ = timed([*cli, "build"], env)
    add_stages(out, target, "incremental ", "incremental peak MB")
    print(f"netflix-elt incremental build: {out['incremental +1% (wall)']:.2f} s wall")
    print_node_profile(target, "incremental build")
    shutil.rmtree(home, ignore_errors=True)
    return out


def start_warm(cli: list[str], work: Path) -> dict[str, str]:
    """A warm process of the benchmark's own (its socket folder under `work`); its start is not counted."""
    folder = Path(tempfile.mkdtemp(prefix="nw-bench-"))
    env = {"NETFLIX_ELT_WARM_DIR": str(folder)}
    t0 = time.perf_counter()
    sh([*cli, "warm", "start"], {**os.environ, **env})
    print(f"warm process started (not counted): {time.perf_counter() - t0:.1f} s", flush=True)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="20m")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of netflix-elt, peer, floor (medians reported)")
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temp dir)")
    parser.add_argument("--skip-anchors", action="store_true", help="do not run the dbt peer and the floor")
    parser.add_argument("--json", type=Path, default=ROOT / "target" / "bench", help="folder for the figures as JSON")
    parser.add_argument(
        "--warm",
        action="store_true",
        help="also run netflix-elt from a warm process (`netflix-elt warm start`) in every round",
    )
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="netflix-elt-bench-"))
    gen_home = work / "generated"
    cli = [str(BIN / "netflix-elt")]
    print(f"machine: {os.cpu_count()} cores; scale {args.scale}; {args.repeat} rounds; work folder {work}", flush=True)
    landing = gen_home / "landing"
    if not (landing / "batch=0002" / "manifest.json").is_file():
        shutil.rmtree(gen_home, ignore_errors=True)
        env = {**os.environ, "NETFLIX_ELT_HOME": str(gen_home)}
        t0 = time.perf_counter()
        for batch in ("1", "2"):  # batch 2: +1% ratings, and the deltas of the other files
            sh([*cli, "extract", "--source", "synthetic", "--scale", args.scale, "--seed", str(args.seed),
                "--batch", batch], env)  # fmt: skip
        print(f"generate batches 1 and 2 (not counted): {time.perf_counter() - t0:.1f} s", flush=True)

    rounds: list[dict[str, float]] = []
    warm_env = start_warm(cli, work) if args.warm else None
    try:
        for r in range(1, args.repeat + 1):
            print(f"--- round {r} of {args.repeat}", flush=True)
            ours = run_ours(cli, landing, work / "home", work / "target", {"NETFLIX_ELT_WARM": "0"})
            hot = {}
            if warm_env is not None:
                print("netflix-elt from the warm process:", flush=True)
                hot = run_ours(cli, landing, work / "home", work / "target", warm_env)
            peer = run_anchors(landing / "batch=0001", args.skip_anchors)
            rounds.append({**{f"ours: {k}": v for k, v in ours.items()}, **{f"warm: {k}": v for k, v in hot.items()},
                           **{k: v[0] for k, v in peer.items()}})  # fmt: skip
    finally:
        if warm_env is not None:
            sh([*cli, "warm", "stop"], {**os.environ, **warm_env}, check=False)
    med = {k: median([r[k] for r in rounds if k in r]) for k in rounds[0]}

    rows = [("stage", "netflix-elt s", "dbt peer s", "floor s")]
    peer_map = {"load": "peer: load (duckdb copy)", "seed": "peer: dbt seed", "run": "peer: dbt run",
                "snapshot": "peer: dbt snapshot", "validate": "peer: dbt test"}  # fmt: skip
    for st in STAGES:
        rows.append(
            (
                st,
                f"{med.get(f'ours: {st}', 0.0):.2f}",
                f"{med[peer_map[st]]:.2f}" if peer_map.get(st) in med else "-",
                "",
            )
        )
    floor = med.get("floor: load+transform")
    peer_total, peer_inc = med.get("peer: total"), med.get("peer: incremental dbt run")
    full, inc = med["ours: full build (wall)"], med["ours: incremental +1% (wall)"]
    rows.append(
        (
            "full build (wall)",
            f"{full:.2f}",
            f"{peer_total:.2f}" if peer_total else "-",
            f"{floor:.2f}" if floor else "-",
        )
    )
    rows.append(("incremental +1% (wall)", f"{inc:.2f}", f"{peer_inc:.2f}" if peer_inc else "-", ""))
    print(f"\nmedians of {args.repeat} rounds:")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    inc_stages = ", ".join(
        f"{k[len('ours: incremental ') :]} {v:.2f}"
        for k, v in med.items()
        if k.startswith("ours: incremental ") and k[len("ours: incremental ") :] in STAGES
    )
    print(f"incremental stages: {inc_stages}")
    peaks = med["ours: full build peak MB"], med["ours: incremental peak MB"]
    print(f"peak RSS: full build {peaks[0]:,.0f} MB, incremental {peaks[1]:,.0f} MB")
    load_run = med.get("ours: load", 0.0) + med.get("ours: run", 0.0)
    ratios = {}
    if peer_total:
        ratios["framework/dbt ratio"] = full / peer_total
    if peer_inc:
        ratios["incremental framework/dbt ratio"] = inc / peer_inc
    if floor:
        ratios["framework/floor ratio"] = load_run / floor
    if warm_env is not None:
        wfull, winc = med["warm: full build (wall)"], med["warm: incremental +1% (wall)"]
        wpeaks = med["warm: full build peak MB"], med["warm: incremental peak MB"]
        print(f"from the warm process: full build {wfull:.2f} s, incremental +1% {winc:.2f} s; "
              f"peak RSS {wpeaks[0]:,.0f} MB, {wpeaks[1]:,.0f} MB")  # fmt: skip
        if peer_total:
            ratios["warm framework/dbt ratio"] = wfull / peer_total
        if peer_inc:
            ratios["warm incremental framework/dbt ratio"] = winc / peer_inc
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}")
    args.json.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.json / f"build_bench_{args.scale}_{stamp}.json"
    figures = {"scale": args.scale, "repeat": args.repeat, "cores": os.cpu_count(), "at": stamp, "warm": args.warm,
               "rounds": rounds, "medians": med, "ratios": ratios}  # fmt: skip
    out.write_text(json.dumps(figures, indent=2))
    print(f"figures: {out}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
