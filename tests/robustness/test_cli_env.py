"""NETFLIX_ELT_<OPTION>: every option of every command reads its variable, and `--help` shows it.

The command line beats the variable; a bad value from a variable is a usage error (exit 2) naming
the variable. The settings that are not options (NETFLIX_ELT_HOME, NETFLIX_ELT_TARGET_PATH) are
named in the group's help.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from netflix_elt.cli import main
from tests.conftest import PROJECT_DIR
from tests.robustness.test_cli_walk import commands


def cli(*args: str, **env: str) -> Result:
    return CliRunner().invoke(main, [*args, "--project-dir", str(PROJECT_DIR)], env=env)


def listed(res: Result) -> set[str]:
    """Node names in the first column of `ls`'s table."""
    names = set()
    for line in res.output.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells and cells[0] and cells[0].replace("_", "").isalnum() and cells[0] != "name":
            names.add(cells[0])
    return names


def flags_and_vars(cmd: click.Command) -> list[tuple[str, str]]:
    out = []
    for p in cmd.params:
        if isinstance(p, click.Option) and not p.is_eager:  # --help and --version act at once
            flag = max(p.opts, key=len)
            out.append((flag, "NETFLIX_ELT_" + flag.lstrip("-").upper().replace("-", "_")))
    return out


@pytest.mark.parametrize("path", [p for p, _ in commands()], ids=" ".join)
def test_help_shows_every_options_variable(path: tuple[str, ...]) -> None:
    cmd = dict(commands())[path]
    res = CliRunner().invoke(main, [*path, "--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    pairs = flags_and_vars(cmd)
    assert pairs, path  # every command takes at least --project-dir or --debug
    for flag, var in pairs:
        assert flag in res.output and f"env var: {var}" in res.output, (flag, var, res.output)


def test_group_help_names_the_settings_that_are_not_options() -> None:
    res = CliRunner().invoke(main, ["--help"], terminal_width=200)
    for var in ("NETFLIX_ELT_HOME", "NETFLIX_ELT_TARGET_PATH", "NETFLIX_ELT_<OPTION>"):
        assert var in res.output, res.output
    for group, path in ((main, []), (main.commands["docs"], ["docs"])):  # options of the groups themselves
        res = CliRunner().invoke(main, [*path, "--help"], terminal_width=200)
        for flag, var in flags_and_vars(group):
            assert f"env var: {var}" in res.output, (flag, res.output)


def test_select_and_exclude_from_the_environment(isolated_home: Path) -> None:
    assert listed(cli("ls", NETFLIX_ELT_SELECT="dim_movies dim_users")) == {"dim_movies", "dim_users"}
    res = cli("ls", NETFLIX_ELT_SELECT="+dim_movies", NETFLIX_ELT_EXCLUDE="source:raw_movies")
    flags = cli("ls", "-s", "+dim_movies", "--exclude", "source:raw_movies")
    assert listed(res) == listed(flags) and {"src_movies", "dim_movies"} <= listed(res), res.output
    assert "raw_movies" not in listed(res) and "raw_movies" in listed(cli("ls", "-s", "+dim_movies"))
    # the command line beats the variable
    assert listed(cli("ls", "-s", "dim_users", NETFLIX_ELT_SELECT="dim_movies")) == {"dim_users"}
    res = cli("ls", NETFLIX_ELT_SELECT="dim_movis")
    assert res.exit_code == 2 and "did you mean 'dim_movies'?" in res.output


def test_bad_values_from_the_environment_name_the_variable(isolated_home: Path) -> None:
    res = cli("show", "dim_movies", NETFLIX_ELT_LIMIT="-1")
    assert res.exit_code == 2 and "'--limit'" in res.output and "$NETFLIX_ELT_LIMIT" in res.output, res.output
    res = cli("show", "dim_movies", "-n", "-1")  # given on the command line: no variable named
    assert res.exit_code == 2 and "NETFLIX_ELT_LIMIT" not in res.output, res.output
    res = cli("extract", NETFLIX_ELT_SOURCE="synthtic", NETFLIX_ELT_TO=str(isolated_home / "lz"))
    assert res.exit_code == 2 and "did you mean 'synthetic'?" in res.output, res.output
    assert not (isolated_home / "lz").exists()


def test_flags_and_the_existing_settings(isolated_home: Path) -> None:
    res = cli("show", "dim_movis", NETFLIX_ELT_DEBUG="1")
    assert res.exit_code == 2 and "Traceback" in res.output, res.output  # --debug from the variable
    assert "Traceback" not in cli("show", "dim_movis", NETFLIX_ELT_DEBUG="0").output
    res = cli("ls", NETFLIX_ELT_TARGET="qa")
    assert res.exit_code == 2 and "unknown target 'qa'" in res.output
    assert cli("ls", "--target", "dev", NETFLIX_ELT_TARGET="qa").exit_code == 0
    res = cli("ls", NETFLIX_ELT_PROFILE="cloud")
    assert res.exit_code == 2 and "unknown profile 'cloud'" in res.output


def test_project_dir_from_the_environment(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(isolated_home)  # no config/netflix_elt.toml here or above
    assert not any((p / "config" / "netflix_elt.toml").is_file() for p in (Path.cwd(), *Path.cwd().parents))
    assert CliRunner().invoke(main, ["ls"]).exit_code == 2
    res = CliRunner().invoke(main, ["ls"], env={"NETFLIX_ELT_PROJECT_DIR": os.fspath(PROJECT_DIR)})
    assert res.exit_code == 0 and "dim_movies" in listed(res), res.output
