"""`--print-sql` (issue 19): the statements `load` and `seed` would send to an EMPTY Snowflake account.

Nothing here connects to Snowflake: the account is assumed empty (no LOAD_HISTORY rows, so every
landed file is new and load ids count from 1; no seed table yet). Only the landing is read: the
manifests and file headers of an s3:// landing (the standard AWS credential chain and
AWS_ENDPOINT_URL), or the files of a local landing, which are parsed and checked as `load` does so
that the row counts and the files skipped are the ones a load would record.

Left out, because they change nothing: the read-only queries (LOAD_HISTORY reads, the deletion
guard's and abort_statement's SELECTs inside the transaction, the row-count read-backs). The
`IF NOT EXISTS` DDL of the RAW tables, which `load` runs again after `init`'s, is listed once.
Every statement ends in `;`; a `-- ` line is a comment.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from netflix_elt.config import Settings
from netflix_elt.errors import ConfigError

# the loader's private work folder (netflix_elt.tempfiles), made when `load` or `seed` runs
LOAD_FOLDER = "<load work folder>"
SEED_FOLDER = "<seed work folder>"


def check_profile(settings: Settings) -> None:
    if settings.engine != "snowflake":
        raise ConfigError(
            f"--print-sql prints what a Snowflake account would run: use --profile snowflake "
            f"(profile {settings.profile!r} is the {settings.engine} engine)"
        )


def render(sections: Sequence[tuple[str, Sequence[str]]], header: Sequence[str] = ()) -> str:
    """A runnable script: `-- ` comment lines, then each section's comment and statements, each ending in `;`."""
    lines = [f"-- {h}" for h in header]
    for comment, stmts in sections:
        if not stmts:
            continue
        lines.append("")
        lines += [f"-- {c}" for c in comment.splitlines()]
        lines += [s.rstrip().rstrip(";") + ";" for s in stmts]
    return "\n".join(lines) + "\n"


def _header(command: str, settings: Settings) -> list[str]:
    return [
        f"netflix-elt {command} --print-sql: the statements sent to an EMPTY Snowflake account, in order",
        f"(database {settings.database}, target schema {settings.target_schema}); no connection was made.",
        "Read-only queries (LOAD_HISTORY reads, guards, read-backs) are not listed.",
    ]


def load_script(
    settings: Settings,
    url: str | None = None,
    *,
    force: bool = False,
    allow_deletes: bool = False,
    skip_batches: Sequence[int] = (),
) -> str:
    """`load`: init's statements, the RAW DDL, then each landed batch's statements."""
    from netflix_elt.commands import init_statements
    from netflix_elt.ingest.load import raw_ddl

    check_profile(settings)
    url = url or settings.landing_url
    sections: list[tuple[str, Sequence[str]]] = [
        ("init (the database itself comes from the admin SQL: init --print-admin-sql)", init_statements(settings)),
        ("RAW: the source tables, LOAD_HISTORY, LOAD_REJECTS and the load stage", raw_ddl(settings)),
    ]
    header = _header("load", settings)
    if url.startswith("s3://"):
        sections += _s3_sections(settings, url, force=force, skip_batches=skip_batches)
    else:
        header.append(f"{LOAD_FOLDER}: the loader's temporary folder, where it writes each checked file as Parquet.")
        sections += _local_sections(settings, url, force=force, allow_deletes=allow_deletes, skip_batches=skip_batches)
    return render(sections, header)


def _s3_sections(
    settings: Settings, url: str, *, force: bool, skip_batches: Sequence[int]
) -> list[tuple[str, Sequence[str]]]:
    """The external stage, then each batch's script (external_stage.batch_script) as load_from_external_stage
    runs it: the files of a batch are recorded as loaded before the next batch is planned."""
    from netflix_elt.ingest import external_stage as ext
    from netflix_elt.ingest.landing import Landing
    from netflix_elt.ingest.load import PastLoad, _Book, check_s3_headers

    manifests = Landing.from_url(url).list_batches()
    unknown = sorted(set(skip_batches) - {m.batch for m in manifests})
    if unknown:
        raise ConfigError(f"--skip-batch {unknown[0]}: {url} has no batch {unknown[0]}")
    sections: list[tuple[str, Sequence[str]]] = [(f"the external stage on {url}", [ext.stage_sql(settings, url)])]
    book, load_id = _Book([], force), 1
    by_table = {s.table: s for s in settings.config.sources.values()}
    for manifest in manifests:
        check_s3_headers(settings, url, manifest)
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        skip = manifest.batch in skip_batches
        script = ext.batch_script(settings, url, manifest, book, load_id, loaded_at, skip)
        _, files = ext.load_batch_statements(settings, url, manifest, book, load_id, loaded_at, skip)
        label = f"batch={manifest.batch:04d}"
        for table, uri, lid in files:
            src = by_table[table]
            entry = manifest.file(src.file)
            assert entry is not None
            status = "SKIPPED" if skip else "LOADED"
            book.add(src, PastLoad(lid, table, uri, label, entry.sha256, status, 0 if skip else entry.rows, None))
        load_id += len(files)
        what = ", ".join(f"{t} (load {lid})" for t, _, lid in files) or "nothing new"
        sections.append((f"{label}: {what}", script))
    return sections


