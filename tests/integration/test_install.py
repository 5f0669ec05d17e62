"""The install as a newcomer meets it (issue 16, items 1 and 8), offline.

- the wheel built from this working tree carries the example project and no top-level `transforms`;
- scripts/newcomer_path.sh: a fresh `git clone` of HEAD, `make demo`, then the README's next
  commands, checked against the landed CSV files read with the csv module;
- the wheel of that clone in its runtime-only venv, run from an empty folder: `--help`,
  `netflix-elt new DIR`, then extract + build inside DIR.

The clone installs requirements.lock from a wheelhouse (`make wheelhouse`; `make test` makes it)
with pip's --no-index: no network. Without one these tests skip, naming it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from netflix_elt.scaffold import EXAMPLE_FOLDERS
from tests.conftest import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts" / "newcomer_path.sh"
# settings of this session that a newcomer's shell does not have
SESSION_VARS = ("PYTHONPATH", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL") + tuple(
    f"NETFLIX_ELT_{name}" for name in ("HOME", "PROJECT_DIR", "TARGET_PATH", "TARGET", "PROFILE")
)


def _wheelhouse() -> Path:
    path = Path(os.environ.get("NETFLIX_ELT_WHEELHOUSE") or PROJECT_DIR / ".venv" / "wheelhouse")
    if not (path / ".complete").is_file() and not any(path.glob("*.whl")):
        pytest.skip(f"no wheelhouse of requirements.lock at {path}: `make wheelhouse` downloads it (make test does)")
    return path


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SESSION_VARS}
    return {**env, "COLUMNS": "200", **extra}  # wide enough that rich wraps no title


def _run(args: list[str], cwd: Path, timeout: float = 900, **extra: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=_clean_env(**extra), capture_output=True, text=True, timeout=timeout)
    return proc


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _example_files(root: Path) -> set[str]:
    """Relative paths of the example's files under root (caches left out), by os.walk."""
    out = set()
    for name in EXAMPLE_FOLDERS:
        for folder, dirs, files in os.walk(root / name):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            out |= {str((Path(folder) / f).relative_to(root)) for f in files if not f.endswith(".pyc")}
    return out


