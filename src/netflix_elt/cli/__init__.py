"""The `netflix-elt` command line: thin click commands over :mod:`netflix_elt.api`.

Exit codes follow dbt: 0 success, 1 a transform, snapshot or error-severity test failed,
2 a usage or configuration error. Errors print one red line; `--debug` shows the traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from netflix_elt.cli import events
from netflix_elt.cli.change import check_defer, defer_option
from netflix_elt.cli.freshness import source_group, then_warn_stale
from netflix_elt.cli.options import (
    OneLineUsageErrors,
    common_options,
    lock_option,
    output_option,
    selection_options,
    workspace,
)
from netflix_elt.cli.output import (
    LS_OUTPUTS,
    console,
    esc,
    print_load,
    print_nodes,
    print_seed,
    print_stages,
    print_tables,
    safe,
)
from netflix_elt.cli.output import print_validation_extras as validation_extras
from netflix_elt.cli.params import ByteSize, ExtractSource, Scale
from netflix_elt.cli.results import Progress, ValidationLines, print_validation_results


@click.group(
    cls=OneLineUsageErrors,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="netflix-elt")
def main() -> None:
    """netflix-elt: load MovieLens CSVs into Snowflake and transform them with Snowpark.

    Runs on an embedded Snowflake emulator by default (profile `local`, no account needed) and
    unchanged on a real account (`--profile snowflake`). Typical flow:

    \b
      netflix-elt extract --source synthetic    # data into the landing zone
      netflix-elt build                          # load + seed + run
      netflix-elt run --layer marts              # rebuild marts and what they need

    Every option can be set as NETFLIX_ELT_<OPTION> (--lock-timeout: NETFLIX_ELT_LOCK_TIMEOUT;
    each command's --help names them); NETFLIX_ELT_HOME moves the state folder (.netflix_elt/)
    and NETFLIX_ELT_TARGET_PATH the artifacts folder (target/).
    """
    events.reset()  # one process may run many commands (tests, notebooks): each starts from the defaults


@main.command()
@common_options
@lock_option
@click.option(
    "--print-admin-sql",
    is_flag=True,
    help="Print the SQL an account admin runs once on Snowflake (role, warehouse, grants, S3 integration).",
)
def init(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    lock_timeout: float | None,
    print_admin_sql: bool,
) -> None:
    """Create the database and schemas (RAW, the target schema, SNAPSHOTS, AUDIT)."""
    ws = workspace(project_dir, target, profile, lock_timeout=lock_timeout)
    if print_admin_sql:
        from netflix_elt.admin import admin_sql

        click.echo(admin_sql(ws.settings))
        return
    with ws:
        for stmt in ws.init():
            console.print(f"[green]ok[/green] {esc(stmt)}")


@main.command()
@common_options
@click.option(
    "--source",
    default="synthetic",
    show_default=True,
    type=ExtractSource(),
    help="synthetic, grouplens:ml-latest-small|ml-20m|ml-25m|ml-32m, or a folder of CSV files.",
)
@click.option(
    "--to",
    "to_url",
    default=None,
    help="Landing URL: a folder, file:// or s3://bucket/prefix. Default: the state folder's landing/.",
)
@click.option(
    "--scale",
    default="small",
    show_default=True,
    type=Scale(),
    help="Synthetic size: small, or ratings like 500k, 2m, 20m.",
)
@click.option("--seed", "seed_", default=42, show_default=True, type=click.IntRange(min=0), help="Synthetic seed.")
@click.option("--batch", type=click.IntRange(min=1), help="Synthetic batch number (>1 writes a later delta batch).")
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="From a folder: copy the target of a symlinked file (default: refuse symlinks).",
)
@click.option(
    "--split-size",
    default=None,
    type=ByteSize(),
    help="Land a CSV file larger than this (uncompressed bytes; KB, MB, GB) as parts of the batch, cut at record "
    "boundaries, each with the header, loaded as one file so Snowflake loads the parts in parallel. "
    "[default: 400MB to s3://, about 100 MB gzip-compressed at the ~4:1 of these CSVs (an estimate), Snowflake's "
    "advised 100-250 MB; 0 (whole files) to a local folder, where parts only cost the embedded engine] 0: never split.",
)
def extract(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    source: str,
    to_url: str | None,
    scale: str,
    seed_: int,
    batch: int | None,
    follow_symlinks: bool,
    split_size: int | None,
) -> None:
    """Write MovieLens files into the landing zone, as one new batch."""
    from netflix_elt.ingest.extract import extract as do_extract
    from netflix_elt.ingest.landing import Landing

    ws = workspace(project_dir, target, profile)
    url = Landing.from_url(to_url or ws.settings.landing_url).url  # what is printed is what is used
    with console.status(f"extracting {esc(source)} to {esc(url)} ..."):
        manifest = do_extract(
            source, url, scale=scale, seed=seed_, batch=batch, follow_symlinks=follow_symlinks, split_size=split_size
        )
    table = Table(title=f"extracted batch {manifest.batch} to {esc(url)}")
    for col in ("file", "rows", "bytes"):
        table.add_column(col, justify="right" if col != "file" else "left")
    for f in manifest.files:
        table.add_row(esc(f.name), f"{f.rows:,}", f"{f.bytes:,}")
        for p in f.parts:
            table.add_row(f"  {esc(p.name)}", f"{p.rows:,}", f"{p.bytes:,}")
    console.print(table)


PORT = click.IntRange(0, 65535)
PRINT_SQL = click.option(
    "--print-sql",
    is_flag=True,
    help="With --profile snowflake: print, without connecting, the SQL script this would send to an empty account.",
)


@main.command()
@common_options
@lock_option
@click.option("--from", "from_url", default=None, help="Landing URL to load from (default: the configured landing).")
@click.option("--force", is_flag=True, help="Load files again even if LOAD_HISTORY has their content (same checksum).")
@click.option(
    "--allow-deletes",
    is_flag=True,
    help="Let a full extract drop more keys than its source's max_delete_fraction (real deletions).",
)
@click.option(
    "--skip-batch",
    "skip_batches",
    multiple=True,
    type=click.IntRange(min=1),
    metavar="N",
    help="Record batch N's files as skipped by you (LOAD_HISTORY status SKIPPED), so later batches load.",
)
@PRINT_SQL
def load(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    lock_timeout: float | None,
    from_url: str | None,
    force: bool,
    allow_deletes: bool,
    skip_batches: tuple[int, ...],
    print_sql: bool,
) -> None:
    """COPY INTO the RAW tables every landed file not loaded yet.

    Every record of a file is loaded or rejected with its line and reason (RAW.LOAD_REJECTS); what
    happens to a file with rejects is its source's on_error policy (Snowflake's ON_ERROR). A file
    that cannot be read, or a full extract that would delete too much, is refused (exit 4) and
    nothing changes.
    """
    if print_sql:
        opts = {"force": force, "allow_deletes": allow_deletes, "skip_batches": skip_batches}
        click.echo(workspace(project_dir, target, profile).print_sql("load", from_url, **opts), nl=False)
        return
    with workspace(project_dir, target, profile, lock_timeout=lock_timeout) as ws:
        report = ws.load(
            from_url,
            force=force,
            allow_deletes=allow_deletes,
            skip_batches=skip_batches,
            progress=lambda m: console.print(Text(m, style="dim"), soft_wrap=True),
        )
        print_load(report)


@main.command()
@common_options
@lock_option
@selection_options
@PRINT_SQL
def seed(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    lock_timeout: float | None,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
    print_sql: bool,
) -> None:
    """Load the seed CSV files into the target schema (all, or the seeds -s selects)."""
    ws = workspace(project_dir, target, profile, lock_timeout=lock_timeout)
    names = ws.selected(select_, exclude, kinds=("seed",)) if select_ or exclude else None
    if print_sql:
        click.echo(ws.print_sql("seed", names), nl=False)
        return
    with ws:
        for name, rows in ws.seed(names).items():
            print_seed(name, rows)


@main.command()
@common_options
@lock_option
@selection_options
@click.option(
    "--layer",
    default=None,
    metavar="LAYER",
    help="Build this layer and everything upstream of it (same as --select +layer:L); one of [project] layers.",
)
@click.option("--full-refresh", is_flag=True, help="Rebuild all: incremental tables anew, up-to-date nodes too.")
@click.option("--threads", type=click.IntRange(min=1), help="Transforms built at once (default from config).")
@defer_option
def run(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    lock_timeout: float | None,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
    layer: str | None,
    full_refresh: bool,
    threads: int | None,
    defer: str | None,
) -> None:
    """Build transforms in dependency order (views, tables, incremental MERGEs)."""
    selectors = [*select_, *([f"+layer:{layer}"] if layer else [])]
    with workspace(project_dir, target, profile, threads, lock_timeout) as ws:
        if layer is not None:
            from netflix_elt.config import check_layer

            check_layer(ws.settings, layer)  # against [project] layers, before the engine starts
        ws.selected(selectors, exclude)  # validate before starting the engine (run_graph checks --defer)
        progress = Progress()
        outcome = ws.run(
            selectors,
            exclude,
            full_refresh=full_refresh,
            reporter=progress.node,
            debug=debug,
            defer=defer,
            args={"select": selectors, "exclude": list(exclude), "full_refresh": full_refresh, "defer": defer},
        )
        progress.summary(outcome.elapsed, outcome.ok)
        if not outcome.ok:
            sys.exit(1)


@main.command()
@common_options
@lock_option
@selection_options
@click.option("--full-refresh", is_flag=True, help="Rebuild all: incremental tables anew, up-to-date nodes too.")
@click.option("--threads", type=click.IntRange(min=1), help="Transforms built at once (default from config).")
@click.option("--from", "from_url", default=None, help="Landing URL to load from (default: the configured landing).")
@click.option(
    "--allow-deletes",
    is_flag=True,
    help="Let a full extract drop more keys than its source's max_delete_fraction (real deletions).",
)
@defer_option
def build(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    lock_timeout: float | None,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
    full_refresh: bool,
    threads: int | None,
    from_url: str | None,
    allow_deletes: bool,
    defer: str | None,
) -> None:
    """Load, seed, test the sources, run the selected transforms, then the snapshots that read them.

    What reads a source or table that failed an error-severity test is skipped (snapshots too).
    """
    with workspace(project_dir, target, profile, threads, lock_timeout) as ws:
        check_defer(ws.settings, defer)  # before the load
        progress = Progress()
        outcome = ws.build(
            select_,
            exclude,
            from_url=from_url,
            allow_deletes=allow_deletes,
            full_refresh=full_refresh,
            reporter=progress.node,
            on_load=then_warn_stale(print_load, ws, select_, exclude),
            debug=debug,
            defer=defer,
        )
        progress.summary(outcome.elapsed, outcome.ok)
        ws.timings.write(ws.settings.target_dir, ws.invocation_id)
        print_stages(ws.timings.summary())
        if not outcome.ok:
            sys.exit(1)


@main.command()
@common_options
@lock_option
@selection_options
@PRINT_SQL
def snapshot(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    lock_timeout: float | None,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
    print_sql: bool,
) -> None:
    """Record SCD2 history: one MERGE per snapshot into the SNAPSHOTS schema (dbt's snapshot)."""
    if print_sql:
        click.echo(workspace(project_dir, target, profile).print_sql("snapshot", select_, exclude), nl=False)
        return
    with workspace(project_dir, target, profile, lock_timeout=lock_timeout) as ws:
        ws.selected(select_, exclude, kinds=("snapshot",))  # validate before starting the engine
        args = {"select": list(select_), "exclude": list(exclude)}
        progress = Progress()
        outcome = ws.snapshot(select_, exclude, reporter=progress.node, debug=debug, args=args)
        progress.summary(outcome.elapsed, outcome.ok)
        if not outcome.ok:
            sys.exit(1)


@main.command(name="ls")
@common_options
@selection_options
@output_option(
    "table, or one line per node: its name, its file (path), or a JSON object (dbt's ls keys).",
    LS_OUTPUTS,
    "table",
)
def ls_(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
    output: str,
) -> None:
    """List sources, seeds, transforms and snapshots with their layer, materialization and inputs."""
    ws = workspace(project_dir, target, profile)
    print_nodes(ws, ws.selected(select_, exclude, kinds=("source", "seed", "transform", "snapshot")), output.lower())


@main.command()
@common_options
@click.argument("name")
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(min=0), help="Rows to show.")
def show(project_dir: Path | None, target: str | None, profile: str | None, debug: bool, name: str, limit: int) -> None:
    """Preview the rows of a source, seed, transform or snapshot."""
    with workspace(project_dir, target, profile) as ws:
        cols, rows = ws.show(name.lower(), limit)
        table = Table(title=esc(name))
        for c in cols:
            table.add_column(esc(c))
        for r in rows:
            table.add_row(*["NULL" if v is None else esc(v) for v in r])
        console.print(table)


