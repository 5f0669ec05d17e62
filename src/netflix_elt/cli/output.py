"""What the CLI prints: progress lines, summaries and tables, with user text never read as markup."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

# emoji=False: `:smile:` in a name or value is text; user text is escaped (`esc`) wherever markup is on
# emoji=False: `:smile:` in a name or value is text; user text is escaped (`esc`) wherever markup is on
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


def report_line(i: int, total: int, res: Any) -> None:
    style = STATUS_STYLE.get(res.status, "white")
    rows = "-" if res.rows is None else f"{res.rows:,}"
    label = {"success": "OK", "error": "ERROR", "skipped": "SKIP"}.get(res.status, res.status.upper())
    first = safe(res.message.splitlines()[0]) if res.message else ""
    console.print(
        f"{i:>3} of {total} [{style}]{label:<5}[/{style}] {res.kind} [bold]{esc(res.name)}[/bold] "
        f"[dim]{first}[/dim] "
        f"rows={rows} [{res.execution_time:.2f}s]",
        soft_wrap=True,
    )
    if res.status in ("error", "fail") and res.message:
        console.print(f"      [red]{safe(res.message)}[/red]", soft_wrap=True)


def summary(outcome: Any) -> None:
    c = outcome.counts()
    parts = " ".join(f"{k.upper()}={v}" for k, v in sorted(c.items()))
    color = "green" if outcome.ok else "red"
    console.print(f"[{color}]Done.[/{color}] {parts} TOTAL={len(outcome.results)} in {outcome.elapsed:.2f}s")


def print_load(report: Any) -> None:
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
    for w in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {safe(w)}", soft_wrap=True)
    rejected = sum(f.rows_rejected for f in report.files)
    if rejected:
        console.print(f"[yellow]{rejected:,} rejected rows are in RAW.LOAD_REJECTS[/yellow]")


def print_seed(name: str, rows: int | None) -> None:
    if rows is None:
        console.print(f"[green]OK[/green] seed [bold]{esc(name)}[/bold] [dim]up to date (file unchanged)[/dim]")
    else:
        console.print(f"[green]OK[/green] seed [bold]{esc(name)}[/bold] rows={rows:,}")


def print_tables(ws: Any) -> None:
    table = Table(title=f"{ws.settings.database} tables")
    table.add_column("schema")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for schema, name, rows in ws.tables():
        table.add_row(esc(schema), esc(name), f"{rows:,}")
    console.print(table)


def print_validation(report: Any) -> None:
    table = Table(title=f"validate (invocation {report.invocation_id})")
    for col in ("suite", "expectation", "severity", "status", "unexpected", "failing sample"):
        table.add_column(col, justify="right" if col == "unexpected" else "left", overflow="fold")
    for r in report.results:
        style = STATUS_STYLE.get(r.status, "dim")
        sample = r.sample_json() if r.sample else r.message
        table.add_row(
            esc(r.suite),
            esc(r.expectation),
            esc(r.severity),
            f"[{style}]{esc(r.status)}[/{style}]",
            "-" if r.unexpected_count is None else f"{r.unexpected_count:,}",
            safe(sample[:160] + ("..." if len(sample) > 160 else "")),
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
        console.print(f"Data Docs: {esc(report.data_docs.as_uri())}", soft_wrap=True)
