"""GX on the embedded engine borrows the Snowpark session's connector connection.

The emulator lets one login attach a persisted warehouse folder per process, so GX's own
connection would fail (docs/EMULATOR_GAPS.md). SQLAlchemy's public `do_connect` hook hands GX's
pool a wrapper of the session's connection that can neither close it nor change its mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snowflake.snowpark import Session

SHARED_CONNECTION_KEY = "netflix_elt_shared_connection"
_shared: dict[str, Any] = {}
_listening = False


class _BorrowedConnection:
    """A DB-API connection lent to SQLAlchemy: its pool may not close or roll back the owner's."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def close(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def autocommit(self, mode: bool) -> None:
        """Ignored: the owner's session stays in autocommit. SQLAlchemy's isolation level turned it
        off, and the emulator then held every later DML of the command (MERGE, build state) in an
        implicit transaction that only the next DDL committed (and a checkpoint refused)."""

    def cursor(self, *args: Any, **kwargs: Any) -> _PyformatCursor:
        return _PyformatCursor(self._conn, self._conn.cursor(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _PyformatCursor:
    """SQLAlchemy binds pyformat (`%(x)s`); Snowpark opened the connection with qmark (`?`)."""

    def __init__(self, conn: Any, cursor: Any) -> None:
        self._conn, self._cursor = conn, cursor

    def execute(self, command: str, params: Any = None, **kwargs: Any) -> Any:
        style = self._conn._paramstyle
        self._conn._paramstyle = "pyformat"
        try:
            return self._cursor.execute(command, params, **kwargs)
        finally:
            self._conn._paramstyle = style

    def __iter__(self) -> Any:
        return iter(self._cursor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def _do_connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
    token = cparams.get(SHARED_CONNECTION_KEY)
    if token is None:
        return None  # any other engine connects as usual
    return _BorrowedConnection(_shared[token])


def share_connection(session: Session) -> str:
    """Register the session's connector connection for GX's engine (SQLAlchemy's do_connect hook)."""
    global _listening
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not _listening:
        event.listen(Engine, "do_connect", _do_connect)
        _listening = True
    token = f"conn-{id(session.connection)}"
    _shared[token] = session.connection
    return token


def unshare_connection(session: Session) -> None:
    _shared.pop(f"conn-{id(session.connection)}", None)
