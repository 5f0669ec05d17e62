"""Load landed files into RAW with COPY INTO: idempotent, with load history and rejected rows.

Every file is parsed and checked before any SQL runs (see `parse.py`), then all files are
staged (PUT to an internal stage) and COPY'd in one transaction, so a bad file leaves RAW as it
was. `RAW.LOAD_HISTORY` records each file with its checksum; a file already loaded with the same
checksum is skipped, as Snowflake's own load metadata does, unless `force` is given.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from netflix_elt.config import Settings
from netflix_elt.errors import LoadError
from netflix_elt.faults import fault
from netflix_elt.ingest.landing import BatchManifest, Landing
from netflix_elt.ingest.parse import ParsedFile, parse_csv, sha256_of

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
}
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


@dataclass
class LandedBatch:
    """One batch of landed files, available as local paths."""

    label: str
    uri: str
    files: dict[str, Path]


@dataclass
class FileLoad:
    source: str
    table: str
    file: str
    status: str  # LOADED, SKIPPED, MISSING
    rows_parsed: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    load_id: int | None = None
    message: str = ""


@dataclass
class LoadReport:
    files: list[FileLoad] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> list[FileLoad]:
        return [f for f in self.files if f.status == "LOADED"]


def _ddl(columns: dict[str, str]) -> str:
    return ", ".join(f'"{c.upper()}" {t}' for c, t in columns.items())


def ensure_raw(session: Session, settings: Settings) -> None:
    """Create the RAW schema, its tables, the load history and rejects tables, and the stage."""
    raw = f"{settings.database}.{settings.raw_schema}"
    stmts = [f"CREATE SCHEMA IF NOT EXISTS {raw}"]
    for src in settings.config.sources.values():
        stmts.append(
            f"CREATE TABLE IF NOT EXISTS {raw}.{src.table} ({_ddl({**src.columns, **METADATA_COLUMNS})})"
        )
    stmts.append(f"CREATE TABLE IF NOT EXISTS {raw}.LOAD_HISTORY ({_ddl(HISTORY_COLUMNS)})")
    stmts.append(f"CREATE TABLE IF NOT EXISTS {raw}.LOAD_REJECTS ({_ddl(REJECTS_COLUMNS)})")
    stmts.append(f"CREATE STAGE IF NOT EXISTS {raw}.{STAGE}")
    for s in stmts:
        session.sql(s).collect()


def batches_from(url: str, work_dir: Path) -> list[LandedBatch]:
    """The batches of a landing URL, as local folders (S3 objects are downloaded to work_dir).

    A plain folder of GroupLens CSV files (no `batch=NNNN/` folders) is one batch.
    """
    local = Path(url[7:] if url.startswith("file://") else url)
    if not url.startswith("s3://") and local.is_dir() and any(local.glob("*.csv")):
        return [
            LandedBatch(
                local.name, local.resolve().as_uri(), {p.name: p for p in sorted(local.glob("*.csv"))}
            )
        ]
    landing = Landing.from_url(url)
    result = []
    for manifest in landing.list_batches():
        folder = landing.fetch(manifest, work_dir / f"batch={manifest.batch:04d}")
        files = {f.name: folder / f.name for f in manifest.files}
        uri = (
            manifest.url
            if getattr(manifest, "url", None)
            else f"{url.rstrip('/')}/batch={manifest.batch:04d}"
        )
        result.append(LandedBatch(f"batch={manifest.batch:04d}", uri, files))
    if not result:
        raise LoadError(f"landing {url} holds no batches; run `netflix-elt extract --to {url}` first")
    return result


def _loaded_before(session: Session, settings: Settings) -> set[tuple[str, str]]:
    rows = session.sql(
        f"SELECT FILE, CHECKSUM FROM {settings.database}.{settings.raw_schema}.LOAD_HISTORY"
    ).collect()
    return {(r[0], r[1]) for r in rows}


def _tables_with_rows(session: Session, settings: Settings) -> set[str]:
    rows = session.sql(
        f"SELECT DISTINCT SOURCE_TABLE FROM {settings.database}.{settings.raw_schema}.LOAD_HISTORY "
        "WHERE ROWS_LOADED > 0"
    ).collect()
    return {r[0] for r in rows}


def _next_load_id(session: Session, settings: Settings) -> int:
    rows = session.sql(
        f"SELECT COALESCE(MAX(LOAD_ID), 0) FROM {settings.database}.{settings.raw_schema}.LOAD_HISTORY"
    ).collect()
    return int(rows[0][0]) + 1


def copy_parquet(session: Session, settings: Settings, parquet: Path, table: str, folder: str) -> None:
    """PUT a local Parquet file to the load stage and COPY it into `table` (fully qualified)."""
    location = f"@{settings.database}.{settings.raw_schema}.{STAGE}/{folder}/"
    session.sql(
        f"PUT 'file://{parquet.as_posix()}' {location} AUTO_COMPRESS = FALSE OVERWRITE = TRUE"
    ).collect()
    session.sql(
        f"COPY INTO {table} FROM {location}{parquet.name} "
        "FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE"
    ).collect()


def load(
    session: Session,
    settings: Settings,
    url: str | None = None,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    """Load every batch of the landing URL that is not loaded yet."""
    url = url or settings.landing_url
    say = progress or (lambda _msg: None)
    ensure_raw(session, settings)
    if settings.engine == "snowflake" and url.startswith("s3://"):
        return load_from_external_stage(session, settings, url, force=force, say=say)
    report = LoadReport()
    work = Path(tempfile.mkdtemp(prefix="netflix-elt-load-"))
    try:
        batches = batches_from(url, work / "fetched")
        seen = set() if force else _loaded_before(session, settings)
        filled = _tables_with_rows(session, settings)
        load_id = _next_load_id(session, settings)
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        plan: list[tuple[str, LandedBatch, ParsedFile, FileLoad]] = []
        for batch in batches:
            for name, src in settings.config.sources.items():
                path = batch.files.get(src.file)
                file_uri = f"{batch.uri.rstrip('/')}/{src.file}"
                if path is None:
                    if not src.optional and batch is batches[0]:
                        raise LoadError(f"{file_uri}: file not found (needed for {src.table})")
                    if src.optional:
                        report.warnings.append(
                            f"{file_uri} is absent: {src.table} gets no rows from {batch.label}"
                        )
                    report.files.append(FileLoad(name, src.table, file_uri, "MISSING"))
                    continue
                digest = sha256_of(path)
                if (file_uri, digest) in seen:
                    report.files.append(
                        FileLoad(name, src.table, file_uri, "SKIPPED", message="already loaded")
                    )
                    continue
                say(f"parsing {file_uri}")
                parsed = parse_csv(
                    path,
                    src,
                    load_id=load_id,
                    loaded_at=loaded_at,
                    source_file=file_uri,
                    source_name=name,
                    work_dir=work / "parsed",
                    digest=digest,
                )
                if parsed.rows_in_file == 0 and not src.optional and src.table not in filled:
                    # a header-only file is valid CSV; after a first load with rows (a delta) it brings nothing
                    raise LoadError(f"{file_uri}: has no data rows, only a header (needed for {src.table})")
                if parsed.rows_loaded:
                    filled.add(src.table)
                fl = FileLoad(
                    name,
                    src.table,
                    file_uri,
                    "LOADED",
                    parsed.rows_in_file,
                    parsed.rows_loaded,
                    parsed.rows_rejected,
                    load_id,
                )
                plan.append((name, batch, parsed, fl))
                load_id += 1
        _apply(session, settings, plan, loaded_at, say)
        report.files.extend(fl for *_, fl in plan)
        order = {f.file: i for i, f in enumerate(report.files)}
        report.files.sort(key=lambda f: order[f.file])
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _apply(
    session: Session,
    settings: Settings,
    plan: list[tuple[str, LandedBatch, ParsedFile, FileLoad]],
    loaded_at: datetime,
    say: Callable[[str], None],
) -> None:
    """COPY every parsed file, its rejects and its history row in one transaction."""
    if not plan:
        return
    raw = f"{settings.database}.{settings.raw_schema}"
    session.sql("BEGIN").collect()
    try:
        for _name, batch, parsed, fl in plan:
            say(f"copying {fl.file} into {fl.table}")
            assert parsed.parquet is not None and fl.load_id is not None
            copy_parquet(session, settings, parsed.parquet, f"{raw}.{fl.table}", f"load_{fl.load_id}")
            fault("load.copy")  # test hook: rows copied, history not yet written, transaction open
            if parsed.rejects_parquet is not None:
                copy_parquet(
                    session, settings, parsed.rejects_parquet, f"{raw}.LOAD_REJECTS", f"load_{fl.load_id}"
                )
            session.sql(
                f"INSERT INTO {raw}.LOAD_HISTORY ({', '.join(HISTORY_COLUMNS)}) VALUES "
                f"({fl.load_id}, '{fl.table}', {_q(fl.file)}, {_q(batch.label)}, '{parsed.sha256}', "
                f"{fl.rows_parsed}, {fl.rows_loaded}, {fl.rows_rejected}, "
                f"'{loaded_at.isoformat(sep=' ')}'::TIMESTAMP_NTZ)"
            ).collect()
        session.sql("COMMIT").collect()
    except BaseException as e:
        with contextlib.suppress(Exception):
            session.sql("ROLLBACK").collect()
        if isinstance(e, Exception) and not isinstance(e, LoadError):
            raise LoadError(f"loading into {raw} failed and was rolled back: {e}") from e
        raise


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def check_s3_headers(settings: Settings, url: str, manifest: BatchManifest) -> None:
    """Read only the first line of each landed object: a wrong header fails before any COPY."""
    from netflix_elt.ingest.landing import S3Landing

    landing = Landing.from_url(url)
    assert isinstance(landing, S3Landing)
    for src in settings.config.sources.values():
        if manifest.file(src.file) is None:
            continue
        key = landing._key(f"batch={manifest.batch:04d}", src.file)
        head = landing.client.get_object(Bucket=landing.bucket, Key=key, Range="bytes=0-4095")["Body"].read()
        first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
        header = [h.strip().strip('"') for h in first.split(",")]
        if header != list(src.columns):
            raise LoadError(
                f"s3://{landing.bucket}/{key}: wrong header {first!r}; "
                f"expected {','.join(src.columns)!r} for {src.table}"
            )


def load_from_external_stage(
    session: Session, settings: Settings, url: str, *, force: bool, say: Callable[[str], None]
) -> LoadReport:
    """Snowflake reads the landed files itself, through an external stage (see external_stage.py)."""
    from netflix_elt.ingest import external_stage as ext

    report = LoadReport()
    manifests = Landing.from_url(url).list_batches()
    session.sql(ext.stage_sql(settings, url)).collect()
    seen = set() if force else _loaded_before(session, settings)
    for manifest in manifests:
        check_s3_headers(settings, url, manifest)
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        stmts, files = ext.load_batch_statements(
            settings, url, manifest, seen, _next_load_id(session, settings), loaded_at, force
        )
        if stmts:
            ext.run_in_transaction(session, stmts, say)
        for table, uri, load_id in files:
            row = session.sql(
                f"SELECT ROWS_PARSED, ROWS_LOADED, ROWS_REJECTED FROM {settings.database}.{settings.raw_schema}"
                f".LOAD_HISTORY WHERE LOAD_ID = {load_id}"
            ).collect()[0]
            report.files.append(FileLoad(table, table, uri, "LOADED", int(row[0]), int(row[1]), int(row[2]), load_id))
    return report
