"""Loading on Snowflake straight from S3: an external stage through a storage integration.

On a real account the files need not pass through this machine. Each landed file goes through an
all-VARCHAR landing table, `RAW.<TABLE>__LANDING`, so that every statement is one Snowflake documents:

1. before BEGIN (DDL commits implicitly, Transactions): `CREATE OR REPLACE TRANSIENT TABLE` the landing
   table, with the file's columns as VARCHAR and `_SOURCE_ROW`;
2. a plain `COPY INTO <landing> FROM @stage/<path>` with no transforming SELECT, so that `VALIDATE`
   applies ("Validation fails if: SELECT statements are used to transform data during a COPY INTO
   <table> operation", https://docs.snowflake.com/en/sql-reference/functions/validate) and
   `ERROR_ON_COLUMN_COUNT_MISMATCH = TRUE` is honoured (it is ignored when the COPY transforms data,
   https://docs.snowflake.com/en/sql-reference/sql/copy-into-table). The row number comes from
   `INCLUDE_METADATA = (_SOURCE_ROW = METADATA$FILE_ROW_NUMBER)`, which needs `MATCH_BY_COLUMN_NAME`
   and, for CSV, `PARSE_HEADER = TRUE` (which replaces `SKIP_HEADER`);
3. `INSERT INTO LOAD_REJECTS ... FROM TABLE(VALIDATE(<landing>, JOB_ID => '_last'))`: the records
   Snowflake could not split into fields (quoting, field count, encoding), with their line and error;
4. the typed `INSERT INTO RAW_X ... SELECT TRY_CAST(...)` from the landing table, applying the value
   rules of the local loader (`parse._VALID`, here `_VALID`) and the source's rules (`parse.rule_checks`);
   rows that fail go to `LOAD_REJECTS` with their line and a reason naming the column and value;
5. the `LOAD_HISTORY` row; after COMMIT (or ROLLBACK) the landing tables are dropped.

`ON_ERROR`: the landing COPY takes `ABORT_STATEMENT` for an abort_statement source and `CONTINUE`
otherwise; the SKIP_FILE policies (`skip_file`, `skip_file_<N>`, `skip_file_<N>%`) are applied after
the typed checks to all the file's rejects, as the local loader does (`load._skips`): a skipped file
loads no row, keeps its rejects and is recorded as SKIPPED. A typed reject under abort_statement fails
the batch in `load.load_from_external_stage` (before COMMIT, like the deletion guard).

Line numbers: whether `METADATA$FILE_ROW_NUMBER` counts the header row that `PARSE_HEADER` consumes is
not documented (Querying Metadata for Staged Files, https://docs.snowflake.com/en/user-guide/querying-metadata,
says only "Row number for each record in the staged data file"). We assume neither: VALIDATE's `LINE`
is documented as the line in the file; for a loaded row the offset is found from the data. Let m be the
smallest `_SOURCE_ROW` in the landing table. If the header is not counted, m's line is m + 1 and line m
is either the header (m = 1) or a rejected record; if it is counted, m's line is m and it was not
rejected. So the offset is 1 when m = 1 or VALIDATE rejected line m, else 0. This assumes one record per
physical line (a quoted field with a line break shifts the lines after it by record, not line).

Only a live account can prove (not checked here): that `ERROR_ON_COLUMN_COUNT_MISMATCH` with
`MATCH_BY_COLUMN_NAME` compares each record with the header's fields and not with the landing table's
columns (one more: `_SOURCE_ROW`), and VALIDATE's output on a COPY with `INCLUDE_METADATA`.

A split file (`extract --split-size`: `ratings.part-0001.csv`, ...) loads as one logical file: one
plain COPY with `FILES = (...)` listing its parts, so Snowflake loads them in parallel, into one
landing table that also records each row's file (`_SOURCE_FILE = METADATA$FILENAME`); the header offset
above is found per part, rows and rejects carry the part's URI and their line in the part, every part
gets its own LOAD_HISTORY row (its name, checksum, rows loaded and rejected) under the file's one load
id, and the SKIP_FILE policies count the rejects of all parts, as for the file unsplit. Only a live
account can prove that VALIDATE's `FILE` and `METADATA$FILENAME` end with the part's name (both are
matched on the text after their last `/`).

No keys appear in the SQL: S3 access is the storage integration's (see `netflix-elt init --print-admin-sql`).
The embedded engine cannot do this (no httpfs, no VALIDATE); it uses the local path in `load.py`.
These statements are tested by parsing them as Snowflake SQL (tests/unit/test_external_stage.py,
tests/snowflake_rules.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from netflix_elt.config import Settings, SourceSection, check_identifier
from netflix_elt.errors import ConfigError, LoadError
from netflix_elt.ingest.parse import RAW_LINE_LIMIT, rule_checks
from netflix_elt.sql import string as _q

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from netflix_elt.ingest.landing import BatchManifest

LANDING_STAGE = "NETFLIX_ELT_LANDING"
LANDING_SUFFIX = "__LANDING"
CSV_FORMAT = (
    "TYPE = CSV FIELD_DELIMITER = ',' PARSE_HEADER = TRUE FIELD_OPTIONALLY_ENCLOSED_BY = '\"' "
    "ESCAPE_UNENCLOSED_FIELD = NONE EMPTY_FIELD_AS_NULL = TRUE ENCODING = 'UTF8' "
    "ERROR_ON_COLUMN_COUNT_MISMATCH = TRUE"
)
# what Snowflake's loader takes from a CSV field for each type: the rules of parse._VALID in
# Snowflake SQL (RLIKE matches the whole value); {v} is the field's text, never NULL here
_VALID = {
    "INTEGER": "RLIKE({v}, '[+-]?[0-9]+') AND TRY_CAST({v} AS NUMBER(38, 0)) IS NOT NULL",
    "FLOAT": "RLIKE({v}, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?')",
    "DATE": "RLIKE({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') AND TRY_TO_DATE({v}, 'YYYY-MM-DD') IS NOT NULL",
    "TIMESTAMP_NTZ": "TRY_CAST({v} AS TIMESTAMP_NTZ) IS NOT NULL",
    "BOOLEAN": "LOWER({v}) IN ('true', 'false', 't', 'f', 'yes', 'no', 'y', 'n', 'on', 'off', '1', '0')",
}
_VALID["BIGINT"], _VALID["DOUBLE"] = _VALID["INTEGER"], _VALID["FLOAT"]
_TYPED = {
    "INTEGER": "TRY_CAST({v} AS NUMBER(38, 0))",
    "BIGINT": "TRY_CAST({v} AS NUMBER(38, 0))",
    "FLOAT": "TRY_CAST({v} AS DOUBLE)",
    "DOUBLE": "TRY_CAST({v} AS DOUBLE)",
    "DATE": "TRY_TO_DATE({v}, 'YYYY-MM-DD')",
    "TIMESTAMP_NTZ": "TRY_CAST({v} AS TIMESTAMP_NTZ)",
    "BOOLEAN": "TRY_TO_BOOLEAN({v})",
    "VARCHAR": "{v}",
}


def _col(c: str) -> str:
    return f'"{c.upper()}"'


def _typed_col(c: str) -> str:
    return f'"_T_{c.upper()}"'


def stage_sql(settings: Settings, url: str) -> str:
    """The external stage on the landing URL, through the configured storage integration."""
    profile = settings.config.profiles.get("snowflake")
    if profile is None or not profile.storage_integration:
        raise ConfigError("profiles.snowflake.storage_integration is not set; it is needed to read S3 from Snowflake")
    integration = check_identifier(profile.storage_integration, "profiles.snowflake.storage_integration")
    if not url.startswith("s3://"):
        raise ConfigError(f"landing url {url!r}: Snowflake reads an external stage on s3:// only")
    return (
        f"CREATE STAGE IF NOT EXISTS {settings.database}.{settings.raw_schema}.{LANDING_STAGE} "
        f"URL = {_q(url.rstrip('/') + '/')} STORAGE_INTEGRATION = {integration} FILE_FORMAT = ({CSV_FORMAT})"
    )


def landing_table(settings: Settings, source: SourceSection) -> str:
    return f"{settings.database}.{settings.raw_schema}.{source.table}{LANDING_SUFFIX}"


def create_landing_sql(settings: Settings, source: SourceSection, *, parts: bool = False) -> str:
    """The transient all-VARCHAR landing table of a source (DDL: runs before BEGIN); with `parts` (a split
    file) it also records each row's file name."""
    cols = ", ".join(f"{_col(c)} VARCHAR" for c in source.columns)
    file = ', "_SOURCE_FILE" VARCHAR' if parts else ""
    return (
        f"CREATE OR REPLACE TRANSIENT TABLE {landing_table(settings, source)} "
        f'({cols}, "_SOURCE_ROW" NUMBER(38, 0){file})'
    )