def _local_sections(
    settings: Settings, url: str, *, force: bool, allow_deletes: bool, skip_batches: Sequence[int]
) -> list[tuple[str, Sequence[str]]]:
    """The files of a local landing parsed and checked as `load` does (load.plan_load), then its one
    transaction: PUT and COPY of each file's rows and rejects, and its LOAD_HISTORY row."""
    from netflix_elt import tempfiles
    from netflix_elt.ingest.load import LoadReport, _Book, batches_from, history_sql, parquet_statements, plan_load

    work = tempfiles.mkdtemp("netflix-elt-print-sql-")
    try:
        batches = batches_from(url, work / "fetched", {s.file for s in settings.config.sources.values()})
        unknown = sorted(set(skip_batches) - {b.number for b in batches})
        if unknown:
            raise ConfigError(f"--skip-batch {unknown[0]}: {url} has no batch {unknown[0]}")
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        report = LoadReport()
        plan = plan_load(settings, batches, _Book([], force), 1, loaded_at, work, report, skip_batches, allow_deletes)
        raw = f"{settings.database}.{settings.raw_schema}"

        def placeholder(path: Path) -> str:
            return f"{LOAD_FOLDER}/{path.relative_to(work).as_posix()}"

        stmts: list[str] = []
        for batch, parsed, fl in plan:
            assert fl.load_id is not None
            folder = f"load_{fl.load_id}"
            if parsed is not None and fl.status == "LOADED":
                assert parsed.parquet is not None
                stmts += parquet_statements(
                    settings, placeholder(parsed.parquet), f"{raw}.{fl.table}", folder, force=force
                )
            if parsed is not None and parsed.rejects_parquet is not None:
                rejects = placeholder(parsed.rejects_parquet)
                stmts += parquet_statements(settings, rejects, f"{raw}.LOAD_REJECTS", folder, force=force)
            keys = parsed.keys if parsed is not None and fl.status == "LOADED" else 0
            stmts.append(history_sql(raw, batch, fl, loaded_at, keys))
        files = "\n".join(
            f"  load {fl.load_id}: {fl.file} -> {fl.table}, {fl.status}, {fl.rows_loaded:,} rows, "
            f"{fl.rows_rejected:,} rejected"
            for *_, fl in plan
        )
        skipped = [f"  {f.file}: {f.message or f.status.lower()}" for f in report.files if f.status != "LOADED"]
        comment = "\n".join([f"the landing {url}, in one transaction:", *filter(None, [files]), *skipped])
        return [(comment, ["BEGIN", *stmts, "COMMIT"] if stmts else [])]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def seed_script(settings: Settings, names: Sequence[str] | None = None) -> str:
    """`seed`: every seed is new on an empty account; each file is checked as `seed` checks it."""
    from netflix_elt.ingest.load import parquet_statements, raw_ddl
    from netflix_elt.seeds import NEW_SUFFIX, _ddl, _to_parquet

    check_profile(settings)
    unknown = sorted(set(names or ()) - set(settings.config.seeds))
    if unknown:
        raise ConfigError(f"no seed named {unknown[0]!r}")
    schema = f"{settings.database}.{settings.target_schema}"
    create = f"CREATE SCHEMA IF NOT EXISTS {schema}"  # by the command, then by the seed loader after the RAW DDL
    sections: list[tuple[str, Sequence[str]]] = [
        ("the target schema and RAW (the load stage)", [create, *raw_ddl(settings), create])
    ]
    folder = settings.project_dir / settings.config.project.seeds
    with tempfile.TemporaryDirectory(prefix="netflix-elt-print-sql-") as tmp:
        for name, seed in settings.config.seeds.items():
            if names and name not in names:
                continue
            rows = _to_parquet(folder / seed.file, seed, Path(tmp) / f"{name}.parquet")
            table, new = f"{schema}.{name.upper()}", f"{schema}.{name.upper()}{NEW_SUFFIX}"
            stmts = [
                f"CREATE OR REPLACE TABLE {new} ({_ddl(seed)})",
                *parquet_statements(settings, f"{SEED_FOLDER}/{name}.parquet", new, f"seed_{name}"),
                f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {new}",
                f"DROP TABLE IF EXISTS {new}",
            ]
            sections.append((f"seed {name}: {rows:,} rows from {seed.file}", stmts))
    header = _header("seed", settings)
    header.append(f"{SEED_FOLDER}: the temporary folder where `seed` writes each checked seed file as Parquet.")
    return render(sections, header)
