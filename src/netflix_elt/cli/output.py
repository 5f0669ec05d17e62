"""What the CLI prints: progress lines, summaries and tables, with user text never read as markup."""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.table import Table
from rich.text import Text

UNBOUNDED = 100_000  # columns of a console that is not a terminal: nothing is cut or wrapped


class _Console(Console):
    """A rich Console as wide as its lines when the output is not a terminal.

    rich assumes 80 columns on a pipe or file, so tables cut file names (`file:///tmp/...batc…`)
    and long lines wrap mid-word; a reader of the pipe (grep, a log file, CI) wants them whole.
    A terminal keeps its real width (COLUMNS included); `fixed_width` is honoured everywhere.
    """

    fixed_width: int | None = None

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if self.fixed_width is not None:
            return ConsoleDimensions(self.fixed_width, dims.height)
        if not _is_tty(self.file):  # rich took COLUMNS (often exported as 80 in CI) even for a pipe
            return ConsoleDimensions(UNBOUNDED, dims.height)
        return dims

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


def _is_tty(file: Any) -> bool:
    """The stream itself is a terminal (FORCE_COLOR may style a pipe, but a pipe has no width)."""
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):
        return False


# emoji=False: `:smile:` in a name or value is text; user text is escaped (`esc`) wherever markup is on
console = _Console(highlight=False, emoji=False)
err_console = _Console(stderr=True, highlight=False, emoji=False)


def emit_text(text: Text) -> None:
    """Print one line of progress: on a terminal wrapped between words, elsewhere whole."""
    console.print(text)


def safe(message: str) -> str:
    """A message fit to print: known secrets scrubbed, and `[...]` shown as text, not rich markup."""
    from rich.markup import escape

    from netflix_elt.connections import scrub

    return escape(scrub(message))


def esc(value: object) -> str:
    """User-supplied text (names, file names, URLs, cell values) as literal text for rich."""
    from rich.markup import escape

    return escape(str(value))


def scrubbed_traceback(exc: BaseException) -> str:
    """The traceback `--debug` prints, with every known secret scrubbed (as in one-line errors)."""
    import traceback

    from netflix_elt.connections import scrub

    return scrub("".join(traceback.format_exception(exc)))


def print_error(message: str, exit_code: int) -> None:
    """The one red line of an error (on stderr), or an `error` event with --log-format json."""
    from netflix_elt.cli.events import emit

    text = safe(message)
    emit(
        "error",
        level="error",
        status="error",
        message=message,
        data={"exit_code": exit_code},
        text=lambda: err_console.print(f"[red]Error:[/red] {text}", soft_wrap=True),
    )


def print_load(report: Any) -> None:
    """The load's files: a table for people; one `load_file` event per file with --log-format json."""
    from netflix_elt.cli.events import LOG, emit

    if LOG.json:
        for f in report.files:
            data = {"table": f.table, "file": f.file, "parsed": f.rows_parsed, "loaded": f.rows_loaded,
                    "rejected": f.rows_rejected}  # fmt: skip
            emit("load_file", node=f.table, status=f.status.lower(), message=f.message or "", data=data)
        for w in report.warnings:
            emit("load_warning", level="warn", message=w)
        return
    emit("load", text=lambda: _print_load_table(report))
    for w in report.warnings:
        emit(
            "load_warning",
            level="warn",
            text=lambda w=w: console.print(f"[yellow]warning:[/yellow] {safe(w)}", soft_wrap=True),
        )


def _print_load_table(report: Any) -> None:
    shown = [f for f in report.files if f.status == "LOADED"]
    unchanged = [f for f in report.files if f.status == "UNCHANGED"]
    if shown:
        table = Table(title="load")
        for col in ("table", "file", "parsed", "loaded", "rejected"):
            table.add_column(col, justify="right" if col in ("parsed", "loaded", "rejected") else "left")
        for f in shown:
            table.add_row(esc(f.table), esc(f.file), f"{f.rows_parsed:,}", f"{f.rows_loaded:,}", f"{f.rows_rejected:,}")
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
    rejected = sum(f.rows_rejected for f in report.files)
    if rejected:
        console.print(f"[yellow]{rejected:,} rejected rows are in RAW.LOAD_REJECTS[/yellow]")


