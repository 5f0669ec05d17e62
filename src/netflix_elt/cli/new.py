"""`netflix-elt new DIR`: a new project folder holding the MovieLens example (netflix_elt.scaffold).

Named `new`, not `init --example`: `init` creates the database and schemas of an existing
project (it reads config/netflix_elt.toml), whereas this writes the project files themselves and
touches no warehouse.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from netflix_elt.cli.options import handle_errors
from netflix_elt.cli.output import console, esc
from netflix_elt.errors import ConfigError


@click.command(name="new")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@handle_errors
def new(directory: Path, debug: bool) -> None:
    """Write the MovieLens example project into a new folder.

    DIRECTORY must be new or empty; it gets config/, transforms/, expectations/, seeds/,
    dashboards/ and gx/, the project this repository builds. Then, inside it: `netflix-elt extract --source synthetic`
    lands data and `netflix-elt build` builds the warehouse.
    """
    from netflix_elt.scaffold import EXAMPLE_FOLDERS, ScaffoldError, new_project

    try:
        files = new_project(directory)
    except ScaffoldError as e:
        raise ConfigError(str(e)) from None
    folders = ", ".join(f"{name}/" for name in EXAMPLE_FOLDERS)
    console.print(f"Wrote {len(files)} files into {esc(str(directory))} ({folders})", soft_wrap=True)
    console.print("Next:", soft_wrap=True)
    for line in (
        f"cd {shlex.quote(str(directory))}",
        "netflix-elt extract --source synthetic --scale small   # data into .netflix_elt/landing",
        "netflix-elt build                                      # load, seed, run, snapshot, validate",
        "netflix-elt show dim_movies",
    ):
        console.print(f"  {esc(line)}", soft_wrap=True)
