"""Load landed files into RAW with COPY INTO: idempotent, with load history and rejected rows.

Every file is parsed and checked before its COPY (see `parse.py`), and all files are staged (PUT to
an internal stage) and COPY'd in one transaction, so a bad file leaves RAW as it was. Where the
engine COPYs this machine's files in place (the embedded engine), a file is COPY'd as soon as it is
parsed and decided, while the others still parse; a later refusal rolls the transaction back.
`RAW.LOAD_HISTORY` records each file with its checksum; a file already loaded with the same
checksum is skipped, as Snowflake's own load metadata does, unless `force` is given.
"""

from __future__ import annotations

import contextlib
import shutil
import stat
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from netflix_elt import tempfiles
from netflix_elt.adapters.durability import confirm_written
from netflix_elt.config import Settings, SourceSection
from netflix_elt.errors import ConfigError, LoadError
from netflix_elt.faults import fault
from netflix_elt.ingest.book import PastLoad, _Book, _skips, deletion_guard
from netflix_elt.ingest.landing import BatchManifest, Landing
from netflix_elt.ingest.landing.local import LocalLanding
from netflix_elt.ingest.parse import ParsedFile, parse_csv, sha256_of
from netflix_elt.ingest.parts import Part, distinct_keys, first_reject
from netflix_elt.ingest.raw_tables import (  # noqa: F401  (re-exported: what RAW is made of)
    ADDED_HISTORY_COLUMNS,
    HISTORY_COLUMNS,
    METADATA_COLUMNS,
    REJECTS_COLUMNS,
    STAGE,
    _ddl,
    ensure_raw,
    raw_ddl,
)
from netflix_elt.sql import string

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from netflix_elt.ingest.landing.s3 import S3Landing

ALREADY_LOADED = "already loaded"  # the message of a file whose path and checksum LOAD_HISTORY has


@dataclass
class LandedBatch:
    """One batch of landed files, available as local paths."""

    label: str
    uri: str
    files: dict[str, Path]
    number: int | None = None  # the landing's batch number (None for a plain folder)
    rows: dict[str, int] = field(default_factory=dict)  # data records per file, from the manifest
    sha256: dict[str, str] = field(default_factory=dict)  # checksums the fetch verifies the copies against
    # copies the batch's files into `files`' folder but for the names given (None: `files` are local already)
    fetch: Callable[[Collection[str]], object] | None = field(default=None, repr=False)
    verify: bool = False  # `files` are the landed ones: parse checks each against `sha256` as it reads it
    parts: dict[str, list[str]] = field(default_factory=dict)  # a split file's name -> its parts' names, in order

    def file_uri(self, name: str) -> str:
        """The URI a file of this batch is recorded under (LOAD_HISTORY.FILE, rejects, reports)."""
        return f"{self.uri.rstrip('/')}/{name}"

    def objects(self, name: str) -> list[Part]:
        """The landed objects of file ``name``: its parts when it is split, else itself (or none)."""
        names = self.parts.get(name) or ([name] if name in self.files else [])
        return [Part(n, self.files[n], self.file_uri(n), self.sha256.get(n) or sha256_of(self.files[n])) for n in names]


@dataclass
class FileLoad:
    source: str
    table: str
    file: str
    status: str  # LOADED, SKIPPED (recorded in LOAD_HISTORY), UNCHANGED (content already loaded), MISSING
    rows_parsed: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    load_id: int | None = None
    message: str = ""
    checksum: str = ""


@dataclass
class LoadReport:
    files: list[FileLoad] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> list[FileLoad]:
        return [f for f in self.files if f.status == "LOADED"]


def _plain_folder(local: Path, declared: set[str]) -> LandedBatch:
    """A folder of GroupLens files as one batch: only the declared files, and only regular ones
    (a symlink could point anywhere, so it is refused without looking at its target)."""
    files = {}
    for name in sorted(declared):
        path = local / name
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            kind = "a symlink" if stat.S_ISLNK(mode) else "not a regular file"
            raise LoadError(f"{path}: is {kind}; load reads only regular files from a landing folder")
        files[name] = path
    return LandedBatch(local.name, local.resolve().as_uri(), files)


