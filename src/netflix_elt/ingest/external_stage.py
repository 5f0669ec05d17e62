"""Loading on Snowflake straight from S3: an external stage through a storage integration.

On a real account the files need not pass through this machine: RAW is loaded with
`COPY INTO ... FROM (SELECT $1, ..., METADATA$FILENAME, METADATA$FILE_ROW_NUMBER FROM @stage/...)`
with each source's `ON_ERROR` policy (`on_error` in the config: CONTINUE, SKIP_FILE,
SKIP_FILE_<N>, 'SKIP_FILE_<N>%' or ABORT_STATEMENT), and the rows Snowflake could not parse are recorded in
`RAW.LOAD_REJECTS` from `VALIDATE(..., JOB_ID => '_last')`. Rows that parse but break a rule of
the source (a rating outside 0.5..5.0, a missing id) are moved to the rejects table in the same
transaction, so RAW holds the same rows as after a local load. No keys appear in the SQL: S3
access is the storage integration's (see `netflix-elt init --print-admin-sql`).

The embedded engine cannot do this (no httpfs, no VALIDATE); it uses the local path in
`load.py`. These statements are tested by parsing them as Snowflake SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from netflix_elt.config import Settings, SourceSection, check_identifier
from netflix_elt.errors import ConfigError, LoadError
from netflix_elt.ingest.parse import rule_checks
from netflix_elt.sql import string as _q

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from netflix_elt.ingest.landing import BatchManifest

LANDING_STAGE = "NETFLIX_ELT_LANDING"
CSV_FORMAT = (
    "TYPE = CSV FIELD_DELIMITER = ',' SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '\"' "
    "ESCAPE_UNENCLOSED_FIELD = NONE EMPTY_FIELD_AS_NULL = TRUE ENCODING = 'UTF8' "
    "ERROR_ON_COLUMN_COUNT_MISMATCH = TRUE"
)


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


def copy_sql(
    settings: Settings, source: SourceSection, path: str, load_id: int, loaded_at: datetime, *, force: bool = False
) -> str:
    """COPY one landed file into its RAW table with the load's metadata columns.

    `force` (`load --force`) adds `FORCE = TRUE`: without it Snowflake's 64-day load metadata skips a
    file it already loaded (COPY INTO <table>, FORCE)."""
    raw = f"{settings.database}.{settings.raw_schema}"
    cols = [f'"{c.upper()}"' for c in source.columns] + [
        '"_LOAD_ID"',
        '"_LOADED_AT"',
        '"_SOURCE_FILE"',
        '"_SOURCE_ROW"',
    ]
    values = [f"${i + 1}" for i in range(len(source.columns))] + [
        str(load_id),
        f"{_q(loaded_at.isoformat(sep=' '))}::TIMESTAMP_NTZ",
        "METADATA$FILENAME",
        "METADATA$FILE_ROW_NUMBER",
    ]
    return (
        f"COPY INTO {raw}.{source.table} ({', '.join(cols)}) FROM (SELECT {', '.join(values)} "
        f"FROM @{raw}.{LANDING_STAGE}/{path}) FILE_FORMAT = ({CSV_FORMAT}) ON_ERROR = {on_error_sql(source)}"
        + (" FORCE = TRUE" if force else "")
    )


def on_error_sql(source: SourceSection) -> str:
    """The source's policy as Snowflake spells it (the percentage form is a quoted string)."""
    policy = source.on_error_policy.upper()
    return f"'{policy}'" if policy.endswith("%") else policy


def rejects_from_validate_sql(settings: Settings, source: SourceSection, load_id: int, loaded_at: datetime) -> str:
    """Record what the last COPY could not parse (Snowflake keeps it for VALIDATE)."""
    raw = f"{settings.database}.{settings.raw_schema}"
    return (
        f"INSERT INTO {raw}.LOAD_REJECTS (_LOAD_ID, SOURCE_TABLE, SOURCE_FILE, LINE_NUMBER, RAW_LINE, REASON, "
        f"REJECTED_AT) SELECT {load_id}, {_q(source.table)}, FILE, LINE, REJECTED_RECORD, ERROR, "
        f"{_q(loaded_at.isoformat(sep=' '))}::TIMESTAMP_NTZ "
        f"FROM TABLE(VALIDATE({raw}.{source.table}, JOB_ID => '_last'))"
    )


def rule_violation_sql(source: SourceSection) -> str | None:
    """A predicate true for rows that parsed but break a rule of the source (parse.rule_checks)."""
    rules = rule_checks(source, lambda c: f'"{c.upper()}"')
    return " OR ".join(f"({pred})" for pred, _ in rules) if rules else None


