"""Connection parameters for a real Snowflake account, resolved by Snowflake's connector itself.

The files are read by a fresh copy of snowflake-connector-python's own `CONFIG_MANAGER`, so every
rule is the connector's: the folder (`$SNOWFLAKE_HOME` if it exists, else `~/.snowflake/` if it
exists, else the platform's config folder), `connections.toml` replacing the `[connections]` of
`config.toml`, `SNOWFLAKE_CONNECTIONS` (TOML in the environment) replacing both,
`SNOWFLAKE_DEFAULT_CONNECTION_NAME`, the "Bad owner or permissions" warning and the refusal of a
file others can write. On top, the overrides the Snowflake CLI documents: a variable
`SNOWFLAKE_CONNECTIONS_<NAME>_<KEY>` replaces one key of that connection, and a generic
`SNOWFLAKE_<KEY>` fills a key the connection lacks. Nothing is read from the project folder, so
secrets cannot end up in the repository.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.errors import ConfigError
from netflix_elt.suggest import did_you_mean

if TYPE_CHECKING:
    from snowflake.connector.config_manager import ConfigManager

# keys a generic SNOWFLAKE_<KEY> variable may fill (the Snowflake CLI's connection options)
GENERIC_ENV_KEYS = (
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
SECRET_KEYS = frozenset({"password", "private_key_file_pwd", "token", "private_key", "passcode", "oauth_client_secret"})


class ConnectionParams(dict[str, Any]):
    """The keyword arguments of `snowflake.connector.connect`; printing it shows '***' for secrets.

    Why: a traceback, a log line or an f-string in an error message must never carry the password.
    """

    def __repr__(self) -> str:
        return repr(redact(self))

    __str__ = __repr__


def connector_config_manager() -> ConfigManager:
    """A fresh copy of the connector's CONFIG_MANAGER, for the environment as it is now.

    Why a copy: the connector fixes its folder when it is imported and caches what it read, so a
    `SNOWFLAKE_HOME` set later (a notebook, a test) would be ignored. The copy takes the connector's
    own slices and options, so a rule the connector adds is followed without a change here.
    """
    from snowflake.connector import config_manager as cm
    from snowflake.connector.sf_dirs import _resolve_platform_dirs

    folder = Path(_resolve_platform_dirs().user_config_path)
    original = cm.CONFIG_MANAGER
    assert original.file_path is not None  # the connector always gives its root manager a file
    manager = cm.ConfigManager(
        name=original.name,
        file_path=folder / original.file_path.name,
        _slices=[s._replace(path=folder / s.path.name) for s in original._slices],
    )
    for option in original._options.values():
        manager.add_option(
            name=option.name,
            parse_str=option.parse_str,
            choices=option.choices,
            env_name=option.env_name,
            default=option.default,
        )
    return manager


def snowflake_home() -> Path:
    """The folder the connector reads connections.toml and config.toml from."""
    from snowflake.connector.sf_dirs import _resolve_platform_dirs

    return Path(_resolve_platform_dirs().user_config_path)


def _plain(value: Any) -> Any:
    """tomlkit's containers and items as plain dicts, strings and numbers."""
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if callable(unwrap) else value


def connector_connections(manager: ConfigManager | None = None) -> tuple[dict[str, dict[str, Any]], str]:
    """All connections the connector knows and the name of its default one (its rules, its errors)."""
    from snowflake.connector.errors import Error

    manager = manager or connector_config_manager()
    try:
        connections = _plain(manager["connections"])
        default = str(_plain(manager["default_connection_name"]))
    except Error as e:  # a file others can write, or a file that is not TOML: the connector names it
        cause = f" ({e.__cause__})" if e.__cause__ else ""
        raise ConfigError(f"Snowflake connections: {e}{cause}") from None
    except Exception as e:  # SNOWFLAKE_CONNECTIONS that tomlkit cannot parse
        if os.environ.get("SNOWFLAKE_CONNECTIONS") is not None:
            raise ConfigError(f"SNOWFLAKE_CONNECTIONS is not valid TOML: {e}") from None
        raise
    if not isinstance(connections, dict) or not all(isinstance(v, dict) for v in connections.values()):
        raise ConfigError("Snowflake connections: every connection must be a TOML table ([name] with keys)")
    return connections, default


def _typed(key: str, value: str, var: str) -> Any:
    """An environment value as the type the connector expects for `key` (its DEFAULT_CONFIGURATION)."""
    from snowflake.connector.connection import DEFAULT_CONFIGURATION

    _default, types = DEFAULT_CONFIGURATION.get(key, (None, str))
    accepted = types if isinstance(types, tuple) else (types,)
    if str in accepted:
        return value
    if bool in accepted:
        if value.lower() not in ("true", "false"):
            raise ConfigError(f"{var} must be true or false for Snowflake setting {key!r}")
        return value.lower() == "true"
    if int in accepted:
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{var} must be a whole number for Snowflake setting {key!r}") from None
    return value