def batches_from(settings: Settings, url: str, work_dir: Path, skip_batches: Sequence[int] = ()) -> list[LandedBatch]:
    """The batches of a landing URL, as local folders (S3 objects are downloaded to work_dir).

    A plain folder of GroupLens CSV files (no `batch=NNNN/` folders) is one batch. A batch may
    hold only the sources' files; anything else refuses it, as does a `--skip-batch` it lacks.
    A batch's files are fetched by `plan_load`, and only those it will read (see `_fetch`).
    """
    declared = {s.file for s in settings.config.sources.values()}
    local = Path(url[7:] if url.startswith("file://") else url)
    if not url.startswith("s3://") and local.is_dir() and any(local.glob("*.csv")):
        return [_plain_folder(local, declared or {p.name for p in local.glob("*.csv")})]
    landing = Landing.from_url(url, landing_names(settings))
    result = []
    in_place = isinstance(landing, LocalLanding)  # read where it landed, checked as read: no copy
    for manifest in landing.list_batches():
        uri = manifest.url if getattr(manifest, "url", None) else f"{url.rstrip('/')}/batch={manifest.batch:04d}"
        folder = landing.batch_folder(manifest.batch) if in_place else work_dir / f"batch={manifest.batch:04d}"
        files = {f.name: folder / f.name for f in manifest.objects()}

        def fetch(skip: Collection[str], manifest: BatchManifest = manifest, folder: Path = folder) -> object:
            if in_place:  # every file a regular one of the manifest's size; their sha256 when parsed
                return landing.fetch(manifest)
            return landing.fetch(manifest, folder, skip=skip)

        rows = {f.name: f.rows for f in manifest.objects()}
        sha = {f.name: f.sha256 for f in manifest.objects()}
        parts = {f.name: [p.name for p in f.parts] for f in manifest.files if f.parts}
        batch = LandedBatch(
            f"batch={manifest.batch:04d}", uri, files, manifest.batch, rows, sha, fetch, in_place, parts
        )
        result.append(batch)
    if not result:
        raise LoadError(f"landing {url} holds no batches; run `netflix-elt extract --to {url}` first")
    if unknown := sorted(set(skip_batches) - {b.number for b in result}):
        raise ConfigError(f"--skip-batch {unknown[0]}: {url} has no batch {unknown[0]}")
    return result


def _history(session: Session, settings: Settings) -> list[PastLoad]:
    rows = session.sql(
        "SELECT LOAD_ID, SOURCE_TABLE, FILE, BATCH, CHECKSUM, COALESCE(STATUS, 'LOADED'), ROWS_LOADED, KEY_COUNT "
        f"FROM {settings.database}.{settings.raw_schema}.LOAD_HISTORY ORDER BY LOAD_ID"
    ).collect()
    return [PastLoad(int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6] or 0), r[7]) for r in rows]


def _next_load_id(session: Session, settings: Settings) -> int:
    rows = session.sql(
        f"SELECT COALESCE(MAX(LOAD_ID), 0) FROM {settings.database}.{settings.raw_schema}.LOAD_HISTORY"
    ).collect()
    return int(rows[0][0]) + 1


Columns = Sequence[tuple[str, str]]  # (target column, SELECT expression) of a COPY with transformation


def copy_parquet_sql(location: str, name: str, table: str, *, force: bool = False,
                     columns: Columns | None = None, files: str | None = None) -> str:  # fmt: skip
    """The COPY of one staged Parquet file into `table`, as Snowflake documents it.

    `USE_LOGICAL_TYPE = TRUE`: DuckDB writes timestamps (a TIMESTAMP_NTZ source column, `REJECTED_AT`) as
    INT64 with the TIMESTAMP logical type only, which Snowflake reads as plain integers unless told to
    use the logical types (CREATE FILE FORMAT, Parquet USE_LOGICAL_TYPE, default FALSE). `FORCE = TRUE`
    (`load --force`): Snowflake's load metadata would otherwise skip a file it loaded within 64 days.
    `columns` (target column, SELECT expression): a COPY with transformation ("Transforming data
    during a load"), which names its columns instead of MATCH_BY_COLUMN_NAME (the two exclude each
    other); `files`: the one file of the location to read (FILES = (...)).
    """
    source = f"{location}{name}"
    only = f" FILES = ({string(files)})" if files else ""
    fmt = "FILE_FORMAT = (TYPE = PARQUET USE_LOGICAL_TYPE = TRUE)"
    if columns:
        into = ", ".join(c for c, _ in columns)
        select = ", ".join(e for _, e in columns)
        sql = f"COPY INTO {table} ({into}) FROM (SELECT {select} FROM {source}){only} {fmt}"
    else:
        sql = f"COPY INTO {table} FROM {source}{only} {fmt} MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE"
    return f"{sql} FORCE = TRUE" if force else sql


# what a COPY transformation casts each staged Parquet value ($1:"COL", a VARIANT) to, by declared type;
# BIGINT is Snowflake's synonym of NUMBER(38, 0) (INTEGER's too) and an 8-byte integer on the emulator
_COPY_CAST = {"INTEGER": "BIGINT", "BIGINT": "BIGINT", "FLOAT": "DOUBLE", "DOUBLE": "DOUBLE", "VARCHAR": "VARCHAR",
              "DATE": "DATE", "TIMESTAMP_NTZ": "TIMESTAMP_NTZ", "BOOLEAN": "BOOLEAN"}  # fmt: skip
