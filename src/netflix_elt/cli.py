"""The `netflix-elt` command line: thin click commands over :mod:`netflix_elt.api`.

Exit codes follow dbt: 0 success, 1 a transform, snapshot or error-severity test failed,
2 a usage or configuration error. Errors print one red line; `--debug` shows the traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from netflix_elt.errors import NetflixEltError

# emoji=False: `:smile:` in a name or value is text; user text is escaped (`_e`) wherever markup is on
console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)

STATUS_STYLE = {
    "success": "green",
    "pass": "green",
    "error": "red",
    "fail": "red",
    "skipped": "yellow",
    "warn": "yellow",
}


def _safe(message: str) -> str:
    """A message fit to print: known secrets scrubbed, and `[...]` shown as text, not rich markup."""
    from rich.markup import escape

    from netflix_elt.connections import scrub

    return escape(scrub(message))


def _e(value: object) -> str:
    """User-supplied text (names, file names, URLs, cell values) as literal text for rich."""
    from rich.markup import escape

    return escape(str(value))


def _scrubbed_traceback(exc: BaseException) -> str:
    """The traceback `--debug` prints, with every known secret scrubbed (as in one-line errors)."""
    import traceback

    from netflix_elt.connections import scrub

    return scrub("".join(traceback.format_exception(exc)))


def _handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """One error handler: a one-line message and dbt's exit code; the traceback only with --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = kwargs.get("debug", False)
        try:
            return func(*args, **kwargs)
        except NetflixEltError as e:
            if debug:
                raise
            err_console.print(f"[red]Error:[/red] {_safe(str(e))}", soft_wrap=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            err_console.print("[red]Interrupted[/red]")
            sys.exit(130)
        except Exception as e:  # a bug or an engine failure: still one line unless --debug
            if debug:
                raise
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            err_console.print(
                f"[red]Error:[/red] {type(e).__name__}: {_safe(first)} (run with --debug for details)",
                soft_wrap=True,
            )
            sys.exit(2)

    return wrapper


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options every warehouse command takes."""
    options = [
        click.option(
            "--project-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Project folder (holding config/netflix_elt.toml). Default: found from the current folder.",
        ),
        click.option("--target", "-t", default=None, help="Target schema set: dev (default) or prod."),
        click.option(
            "--profile",
            default=None,
            help="Where to run: local (embedded engine, default) or snowflake (a real account).",
        ),
        click.option("--debug", is_flag=True, help="Show tracebacks for errors."),
    ]
    return _handle_errors(_with_options(func, options))


def _with_options(func: Callable[..., Any], options: list[Callable[..., Any]]) -> Callable[..., Any]:
    """Apply click options so that --help lists them in the order given."""
    for opt in reversed(options):
        func = opt(func)
    return func


def warehouse_lock(wait: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Hold the warehouse lock (netflix_elt.lock) for the command: one writer at a time.

    Writers wait up to --lock-timeout; readers (`wait=False`) take it only on the embedded engine,
    whose files one process can open at a time, and fail at once if a writer holds it.
    """

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from netflix_elt.lock import command_lock

            timeout = kwargs.pop("lock_timeout", None)
            command = click.get_current_context().command_path
            with command_lock(
                kwargs.get("project_dir"),
                kwargs.get("target"),
                kwargs.get("profile"),
                command=command,
                timeout=timeout,
                wait=wait,
            ) as stale:
                if stale is not None:
                    msg = f"took over the warehouse lock left by {stale.describe()}, which did not finish"
                    err_console.print(f"[dim]{_e(msg)}[/dim]", soft_wrap=True)
                return func(*args, **kwargs)

        if wait:
            wrapper = click.option(
                "--lock-timeout",
                type=click.FloatRange(min=0),
                default=None,
                help="Seconds to wait for another netflix-elt writing to the warehouse (default: 60).",
            )(wrapper)
        return wrapper

    return deco


def selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--select",
            "-s",
            "select_",
            multiple=True,
            help="dbt selectors: name, +name (with upstream), name+ (with downstream), layer:L, tag:T.",
        ),
        click.option("--exclude", multiple=True, help="Selectors to leave out."),
    ]
    return _with_options(func, options)


