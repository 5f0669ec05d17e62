"""`netflix_elt.connect()`: a ready Snowpark session for notebooks.

On the embedded engine the emulator's server keeps running in a background thread until the
session is closed with `netflix_elt.engine.close_session(session)` or the interpreter exits.
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.api import Workspace

if TYPE_CHECKING:
    from snowflake.snowpark import Session


def connect(
    target: str | None = None, profile: str | None = None, project_dir: Path | None = None, **_: Any
) -> Session:
    ws = Workspace.from_options(project_dir, target=target, profile=profile)
    session = ws.session
    schema = ws.settings.target_schema
    session.sql(f"CREATE SCHEMA IF NOT EXISTS {ws.settings.database}.{schema}").collect()
    session.sql(f"USE SCHEMA {ws.settings.database}.{schema}").collect()
    atexit.register(ws.close)
    return session