def env_overrides(name: str, params: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the environment changes in connection `name`, as the Snowflake CLI documents it:
    `SNOWFLAKE_CONNECTIONS_<NAME>_<KEY>` replaces a key; `SNOWFLAKE_<KEY>` only fills a missing one."""
    env = os.environ if env is None else env
    out: dict[str, Any] = {}
    prefix = f"SNOWFLAKE_CONNECTIONS_{name.upper()}_"
    for var, value in env.items():
        if var.startswith(prefix) and len(var) > len(prefix) and value != "":
            key = var[len(prefix) :].lower()
            out[key] = _typed(key, value, var)
    for key in GENERIC_ENV_KEYS:
        var = f"SNOWFLAKE_{key.upper()}"
        if key not in params and key not in out and env.get(var):
            out[key] = _typed(key, env[var], var)
    return out


def snowflake_connection_params(
    connection_name: str | None = None, *, project_dir: Path | None = None
) -> ConnectionParams:
    """The keyword arguments for `snowflake.connector.connect` / Snowpark's Session builder.

    `connection_name` is the profile's; without it the connector's default connection is used.
    """
    home = snowflake_home()
    if project_dir is not None and home.resolve().is_relative_to(project_dir.resolve()):
        raise ConfigError(
            f"the Snowflake folder {home} (SNOWFLAKE_HOME) is inside the project folder; keep "
            "connections.toml (and its secrets) outside the repository"
        )
    connections, default = connector_connections()
    name = connection_name or default
    if name not in connections:
        raise ConfigError(missing_connection_message(name, connections, home, explicit=connection_name is not None))
    found = connections[name]
    params = ConnectionParams({**found, **env_overrides(name, found)})
    _check(params, name, home, project_dir)
    register_secret(*(v for k, v in params.items() if k in SECRET_KEYS))
    return params


def missing_connection_message(name: str, connections: Mapping[str, Any], home: Path, *, explicit: bool) -> str:
    """Which connection is missing, where it was looked for, and the nearest known name."""
    if explicit:
        where = "the profile's connection_name"
    elif os.environ.get("SNOWFLAKE_DEFAULT_CONNECTION_NAME") is not None:
        where = "SNOWFLAKE_DEFAULT_CONNECTION_NAME"
    elif name != "default":
        where = f"default_connection_name in {home / 'config.toml'}"
    else:
        where = "the default connection"
    hint = did_you_mean(name, list(connections))
    source = (
        "SNOWFLAKE_CONNECTIONS"
        if os.environ.get("SNOWFLAKE_CONNECTIONS") is not None
        else f"{home / 'connections.toml'} or [connections] in {home / 'config.toml'}"
    )
    return (
        f"Snowflake connection {name!r} ({where}) not found in {source}; known: {sorted(connections) or 'none'}{hint}"
    )


def _check(params: dict[str, Any], name: str, home: Path, project_dir: Path | None) -> None:
    """Settings the connector would only reject at login, named now; key files kept out of the project."""
    for required in ("account", "user"):
        if not params.get(required):
            raise ConfigError(
                f"Snowflake setting {required!r} is missing: set it in connection {name!r} of "
                f"{home / 'connections.toml'} or in SNOWFLAKE_CONNECTIONS_{name.upper()}_{required.upper()}"
            )
    # a private_key_file without an authenticator is key-pair auth: the connector switches to it itself
    default_auth = "SNOWFLAKE_JWT" if params.get("private_key_file") else "snowflake"
    auth = str(params.get("authenticator") or default_auth).upper()
    if auth == "SNOWFLAKE_JWT":
        if not params.get("private_key_file") and not params.get("private_key"):
            raise ConfigError(
                f"connection {name!r} uses authenticator=SNOWFLAKE_JWT but has no private_key_file "
                f"(or SNOWFLAKE_CONNECTIONS_{name.upper()}_PRIVATE_KEY_FILE)"
            )
        if params.get("private_key_file"):
            key_file = Path(str(params["private_key_file"])).expanduser()
            if project_dir is not None and key_file.resolve().is_relative_to(project_dir.resolve()):
                raise ConfigError(f"private_key_file {key_file} is inside the project folder; keep keys outside it")
            params["private_key_file"] = str(key_file)
    elif auth in ("SNOWFLAKE", "USERNAME_PASSWORD_MFA") and not params.get("password"):
        raise ConfigError(
            f"connection {name!r} has no password (or SNOWFLAKE_CONNECTIONS_{name.upper()}_PASSWORD); "
            "use a password or a private_key_file (key-pair authentication)"
        )


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


def _secret_env_values(env: Mapping[str, str]) -> set[str]:
    """Secret values in the environment: the named variables and SNOWFLAKE_CONNECTIONS_<NAME>_<SECRET>."""
    values = {env[k] for k in SECRET_ENV if env.get(k)}
    suffixes = tuple(f"_{k.upper()}" for k in SECRET_KEYS)
    values |= {v for k, v in env.items() if k.startswith("SNOWFLAKE_CONNECTIONS_") and k.endswith(suffixes) and v}
    return values


def scrub(text: str, params: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> str:
    """`text` with every known secret value replaced by '***'.

    Why: the connector and boto3 may echo parameters in exception messages; every message we
    print or store passes through here, so a password cannot reach the terminal or target/.
    """
    env = os.environ if env is None else env
    secrets = {str(v) for k, v in (params or {}).items() if k in SECRET_KEYS and v}
    secrets |= _secret_env_values(env)
    secrets |= _KNOWN_SECRETS
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:  # a 1-3 character "secret" would blank out ordinary words
            text = text.replace(secret, "***")
    return text