def _workspace(project_dir: Path | None, target: str | None, profile: str | None, threads: int | None = None):
    from netflix_elt.api import Workspace

    return Workspace.from_options(project_dir, target=target, profile=profile, threads=threads)


def _report_line(i: int, total: int, res: Any) -> None:
    style = STATUS_STYLE.get(res.status, "white")
    rows = "-" if res.rows is None else f"{res.rows:,}"
    label = {"success": "OK", "error": "ERROR", "skipped": "SKIP"}.get(res.status, res.status.upper())
    first = _safe(res.message.splitlines()[0]) if res.message else ""
    console.print(
        f"{i:>3} of {total} [{style}]{label:<5}[/{style}] {res.kind} [bold]{_e(res.name)}[/bold] "
        f"[dim]{first}[/dim] "
        f"rows={rows} [{res.execution_time:.2f}s]",
        soft_wrap=True,
    )
    if res.status in ("error", "fail") and res.message:
        console.print(f"      [red]{_safe(res.message)}[/red]", soft_wrap=True)


def _summary(outcome: Any) -> None:
    c = outcome.counts()
    parts = " ".join(f"{k.upper()}={v}" for k, v in sorted(c.items()))
    color = "green" if outcome.ok else "red"
    console.print(f"[{color}]Done.[/{color}] {parts} TOTAL={len(outcome.results)} in {outcome.elapsed:.2f}s")


class _OneLineUsageErrors(click.Group):
    """Usage errors (unknown flag, bad value) as one line, like every other error.

    click would print the usage, a hint and the error on three lines; exit code 2 is kept.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from netflix_elt.tempfiles import process_scope

        if kwargs.get("standalone_mode", True) is False:
            with process_scope():
                return super().main(*args, **kwargs)
        # the console script (no args given): an exception reaching here is a --debug one
        real_process = not args and kwargs.get("args") is None
        try:
            with process_scope():
                rv = super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.ClickException as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # bare `netflix-elt`: the help, as click shows it
                e.show()
                sys.exit(e.exit_code)
            where = f" (see `{e.ctx.command_path} --help`)" if getattr(e, "ctx", None) else ""
            err_console.print(f"[red]Error:[/red] {_safe(e.format_message())}{where}", soft_wrap=True)
            sys.exit(e.exit_code)
        except click.Abort:
            err_console.print("[red]Interrupted[/red]")
            sys.exit(130)
        except Exception as e:  # --debug: the traceback, scrubbed, and the usual exit code
            if not real_process:
                raise  # CliRunner and other callers get the exception itself
            sys.stderr.write(_scrubbed_traceback(e))
            sys.exit(e.exit_code if isinstance(e, NetflixEltError) else 2)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(
    cls=_OneLineUsageErrors,
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
    """


@main.command()
@common_options
@warehouse_lock()
@click.option(
    "--print-admin-sql",
    is_flag=True,
    help="Print the SQL an account admin runs once on Snowflake (role, warehouse, grants, S3 integration).",
)
def init(project_dir: Path | None, target: str | None, profile: str | None, debug: bool, print_admin_sql: bool) -> None:
    """Create the database and schemas (RAW, the target schema, SNAPSHOTS, AUDIT)."""
    ws = _workspace(project_dir, target, profile)
    if print_admin_sql:
        from netflix_elt.admin import admin_sql

        click.echo(admin_sql(ws.settings))
        return
    with ws:
        for stmt in ws.init():
            console.print(f"[green]ok[/green] {_e(stmt)}")


