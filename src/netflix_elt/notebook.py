"""`netflix_elt.connect()`: a ready Snowpark session for notebooks, beside the CLI.

On the embedded engine the session holds the warehouse lock (netflix_elt.lock) for as long as it
is open, under the command `python (netflix_elt.connect)`: a CLI command started meanwhile fails
at once with the lock's message naming this process (exit 3), never DuckDB's file conflict as an
HTTP 500, and `connect()` while a CLI command writes raises LockError naming it.
`netflix_elt.close_session(session)` releases the warehouse (or let the interpreter exit).
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.adapters import adapter_for
from netflix_elt.config import load_settings
from netflix_elt.errors import ConfigError

if TYPE_CHECKING:
    from snowflake.snowpark import Session

COMMAND = "python (netflix_elt.connect)"


def connect(
    target: str | None = None,
    profile: str | None = None,
    project_dir: Path | str | None = None,
    *,
    lock_timeout: float = 0.0,
    command: str = COMMAND,
    **_: Any,
) -> Session:
    """A session with the target's schema current; `lock_timeout` seconds to wait for a CLI writer.

    `command` is what the warehouse lock tells a CLI command started meanwhile (the dashboard says so).

    Raises ConfigError when this process already holds a session on another target of the same
    warehouse folder (the emulator allows one login per folder and process, and switching that
    session's schema would silently point the first notebook cell at the other target).
    """
    settings = load_settings(Path(project_dir) if project_dir else None, target=target, profile=profile)
    adapter = adapter_for(settings, command=command, lock_timeout=lock_timeout)
    holding = getattr(adapter, "open_target", lambda: None)()
    if holding is not None and holding != settings.target:
        raise ConfigError(
            f"this process already has a session on target {holding!r} of the warehouse "
            f"{settings.warehouse_dir}; connect(target={settings.target!r}) cannot open a second one "
            "there (the embedded engine allows one per folder and process): call "
            "netflix_elt.close_session() on the first session, or use another process"
        )
    session = adapter.session
    schema = f"{settings.database}.{settings.target_schema}"
    session.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}").collect()
    session.sql(f"USE SCHEMA {schema}").collect()
    atexit.register(adapter.close)
    return session