PARSED_STAGE = "NETFLIX_ELT_PARSED"  # the embedded engine's stage over this load's folder of parsed files


def stamped_columns(src: SourceSection, load_id: int, loaded_at: datetime, source_file: str) -> Columns:
    """The RAW columns a parsed file's COPY fills, and from what: the file's own columns and
    `_SOURCE_ROW` from its Parquet (parse.py), the load's metadata as constants."""
    cols = [(f'"{c.upper()}"', f'$1:"{c.upper()}"::{_COPY_CAST[t]}') for c, t in src.columns.items()]
    return [
        *cols,
        ("_LOAD_ID", str(int(load_id))),
        ("_LOADED_AT", f"{string(loaded_at.isoformat(sep=' '))}::TIMESTAMP_NTZ"),
        ("_SOURCE_FILE", string(source_file)),
        ("_SOURCE_ROW", '$1:"_SOURCE_ROW"::BIGINT'),
    ]


def copy_parquet(session: Session, settings: Settings, parquet: Path, table: str, folder: str, *,
                 force: bool = False, local: bool = False, columns: Columns | None = None) -> None:  # fmt: skip
    """COPY a local Parquet file into `table` (fully qualified): PUT to the load stage first, or,
    where the engine reads this machine's files (`local`, adapter.copies_from_local_path), in place."""
    stmts = parquet_statements(settings, parquet.as_posix(), table, folder, force=force, local=local, columns=columns)
    for sql in stmts:
        session.sql(sql).collect()


def parquet_statements(settings: Settings, path: str, table: str, folder: str, *, force: bool = False,
                       local: bool = False, columns: Columns | None = None) -> list[str]:  # fmt: skip
    """The PUT of a local Parquet file (`path`, absolute) to the load stage and its COPY into `table`;
    with `local` only the COPY, from the file's folder (`FILES = (...)` names the one file): a plain
    COPY reads the folder's path, a COPY with `columns` (a transformation) reads PARSED_STAGE, which
    `_apply` points at that folder (Snowflake takes a transformation only from a stage)."""
    directory, name = path.rsplit("/", 1)
    raw = f"{settings.database}.{settings.raw_schema}"
    if local and columns:
        return [copy_parquet_sql(f"@{raw}.{PARSED_STAGE}/", "", table, force=force, columns=columns, files=name)]
    if local:
        return [copy_parquet_sql(string("file://" + directory + "/"), "", table, force=force, files=name)]
    location = f"@{raw}.{STAGE}/{folder}/"
    put = f"PUT 'file://{path}' {location} AUTO_COMPRESS = FALSE OVERWRITE = TRUE"
    if columns:
        return [put, copy_parquet_sql(location, "", table, force=force, columns=columns, files=name)]
    return [put, copy_parquet_sql(location, name, table, force=force)]


def load(
    session: Session,
    settings: Settings,
    url: str | None = None,
    *,
    force: bool = False,
    allow_deletes: bool = False,
    skip_batches: Sequence[int] = (),
    progress: Callable[[str], None] | None = None,
    copies_from_external_stage: bool | None = None,
    copies_from_local_path: bool = False,
    before_write: Callable[[], object] | None = None,
    raw_ready: bool = False,
) -> LoadReport:
    """Load every batch of the landing URL that is not loaded yet.

    Every file is parsed and checked before it is copied; a refusal (exit 4) leaves RAW as it was. `force`
    loads content again that LOAD_HISTORY already has; `allow_deletes` lets a full extract drop
    more keys than its source's max_delete_fraction; `skip_batches` records those batches'
    files as skipped by the user, so the batches after them load. An s3:// URL is read through an
    external stage where the adapter can (`copies_from_external_stage`, default: the settings' adapter's);
    `copies_from_local_path` COPYs the parsed Parquet in place instead of PUT + COPY. `before_write`
    runs once, and what it raises stops the load with nothing kept: before anything is written
    where the load is not one transaction of COPYs this machine makes (an external stage, PUT +
    COPY); with `copies_from_local_path`, before the COMMIT, so the COPYs overlap it and a failure
    rolls them back. `raw_ready`: the caller has just created RAW's tables (`Workspace.init`).
    """
    url = url or settings.landing_url
    if copies_from_external_stage is None:
        from netflix_elt.adapters import adapter_class

        copies_from_external_stage = adapter_class(settings).copies_from_external_stage
    say = progress or (lambda _msg: None)
    if not raw_ready:
        ensure_raw(session, settings)
    if copies_from_external_stage and url.startswith("s3://"):
        if before_write is not None:  # Snowflake parses the files itself: nothing to overlap with
            before_write()
        return load_from_external_stage(
            session, settings, url, force=force, allow_deletes=allow_deletes, skip_batches=skip_batches, say=say
        )
    report = LoadReport()
    work = tempfiles.mkdtemp("netflix-elt-load-")
    try:
        batches = batches_from(settings, url, work / "fetched", skip_batches)
        book = _Book(_history(session, settings), force)
        load_id = _next_load_id(session, settings)
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        # where the engine COPYs this machine's files in place, a file is copied as soon as it is parsed
        # and decided, while the others still parse, in the one transaction; a refusal rolls it back
        writer = _Writer(session, settings, loaded_at, say, force=force, local=copies_from_local_path,
                         parsed_dir=work / "parsed", before_write=before_write)  # fmt: skip
        try:
            plan = plan_load(settings, batches, book, load_id, loaded_at, work, report, skip_batches, allow_deletes,
                             say, on_planned=writer.write if copies_from_local_path else None)  # fmt: skip
            writer.commit(plan)
        except BaseException:
            writer.rollback()
            raise
        report.files.extend(fl for *_, fl in plan)
        order = {f.file: i for i, f in enumerate(report.files)}
        report.files.sort(key=lambda f: order[f.file])
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


