"""Options every command shares, the one error handler (dbt's exit codes) and one-line usage errors."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from netflix_elt.cli.events import output_options
from netflix_elt.cli.output import err_console, esc, print_error, safe, scrubbed_traceback
from netflix_elt.cli.params import Command, MultiValueOption, bind_envvars
from netflix_elt.errors import LockError, NetflixEltError


def lock_hint() -> str:
    """The way out of a held lock, naming only options the running command has."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and any(p.name == "lock_timeout" for p in ctx.command.params):
        return "--lock-timeout or [project] lock_timeout to wait longer"
    path = " ".join(["netflix-elt", *ctx.command_path.split()[1:]]) if ctx is not None else "this command"
    return f"`{path}` does not wait for the lock: run it again when that command has finished"


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """One error handler: a one-line message and dbt's exit code; the traceback only with --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = kwargs.get("debug", False)
        try:
            return func(*args, **kwargs)
        except NetflixEltError as e:
            if isinstance(e, LockError) and e.hint:
                e.hint = lock_hint()
            if debug:
                raise
            print_error(str(e), e.exit_code)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            err_console.print("[red]Interrupted[/red]")
            sys.exit(130)
        except BrokenPipeError:  # `netflix-elt ls | head`: the reader has gone, say nothing more
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)  # 128 + SIGPIPE, what a shell reports for a writer killed by one
        except Exception as e:  # a bug or an engine failure: still one line unless --debug
            if debug:
                raise
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            print_error(f"{type(e).__name__}: {first} (run with --debug for details)", 2)
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
    return handle_errors(output_options(with_options(func, options)))


def with_options(func: Callable[..., Any], options: list[Callable[..., Any]]) -> Callable[..., Any]:
    """Apply click options so that --help lists them in the order given."""
    for opt in reversed(options):
        func = opt(func)
    return func


def lock_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--lock-timeout for commands that write the warehouse (the API takes the lock)."""
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(min=0),
        default=None,
        help="Seconds to wait for another netflix-elt writing to the warehouse (default: 60).",
    )(func)


def output_option(help: str, choices: tuple[str, ...] = ("text", "json"), default: str = "text") -> Callable[..., Any]:
    """--output/-o: how a command prints what it found (text for people, json for scripts)."""
    return click.option(
        "--output",
        "-o",
        type=click.Choice(choices, case_sensitive=False),
        default=default,
        show_default=True,
        help=help,
    )


SELECTORS_HELP = (
    "dbt selectors, several after one -s: name, +name / name+ (all upstream / downstream), 2+name / name+1 "
    "(that many edges), @name, a,b (both), layer:L, tag:T, path:DIR, source:S, kind:K, materialized:M, "
    "state:modified / state:new (against --state, or this target's last build)."
)
STATE_DIR = "netflix_elt.state_dir"  # ctx.meta key: --state DIR, read by workspace()


def _keep_state_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[STATE_DIR] = value


def selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--select/-s and --exclude, each taking several values (`-s a b c`) as dbt's do."""
    options = [
        click.option("--select", "-s", "select_", cls=MultiValueOption, metavar="SELECTOR...", help=SELECTORS_HELP),
        click.option(
            "--exclude", cls=MultiValueOption, metavar="SELECTOR...", help="Selectors to leave out (same syntax)."
        ),
        click.option(
            "--state",
            type=click.Path(path_type=Path),
            default=None,
            expose_value=False,
            callback=_keep_state_dir,
            metavar="DIR",
            help="dbt-style artifacts (a target/ with manifest.json) that state:modified compares with.",
        ),
    ]
    return with_options(func, options)


def workspace(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    threads: int | None = None,
    lock_timeout: float | None = None,
):
    from netflix_elt.api import Workspace

    ws = Workspace.from_options(project_dir, target=target, profile=profile, threads=threads)
    ws.caller, ws.lock_timeout = "netflix-elt", lock_timeout
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get(STATE_DIR) is not None:
        from netflix_elt.change.state import ManifestState

        ws.selection_state = ManifestState(ctx.meta[STATE_DIR])  # a bad folder or file: exit 2, naming it
    ws.notify = lambda msg: err_console.print(f"[dim]{esc(msg)}[/dim]", soft_wrap=True)
    return ws


class OneLineUsageErrors(click.Group):
    """Usage errors (unknown flag, bad value) as one line, like every other error.

    click would print the usage, a hint and the error on three lines; exit code 2 is kept. Its
    commands (and sub-groups) are :class:`Command`s: multi-value selectors, NETFLIX_ELT_<OPTION>.
    """

    command_class = Command
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_envvars(self.params)  # options of the group itself (`netflix-elt --flag cmd`), if any

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """A command made elsewhere (`click.command()` then `main.add_command`) gets its variables too."""
        bind_envvars(cmd.params)
        super().add_command(cmd, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The process's entry (console script, `python -m netflix_elt`); `CliRunner` calls `main`."""
        from netflix_elt.cli.gc_tuning import tune_for_command
        from netflix_elt.huge_pages import keep_off_huge_pages

        if not args and not kwargs:  # the console script: a warm process runs the command if there is one
            from netflix_elt.warm.client import delegate

            code = delegate()
            if code is not None:
                sys.exit(code)
        tune_for_command()
        keep_off_huge_pages()
        return super().__call__(*args, **kwargs)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from netflix_elt.tempfiles import process_scope

        if kwargs.get("standalone_mode", True) is False:
            with process_scope():
                return super().main(*args, **kwargs)
        # an exception reaching here is a --debug one (handle_errors printed every other)
        try:
            with process_scope():
                rv = super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.ClickException as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # bare `netflix-elt`: the help, as click shows it
                e.show()
                sys.exit(e.exit_code)
            where = f" (see `{e.ctx.command_path} --help`)" if getattr(e, "ctx", None) else ""
            err_console.print(f"[red]Error:[/red] {safe(e.format_message())}{where}", soft_wrap=True)
            sys.exit(e.exit_code)
        except click.Abort:
            err_console.print("[red]Interrupted[/red]")
            sys.exit(130)
        except Exception as e:  # --debug: the traceback, scrubbed, and the same exit code as without it
            sys.stderr.write(scrubbed_traceback(e))
            sys.exit(e.exit_code if isinstance(e, NetflixEltError) else 2)
        sys.exit(rv if isinstance(rv, int) else 0)
