"""Snowflake's documented constraints on the statements the `snowflake` profile sends (issue 19).

Each rule is a small function over a script (the statements in the order they run) that returns its
violations as strings (empty: the script keeps the rule). Each docstring cites the documentation page
the rule comes from. COPY statements are read with sqlglot's Snowflake dialect; the rest by keyword.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlglot
from sqlglot import exp

Script = Sequence[str]

_COPY = re.compile(r"^\s*COPY\s+INTO\s+(?!@)", re.IGNORECASE)  # COPY INTO <table> (not an unload to @stage)
_BEGIN = re.compile(r"^\s*(BEGIN|START\s+TRANSACTION)\b", re.IGNORECASE)
_END = re.compile(r"^\s*(COMMIT|ROLLBACK)\b", re.IGNORECASE)
_DDL = re.compile(r"^\s*(CREATE|ALTER|DROP|TRUNCATE|UNDROP)\b", re.IGNORECASE)
_VALIDATE = re.compile(r"\bVALIDATE\s*\(\s*([^,)]+?)\s*(?:,\s*JOB_ID\s*=>\s*'([^']*)')?\s*\)", re.IGNORECASE)
_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")  # string literals and quoted identifiers
_BARE_TIMESTAMP_FUNCTION = re.compile(r"\b(TRY_)?TO_TIMESTAMP\s*\(", re.IGNORECASE)


def _copy(sql: str) -> exp.Copy | None:
    """The parsed COPY INTO <table>, or None for any other statement."""
    if not _COPY.match(sql):
        return None
    tree = sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    assert isinstance(tree, exp.Copy), sql
    return tree


def _params(copy: exp.Copy) -> dict[str, exp.CopyParameter]:
    return {p.this.name.upper(): p for p in copy.args.get("params") or []}


def _file_format(copy: exp.Copy) -> dict[str, str]:
    fmt = _params(copy).get("FILE_FORMAT")
    if fmt is None:
        return {}
    return {p.this.name.upper(): p.args["value"].sql("snowflake").upper() for p in fmt.expressions}


def transforms(copy: exp.Copy) -> bool:
    """A COPY whose FROM is a SELECT ("transforming data during a load")."""
    return any(isinstance(f, exp.Subquery | exp.Select) for f in copy.args.get("files") or [])


def _target(copy: exp.Copy) -> str:
    return copy.this.sql("snowflake").upper()


def _short(sql: str) -> str:
    return sql if len(sql) <= 160 else sql[:157] + "..."


def no_validate_after_transforming_copy(script: Script) -> list[str]:
    """No VALIDATE(...) of a COPY that used a SELECT to transform data.

    VALIDATE, https://docs.snowflake.com/en/sql-reference/functions/validate: "Validation fails if:
    SELECT statements are used to transform data during a COPY INTO <table> operation." `JOB_ID =>
    '_last'` is the session's last COPY; another job id is taken as any COPY into the table.
    """
    found = []
    last_transforms = False
    transformed: set[str] = set()
    for sql in script:
        copy = _copy(sql)
        if copy is not None:
            last_transforms = transforms(copy)
            if last_transforms:
                transformed.add(_target(copy))
            continue
        for m in _VALIDATE.finditer(sql):
            table, job = m.group(1).strip().upper(), (m.group(2) or "").lower()
            if (job == "_last" and last_transforms) or (job != "_last" and table in transformed):
                found.append(f"VALIDATE({table}) after a transforming COPY: {_short(sql)}")
    return found


def parquet_uses_logical_type(script: Script, timestamps: bool = True) -> list[str]:
    """A Parquet FILE_FORMAT where timestamps may be read has USE_LOGICAL_TYPE = TRUE.

    CREATE FILE FORMAT, Parquet options, https://docs.snowflake.com/en/sql-reference/sql/create-file-format:
    USE_LOGICAL_TYPE "specifies whether to use Parquet logical types"; default FALSE, so an INT64 column with
    the TIMESTAMP logical type only (what DuckDB writes) loads as an integer. `timestamps=False`: the files
    hold no timestamp, the rule does not apply.
    """
    if not timestamps:
        return []
    found = []
    for sql in script:
        copy = _copy(sql)
        if copy is not None:
            fmt = _file_format(copy)
            if fmt.get("TYPE") == "PARQUET" and fmt.get("USE_LOGICAL_TYPE") != "TRUE":
                found.append(f"Parquet COPY without USE_LOGICAL_TYPE = TRUE: {_short(sql)}")
        elif re.match(r"^\s*CREATE\b.*\bFILE\s+FORMAT\b", sql, re.IGNORECASE | re.DOTALL):
            bare = _LITERALS.sub("''", sql).upper()
            if re.search(r"\bTYPE\s*=\s*PARQUET\b", bare) and not re.search(r"\bUSE_LOGICAL_TYPE\s*=\s*TRUE\b", bare):
                found.append(f"Parquet file format without USE_LOGICAL_TYPE = TRUE: {_short(sql)}")
    return found


def no_ddl_in_transaction(script: Script) -> list[str]:
    """No DDL (CREATE, CREATE OR REPLACE, ALTER, DROP, TRUNCATE, UNDROP) between BEGIN and COMMIT/ROLLBACK.

    Transactions, https://docs.snowflake.com/en/sql-reference/transactions: "Each DDL statement executes as
    its own transaction"; a DDL statement inside an explicit transaction first commits the open
    transaction, so a later ROLLBACK cannot undo what came before it.
    """
    found = []
    open_ = False
    for sql in script:
        if _BEGIN.match(sql):
            open_ = True
        elif _END.match(sql):
            open_ = False
        elif open_ and _DDL.match(sql):
            found.append(f"DDL inside a transaction: {_short(sql)}")
    return found


def force_on_every_copy(script: Script, force: bool) -> list[str]:
    """A load with force (`load --force`) gives FORCE = TRUE on every COPY INTO <table>.

    COPY INTO <table>, copy options, https://docs.snowflake.com/en/sql-reference/sql/copy-into-table:
    FORCE "loads all files, regardless of whether they've been loaded previously"; without it the
    64-day load metadata skips a file already loaded and the COPY loads 0 rows.
    """
    if not force:
        return []
    found = []
    for sql in script:
        copy = _copy(sql)
        if copy is None:
            continue
        param = _params(copy).get("FORCE")
        if param is None or param.expression.sql("snowflake").upper() != "TRUE":
            found.append(f"COPY of a forced load without FORCE = TRUE: {_short(sql)}")
    return found


def column_count_check_only_on_plain_copy(script: Script) -> list[str]:
    """ERROR_ON_COLUMN_COUNT_MISMATCH only on a COPY without a transforming SELECT.

    CREATE FILE FORMAT, CSV options, https://docs.snowflake.com/en/sql-reference/sql/create-file-format
    (and COPY INTO <table>, https://docs.snowflake.com/en/sql-reference/sql/copy-into-table): the option is
    ignored when the COPY transforms data (the SELECT picks fields by position), so a row with an extra
    field would load shifted instead of being rejected.
    """
    found = []
    for sql in script:
        copy = _copy(sql)
        if copy is not None and transforms(copy) and "ERROR_ON_COLUMN_COUNT_MISMATCH" in _file_format(copy):
            found.append(f"ERROR_ON_COLUMN_COUNT_MISMATCH on a transforming COPY (ignored): {_short(sql)}")
    return found


def explicit_timestamp_ntz(script: Script) -> list[str]:
    """Timestamps are cast explicitly to TIMESTAMP_NTZ: no bare TO_TIMESTAMP( / TRY_TO_TIMESTAMP(, no
    ::TIMESTAMP or CAST(... AS TIMESTAMP) without _NTZ.

    Date & time data types, https://docs.snowflake.com/en/sql-reference/data-types-datetime: TIMESTAMP and
    TO_TIMESTAMP follow the TIMESTAMP_TYPE_MAPPING parameter (Parameters,
    https://docs.snowflake.com/en/sql-reference/parameters#timestamp-type-mapping), which an account may set
    to TIMESTAMP_LTZ or TIMESTAMP_TZ.
    """
    found = []
    for sql in script:
        bare = _LITERALS.sub("''", sql)
        if _BARE_TIMESTAMP_FUNCTION.search(bare):
            found.append(f"TO_TIMESTAMP without _NTZ: {_short(sql)}")
            continue
        try:
            tree = sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
        except sqlglot.errors.ParseError:
            tree = None  # PUT and the like: the text check above is all there is
        if tree is None:
            if re.search(r"::\s*TIMESTAMP\b(?!_)", bare, re.IGNORECASE):
                found.append(f"::TIMESTAMP without _NTZ: {_short(sql)}")
            continue
        for cast in tree.find_all(exp.Cast):  # TryCast is a Cast
            if cast.to.this == exp.DataType.Type.TIMESTAMP:
                found.append(f"cast to TIMESTAMP without _NTZ: {_short(sql)}")
                break
    return found


def check_all(script: Script, *, force: bool = False, parquet_timestamps: bool = True) -> list[str]:
    """Every rule over one script."""
    return [
        *no_validate_after_transforming_copy(script),
        *parquet_uses_logical_type(script, parquet_timestamps),
        *no_ddl_in_transaction(script),
        *force_on_every_copy(script, force),
        *column_count_check_only_on_plain_copy(script),
        *explicit_timestamp_ntz(script),
    ]
