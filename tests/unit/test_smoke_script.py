"""scripts/snowflake_smoke.sh (docs/snowflake.md): it parses, is strict, cleans up, and calls only
`netflix-elt` commands and options that exist. It needs an account to run, so it is only read here."""

import os
import re
import shutil
import subprocess

import click
import pytest

from netflix_elt.cli import main
from tests.conftest import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts" / "snowflake_smoke.sh"
# `--print-sql` on load, seed and snapshot (issue 19) is added on another branch; until it is merged
# the script may name it although this branch's commands do not have it yet.
NOT_YET = {"load": {"--print-sql"}, "seed": {"--print-sql"}, "snapshot": {"--print-sql"}}


def _text() -> str:
    return SCRIPT.read_text(encoding="utf-8")


def _invocations() -> list[tuple[str, list[str]]]:
    """Every `netflix-elt <command> ...` line of the script (continuations joined, "${SF[@]}" expanded)."""
    text = re.sub(r"\\\n\s*", " ", _text())
    arrays = {m.group(1): m.group(2) for m in re.finditer(r"^\s*([A-Z_]+)=\((.*)\)\s*$", text, re.MULTILINE)}
    found = []
    for line in text.splitlines():
        code = line.split(" #", 1)[0]
        if code.lstrip().startswith("#"):
            continue
        # a call starts a line or a command substitution; "netflix-elt" inside a message is no call
        for m in re.finditer(r"(?:^\s*|\$\()netflix-elt\s+([a-z][a-z-]*)([^|;&)]*)", code):
            rest = re.sub(r'"\$\{([A-Z_]+)\[@\]\}"', lambda a: arrays.get(a.group(1), ""), m.group(2))
            found.append((m.group(1), re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest)))
    return found


def test_the_script_exists_and_is_executable():
    assert SCRIPT.is_file()
    assert os.access(SCRIPT, os.X_OK), f"{SCRIPT} is not executable (chmod +x)"
    assert _text().startswith("#!/usr/bin/env bash\n")


def test_the_script_parses():
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash on this machine")
    res = subprocess.run([bash, "-n", str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr


def test_the_script_is_strict_and_cleans_up():
    lines = [ln.strip() for ln in _text().splitlines()]
    assert "set -euo pipefail" in lines
    assert any(re.fullmatch(r"trap cleanup EXIT( INT TERM)?", ln) for ln in lines)
    body = _text().split("cleanup() {", 1)[1].split("\n}\n", 1)[0]
    assert "DROP DATABASE IF EXISTS" in body and 'rm -rf "$WORK"' in body
    assert re.search(r"^DB=\"NETFLIX_ELT_SMOKE_", _text(), re.MULTILINE), "the database must be a throwaway name"


def test_the_script_never_traces_or_echoes_secrets():
    code = "\n".join(ln for ln in _text().splitlines() if not ln.lstrip().startswith("#"))
    assert not re.search(r"set\s+-[a-z]*x", code), "set -x would print every expanded command"
    for var in ("SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY_FILE_PWD", "SNOWFLAKE_TOKEN", "AWS_SECRET_ACCESS_KEY"):
        assert f"${var}" not in code and f"${{{var}" not in code, var


def test_every_netflix_elt_call_is_a_known_command_and_option():
    calls = _invocations()
    used = {cmd for cmd, _ in calls}
    assert {"extract", "init", "load", "build", "validate", "tables", "show"} <= used, used
    ctx = click.Context(main)
    for cmd, opts in calls:
        command = main.get_command(ctx, cmd)
        assert command is not None, f"netflix-elt {cmd}: no such command"
        known = {o for p in command.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}
        known |= {"--help"} | NOT_YET.get(cmd, set())
        unknown = sorted(set(opts) - known)
        assert not unknown, f"netflix-elt {cmd}: unknown option(s) {unknown}"


def test_the_invocation_parser_reads_the_script_as_written():
    """The check above sees what the script runs: load gets the common options and --from."""
    load_calls = [opts for cmd, opts in _invocations() if cmd == "load"]
    assert any({"--project-dir", "--profile", "--from"} <= set(opts) for opts in load_calls), load_calls


def test_the_script_is_linked_from_the_docs():
    doc = (PROJECT_DIR / "docs" / "snowflake.md").read_text(encoding="utf-8")
    assert "scripts/snowflake_smoke.sh" in doc
    assert "docs/snowflake.md" in (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
