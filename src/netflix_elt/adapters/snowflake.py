"""A real Snowflake account: statements are atomic and durable, sessions serve many threads."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlencode

from netflix_elt.adapters import logs
from netflix_elt.adapters.base import Adapter, run_logged
from netflix_elt.connections import scrub, snowflake_connection_params
from netflix_elt.errors import ConfigError, NetflixEltError
from netflix_elt.sql import first_line

if TYPE_CHECKING:
    from snowflake.snowpark import Session


class SnowflakeAdapter(Adapter):
    name = "snowflake"
    supports_transactions = True
    atomic_merge = True  # one statement in autocommit is all-or-nothing
    parallel_sessions = True
    exclusive_warehouse = False  # readers need no lock; writers still take it (one machine)
    copies_from_external_stage = True
    copies_from_local_path = False  # files of this machine reach Snowflake by PUT to a stage
    zero_copy_clone = True  # metadata only: the clone shares micro-partitions until either side writes
    # the admin SQL creates the database (`init --print-admin-sql`): the TRANSFORMER role has no CREATE
    # DATABASE privilege, which Snowflake checks even for IF NOT EXISTS on an existing database
    creates_database = False

    def connection_params(self) -> dict[str, Any]:
        """The connection's parameters (connections.toml, environment), with the profile's role and warehouse."""
        logs.real_account_in_use()  # from here the connector's warnings and errors are the user's to see
        s = self.settings
        profile = s.profile_config
        params = snowflake_connection_params(profile.connection_name, project_dir=s.project_dir)
        for key in ("role", "warehouse"):
            if getattr(profile, key) and key not in params:
                params[key] = getattr(profile, key)
        return params

    def session_params(self) -> dict[str, Any]:
        """What the Session builder gets: the connection's parameters, the project's database, and
        `AUTOCOMMIT = TRUE` set explicitly. The framework never COMMITs a lone MERGE or state write; on
        an account or user with AUTOCOMMIT = FALSE they would stay in an open transaction and be lost."""
        params = self.connection_params()
        params.setdefault("database", self.settings.database)
        params["session_parameters"] = {**params.get("session_parameters", {}), "AUTOCOMMIT": True}
        return params

    def _open(self) -> Session:
        from snowflake.snowpark import Session

        params = self.session_params()
        try:
            return Session.builder.configs(params).create()
        except Exception as e:  # the connector may echo parameters: scrub every secret from its message
            msg = scrub(f"could not connect to Snowflake account {params.get('account')!r}: {first_line(e)}", params)
            raise ConfigError(msg) from None

    def close(self) -> None:
        """Close the session so the process can exit promptly."""
        session, self._session = self._session, None
        if session is not None:
            close_session(session)

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
        """One MERGE statement in autocommit: atomic. Not wrapped in BEGIN/COMMIT, because the
        session is shared by the runner's threads and a transaction would span their statements."""
        try:
            return run_logged(self.session, merge_for(relation), log)
        except Exception as e:
            raise self._merge_failed(e, name, error) from e

    def gx_connection(self) -> tuple[str, dict[str, Any]]:
        """GX opens its own connection to the same account, with every resolved parameter."""
        s = self.settings
        params = self.connection_params()
        for key in ("role", "warehouse"):
            if not params.get(key):
                raise ConfigError(
                    f"GX's Snowflake datasource needs a {key}: set profiles.{s.profile}.{key} in "
                    f"config/netflix_elt.toml or {key} in the Snowflake connection"
                )
        return gx_engine_args(params, s.database, s.target_schema)


# GX's URL check wants user:password@account; the connector gets the real password from connect_args
GX_URL_PASSWORD = "see-connect-args"


def gx_engine_args(params: dict[str, Any], database: str, schema: str) -> tuple[str, dict[str, Any]]:
    """The SQLAlchemy URL GX validates and create_engine kwargs whose `connect_args` carry every
    resolved connection parameter: SQLAlchemy hands connect_args to `snowflake.connector.connect` over
    what the URL says, so key-pair files, tokens, timeouts and session parameters reach GX's
    connection exactly as they reach the Session's. No secret is in the URL (GX keeps and shows it)."""
    query = urlencode({"warehouse": str(params["warehouse"]), "role": str(params["role"])})
    url = f"snowflake://{quote_plus(str(params['user']))}:{GX_URL_PASSWORD}@{params['account']}/{database}/{schema}?{query}"
    connect_args = {**params, "database": database, "schema": schema, "password": params.get("password") or ""}
    return url, {"connect_args": connect_args}


def close_session(session: Session) -> None:
    """Close a Snowflake session and its connector connection, ignoring what already went away."""
    with contextlib.suppress(Exception):
        session.close()
    with contextlib.suppress(Exception):
        session.connection.close()
