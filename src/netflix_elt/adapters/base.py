"""What every engine adapter offers: capability flags and the engine-specific operations.

Callers never ask which engine they are on; they ask an Adapter (SQLMesh's engine adapters):
a flag says what the engine can do (`atomic_merge`, `parallel_sessions`, ...), a method does the
engine-specific part (a crash-safe MERGE, the durability check after a write, GX's connection).
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote_plus, urlencode

from netflix_elt.config import Settings
from netflix_elt.errors import NetflixEltError
from netflix_elt.sql import first_line, string, wrap

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from netflix_elt.snapshots import VersionChanges


class Adapter(abc.ABC):
    """The Snowpark session of one settings object (opened on first use) and what the engine can do."""

    name: ClassVar[str]
    supports_transactions: ClassVar[bool]
    atomic_merge: ClassVar[bool]  # one MERGE statement is all-or-nothing
    parallel_sessions: ClassVar[bool]  # statements may run from several threads at once
    exclusive_warehouse: ClassVar[bool]  # one process at a time may open the warehouse
    copies_from_external_stage: ClassVar[bool]  # COPY INTO can read s3:// through a stage
    copies_from_local_path: ClassVar[bool]  # COPY INTO can read a file:// path of this machine (no PUT)
    creates_database: ClassVar[bool]  # `init` creates the database (else the admin SQL does)
    zero_copy_clone: ClassVar[bool]  # CREATE OR REPLACE TABLE ... CLONE shares the source's storage
    # types the engine describes as VARIANT (contracts accept VARIANT for them); none on Snowflake
    variant_stands_for: ClassVar[frozenset[str]] = frozenset()
    # an incremental node's full build first counts the keys that repeat and skips the dedupe window
    # when none does: where that GROUP BY and a plain copy cost less than the window (DuckDB)
    checks_keys_before_dedupe: ClassVar[bool] = False

    def __init__(self, settings: Settings, command: str | None = None, lock_timeout: float = 0.0) -> None:
        self.settings = settings
        self.command = command or "python (netflix_elt.api)"  # what the warehouse lock says we do
        self.lock_timeout = lock_timeout
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """A ready session with the project's database current, opened on first use."""
        if self._session is None:
            self._session = self._open()
            _opened(self.name)
        return self._session

    def use_session(self, session: Session) -> None:
        """Serve a session opened elsewhere (a notebook's own Snowpark session); closing stays its owner's."""
        self._session = session

    @property
    def is_open(self) -> bool:
        return self._session is not None

    @abc.abstractmethod
    def _open(self) -> Session: ...

    @abc.abstractmethod
    def close(self) -> None:
        """Done with this adapter's session (see each adapter for what that releases)."""

    @classmethod
    def database_statements(cls, database: str) -> list[str]:
        """What `init` runs for the database itself: CREATE DATABASE only where this adapter creates it."""
        return [f"CREATE DATABASE IF NOT EXISTS {database}"] if cls.creates_database else []

    # relations ---------------------------------------------------------------------------------
    def relation_exists(self, relation: str) -> bool:
        """Whether a table or view exists (Snowflake's INFORMATION_SCHEMA.TABLES lists views too)."""
        db, schema, name = relation.split(".")
        rows = self.session.sql(
            f"SELECT COUNT(*) FROM {db}.INFORMATION_SCHEMA.TABLES "
            f"WHERE TABLE_SCHEMA = {string(schema)} AND TABLE_NAME = {string(name)}"
        ).collect()
        return bool(rows[0][0])

    def relations(self, database: str) -> list[tuple[str, str, str]]:
        """(schema, name, TABLE or VIEW) of every relation of the database, sorted; Snowflake's
        INFORMATION_SCHEMA.TABLES lists views too (TABLE_TYPE VIEW, MATERIALIZED VIEW)."""
        rows = self.session.sql(
            f"SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM {database}.INFORMATION_SCHEMA.TABLES "
            "WHERE TABLE_SCHEMA <> 'INFORMATION_SCHEMA' ORDER BY 1, 2"
        ).collect()
        return [(r[0], r[1], "VIEW" if "VIEW" in str(r[2]).upper() else "TABLE") for r in rows]

    def columns(self, sql: str) -> list[str]:
        """The output column names of a query, without running it."""
        return [c.strip('"') for c in self.session.sql(wrap(sql)).columns]

    def clone_table_sql(self, source: str, target: str) -> str:
        """The statement that makes `target` a copy of table `source` (`netflix-elt clone`): a
        zero-copy CLONE where the engine has one, else a CREATE TABLE AS SELECT of every row."""
        if self.zero_copy_clone:
            return f"CREATE OR REPLACE TABLE {target} CLONE {source}"
        return f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}"

    def described_columns(self, sql: str) -> list[tuple[str, Any, bool]]:
        """(name, Snowpark datatype, nullable) of a query's output columns, without running it."""
        return [(f.name.strip('"'), f.datatype, f.nullable) for f in self.session.sql(wrap(sql)).schema.fields]

    def row_count(self, relation: str) -> int:
        return int(self.session.sql(f"SELECT COUNT(*) FROM {relation}").collect()[0][0])

    # writes ------------------------------------------------------------------------------------
    @abc.abstractmethod
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
        """Run `merge_for(target)` (a MERGE into `target`) so that `relation` ends all-old or all-new.

        The one crash-safety mechanism for "a MERGE is not atomic here". Statements run are appended
        to `log`; a failure raises `error` naming `name`. Returns the MERGE's result rows.
        `hook` names the test hooks (netflix_elt.faults) on engines that publish in several steps.
        """

    def merge_versions(
        self, relation: str, changes: VersionChanges, *, log: list[str], name: str, error: type[NetflixEltError]
    ) -> tuple[int, int]:
        """Apply a snapshot run's changes (close and open versions): (versions inserted, closed).

        Here: the one MERGE (`changes.merge_sql`) through `merge`.
        """
        res = self.merge(relation, changes.merge_sql, log=log, name=name, error=error, hook="snapshot")
        return _two_counts(res)

    def upsert(self, relation: str, source_sql: str, columns: Sequence[str], unique_key: Sequence[str],
               latest_by: Sequence[str], *, log: list[str], name: str,
               error: type[NetflixEltError]) -> tuple[int, int]:  # fmt: skip
        """Insert the source's new keys and update the rows it beats by `latest_by`: (inserted, updated).

        `source_sql` has one row per key. Here: one MERGE (`incremental_merge_sql`) through `merge`.
        """
        from netflix_elt.materializations.statements import incremental_merge_sql

        def merge_into(target: str) -> str:
            return incremental_merge_sql(target, source_sql, columns, unique_key, latest_by)

        res = self.merge(relation, merge_into, log=log, name=name, error=error, hook="incremental.work")
        return _two_counts(res)

    def confirm_written(
        self, what: str, error: type[NetflixEltError], check_sql: str | None = None, expect: int | None = None
    ) -> Any:
        """After a write reported success, make sure it is on disk (nothing to do where a commit is
        durable); the value `check_sql` read back, or None where nothing was read."""
        return None

    def written_rows(self, relation: str, what: str, error: type[NetflixEltError]) -> int:
        """The rows of a table just written, once it is confirmed on disk: the read-back count where
        the engine confirms by reading back (the embedded engine), else one COUNT."""
        got = self.confirm_written(what, error, f"SELECT COUNT(*) FROM {relation}")
        return int(got) if got is not None else self.row_count(relation)

    def transform_error_hint(self, error: BaseException) -> str:
        """What to add to a transform's error when it is a known gap of this engine ("" when none)."""
        return ""

    def _merge_failed(self, e: Exception, name: str, error: type[NetflixEltError]) -> NetflixEltError:
        return error(f"{name}: the MERGE failed: {first_line(e)}")

    # data tests --------------------------------------------------------------------------------
    @abc.abstractmethod
    def gx_connection(self) -> tuple[str, dict[str, Any]]:
        """SQLAlchemy URL and create_engine kwargs for GX's Snowflake datasource (never printed)."""


