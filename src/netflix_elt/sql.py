"""SQL text helpers every module shares: identifiers, literals, and the one wrapper the emulator needs.

One place so that quoting rules (doubled quotes, upper-case identifiers, UTC timestamps with
microseconds) cannot drift between the loader, the materializations and the snapshots.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def quote(name: str) -> str:
    """A quoted upper-case identifier, so column names survive any reserved word."""
    return '"' + name.upper().replace('"', '""') + '"'


def string(value: str) -> str:
    """A Snowflake string literal: quotes doubled and backslashes too, since Snowflake reads a
    backslash in a single-quoted literal as an escape (`'C:\new'` would hold a newline)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def duckdb_string(value: str) -> str:
    """A DuckDB string literal, for SQL sent to a local DuckDB connection (not to the warehouse):
    DuckDB's standard strings take a backslash literally, so only quotes are doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def ts_literal(value: datetime) -> str:
    """A TIMESTAMP_NTZ literal in UTC with microseconds (identical on Snowflake and DuckDB)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return f"CAST('{value.isoformat(sep=' ', timespec='microseconds')}' AS TIMESTAMP_NTZ)"


def literal(value: Any) -> str:
    """A literal for a Python value: numbers as they are, timestamps as TIMESTAMP_NTZ, else a string."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return ts_literal(value)
    return string(str(value))


def wrap(sql: str) -> str:
    """`SELECT * FROM (...)`: the emulator cannot run or describe a top-level set operation."""
    return f"SELECT * FROM (\n{sql}\n)"


def first_line(error: BaseException | str) -> str:
    """The first non-empty line of an error (engine errors carry pages of context), or its type."""
    text = str(error).strip()
    if text:
        return text.splitlines()[0]
    return type(error).__name__ if isinstance(error, BaseException) else ""
