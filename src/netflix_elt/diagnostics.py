"""`netflix-elt debug` (dbt debug): the versions, each setting and where it came from, then the checks.

Checks run in order (config, packages, project, landing, connection) and stop at the first failure, which is
raised as the error of what failed (a bad setting exit 2, a missing landing exit 4, a held lock
exit 3) with a message that names the check. Nothing is written: on the embedded engine a
warehouse folder that does not exist yet is not created, the engine is tried on a throwaway one.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from netflix_elt.config import CONFIG_FILE, Settings
from netflix_elt.errors import ConfigError, NetflixEltError
from netflix_elt.sql import first_line

# the packages whose versions matter when reporting a problem, and the engine that needs each
PACKAGES: tuple[tuple[str, str | None], ...] = (
    ("netflix-elt", None),
    ("snowflake-snowpark-python", None),
    ("snowflake-connector-python", None),
    ("fakesnow", "embedded"),
    ("duckdb", "embedded"),
    ("great-expectations", None),
    ("sqlglot", None),
    ("pandas", None),
    ("pyarrow", None),
    ("pydantic", None),
    ("click", None),
)


@dataclass(frozen=True)
class Setting:
    """One resolved setting, its value and where it came from (flag, environment variable, config, default)."""

    name: str
    value: str
    source: str


Report = Callable[[str, bool, str], None]  # (check, passed, detail)


def versions() -> list[tuple[str, str]]:
    """Python's and the key packages' versions ("not installed" for a missing one)."""
    out = [("python", platform.python_version())]
    for package, _ in PACKAGES:
        try:
            out.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            out.append((package, "not installed"))
    return out


def check_packages(settings: Settings) -> str:
    """Every package the profile's engine needs is installed."""
    have = dict(versions())
    for package, needed_by in PACKAGES:
        if needed_by in (None, settings.engine) and have[package] == "not installed" and package != "netflix-elt":
            raise ConfigError(f"package {package!r} is not installed; the {settings.engine} engine needs it")
    return f"the {settings.engine} engine's packages are installed"


def _env(var: str) -> str | None:
    return os.environ.get(var) or None


def describe_settings(settings: Settings, given: Mapping[str, str]) -> list[Setting]:
    """Every setting a command resolves, with its source. `given` maps an option to how it was passed
    (`--target`, or an environment variable that click read for the option)."""
    s, cfg = settings, settings.config
    config = str(s.project_dir / CONFIG_FILE)

    def source(option: str, env: str, fallback: str) -> str:
        if option in given:
            return given[option]
        return f"environment {env}" if _env(env) else fallback

    profile = s.profile_config
    rows = [
        Setting(
            "project folder",
            str(s.project_dir),
            source("project_dir", "NETFLIX_ELT_PROJECT_DIR", "found from the current folder"),
        ),  # fmt: skip
        Setting("config file", config, "project folder"),
        Setting(
            "target",
            f"{s.target} (schema {s.database}.{s.target_schema})",
            source("target", "NETFLIX_ELT_TARGET", "[project] default_target"),
        ),  # fmt: skip
        Setting(
            "profile",
            f"{s.profile} (engine {s.engine})",
            source("profile", "NETFLIX_ELT_PROFILE", "[project] default_profile"),
        ),  # fmt: skip
        Setting("state folder", str(s.state_dir), source("", "NETFLIX_ELT_HOME", "default: <project>/.netflix_elt")),
        Setting(
            "artifacts (target path)",
            str(s.target_dir),
            source("", "NETFLIX_ELT_TARGET_PATH", "default: <project>/target"),
        ),  # fmt: skip
        Setting("landing", s.landing_url, "[landing] url" if cfg.landing.url else "default: <state folder>/landing"),
        Setting("threads", str(s.threads), source("threads", "NETFLIX_ELT_THREADS", "[project] threads")),
        Setting("transforms package", cfg.project.transforms, "[project] transforms"),
        Setting("layers", ", ".join(cfg.project.layers), "[project] layers"),
        Setting("seeds folder", str(s.project_dir / cfg.project.seeds), "[project] seeds"),
    ]
    if s.engine == "embedded":
        rows.append(Setting("warehouse folder", str(s.warehouse_dir), "<state folder>/warehouse"))
    else:
        name = profile.connection_name or _env("SNOWFLAKE_DEFAULT_CONNECTION_NAME") or "default"
        where = (
            f"profiles.{s.profile}.connection_name"
            if profile.connection_name
            else (
                "environment SNOWFLAKE_DEFAULT_CONNECTION_NAME"
                if _env("SNOWFLAKE_DEFAULT_CONNECTION_NAME")
                else "the default connection"
            )  # fmt: skip
        )
        rows.append(Setting("snowflake connection", name, where))
    return rows