@main.command(name="compile")
@common_options
@click.argument("names", nargs=-1)
def compile_(
    project_dir: Path | None, target: str | None, profile: str | None, debug: bool, names: tuple[str, ...]
) -> None:
    """Print the SQL of transforms and analyses (all when none named); also under target/compiled/."""
    with workspace(project_dir, target, profile) as ws:
        compiled = ws.compile([n.lower() for n in names])
        for name, (path, sql) in compiled.items():
            if names:
                console.print(f"[dim]-- {esc(name)}: {esc(path)}[/dim]")
                click.echo(sql + ";")
            else:
                console.print(
                    f"[green]compiled[/green] {esc(name)} -> {esc(path.relative_to(ws.settings.project_dir))}"
                )


@main.command()
@common_options
def tables(project_dir: Path | None, target: str | None, profile: str | None, debug: bool) -> None:
    """Every table and view of the warehouse with its kind (TABLE or VIEW) and row count."""
    with workspace(project_dir, target, profile) as ws:
        print_tables(ws.settings.database, ws.tables())


@main.command()
@common_options
@lock_option
@selection_options
@click.option("--full", is_flag=True, help="Every expectation on whole tables (not only on the loads since it passed).")
def validate(
    project_dir: Path | None, target: str | None, profile: str | None, debug: bool, lock_timeout: float | None,
    select_: tuple[str, ...], exclude: tuple[str, ...], full: bool,
) -> None:  # fmt: skip
    """Run the data tests in expectations/ with Great Expectations, inside the engine.

    Exits 1 when an error-severity expectation fails; warn-severity failures are only shown.
    Failing rows go to AUDIT.TEST_FAILURES (by invocation id); Data Docs to target/data_docs/.
    """
    with workspace(project_dir, target, profile, lock_timeout=lock_timeout) as ws:
        if select_ or exclude:
            ws.selected(select_, exclude, kinds=("source", "seed", "transform", "snapshot"))
        progress = Progress(noun="tests")
        report = ws.validate(select_, exclude, full=full, on_suite=ValidationLines(progress))
        progress.summary(report.elapsed, report.ok)
        validation_extras(report)
        if not report.ok:
            sys.exit(1)


