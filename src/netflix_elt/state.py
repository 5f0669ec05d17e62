"""A small key-value table in the AUDIT schema: one value per (target schema, node).

It holds what the framework remembers between commands on the warehouse itself, so it works
the same on the emulator and on Snowflake: incremental watermarks (INCREMENTAL_STATE) and build
fingerprints (BUILD_STATE).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netflix_elt.config import Settings

if TYPE_CHECKING:
    from snowflake.snowpark import Session


def sql_literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class StateTable:
    """`<DB>.<AUDIT>.<name>(TARGET_SCHEMA, NODE, <value_column>, <stamp_column>)`, created on first use."""

    def __init__(
        self, session: Session, settings: Settings, name: str, value_column: str, stamp_column: str = "UPDATED_AT"
    ) -> None:
        self.session = session
        self.schema = f"{settings.database}.{settings.audit_schema}"
        self.table = f"{self.schema}.{name}"
        self.value_column = value_column
        self.stamp_column = stamp_column
        self.scope = sql_literal(settings.target_schema)
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:
            self.session.sql(f"CREATE SCHEMA IF NOT EXISTS {self.schema}").collect()
            self.session.sql(
                f"CREATE TABLE IF NOT EXISTS {self.table} (TARGET_SCHEMA VARCHAR, NODE VARCHAR, "
                f"{self.value_column} VARCHAR, {self.stamp_column} TIMESTAMP_NTZ)"
            ).collect()
            self._ready = True

    def all(self) -> dict[str, str]:
        """Every node's value in this target schema."""
        self._ensure()
        rows = self.session.sql(
            f"SELECT NODE, {self.value_column} FROM {self.table} WHERE TARGET_SCHEMA = {self.scope}"
        ).collect()
        return {r[0]: r[1] for r in rows}

    def get(self, node: str) -> str | None:
        self._ensure()
        rows = self.session.sql(
            f"SELECT {self.value_column} FROM {self.table} "
            f"WHERE TARGET_SCHEMA = {self.scope} AND NODE = {sql_literal(node)}"
        ).collect()
        return rows[0][0] if rows else None

    def put(self, node: str, value: str | None) -> None:
        """Replace the node's value; None removes it."""
        self._ensure()
        self.session.sql(
            f"DELETE FROM {self.table} WHERE TARGET_SCHEMA = {self.scope} AND NODE = {sql_literal(node)}"
        ).collect()
        if value is not None:
            self.session.sql(
                f"INSERT INTO {self.table} (TARGET_SCHEMA, NODE, {self.value_column}, {self.stamp_column}) "
                f"VALUES ({self.scope}, {sql_literal(node)}, {sql_literal(value)}, CURRENT_TIMESTAMP())"
            ).collect()
