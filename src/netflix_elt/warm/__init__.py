"""A warm process for the CLI: what every command imports, imported once; each command a fork of it.

A `netflix-elt` command on the embedded engine spends most of its start in imports: Great
Expectations (scipy, altair, pydantic models), Snowpark, pandas, pyarrow and the emulator take
~3.7 s of CPU on a 2-core machine, and they hold the GIL while the command's own work waits. That is
most of `validate -s dim_movies` on the fixture (5.5 s) and a third of an incremental build. Like
Mercurial's chg or mypy's dmypy, `netflix-elt warm start` leaves a process that has done those
imports and nothing else (no session, no project, no warehouse); each command then runs in a fork
of it with the caller's arguments, folder, environment and terminal, and its exit code goes back
to the caller. Without a warm process (the default) every command runs as it always did.

What a fork does not change stays correct: the project's transforms, config and expectations are
read by the command itself, as in a cold process. What it would get wrong is a changed installation:
the warm process keeps the netflix_elt code and packages it imported, so it records a fingerprint of
them (`fingerprint`) and a caller whose fingerprint differs runs cold and stops the stale process.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from pathlib import Path

ENV_DIR = "NETFLIX_ELT_WARM_DIR"  # where the socket lives (default: the user's runtime folder)
ENV_OFF = "NETFLIX_ELT_WARM"  # "0": never use a warm process, even if one runs
IDLE_MINUTES = 60  # a warm process nobody used for this long exits

# imported by the warm process before it listens: the third-party packages commands import lazily.
# Not netflix_elt's own modules (a command imports them itself, so what they set up at import, such
# as the consoles' colour system for the caller's terminal, is the caller's) and not fakesnow (it
# makes its stage folder at import: each command must have its own)
PRELOAD = (
    "great_expectations",
    "snowflake.snowpark",
    "snowflake.snowpark.functions",
    "snowflake.connector",
    "snowflake.sqlalchemy",
    "sqlalchemy",
    "uvicorn",
    "starlette",
    "pandas",
    "pyarrow",
    "pyarrow.csv",
    "pyarrow.parquet",
    "duckdb",
    "sqlglot",
    "click",
    "rich",
    "pydantic",
    "yaml",
)
NOT_PRELOADED = ("fakesnow", "netflix_elt.cli", "netflix_elt.tempfiles")  # checked after the preload


def runtime_dir(create: bool = False) -> Path:
    """The folder of warm sockets: NETFLIX_ELT_WARM_DIR, else $XDG_RUNTIME_DIR/netflix-elt, else a
    per-user folder in the temp folder. `create` makes it private (0700); a folder that another user
    owns or others may write is refused (WarmDirError): its socket could be anybody's."""
    given = os.environ.get(ENV_DIR)
    if given:
        folder = Path(given)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "netflix-elt"
    else:
        folder = Path(tempfile.gettempdir()) / f"netflix-elt-{os.getuid()}"
    if create:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        st = folder.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            raise WarmDirError(
                f"{folder} is not a private folder of this user (owner uid {st.st_uid}, "
                f"mode {st.st_mode & 0o777:o}): set {ENV_DIR} to one"
            )
    return folder


class WarmDirError(Exception):
    """The socket folder is not safe to use."""


def socket_path(create: bool = False) -> Path:
    """One warm process per installation (this interpreter and this netflix_elt): its socket."""
    key = hashlib.sha256(f"{sys.prefix}\0{_package_dir()}".encode()).hexdigest()[:12]
    return runtime_dir(create) / f"warm-{key}.sock"


def lock_path(socket: Path) -> Path:
    """The file a warm process holds locked (flock) for as long as it runs: who may own the socket."""
    return socket.with_suffix(".lock")


def _package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def fingerprint() -> str:
    """The installation a warm process imported: netflix_elt's files (path, size, mtime) and the
    site-packages folders' mtimes (an install or upgrade changes them). Cheap: ~200 stat calls."""
    h = hashlib.sha256()
    root = _package_dir()
    for path in sorted(root.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for entry in sys.path:
        if entry.endswith("site-packages") and os.path.isdir(entry):
            h.update(f"{entry}\0{os.stat(entry).st_mtime_ns}\n".encode())
    return h.hexdigest()