def drop_landing_sql(settings: Settings, source: SourceSection) -> str:
    """Drop the landing table (DDL: runs after COMMIT or ROLLBACK)."""
    return f"DROP TABLE IF EXISTS {landing_table(settings, source)}"


def copy_on_error(source: SourceSection) -> str:
    """The landing COPY's ON_ERROR: ABORT_STATEMENT for an abort_statement source, else CONTINUE (the
    SKIP_FILE policies are applied after the typed checks, to every reject of the file: skip_sql)."""
    return "ABORT_STATEMENT" if source.on_error_policy.lower() == "abort_statement" else "CONTINUE"


def copy_sql(
    settings: Settings, source: SourceSection, path: str, *, force: bool = False, files: Sequence[str] = ()
) -> str:
    """The plain COPY of one landed file into its landing table: no transforming SELECT, so VALIDATE and
    ERROR_ON_COLUMN_COUNT_MISMATCH apply.

    `force` (`load --force`) adds `FORCE = TRUE`: without it Snowflake's 64-day load metadata skips a
    file it already loaded (COPY INTO <table>, FORCE). `files`: the parts of a split file under the
    folder `path`, loaded by the one COPY (`FILES = (...)`, in parallel), each row with its file's name."""
    raw = f"{settings.database}.{settings.raw_schema}"
    fmt = CSV_FORMAT + (" TRIM_SPACE = TRUE" if source.trim_space else "")
    listed = f" FILES = ({', '.join(_q(f) for f in files)})" if files else ""
    meta = "_SOURCE_ROW = METADATA$FILE_ROW_NUMBER" + (", _SOURCE_FILE = METADATA$FILENAME" if files else "")
    return (
        f"COPY INTO {landing_table(settings, source)} FROM @{raw}.{LANDING_STAGE}/{path}{listed} "
        f"FILE_FORMAT = ({fmt}) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE INCLUDE_METADATA = ({meta}) "
        f"ON_ERROR = {copy_on_error(source)}" + (" FORCE = TRUE" if force else "")
    )


