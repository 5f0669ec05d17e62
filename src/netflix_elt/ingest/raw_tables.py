"""RAW's tables as the loader makes them: the sources' tables with load metadata, LOAD_HISTORY,
LOAD_REJECTS and the load stage, created only where missing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netflix_elt.config import Settings
from netflix_elt.sql import string

if TYPE_CHECKING:
    from snowflake.snowpark import Session

METADATA_COLUMNS = {
    "_LOAD_ID": "INTEGER",
    "_LOADED_AT": "TIMESTAMP_NTZ",
    "_SOURCE_FILE": "VARCHAR",
    "_SOURCE_ROW": "INTEGER",
}
HISTORY_COLUMNS = {
    "LOAD_ID": "INTEGER",
    "SOURCE_TABLE": "VARCHAR",
    "FILE": "VARCHAR",
    "BATCH": "VARCHAR",
    "CHECKSUM": "VARCHAR",
    "ROWS_PARSED": "INTEGER",
    "ROWS_LOADED": "INTEGER",
    "ROWS_REJECTED": "INTEGER",
    "LOADED_AT": "TIMESTAMP_NTZ",
    "STATUS": "VARCHAR",  # LOADED, or SKIPPED (by the source's on_error policy or `load --skip-batch`)
    "MESSAGE": "VARCHAR",  # why a file was skipped
    "KEY_COUNT": "INTEGER",  # distinct keys loaded (rows for a source without `key`): the deletion guard's base
}
ADDED_HISTORY_COLUMNS = ("STATUS", "MESSAGE", "KEY_COUNT")  # absent from warehouses made before they existed
REJECTS_COLUMNS = {
    "_LOAD_ID": "INTEGER",
    "SOURCE_TABLE": "VARCHAR",
    "SOURCE_FILE": "VARCHAR",
    "LINE_NUMBER": "INTEGER",
    "RAW_LINE": "VARCHAR",
    "REASON": "VARCHAR",
    "REJECTED_AT": "TIMESTAMP_NTZ",
}
STAGE = "NETFLIX_ELT_LOAD_STAGE"


def _ddl(columns: dict[str, str]) -> str:
    return ", ".join(f'"{c.upper()}" {t}' for c, t in columns.items())


def ensure_raw(session: Session, settings: Settings) -> None:
    """Create the RAW schema, its tables, the load history and rejects tables, and the stage.

    One catalog query first, then only what is missing (and the stage, which the emulator's
    catalog does not list): every command that loads calls this, and the 13 IF NOT EXISTS
    statements cost 0.5-2 s on the emulator for nothing once the warehouse exists."""
    present = _raw_columns(session, settings)
    for stmt, table, column in _raw_ddl_items(settings):
        if table is None:
            needed = True
        elif table == "":
            needed = not present
        else:
            needed = table not in present if column is None else column not in present.get(table, set())
        if needed:
            session.sql(stmt).collect()


def _raw_columns(session: Session, settings: Settings) -> dict[str, set[str]]:
    """RAW's tables and their columns, upper case; empty when the catalog cannot be read yet."""
    sql = (
        f"SELECT TABLE_NAME, COLUMN_NAME FROM {settings.database}.INFORMATION_SCHEMA.COLUMNS "
        f"WHERE TABLE_SCHEMA = {string(settings.raw_schema.upper())}"
    )
    try:
        rows = session.sql(sql).collect()
    except Exception:  # no database yet: every statement runs, and reports what is wrong
        return {}
    present: dict[str, set[str]] = {}
    for table, column in rows:
        present.setdefault(str(table).upper(), set()).add(str(column).upper())
    return present


def raw_ddl(settings: Settings) -> list[str]:
    """What ensure_raw may run (every statement is IF NOT EXISTS)."""
    return [stmt for stmt, _, _ in _raw_ddl_items(settings)]


def _raw_ddl_items(settings: Settings) -> list[tuple[str, str | None, str | None]]:
    """(statement, the table it creates or alters, the column it adds): table "" is the schema
    (needed when RAW has no table), None a statement always run."""
    raw = f"{settings.database}.{settings.raw_schema}"
    items: list[tuple[str, str | None, str | None]] = [(f"CREATE SCHEMA IF NOT EXISTS {raw}", "", None)]
    for src in settings.config.sources.values():
        ddl = f"CREATE TABLE IF NOT EXISTS {raw}.{src.table} ({_ddl({**src.columns, **METADATA_COLUMNS})})"
        items.append((ddl, src.table.upper(), None))
    items.append((f"CREATE TABLE IF NOT EXISTS {raw}.LOAD_HISTORY ({_ddl(HISTORY_COLUMNS)})", "LOAD_HISTORY", None))
    items += [
        (f"ALTER TABLE {raw}.LOAD_HISTORY ADD COLUMN IF NOT EXISTS {c} {HISTORY_COLUMNS[c]}", "LOAD_HISTORY", c)
        for c in ADDED_HISTORY_COLUMNS
    ]
    items.append((f"CREATE TABLE IF NOT EXISTS {raw}.LOAD_REJECTS ({_ddl(REJECTS_COLUMNS)})", "LOAD_REJECTS", None))
    items.append((f"CREATE STAGE IF NOT EXISTS {raw}.{STAGE}", None, None))
    return items
