"""`netflix-elt diff` and `netflix-elt clone`: thin commands over netflix_elt.change, registered
on the main group by netflix_elt.cli (`--defer` is an option of run and build)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from netflix_elt.cli import events
from netflix_elt.cli.options import common_options, lock_option, output_option, selection_options, workspace
from netflix_elt.cli.output import console, esc
from netflix_elt.cli.params import Command
from netflix_elt.errors import ConfigError

DEFER_HELP = "Read unselected inputs not built here from TARGET (dbt's defer)."


def defer_option(func: Any) -> Any:
    return click.option("--defer", "defer", default=None, metavar="TARGET", help=DEFER_HELP)(func)


def check_defer(settings: Any, defer: str | None) -> None:
    """An unknown or same --defer target fails before the engine starts (and before build's load)."""
    if defer is not None:
        from netflix_elt.change.defer import Defer

        Defer.to(settings, defer, ())


@click.command(cls=Command)
@common_options
@click.argument("node")
@click.option("--against", required=True, metavar="TARGET", help="The target to compare with (e.g. prod).")
@output_option("text, or one JSON object (the keys of docs/cli.md) on stdout.")
@click.option("--fail-on-diff", is_flag=True, help="Exit 1 when the two sides differ (for CI).")
@click.option("--sample", default=5, show_default=True, type=click.IntRange(min=0), help="Sample rows of each kind.")
def diff(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    node: str,
    against: str,
    output: str,
    fail_on_diff: bool,
    sample: int,
) -> None:
    """Compare NODE's table in --target with --against's (SQLMesh's table_diff), in SQL on the engine:
    rows on each side, keys only on one side, changed rows and columns, a few samples of each."""
    from netflix_elt.change.diff import table_diff

    with workspace(project_dir, target, profile) as ws, ws.locked("diff", wait=False):
        result = table_diff(ws, node, against, sample=sample)
    if output.lower() == "json":
        click.echo(json.dumps(result.to_dict(), default=str))
    else:
        print_diff(result)
    if fail_on_diff and result.differs:
        sys.exit(1)


def print_diff(d: Any) -> None:
    l_, r_ = d.left_target, d.right_target
    console.print(f"[bold]diff {esc(d.node)}[/bold]: {esc(l_)} {esc(d.left)} against {esc(r_)} {esc(d.right)}",
                  soft_wrap=True)  # fmt: skip
    console.print(f"key: {esc(', '.join(d.key))} ({esc(d.key_source)})", soft_wrap=True)
    table = Table(title=None)
    for col in ("", l_, r_):
        table.add_column(esc(col), justify="right" if col else "left")
    table.add_row("rows", f"{d.left_rows:,}", f"{d.right_rows:,}")
    table.add_row("keys only here", f"{d.only_left:,}", f"{d.only_right:,}")
    table.add_row("keys in both", f"{d.matched:,}", f"{d.matched:,}")
    table.add_row("of which changed", f"{d.changed:,}", f"{d.changed:,}")
    console.print(table)
    for side, cols in ((l_, d.columns_only_left), (r_, d.columns_only_right)):
        if cols:
            console.print(f"columns only in {esc(side)}: {esc(', '.join(cols))}", soft_wrap=True)
    for col, (lt, rt) in d.type_changes.items():
        console.print(f"column {esc(col)} is {esc(lt)} in {esc(l_)}, {esc(rt)} in {esc(r_)}", soft_wrap=True)
    for side, n in d.duplicate_keys.items():
        name = l_ if side == "left" else r_
        console.print(f"[yellow]warning:[/yellow] {n:,} rows of {esc(name)} repeat a key: counts are of "
                      "joined pairs", soft_wrap=True)  # fmt: skip
    if d.column_changes:
        console.print("changed values per column: " + ", ".join(f"{esc(c)} {n:,}" for c, n in d.column_changes.items()),
                      soft_wrap=True)  # fmt: skip
    titles = {"only_left": f"only in {l_}", "only_right": f"only in {r_}", "changed": f"changed ({l_}, {r_})"}
    for kind, rows in d.samples.items():
        console.print(f"[dim]sample {esc(titles[kind])}:[/dim]")
        for row in rows:
            console.print("  " + esc(json.dumps(row, default=str)), soft_wrap=True)
    verdict = "differ" if d.differs else "are identical"
    console.print(f"{'[yellow]' if d.differs else '[green]'}{esc(l_)} and {esc(r_)} {verdict}[/]", soft_wrap=True)


@click.command(name="clone", cls=Command)  # Command: multi-value -s/--exclude
@common_options
@lock_option
@selection_options
@click.option("--from", "from_target", default=None, metavar="TARGET", help="The target to clone from (required).")
@click.option("--to", "to_target", default=None, metavar="TARGET", help="The target to clone into (default --target).")
def clone_(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    lock_timeout: float | None,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
    from_target: str | None,
    to_target: str | None,
) -> None:
    """Copy the selected tables, views and their build state from --from into --to (zero-copy CLONE
    on Snowflake), so that a build there skips what is up to date (sources and snapshots are shared)."""
    from netflix_elt.change.clone import clone

    if target and to_target and target.lower() != to_target.lower():
        raise ConfigError(f"--to {to_target!r} and --target {target!r} name different targets; give one")
    with workspace(project_dir, to_target or target, profile, lock_timeout=lock_timeout) as ws:
        ws.selected(select_, exclude, ("seed", "transform"))  # validate before starting the engine
        if not from_target:
            raise ConfigError("clone needs --from TARGET: the target to clone from (e.g. --from prod)")
        report = clone(ws, from_target, select_, exclude)
    how = "zero-copy CLONE" if report.zero_copy else "copy (the embedded engine has no zero-copy clone)"
    for c in report.cloned:
        what = "cloned" if c.kind == "table" else "recreated view"
        note = f" (reads {', '.join(sorted(c.deferred))} from {report.source_target})" if c.deferred else ""
        events.emit(
            "cloned", node=c.name, status="success", message=f"{what} {c.target} from {c.source}{note}",
            data={"kind": c.kind, "source": c.source, "target": c.target, "deferred": c.deferred},
            text=lambda c=c, what=what, note=note: console.print(
                f"[green]{what}[/green] {esc(c.target)} from {esc(c.source)}{esc(note)}", soft_wrap=True),
        )  # fmt: skip
    for name, why in report.skipped.items():
        line = f"[yellow]skipped[/yellow] {esc(name)}: {esc(why)}"
        events.emit("clone_skipped", level="warn", node=name, status="skipped", message=why,
                    text=lambda line=line: console.print(line, soft_wrap=True))  # fmt: skip
    summary = f"cloned {len(report.cloned)} from {report.source_target} into {report.target} by {how}"
    events.emit("summary", message=summary, data={"cloned": len(report.cloned), "skipped": len(report.skipped)},
                text=lambda: console.print(esc(summary), soft_wrap=True))  # fmt: skip