def part_uri_sql(folder_uri: str, column: str) -> str:
    """The URI of a part from a column holding its file name or path (the text after its last '/')."""
    return f"{_q(folder_uri.rstrip('/') + '/')} || REGEXP_SUBSTR({column}, '[^/]+$')"


def on_error_sql(source: SourceSection) -> str:
    """The source's policy as Snowflake spells it (the percentage form is a quoted string)."""
    policy = source.on_error_policy.upper()
    return f"'{policy}'" if policy.endswith("%") else policy


def _rejects_insert(settings: Settings) -> str:
    return (
        f"INSERT INTO {settings.database}.{settings.raw_schema}.LOAD_REJECTS (_LOAD_ID, SOURCE_TABLE, SOURCE_FILE, "
        "LINE_NUMBER, RAW_LINE, REASON, REJECTED_AT) "
    )


def rejects_from_validate_sql(
    settings: Settings, source: SourceSection, uri: str, load_id: int, loaded_at: datetime, *, parts: bool = False
) -> str:
    """Record what the landing COPY could not parse (Snowflake keeps it for VALIDATE, with its LINE); with
    `parts`, `uri` is the batch folder's and each reject names its part (VALIDATE's FILE)."""
    file = part_uri_sql(uri, "FILE") if parts else _q(uri)
    return (
        f"{_rejects_insert(settings)}SELECT {load_id}, {_q(source.table)}, {file}, LINE, "
        f"LEFT(REJECTED_RECORD, {RAW_LINE_LIMIT}), ERROR, {_q(loaded_at.isoformat(sep=' '))}::TIMESTAMP_NTZ "
        f"FROM TABLE(VALIDATE({landing_table(settings, source)}, JOB_ID => '_last'))"
    )


def rule_violation_sql(source: SourceSection) -> str | None:
    """A predicate true for typed rows that break a rule of the source (parse.rule_checks)."""
    rules = rule_checks(source, _col)
    return " OR ".join(f"({pred})" for pred, _ in rules) if rules else None


