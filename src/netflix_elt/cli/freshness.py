"""`netflix-elt source freshness [-s source:x]`: each source's newest load, its age and status (dbt's).

Writes target/sources.json (dbt's sources v3) and exits 1 when a source is past error_after or
cannot be read, 0 otherwise (a warn only shows), as `dbt source freshness` does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from netflix_elt.cli.options import OneLineUsageErrors, common_options, selection_options, workspace
from netflix_elt.cli.output import console, esc
from netflix_elt.errors import ConfigError


def then_warn_stale(
    on_load: Callable[[Any], None], ws: Any, select_: Sequence[str], exclude: Sequence[str]
) -> Callable[[Any], None]:
    """`build`'s after-load step: the load's table, then one warning per stale source it reads."""

    def after(report: Any) -> None:
        from netflix_elt.freshness import warn_stale

        on_load(report)
        warn_stale(ws, select_, exclude)

    return after


STYLES = {"pass": "green", "warn": "yellow", "error": "red", "runtime error": "red"}


@click.group(name="source", cls=OneLineUsageErrors)  # its commands are Commands: NETFLIX_ELT_<OPTION> too
def source_group() -> None:
    """Commands about the RAW sources."""


@source_group.command(name="freshness")
@common_options
@selection_options
def freshness(
    project_dir: Path | None,
    target: str | None,
    profile: str | None,
    debug: bool,
    select_: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """How long ago each source with `freshness` in its [sources.X] section last got rows.

    Status: pass, warn (older than warn_after), error (older than error_after) or runtime error
    (the table or column cannot be read). Exit 1 on error or runtime error.
    """
    from netflix_elt.cli.events import LOG, emit
    from netflix_elt.freshness import age_text, freshness_sources, source_freshness

    with workspace(project_dir, target, profile) as ws:
        if not freshness_sources(ws, select_, exclude):
            config = ws.settings.project_dir / "config" / "netflix_elt.toml"
            which = "no selected source" if select_ else "no source"
            raise ConfigError(
                f'{which} declares freshness: add e.g. freshness = {{ warn_after = "2 days", error_after = '
                f'"7 days", field = "_LOADED_AT" }} to a [sources.X] section of {config}'
            )
        report = source_freshness(ws, select_, exclude)
        sources = ws.settings.config.sources

        def table() -> None:
            t = Table(title="source freshness")
            for col in ("source", "max loaded at (UTC)", "age", "warn after", "error after", "status"):
                t.add_column(col)
            for name, r in zip(report.names, report.results, strict=True):
                cfg = sources[name].freshness
                assert cfg is not None
                field = f"{cfg.field}: " if cfg.field != "_LOADED_AT" else ""
                shown = r.error if r.status == "runtime error" else f"{field}{(r.max_loaded_at or '')[:19]}"
                age = "" if r.status == "runtime error" else age_text(r.age_seconds)
                t.add_row(
                    esc(name),
                    esc(shown or ""),
                    age,
                    cfg.warn_after or "",
                    cfg.error_after or "",
                    Text(r.status.upper(), style=STYLES[r.status]),
                )
            console.print(t)

        if LOG.json:
            for name, r in zip(report.names, report.results, strict=True):
                level = {"pass": "info", "warn": "warn"}.get(r.status, "error")
                emit("source_freshness", level=level, node=name, status=r.status, message=r.error or r.status,
                     data=r.row())  # fmt: skip
        else:
            table()
        emit("artifact", message=str(report.path), data={"path": str(report.path)},
             text=lambda: console.print(f"Wrote {esc(str(report.path))}", soft_wrap=True))  # fmt: skip
        if report.worst in ("error", "runtime error"):
            sys.exit(1)
