"""The embedded engine: fakesnow's Snowflake-protocol server over DuckDB files in the state folder.

An unmodified Snowpark `Session` talks to it through the real snowflake-connector, so the code
path is the one users run on Snowflake. Every emulator workaround of the framework lives here
(docs/EMULATOR_GAPS.md): the server, the warehouse lock held while a session is open, the
copy-and-publish MERGE, the checkpoint after each write and GX's borrowed connection.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from netflix_elt.adapters import durability, logs
from netflix_elt.adapters.base import Adapter, run_logged, snowflake_url
from netflix_elt.adapters.borrowed import SHARED_CONNECTION_KEY, share_connection, unshare_connection
from netflix_elt.errors import ConfigError, NetflixEltError
from netflix_elt.faults import fault
from netflix_elt.lock import warehouse_lock
from netflix_elt.materializations.statements import upsert_delete_sql, upsert_insert_sql
from netflix_elt.sql import string, wrap

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from netflix_elt.snapshots import VersionChanges

_QUIET_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "fakesnow")
WORK_SUFFIX = "__NETFLIX_ELT_WORK"


def quiet() -> None:
    """The emulator logs every request at INFO; users want our output, not the server's."""
    for name in (*_QUIET_LOGGERS, "fakesnow.server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    durability.capture_server_errors()  # silent too, but a failed write's reason is kept for the error
    warnings.filterwarnings("ignore", message=".*Arrow output on a DB-API result.*")
    logs.quiet_connector_for_emulator()  # not once a real account is open in this process


def _close_connection(session: Session) -> None:
    """Snowpark's `Session.close()` calls `system$cancel_all_queries`, which the emulator lacks: the
    failed query leaves the connector's cancel timer running against a stopped server. Only the
    connector connection is closed."""
    with contextlib.suppress(Exception):
        session.connection.close()


class EmbeddedEngine:
    """fakesnow's ASGI app served by uvicorn on 127.0.0.1 (a free port), one per process.

    Why one per process, with one Snowpark session per warehouse folder: the emulator never
    forgets a login (its login response carries no master token, so the connector cannot log
    out) and keeps that session's DuckDB file attached; a second login to the same folder in the
    same process would fail with "file handle conflict". So sessions are reused until `release()`
    (netflix_elt.close_session) or process exit. While a folder's session is open this process
    holds the folder's warehouse lock, so another process gets the lock's message naming this one,
    not DuckDB's file conflict as an HTTP 500.
    We start uvicorn ourselves rather than with `fakesnow.server()`: that helper can be called
    only once per process (importing `fakesnow.server` shadows it) and logs every request.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.server: Any = None
        self.thread: threading.Thread | None = None
        self.port: int | None = None
        self.sessions: dict[str, Session] = {}
        self.targets: dict[str, str] = {}  # folder -> the target that opened its session
        self._held: dict[str, contextlib.ExitStack] = {}  # folder -> its warehouse lock

    def _start(self) -> None:
        import uvicorn
        from fakesnow.server import app

        quiet()
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
        quiet()
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
            # the emulator cannot log a session out ("Connection is closed"), and that failure left the
            # connection open: Snowpark's exit hook then queried a stopped server (docs/EMULATOR_GAPS.md)
            "server_session_keep_alive": True,
        }

    @staticmethod
    def key(warehouse_dir: Path) -> str:
        return str(warehouse_dir.resolve())

    def session(
        self,
        warehouse_dir: Path,
        state_dir: Path | None = None,
        command: str = "python",
        target: str = "",
        lock_timeout: float = 0.0,
        memory_limit: str = "none",
        memory_setting: str = "memory_limit",
    ) -> Session:
        """The process's session on this warehouse folder, created on first use under the lock.

        Raises LockError (naming the holder) when another process holds the folder's lock.
        """
        from snowflake.snowpark import Session

        key = self.key(warehouse_dir)
        with self.lock:
            if key in self.sessions:
                return self.sessions[key]
            held = contextlib.ExitStack()
            if state_dir is not None:
                held.enter_context(warehouse_lock(state_dir, command, lock_timeout))
            try:
                if self.server is None:
                    self._start()
                warehouse_dir.mkdir(parents=True, exist_ok=True)
                session = Session.builder.configs(self.connection_kwargs(warehouse_dir)).create()
                try:
                    spill = limit_memory(session, memory_limit, memory_setting)
                except BaseException:
                    # this login only: the token first (closing the connection drops it), never None (all)
                    token = _login_token(session)
                    _close_connection(session)
                    if token is not None:
                        _close_emulator_sessions(token)
                    raise
                if spill is not None:  # removed by release(), after the session is closed
                    held.callback(shutil.rmtree, spill, ignore_errors=True)
                self.sessions[key] = session
            except BaseException:
                held.close()
                raise
            self._held[key], self.targets[key] = held, target
            return self.sessions[key]

    def key_of(self, session: Session) -> str | None:
        with self.lock:
            return next((k for k, s in self.sessions.items() if s is session), None)

    def release(self, key: str) -> None:
        """Close one folder's session, detach its DuckDB files and release its warehouse lock."""
        with self.lock:
            session = self.sessions.pop(key, None)
            if session is not None:
                token = _login_token(session)
                durability.unregister(session)
                unshare_connection(session)
                _close_connection(session)
                _close_emulator_sessions(token)
            self.targets.pop(key, None)
            held = self._held.pop(key, None)
            if held is not None:
                held.close()
            drop_staged_copies()

    def shutdown(self) -> None:
        """Close every session, stop the server and release every lock (idempotent)."""
        with self.lock:
            for key in list(self.sessions):
                self.release(key)
            if self.server is not None:
                self.server.should_exit = True
                if self.thread is not None:
                    self.thread.join(timeout=10)
            self.server = self.thread = self.port = None
            _close_emulator_sessions(None)
            drop_staged_copies()

    @property
    def running(self) -> bool:
        return self.server is not None


def _login_token(session: Session) -> str | None:
    """The emulator's key for this login in its session table (gone once the connection is closed)."""
    return getattr(getattr(session.connection, "rest", None), "token", None)


def limit_memory(session: Session, memory_limit: str, setting: str = "memory_limit") -> Path | None:
    """Cap the DuckDB instance behind this login (`profiles.<name>.memory_limit`; each warehouse
    folder's login has its own), spilling to a private temporary folder, never to DuckDB's default
    `.tmp` in the working folder. Returns that folder (the caller removes it), or None for "none".

    Why here: the emulator passes no DuckDB setting through SQL (a PRAGMA runs but its DESCRIBE
    fails, and SET is a Snowflake session variable), so the login's DuckDB connection is reached
    through the emulator's session table, the one `_close_emulator_sessions` closes
    (docs/EMULATOR_GAPS.md). With DuckDB's default (80 % of RAM) every table block read stays
    cached: an ml-20m build held 1.6 GB between its 20 M-row steps.
    """
    if memory_limit.lower() == "none":
        return None
    import duckdb

    from netflix_elt import tempfiles
    from netflix_elt.sql import duckdb_string

    token = _login_token(session)
    sessions = getattr(sys.modules.get("fakesnow.server"), "sessions", None)
    duck = getattr(sessions.get(token), "_duck_conn", None) if isinstance(sessions, dict) else None
    if duck is None:  # tests/integration/test_embedded_memory.py fails when the emulator changes
        raise ConfigError(f"{setting}: the embedded engine cannot set it on this fakesnow version")
    folder = tempfiles.mkdtemp("netflix-elt-spill-")
    try:
        duck.execute(f"SET memory_limit = {duckdb_string(memory_limit)}")
        # a folder DuckDB creates only when it first spills (so a test can tell that it did)
        duck.execute(f"SET temp_directory = {duckdb_string(str(folder / 'spill'))}")
        duck.execute("SELECT COUNT(*) FROM range(100000)").fetchall()  # a limit DuckDB cannot work in fails here
    except duckdb.Error as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise ConfigError(f"{setting} = {memory_limit!r}: DuckDB refused it ({str(e).splitlines()[0]})") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _close_emulator_sessions(token: str | None) -> None:
    """Close the emulator's own connection of a login (all of them for None): that releases the
    DuckDB files, which the emulator otherwise keeps attached for the life of the process."""
    server = sys.modules.get("fakesnow.server")
    sessions = getattr(server, "sessions", None)
    if not isinstance(sessions, dict):
        return
    for t in [token] if token is not None else list(sessions):
        conn = sessions.pop(t, None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def drop_staged_copies() -> None:
    """The emulator cannot REMOVE staged files; delete its copies of what we PUT."""
    stage = sys.modules.get("fakesnow.transforms.stage")
    if stage is not None:
        for child in Path(stage.LOCAL_BUCKET_PATH).glob("*"):
            shutil.rmtree(child, ignore_errors=True)


ENGINE = EmbeddedEngine()
atexit.register(ENGINE.shutdown)


# Snowpark's explode() checks the column's type from the result metadata, where the emulator says
# VARIANT for an ARRAY column (docs/EMULATOR_GAPS.md): "Invalid column type for explode(...)"
_EXPLODE_OVER_VARIANT = re.compile(r"explode\((?:Column\[)?\"?([^\]\")]+)\"?\]?\).*got VariantType", re.DOTALL)
EXPLODE_HINT = (
    "the embedded engine types ARRAY columns as VARIANT, so F.explode() refuses {col}; "
    "use DataFrame.flatten, which runs on both engines: "
    'df.flatten(F.col({col_lower!r})).select(..., F.col("value").cast("string").alias(...)) '
    "(docs/EMULATOR_GAPS.md, 'explode over arrays')"
)


class EmbeddedAdapter(Adapter):
    """fakesnow over DuckDB: one connection per folder and process, MERGE rewritten into several
    statements that commit one by one, commits that need a checkpoint to reach the disk."""

    name = "embedded"
    supports_transactions = False  # a MERGE inside BEGIN/COMMIT fails (two attached databases)
    atomic_merge = False
    parallel_sessions = False  # "connection is busy" from a second thread
    exclusive_warehouse = True  # DuckDB files: one process at a time
    copies_from_external_stage = False  # no httpfs offline: s3:// objects are fetched with boto3
    copies_from_local_path = True  # the server runs in this process: COPY reads the parsed Parquet in place
    creates_database = True  # the warehouse folder is ours: nothing else creates the database
    # fakesnow rewrites CLONE as CREATE TABLE AS SELECT and drops OR REPLACE (the second clone
    # fails: "already exists"); DuckDB has no shared storage, so a clone is a full copy here
    zero_copy_clone = False
    # DESCRIBE of a query reports ARRAY (SPLIT) and OBJECT columns as VARIANT (docs/EMULATOR_GAPS.md)
    variant_stands_for = frozenset({"ARRAY", "OBJECT"})
    # fct_ratings' full build at ml-20m in plain DuckDB (1 GB cap): the ROW_NUMBER window 4.7-6.5 s,
    # the GROUP BY that finds no repeated key 1.6-1.75 s plus the plain copy 1.8-2.1 s
    checks_keys_before_dedupe = True
    engine: ClassVar[EmbeddedEngine] = ENGINE

    def _open(self) -> Session:
        quiet()
        s = self.settings
        session = self.engine.session(s.warehouse_dir, s.state_dir, self.command, s.target, self.lock_timeout,
                                      s.profile_config.memory_limit, f"profiles.{s.profile}.memory_limit")  # fmt: skip
        durability.register(session, s.database)  # DuckDB needs a checkpoint after each write
        # Snowpark infers a filter's or a sort's schema from its input's instead of sending a
        # DESCRIBE for each (a documented session setting): fewer round trips to the emulator
        session.reduce_describe_query_enabled = True
        if (session.get_current_database() or "").strip('"').upper() != s.database.upper():
            # only when it differs: USE DATABASE clears the current schema of the process's shared
            # session, and the emulator runs no SELECT (the checkpoint's included) without one
            session.sql(f"CREATE DATABASE IF NOT EXISTS {s.database}").collect()
            session.sql(f"USE DATABASE {s.database}").collect()
        return session

    def open_target(self) -> str | None:
        """The target whose session this process holds on this adapter's warehouse folder, if any."""
        return self.engine.targets.get(self.engine.key(self.settings.warehouse_dir))

    def close(self) -> None:
        """Drop this command's staged copies. The folder's session stays open for the next command
        of this process (the emulator cannot log out cheaply): `release()` gives the warehouse up."""
        if self._session is not None:
            drop_staged_copies()
        self._session = None

    def release(self) -> None:
        """Give the warehouse up: close the folder's session and release the lock (close_session)."""
        self._session = None
        self.engine.release(self.engine.key(self.settings.warehouse_dir))

    def relation_exists(self, relation: str) -> bool:
        """The emulator's INFORMATION_SCHEMA.TABLES does not list views: look in VIEWS too."""
        db, schema, name = relation.split(".")
        where = f"WHERE TABLE_SCHEMA = {string(schema)} AND TABLE_NAME = {string(name)}"
        rows = self.session.sql(
            f"SELECT COUNT(*) FROM (SELECT TABLE_NAME FROM {db}.INFORMATION_SCHEMA.TABLES {where} "
            f"UNION ALL SELECT TABLE_NAME FROM {db}.INFORMATION_SCHEMA.VIEWS {where})"
        ).collect()
        return bool(rows[0][0])

    def relations(self, database: str) -> list[tuple[str, str, str]]:
        """The emulator's INFORMATION_SCHEMA.TABLES does not list views: those of VIEWS are added as VIEW."""
        info = f"{database}.INFORMATION_SCHEMA"
        where = "WHERE TABLE_SCHEMA <> 'INFORMATION_SCHEMA'"
        rows = self.session.sql(
            f"SELECT * FROM (SELECT TABLE_SCHEMA, TABLE_NAME, 'TABLE' AS KIND FROM {info}.TABLES {where} "
            f"UNION ALL SELECT TABLE_SCHEMA, TABLE_NAME, 'VIEW' FROM {info}.VIEWS {where})"
        ).collect()  # a top-level UNION fails in the emulator's DESCRIBE: selected from, it works
        return sorted((r[0], r[1], r[2]) for r in rows)

    def merge(
        self,
        relation: str,
        merge_for: Callable[[str], str],
        *,
        log: list[str],
        name: str,
        error: type[NetflixEltError],
        hook: str = "merge",
    ) -> list[Any]:
        """Merge into a copy, then replace the table with it in one statement.

        The emulator rewrites MERGE into temp table + UPDATE + INSERT, each committed on its own, and
        cannot run them inside BEGIN/COMMIT (docs/EMULATOR_GAPS.md): a process killed between the
        UPDATE and the INSERT would leave half a MERGE. So the MERGE runs on `<NAME>__NETFLIX_ELT_WORK`
        and `CREATE OR REPLACE TABLE <NAME> AS SELECT * FROM` the copy (one DuckDB statement, atomic)
        publishes it: the table is always the old or the new one. A work table left by a killed run
        is replaced by the next run and dropped after it.
        """
        session = self.session
        work = f"{relation}{WORK_SUFFIX}"
        run_logged(session, f"CREATE OR REPLACE TABLE {work} AS SELECT * FROM {relation}", log)
        try:
            res = run_logged(session, merge_for(work), log)
        except Exception as e:
            raise self._merge_failed(e, name, error) from e
        fault(f"{hook}.merge")  # test hook (netflix_elt.faults): merged into the copy, not yet published
        for sql in (f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM {work}", f"DROP TABLE IF EXISTS {work}"):
            run_logged(session, sql, log)
            fault(f"{hook}.swap")
        return res

    def upsert(self, relation: str, source_sql: str, columns: Sequence[str], unique_key: Sequence[str],
               latest_by: Sequence[str], *, log: list[str], name: str,
               error: type[NetflixEltError]) -> tuple[int, int]:  # fmt: skip
        """DELETE the rows the source replaces and INSERT the source rows whose key is then absent, in one
        transaction: DuckDB commits both or neither, and only the changed rows are written.

        Why not `merge` (copy and publish): that writes the whole table twice, 20 M rows for a +1 % batch
        of fct_ratings. The emulator cannot run its own MERGE rewrite inside BEGIN/COMMIT (it writes a
        second database), but a DELETE and an INSERT into one table it can. The source rows are
        computed once, into `<NAME>__NETFLIX_ELT_WORK` (before BEGIN: DDL), and dropped after.
        """
        session, work = self.session, f"{relation}{WORK_SUFFIX}"
        run_logged(session, f"CREATE OR REPLACE TABLE {work} AS {wrap(source_sql)}", log)
        deleted, inserted = self._two_in_one_transaction(
            upsert_delete_sql(relation, work, unique_key, latest_by),
            "incremental.upsert",  # test hook: replaced rows deleted, their successors not yet inserted
            upsert_insert_sql(relation, work, columns, unique_key),
            work=work, log=log, name=name, error=error,
        )  # fmt: skip
        return inserted - deleted, deleted

    def _two_in_one_transaction(self, first: str, hook: str, second: str, *, work: str, log: list[str], name: str,
                                error: type[NetflixEltError]) -> tuple[int, int]:  # fmt: skip
        """BEGIN; first; second; COMMIT (the row counts of both), rolled back on failure; `work` dropped after."""
        session = self.session
        try:
            run_logged(session, "BEGIN", log)
            a = int(run_logged(session, first, log)[0][0])
            fault(hook)
            b = int(run_logged(session, second, log)[0][0])
            run_logged(session, "COMMIT", log)
        except Exception as e:
            with contextlib.suppress(Exception):
                session.sql("ROLLBACK").collect()
            raise self._merge_failed(e, name, error) from e
        finally:
            with contextlib.suppress(Exception):
                session.sql(f"DROP TABLE IF EXISTS {work}").collect()
        return a, b

    def merge_versions(
        self, relation: str, changes: VersionChanges, *, log: list[str], name: str, error: type[NetflixEltError]
    ) -> tuple[int, int]:
        """Store the run's close and insert rows once, then close and open versions in one transaction.

        Why not `merge` (copy and publish): that writes the whole snapshot twice to change the few
        versions of one run. The emulator cannot run its MERGE rewrite inside BEGIN/COMMIT, but an
        UPDATE and an INSERT into one table it can: the snapshot is the old or the new one. The UPDATE
        runs first, so it closes only versions that were current before the run, as the MERGE does.
        """
        session, work = self.session, f"{relation}{WORK_SUFFIX}"
        run_logged(session, f"CREATE OR REPLACE TABLE {work} AS {changes.source_sql}", log)
        fault("snapshot.work")  # test hook: the run's rows stored, the snapshot untouched
        closed, inserted = self._two_in_one_transaction(
            changes.close_sql(relation, work),
            "snapshot.merge",  # test hook: versions closed, their successors not yet inserted
            changes.insert_sql(relation, work),
            work=work, log=log, name=name, error=error,
        )  # fmt: skip
        return inserted, closed

    def transform_error_hint(self, error: BaseException) -> str:
        """F.explode over an ARRAY column: the emulator reports it as VARIANT; point at flatten."""
        m = _EXPLODE_OVER_VARIANT.search(str(error))
        if m is None:
            return ""
        return EXPLODE_HINT.format(col=m.group(1), col_lower=m.group(1).lower())

    def confirm_written(
        self, what: str, error: type[NetflixEltError], check_sql: str | None = None, expect: int | None = None
    ) -> Any:
        """DuckDB keeps commits in its WAL until a checkpoint: force one, then read the write back."""
        return durability.confirm_written(self.session, what, error, check_sql, expect)

    def gx_connection(self) -> tuple[str, dict[str, Any]]:
        """GX borrows this session's connection: the emulator allows one login per folder and process."""
        os.environ["SNOWFLAKE_SQLALCHEMY_LEGACY_URL_PARAMS"] = "1"
        conn = self.session.connection
        params = {
            "account": "netflix-elt",  # GX wants an `org-account` shape; the emulator ignores it
            "user": "fake",
            "password": "snow",
            "warehouse": "NETFLIX_ELT",
            "role": "NETFLIX_ELT",
            "host": conn.host,
            "port": conn.port,
            "protocol": "http",
        }
        connect_args = {SHARED_CONNECTION_KEY: share_connection(self.session)}
        s = self.settings
        return snowflake_url(params, s.database, s.target_schema), {"connect_args": connect_args}