def checked_sql(settings: Settings, source: SourceSection, folder_uri: str | None = None) -> str:
    """The landing rows with their typed columns, their line in the file (LINE) and the first reason they
    cannot load (WHY, NULL for a good row): the value rules of the local loader, then the source's rules.

    With `folder_uri` (a split file) the header offset is found per part and `SOURCE_URI` is each row's part."""
    land = landing_table(settings, source)
    typed = {c: _TYPED[t].format(v=_col(c)) for c, t in source.columns.items()}
    whens = []
    header = " AND ".join(f"{_col(c)} = {_q(c)}" for c in source.columns)
    whens.append(f"WHEN {header} THEN 'repeated header line'")
    for col, typ in source.columns.items():
        if typ in _VALID:
            v = _col(col)
            whens.append(
                f"WHEN {v} IS NOT NULL AND NOT ({_VALID[typ].format(v=v)}) "
                f"THEN 'invalid {typ} in {col}: ''' || LEFT({v}, 100) || ''''"
            )
    for pred, reason in rule_checks(source, lambda c: typed[c]):
        whens.append(f"WHEN {pred} THEN {reason}")
    line = " || ',' || ".join(f"COALESCE({_col(c)}, '')" for c in source.columns)
    # the header offset (see the module docstring): 1 when the first landed row number is 1 or its line
    # was rejected by VALIDATE, else 0
    offset = (
        f"(SELECT CASE WHEN MIN(_SOURCE_ROW) = 1 OR MIN(_SOURCE_ROW) IN "
        f"(SELECT LINE FROM TABLE(VALIDATE({land}, JOB_ID => '_last'))) THEN 1 ELSE 0 END FROM {land})"
    )
    # typed values under their own names ("_T_<COLUMN>"): an alias equal to a landing column would be
    # ambiguous for the CASE in the same SELECT list
    cols = ", ".join(f"{typed[c]} AS {_typed_col(c)}" for c in source.columns)
    if folder_uri is None:
        return (
            f"SELECT {cols}, _SOURCE_ROW + {offset} AS LINE, LEFT({line}, {RAW_LINE_LIMIT}) AS RAW_LINE, "
            f"CASE {' '.join(whens)} END AS WHY FROM {land}"
        )
    return (
        f"SELECT {cols}, _SOURCE_ROW + o._PART_OFFSET AS LINE, LEFT({line}, {RAW_LINE_LIMIT}) AS RAW_LINE, "
        f"{part_uri_sql(folder_uri, '_SOURCE_FILE')} AS SOURCE_URI, CASE {' '.join(whens)} END AS WHY "
        f"FROM {land} AS l JOIN ({part_offsets_sql(land)}) AS o ON o._PART_FILE = l._SOURCE_FILE"
    )


def part_offsets_sql(land: str) -> str:
    """Each part's header offset (see the module docstring), from its smallest row number and VALIDATE."""
    name = "REGEXP_SUBSTR({}, '[^/]+$')"
    return (
        "SELECT f._PART_FILE, CASE WHEN f._FIRST = 1 OR v.LINE IS NOT NULL THEN 1 ELSE 0 END AS _PART_OFFSET "
        f"FROM (SELECT _SOURCE_FILE AS _PART_FILE, MIN(_SOURCE_ROW) AS _FIRST FROM {land} GROUP BY _SOURCE_FILE) AS f "
        f"LEFT JOIN (SELECT DISTINCT {name.format('FILE')} AS _NAME, LINE "
        f"FROM TABLE(VALIDATE({land}, JOB_ID => '_last'))) AS v "
        f"ON v._NAME = {name.format('f._PART_FILE')} AND v.LINE = f._FIRST"
    )


def rejected_count_sql(settings: Settings, load_id: int) -> str:
    return f"(SELECT COUNT(*) FROM {settings.database}.{settings.raw_schema}.LOAD_REJECTS WHERE _LOAD_ID = {load_id})"


def skip_sql(settings: Settings, source: SourceSection, load_id: int, records: int) -> str:
    """True when the source's SKIP_FILE policy skips the file, over all its rejects (load._skips)."""
    policy = source.on_error_policy.lower()
    rejected = rejected_count_sql(settings, load_id)
    if policy in ("continue", "abort_statement"):
        return "FALSE"
    if policy == "skip_file":
        return f"{rejected} > 0"
    limit = policy.removeprefix("skip_file_")
    if limit.endswith("%"):
        return f"({rejected} > 0 AND {rejected} * 100 >= {float(limit[:-1])} * {records})"
    return f"{rejected} >= {int(limit)}"