@main.command()
@common_options
@lock_option
def retry(
    project_dir: Path | None, target: str | None, profile: str | None, debug: bool, lock_timeout: float | None
) -> None:
    """Rerun only what failed or was skipped in the last run/build/snapshot/validate (dbt retry).

    Reads target/run_results.json; exits 0 with a message when nothing failed.
    """
    with workspace(project_dir, target, profile, lock_timeout=lock_timeout) as ws:
        progress = Progress()
        plan, outcome = ws.retry(reporter=progress.node, debug=debug)
        if outcome is None:
            console.print(f"[green]nothing to retry:[/green] the last `{plan.command}` had no failures", soft_wrap=True)
            return
        names = ", ".join(plan.names)
        console.print(f"retrying {len(plan.names)} of the last `{plan.command}`: {esc(names)}", soft_wrap=True)
        if plan.command == "validate":
            print_validation_results(progress, outcome.results, ws.validator().suites)
        progress.summary(outcome.elapsed, outcome.ok)
        if plan.command == "validate":
            validation_extras(outcome)
        if not outcome.ok:
            sys.exit(1)


# docs (netflix_elt.docs) -------------------------------------------------------------------------
@main.group()
def docs() -> None:
    """The documentation site: catalog, lineage graph and column lineage under target/docs/."""