@main.command()
@common_options
@click.option(
    "--source",
    default="synthetic",
    show_default=True,
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
    help="Synthetic size: small, or ratings like 500k, 2m, 20m.",
)
@click.option("--seed", "seed_", default=42, show_default=True, type=int, help="Synthetic random seed.")
@click.option("--batch", default=None, type=int, help="Synthetic batch number (>1 writes a later delta batch).")
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="From a folder: copy the target of a symlinked file (default: refuse symlinks).",
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
) -> None:
    """Write MovieLens files into the landing zone, as one new batch."""
    from netflix_elt.ingest.extract import extract as do_extract
    from netflix_elt.ingest.landing import Landing

    ws = _workspace(project_dir, target, profile)
    url = Landing.from_url(to_url or ws.settings.landing_url).url  # what is printed is what is used
    with console.status(f"extracting {_e(source)} to {_e(url)} ..."):
        manifest = do_extract(source, url, scale=scale, seed=seed_, batch=batch, follow_symlinks=follow_symlinks)
    table = Table(title=f"extracted batch {manifest.batch} to {_e(url)}")
    for col in ("file", "rows", "bytes"):
        table.add_column(col, justify="right" if col != "file" else "left")
    for f in manifest.files:
        table.add_row(_e(f.name), f"{f.rows:,}", f"{f.bytes:,}")
    console.print(table)


def _print_load(report: Any) -> None:
    shown = [f for f in report.files if f.status == "LOADED"]
    unchanged = [f for f in report.files if f.status == "UNCHANGED"]
    if shown:
        table = Table(title="load")
        for col in ("table", "file", "parsed", "loaded", "rejected"):
            table.add_column(col, justify="right" if col in ("parsed", "loaded", "rejected") else "left")
        for f in shown:
            table.add_row(_e(f.table), _e(f.file), f"{f.rows_parsed:,}", f"{f.rows_loaded:,}", f"{f.rows_rejected:,}")
        console.print(table)
    else:
        console.print("[green]nothing new to load[/green]")
    again = [f for f in unchanged if f.message == "already loaded"]
    if again:
        msg = f"{len(again)} files already loaded with the same checksum were skipped (--force reloads)"
        console.print(Text(msg, style="dim"), soft_wrap=True)
    for f in unchanged:
        if f not in again:  # the same content landed under another batch or path
            console.print(Text(f"unchanged: {f.file}: {f.message} (--force loads it)", style="dim"), soft_wrap=True)
    for f in report.files:
        if f.status == "SKIPPED":
            console.print(Text.assemble(("skipped: ", "yellow"), f"{f.file}: {f.message}"), soft_wrap=True)
    for w in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {_safe(w)}", soft_wrap=True)
    rejected = sum(f.rows_rejected for f in report.files)
    if rejected:
        console.print(f"[yellow]{rejected:,} rejected rows are in RAW.LOAD_REJECTS[/yellow]")


@main.command()
@common_options
@warehouse_lock()
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
def load(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    from_url: str | None,
    force: bool,
    allow_deletes: bool,
    skip_batches: tuple[int, ...],
) -> None:
    """COPY INTO the RAW tables every landed file not loaded yet.

    Every record of a file is loaded or rejected with its line and reason (RAW.LOAD_REJECTS); what
    happens to a file with rejects is its source's on_error policy (Snowflake's ON_ERROR). A file
    that cannot be read, or a full extract that would delete too much, is refused (exit 4) and
    nothing changes.
    """
    with _workspace(project_dir, target, profile) as ws:
        report = ws.load(
            from_url,
            force=force,
            allow_deletes=allow_deletes,
            skip_batches=skip_batches,
            progress=lambda m: console.print(Text(m, style="dim"), soft_wrap=True),
        )
        _print_load(report)


@main.command()
@common_options
@warehouse_lock()
@click.option("--select", "-s", "select_", multiple=True, help="Seed names to load (default: all).")
def seed(
    project_dir: Path | None, target: str | None, profile: str | None, debug: bool, select_: tuple[str, ...]
) -> None:
    """Load the seed CSV files into the target schema."""
    with _workspace(project_dir, target, profile) as ws:
        for name, rows in ws.seed(list(select_) or None).items():
            _print_seed(name, rows)


