"""A write that was reported is on disk: no load, build or snapshot claims success for lost data.

On Snowflake a statement or COMMIT that returned success is durable, and the connector's retries
carry a request id that the service deduplicates. The embedded engine (fakesnow over DuckDB
files) differs in two ways that lost whole loads on a nearly full disk (issue 11, section 5;
docs/EMULATOR_GAPS.md):

* When DuckDB cannot write (`Failed to commit: Could not write file ...: No space left on
  device`), the emulator answers HTTP 500 and the connector *retries* the statement. A retried
  COMMIT finds no open transaction (DuckDB rolled it back), which the emulator reports as
  success: `load` printed every file as loaded and exited 0 with nothing saved. So the engine's
  server is wrapped (`asgi`): a query that failed because the warehouse could not be written
  answers a plain, non-retryable error, "the warehouse could not be written: disk full? (<DuckDB's
  reason>)", which every caller already reports.
* DuckDB keeps committed work in its write-ahead log until a checkpoint, normally at close, where
  a failure is not reported to anyone. So after each load, build statement and snapshot the
  caller calls `confirm_written`: on an engine whose adapter says it needs one (the emulator) it
  forces a checkpoint, then reads back what was written on a fresh statement. Any failure
  raises the caller's error class with the same message and the underlying reason.

Callers never ask which engine they are on: `open_session` registers each embedded session's
checkpoint statement here; a session that is not registered (Snowflake) gets no extra SQL.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from netflix_elt.errors import NetflixEltError

DISK_FULL = "the warehouse could not be written: disk full?"

# embedded sessions -> the statement that forces their database to disk (emulator-only SQL)
_CHECKPOINTS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def register(session: Any, database: str) -> None:
    """Mark a session as one on an engine that needs a checkpoint to make a commit durable."""
    name = database.replace("'", "''")
    with _LOCK:
        _CHECKPOINTS[session] = f"SELECT * FROM checkpoint('{name}')"


def unregister(session: Any) -> None:
    with _LOCK:
        _CHECKPOINTS.pop(session, None)


def checkpoint_sql(session: Any) -> str | None:
    """The session's checkpoint statement, or None where a reported commit is durable (Snowflake)."""
    with _LOCK:
        return _CHECKPOINTS.get(session)


def _reason(e: BaseException) -> str:
    from netflix_elt.connections import scrub

    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    if DISK_FULL in first:  # already translated by the server wrapper: keep only the reason
        first = first.split(DISK_FULL, 1)[1].strip(" ()") or first
    return scrub(first)


def confirm_written(
    session: Any,
    what: str,
    error: type[NetflixEltError],
    check: str | None = None,
    expect: int | None = None,
) -> Any:
    """After a write reported success: force it to disk where the engine needs it, then read it back.

    `check` is a query whose first value is read on a fresh statement; with `expect` it must equal
    it (e.g. the number of LOAD_HISTORY rows of this load). Raises `error` naming `what` with
    "the warehouse could not be written: disk full?" and the underlying reason. On an engine
    that needs no checkpoint (Snowflake) nothing is sent. Returns the value `check` read back (None
    when nothing was read), so a caller that needs it (a row count) does not ask again.
    """
    ckpt = checkpoint_sql(session)
    if ckpt is None:
        return None
    try:
        session.sql(ckpt).collect()
    except Exception as e:
        raise error(
            f"{DISK_FULL} the checkpoint after {what} failed ({_reason(e)}); it may be kept only in the "
            "write-ahead log: free space and run the command again (what was not saved is done again)"
        ) from e
    if check is None:
        return None
    try:
        rows = session.sql(check).collect()
    except Exception as e:
        raise error(f"{DISK_FULL} {what} could not be read back after saving it: {_reason(e)}") from e
    got = rows[0][0] if rows else None
    if expect is not None and got != expect:
        raise error(f"{DISK_FULL} {what} was reported saved but is not there (read back {got}, expected {expect})")
    return got


# -- the embedded engine's server: a failed write is an error, never retried into a success ----------

_WRITE_FAILURES = (
    "no space left on device",
    "could not write",
    "failed to commit",
    "failed to create checkpoint",
    "checkpoint failed",
    "database has been invalidated",
    "disk quota exceeded",
    "read-only file system",
    "input/output error",
)
_REQUEST: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("netflix_elt_request", default=None)


def is_write_failure(e: BaseException) -> bool:
    """Whether DuckDB failed because it could not write the warehouse files.

    Not every IOException: reading a missing file is one too. A FatalException means DuckDB
    invalidated the database (a failed checkpoint or WAL write).
    """
    text = str(e).lower()
    return type(e).__name__ == "FatalException" or any(s in text for s in _WRITE_FAILURES)


class _ServerErrorCapture(logging.Handler):
    """Keeps, for the request being served, the exception the emulator logs before answering HTTP 500."""

    def emit(self, record: logging.LogRecord) -> None:
        holder = _REQUEST.get()
        if holder is None or not record.exc_info or record.exc_info[1] is None:
            return
        e = record.exc_info[1]
        if is_write_failure(e):
            holder["reason"] = _reason(e)


CAPTURE = _ServerErrorCapture(level=logging.ERROR)


def capture_server_errors() -> None:
    """Route the emulator's server log to CAPTURE only (it prints nothing)."""
    log = logging.getLogger("fakesnow.server")
    log.setLevel(logging.ERROR)
    log.handlers = [CAPTURE]
    log.propagate = False


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def error_body(reason: str) -> bytes:
    """A Snowflake query failure the connector raises as ProgrammingError at once (no retry)."""
    return json.dumps(
        {
            "data": {"errorCode": "000603", "sqlState": "XX000"},
            "code": "000603",
            "message": f"{DISK_FULL} ({reason})",
            "success": False,
        }
    ).encode()


def asgi(app: ASGIApp) -> ASGIApp:
    """Wrap the emulator's ASGI app: an HTTP 500 caused by a failed write becomes a plain query error.

    The connector retries HTTP 500; the emulator does not deduplicate retries (Snowflake does, by
    request id), so a retried COMMIT after a failed one "succeeded" with nothing saved.
    """

    async def wrapped(
        scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope.get("type") != "http" or not str(scope.get("path", "")).startswith("/queries/"):
            await app(scope, receive, send)
            return
        holder: dict[str, str] = {}
        token = _REQUEST.set(holder)
        held = False

        async def send_(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message.get("status") == 500 and "reason" in holder:
                held = True
                return
            if held:
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    body = error_body(holder["reason"])
                    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        try:
            await app(scope, receive, send_)
        finally:
            _REQUEST.reset(token)

    return wrapped
