"""`netflix-elt new DIR`: write the MovieLens example project (the repository's own) into a new folder.

Why a module of its own, stdlib only: setup.py loads this file by path at wheel build time to copy
the same folders into the wheel as package data (`netflix_elt/example/`), so the list of what makes
a project lives in one place and a user who installed the wheel gets the project without a clone.
In a source checkout (editable install) there is no `netflix_elt/example/`: the folders are read
from the checkout itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# What a netflix-elt project is made of (the folders config/netflix_elt.toml and the CLI read)
EXAMPLE_FOLDERS = ("config", "transforms", "expectations", "seeds", "dashboards", "gx")
EXAMPLE_PACKAGE_DIR = "example"  # inside the netflix_elt package, in a built wheel
# caches, and what gx/.gitignore keeps out of the GX project (run output, not project files)
IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store", "uncommitted", "checkpoints", "validation_definitions"
)
GITIGNORE = ".netflix_elt/\ntarget/\n__pycache__/\n*.pyc\n"


class ScaffoldError(Exception):
    """The example cannot be written; the CLI reports it as a usage error (exit 2)."""


def example_source(package_dir: Path | None = None) -> Path:
    """The folder holding the example's folders: the wheel's package data, else the source checkout."""
    package_dir = package_dir or Path(__file__).resolve().parent
    for root in (package_dir / EXAMPLE_PACKAGE_DIR, package_dir.parent.parent):
        if all((root / name).is_dir() for name in EXAMPLE_FOLDERS):
            return root
    raise ScaffoldError(
        f"this installation of netflix-elt has no example project (looked in {package_dir / EXAMPLE_PACKAGE_DIR} "
        f"and {package_dir.parent.parent}); reinstall it from the wheel or a source checkout"
    )


def copy_example(source: Path, dest: Path) -> list[Path]:
    """Copy EXAMPLE_FOLDERS from `source` into `dest` (caches left out); returns the files written."""
    for name in EXAMPLE_FOLDERS:
        shutil.copytree(source / name, dest / name, ignore=IGNORED, dirs_exist_ok=True)
    return sorted(p for p in dest.rglob("*") if p.is_file())


def new_project(dest: Path, source: Path | None = None) -> list[Path]:
    """Write the example project into `dest`, which must not exist or be empty; all or nothing.

    The files go into a temporary folder beside `dest` first and are moved in with one rename, so
    a failure half-way (disk full, permissions) leaves `dest` as it was.
    """
    dest = dest.expanduser().absolute()
    if dest.exists() and not dest.is_dir():
        raise ScaffoldError(f"{dest} exists and is not a folder; choose a new folder name")
    if dest.is_dir() and any(dest.iterdir()):
        raise ScaffoldError(f"{dest} is not empty; `netflix-elt new` writes only into a new or empty folder")
    if not dest.parent.is_dir():
        raise ScaffoldError(f"the parent folder {dest.parent} does not exist")
    source = source or example_source()
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would outlive the rename
        copy_example(source, staging)
        (staging / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        if dest.is_dir():
            dest.rmdir()  # empty (checked above); rename needs the name free
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(p for p in dest.rglob("*") if p.is_file())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