PlanItem = tuple["LandedBatch", ParsedFile | None, "FileLoad"]
Plan = list[PlanItem]


def plan_load(settings: Settings, batches: list[LandedBatch], book: _Book, load_id: int, loaded_at: datetime,
              work: Path, report: LoadReport, skip_batches: Sequence[int] = (), allow_deletes: bool = False,
              say: Callable[[str], None] = lambda _msg: None,
              on_planned: Callable[[PlanItem], None] | None = None) -> Plan:  # fmt: skip
    """Parse and check every file of the batches (no SQL): what `_apply` copies, in order, from `load_id` on.

    With `on_planned`, each file of a batch is decided as soon as its parts are parsed, and handed to
    it while the others still parse (the load COPYs it in its open transaction). The files of a batch
    are one per source, so deciding them in the order they parse decides each as source order would;
    the first failure is still the first in source order, a parse failure before a decision's, and
    raised once every file of the batch has parsed (the caller rolls back what it copied).
    """
    plan: Plan = []
    for batch in batches:
        _fetch(settings, batch, book, skip_batches)
        todo: list[tuple[str, SourceSection, list[Part], int]] = []  # the files to parse, in order
        for name, src in settings.config.sources.items():
            parts = batch.objects(src.file)
            file_uri = batch.file_uri(src.file)
            if not parts:
                if not src.optional and batch is batches[0]:
                    raise LoadError(f"{file_uri}: file not found (needed for {src.table})")
                if src.optional:
                    report.warnings.append(f"{file_uri} is absent: {src.table} gets no rows from {batch.label}")
                report.files.append(FileLoad(name, src.table, file_uri, "MISSING"))
                continue
            earlier = [book.same_content(src, p.uri, p.digest) for p in parts]
            if all(e is not None for e in earlier):
                for p, e in zip(parts, earlier, strict=True):
                    assert e is not None
                    why = ALREADY_LOADED if e.file == p.uri else f"same content as {e.describe()}"
                    report.files.append(FileLoad(name, src.table, p.uri, "UNCHANGED", message=why))
                continue
            if src.mode == "append" and any(earlier):
                done = next(e for e in earlier if e is not None)
                raise LoadError(
                    f"{file_uri}: some of its parts are loaded already ({done.describe()}), others are not: "
                    f"loading it would load those rows of {src.table} twice. Land the file again whole, or load it "
                    "anyway with `netflix-elt load --force`"
                )
            if batch.number in skip_batches:
                why = f"skipped by the user (--skip-batch {batch.number})"
                for p in parts:
                    fl = FileLoad(name, src.table, p.uri, "SKIPPED", load_id=load_id, message=why, checksum=p.digest)
                    plan.append((batch, None, fl))
                    book.add(src, PastLoad(load_id, src.table, p.uri, batch.label, p.digest, "SKIPPED", 0, None))
            else:
                todo.append((name, src, parts, load_id))
            load_id += 1
        _parse_and_decide(batch, todo, loaded_at, work, say, book, allow_deletes, plan, on_planned)
        plan.sort(key=lambda p: p[2].load_id or 0)
    return plan


