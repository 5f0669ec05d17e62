"""Kill `netflix-elt build` (SIGKILL) at many points; the next build must give the clean build's warehouse.

Two batches of the small synthetic data set: batch 1 exercises the first load, CTAS and snapshot
creation; batch 2 the delta load, the incremental MERGE of fct_ratings and the snapshot MERGEs.
Named points come from the test hook `NETFLIX_ELT_FAULT=point:N` (netflix_elt.faults); random
points are SIGKILLs after a delay drawn from `NETFLIX_ELT_CRASH_SEED`. Each outcome is compared
with an uninterrupted build by a fingerprint of every table (tests/robustness/crash_harness.py).
"""

from __future__ import annotations

import os
import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.robustness.crash_harness import Home, clone_home, copy_project, diff, fingerprint

SEED = int(os.environ.get("NETFLIX_ELT_CRASH_SEED", "8"))
RANDOM_KILLS = int(os.environ.get("NETFLIX_ELT_CRASH_RANDOM_KILLS", "3"))
ONLY = os.environ.get("NETFLIX_ELT_CRASH_ONLY", "")  # e.g. "snapshot." to debug one kind of fault


@dataclass
class Trial:
    batch: int  # 1: from an empty warehouse with batch 1 landed; 2: from batch 1 built, batch 2 landed
    fault: str | None = None  # NETFLIX_ELT_FAULT
    kill_after: float | None = None  # or a SIGKILL after this many seconds

    @property
    def label(self) -> str:
        return self.fault or f"random kill after {self.kill_after:.2f}s"


def plan(rng: random.Random, build_seconds: dict[int, float]) -> list[Trial]:
    """Every named point at least once (its N-th arrival drawn by the seed), then random kills."""
    trials = [
        Trial(1, f"load.copy:{rng.randint(1, 6)}"),  # 6 files in batch 1, inside the COPY transaction
        Trial(1, f"transform.build:{rng.randint(1, 6)}"),  # 6 tables in the first build
        Trial(2, f"load.copy:{rng.randint(1, 4)}"),
        Trial(2, f"transform.build:{rng.randint(1, 6)}"),
        Trial(2, "incremental.merge:1"),  # merged, watermark not advanced
        Trial(2, "incremental.upsert:1"),  # embedded upsert: replaced rows deleted, successors not inserted
        Trial(2, f"snapshot.work:{rng.randint(1, 2)}"),  # the run's versions stored, the snapshot untouched
        Trial(2, f"snapshot.merge:{rng.randint(1, 2)}"),  # versions closed, successors not inserted (one txn)
    ]
    for i in range(RANDOM_KILLS):
        batch = 1 + i % 2
        trials.append(Trial(batch, kill_after=rng.uniform(1.0, build_seconds[batch])))
    return [t for t in trials if ONLY in t.label]


@pytest.mark.timeout(900)
def test_build_survives_sigkill_anywhere(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    base = Home(tmp_path / "base", project)
    assert base.cli("extract", "--source", "synthetic", "--scale", "small")[0] == 0
    landing1 = tmp_path / "landing1"
    shutil.copytree(base.root / "home" / "landing", landing1)
    assert base.cli("extract", "--source", "synthetic", "--scale", "small", "--batch", "2")[0] == 0
    landing2 = tmp_path / "landing2"
    shutil.copytree(base.root / "home" / "landing", landing2)

    # the clean builds: batch 1 from nothing, then batch 2 on top of it
    empty = Home(tmp_path / "empty", project)
    empty.warehouse.mkdir(parents=True)
    ref1 = clone_home(empty, tmp_path / "ref1", landing1)
    started = time.monotonic()
    code, out = ref1.cli("build")
    seconds = {1: time.monotonic() - started}
    assert code == 0, out
    ref2 = clone_home(ref1, tmp_path / "ref2", landing2)
    started = time.monotonic()
    code, out = ref2.cli("build")
    seconds[2] = time.monotonic() - started
    assert code == 0, out
    expected = {1: fingerprint(ref1.warehouse), 2: fingerprint(ref2.warehouse)}
    assert expected[1] != expected[2] and all(v == (True,) for k, v in expected[2].items() if k.startswith("history:"))

    trials = plan(random.Random(SEED), seconds)

    def attempt(i: int, trial: Trial) -> str:
        start, landing = (empty, landing1) if trial.batch == 1 else (ref1, landing2)
        home = clone_home(start, tmp_path / f"trial{i}", landing)
        code, out = home.cli("build", fault=trial.fault, kill_after=trial.kill_after)
        if trial.fault:
            assert code == -9, f"{trial.label}: the fault point was not reached (exit {code}):\n{out}"
        killed = "killed" if code == -9 else f"finished first (exit {code})"
        code, out = home.cli("build")
        assert code == 0, f"{trial.label}: the build after the crash failed:\n{out}"
        problems = diff(expected[trial.batch], fingerprint(home.warehouse))
        assert not problems, f"{trial.label} (batch {trial.batch}, seed {SEED}):\n" + "\n".join(problems)
        shutil.rmtree(home.root, ignore_errors=True)
        return f"batch {trial.batch} {trial.label}: {killed}; rebuilt == clean"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda it: attempt(*it), enumerate(trials)))
    print("\n" + "\n".join(outcomes))