@docs.command(name="generate")
@common_options
@lock_option
def docs_generate(
    project_dir: Path | None, target: str | None, profile: str | None, debug: bool, lock_timeout: float | None
) -> None:
    """Write target/docs/ (the site), target/catalog.json and target/lineage.json from the warehouse."""
    with workspace(project_dir, target, profile, lock_timeout=lock_timeout) as ws:
        res = ws.docs()
    for w in res.warnings:
        console.print(f"[yellow]warning:[/yellow] {safe(w)}", soft_wrap=True)
    console.print(
        f"[green]ok[/green] {res.nodes} nodes, {res.columns} columns in {res.elapsed:.2f}s: "
        f"{esc(res.index)}, {esc(res.catalog.name)}, {esc(res.lineage.name)}",
        soft_wrap=True,
    )


@docs.command(name="serve")
@common_options
@click.option("--port", default=8080, show_default=True, type=PORT, help="Port on 127.0.0.1; 0 picks a free one.")
def docs_serve(project_dir: Path | None, target: str | None, profile: str | None, debug: bool, port: int) -> None:
    """Serve target/docs/ on 127.0.0.1 (read-only; needs no warehouse). Ctrl-C stops it."""
    from netflix_elt.docs.serve import make_server, url_of

    server = make_server(workspace(project_dir, target, profile).settings.target_dir / "docs", port)
    console.print(f"Serving docs at {esc(url_of(server))} (Ctrl-C to stop)", soft_wrap=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


# dashboard (netflix_elt.dashboard) ----------------------------------------------------------------
@main.command()
@common_options
@click.option(
    "--port",
    default=8501,
    show_default=True,
    type=PORT,
    help="Port on 127.0.0.1; 0 picks a free one.",
)
@click.option("--deploy", is_flag=True, help="With --profile snowflake: stage the app and CREATE OR REPLACE STREAMLIT.")
@PRINT_SQL
def dashboard(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    port: int,
    deploy: bool,
    print_sql: bool,
) -> None:
    """The MovieLens dashboard (dashboards/movielens.py) on 127.0.0.1, or deployed to Streamlit in Snowflake."""
    from netflix_elt import dashboard as app

    settings = workspace(project_dir, target, profile).settings
    if print_sql:
        click.echo(app.deploy_script(settings), nl=False)
    elif deploy:
        app.deploy(settings, echo=lambda stmt: console.print(f"[green]ok[/green] {esc(stmt)}", soft_wrap=True))
    else:
        sys.exit(app.serve(settings, port, echo=lambda line: console.print(esc(line), soft_wrap=True)))


# diff, clone (cli.change), debug, clean (cli.maintenance), gx, new, source (cli.freshness), plan, warm
def _register() -> None:
    from netflix_elt.cli.change import clone_, diff
    from netflix_elt.cli.gx import gx_group
    from netflix_elt.cli.maintenance import clean, debug
    from netflix_elt.cli.new import new
    from netflix_elt.cli.plan import plan
    from netflix_elt.cli.warm import warm_group

    for command in (diff, clone_, debug, clean, gx_group, new, source_group, plan, warm_group):
        main.add_command(command)


_register()