def typed_statements(
    settings: Settings,
    source: SourceSection,
    uri: str,
    load_id: int,
    loaded_at: datetime,
    records: int,
    *,
    parts: bool = False,
) -> list[str]:
    """The typed rejects into LOAD_REJECTS, then the good rows into RAW (none when the file is skipped); with
    `parts`, `uri` is the batch folder's and each row names its part."""
    raw = f"{settings.database}.{settings.raw_schema}"
    at = f"{_q(loaded_at.isoformat(sep=' '))}::TIMESTAMP_NTZ"
    checked = checked_sql(settings, source, uri if parts else None)
    file = "SOURCE_URI" if parts else _q(uri)
    cols = [_col(c) for c in source.columns]
    typed = ", ".join(_typed_col(c) for c in source.columns)
    skipped = skip_sql(settings, source, load_id, records)
    meta = ['"_LOAD_ID"', '"_LOADED_AT"', '"_SOURCE_FILE"', '"_SOURCE_ROW"']
    return [
        f"{_rejects_insert(settings)}SELECT {load_id}, {_q(source.table)}, {file}, LINE, RAW_LINE, WHY, {at} "
        f"FROM ({checked}) WHERE WHY IS NOT NULL",
        f"INSERT INTO {raw}.{source.table} ({', '.join(cols + meta)}) SELECT {typed}, {load_id}, {at}, "
        f"{file}, LINE - 1 FROM ({checked}) WHERE WHY IS NULL AND NOT ({skipped})",
    ]


def landed_sources(settings: Settings, files: Sequence[tuple[str, str, int]]) -> list[SourceSection]:
    tables = {f[0] for f in files}
    return [s for s in settings.config.sources.values() if s.table in tables]


def load_batch_statements(
    settings: Settings,
    url: str,
    manifest: BatchManifest,
    book: Any,
    first_load_id: int,
    loaded_at: datetime,
    skip: bool = False,
) -> tuple[list[str], list[tuple[str, str, int]]]:
    """Every statement to load one batch inside its transaction, and the files it loads (table, uri, load id).

    The landing tables are created before BEGIN and dropped after it (`before_sql`, `after_sql`;
    `batch_script` gives the whole script). `book` answers which content was loaded before (load._Book);
    with `skip` the batch's files are only recorded as skipped by the user (`load --skip-batch`).
    `book.force` (`load --force`) puts `FORCE = TRUE` on every COPY.
    """
    stmts: list[str] = []
    files: list[tuple[str, str, int]] = []
    load_id = first_load_id
    prefix = f"batch={manifest.batch:04d}"
    raw = f"{settings.database}.{settings.raw_schema}"
    for source in settings.config.sources.values():
        entry = manifest.file(source.file)
        uri = f"{url.rstrip('/')}/{prefix}/{source.file}"
        if entry is None:
            if not source.optional and manifest.batch == 1:
                raise LoadError(f"{uri}: file not found (needed for {source.table})")
            continue
        if entry.parts:
            if not _load_parts(source, uri, entry, f"{url.rstrip('/')}/{prefix}", book):
                continue
        elif book.same_content(source, uri, entry.sha256) is not None:
            continue
        at = f"{_q(loaded_at.isoformat(sep=' '))}::TIMESTAMP_NTZ"
        history = (
            f"INSERT INTO {raw}.LOAD_HISTORY (LOAD_ID, SOURCE_TABLE, FILE, BATCH, CHECKSUM, ROWS_PARSED, ROWS_LOADED, "
            "ROWS_REJECTED, LOADED_AT, STATUS, MESSAGE, KEY_COUNT) "
        )
        if skip:
            for obj in entry.objects():
                obj_uri = f"{url.rstrip('/')}/{prefix}/{obj.name}"
                stmts.append(
                    f"{history}SELECT {load_id}, {_q(source.table)}, {_q(obj_uri)}, {_q(prefix)}, {_q(obj.sha256)}, "
                    f"0, 0, 0, {at}, 'SKIPPED', {_q(f'skipped by the user (--skip-batch {manifest.batch})')}, 0"
                )
                files.append((source.table, obj_uri, load_id))
            load_id += 1
            continue
        if entry.parts:
            folder = f"{url.rstrip('/')}/{prefix}"
            stmts.extend(_split_statements(settings, source, entry, folder, prefix, book, load_id, loaded_at, history))
            files.extend((source.table, f"{folder}/{p.name}", load_id) for p in entry.parts)
            load_id += 1
            continue
        loaded = f"(SELECT COUNT(*) FROM {raw}.{source.table} WHERE _LOAD_ID = {load_id})"
        rejected = rejected_count_sql(settings, load_id)
        keys = ", ".join(_col(c) for c in source.key) or "*"
        key_count = (
            f"(SELECT COUNT(*) FROM (SELECT DISTINCT {keys} FROM {raw}.{source.table} WHERE _LOAD_ID = {load_id}))"
        )
        force = bool(getattr(book, "force", False))  # load --force: the load metadata must not skip it
        stmts.append(copy_sql(settings, source, f"{prefix}/{source.file}", force=force))
        stmts.append(rejects_from_validate_sql(settings, source, uri, load_id, loaded_at))
        stmts.extend(typed_statements(settings, source, uri, load_id, loaded_at, entry.rows))
        skipped = skip_sql(settings, source, load_id, entry.rows)
        message = _q(f"on_error = {source.on_error_policy}: ")
        stmts.append(
            f"{history}SELECT {load_id}, {_q(source.table)}, {_q(uri)}, {_q(prefix)}, {_q(entry.sha256)}, "
            f"{entry.rows}, {loaded}, {rejected}, {at}, CASE WHEN {skipped} THEN 'SKIPPED' ELSE 'LOADED' END, "
            f"CASE WHEN {skipped} THEN {message} || {rejected} || ' of {entry.rows} records rejected' END, "
            f"{key_count}"
        )
        files.append((source.table, uri, load_id))
        load_id += 1
    return stmts, files