def _opened(engine: str) -> None:
    """A debug record of when the session became ready, counted from the process's start: the issue's
    "first statement within 1 s" is read from it (benchmarks/startup_bench.py)."""
    from netflix_elt.timings import process_age

    log = logging.getLogger("netflix_elt")
    if log.isEnabledFor(logging.DEBUG):
        age = process_age()
        when = f"{age:.2f} s after the process started" if age is not None else "(process start unknown)"
        log.debug("session open on the %s engine, its first statements answered, %s", engine, when)


def run_logged(session: Session, sql: str, log: list[str]) -> list[Any]:
    log.append(sql)
    return session.sql(sql).collect()


def snowflake_url(params: dict[str, Any], database: str, schema: str) -> str:
    """A snowflake-sqlalchemy URL with the account as the netloc and host/port/protocol as query.

    GX's URL check rejects an IP address as the netloc (`snowflake.sqlalchemy.URL` puts host
    there), so host, port and protocol go in the query, which snowflake-sqlalchemy reads when
    SNOWFLAKE_SQLALCHEMY_LEGACY_URL_PARAMS is set.
    """
    user = quote_plus(str(params["user"]))
    auth = f"{user}:{quote_plus(str(params['password']))}" if params.get("password") else user
    query = {
        k: str(params[k]) for k in ("host", "port", "protocol", "warehouse", "role", "authenticator") if params.get(k)
    }
    return f"snowflake://{auth}@{params['account']}/{database}/{schema}?{urlencode(query)}"


def _two_counts(res: list[Any]) -> tuple[int, int]:
    """A MERGE's two counts (rows inserted, then updated) from its one result row; (0, 0) without them."""
    return (int(res[0][0]), int(res[0][1])) if res and len(res[0]) > 1 else (0, 0)


__all__: Sequence[str] = ["Adapter", "run_logged", "snowflake_url"]
