"""Snowflake connections resolve exactly as snowflake-connector-python resolves them, without a live account.

Each comparison runs `connector_probe.py` in a fresh process on one temporary SNOWFLAKE_HOME: the
connector's own `connect(connection_name=...)` (stopped before it logs in) and ours side by side.
Expected values also come from the files themselves, read with tomllib.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from netflix_elt.connections import redact, scrub, snowflake_connection_params, snowflake_home
from netflix_elt.errors import ConfigError
from tests.conftest import PROJECT_DIR

PROBE = Path(__file__).with_name("connector_probe.py")
PASSWORD = "pw-Kq93-never-print-me"
TOML = f"""
[default]
account = "myorg-acct"
user = "ALICE"
password = "{PASSWORD}"
role = "TRANSFORMER"
login_timeout = 7

[dev]
account = "myorg-dev"
user = "BOB"
password = "dev-pass-1234"
"""


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def probe(tmp: Path, names: list[str | None], **env: str) -> list[dict[str, Any]]:
    """Both resolutions of each name in a fresh interpreter whose HOME is `tmp/home`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SNOWFLAKE_", "SF_", "XDG_"))}
    base |= {
        "HOME": str(tmp / "home"),
        "XDG_CONFIG_HOME": str(tmp / "xdg"),
        "PYTHONPATH": os.pathsep.join([str(PROJECT_DIR / "src"), str(PROJECT_DIR)]),
    }
    proc = subprocess.run(
        [sys.executable, str(PROBE), json.dumps(names)],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Snowflake variable of the developer's leaks in; HOME is a temp folder."""
    for var in list(os.environ):
        if var.startswith(("SNOWFLAKE_", "SF_", "XDG_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


# 1. permissions ----------------------------------------------------------------------------------
def test_world_readable_connections_toml_warns_like_the_connector(tmp_path):
    sf = tmp_path / "sf"
    path = write(sf / "connections.toml", TOML, 0o644)
    [res] = probe(tmp_path, [None], SNOWFLAKE_HOME=str(sf))
    expected = tomllib.loads(TOML)["default"]
    assert res["ours"]["params"] == res["connector"]["params"] == expected
    assert (
        len(res["connector"]["warnings"]) == 1
        and f"Bad owner or permissions on {path}" in res["connector"]["warnings"][0]
    )
    assert res["ours"]["warnings"] == res["connector"]["warnings"]

    path.chmod(0o600)  # what the warning asks for: then neither warns
    [res] = probe(tmp_path, [None], SNOWFLAKE_HOME=str(sf))
    assert res["ours"]["warnings"] == res["connector"]["warnings"] == []
    assert res["ours"]["params"] == res["connector"]["params"] == expected


def test_a_file_others_can_write_is_refused_like_the_connector(tmp_path):
    sf = tmp_path / "sf"
    path = write(sf / "connections.toml", TOML, 0o620)
    [res] = probe(tmp_path, [None], SNOWFLAKE_HOME=str(sf))
    assert res["connector"]["params"] is None and "is writable by group or others" in res["connector"]["error"]
    assert res["ours"]["params"] is None
    assert res["ours"]["error"].startswith("ConfigError: Snowflake connections: file ")
    assert str(path) in res["ours"]["error"] and "writable by group or others" in res["ours"]["error"]


# 2. connections.toml replaces [connections] of config.toml ----------------------------------------
def test_connections_toml_replaces_the_section_of_config_toml(tmp_path):
    sf = tmp_path / "sf"
    write(
        sf / "config.toml",
        '[connections.dev]\naccount = "cfg-acct"\nuser = "CFG"\npassword = "cfg-pass-1"\nrole = "FROM_CONFIG"\n'
        '[connections.only_in_config]\naccount = "o-x"\nuser = "X"\npassword = "x-pass-12"\n',
    )
    write(sf / "connections.toml", TOML)
    dev, only_cfg = probe(tmp_path, ["dev", "only_in_config"], SNOWFLAKE_HOME=str(sf))
    assert dev["ours"]["params"] == dev["connector"]["params"] == tomllib.loads(TOML)["dev"]
    assert "role" not in dev["ours"]["params"]  # not merged from config.toml
    assert (
        only_cfg["connector"]["params"] is None
        and "known ones are ['default', 'dev']" in only_cfg["connector"]["error"]
    )
    assert only_cfg["ours"]["params"] is None and "'only_in_config'" in only_cfg["ours"]["error"]
    assert "known: ['default', 'dev']" in only_cfg["ours"]["error"]

    (sf / "connections.toml").unlink()  # without connections.toml, config.toml's connections count
    dev, only_cfg = probe(tmp_path, ["dev", "only_in_config"], SNOWFLAKE_HOME=str(sf))
    cfg = tomllib.loads((sf / "config.toml").read_text())["connections"]
    assert dev["ours"]["params"] == dev["connector"]["params"] == cfg["dev"]
    assert only_cfg["ours"]["params"] == only_cfg["connector"]["params"] == cfg["only_in_config"]


# 3. SNOWFLAKE_CONNECTIONS: TOML in the environment ------------------------------------------------
def test_snowflake_connections_variable_replaces_the_files(tmp_path):
    sf = tmp_path / "sf"
    write(sf / "connections.toml", TOML)
    env_toml = '[ci]\naccount = "myorg-ci"\nuser = "CI"\npassword = "ci-pass-5678"\nport = 8443\n'
    ci, default = probe(tmp_path, ["ci", None], SNOWFLAKE_HOME=str(sf), SNOWFLAKE_CONNECTIONS=env_toml)
    assert ci["ours"]["params"] == ci["connector"]["params"] == tomllib.loads(env_toml)["ci"]
    assert default["connector"]["params"] is None and "known ones are ['ci']" in default["connector"]["error"]
    assert (
        default["ours"]["params"] is None
        and "'default' (the default connection) not found in SNOWFLAKE_CONNECTIONS" in (default["ours"]["error"])
    )


def test_malformed_snowflake_connections_fails_like_the_connector(tmp_path):
    sf = tmp_path / "sf"
    write(sf / "connections.toml", TOML)
    [res] = probe(tmp_path, [None], SNOWFLAKE_HOME=str(sf), SNOWFLAKE_CONNECTIONS="[ci\naccount = ")
    assert res["connector"]["params"] is None and res["connector"]["error"]
    assert res["ours"]["params"] is None
    assert res["ours"]["error"].startswith("ConfigError: SNOWFLAKE_CONNECTIONS is not valid TOML")


# 4. SNOWFLAKE_HOME pointing to a missing folder ---------------------------------------------------
def test_missing_snowflake_home_falls_back_like_the_connector(tmp_path):
    write(tmp_path / "home" / ".snowflake" / "connections.toml", TOML)  # a decoy: the connector skips it
    fallback = '[default]\naccount = "myorg-xdg"\nuser = "XDG"\npassword = "xdg-pass-99"\n'
    write(tmp_path / "xdg" / "snowflake" / "connections.toml", fallback)
    [res] = probe(tmp_path, [None], SNOWFLAKE_HOME=str(tmp_path / "missing"))
    assert res["ours"]["params"] == res["connector"]["params"] == tomllib.loads(fallback)["default"]

    [res] = probe(tmp_path, [None])  # no SNOWFLAKE_HOME: ~/.snowflake exists, so it is the folder
    assert res["ours"]["params"] == res["connector"]["params"] == tomllib.loads(TOML)["default"]


# 5. which connection is the default ---------------------------------------------------------------
def test_default_connection_name_like_the_connector(tmp_path):
    sf = tmp_path / "sf"
    write(sf / "connections.toml", TOML)
    write(sf / "config.toml", 'default_connection_name = "dev"\n')
    [res] = probe(tmp_path, [None], SNOWFLAKE_HOME=str(sf))
    assert res["ours"]["params"] == res["connector"]["params"] == tomllib.loads(TOML)["dev"]
    [res] = probe(tmp_path, [None], SNOWFLAKE_HOME=str(sf), SNOWFLAKE_DEFAULT_CONNECTION_NAME="default")
    assert res["ours"]["params"] == res["connector"]["params"] == tomllib.loads(TOML)["default"]


# 6. the Snowflake CLI's documented overrides, on top of the connector's connection ----------------
def test_per_connection_and_generic_variables(tmp_path):
    sf = tmp_path / "sf"
    write(sf / "connections.toml", TOML)
    env = {
        "SNOWFLAKE_HOME": str(sf),
        "SNOWFLAKE_CONNECTIONS_DEFAULT_PASSWORD": "from-env-Zz11",  # replaces the file's
        "SNOWFLAKE_CONNECTIONS_DEFAULT_LOGIN_TIMEOUT": "30",  # typed as the connector expects (int)
        "SNOWFLAKE_CONNECTIONS_DEV_USER": "NOT-MINE",  # another connection's: ignored
        "SNOWFLAKE_ROLE": "IGNORED",  # generic: the connection has a role, which wins
        "SNOWFLAKE_WAREHOUSE": "WH",  # generic: fills the missing warehouse
    }
    [res] = probe(tmp_path, [None], **env)
    connector = res["connector"]["params"]
    assert connector == tomllib.loads(TOML)["default"]  # the connector itself reads none of them
    assert res["ours"]["params"] == {**connector, "password": "from-env-Zz11", "login_timeout": 30, "warehouse": "WH"}


def test_override_of_the_wrong_type_is_named(clean_env, monkeypatch):
    write(clean_env / "sf" / "connections.toml", TOML)
    monkeypatch.setenv("SNOWFLAKE_HOME", str(clean_env / "sf"))
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS_DEFAULT_LOGIN_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="SNOWFLAKE_CONNECTIONS_DEFAULT_LOGIN_TIMEOUT must be a whole number"):
        snowflake_connection_params()
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS_DEFAULT_LOGIN_TIMEOUT", "5")
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS_DEFAULT_CLIENT_SESSION_KEEP_ALIVE", "maybe")
    with pytest.raises(
        ConfigError, match="SNOWFLAKE_CONNECTIONS_DEFAULT_CLIENT_SESSION_KEEP_ALIVE must be true or false"
    ):
        snowflake_connection_params()


# 7. a missing connection -------------------------------------------------------------------------
def test_missing_connection_is_named_with_did_you_mean(tmp_path):
    sf = tmp_path / "sf"
    write(sf / "connections.toml", TOML)
    [res] = probe(tmp_path, ["dve"], SNOWFLAKE_HOME=str(sf))
    assert res["connector"]["error"] == "Error: Invalid connection_name 'dve', known ones are ['default', 'dev']"
    assert res["ours"]["error"] == (
        "ConfigError: Snowflake connection 'dve' (the profile's connection_name) not found in "
        f"{sf / 'connections.toml'} or [connections] in {sf / 'config.toml'}; "
        "known: ['default', 'dev']; did you mean 'dev'?"
    )


def test_the_source_of_a_missing_default_name_is_named(clean_env, monkeypatch):
    sf = clean_env / "sf"
    write(sf / "connections.toml", TOML)
    write(sf / "config.toml", 'default_connection_name = "prod"\n')
    monkeypatch.setenv("SNOWFLAKE_HOME", str(sf))
    with pytest.raises(
        ConfigError, match=rf"'prod' \(default_connection_name in {re.escape(str(sf / 'config.toml'))}\) not found"
    ):
        snowflake_connection_params()
    monkeypatch.setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "deev")
    with pytest.raises(
        ConfigError, match=r"'deev' \(SNOWFLAKE_DEFAULT_CONNECTION_NAME\) not found.*did you mean 'dev'\?$"
    ):
        snowflake_connection_params()


def test_no_connection_at_all_is_named(clean_env, monkeypatch):
    monkeypatch.setenv("SNOWFLAKE_HOME", str(clean_env / "nowhere"))
    monkeypatch.setenv("SNOWFLAKE_ACCOUNT", "a")  # a generic variable fills keys; it makes no connection
    with pytest.raises(ConfigError, match=r"connection 'default' \(the default connection\) not found .* known: none$"):
        snowflake_connection_params()


# 8. secrets are never printed --------------------------------------------------------------------
def test_secrets_never_in_repr_or_errors(clean_env, monkeypatch):
    sf = clean_env / "sf"
    write(sf / "connections.toml", TOML + '\n[nouser]\naccount = "a-b"\npassword = "nouser-Pw77"\n')
    monkeypatch.setenv("SNOWFLAKE_HOME", str(sf))
    params = snowflake_connection_params()
    assert params["password"] == PASSWORD  # the value is there for the connector ...
    for text in (repr(params), str(params), f"{params}", f"{params!r}"):
        assert PASSWORD not in text and "'password': '***'" in text  # ... but never in its printed form
    assert scrub(f"echo {dict(params)}") == f"echo {dict(params)}".replace(PASSWORD, "***")
    with pytest.raises(ConfigError) as e:
        snowflake_connection_params("nouser")
    assert "'user' is missing" in str(e.value) and "nouser-Pw77" not in str(e.value)
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS_DEV_PASSWORD", "env-secret-Qx55")
    assert scrub("echo env-secret-Qx55") == "echo ***"
    out = redact({"user": "u", "password": "hunter2", "private_key_file_pwd": "x", "token": ""})
    assert out == {"user": "u", "password": "***", "private_key_file_pwd": "***", "token": ""}


# checks of ours on top of the connector's ----------------------------------------------------------
def test_authentication_settings_are_checked(clean_env, monkeypatch):
    sf = clean_env / "sf"
    write(
        sf / "connections.toml",
        '[nopw]\naccount = "a-b"\nuser = "U"\n'
        '[jwt]\naccount = "a-b"\nuser = "SVC"\nauthenticator = "SNOWFLAKE_JWT"\n'
        '[keypair]\naccount = "a-b"\nuser = "SVC"\nprivate_key_file = "~/keys/rsa_key.p8"\n',
    )
    monkeypatch.setenv("SNOWFLAKE_HOME", str(sf))
    with pytest.raises(
        ConfigError, match=r"connection 'nopw' has no password \(or SNOWFLAKE_CONNECTIONS_NOPW_PASSWORD\)"
    ):
        snowflake_connection_params("nopw")
    with pytest.raises(ConfigError, match="SNOWFLAKE_JWT but has no private_key_file"):
        snowflake_connection_params("jwt")
    monkeypatch.setenv("SNOWFLAKE_CONNECTIONS_KEYPAIR_PRIVATE_KEY_FILE_PWD", "kp-pass-3")
    params = snowflake_connection_params("keypair")
    assert params == {
        "account": "a-b",
        "user": "SVC",
        "private_key_file": str(clean_env / "home" / "keys" / "rsa_key.p8"),
        "private_key_file_pwd": "kp-pass-3",
    }


def test_secrets_inside_the_project_are_refused(clean_env, monkeypatch):
    project = clean_env / "proj"
    write(project / ".snowflake" / "connections.toml", TOML)
    monkeypatch.setenv("SNOWFLAKE_HOME", str(project / ".snowflake"))
    with pytest.raises(ConfigError, match="inside the project folder"):
        snowflake_connection_params(project_dir=project)
    outside = clean_env / "sf"
    write(
        outside / "connections.toml",
        f'[default]\naccount = "a-b"\nuser = "U"\nprivate_key_file = "{project / "k.p8"}"\n',
    )
    monkeypatch.setenv("SNOWFLAKE_HOME", str(outside))
    with pytest.raises(ConfigError, match=r"private_key_file .*k\.p8 is inside the project folder"):
        snowflake_connection_params(project_dir=project)


def test_home_is_the_connectors_folder(clean_env, monkeypatch):
    monkeypatch.setenv("SNOWFLAKE_HOME", str(clean_env / "missing"))
    assert snowflake_home() == clean_env / "xdg" / "snowflake"
    (clean_env / "sf").mkdir()
    monkeypatch.setenv("SNOWFLAKE_HOME", str(clean_env / "sf"))
    assert snowflake_home() == clean_env / "sf"


# GX's connection: the same resolved parameters --------------------------------------------------
GX_TOML = f"""
[default]
account = "myorg-acct"
user = "ALICE"
password = "{PASSWORD}"
host = "myorg-acct.privatelink.snowflakecomputing.com"
port = 443
protocol = "https"
login_timeout = 12
network_timeout = 40
client_session_keep_alive = true
ocsp_fail_open = false
session_parameters = {{ QUERY_TAG = "netflix-elt", TIMEZONE = "UTC" }}

[keypair]
account = "myorg-acct"
user = "SVC"
private_key_file = "/keys/rsa_key.p8"
private_key_file_pwd = "kp-Pw-4455"
"""


def _what_the_connector_gets(url: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments SQLAlchemy hands to snowflake.connector.connect for GX's engine."""
    import sqlalchemy as sa

    class Stop(Exception):
        pass

    seen: dict[str, Any] = {}
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "do_connect")
    def capture(dialect: Any, rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        seen.update(cparams)
        raise Stop

    with pytest.raises(Stop):
        engine.connect()
    return seen


@pytest.mark.parametrize("name", ["default", "keypair"])
def test_gx_connection_carries_every_resolved_parameter(clean_env, monkeypatch, name):
    from netflix_elt.adapters.snowflake import SnowflakeAdapter
    from netflix_elt.config import load_settings

    write(clean_env / "sf" / "connections.toml", GX_TOML)
    monkeypatch.setenv("SNOWFLAKE_HOME", str(clean_env / "sf"))
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(clean_env / "state"))
    monkeypatch.setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", name)
    settings = load_settings(PROJECT_DIR, profile="snowflake")
    url, kwargs = SnowflakeAdapter(settings).gx_connection()
    assert PASSWORD not in url and "kp-Pw-4455" not in url

    expected = {
        **tomllib.loads(GX_TOML)[name],
        "role": "TRANSFORMER",  # the profile's, as the connection has none
        "warehouse": "COMPUTE_WH",
        "database": settings.database,
        "schema": settings.target_schema,
    }
    expected.setdefault("password", "")
    got = _what_the_connector_gets(url, kwargs)
    extra = {k: got.pop(k) for k in set(got) - set(expected)}
    assert got == expected
    assert extra == (
        {"autocommit": False}
        if name == "default"
        else {"autocommit": False, "host": "myorg-acct.snowflakecomputing.com", "port": "443"}
    )

    from great_expectations.datasource.fluent import SnowflakeDatasource

    SnowflakeDatasource(name="netflix_elt", connection_string=url, kwargs=kwargs)  # GX's checks accept it


def test_gx_connection_needs_role_and_warehouse(clean_env, monkeypatch):
    from netflix_elt.adapters.snowflake import SnowflakeAdapter
    from netflix_elt.config import load_settings

    write(clean_env / "sf" / "connections.toml", GX_TOML)
    monkeypatch.setenv("SNOWFLAKE_HOME", str(clean_env / "sf"))
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(clean_env / "state"))
    settings = load_settings(PROJECT_DIR, profile="snowflake")
    object.__setattr__(settings.profile_config, "warehouse", None)
    with pytest.raises(ConfigError, match="GX's Snowflake datasource needs a warehouse"):
        SnowflakeAdapter(settings).gx_connection()