def _print_seed(name: str, rows: int | None) -> None:
    if rows is None:
        console.print(f"[green]OK[/green] seed [bold]{_e(name)}[/bold] [dim]up to date (file unchanged)[/dim]")
    else:
        console.print(f"[green]OK[/green] seed [bold]{_e(name)}[/bold] rows={rows:,}")


@main.command()
@common_options
@warehouse_lock()
@selection_options
@click.option(
    "--layer",
    type=click.Choice(["staging", "core", "marts"]),
    default=None,
    help="Build this layer and everything upstream of it (same as --select +layer:L).",
)
@click.option("--full-refresh", is_flag=True, help="Rebuild all: incremental tables anew, up-to-date nodes too.")
@click.option("--threads", type=int, default=None, help="Transforms built at once (default from config).")
def run(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
    layer: str | None,
    full_refresh: bool,
    threads: int | None,
) -> None:
    """Build transforms in dependency order (views, tables, incremental MERGEs)."""
    selectors = [*select_, *([f"+layer:{layer}"] if layer else [])]
    with _workspace(project_dir, target, profile, threads) as ws:
        ws.selected(selectors, exclude)  # validate before starting the engine
        outcome = ws.run(
            selectors,
            exclude,
            full_refresh=full_refresh,
            reporter=_report_line,
            debug=debug,
            args={"select": selectors, "exclude": list(exclude), "full_refresh": full_refresh},
        )
        _summary(outcome)
        if not outcome.ok:
            sys.exit(1)


@main.command()
@common_options
@warehouse_lock()
@selection_options
@click.option("--full-refresh", is_flag=True, help="Rebuild all: incremental tables anew, up-to-date nodes too.")
@click.option("--threads", type=int, default=None, help="Transforms built at once (default from config).")
@click.option("--from", "from_url", default=None, help="Landing URL to load from (default: the configured landing).")
@click.option(
    "--allow-deletes",
    is_flag=True,
    help="Let a full extract drop more keys than its source's max_delete_fraction (real deletions).",
)
def build(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
    full_refresh: bool,
    threads: int | None,
    from_url: str | None,
    allow_deletes: bool,
) -> None:
    """Load, seed, test the sources, run the selected transforms, then the snapshots that read them.

    What reads a source or table that failed an error-severity test is skipped (snapshots too).
    """
    with _workspace(project_dir, target, profile, threads) as ws:
        ws.selected(select_, exclude, kinds=("transform", "snapshot"))
        with ws.stage("startup"):
            ws.session  # noqa: B018 - start the engine (embedded) or connect (Snowflake)
        with ws.stage("load"):
            report = ws.load(from_url, allow_deletes=allow_deletes)
        _print_load(report)
        with ws.stage("seed"):
            seeded = ws.seed()
        for name, rows in seeded.items():
            _print_seed(name, rows)
        outcomes = ws.build(
            select_,
            exclude,
            full_refresh=full_refresh,
            reporter=_report_line,
            debug=debug,
            args={"select": list(select_), "exclude": list(exclude)},
        )
        for outcome in outcomes:
            if outcome.results:  # e.g. no snapshot selected
                _summary(outcome)
        ws.close()  # renders Data Docs (timed as validation) before the timings are written
        ws.write_timings()
        console.print(
            "[dim]stages: "
            + ", ".join(f"{k} {v['seconds']:.2f}s" for k, v in ws.timings.items())
            + f"; peak RSS {max(v['peak_rss_mb'] for v in ws.timings.values()):,.0f} MB[/dim]"
        )
        if not all(o.ok for o in outcomes):
            sys.exit(1)