def print_seed(name: str, rows: int | None) -> None:
    from netflix_elt.cli.events import emit

    if rows is None:
        text = f"[green]OK[/green] seed [bold]{esc(name)}[/bold] [dim]up to date (file unchanged)[/dim]"
    else:
        text = f"[green]OK[/green] seed [bold]{esc(name)}[/bold] rows={rows:,}"
    message = "up to date (file unchanged)" if rows is None else "loaded"
    emit("seed_result", node=name, status="success", message=message, data={"rows": rows},
         text=lambda: console.print(text, soft_wrap=True))  # fmt: skip


def print_tables(database: str, relations: list[tuple[str, str, str, int]]) -> None:
    """Every table and view with its kind and rows; an empty warehouse says so and what builds it."""
    from netflix_elt.cli.events import LOG, emit

    if not relations:
        msg = (
            f"the warehouse {database} has no tables or views yet: nothing was built with these settings "
            "(run `netflix-elt build`, or check --project-dir, --target and NETFLIX_ELT_HOME)"
        )
        emit("tables_empty", level="warn", message=msg, data={"database": database},
             text=lambda: console.print(Text(msg, style="yellow"), soft_wrap=True))  # fmt: skip
        return

    def table() -> None:
        t = Table(title=f"{database} tables and views")
        for col in ("schema", "name", "kind", "rows"):
            t.add_column(col, justify="right" if col == "rows" else "left")
        for schema, name, kind, rows in relations:
            t.add_row(esc(schema), esc(name), esc(kind), f"{rows:,}")
        console.print(t)

    if LOG.json:
        for schema, name, kind, rows in relations:
            emit("relation", node=f"{database}.{schema}.{name}", status=kind.lower(), message=kind,
                 data={"schema": schema, "name": name, "kind": kind, "rows": rows})  # fmt: skip
    else:
        emit("tables", text=table, data={"count": len(relations)})


def print_validation_extras(report: Any) -> None:
    """What validate wrote besides its lines: the audit rows and the Data Docs page."""
    from netflix_elt.cli.events import emit

    if report.audit_rows:
        msg = f"{report.audit_rows} failing expectations recorded in AUDIT.TEST_FAILURES"
        emit("audit", message=msg, data={"rows": report.audit_rows, "invocation_id": report.invocation_id},
             text=lambda: console.print(msg, soft_wrap=True))  # fmt: skip
    if report.data_docs:
        uri = report.data_docs.as_uri()
        emit("data_docs", message=uri, data={"path": str(report.data_docs)},
             text=lambda: console.print(f"Data Docs: {esc(uri)}", soft_wrap=True))  # fmt: skip


LS_OUTPUTS = ("table", "name", "path", "json")
LS_KEYS = ("unique_id", "name", "resource_type", "package_name", "layer", "config", "tags", "depends_on",
           "original_file_path", "relation_name")  # fmt: skip


def print_nodes(ws: Any, names: list[str], output: str) -> None:
    """`ls --output`: a table for people; one name, file path or JSON object (dbt's ls keys) a line."""
    import json

    import click

    if output == "table":
        table = Table()
        for col in ("name", "kind", "layer", "materialized", "inputs"):
            table.add_column(col)
        for n in names:
            node = ws.project[n]
            table.add_row(*(esc(v) for v in (n, node.kind, node.layer, node.materialized, ", ".join(node.inputs))))
        console.print(table)
        return
    if output == "name":
        for n in names:
            click.echo(n)
        return
    from netflix_elt.artifacts import build_manifest
    from netflix_elt.graph import unique_id

    manifest = build_manifest(ws.project, ws.settings, ws.invocation_id, engine=ws.settings.engine)
    entries = {**manifest["nodes"], **manifest["sources"]}
    pname = ws.settings.config.project.name
    for n in names:
        node = ws.project[n]
        entry = entries[unique_id(pname, node)]
        if output == "path":
            click.echo(entry["original_file_path"])
        else:  # the manifest's keys; the layer, inputs and materialization as the project has them
            row = {k: entry.get(k) for k in LS_KEYS}
            row["layer"] = node.layer
            row["depends_on"] = {"nodes": [unique_id(pname, ws.project[i]) for i in node.inputs]}
            row["config"] = {**(entry.get("config") or {}), "materialized": str(node.materialized)}
            click.echo(json.dumps(row, default=str))


def print_stages(stages: str) -> None:
    """build's time per stage (startup, load, seed, validate, run, snapshot) and peak memory."""
    from netflix_elt.cli.events import emit

    emit("timings", message=stages, text=lambda: console.print(f"[dim]stages: {stages}[/dim]", soft_wrap=True))