def _load_parts(source: SourceSection, uri: str, entry: Any, folder: str, book: Any) -> bool:
    """Whether a split file loads: not when every part's content is loaded already; refused (LoadError)
    when only some are and the source is a delta (loading them again would duplicate those rows)."""
    earlier = [book.same_content(source, f"{folder}/{p.name}", p.sha256) for p in entry.parts]
    if all(e is not None for e in earlier):
        return False
    if source.mode == "append" and any(e is not None for e in earlier):
        done = next(e for e in earlier if e is not None)
        raise LoadError(
            f"{uri}: some of its parts are loaded already ({done.describe()}), others are not: loading it would "
            f"load those rows of {source.table} twice. Land the file again whole, or load it anyway with "
            "`netflix-elt load --force`"
        )
    return True


def _split_statements(
    settings: Settings,
    source: SourceSection,
    entry: Any,
    folder: str,
    prefix: str,
    book: Any,
    load_id: int,
    loaded_at: datetime,
    history: str,
) -> list[str]:
    """A split file's load: one COPY of all its parts, VALIDATE's and the typed rejects, the typed rows, and
    one LOAD_HISTORY row per part (its rows and rejects; the status, message and keys are the file's)."""
    raw = f"{settings.database}.{settings.raw_schema}"
    at = f"{_q(loaded_at.isoformat(sep=' '))}::TIMESTAMP_NTZ"
    force = bool(getattr(book, "force", False))
    stmts = [
        copy_sql(settings, source, f"{prefix}/", force=force, files=[p.name for p in entry.parts]),
        rejects_from_validate_sql(settings, source, folder, load_id, loaded_at, parts=True),
        *typed_statements(settings, source, folder, load_id, loaded_at, entry.rows, parts=True),
    ]
    skipped = skip_sql(settings, source, load_id, entry.rows)
    rejected = rejected_count_sql(settings, load_id)
    keys = ", ".join(_col(c) for c in source.key) or "*"
    key_count = f"(SELECT COUNT(*) FROM (SELECT DISTINCT {keys} FROM {raw}.{source.table} WHERE _LOAD_ID = {load_id}))"
    message = _q(f"on_error = {source.on_error_policy}: ")
    for part in entry.parts:
        part_uri = _q(f"{folder}/{part.name}")
        loaded = f"(SELECT COUNT(*) FROM {raw}.{source.table} WHERE _LOAD_ID = {load_id} AND _SOURCE_FILE = {part_uri})"
        part_rejected = (
            f"(SELECT COUNT(*) FROM {raw}.LOAD_REJECTS WHERE _LOAD_ID = {load_id} AND SOURCE_FILE = {part_uri})"
        )
        stmts.append(
            f"{history}SELECT {load_id}, {_q(source.table)}, {part_uri}, {_q(prefix)}, {_q(part.sha256)}, "
            f"{part.rows}, {loaded}, {part_rejected}, {at}, CASE WHEN {skipped} THEN 'SKIPPED' ELSE 'LOADED' END, "
            f"CASE WHEN {skipped} THEN {message} || {rejected} || ' of {entry.rows} records rejected' END, "
            f"{key_count}"
        )
    return stmts