def _parse_and_decide(batch: LandedBatch, todo: list[tuple[str, SourceSection, list[Part], int]], loaded_at: datetime,
                      work: Path, say: Callable[[str], None], book: _Book, allow_deletes: bool, plan: Plan,
                      on_planned: Callable[[PlanItem], None] | None) -> None:  # fmt: skip
    """Parse the batch's files side by side and decide each into `plan`: in source order once all are
    parsed, or (`on_planned`) each as soon as its parts are, handed to `on_planned` (see plan_load)."""
    # the files of one batch are independent (one per source table): parsed side by side
    jobs = [(n if len(ps) == 1 else f"{n}_part{k}", src, p.path, p.uri, p.digest, lid)
            for n, src, ps, lid in todo for k, p in enumerate(ps, start=1)]  # fmt: skip
    owner = [t for t, (_, _, ps, _) in enumerate(todo) for _ in ps]  # each job's file in `todo`
    first_job = {t: owner.index(t) for t in range(len(todo))}
    parsed_jobs: dict[int, ParsedFile] = {}
    waiting = {t: len(ps) for t, (_, _, ps, _) in enumerate(todo)}
    refused: dict[int, LoadError] = {}  # decisions that refused their file, by place in `todo`

    def decide(t: int) -> None:
        name, src, parts, lid = todo[t]
        parsed = [(p, parsed_jobs[first_job[t] + k]) for k, p in enumerate(parts)]
        try:
            fls, keys = _decide(name, src, batch, parsed, lid, book, allow_deletes)
        except LoadError as e:
            if on_planned is None:
                raise
            refused[t] = e  # raised once every file has parsed, in source order
            return
        for (p, pf), fl in zip(parsed, fls, strict=True):
            pf.keys = keys  # every part's LOAD_HISTORY row carries the logical file's keys (deletion guard)
            plan.append((batch, pf, fl))
            book.add(src, PastLoad(lid, src.table, p.uri, batch.label, p.digest, fl.status, fl.rows_loaded, keys))
            if on_planned is not None:
                on_planned(plan[-1])

    def parsed_one(i: int, pf: ParsedFile) -> None:
        parsed_jobs[i] = pf
        waiting[owner[i]] -= 1
        if on_planned is not None and not waiting[owner[i]]:
            decide(owner[i])

    parsed_jobs.update(enumerate(_parse_all(jobs, loaded_at, work / "parsed", say, batch.verify, parsed_one)))
    if on_planned is None:
        for t in range(len(todo)):
            decide(t)
    elif refused:
        raise refused[min(refused)]


def _fetch(settings: Settings, batch: LandedBatch, book: _Book, skip_batches: Sequence[int]) -> None:
    """Copy (or download) the batch's files that will be parsed; the others are only checked where
    they landed: a file whose content is loaded already (what `plan_load` finds with the same book
    says UNCHANGED) or one of a `--skip-batch` is never read, and the landed ml-20m batch 1 is 760 MB."""
    if batch.fetch is None:
        return
    read: set[str] = set()
    if batch.number not in skip_batches:
        for src in settings.config.sources.values():
            names = batch.parts.get(src.file) or [src.file]
            digests = [batch.sha256.get(n) for n in names]
            if all(digests) and any(
                book.same_content(src, batch.file_uri(n), d or "") is None for n, d in zip(names, digests, strict=True)
            ):
                read.update(names)
    batch.fetch(set(batch.files) - read)


PARSE_WORKERS = 2  # big files parse side by side: DuckDB and pyarrow release the GIL
# ...but only within this estimate of what their parses hold at once (ingest/schedule.py). The fast
# path types a file as it reads it (parse._Body) and holds its table, not its bytes: at ml-20m
# ratings.csv (548 MB) took a process up by 1.14 GB, genome-scores.csv (212 MB) by 0.81 GB, each
# with ~0.25 GB that DuckDB and pyarrow take once; the two now parse side by side (load's peak 2.0 GB)
PARSE_MEMORY_BUDGET = 1_600_000_000
PARSE_MEMORY_PER_BYTE = 2.0


def _parse_all(todo: list[tuple[str, SourceSection, Path, str, str, int]], loaded_at: datetime, work_dir: Path,
               say: Callable[[str], None], verify: bool = False,
               on_result: Callable[[int, ParsedFile], None] | None = None) -> list[ParsedFile]:  # fmt: skip
    """parse_csv of each file, the largest first on PARSE_WORKERS threads within PARSE_MEMORY_BUDGET;
    results in `todo`'s order, and the first failure in that order is the one raised (`verify`: see
    LandedBatch.verify); `on_result(index, parsed)` hears of each file parsed, in this thread, as it is."""
    from netflix_elt.ingest.schedule import run_within

    def parse(job: tuple[str, SourceSection, Path, str, str, int]) -> ParsedFile:
        name, src, path, file_uri, digest, lid = job
        say(f"parsing {file_uri}")
        return parse_csv(path, src, load_id=lid, loaded_at=loaded_at, source_file=file_uri, source_name=name,
                         work_dir=work_dir, digest=digest, verify=verify)  # fmt: skip

    def held(job: tuple[str, SourceSection, Path, str, str, int]) -> int:
        return int(job[2].stat().st_size * PARSE_MEMORY_PER_BYTE)

    return run_within(todo, held, PARSE_MEMORY_BUDGET, PARSE_WORKERS, parse, thread_name_prefix="netflix-elt-parse",
                      on_result=on_result)  # fmt: skip


