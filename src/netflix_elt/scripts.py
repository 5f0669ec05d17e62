"""`--print-sql` (issue 19): the statements `load`, `seed` and `snapshot` would send to an EMPTY Snowflake account.

Nothing here connects to Snowflake: the account is assumed empty (no LOAD_HISTORY rows, so every
landed file is new and load ids count from 1; no seed or snapshot table yet). Only the landing is read: the
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
from typing import TYPE_CHECKING

from netflix_elt.config import Settings
from netflix_elt.errors import ConfigError

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from netflix_elt.compiler import Compiler
    from netflix_elt.registry import Node, Project

# the loader's private work folder (netflix_elt.tempfiles), made when `load` or `seed` runs
LOAD_FOLDER = "<load work folder>"
SEED_FOLDER = "<seed work folder>"


def check_profile(settings: Settings) -> None:
    """--print-sql is for an account: the profile's adapter must be the Snowflake one."""
    from netflix_elt.adapters import adapter_class

    engine = adapter_class(settings).name
    if engine != "snowflake":
        raise ConfigError(
            f"--print-sql prints what a Snowflake account would run: use --profile snowflake "
            f"(profile {settings.profile!r} is the {engine} engine)"
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
        "Read-only queries (LOAD_HISTORY reads, guards, pre-checks, read-backs) are not listed.",
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
    runs it: the files of a batch are taken as loaded (whether a SKIP_FILE policy skips one only the account
    knows) before the next batch is planned."""
    from netflix_elt.ingest import external_stage as ext
    from netflix_elt.ingest.landing import Landing
    from netflix_elt.ingest.load import PastLoad, _Book, check_s3_headers

    manifests = Landing.from_url(url).list_batches()
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
        for table, uri, lid in files:  # a split file: one row per part, under the file's one load id
            src = by_table[table]
            entry = manifest.file(src.file)
            assert entry is not None
            obj = next(o for o in entry.objects() if uri.endswith("/" + o.name))
            status = "SKIPPED" if skip else "LOADED"
            book.add(src, PastLoad(lid, table, uri, label, obj.sha256, status, 0 if skip else obj.rows, None))
        loads = {lid: (t, sum(f[2] == lid for f in files)) for t, _, lid in files}
        load_id += len(loads)
        what = (
            ", ".join(f"{t} (load {lid}{f', {n} parts' if n > 1 else ''})" for lid, (t, n) in loads.items())
            or "nothing new"
        )
        sections.append((f"{label}: {what}", script))
    return sections


def _local_sections(
    settings: Settings, url: str, *, force: bool, allow_deletes: bool, skip_batches: Sequence[int]
) -> list[tuple[str, Sequence[str]]]:
    """The files of a local landing parsed and checked as `load` does (load.plan_load), then its one
    transaction: PUT and COPY of each file's rows and rejects, and its LOAD_HISTORY row."""
    from netflix_elt import tempfiles
    from netflix_elt.ingest.load import (
        LoadReport,
        _Book,
        batches_from,
        history_sql,
        parquet_statements,
        plan_load,
        stamped_columns,
    )

    work = tempfiles.mkdtemp("netflix-elt-print-sql-")
    try:
        batches = batches_from(settings, url, work / "fetched", skip_batches)
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
                columns = stamped_columns(settings.config.sources[fl.source], fl.load_id, loaded_at, fl.file)
                stmts += parquet_statements(
                    settings, placeholder(parsed.parquet), f"{raw}.{fl.table}", folder, force=force, columns=columns
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


def snapshot_script(settings: Settings, select_: Sequence[str] = (), exclude: Sequence[str] = ()) -> str:
    """`snapshot`: on an empty account (no snapshot table yet) each snapshot's first run is a CTAS over its
    compiled source SELECT (snapshots.create_sql).

    Compiling a transform needs a Snowpark session, so the SELECT is compiled on the embedded engine, in a
    scratch warehouse of the same database and target (removed afterwards; no artifact is written): RAW empty,
    the seeds loaded, each transform upstream of the snapshots created as a view of its compiled SELECT.
    """
    from netflix_elt.registry import load_project
    from netflix_elt.selectors import select

    check_profile(settings)
    project = load_project(settings)
    names = select(project, select_, exclude, ("snapshot",))
    run_started_at = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="netflix-elt-print-sql-") as tmp:
        ctas = _compile_snapshots(settings, project, names, Path(tmp), run_started_at)
    schemas = [
        f"CREATE SCHEMA IF NOT EXISTS {settings.database}.{settings.target_schema}",
        f"CREATE SCHEMA IF NOT EXISTS {settings.database}.{settings.snapshot_schema}",
    ]
    header = _header("snapshot", settings) + [
        "The source SELECTs were compiled on the embedded engine (compiling a transform needs a Snowpark",
        "session, and none was opened on Snowflake). The account is assumed to hold the built upstream",
        "transforms and no snapshot table. The pre-checks (duplicate and NULL keys) are read-only: not listed.",
    ]
    sections = [(f"snapshot {n}: first run, every row opens its first version", [sql]) for n, sql in ctas.items()]
    return render([("the target and snapshot schemas", schemas if names else []), *sections], header)


def _compile_snapshots(
    settings: Settings, project: Project, names: Sequence[str], scratch_dir: Path, run_started_at: datetime
) -> dict[str, str]:
    from netflix_elt.adapters import adapter_for, close_session
    from netflix_elt.commands import init_statements
    from netflix_elt.compiler import Compiler, relation_of
    from netflix_elt.config import ProfileSection
    from netflix_elt.ingest.load import ensure_raw
    from netflix_elt.invocation import Invocation
    from netflix_elt.registry import Kind
    from netflix_elt.seeds import load_seeds

    profiles = {**settings.config.profiles, "print_sql": ProfileSection(engine="embedded")}
    config = settings.config.model_copy(update={"profiles": profiles})
    scratch = settings.model_copy(update={"profile": "print_sql", "state_dir": scratch_dir, "config": config})
    adapter = adapter_for(scratch, command="netflix-elt snapshot --print-sql")
    invocation = Invocation("snapshot", settings.target, run_started_at=run_started_at)
    upstream = set().union(*(project.dag.ancestors(n) for n in names)) if names else set()
    try:
        session = adapter.session
        for stmt in init_statements(scratch):
            session.sql(stmt).collect()
        ensure_raw(session, scratch)
        seeds = [n for n in project.order if n in upstream and project[n].kind == Kind.SEED]
        if seeds:
            load_seeds(session, scratch, seeds)
        for n in project.order:
            node = project[n]
            if n in upstream and node.kind == Kind.TRANSFORM and node.builds:
                sql = Compiler(project, scratch, adapter, invocation).select_sql(node)
                session.sql(f"CREATE OR REPLACE VIEW {relation_of(scratch, node)} AS {sql}").collect()
        comp = Compiler(project, scratch, adapter, invocation)
        return {n: _snapshot_ctas(settings, session, comp, project[n], run_started_at) for n in names}
    finally:
        if adapter.is_open:
            close_session(adapter.session)
        adapter.close()


def _snapshot_ctas(settings: Settings, session: Session, comp: Compiler, node: Node, run_started_at: datetime) -> str:
    """The plan of one snapshot as materializations/snapshot.py makes it, and its first run's CTAS."""
    from snowflake.snowpark.types import StringType

    from netflix_elt.compiler import relation_of
    from netflix_elt.materializations.snapshot import check_columns
    from netflix_elt.snapshots import SnapshotPlan, create_sql
    from netflix_elt.sql import wrap

    assert node.snapshot is not None
    source_sql = comp.select_sql(node)
    schema = session.sql(wrap(source_sql)).schema
    text_cols = {f.name.strip('"').upper() for f in schema.fields if isinstance(f.datatype, StringType)}
    plan = SnapshotPlan(
        name=node.name,
        relation=relation_of(settings, node),
        source_sql=source_sql,
        source_columns=tuple(f.name.strip('"') for f in schema.fields),
        unique_key=node.unique_key,
        config=node.snapshot,
        meta=settings.config.snapshots.meta_column_names,
        run_started_at=run_started_at,
        text_keys=tuple(k for k in node.unique_key if k.upper() in text_cols),
    )
    check_columns(node, plan)
    return create_sql(plan)