def _split_tables(files: Sequence[tuple[str, str, int]]) -> set[str]:
    """The tables whose file is split: they appear with more than one part (a split file has two or more)."""
    tables = [f[0] for f in files]
    return {t for t in tables if tables.count(t) > 1}


def before_sql(settings: Settings, files: Sequence[tuple[str, str, int]], skip: bool = False) -> list[str]:
    """The DDL before BEGIN: a fresh landing table for every file the batch loads."""
    split = _split_tables(files)
    return (
        []
        if skip
        else [create_landing_sql(settings, s, parts=s.table in split) for s in landed_sources(settings, files)]
    )


def after_sql(settings: Settings, files: Sequence[tuple[str, str, int]], skip: bool = False) -> list[str]:
    """The DDL after COMMIT or ROLLBACK: the landing tables are dropped."""
    return [] if skip else [drop_landing_sql(settings, s) for s in landed_sources(settings, files)]


def batch_script(
    settings: Settings,
    url: str,
    manifest: BatchManifest,
    book: Any,
    first_load_id: int,
    loaded_at: datetime,
    skip: bool = False,
) -> list[str]:
    """The whole script of one batch, in the order it runs: landing DDL, BEGIN, the load, COMMIT, cleanup."""
    stmts, files = load_batch_statements(settings, url, manifest, book, first_load_id, loaded_at, skip)
    if not stmts:
        return []
    return [*before_sql(settings, files, skip), "BEGIN", *stmts, "COMMIT", *after_sql(settings, files, skip)]


def run_in_transaction(
    session: Session,
    statements: list[str],
    say: Callable[[str], None],
    label: str = "",
    batch: int = 0,
    before_commit: Callable[[], None] | None = None,
    before: Sequence[str] = (),
    after: Sequence[str] = (),
) -> None:
    """`before` (DDL: the landing tables), then BEGIN, every statement, COMMIT, and `after` (DDL: the landing
    tables dropped) whatever happened; ROLLBACK and a LoadError naming the batch and the way out on failure
    (with ON_ERROR = ABORT_STATEMENT a rejected row fails the COPY). No DDL runs between BEGIN and COMMIT:
    Snowflake commits it implicitly (Transactions, https://docs.snowflake.com/en/sql-reference/transactions)."""
    try:
        for stmt in before:
            say(stmt[:120])
            session.sql(stmt).collect()
        _transaction(session, statements, say, label, batch, before_commit)
    finally:
        for stmt in after:  # a landing table left behind is replaced by the next load's CREATE OR REPLACE
            with contextlib.suppress(Exception):
                session.sql(stmt).collect()


def _transaction(
    session: Session,
    statements: list[str],
    say: Callable[[str], None],
    label: str,
    batch: int,
    before_commit: Callable[[], None] | None,
) -> None:
    session.sql("BEGIN").collect()
    try:
        for stmt in statements:
            say(stmt.split(" FROM ")[0][:120])
            session.sql(stmt).collect()
        if before_commit is not None:
            before_commit()  # e.g. the deletion guard: a LoadError rolls the batch back
        session.sql("COMMIT").collect()
    except LoadError:
        session.sql("ROLLBACK").collect()
        raise
    except Exception as e:
        session.sql("ROLLBACK").collect()
        raise LoadError(
            f"load of {label or 'the batch'} from the external stage failed and was rolled back: {e}. Fix the file "
            f"and land it again, or skip the batch: netflix-elt load --skip-batch {batch or 'N'}"
        ) from e
