"""Connection parameters for a real Snowflake account, found the way Snowflake's own tools find them.

Order: a named connection in `connections.toml` (or `[connections.<name>]` in `config.toml`) under
`$SNOWFLAKE_HOME`, else `~/.snowflake/`, else the platform default; then `SNOWFLAKE_*` environment
variables override single keys. Nothing is ever read from the project folder, so secrets cannot
end up in the repository.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netflix_elt.errors import ConfigError

# keys the snowflake-connector accepts that we pass through, and their SNOWFLAKE_* variables
CONNECTION_KEYS = (
    "account",
    "user",
    "password",
    "authenticator",
    "private_key_file",
    "private_key_file_pwd",
    "role",
    "warehouse",
    "database",
    "schema",
    "host",
    "port",
    "protocol",
    "token",
)
SECRET_KEYS = frozenset({"password", "private_key_file_pwd", "token", "private_key", "passcode"})
ENV_ALIASES = {"private_key_file_pwd": ("SNOWFLAKE_PRIVATE_KEY_FILE_PWD", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE")}


def snowflake_home(env: Mapping[str, str] | None = None) -> Path:
    """The folder holding connections.toml, as the Snowflake CLI and connector resolve it."""
    env = os.environ if env is None else env
    if env.get("SNOWFLAKE_HOME"):
        return Path(env["SNOWFLAKE_HOME"]).expanduser()
    home = Path(env.get("HOME", str(Path.home())))
    dot = home / ".snowflake"
    if dot.is_dir():
        return dot
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "snowflake"
    if sys.platform.startswith("win"):
        return home / "AppData" / "Local" / "snowflake"
    return Path(env.get("XDG_CONFIG_HOME", str(home / ".config"))) / "snowflake"


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None


def snowflake_connection_params(
    connection_name: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    project_dir: Path | None = None,
) -> dict[str, Any]:
    """Build the keyword arguments for `snowflake.connector.connect` / Snowpark's Session builder."""
    env = os.environ if env is None else env
    home = snowflake_home(env)
    if project_dir is not None and home.resolve().is_relative_to(project_dir.resolve()):
        raise ConfigError(
            f"SNOWFLAKE_HOME {home} is inside the project folder; keep connections.toml (and its "
            "secrets) outside the repository"
        )
    connections = _read_toml(home / "connections.toml")
    config = _read_toml(home / "config.toml")
    merged: dict[str, Any] = {**config.get("connections", {}), **connections}
    name = (
        connection_name
        or env.get("SNOWFLAKE_DEFAULT_CONNECTION_NAME")
        or config.get("default_connection_name")
        or "default"
    )
    params: dict[str, Any] = dict(merged.get(name, {}))
    if not params and name != "default" and connection_name:
        raise ConfigError(
            f"connection {name!r} (profiles.snowflake.connection_name) not found in "
            f"{home / 'connections.toml'} or {home / 'config.toml'}; known: {sorted(merged) or 'none'}"
        )
    for key in CONNECTION_KEYS:
        for var in ENV_ALIASES.get(key, (f"SNOWFLAKE_{key.upper()}",)):
            if env.get(var):
                params[key] = env[var]
                break
    if "port" in params:
        params["port"] = int(params["port"])
    for required in ("account", "user"):
        if not params.get(required):
            raise ConfigError(
                f"Snowflake setting {required!r} is missing: set it in connection {name!r} of "
                f"{home / 'connections.toml'} or in SNOWFLAKE_{required.upper()}"
            )
    # a private_key_file without an authenticator is key-pair auth: the connector switches to it itself
    default_auth = "SNOWFLAKE_JWT" if params.get("private_key_file") else "snowflake"
    auth = str(params.get("authenticator") or default_auth).upper()
    if auth == "SNOWFLAKE_JWT":
        if not params.get("private_key_file"):
            raise ConfigError(
                f"connection {name!r} uses authenticator=SNOWFLAKE_JWT but has no private_key_file "
                "(or SNOWFLAKE_PRIVATE_KEY_FILE)"
            )
        key_file = Path(str(params["private_key_file"])).expanduser()
        if project_dir is not None and key_file.resolve().is_relative_to(project_dir.resolve()):
            raise ConfigError(f"private_key_file {key_file} is inside the project folder; keep keys outside it")
        params["private_key_file"] = str(key_file)
    elif auth in ("SNOWFLAKE", "USERNAME_PASSWORD_MFA") and not params.get("password"):
        raise ConfigError(
            f"connection {name!r} has no password (or SNOWFLAKE_PASSWORD); use a password or "
            "a private_key_file (key-pair authentication)"
        )
    register_secret(*(v for k, v in params.items() if k in SECRET_KEYS))
    return params


# secret values this process has read (connections.toml, boto3's credentials): scrub() knows them
_KNOWN_SECRETS: set[str] = set()


def register_secret(*values: object) -> None:
    """Remember secret values read from files, so every later scrub() hides them too.

    Why: a password from connections.toml is not in the environment, yet a traceback (``--debug``)
    or a connector message may repeat it.
    """
    _KNOWN_SECRETS.update(str(v) for v in values if v)


def redact(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy safe to print or log: secret values replaced by '***'."""
    return {k: ("***" if k in SECRET_KEYS and v else v) for k, v in params.items()}


SECRET_ENV = (
    "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_PRIVATE_KEY_FILE_PWD",
    "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
    "SNOWFLAKE_TOKEN",
    "SNOWFLAKE_PASSCODE",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


def scrub(text: str, params: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> str:
    """`text` with every known secret value replaced by '***'.

    Why: the connector and boto3 may echo parameters in exception messages; every message we
    print or store passes through here, so a password cannot reach the terminal or target/.
    """
    env = os.environ if env is None else env
    secrets = {str(v) for k, v in (params or {}).items() if k in SECRET_KEYS and v}
    secrets |= {env[k] for k in SECRET_ENV if env.get(k)}
    secrets |= _KNOWN_SECRETS
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:  # a 1-3 character "secret" would blank out ordinary words
            text = text.replace(secret, "***")
    return text
