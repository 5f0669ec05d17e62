"""Every command of the click group, with bad input: exit 2 and a message naming the bad thing.

The commands and their options are read from `main` itself, so a command added later is walked
too: an unknown flag, a value out of range or not of the option's type, an unknown selector and
an unknown node name. Each runs with and without `--debug`, which must not change the exit code
(docs/exit_codes.md: 2 for usage and configuration).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from netflix_elt.cli import main
from tests.conftest import PROJECT_DIR


def commands(
    group: click.Group = main, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def bad_values(cmd: click.Command) -> Iterator[tuple[list[str], str]]:
    """(arguments, what the message must name) for every option whose type refuses a value."""
    for p in cmd.params:
        if not isinstance(p, click.Option) or p.is_flag:
            continue
        flag = max(p.opts, key=len)
        t = p.type
        if isinstance(t, click.IntRange | click.FloatRange) and t.min is not None:
            yield [flag, str(t.min - 1)], flag
        elif isinstance(t, click.IntRange | click.FloatRange) and t.max is not None:
            yield [flag, str(t.max + 1)], flag
        elif isinstance(t, click.Choice):
            yield [flag, "no_such_choice"], "no_such_choice"
        elif t in (click.INT, click.FLOAT):
            yield [flag, "not-a-number"], flag
        elif t.name in ("source", "scale"):  # extract's own types
            yield [flag, "synthtic"], "synthtic"


def bad_names(cmd: click.Command) -> Iterator[tuple[list[str], str]]:
    names = {p.name for p in cmd.params}
    if "select_" in names:
        yield ["-s", "dim_movis"], "did you mean 'dim_movies'?"
        yield ["-s", "+dim_movies", "layer:stagin"], "did you mean 'staging'?"
        yield ["-s", "@dim_movies+"], "'@' and a '+' suffix cannot be combined"
    if "layer" in names:
        yield ["--layer", "mrts"], "did you mean 'marts'?"
    if "exclude" in names:
        yield ["--exclude", "dim_movis"], "did you mean 'dim_movies'?"
    if "name" in names or "names" in names:
        yield ["dim_movis"], "did you mean 'dim_movies'?"


CASES = [
    pytest.param(path, args, named, id=" ".join([*path, *args]))
    for path, cmd in commands()
    for args, named in [(["--no-such-flag"], "--no-such-flag"), *bad_values(cmd), *bad_names(cmd)]
]


def test_every_command_is_walked() -> None:
    walked = {c.values[0] for c in CASES}
    assert walked == {path for path, _ in commands()}
    assert len(walked) >= 16  # init ... dashboard, docs generate/serve: the walk found the group


@pytest.mark.parametrize(("path", "args", "named"), CASES)
def test_bad_input_exits_2_naming_it(isolated_home: Path, path: tuple[str, ...], args: list[str], named: str) -> None:
    cmd = dict(commands())[path]
    base = [*path, *args, "--project-dir", str(PROJECT_DIR)]
    res = CliRunner().invoke(main, base)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert lines[-1].startswith("Error:") and named in lines[-1], res.output
    assert "Traceback" not in res.output
    if any(p.name == "debug" for p in cmd.params):
        res = CliRunner().invoke(main, [*base, "--debug"])
        assert res.exit_code == 2, res.output  # --debug never changes the exit code
        assert named in res.output, res.output


def test_debug_keeps_exit_codes_in_a_real_process(isolated_home: Path, tmp_path: Path) -> None:
    """The console script's path: 2 (usage) and 4 (bad data) stay 2 and 4 with --debug."""
    nowhere = tmp_path / "nowhere"
    cases = [(["show", "dim_movis"], 2, "did you mean 'dim_movies'?"), (["load", "--from", str(nowhere)], 4, "nowhere")]
    for args, code, named in cases:
        for extra in ([], ["--debug"]):
            argv = [sys.executable, "-m", "netflix_elt.cli", *args, "--project-dir", str(PROJECT_DIR), *extra]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            assert proc.returncode == code, proc.stdout + proc.stderr
            assert named in proc.stderr + proc.stdout
            assert ("Traceback" in proc.stderr) == bool(extra)


def test_validate_of_a_node_without_a_suite_is_a_usage_error(isolated_home: Path) -> None:
    suites = {p.stem for p in (PROJECT_DIR / "expectations").rglob("*.yml")}
    assert "src_movies" not in suites and "dim_movies" in suites  # the premise, from the files
    res = CliRunner().invoke(main, ["validate", "-s", "src_movies", "--project-dir", str(PROJECT_DIR)])
    assert res.exit_code == 2, res.output
    assert "nothing to validate: src_movies has no suite in expectations/" in res.output
    assert "dim_movies" in res.output  # it names the tables that have one


def test_extract_typo_changes_nothing(isolated_home: Path, tmp_path: Path) -> None:
    lz = tmp_path / "lz"
    for args, named in (
        (["--source", "synthtic"], "did you mean 'synthetic'?"),
        (["--source", "grouplens:ml-20n"], "did you mean 'grouplens:ml-20m'?"),
        (["--source", str(tmp_path / "nowhere")], "nor an existing folder"),
        (["--scale", "huge"], "invalid scale 'huge'"),
        (["--batch", "0"], "'--batch'"),
        (["--seed", "-1"], "'--seed'"),
    ):
        res = CliRunner().invoke(main, ["extract", *args, "--to", str(lz), "--project-dir", str(PROJECT_DIR)])
        assert res.exit_code == 2 and named in res.output, res.output
    assert not lz.exists()  # refused before the landing was touched
