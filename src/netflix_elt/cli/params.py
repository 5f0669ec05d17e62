"""Click plumbing every command shares: dbt's multi-value options and NETFLIX_ELT_<OPTION> variables.

click takes one value per occurrence of an option; dbt users type `-s a b c`. :class:`Command`
rewrites the words after a :class:`MultiValueOption` into one occurrence each before click parses
them, so `-s a b --full-refresh` is `-s a -s b --full-refresh`. It also gives every option an
environment variable named after its long flag (`--lock-timeout`: NETFLIX_ELT_LOCK_TIMEOUT), shown
in `--help`, as dbt's DBT_<FLAG> variables: a flag on the command line still beats the variable.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any

import click
from click.core import ParameterSource

ENV_PREFIX = "NETFLIX_ELT"


class MultiValueOption(click.Option):
    """An option that takes every following word up to the next option (`--select a b c`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["multiple"] = True
        super().__init__(*args, **kwargs)


def envvar_of(option: click.Option) -> str:
    """NETFLIX_ELT_ and the option's longest flag: `--project-dir` -> NETFLIX_ELT_PROJECT_DIR."""
    flag = max(option.opts, key=len).lstrip("-")
    return f"{ENV_PREFIX}_{flag.upper().replace('-', '_')}"


def spread_values(args: Sequence[str], multi_opts: set[str]) -> list[str]:
    """`-s a b -x` -> `-s a -s b -x`: each word after a multi-value option becomes one occurrence."""
    out: list[str] = []
    current: str | None = None  # the multi-value option whose words are being read
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        if current is not None and not arg.startswith("-"):
            out += [current, arg]
        elif arg in multi_opts and i + 1 < len(args):
            current = arg
            out += [arg, args[i + 1]]  # its first value, whatever it looks like (click's rule)
            i += 1
        elif arg.startswith("--") and arg.split("=", 1)[0] in multi_opts:
            current = arg.split("=", 1)[0]
            out.append(arg)
        elif not arg.startswith("--") and arg[:2] in multi_opts and len(arg) > 2:
            current = arg[:2]  # -sdim
            out.append(arg)
        else:
            current = None
            out.append(arg)
        i += 1
    return out


def bind_envvars(params: Sequence[click.Parameter]) -> None:
    """Give each option (not --help/--version, which act at once) its NETFLIX_ELT_ variable, shown in --help."""
    for param in params:
        if isinstance(param, click.Option) and param.envvar is None and not param.is_eager:
            param.envvar = envvar_of(param)
            param.show_envvar = True
            param.get_error_hint = types.MethodType(_error_hint, param)  # type: ignore[method-assign]


def _error_hint(self: click.Option, ctx: click.Context | None) -> str:
    """'--limit' / '-n' in a usage error, and the variable only when the bad value came from it."""
    hint = click.Parameter.get_error_hint(self, ctx)
    if ctx is not None and self.name and ctx.get_parameter_source(self.name) == ParameterSource.ENVIRONMENT:
        hint += f" (from ${self.envvar})"
    return hint


class Command(click.Command):
    """A netflix-elt command: multi-value options spread, every option readable from the environment."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_envvars(self.params)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        multi = {o for p in self.params if isinstance(p, MultiValueOption) for o in p.opts}
        return super().parse_args(ctx, spread_values(args, multi))


class ExtractSource(click.ParamType):
    """`extract --source`: synthetic, grouplens:<dataset> or an existing folder, checked before anything
    is written (a typo is a usage error, exit 2, with a did-you-mean)."""

    name = "source"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from pathlib import Path

        from netflix_elt.movielens.grouplens import DATASETS
        from netflix_elt.suggest import did_you_mean

        text = str(value).strip()
        known = ["synthetic", *(f"grouplens:{d}" for d in DATASETS)]
        if text in known or Path(text).expanduser().is_dir():
            return text
        hint = did_you_mean(text, known)
        if text.startswith("grouplens:"):
            self.fail(f"unknown GroupLens dataset {text!r}{hint} (one of: {', '.join(known[1:])})", param, ctx)
        self.fail(f"{text!r} is neither 'synthetic', 'grouplens:<dataset>' nor an existing folder{hint}", param, ctx)


class Scale(click.ParamType):
    """`extract --scale`: small, 500k, 2m, 20m or a number of ratings (movielens.scale.parse_scale)."""

    name = "scale"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from netflix_elt.errors import NetflixEltError
        from netflix_elt.movielens.scale import parse_scale

        try:
            parse_scale(str(value))
        except NetflixEltError as e:
            self.fail(str(e), param, ctx)
        return str(value)


class ByteSize(click.ParamType):
    """`extract --split-size`: bytes, or a number with KB, MB, GB (KiB, MiB, GiB); 0 never splits."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from netflix_elt.ingest.landing.split import parse_size

        try:
            return parse_size(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)
