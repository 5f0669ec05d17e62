"""Secrets never reach output, errors, target/ artifacts or the state folder."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from netflix_elt.adapters import adapter_for
from netflix_elt.cli import main
from netflix_elt.config import load_settings
from netflix_elt.connections import scrub
from netflix_elt.errors import ConfigError
from tests.conftest import PROJECT_DIR

SECRETS = {
    "SNOWFLAKE_PASSWORD": "pw-Zq81-never-print-me",
    "SNOWFLAKE_PRIVATE_KEY_FILE_PWD": "keypass-Xy72-never-print-me",
    "AWS_SECRET_ACCESS_KEY": "awssecret-Vb33-never-print-me",
    "AWS_SESSION_TOKEN": "awstoken-Qw55-never-print-me",
}


@pytest.fixture
def secret_env(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    return isolated_home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snowflake_home(tmp: Path) -> Path:
    """connections.toml pointing at a loopback port where nothing listens, failing fast."""
    home = tmp / "snowflake_home"
    home.mkdir()
    (home / "connections.toml").write_text(
        f'[default]\naccount = "acme-test"\nuser = "ROBOT"\nhost = "127.0.0.1"\nport = {free_port()}\n'
        'protocol = "http"\nlogin_timeout = 3\nnetwork_timeout = 3\n',
        encoding="utf-8",
    )
    return home


def leaks(text: str) -> list[str]:
    return [k for k, v in SECRETS.items() if v in text]


def test_scrub_replaces_known_values() -> None:
    env = {"AWS_SECRET_ACCESS_KEY": "abcd-secret"}
    msg = scrub("login failed: password=hunter22 key=abcd-secret", {"password": "hunter22"}, env)
    assert msg == "login failed: password=*** key=***"


def test_connection_error_echoing_parameters_is_scrubbed(
    secret_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snowflake.snowpark.session import Session

    def echo(self: object) -> None:  # a connector error that repeats its parameters
        raise RuntimeError(f"250001: could not connect with {getattr(self, '_options', {})}")

    monkeypatch.setenv("SNOWFLAKE_HOME", str(snowflake_home(tmp_path)))
    monkeypatch.setattr(Session.SessionBuilder, "create", echo)
    settings = load_settings(PROJECT_DIR, profile="snowflake")
    with pytest.raises(ConfigError) as e:
        adapter_for(settings).session  # noqa: B018 - connecting is what fails
    assert "could not connect to Snowflake account 'acme-test'" in str(e.value)
    assert leaks(str(e.value)) == [] and "***" in str(e.value)


def test_no_secret_in_output_or_files(secret_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs: list[str] = []

    def cli(*args: str) -> int:
        res = CliRunner().invoke(main, [*args, "--project-dir", str(PROJECT_DIR)])
        outputs.append(res.output)
        return res.exit_code

    # a real connection attempt on the snowflake profile, to a port where nothing listens
    monkeypatch.setenv("SNOWFLAKE_HOME", str(snowflake_home(tmp_path)))
    started = time.monotonic()
    assert cli("init", "--profile", "snowflake") == 2
    assert time.monotonic() - started < 60 and "could not connect to Snowflake account" in outputs[-1]
    # the embedded engine, every command that writes files
    assert cli("extract", "--source", "synthetic", "--scale", "small") == 0
    assert cli("build") == 0, outputs[-1]
    assert cli("run", "-s", "dim_users") == 0
    assert cli("validate", "-s", "dim_users") == 0
    assert cli("docs", "generate") == 0
    assert cli("show", "dim_movies") == 0

    assert leaks("\n".join(outputs)) == []
    found = []
    for folder in (secret_env / "target", secret_env / "home"):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix not in (".db", ".parquet", ".wal"):
                text = path.read_bytes().decode("utf-8", errors="replace")
                found += [f"{path}: {k}" for k in leaks(text)]
    assert found == []
