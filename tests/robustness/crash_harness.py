"""Helpers of the crash-safety test: a copy of the project, CLI subprocesses, warehouse fingerprints.

The fingerprint is computed inside DuckDB (the embedded engine's storage), reading the warehouse
file directly once the CLI process has exited: per table, the row count and an order-independent
sum of row hashes over every column except those that legitimately differ between runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PROJECT_DIR

CLI = [str(Path(sys.executable).with_name("netflix-elt"))]
# load and snapshot timestamps differ between any two runs; AUDIT holds per-run bookkeeping
VOLATILE = {"_LOADED_AT", "LOADED_AT", "REJECTED_AT", "VALID_FROM", "VALID_TO", "UPDATED_AT", "SNAPSHOT_ROW_ID"}
SKIP_SCHEMAS = {"AUDIT", "information_schema", "pg_catalog", "main"}
SNAPSHOT_KEYS = {"SNAP_TAGS": ("USER_ID", "MOVIE_ID", "TAG"), "SNAP_MOVIES": ("MOVIE_ID",)}


def copy_project(dest: Path) -> Path:
    """The project without expectations/ (no data tests: a third of a build's time, and not under test)."""
    dest.mkdir(parents=True)
    for part in ("config", "seeds", "transforms"):
        shutil.copytree(PROJECT_DIR / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@dataclass
class Home:
    """One isolated state folder + target folder for a CLI subprocess."""

    root: Path
    project: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NETFLIX_ELT_")}
        env.update(NETFLIX_ELT_HOME=str(self.root / "home"), NETFLIX_ELT_TARGET_PATH=str(self.root / "target"))
        return env

    @property
    def warehouse(self) -> Path:
        return self.root / "home" / "warehouse"

    def cli(self, *args: str, fault: str | None = None, kill_after: float | None = None) -> tuple[int, str]:
        """Run `netflix-elt ARGS`; SIGKILL it after `kill_after` seconds. Returns (returncode, output)."""
        env = self.env
        if fault:
            env["NETFLIX_ELT_FAULT"] = fault
        cmd = [*CLI, *args, "--project-dir", str(self.project)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if kill_after is None:
            out, _ = proc.communicate(timeout=300)
            return proc.returncode, out
        try:
            out, _ = proc.communicate(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate(timeout=30)
        return proc.returncode, out


def clone_home(src: Home, dest_root: Path, landing: Path) -> Home:
    """A new home holding a copy of src's warehouse and the given landing folder."""
    home = Home(dest_root, src.project)
    (dest_root / "home").mkdir(parents=True)
    if src.warehouse.exists():
        shutil.copytree(src.warehouse, home.warehouse)
    shutil.copytree(landing, dest_root / "home" / "landing")
    return home


def fingerprint(warehouse: Path) -> dict[str, tuple]:
    """Per table (and view name) of the warehouse: (row count, sum of row hashes), plus invariants."""
    import duckdb

    out: dict[str, tuple] = {}
    deadline = time.monotonic() + 10
    while True:  # the killed process's file handle may take a moment to go
        try:
            con = duckdb.connect(str(warehouse / "MOVIELENS.db"), read_only=True)
            break
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        rows = con.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE table_catalog = 'MOVIELENS' ORDER BY 1, 2"
        ).fetchall()
        for schema, name, kind in rows:
            if schema in SKIP_SCHEMAS or schema.startswith("_fs"):
                continue
            rel = f'"{schema}"."{name}"'
            if kind == "VIEW":
                out[f"{schema}.{name}"] = ("view",)
                continue
            cols = [c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {rel})").fetchall()]
            kept = ", ".join(f'"{c}"' for c in cols if c.upper() not in VOLATILE)
            out[f"{schema}.{name}"] = con.execute(f"SELECT COUNT(*), SUM(hash({kept}))::HUGEINT FROM {rel}").fetchone()
        for name, keys in SNAPSHOT_KEYS.items():
            if f"SNAPSHOTS.{name}" not in out:
                continue
            on = " AND ".join(f'b."{k}" = a."{k}"' for k in keys)
            # a closed version with no successor starting when it ended: a gap in the history (a
            # delete, or a MERGE cut between its UPDATE and its INSERT); compared with a clean run
            out[f"gaps:{name}"] = con.execute(
                f'SELECT COUNT(*) FROM SNAPSHOTS."{name}" a WHERE a.VALID_TO IS NOT NULL AND NOT EXISTS '
                f'(SELECT 1 FROM SNAPSHOTS."{name}" b WHERE {on} AND b.VALID_FROM = a.VALID_TO)'
            ).fetchone()
            out[f"current:{name}"] = con.execute(
                f'SELECT COUNT(*), COUNT(DISTINCT ({", ".join(keys)})) FROM SNAPSHOTS."{name}" WHERE IS_CURRENT'
            ).fetchone()
        if "RAW.LOAD_HISTORY" in out:
            # every history row matches the rows of its load in its RAW table, and nothing else is there
            hist = con.execute("SELECT SOURCE_TABLE, LOAD_ID, ROWS_LOADED FROM RAW.LOAD_HISTORY").fetchall()
            by_table: dict[str, set[tuple[int, int]]] = {}
            for table, load_id, n in hist:
                if n:
                    by_table.setdefault(table, set()).add((load_id, n))
            for table in {t for t, *_ in hist} | {k.split(".")[1] for k in out if k.startswith("RAW.RAW_")}:
                got = set(con.execute(f'SELECT "_LOAD_ID", COUNT(*) FROM RAW."{table}" GROUP BY 1').fetchall())
                out[f"history:{table}"] = (got == by_table.get(table, set()),)
    finally:
        con.close()
    return out


def diff(expected: dict[str, tuple], got: dict[str, tuple]) -> list[str]:
    return [
        f"{k}: expected {expected.get(k)}, got {got.get(k)}"
        for k in sorted(set(expected) | set(got))
        if expected.get(k) != got.get(k)
    ]
