"""Snowflake connection parameters are built like Snowflake's own tools, without a live account."""

from pathlib import Path

import pytest

from netflix_elt.connections import redact, snowflake_connection_params, snowflake_home
from netflix_elt.errors import ConfigError

TOML = """
[default]
account = "myorg-acct"
user = "ALICE"
password = "from-file"
role = "TRANSFORMER"

[keypair]
account = "myorg-acct"
user = "SVC"
authenticator = "SNOWFLAKE_JWT"
private_key_file = "~/keys/rsa_key.p8"
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    sf = tmp_path / "sfhome"
    sf.mkdir()
    (sf / "connections.toml").write_text(TOML)
    return sf


def test_default_connection_from_snowflake_home(home):
    params = snowflake_connection_params(env={"SNOWFLAKE_HOME": str(home)})
    assert params == {"account": "myorg-acct", "user": "ALICE", "password": "from-file", "role": "TRANSFORMER"}


def test_env_vars_override_single_keys(home):
    env = {"SNOWFLAKE_HOME": str(home), "SNOWFLAKE_PASSWORD": "from-env", "SNOWFLAKE_WAREHOUSE": "WH"}
    params = snowflake_connection_params(env=env)
    assert params["password"] == "from-env" and params["warehouse"] == "WH" and params["user"] == "ALICE"


def test_default_connection_name_variable_and_keypair(home, tmp_path):
    env = {
        "SNOWFLAKE_HOME": str(home),
        "SNOWFLAKE_DEFAULT_CONNECTION_NAME": "keypair",
        "HOME": str(tmp_path),
        "SNOWFLAKE_PRIVATE_KEY_FILE_PWD": "pass",
    }
    params = snowflake_connection_params(env=env)
    assert params["authenticator"] == "SNOWFLAKE_JWT"
    assert params["private_key_file"] == str(Path("~/keys/rsa_key.p8").expanduser())
    assert params["private_key_file_pwd"] == "pass"
    assert "password" not in params


def test_config_toml_connections_and_default_name(tmp_path):
    sf = tmp_path / "sf"
    sf.mkdir()
    (sf / "config.toml").write_text(
        'default_connection_name = "dev"\n[connections.dev]\naccount = "o-a"\nuser = "U"\npassword = "p"\n'
    )
    assert snowflake_connection_params(env={"SNOWFLAKE_HOME": str(sf)})["account"] == "o-a"


def test_missing_settings_are_named(home, tmp_path):
    with pytest.raises(ConfigError, match=r"connection 'nope' .* not found .* known: \['default', 'keypair'\]"):
        snowflake_connection_params("nope", env={"SNOWFLAKE_HOME": str(home)})
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"Snowflake setting 'account' is missing.*SNOWFLAKE_ACCOUNT"):
        snowflake_connection_params(env={"SNOWFLAKE_HOME": str(empty)})
    with pytest.raises(ConfigError, match="has no password"):
        snowflake_connection_params(env={"SNOWFLAKE_HOME": str(empty), "SNOWFLAKE_ACCOUNT": "a", "SNOWFLAKE_USER": "u"})
    with pytest.raises(ConfigError, match="SNOWFLAKE_JWT but has no private_key_file"):
        snowflake_connection_params(
            env={
                "SNOWFLAKE_HOME": str(empty),
                "SNOWFLAKE_ACCOUNT": "a",
                "SNOWFLAKE_USER": "u",
                "SNOWFLAKE_AUTHENTICATOR": "SNOWFLAKE_JWT",
            }
        )


def test_secrets_inside_the_project_are_refused(tmp_path):
    project = tmp_path / "proj"
    (project / ".snowflake").mkdir(parents=True)
    (project / ".snowflake" / "connections.toml").write_text(TOML)
    with pytest.raises(ConfigError, match="inside the project folder"):
        snowflake_connection_params(env={"SNOWFLAKE_HOME": str(project / ".snowflake")}, project_dir=project)


def test_home_resolution_order(tmp_path):
    assert snowflake_home({"SNOWFLAKE_HOME": "/x/y"}) == Path("/x/y")
    (tmp_path / ".snowflake").mkdir()
    assert snowflake_home({"HOME": str(tmp_path)}) == tmp_path / ".snowflake"


def test_redact_hides_secrets():
    out = redact({"user": "u", "password": "hunter2", "private_key_file_pwd": "x", "token": ""})
    assert out == {"user": "u", "password": "***", "private_key_file_pwd": "***", "token": ""}
    assert "hunter2" not in repr(out)
