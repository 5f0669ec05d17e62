"""Open a Snowpark session on the embedded engine (fakesnow's server) or on a real Snowflake account.

The embedded engine is fakesnow in server mode: a Snowflake-protocol HTTP server on 127.0.0.1 over
DuckDB files in the state folder. An unmodified Snowpark `Session` talks to it through the real
snowflake-connector, so the code path is the one users run on Snowflake.
"""

from __future__ import annotations

import atexit
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

from netflix_elt import durability
from netflix_elt.config import Settings
from netflix_elt.connections import scrub, snowflake_connection_params
from netflix_elt.errors import ConfigError
from netflix_elt.sql import first_line

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
    durability.capture_server_errors()  # silent too, but a failed write's reason is kept for the error
    warnings.filterwarnings("ignore", message=".*Arrow output on a DB-API result.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="snowflake")


def close_session(session: Session, *, embedded: bool = False) -> None:
    """Close a session on either engine.

    Snowpark's `Session.close()` calls `system$cancel_all_queries`, which the emulator lacks: the
    failed query leaves the connector's 1-second cancel timer running, which then fires at a
    server that has stopped (a traceback at exit). On the emulator only the connector connection
    is closed; on Snowflake both, so the process can exit promptly.
    """
    if not embedded:
        with contextlib.suppress(Exception):
            session.close()
    with contextlib.suppress(Exception):
        session.connection.close()


class EmbeddedEngine:
    """fakesnow's ASGI app served by uvicorn on 127.0.0.1 (a free port), one per process.

    Why one per process, with one Snowpark session per warehouse folder: the emulator never
    forgets a login (its login response carries no master token, so the connector cannot log
    out) and keeps that session's DuckDB file attached; a second login to the same folder in the
    same process would fail with "file handle conflict". So sessions are reused, and the server
    and sessions are shut down together when the process exits (or on `shutdown()`).
    We start uvicorn ourselves rather than with `fakesnow.server()`: that helper can be called
    only once per process (importing `fakesnow.server` shadows it) and logs every request.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.server: Any = None
        self.thread: threading.Thread | None = None
        self.port: int | None = None
        self.sessions: dict[str, Session] = {}

    def _start(self) -> None:
        import uvicorn
        from fakesnow.server import app

        _quiet()
        with contextlib.closing(socket.socket(type=socket.SOCK_STREAM)) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        app = durability.asgi(app)  # a query that failed to write the warehouse: an error, not a retried HTTP 500
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", access_log=False, lifespan="off")
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
        self.server, self.thread, self.port = server, thread, port

    def connection_kwargs(self, warehouse_dir: Path) -> dict[str, Any]:
        assert self.port is not None
        return {
            "user": "fake",
            "password": "snow",
            "account": "fakesnow",
            "host": "127.0.0.1",
            "port": self.port,
            "protocol": "http",
            "session_parameters": {
                "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False,
                "FAKESNOW_DB_PATH": str(warehouse_dir),
            },
            # the emulator answers HTTP 500 for what it cannot run: fail at once, do not retry
            "network_timeout": 1,
        }

    def session(self, warehouse_dir: Path) -> Session:
        """The process's session on this warehouse folder, created on first use."""
        from snowflake.snowpark import Session

        key = str(warehouse_dir.resolve())
        with self.lock:
            if self.server is None:
                self._start()
            if key not in self.sessions:
                warehouse_dir.mkdir(parents=True, exist_ok=True)
                self.sessions[key] = Session.builder.configs(self.connection_kwargs(warehouse_dir)).create()
            return self.sessions[key]

    def shutdown(self) -> None:
        """Close every session and stop the server (idempotent)."""
        with self.lock:
            for session in self.sessions.values():
                durability.unregister(session)
                close_session(session, embedded=True)
            self.sessions.clear()
            if self.server is not None:
                self.server.should_exit = True
                if self.thread is not None:
                    self.thread.join(timeout=10)
            self.server = self.thread = self.port = None
            _close_emulator_sessions()
            _drop_staged_copies()

    @property
    def running(self) -> bool:
        return self.server is not None


def _close_emulator_sessions() -> None:
    """Close the emulator's own connections, which release the DuckDB files.

    The emulator never forgets a login (see the class docstring): without this, the files stay
    attached after `shutdown()` and a later session on the same folder in this process fails with
    "file handle conflict".
    """
    import sys

    server = sys.modules.get("fakesnow.server")
    sessions = getattr(server, "sessions", None)
    if isinstance(sessions, dict):
        for conn in list(sessions.values()):
            with contextlib.suppress(Exception):
                conn.close()
        sessions.clear()


def _drop_staged_copies() -> None:
    """The emulator cannot REMOVE staged files; delete its copies of what we PUT."""
    import sys

    stage = sys.modules.get("fakesnow.transforms.stage")
    if stage is not None:
        for child in Path(stage.LOCAL_BUCKET_PATH).glob("*"):
            shutil.rmtree(child, ignore_errors=True)


ENGINE = EmbeddedEngine()
atexit.register(ENGINE.shutdown)


@contextlib.contextmanager
def open_session(settings: Settings) -> Iterator[Session]:
    """A ready Snowpark session with the project's database current."""
    from snowflake.snowpark import Session

    _quiet()
    if settings.engine == "embedded":
        session = ENGINE.session(settings.warehouse_dir)
        durability.register(session, settings.database)  # DuckDB needs a checkpoint after each write
        session.sql(f"CREATE DATABASE IF NOT EXISTS {settings.database}").collect()
        session.sql(f"USE DATABASE {settings.database}").collect()
        try:
            yield session
        finally:
            _drop_staged_copies()
        return
    profile = settings.profile_config
    params = snowflake_connection_params(profile.connection_name, project_dir=settings.project_dir)
    for key in ("role", "warehouse"):
        if getattr(profile, key) and key not in params:
            params[key] = getattr(profile, key)
    params.setdefault("database", settings.database)
    try:
        session = Session.builder.configs(params).create()
    except Exception as e:  # the connector may echo parameters: scrub every secret from its message
        first = first_line(e)
        msg = scrub(f"could not connect to Snowflake account {params.get('account')!r}: {first}", params)
        raise ConfigError(msg) from None
    try:
        yield session
    finally:
        close_session(session)
