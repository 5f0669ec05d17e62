"""What a command reports, as events: shown as text lines or, with `--log-format json`, as one JSON object each.

Every progress line, failure and summary of a command goes through `emit`, so `--quiet`,
`--log-level` and `--log-format` filter and shape all of them in one place. A JSON event always
carries the same keys (`KEYS`, documented in docs/output.md): tools parse them without guessing.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click

LEVELS = ("debug", "info", "warn", "error")
FORMATS = ("text", "json")
KEYS = ("ts", "level", "event", "node", "status", "elapsed", "message", "data")
# shown by --quiet whatever their level: the closing summary of a command
SUMMARY_EVENTS = frozenset({"finished", "summary"})


@dataclass
class LogSettings:
    """How this invocation reports: the lowest level shown, text or JSON, and --quiet."""

    level: str = "info"
    fmt: str = "text"
    quiet: bool = False

    def shows(self, level: str, event: str) -> bool:
        """--log-level is the lowest level shown; --quiet raises it to warn for all but the summary."""
        lowest = self.level
        if self.quiet and event not in SUMMARY_EVENTS:
            lowest = max(lowest, "warn", key=LEVELS.index)
        return LEVELS.index(level) >= LEVELS.index(lowest)

    @property
    def json(self) -> bool:
        return self.fmt == "json"


LOG = LogSettings()


def reset() -> None:
    """Back to the defaults: one process (a test's CliRunner) runs many commands."""
    LOG.level, LOG.fmt, LOG.quiet = "info", "text", False
    _route_text()
    logger = logging.getLogger("netflix_elt")
    logger.setLevel(logging.NOTSET)
    if not any(isinstance(h, _EventHandler) for h in logger.handlers):
        logger.addHandler(_EventHandler())


class _EventHandler(logging.Handler):
    """The framework's log records (an undeclared seed file, ...) as events of the command: a
    `warning:` line on stderr, or a JSON `log` event, filtered by --quiet/--log-level like the rest.
    Installed by the CLI only: a notebook importing netflix_elt keeps its own logging set-up."""

    _LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error"}

    def emit(self, record: logging.LogRecord) -> None:
        level = self._LEVELS.get(record.levelno, "error" if record.levelno > logging.ERROR else "debug")
        message = record.getMessage()

        def text() -> None:
            from netflix_elt.cli.output import err_console, esc

            label = {"warn": "warning", "debug": "debug", "error": "error"}.get(level)
            err_console.print(f"[yellow]{label}:[/yellow] {esc(message)}" if label else esc(message))

        emit("log", level=level, message=message, data={"logger": record.name}, text=text)


def _route_text() -> None:
    """In JSON mode stdout carries only events; any other text a command prints goes to stderr."""
    from netflix_elt.cli.output import console

    console.stderr = LOG.json


def emit(
    event: str,
    *,
    level: str = "info",
    node: str | None = None,
    status: str | None = None,
    elapsed: float | None = None,
    message: str = "",
    data: dict[str, Any] | None = None,
    text: Callable[[], None] | None = None,
) -> None:
    """Report one event: `text()` prints it for people; in JSON mode the fields are written instead."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    if not LOG.shows(level, event):
        return
    if LOG.json:
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "event": event,
            "node": node,
            "status": status,
            "elapsed": None if elapsed is None else round(elapsed, 4),
            "message": _scrub(message),
            "data": data or {},
        }
        click.echo(json.dumps(record, default=str), file=sys.stdout)
    elif text is not None:
        text()


def _scrub(message: str) -> str:
    from netflix_elt.connections import scrub

    return scrub(message)


# click options ---------------------------------------------------------------------------------
def _set(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        setattr(LOG, attr, value.lower() if isinstance(value, str) else value)
        _route_text()
        if attr == "level":  # the framework's debug records (session opened, ...) reach the handler
            logging.getLogger("netflix_elt").setLevel(logging.DEBUG if LOG.level == "debug" else logging.NOTSET)

    return callback


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--quiet, --log-level and --log-format: set for the invocation, not passed to the command."""
    options = [
        click.option(
            "--quiet",
            "-q",
            is_flag=True,
            expose_value=False,
            is_eager=True,
            envvar="NETFLIX_ELT_QUIET",
            show_envvar=True,
            callback=_set("quiet"),
            help="Print only failures, warnings and the closing summary.",
        ),
        click.option(
            "--log-level",
            type=click.Choice(LEVELS, case_sensitive=False),
            default="info",
            show_default=True,
            expose_value=False,
            is_eager=True,
            envvar="NETFLIX_ELT_LOG_LEVEL",
            show_envvar=True,
            callback=_set("level"),
            help="Lowest level of event shown (debug adds detail, error shows only errors).",
        ),
        click.option(
            "--log-format",
            type=click.Choice(FORMATS, case_sensitive=False),
            default="text",
            show_default=True,
            expose_value=False,
            is_eager=True,
            envvar="NETFLIX_ELT_LOG_FORMAT",
            show_envvar=True,
            callback=_set("fmt"),
            help="text, or json: one JSON object per event on stdout (keys in docs/output.md).",
        ),
    ]
    for opt in reversed(options):
        func = opt(func)
    return func