def _decide(
    name: str,
    src: SourceSection,
    batch: LandedBatch,
    parsed: list[tuple[Part, ParsedFile]],
    load_id: int,
    book: _Book,
    allow_deletes: bool,
) -> tuple[list[FileLoad], int]:
    """What becomes of a parsed file (all its parts, when split: one logical file): loaded, skipped
    (on_error) or refused (a LoadError, exit 4); one FileLoad per part, and the file's distinct keys."""
    for part, p in parsed:
        expected = batch.rows.get(part.name)
        if expected is not None and expected != p.rows_in_file:
            raise LoadError(
                f"{part.uri}: the manifest of {batch.label} says {expected:,} data rows, the file has "
                f"{p.rows_in_file:,}: it changed after it was landed; land it again"
            )
    file_uri = batch.file_uri(src.file)
    records = sum(p.rows_in_file for _, p in parsed)
    rejected = sum(p.rows_rejected for _, p in parsed)
    if records == 0 and not src.optional and not book.has_rows(src):
        # a header-only file is valid CSV; after a first load with rows (a delta) it brings nothing
        raise LoadError(f"{file_uri}: has no data rows, only a header (needed for {src.table})")
    policy = src.on_error_policy
    fls = [
        FileLoad(name, src.table, part.uri, "LOADED", p.rows_in_file, p.rows_loaded, p.rows_rejected, load_id,
                 checksum=p.sha256)
        for part, p in parsed
    ]  # fmt: skip
    keys = distinct_keys(src, [p for _, p in parsed])
    if rejected:
        part_name, line, why = first_reject(parsed) or ("", 0, "")
        where = f"line {line}" if len(parsed) == 1 else f"{part_name} line {line}"
        what = f"{rejected:,} of {records:,} records rejected (first: {where}, {why})"
        if policy == "abort_statement":
            raise LoadError(
                f"{file_uri}: {what}; sources.{name}.on_error = abort_statement, so nothing was loaded. "
                f"Fix the file and land it again, or skip {batch.label}: "
                f"netflix-elt load --skip-batch {batch.number or 1}"
            )
        if _skips(policy, rejected, records):
            for fl in fls:
                fl.status, fl.rows_loaded, fl.message = "SKIPPED", 0, f"on_error = {policy}: {what}"
            return fls, keys
    if src.mode == "full" and not allow_deletes:
        deletion_guard(name, src, file_uri, keys, book.previous_extract(src))
    return fls, keys


class _Writer:
    """The load's one transaction: each planned file's COPY, its rejects and its history row, then COMMIT
    and the read-back (`force`: FORCE = TRUE; `local`: COPY the Parquet in place, no PUT). Nothing is
    sent before the first file. `before_write` (what it raises stops the load) runs before the first
    statement, or, with `local`, before the COMMIT: the COPYs of this machine's files overlap it and
    a failure rolls them back, so nothing is kept either way."""

    def __init__(self, session: Session, settings: Settings, loaded_at: datetime, say: Callable[[str], None], *,
                 force: bool = False, local: bool = False, parsed_dir: Path | None = None,
                 before_write: Callable[[], object] | None = None) -> None:  # fmt: skip
        self.session, self.settings, self.loaded_at, self.say = session, settings, loaded_at, say
        self.force, self.local, self.parsed_dir, self.before_write = force, local, parsed_dir, before_write
        self.raw = f"{settings.database}.{settings.raw_schema}"
        self.open = False
        self.written: set[int] = set()  # ids of the plan's items written

    def _ready(self) -> None:
        if self.before_write is not None:
            before, self.before_write = self.before_write, None
            before()

    def _begin(self) -> None:
        if not self.local:
            self._ready()
        if self.local and self.parsed_dir is not None and self.parsed_dir.is_dir():
            # before BEGIN: the emulator keeps stages in another database than RAW's
            where = string(f"file://{self.parsed_dir.as_posix()}/")
            self.session.sql(f"CREATE OR REPLACE TEMPORARY STAGE {self.raw}.{PARSED_STAGE} URL = {where}").collect()
        self.session.sql("BEGIN").collect()
        self.open = True

    def write(self, item: PlanItem) -> None:
        batch, parsed, fl = item
        assert fl.load_id is not None
        if not self.open:
            self._begin()
        raw, settings, session = self.raw, self.settings, self.session
        try:
            if parsed is not None and fl.status == "LOADED":
                self.say(f"copying {fl.file} into {fl.table}")
                assert parsed.parquet is not None
                table, folder = f"{raw}.{fl.table}", f"load_{fl.load_id}"
                columns = stamped_columns(settings.config.sources[fl.source], fl.load_id, self.loaded_at, fl.file)
                copy_parquet(session, settings, parsed.parquet, table, folder, force=self.force, local=self.local,
                             columns=columns)  # fmt: skip
            fault("load.copy")  # test hook: rows copied, history not yet written, transaction open
            if parsed is not None and parsed.rejects_parquet is not None:
                copy_parquet(session, settings, parsed.rejects_parquet, f"{raw}.LOAD_REJECTS", f"load_{fl.load_id}",
                             force=self.force, local=self.local)  # fmt: skip
            keys = parsed.keys if parsed is not None and fl.status == "LOADED" else 0
            session.sql(history_sql(raw, batch, fl, self.loaded_at, keys)).collect()
        except Exception as e:
            if not isinstance(e, LoadError):
                raise LoadError(f"loading into {raw} failed and was rolled back: {e}") from e
            raise
        self.written.add(id(item))

    def commit(self, plan: Plan) -> None:
        """Write what the plan holds that was not written yet, COMMIT and read the history rows back."""
        for item in plan:  # without `local`, the first write's _begin runs `before_write` first
            if id(item) not in self.written:
                self.write(item)
        self._ready()  # with `local`, the COPYs ran meanwhile; a failure here rolls them back
        if not self.open:
            return
        try:
            self.session.sql("COMMIT").collect()
        except Exception as e:
            raise LoadError(f"loading into {self.raw} failed and was rolled back: {e}") from e
        self.open = False
        confirm_written(self.session, f"the load of {len(plan)} files into {self.raw}", LoadError,
                        *_history_check(self.raw, plan))  # fmt: skip

    def rollback(self) -> None:
        if self.open:
            with contextlib.suppress(Exception):
                self.session.sql("ROLLBACK").collect()
            self.open = False