@main.command()
@common_options
@warehouse_lock()
@selection_options
def snapshot(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """Record SCD2 history: one MERGE per snapshot into the SNAPSHOTS schema (dbt's snapshot)."""
    with _workspace(project_dir, target, profile) as ws:
        ws.selected(select_, exclude, kinds=("snapshot",))  # validate before starting the engine
        args = {"select": list(select_), "exclude": list(exclude)}
        outcome = ws.snapshot(select_, exclude, reporter=_report_line, debug=debug, args=args)
        _summary(outcome)
        if not outcome.ok:
            sys.exit(1)


@main.command(name="ls")
@common_options
@selection_options
def ls_(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """List sources, seeds, transforms and snapshots with their layer, materialization and inputs."""
    ws = _workspace(project_dir, target, profile)
    names = ws.selected(select_, exclude, kinds=("source", "seed", "transform", "snapshot"))
    table = Table()
    for col in ("name", "kind", "layer", "materialized", "inputs"):
        table.add_column(col)
    for n in names:
        node = ws.project[n]
        table.add_row(*(_e(v) for v in (n, node.kind, node.layer, node.materialized, ", ".join(node.inputs))))
    console.print(table)


@main.command()
@common_options
@warehouse_lock(wait=False)
@click.argument("name")
@click.option("--limit", "-n", default=10, show_default=True, type=int, help="Rows to show.")
def show(project_dir: Path | None, target: str | None, profile: str | None, debug: bool, name: str, limit: int) -> None:
    """Preview the rows of a source, seed, transform or snapshot."""
    with _workspace(project_dir, target, profile) as ws:
        cols, rows = ws.show(name.lower(), limit)
        table = Table(title=_e(name))
        for c in cols:
            table.add_column(_e(c))
        for r in rows:
            table.add_row(*["NULL" if v is None else _e(v) for v in r])
        console.print(table)


@main.command(name="compile")
@common_options
@warehouse_lock(wait=False)
@click.argument("names", nargs=-1)
def compile_(
    project_dir: Path | None, target: str | None, profile: str | None, debug: bool, names: tuple[str, ...]
) -> None:
    """Print the SQL of transforms and analyses (all when none named); also under target/compiled/."""
    with _workspace(project_dir, target, profile) as ws:
        compiled = ws.compile([n.lower() for n in names])
        for name, (path, sql) in compiled.items():
            if names:
                console.print(f"[dim]-- {_e(name)}: {_e(path)}[/dim]")
                click.echo(sql + ";")
            else:
                console.print(f"[green]compiled[/green] {_e(name)} -> {_e(path.relative_to(ws.settings.project_dir))}")


@main.command()
@common_options
@warehouse_lock(wait=False)
def tables(project_dir: Path | None, target: str | None, profile: str | None, debug: bool) -> None:
    """Every table and view of the warehouse with its row count."""
    with _workspace(project_dir, target, profile) as ws:
        _print_tables(ws)


def _print_tables(ws: Any) -> None:
    table = Table(title=f"{ws.settings.database} tables")
    table.add_column("schema")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for schema, name, rows in ws.tables():
        table.add_row(_e(schema), _e(name), f"{rows:,}")
    console.print(table)


@main.command()
@common_options
@warehouse_lock()
@selection_options
def validate(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """Run the data tests in expectations/ with Great Expectations, inside the engine.

    Exits 1 when an error-severity expectation fails; warn-severity failures are only shown.
    Failing rows go to AUDIT.TEST_FAILURES (by invocation id); Data Docs to target/data_docs/.
    """
    with _workspace(project_dir, target, profile) as ws:
        if select_ or exclude:
            ws.selected(select_, exclude, kinds=("source", "seed", "transform", "snapshot"))
        report = ws.validate(select_, exclude)
        _print_validation(report)
        if not report.ok:
            sys.exit(1)


def _print_validation(report: Any) -> None:
    table = Table(title=f"validate (invocation {report.invocation_id})")
    for col in ("suite", "expectation", "severity", "status", "unexpected", "failing sample"):
        table.add_column(col, justify="right" if col == "unexpected" else "left", overflow="fold")
    for r in report.results:
        style = STATUS_STYLE.get(r.status, "dim")
        sample = r.sample_json() if r.sample else r.message
        table.add_row(
            _e(r.suite),
            _e(r.expectation),
            _e(r.severity),
            f"[{style}]{_e(r.status)}[/{style}]",
            "-" if r.unexpected_count is None else f"{r.unexpected_count:,}",
            _safe(sample[:160] + ("..." if len(sample) > 160 else "")),
        )
    console.print(table)
    counts: dict[str, int] = {}
    for r in report.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    parts = " ".join(f"{k.upper().replace(' ', '_')}={v}" for k, v in sorted(counts.items()))
    color = "green" if report.ok else "red"
    console.print(f"[{color}]Done.[/{color}] {parts} TOTAL={len(report.results)} in {report.elapsed:.2f}s")
    if report.audit_rows:
        console.print(f"{report.audit_rows} failing expectations recorded in AUDIT.TEST_FAILURES", soft_wrap=True)
    if report.data_docs:
        console.print(f"Data Docs: {_e(report.data_docs.as_uri())}", soft_wrap=True)


@main.command()
@common_options
@warehouse_lock()
def retry(project_dir: Path | None, target: str | None, profile: str | None, debug: bool) -> None:
    """Rerun only what failed or was skipped in the last run/build/snapshot/validate (dbt retry).

    Reads target/run_results.json; exits 0 with a message when nothing failed.
    """
    from netflix_elt.retry import plan_retry

    with _workspace(project_dir, target, profile) as ws:
        plan = plan_retry(ws.settings)
        if not plan.names:
            console.print(f"[green]nothing to retry:[/green] the last `{plan.command}` had no failures", soft_wrap=True)
            return
        names = ", ".join(plan.names)
        console.print(f"retrying {len(plan.names)} of the last `{plan.command}`: {_e(names)}", soft_wrap=True)
        args = {**plan.args, "retry_of": plan.invocation_id}
        if plan.command == "validate":
            report = ws.validate(plan.names, args=args)
            _print_validation(report)
            ok = report.ok
        else:
            if plan.command == "run":
                full_refresh = bool(plan.args.get("full_refresh"))
                run_ = ws.run(plan.names, full_refresh=full_refresh, reporter=_report_line, debug=debug, args=args)
                outcomes = [run_]
            elif plan.command == "build":
                outcomes = list(ws.build(plan.names, reporter=_report_line, debug=debug, args=args))
            else:
                outcomes = [ws.snapshot(plan.names, reporter=_report_line, debug=debug, args=args)]
            for outcome in outcomes:
                if outcome.results:
                    _summary(outcome)
            ok = all(o.ok for o in outcomes)
        if not ok:
            sys.exit(1)


# docs (netflix_elt.docs) -------------------------------------------------------------------------
@main.group()
def docs() -> None:
    """The documentation site: catalog, lineage graph and column lineage under target/docs/."""


@docs.command(name="generate")
@common_options
@warehouse_lock()
def docs_generate(project_dir: Path | None, target: str | None, profile: str | None, debug: bool) -> None:
    """Write target/docs/ (the site), target/catalog.json and target/lineage.json from the warehouse."""
    from netflix_elt.docs import generate_docs

    with _workspace(project_dir, target, profile) as ws:
        res = generate_docs(ws)
    for w in res.warnings:
        console.print(f"[yellow]warning:[/yellow] {_safe(w)}", soft_wrap=True)
    console.print(
        f"[green]ok[/green] {res.nodes} nodes, {res.columns} columns in {res.elapsed:.2f}s: "
        f"{_e(res.index)}, {_e(res.catalog.name)}, {_e(res.lineage.name)}",
        soft_wrap=True,
    )


@docs.command(name="serve")
@common_options
@click.option("--port", default=8080, show_default=True, type=int, help="Port on 127.0.0.1; 0 picks a free one.")
def docs_serve(project_dir: Path | None, target: str | None, profile: str | None, debug: bool, port: int) -> None:
    """Serve target/docs/ on 127.0.0.1 (read-only; needs no warehouse). Ctrl-C stops it."""
    from netflix_elt.docs.serve import make_server, url_of

    server = make_server(_workspace(project_dir, target, profile).settings.target_dir / "docs", port)
    console.print(f"Serving docs at {_e(url_of(server))} (Ctrl-C to stop)", soft_wrap=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
