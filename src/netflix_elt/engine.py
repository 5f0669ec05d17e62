"""Open a Snowpark session on the embedded engine (fakesnow's server) or on a real Snowflake account.

The embedded engine is fakesnow in server mode: a Snowflake-protocol HTTP server on 127.0.0.1 over
DuckDB files in the state folder. An unmodified Snowpark `Session` talks to it through the real
snowflake-connector, so the code path is the one users run on Snowflake.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.config import Settings
from netflix_elt.connections import snowflake_connection_params
from netflix_elt.errors import ConfigError

if TYPE_CHECKING:
    from snowflake.snowpark import Session

_QUIET_LOGGERS = (
    "uvicorn",
    "uvicorn.access",
    "uvicorn.error",
    "fakesnow",
    "snowflake",
    "snowflake.connector",
)


def _quiet() -> None:
    """The emulator logs every request at INFO; users want our output, not the server's."""
    for name in (*_QUIET_LOGGERS, "fakesnow.server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message=".*Arrow output on a DB-API result.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="snowflake")


def close_session(session: Session) -> None:
    """Close a session on either engine.

    Snowpark's `Session.close()` calls `system$cancel_all_queries`, which the emulator lacks; the
    connector connection is closed in any case so the process can exit promptly.
    """
    with contextlib.suppress(Exception):
        session.close()
    with contextlib.suppress(Exception):
        session.connection.close()


@contextlib.contextmanager
def embedded_server(settings: Settings) -> Iterator[dict[str, Any]]:
    """Serve fakesnow's ASGI app with uvicorn on 127.0.0.1 and a free port; yields connector kwargs.

    We start the server ourselves rather than with `fakesnow.server()`: that helper can be
    called only once per process (importing its `fakesnow.server` module shadows the function)
    and logs every request at INFO.
    """
    import uvicorn
    from fakesnow.server import app
    from fakesnow.transforms.stage import LOCAL_BUCKET_PATH

    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    _quiet()
    with contextlib.closing(socket.socket(type=socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="critical", access_log=False, lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, name="netflix-elt-embedded-snowflake", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while thread.is_alive() and not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    _quiet()
    if not server.started:
        server.should_exit = True
        raise ConfigError(f"the embedded Snowflake server did not start on 127.0.0.1:{port}")
    try:
        yield {
            "user": "fake",
            "password": "snow",
            "account": "fakesnow",
            "host": "127.0.0.1",
            "port": port,
            "protocol": "http",
            "session_parameters": {
                "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False,
                "FAKESNOW_DB_PATH": str(settings.warehouse_dir),
            },
            # the emulator answers HTTP 500 for what it cannot run: fail at once, do not retry
            "network_timeout": 1,
        }
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        # the emulator cannot REMOVE staged files; drop its copies of what we PUT
        for child in Path(LOCAL_BUCKET_PATH).glob("*"):
            shutil.rmtree(child, ignore_errors=True)


def _ensure_database(session: Session, settings: Settings) -> None:
    session.sql(f"CREATE DATABASE IF NOT EXISTS {settings.database}").collect()


@contextlib.contextmanager
def open_session(settings: Settings) -> Iterator[Session]:
    """A ready Snowpark session with the project's database and target schema current."""
    from snowflake.snowpark import Session

    _quiet()
    if settings.engine == "embedded":
        with embedded_server(settings) as kwargs:
            session = Session.builder.configs(kwargs).create()
            try:
                _ensure_database(session, settings)
                session.sql(f"USE DATABASE {settings.database}").collect()
                yield session
            finally:
                close_session(session)
        return
    profile = settings.profile_config
    params = snowflake_connection_params(profile.connection_name, project_dir=settings.project_dir)
    for key in ("role", "warehouse"):
        if getattr(profile, key) and key not in params:
            params[key] = getattr(profile, key)
    params.setdefault("database", settings.database)
    try:
        session = Session.builder.configs(params).create()
    except Exception as e:  # the connector's messages name the account and the cause, never secrets
        raise ConfigError(f"could not connect to Snowflake account {params.get('account')!r}: {e}") from None
    try:
        yield session
    finally:
        close_session(session)