def _apply(
    session: Session,
    settings: Settings,
    plan: Plan,
    loaded_at: datetime,
    say: Callable[[str], None],
    *,
    force: bool = False,
    local: bool = False,
) -> None:
    """COPY every parsed file, its rejects and its history row in one transaction (`force`: FORCE = TRUE;
    `local`: COPY the Parquet in place, no PUT)."""
    folders = {parsed.parquet.parent for _, parsed, _ in plan if parsed is not None and parsed.parquet is not None}
    assert len(folders) <= 1, folders  # plan_load parses every file into one folder
    writer = _Writer(session, settings, loaded_at, say, force=force, local=local, parsed_dir=next(iter(folders), None))
    try:
        writer.commit(plan)
    except BaseException:
        writer.rollback()
        raise


def history_sql(raw: str, batch: LandedBatch, fl: FileLoad, loaded_at: datetime, keys: int) -> str:
    """The LOAD_HISTORY row of one planned file."""
    return (
        f"INSERT INTO {raw}.LOAD_HISTORY ({', '.join(HISTORY_COLUMNS)}) VALUES "
        f"({fl.load_id}, '{fl.table}', {string(fl.file)}, {string(batch.label)}, '{fl.checksum}', "
        f"{fl.rows_parsed}, {fl.rows_loaded}, {fl.rows_rejected}, "
        f"'{loaded_at.isoformat(sep=' ')}'::TIMESTAMP_NTZ, '{fl.status}', {string(fl.message)}, {keys})"
    )


def _history_check(raw: str, plan: list[tuple[LandedBatch, ParsedFile | None, FileLoad]]) -> tuple[str, int]:
    """The read-back after COMMIT: this load's LOAD_HISTORY rows must all be there."""
    ids = ", ".join(str(fl.load_id) for *_, fl in plan)
    return f"SELECT COUNT(*) FROM {raw}.LOAD_HISTORY WHERE LOAD_ID IN ({ids})", len(plan)


def check_s3_headers(settings: Settings, url: str, manifest: BatchManifest) -> None:
    """Read only the first 4 KB of each landed object (every part of a split file): a wrong header, a
    missing part, a part whose size is not the manifest's, or a part the manifest does not list fails
    before any COPY (exit 4). Snowflake reads the content itself: a part altered to the same size is
    not caught here (only a download could compare its sha256)."""
    from netflix_elt.ingest.landing.s3 import S3Landing

    landing = Landing.from_url(url, set(landing_names(settings)))
    assert isinstance(landing, S3Landing)
    folder = f"batch={manifest.batch:04d}"
    present = landing.batch_objects(manifest.batch)
    landing.unlisted_parts(manifest, present, f"{url.rstrip('/')}/{folder}")
    for src in settings.config.sources.values():
        entry = manifest.file(src.file)
        if entry is None:
            continue
        for obj in entry.objects():
            _check_s3_head(landing, src, f"{folder}/{obj.name}", obj.bytes, obj.name in present)


