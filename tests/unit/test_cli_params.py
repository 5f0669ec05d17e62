"""dbt's `-s a b c`: words after a multi-value option are its values, up to the next option."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from netflix_elt.cli.params import Command, MultiValueOption, envvar_of, spread_values

MULTI = {"-s", "--select", "--exclude"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-s", "a", "b", "c"], ["-s", "a", "-s", "b", "-s", "c"]),
        (["-s", "a", "b", "--full-refresh"], ["-s", "a", "-s", "b", "--full-refresh"]),
        (["--select", "a", "--exclude", "b", "c"], ["--select", "a", "--exclude", "b", "--exclude", "c"]),
        (["--select=a", "b"], ["--select=a", "--select", "b"]),
        (["-sa", "b"], ["-sa", "-s", "b"]),
        (["-s", "a", "--", "b"], ["-s", "a", "--", "b"]),  # after --: positional, untouched
        (["--threads", "2", "a"], ["--threads", "2", "a"]),  # other options keep click's rules
        (["-s", "a", "-t", "prod", "b"], ["-s", "a", "-t", "prod", "b"]),
        (["-s"], ["-s"]),  # click reports the missing value
        (["show", "x"], ["show", "x"]),
    ],
)
def test_spread_values(args: list[str], expected: list[str]) -> None:
    assert spread_values(args, MULTI) == expected


@click.command(cls=Command)
@click.option("--select", "-s", "select_", cls=MultiValueOption)
@click.option("--exclude", cls=MultiValueOption)
@click.option("--full-refresh", is_flag=True)
@click.option("--lock-timeout", type=float)
def probe(select_: tuple[str, ...], exclude: tuple[str, ...], full_refresh: bool, lock_timeout: float | None) -> None:
    click.echo(f"{list(select_)}|{list(exclude)}|{full_refresh}|{lock_timeout}")


@pytest.mark.parametrize(
    ("args", "env", "out"),
    [
        (["-s", "a", "b", "--full-refresh", "--exclude", "c", "d"], {}, "['a', 'b']|['c', 'd']|True|None"),
        (["-s", "a", "-s", "b"], {}, "['a', 'b']|[]|False|None"),  # repeating still works
        ([], {"NETFLIX_ELT_SELECT": "a b", "NETFLIX_ELT_FULL_REFRESH": "1"}, "['a', 'b']|[]|True|None"),
        (["-s", "x"], {"NETFLIX_ELT_SELECT": "a b", "NETFLIX_ELT_LOCK_TIMEOUT": "2.5"}, "['x']|[]|False|2.5"),
    ],
)
def test_parsed_values(args: list[str], env: dict[str, str], out: str) -> None:
    res = CliRunner().invoke(probe, args, env=env)
    assert res.exit_code == 0, res.output
    assert res.output.strip() == out


def test_a_stray_word_after_another_option_is_still_an_error() -> None:
    res = CliRunner().invoke(probe, ["--full-refresh", "stray"])
    assert res.exit_code == 2 and "unexpected extra argument (stray)" in res.output


def test_envvar_names() -> None:
    assert [envvar_of(p) for p in probe.params] == [
        "NETFLIX_ELT_SELECT",
        "NETFLIX_ELT_EXCLUDE",
        "NETFLIX_ELT_FULL_REFRESH",
        "NETFLIX_ELT_LOCK_TIMEOUT",
    ]
    assert all(p.envvar == envvar_of(p) for p in probe.params)
