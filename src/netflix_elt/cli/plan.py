"""`netflix-elt plan`: what `build` would do to each selected node and why (netflix_elt.change.plan)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.text import Text

from netflix_elt.cli.options import common_options, output_option, selection_options, workspace
from netflix_elt.cli.output import console, emit_text, esc
from netflix_elt.cli.params import Command

MARK = {"build": "[yellow]build[/yellow]", "up to date": "[green]ok[/green]   "}


@click.command(cls=Command)
@common_options
@selection_options
@output_option("text, or one JSON document (the nodes, their reasons, diffs and the summary) on stdout.")
@click.option("--fail-on-changes", is_flag=True, help="Exit 1 when anything would be built (for CI).")
def plan(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
    output: str,
    fail_on_changes: bool,
) -> None:
    """Show what `build` would do to each selected node and why, changing nothing.

    For each node: new, code changed (a diff of its SQL against the one built, breaking when a
    column is removed or retyped), upstream changed, new source loads, or up to date; the
    downstream each change forces; a summary. Exits 0, or 1 with --fail-on-changes when
    anything would be built.
    """
    from netflix_elt.change.plan import plan as make_plan

    with workspace(project_dir, target, profile) as ws:
        result = make_plan(ws, select_, exclude)
    if output.lower() == "json":
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        for n in result.nodes:
            why = n.reason if n.action == "build" else n.detail
            if n.category:
                why += f" ({n.category})"
            line = f"{MARK[n.action]} {esc(n.name)} [dim]{esc(n.kind)}, {esc(n.materialized)}[/dim]: {esc(why)}"
            if n.action == "build" and n.detail:
                line += f"; {esc(n.detail)}"
            if n.how:
                line += f" [dim]-> {esc(n.how)}[/dim]"
            console.print(line, soft_wrap=True, highlight=False)
            if n.forces:
                console.print(f"        forces: {esc(', '.join(n.forces))}", soft_wrap=True, highlight=False)
            if n.diff:
                for d in n.diff.splitlines():
                    style = "green" if d.startswith("+") else "red" if d.startswith("-") else "dim"
                    emit_text(Text("        " + d, style=style))
        console.print(f"[bold]plan for target {esc(result.target)}:[/bold] {esc(result.summary())}", soft_wrap=True)
    if fail_on_changes and result.changes:
        sys.exit(1)
