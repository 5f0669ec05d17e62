"""`netflix-elt warm start|stop|status`: the warm process that spares each command its imports
(netflix_elt.warm); registered on the main group by netflix_elt.cli."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from netflix_elt.cli.options import OneLineUsageErrors, common_options
from netflix_elt.cli.output import console, esc, print_error

T = TypeVar("T")


@click.group(name="warm", cls=OneLineUsageErrors)  # its commands get NETFLIX_ELT_<OPTION> too
def warm_group() -> None:
    """Keep a process that has imported GX, Snowpark and the emulator (~4 s of every command's start),
    so that each command starts as a fork of it. Off until `warm start`; NETFLIX_ELT_WARM=0 ignores it."""


@warm_group.command(name="start")
@common_options
@click.option(
    "--idle-minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    show_default="60",
    help="Exit after this many minutes without a command.",
)
def warm_start(
    project_dir: Path | None, target: str | None, profile: str | None, debug: bool, idle_minutes: float | None
) -> None:
    """Start the warm process for this installation (nothing happens if a current one runs). It serves
    every project and target: --project-dir, --target and --profile are the later commands' own."""
    from netflix_elt.warm import IDLE_MINUTES, socket_path
    from netflix_elt.warm.client import start

    began = time.perf_counter()
    info = _or_exit(lambda: start(idle_minutes or IDLE_MINUTES))
    what = "already running" if info.get("already") else f"started in {time.perf_counter() - began:.1f} s"
    console.print(
        f"warm process {what} (pid {info['pid']}, socket {esc(str(socket_path()))}); commands now start "
        "from it. `netflix-elt warm stop` ends it.",
        soft_wrap=True,
    )


@warm_group.command(name="stop")
@common_options
def warm_stop(project_dir: Path | None, target: str | None, profile: str | None, debug: bool) -> None:
    """Stop the warm process; commands start on their own again."""
    from netflix_elt.warm.client import stop

    pid = _or_exit(stop)
    console.print("no warm process runs" if pid is None else f"stopped the warm process (pid {pid})")


@warm_group.command(name="status")
@common_options
def warm_status(project_dir: Path | None, target: str | None, profile: str | None, debug: bool) -> None:
    """Whether a warm process runs, since when, and how many requests it served. Exits 1 when none runs."""
    from netflix_elt.warm.client import status

    info = _or_exit(status)
    if info is None:
        console.print("no warm process runs (`netflix-elt warm start` starts one)")
        sys.exit(1)
    age = time.time() - float(info["started"])
    state = "current" if info["current"] else "stale: the installation changed; the next command stops it"
    console.print(f"warm process pid {info['pid']}, up {age / 60:.1f} min, {info['requests']} requests served, {state}")


def _or_exit(call: Callable[[], T]) -> T:
    """The call's answer; an unsafe socket folder or a warm process that would not start is the
    command's error (exit 1)."""
    from netflix_elt.warm import WarmDirError
    from netflix_elt.warm.client import WarmError

    try:
        return call()
    except (WarmDirError, WarmError) as e:
        print_error(str(e), 1)  # on stderr, as every command's error
        sys.exit(1)
