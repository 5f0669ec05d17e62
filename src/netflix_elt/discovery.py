"""What the project folder holds: every transform module, and seed files the config does not declare.

Why here and not `pkgutil.walk_packages`: that walks only folders with an `__init__.py`, so a new
`transforms/intermediate/` without one was skipped silently and its transforms never ran. Here every
folder under the transforms package is imported (a folder without `__init__.py` as a namespace
package), and a folder or file whose name Python cannot import is an error naming it.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
from pathlib import Path
from types import ModuleType

from netflix_elt.config import CONFIG_FILE, IDENTIFIER, Settings
from netflix_elt.errors import GraphError

log = logging.getLogger("netflix_elt")
_SKIP_DIRS = {"__pycache__"}
_DUCKDB_TYPES = {
    "BIGINT": "INTEGER",
    "INTEGER": "INTEGER",
    "SMALLINT": "INTEGER",
    "TINYINT": "INTEGER",
    "HUGEINT": "INTEGER",
    "DOUBLE": "FLOAT",
    "FLOAT": "FLOAT",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "BOOLEAN": "BOOLEAN",
}


def module_names(package: str, folders: list[str]) -> list[str]:
    """Dotted names of every module under the package's folders, sorted (so imports run in a stable order).

    A folder holding Python files whose name is not an identifier (`my-models/`) cannot be imported:
    GraphError names it (it would otherwise be skipped silently). Hidden folders and `__pycache__` are
    not transforms; a folder without any `.py` file below it (data, notes) is left alone.
    """
    names: list[str] = []
    for top in folders:
        for here, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
            rel = Path(here).relative_to(top)
            if rel.parts and not _holds_python(Path(here)):
                dirs[:] = []
                continue
            bad = next((p for p in rel.parts if not p.isidentifier()), None)
            if bad is not None:
                raise GraphError(
                    f"folder {here} holds Python files but {bad!r} is not a valid package name (letters, digits "
                    f"and _, not starting with a digit), so its transforms cannot be imported: rename it"
                )
            prefix = ".".join((package, *rel.parts))
            if rel.parts:
                names.append(prefix)
            for f in sorted(files):
                if not f.endswith(".py") or f == "__init__.py":
                    continue
                stem = f[:-3]
                if not stem.isidentifier():
                    raise GraphError(
                        f"file {Path(here) / f}: {stem!r} is not a valid module name (letters, digits and _), "
                        "so its transforms cannot be imported: rename it"
                    )
                names.append(f"{prefix}.{stem}")
    return sorted(dict.fromkeys(names))


def _holds_python(folder: Path) -> bool:
    return any(p.suffix == ".py" and "__pycache__" not in p.parts for p in folder.rglob("*.py"))


def import_package(package: str, project_dir: Path) -> list[ModuleType]:
    """Import the transforms package (from the project folder) and every module in every folder below it."""
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError as e:
        raise GraphError(f"transforms package {package!r} not found in {project_dir}: {e}") from None
    folders = [str(p) for p in getattr(root, "__path__", [])]
    return [root, *(importlib.import_module(name) for name in module_names(package, folders))]


def undeclared_seeds(settings: Settings) -> list[Path]:
    """CSV files in the seeds folder that no `[seeds.*]` section names (they are not loaded)."""
    folder = settings.project_dir / settings.config.project.seeds
    if not folder.is_dir():
        return []
    declared = {(folder / s.file).resolve() for s in settings.config.seeds.values()}
    found = (p for p in folder.rglob("*") if p.suffix.lower() == ".csv" and p.is_file())
    return sorted(p for p in found if p.resolve() not in declared)


def seed_suggestion(settings: Settings, path: Path) -> str:
    """The warning for an undeclared seed file: its name, and the TOML lines that would load it."""
    folder = settings.project_dir / settings.config.project.seeds
    rel = path.relative_to(folder).as_posix()
    name = re.sub(r"[^A-Za-z0-9_]", "_", path.stem).lower()
    name = name if IDENTIFIER.match(name) else f"seed_{name}"
    columns = ", ".join(f'{c} = "{t}"' for c, t in _guess_columns(path))
    config = settings.project_dir / CONFIG_FILE
    return (
        f"seed file {path.relative_to(settings.project_dir)} is not declared in {config} and is not loaded; "
        f'to load it, add (column types guessed from the file):\n[seeds.{name}]\nfile = "{rel}"\n'
        f"columns = {{ {columns} }}"
    )


def _guess_columns(path: Path) -> list[tuple[str, str]]:
    """Column names and types DuckDB's sniffer reads, as config types; VARCHAR when it cannot tell."""
    import duckdb

    con = duckdb.connect()
    try:
        rel = con.execute("SELECT * FROM read_csv(?, header = true) LIMIT 0", [str(path)])
        return [(d[0], _DUCKDB_TYPES.get(str(d[1]).upper(), "VARCHAR")) for d in rel.description or []]
    except duckdb.Error:
        return [("column_name", "VARCHAR")]
    finally:
        con.close()


def warn_undeclared_seeds(settings: Settings) -> list[str]:
    """Log one warning per undeclared seed file (logger `netflix_elt`); returns the messages."""
    messages = [seed_suggestion(settings, p) for p in undeclared_seeds(settings)]
    for m in messages:
        log.warning(m)
    return messages