def check_project(settings: Settings) -> str:
    """The transforms import and the graph is valid (unknown inputs, cycles, layers)."""
    from netflix_elt.registry import load_project

    project = load_project(settings)
    kinds: dict[str, int] = {}
    for node in project.nodes.values():
        kinds[node.kind] = kinds.get(node.kind, 0) + 1
    return ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(kinds.items()))


def check_landing(settings: Settings) -> str:
    """The landing can be listed. A configured folder or bucket that is missing fails (exit 4); the
    default folder before the first `extract` is only reported."""
    from netflix_elt.errors import IngestError
    from netflix_elt.ingest.landing import Landing
    from netflix_elt.ingest.landing.local import LocalLanding

    landing = Landing.from_url(settings.landing_url)
    if isinstance(landing, LocalLanding) and not landing.root.is_dir():
        if settings.config.landing.url:
            raise IngestError(
                f"landing folder {landing.root} does not exist ([landing] url in {settings.project_dir / CONFIG_FILE})"
            )
        return f"{landing.url} not created yet: `netflix-elt extract` writes it"
    batches = landing.next_batch() - 1
    return f"{landing.url} reachable, {batches} complete batch{'es' if batches != 1 else ''}"


def check_connection(settings: Settings) -> str:
    """A session opens and answers a query; on the embedded engine, without creating a warehouse."""
    from netflix_elt.adapters import adapter_for

    probe, throwaway = settings, None
    if settings.engine == "embedded" and not settings.warehouse_dir.is_dir():
        throwaway = Path(tempfile.mkdtemp(prefix="netflix-elt-debug-"))
        probe = settings.model_copy(update={"state_dir": throwaway})
    adapter = adapter_for(probe, command="netflix-elt debug", lock_timeout=0.0)
    try:
        row = adapter.session.sql("SELECT CURRENT_VERSION()").collect()[0]
        if settings.engine == "embedded":
            where = (
                f"the warehouse {settings.warehouse_dir}"
                if throwaway is None
                else f"a throwaway folder ({settings.warehouse_dir} does not exist yet: `netflix-elt init` creates it)"
            )
            return f"embedded engine answered (version {row[0]}) on {where}"
        return f"Snowflake answered (version {row[0]}) as {adapter.session.get_current_user() or '?'}"
    finally:
        release = getattr(adapter, "release", None)
        if release is not None:  # embedded: detach the files and give the lock back
            release()
        else:
            adapter.close()
        if throwaway is not None:
            shutil.rmtree(throwaway, ignore_errors=True)


CHECKS: tuple[tuple[str, Callable[[Settings], str]], ...] = (
    ("packages", check_packages),
    ("project", check_project),
    ("landing", check_landing),
    ("connection", check_connection),
)


def run_checks(settings: Settings, report: Report) -> None:
    """Run the checks in order; the first failure is reported, then raised naming the check."""
    for name, check in CHECKS:
        try:
            detail = check(settings)
        except Exception as e:
            report(name, False, str(e) if isinstance(e, NetflixEltError) else f"{type(e).__name__}: {first_line(e)}")
            raise failed(name, e) from e
        report(name, True, detail)


def failed(name: str, error: Exception) -> NetflixEltError:
    """The error `debug` exits with: the failed check's own kind (so its exit code), naming the check."""
    text = str(error) if isinstance(error, NetflixEltError) else f"{type(error).__name__}: {first_line(error)}"
    kind = type(error) if isinstance(error, NetflixEltError) else ConfigError
    try:
        return kind(f"debug: the {name} check failed: {text}")
    except TypeError:
        return ConfigError(f"debug: the {name} check failed: {text}")