# the connector's own logging on a real account ---------------------------------------------------
LOGGING_SCRIPT = """
import logging, sys
from pathlib import Path
from netflix_elt.adapters import embedded
from netflix_elt.adapters.snowflake import SnowflakeAdapter
from netflix_elt.config import load_settings

logging.basicConfig(level=logging.WARNING)  # a user's logging (the connector itself only adds a NullHandler)
embedded.quiet()  # the embedded engine ran first in this process (a notebook, --print-sql)
print("emulator", logging.getLogger("snowflake.connector.network").getEffectiveLevel(), flush=True)
settings = load_settings(Path(sys.argv[1]), profile="snowflake")
SnowflakeAdapter(settings).connection_params()  # the real account: reads the world-readable file
print("real", logging.getLogger("snowflake.connector.network").getEffectiveLevel(), flush=True)
logging.getLogger("snowflake.connector.network").error("connector error shown")
embedded.quiet()  # the emulator again: the real account keeps its logging
print("after", logging.getLogger("snowflake.connector.network").getEffectiveLevel(), flush=True)
"""


def test_a_real_account_gets_the_connectors_logging_and_warnings(tmp_path):
    sf = tmp_path / "sf"
    path = write(sf / "connections.toml", TOML, 0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNOWFLAKE_", "SF_"))}
    env |= {
        "SNOWFLAKE_HOME": str(sf),
        "NETFLIX_ELT_HOME": str(tmp_path / "state"),
        "PYTHONPATH": os.pathsep.join([str(PROJECT_DIR / "src"), str(PROJECT_DIR)]),
    }
    proc = subprocess.run(
        [sys.executable, "-c", LOGGING_SCRIPT, str(PROJECT_DIR)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["emulator", "50", "real", "30", "after", "30"]  # CRITICAL, then WARNING
    assert f"Bad owner or permissions on {path}" in proc.stderr
    assert "connector error shown" in proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