def landing_names(settings: Settings) -> list[str]:
    """The file names a landing batch may hold: the sources' files and README.txt."""
    return [*(s.file for s in settings.config.sources.values()), "README.txt"]


def _check_s3_head(landing: S3Landing, src: SourceSection, name: str, size: int, present: bool) -> None:
    """One landed object's header and size, from a ranged GET of its first 4 KB."""
    key = landing._key(name)
    if not present:
        raise LoadError(f"s3://{landing.bucket}/{key} listed in its batch's manifest is missing")
    obj = landing.client.get_object(Bucket=landing.bucket, Key=key, Range="bytes=0-4095")
    total = str(obj.get("ContentRange", "")).rpartition("/")[2]
    if total.isdigit() and int(total) != size:
        raise LoadError(f"s3://{landing.bucket}/{key} has {int(total):,} bytes, the manifest says {size:,}")
    first = obj["Body"].read().split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    header = [h.strip().strip('"') for h in first.split(",")]
    if header != list(src.columns):
        raise LoadError(
            f"s3://{landing.bucket}/{key}: wrong header {first!r}; expected {','.join(src.columns)!r} for {src.table}"
        )


def load_from_external_stage(
    session: Session,
    settings: Settings,
    url: str,
    *,
    force: bool,
    allow_deletes: bool = False,
    skip_batches: Sequence[int] = (),
    say: Callable[[str], None],
) -> LoadReport:
    """Snowflake reads the landed files itself, through an external stage (see external_stage.py)."""
    from netflix_elt.ingest import external_stage as ext

    report = LoadReport()
    manifests = Landing.from_url(url).list_batches()
    session.sql(ext.stage_sql(settings, url)).collect()
    for manifest in manifests:
        check_s3_headers(settings, url, manifest)
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        book = _Book(_history(session, settings), force)
        stmts, files = ext.load_batch_statements(
            settings, url, manifest, book, _next_load_id(session, settings), loaded_at, manifest.batch in skip_batches
        )

        def guard(files: list[tuple[str, str, int]] = files, book: _Book = book, batch: int = manifest.batch) -> None:
            """The deletion guard, inside the transaction: Snowflake counted the keys it loaded."""
            by_table = {src.table: (name, src) for name, src in settings.config.sources.items()}
            raw = f"{settings.database}.{settings.raw_schema}"
            for table, uri, load_id in {f[2]: f for f in files}.values():  # once per file (a split one has parts)
                name, src = by_table[table]
                split = sum(f[2] == load_id for f in files) > 1
                uri = uri.rsplit("/", 1)[0] + "/" + src.file if split else uri  # the file, not its first part
                if src.on_error_policy == "abort_statement":  # the typed checks found what the COPY could not
                    first = session.sql(
                        f"SELECT LINE_NUMBER, REASON, SOURCE_FILE FROM {raw}.LOAD_REJECTS WHERE _LOAD_ID = {load_id} "
                        "ORDER BY SOURCE_FILE, LINE_NUMBER LIMIT 1"
                    ).collect()
                    if first:
                        part = f"{str(first[0][2]).rsplit('/', 1)[-1]} " if split else ""
                        raise LoadError(
                            f"{uri}: records rejected (first: {part}line {first[0][0]}, {first[0][1]}); "
                            f"sources.{name}.on_error = abort_statement, so nothing was loaded. Fix the file and "
                            f"land it again, or skip the batch: netflix-elt load --skip-batch {batch}"
                        )
                if src.mode == "full" and not allow_deletes:
                    keys = session.sql(
                        f"SELECT KEY_COUNT FROM {settings.database}.{settings.raw_schema}.LOAD_HISTORY "
                        f"WHERE LOAD_ID = {load_id} AND STATUS = 'LOADED'"
                    ).collect()
                    if keys:
                        deletion_guard(name, src, uri, int(keys[0][0]), book.previous_extract(src))

        if stmts:
            skip = manifest.batch in skip_batches
            ext.run_in_transaction(
                session,
                stmts,
                say,
                f"batch={manifest.batch:04d}",
                manifest.batch,
                guard,
                before=ext.before_sql(settings, files, skip),
                after=ext.after_sql(settings, files, skip),
            )
        for table, uri, load_id in files:
            row = session.sql(
                f"SELECT ROWS_PARSED, ROWS_LOADED, ROWS_REJECTED, STATUS, MESSAGE FROM {settings.database}."
                f"{settings.raw_schema}.LOAD_HISTORY WHERE LOAD_ID = {load_id} AND FILE = {string(uri)}"
            ).collect()[0]
            report.files.append(
                FileLoad(
                    table,
                    table,
                    uri,
                    str(row[3]),
                    int(row[0]),
                    int(row[1]),
                    int(row[2]),
                    load_id,
                    message=str(row[4] or ""),
                )
            )
    return report