def _table_counts(output: str) -> dict[str, int]:
    """{SCHEMA.TABLE: rows} from the last `netflix-elt tables` printout in output."""
    last = output[output.rindex("MOVIELENS tables") :]
    rows = re.findall(r"│\s*(\w+)\s*│\s*(\w+)\s*│(?:[^│\n]*│)*?\s*([\d,]+)\s*│", last)
    return {f"{schema}.{table}": int(n.replace(",", "")) for schema, table, n in rows}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_wheel_carries_the_example_project_and_no_top_level_transforms(tmp_path: Path) -> None:
    tree = tmp_path / "src"
    files = _ok(_run(["git", "ls-files", "-co", "--exclude-standard"], PROJECT_DIR)).split()
    for rel in files:
        if (PROJECT_DIR / rel).is_file():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_DIR / rel, tree / rel)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", "dist", "."]
    _ok(_run(pip_wheel, tree, timeout=300))
    (wheel,) = (tree / "dist").glob("netflix_elt-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    example = {n.removeprefix("netflix_elt/example/") for n in names if n.startswith("netflix_elt/example/")}
    assert example == _example_files(PROJECT_DIR)
    assert {"config/netflix_elt.toml", "seeds/seed_movie_release_dates.csv", "dashboards/movielens.py"} <= example
    assert not [n for n in names if n.startswith("transforms/")]
    dist_info = {n.split("/", 1)[1] for n in names if ".dist-info/" in n}
    assert "licenses/LICENSE" in dist_info
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata and "Requires-Dist: PyYAML" in metadata


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """scripts/newcomer_path.sh run once: (the clone, everything it printed)."""
    wheelhouse = _wheelhouse()
    if shutil.which("git") is None or shutil.which("make") is None or not (PROJECT_DIR / ".git").exists():
        pytest.skip("needs git, make and a git checkout")
    clone = tmp_path_factory.mktemp("newcomer") / "netflix-elt"
    python = getattr(sys, "_base_executable", sys.executable)
    proc = _run(
        ["bash", str(SCRIPT), str(clone)],
        PROJECT_DIR,
        timeout=1700,
        NETFLIX_ELT_WHEELHOUSE=str(wheelhouse),
        PYTHON=python,
        PIP_NO_COMPILE="1",  # byte-compiling 84 packages is most of the install's time, and not under test
    )
    return clone, _ok(proc)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_fresh_clone_make_demo_then_the_readme_commands_show_the_demo_warehouse(newcomer: tuple[Path, str]) -> None:
    clone, out = newcomer
    print(out)  # the path as run: `pytest -rP` shows it
    landing = clone / ".netflix_elt" / "landing"
    batches = sorted(landing.glob("batch=*"))
    assert [b.name for b in batches] == ["batch=0001", "batch=0002"]
    assert (clone / ".netflix_elt" / "warehouse").is_dir() and not (clone / ".netflix_elt" / "demo").exists()
    # what `make demo` ends with tells how to run the CLI
    assert ".venv/bin/netflix-elt show dim_movies" in out and "source .venv/bin/activate" in out
    # the README's next command, right after make demo: the demo's own warehouse, not an empty one
    show = out[out.index("$ .venv/bin/netflix-elt show dim_movies") : out.rindex("$ .venv/bin/netflix-elt tables")]
    latest_movies = {r["movieId"]: r for r in _csv_rows(batches[-1] / "movies.csv")}  # raw_movies is a full extract
    shown = re.findall(r"│\s*(\d+)\s*│[^│]*│\s*([^│]*?)\s*│", show)
    assert len(shown) == 10
    for movie_id, genres in shown:
        assert latest_movies[movie_id]["genres"] == genres
    counts = _table_counts(out)
    assert counts["DEV.DIM_MOVIES"] == len(latest_movies)
    assert counts["RAW.RAW_MOVIES"] == sum(len(_csv_rows(b / "movies.csv")) for b in batches)
    assert counts["RAW.RAW_RATINGS"] == sum(len(_csv_rows(b / "ratings.csv")) for b in batches)
    # the venv holds the runtime lock only: no test tool came with make demo
    installed = _ok(_run([str(clone / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze"], clone))
    names = {line.split("==")[0].lower().replace("_", "-") for line in installed.split()}
    assert {"streamlit", "fakesnow", "great-expectations", "netflix-elt"} <= names
    assert not names & {"pytest", "hypothesis", "moto", "ruff", "selenium"}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_wheel_in_a_runtime_only_venv_runs_from_an_empty_folder_and_new_builds(
    newcomer: tuple[Path, str], tmp_path: Path
) -> None:
    clone, _ = newcomer
    venv_bin = clone / ".venv" / "bin"
    pip = [str(venv_bin / "python"), "-m", "pip"]
    _ok(
        _run(
            [
                str(venv_bin / "python"),
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                str(tmp_path / "dist"),
                ".",
            ],
            clone,
        )
    )
    (wheel,) = (tmp_path / "dist").glob("netflix_elt-*.whl")
    _ok(_run([*pip, "uninstall", "-q", "-y", "netflix-elt"], clone))  # the editable one
    _ok(_run([*pip, "install", "-q", "--no-index", "--no-deps", str(wheel)], clone))
    empty = tmp_path / "empty"
    empty.mkdir()
    cli = str(venv_bin / "netflix-elt")
    assert "new  " in _ok(_run([cli, "--help"], empty))
    where = _ok(_run([str(venv_bin / "python"), "-c", "import netflix_elt; print(netflix_elt.__file__)"], empty))
    assert "site-packages" in where and str(clone / "src") not in where
    assert _run([str(venv_bin / "python"), "-c", "import transforms"], empty).returncode == 1  # not in the wheel
    assert _run([cli, "show", "dim_movies"], empty).returncode == 2  # no project here: a usage error

    _ok(_run([cli, "new", "movielens"], empty))
    project = empty / "movielens"
    assert _example_files(project) == _example_files(clone)
    again = _run([cli, "new", "movielens"], empty)
    assert again.returncode == 2 and "is not empty" in again.stderr

    _ok(_run([cli, "extract", "--source", "synthetic", "--scale", "2000"], project))
    built = _ok(_run([cli, "build"], project))
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    assert results and {r["status"] for r in results} <= {"success", "pass"}, built
    movies = _csv_rows(project / ".netflix_elt" / "landing" / "batch=0001" / "movies.csv")
    counts = _table_counts(_ok(_run([cli, "tables"], project)))
    assert counts["DEV.DIM_MOVIES"] == len({r["movieId"] for r in movies})
    assert counts["RAW.RAW_RATINGS"] == len(
        _csv_rows(project / ".netflix_elt" / "landing" / "batch=0001" / "ratings.csv")
    )
