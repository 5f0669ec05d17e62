"""`netflix-elt gx generate` / `gx check`: the GX project folder `gx/` from `expectations/*.yml`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from netflix_elt.cli.options import OneLineUsageErrors, common_options, workspace
from netflix_elt.cli.output import console, esc


@click.group(name="gx", cls=OneLineUsageErrors)  # its commands are Commands: NETFLIX_ELT_<OPTION> too
def gx_group() -> None:
    """The file-backed GX project gx/ (suites as GX JSON, for GX's tools), made from expectations/."""


def _suites(project_dir: Path | None, target: str | None, profile: str | None) -> tuple[Path, list]:
    from netflix_elt.quality.suites import load_suites

    ws = workspace(project_dir, target, profile)
    root = ws.settings.project_dir
    return root, load_suites(ws.settings, ws.project, gx_check=False)


@gx_group.command(name="generate")
@common_options
def gx_generate(project_dir: Path | None, target: str | None, profile: str | None, debug: bool) -> None:
    """Write gx/ from expectations/*.yml (the source of truth); only changed files are written."""
    from netflix_elt.quality.gx_project import GX_DIR, write_gx_project

    root, suites = _suites(project_dir, target, profile)
    written = write_gx_project(suites, root)
    for path in written:
        console.print(f"[green]wrote[/green] {esc(path.relative_to(root).as_posix())}", soft_wrap=True)
    console.print(f"{len(suites)} suites in {esc(GX_DIR)}/, {len(written)} files changed", soft_wrap=True)


@gx_group.command(name="check")
@common_options
def gx_check(project_dir: Path | None, target: str | None, profile: str | None, debug: bool) -> None:
    """Exit 1 when gx/ and expectations/*.yml differ (run `netflix-elt gx generate`)."""
    from netflix_elt.quality.gx_project import GX_DIR, drift

    root, suites = _suites(project_dir, target, profile)
    problems = drift(suites, root)
    for line in problems:
        console.print(f"[red]drift[/red] {esc(line)}", soft_wrap=True)
    if problems:
        console.print("run `netflix-elt gx generate` (expectations/*.yml is the source of truth)", soft_wrap=True)
        sys.exit(1)
    console.print(f"[green]ok[/green] {esc(GX_DIR)}/ matches expectations/ ({len(suites)} suites)", soft_wrap=True)