def move_rule_violations_sql(settings: Settings, source: SourceSection, load_id: int, loaded_at: datetime) -> list[str]:
    """Move rows of this load that break a rule from RAW to the rejects table (two statements)."""
    predicate = rule_violation_sql(source)
    if predicate is None:
        return []
    raw = f"{settings.database}.{settings.raw_schema}"
    where = f"_LOAD_ID = {load_id} AND ({predicate})"
    line = " || ',' || ".join(f"COALESCE(TO_VARCHAR(\"{c.upper()}\"), '')" for c in source.columns)
    return [
        f"INSERT INTO {raw}.LOAD_REJECTS (_LOAD_ID, SOURCE_TABLE, SOURCE_FILE, LINE_NUMBER, RAW_LINE, REASON, "
        f"REJECTED_AT) SELECT _LOAD_ID, {_q(source.table)}, _SOURCE_FILE, _SOURCE_ROW + 1, {line}, "
        f"'breaks a rule of {source.table}: {predicate.replace(chr(39), chr(39) * 2)}', "
        f"{_q(loaded_at.isoformat(sep=' '))}::TIMESTAMP_NTZ FROM {raw}.{source.table} WHERE {where}",
        f"DELETE FROM {raw}.{source.table} WHERE {where}",
    ]


def load_batch_statements(
    settings: Settings,
    url: str,
    manifest: BatchManifest,
    book: Any,
    first_load_id: int,
    loaded_at: datetime,
    skip: bool = False,
) -> tuple[list[str], list[tuple[str, str, int]]]:
    """Every statement to load one batch (in one transaction), and the files it loads (table, uri, load id).

    `book` answers which content was loaded before (load._Book); with `skip` the batch's files
    are only recorded as skipped by the user (`load --skip-batch`). `book.force` (`load --force`) puts
    `FORCE = TRUE` on every COPY.
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
        if book.same_content(source, uri, entry.sha256) is not None:
            continue
        at = f"{_q(loaded_at.isoformat(sep=' '))}::TIMESTAMP_NTZ"
        history = (
            f"INSERT INTO {raw}.LOAD_HISTORY (LOAD_ID, SOURCE_TABLE, FILE, BATCH, CHECKSUM, ROWS_PARSED, ROWS_LOADED, "
            "ROWS_REJECTED, LOADED_AT, STATUS, MESSAGE, KEY_COUNT) "
        )
        if skip:
            stmts.append(
                f"{history}SELECT {load_id}, {_q(source.table)}, {_q(uri)}, {_q(prefix)}, {_q(entry.sha256)}, 0, 0, 0, "
                f"{at}, 'SKIPPED', {_q(f'skipped by the user (--skip-batch {manifest.batch})')}, 0"
            )
            files.append((source.table, uri, load_id))
            load_id += 1
            continue
        loaded = f"(SELECT COUNT(*) FROM {raw}.{source.table} WHERE _LOAD_ID = {load_id})"
        rejected = f"(SELECT COUNT(*) FROM {raw}.LOAD_REJECTS WHERE _LOAD_ID = {load_id})"
        keys = ", ".join(f'"{c.upper()}"' for c in source.key) or "*"
        key_count = (
            f"(SELECT COUNT(*) FROM (SELECT DISTINCT {keys} FROM {raw}.{source.table} WHERE _LOAD_ID = {load_id}))"
        )
        force = bool(getattr(book, "force", False))  # load --force: the load metadata must not skip it
        stmts.append(copy_sql(settings, source, f"{prefix}/{source.file}", load_id, loaded_at, force=force))
        stmts.append(rejects_from_validate_sql(settings, source, load_id, loaded_at))
        stmts.extend(move_rule_violations_sql(settings, source, load_id, loaded_at))
        stmts.append(
            f"{history}SELECT {load_id}, {_q(source.table)}, {_q(uri)}, {_q(prefix)}, {_q(entry.sha256)}, "
            f"{entry.rows}, {loaded}, {rejected}, {at}, "
            f"CASE WHEN {loaded} = 0 AND {rejected} > 0 THEN 'SKIPPED' ELSE 'LOADED' END, "
            f"CASE WHEN {loaded} = 0 AND {rejected} > 0 THEN {_q('on_error = ' + source.on_error_policy)} END, "
            f"{key_count}"
        )
        files.append((source.table, uri, load_id))
        load_id += 1
    return stmts, files


def run_in_transaction(
    session: Session,
    statements: list[str],
    say: Callable[[str], None],
    label: str = "",
    batch: int = 0,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """BEGIN, every statement, COMMIT; ROLLBACK and a LoadError naming the batch and the way out on failure
    (with ON_ERROR = ABORT_STATEMENT a rejected row fails the COPY)."""
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
