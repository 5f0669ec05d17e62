"""`netflix-elt debug` and `netflix-elt clean`: look at the installation, tidy up after commands.

Thin commands over netflix_elt.diagnostics and netflix_elt.clean, registered on the main group by
netflix_elt.cli.
"""

from __future__ import annotations

from pathlib import Path

import click

from netflix_elt.cli.options import common_options
from netflix_elt.cli.output import console, esc, safe
from netflix_elt.errors import NetflixEltError

OPTION_ENV = {
    "project_dir": "NETFLIX_ELT_PROJECT_DIR",
    "target": "NETFLIX_ELT_TARGET",
    "profile": "NETFLIX_ELT_PROFILE",
}


def _given(ctx: click.Context) -> dict[str, str]:
    """How each option was passed: its flag on the command line, or the variable click read it from."""
    out = {}
    for param in ctx.command.params:
        if param.name is None or ctx.params.get(param.name) is None:
            continue
        src = ctx.get_parameter_source(param.name)
        if src == click.core.ParameterSource.COMMANDLINE:
            out[param.name] = f"command line {param.opts[0]}"
        elif src == click.core.ParameterSource.ENVIRONMENT:
            var = getattr(param, "envvar", None) or OPTION_ENV.get(param.name, "")
            out[param.name] = f"environment {var if isinstance(var, str) else var[0]}"
    return out


def _report(check: str, passed: bool, detail: str) -> None:
    mark = "[green]OK[/green]    " if passed else "[red]FAILED[/red]"
    console.print(f"  {check:<11} {mark} {safe(detail)}", soft_wrap=True)


@click.command()
@common_options
def debug(project_dir: Path | None, target: str | None, profile: str | None, debug: bool) -> None:
    """Show versions and settings (with where each came from), then check the config, the project,
    the landing and the connection (dbt debug). Stops at the first failed check, exiting with its code."""
    from netflix_elt import diagnostics as d
    from netflix_elt.config import CONFIG_FILE, load_settings

    given = _given(click.get_current_context())
    console.print("[bold]versions[/bold]")
    for name, version in d.versions():
        console.print(f"  {esc(name):<28} {esc(version)}")
    config_error: NetflixEltError | None = None
    try:
        settings = load_settings(project_dir, target=target, profile=profile)
    except NetflixEltError as e:
        config_error = e
    else:
        console.print("[bold]settings[/bold]")
        for s in d.describe_settings(settings, given):
            console.print(f"  {esc(s.name):<28} {safe(s.value)}  [dim]({esc(s.source)})[/dim]", soft_wrap=True)
    console.print("[bold]checks[/bold]")
    if config_error is not None:
        _report("config", False, str(config_error))
        raise d.failed("config", config_error)
    _report("config", True, str(settings.project_dir / CONFIG_FILE))
    d.run_checks(settings, _report)
    console.print("[green]All checks passed.[/green]")


@click.command()
@common_options
@click.option(
    "--warehouse",
    is_flag=True,
    help="Also remove the embedded engine's warehouse files (every table; `build` makes them again).",
)
def clean(project_dir: Path | None, target: str | None, profile: str | None, debug: bool, warehouse: bool) -> None:
    """Remove target/ (artifacts, compiled SQL, docs) and temporary files of exited runs (dbt clean).

    The warehouse is kept unless --warehouse (embedded engine only); the landing zone is never touched.
    """
    from netflix_elt.api import Workspace
    from netflix_elt.clean import clean as do_clean
    from netflix_elt.clean import kept_warehouse

    settings = Workspace.from_options(project_dir, target=target, profile=profile).settings
    removed = do_clean(settings, warehouse=warehouse)
    for r in removed:
        size = f" ({r.files:,} file{'s' if r.files != 1 else ''}, {r.bytes:,} bytes)" if r.files else ""
        console.print(f"[green]removed[/green] {esc(r.what)} {esc(r.path)}{size}", soft_wrap=True)
    if not removed:
        console.print("nothing to remove", soft_wrap=True)
    kept = kept_warehouse(settings)
    if kept is not None:
        console.print(f"[dim]kept the warehouse {esc(kept)} (`netflix-elt clean --warehouse` removes it)[/dim]",
                      soft_wrap=True)  # fmt: skip
