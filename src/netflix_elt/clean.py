"""`netflix-elt clean` (dbt clean): remove what commands leave behind, never data unless asked.

Removed: the artifacts folder (target/: run_results, manifest, compiled SQL, docs) and the
temporary folders of netflix-elt processes that have exited. The warehouse (the embedded engine's
DuckDB files) only with `warehouse=True`, and never on Snowflake; the landing zone never. The
warehouse lock is taken first without waiting, so a command running meanwhile is not pulled from
under (LockError, exit 3).
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from netflix_elt.config import CONFIG_FILE, Settings
from netflix_elt.errors import ConfigError


@dataclass(frozen=True)
class Removed:
    """One thing clean removed: its path, what it was, and how many files and bytes went with it."""

    path: Path
    what: str
    files: int
    bytes: int


def _size(path: Path) -> tuple[int, int]:
    if path.is_file() or path.is_symlink():
        return 1, path.lstat().st_size
    files = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    return len(files), sum(p.stat().st_size for p in files)


def check_target_dir(settings: Settings) -> Path:
    """The artifacts folder, refused when removing it would remove the project or more."""
    target = settings.target_dir.resolve()
    project = settings.project_dir.resolve()
    home = Path.home().resolve()
    if target == project or project.is_relative_to(target) or target in (home, Path(target.anchor)):
        raise ConfigError(
            f"the artifacts folder {target} (NETFLIX_ELT_TARGET_PATH or <project>/target) is the project folder, "
            "one of its parents, your home or the root; clean refuses to remove it"
        )
    if (target / CONFIG_FILE).is_file():
        raise ConfigError(f"the artifacts folder {target} holds a {CONFIG_FILE}: it looks like a project; not removed")
    return target


def clean(settings: Settings, *, warehouse: bool = False) -> list[Removed]:
    """Remove target/, temporary folders of exited processes and, with `warehouse`, the warehouse files."""
    from netflix_elt import tempfiles
    from netflix_elt.lock import lock_path, warehouse_lock

    if warehouse and settings.engine != "embedded":
        raise ConfigError(
            f"clean --warehouse removes the embedded engine's files; profile {settings.profile!r} is a "
            "Snowflake account, whose schemas clean never drops"
        )
    target = check_target_dir(settings)
    lock = lock_path(settings.state_dir)
    held = warehouse_lock(settings.state_dir, "netflix-elt clean", 0) if lock.parent.is_dir() else None
    removed: list[Removed] = []
    with held if held is not None else contextlib.nullcontext():
        if target.exists():
            removed.append(Removed(target, "artifacts folder", *_size(target)))
            shutil.rmtree(target)
        for folder in dict.fromkeys([*tempfiles.swept(), *tempfiles.sweep()]):  # the CLI sweeps at start
            removed.append(Removed(folder, "temporary folder of an exited netflix-elt process", 0, 0))
        if warehouse and lock.parent.is_dir():
            # everything but the lock file we hold: another command may be waiting on it
            parts = [p for p in sorted(lock.parent.iterdir()) if p.name != lock.name]
            if parts:
                files, size = map(sum, zip(*(_size(p) for p in parts), strict=True))
                removed.append(Removed(lock.parent, "warehouse (embedded engine files)", files, size))
            for p in parts:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    return removed


def kept_warehouse(settings: Settings) -> Path | None:
    """The warehouse folder clean left in place (for the message), if it holds anything."""
    folder = settings.warehouse_dir
    if settings.engine == "embedded" and folder.is_dir() and any(p.name != ".lock" for p in folder.iterdir()):
        return folder
    return None
