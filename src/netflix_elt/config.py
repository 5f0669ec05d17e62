"""Project configuration: `config/netflix_elt.toml`, validated with pydantic.

Settings are resolved once per command into a frozen :class:`Settings`, so every module reads the
same names. Every identifier that ends up in SQL is validated here, before any SQL runs.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from netflix_elt.errors import ConfigError
from netflix_elt.suggest import did_you_mean

CONFIG_FILE = Path("config") / "netflix_elt.toml"
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")
SQL_TYPES = {"INTEGER", "BIGINT", "FLOAT", "DOUBLE", "VARCHAR", "DATE", "TIMESTAMP_NTZ", "BOOLEAN"}
# a file name used inside a folder we own (landing file, seed file): no separators, no '..'
PLAIN_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
DEFAULT_LAYERS = ("staging", "intermediate", "core", "marts")
LAYER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# layers of nodes the framework makes itself: sources, seeds, snapshots, analyses (always allowed)
RESERVED_LAYERS = ("raw", "seeds", "snapshots", "analyses")
# one pair of ml-20m full builds: peak 2.47 GB with DuckDB's default (80 % of RAM), 2.02 GB with 1 GB,
# the validate stage 17.7 s against 14.4 s (the cap drops cached blocks and spills, never data)
EMBEDDED_MEMORY_LIMIT = "1GB"
MEMORY_SIZE = re.compile(r"([0-9]+(\.[0-9]+)?) ?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)  # fullmatch
MEMORY_UNITS = {"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def check_identifier(value: str, setting: str) -> str:
    """Reject anything that is not a plain Snowflake identifier (so no quoting tricks reach SQL)."""
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ConfigError(
            f"setting {setting} = {value!r} is not a valid identifier "
            "(letters, digits, _ and $, starting with a letter or _)"
        )
    return value.upper()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ident(v: str) -> str:
    if not IDENTIFIER.match(v):
        raise ValueError(f"{v!r} is not a valid identifier (letters, digits, _ and $)")
    return v.upper()


class ProjectSection(_Model):
    name: str = "movielens"
    transforms: str = "transforms"
    seeds: str = "seeds"
    default_target: str = "dev"
    default_profile: str = "local"
    threads: int = Field(default=4, ge=1, le=64)
    lock_timeout: float = Field(default=60.0, ge=0)  # seconds a writing command waits for the warehouse lock
    # the layers a transform may declare, in build order (dbt's model folders); `analyses` is always allowed
    layers: tuple[str, ...] = DEFAULT_LAYERS

    @field_validator("layers")
    @classmethod
    def _layers(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError('give at least one layer, e.g. layers = ["staging", "core", "marts"]')
        for layer in v:
            if not LAYER_NAME.match(layer):
                raise ValueError(f"{layer!r} is not a layer name (a-z, 0-9 and _, starting with a letter)")
            if layer in RESERVED_LAYERS:
                raise ValueError(f"{layer!r} is the layer of the framework's own nodes ({', '.join(RESERVED_LAYERS)})")
        dup = sorted({x for x in v if v.count(x) > 1})
        if dup:
            raise ValueError(f"{dup[0]!r} is listed twice")
        return v


class WarehouseSection(_Model):
    database: str = "MOVIELENS"
    raw_schema: str = "RAW"
    snapshot_schema: str = "SNAPSHOTS"
    audit_schema: str = "AUDIT"

    _check = field_validator("database", "raw_schema", "snapshot_schema", "audit_schema")(
        classmethod(lambda cls, v: _ident(v))
    )


class TargetSection(_Model):
    schema_: str = Field(alias="schema")

    _check = field_validator("schema_")(classmethod(lambda cls, v: _ident(v)))


class ProfileSection(_Model):
    engine: Literal["embedded", "snowflake"]
    connection_name: str | None = None
    storage_integration: str | None = None
    role: str | None = None
    warehouse: str | None = None
    # the dashboard on Streamlit in Snowflake's container runtime: where it runs, and its way to PyPI
    compute_pool: str | None = None
    pypi_access_integration: str | None = None
    # the embedded engine's DuckDB memory limit ("1GB", "512MB", "none" for DuckDB's 80 % of RAM):
    # past it DuckDB evicts cached table blocks and spills to disk instead of growing
    memory_limit: str = EMBEDDED_MEMORY_LIMIT

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit(cls, v: str) -> str:
        if v.lower() == "none":
            return v
        size = MEMORY_SIZE.fullmatch(v)
        if not size:
            raise ValueError(f'{v!r} is not a memory size: give e.g. "1GB", "1.5GB", "512MB", or "none"')
        if float(size[1]) * MEMORY_UNITS[size[3].lower()] < 16 * 2**20:  # DuckDB answers nothing below a few MB
            raise ValueError(f"{v!r} is too small: give at least 16MB")
        return v

    @model_validator(mode="after")
    def _embedded_only(self) -> ProfileSection:
        if self.engine != "embedded" and "memory_limit" in self.model_fields_set:
            raise ValueError("memory_limit applies to the embedded engine only (a Snowflake warehouse sizes itself)")
        return self


class LandingSection(_Model):
    url: str | None = None


PERIODS = {"minute": 60, "hour": 3600, "day": 86400}
_PERIOD = re.compile(r"^\s*([1-9][0-9]{0,5})\s+(minute|hour|day)s?\s*$", re.IGNORECASE)


def parse_period(text: str) -> tuple[int, str]:
    """'2 days' -> (2, 'day'): dbt's freshness count and period (minute, hour or day)."""
    m = _PERIOD.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"{text!r} is not a period such as '30 minutes', '12 hours' or '2 days'")
    return int(m.group(1)), m.group(2).lower()


class FreshnessSection(_Model):
    """How old a source's newest row may be (dbt's source freshness): `field` is its load time."""

    warn_after: str | None = None
    error_after: str | None = None
    field: str = "_LOADED_AT"

    _check = field_validator("field")(classmethod(lambda cls, v: _ident(v)))

    @field_validator("warn_after", "error_after")
    @classmethod
    def _period(cls, v: str | None) -> str | None:
        if v is not None:
            parse_period(v)
        return v

    @model_validator(mode="after")
    def _thresholds(self) -> FreshnessSection:
        if self.warn_after is None and self.error_after is None:
            raise ValueError('give warn_after, error_after or both, e.g. warn_after = "2 days"')
        if self.warn_after and self.error_after and self.seconds("warn_after") >= self.seconds("error_after"):  # type: ignore[operator]
            raise ValueError(f"warn_after ({self.warn_after}) must be shorter than error_after ({self.error_after})")
        return self

    def after(self, which: str) -> tuple[int, str] | None:
        text = getattr(self, which)
        return parse_period(text) if text else None

    def seconds(self, which: str) -> int | None:
        t = self.after(which)
        return t[0] * PERIODS[t[1]] if t else None


class SourceSection(_Model):
    table: str
    file: str
    mode: Literal["append", "full"] = "append"
    optional: bool = False
    columns: dict[str, str]
    nullable: tuple[str, ...] = ()
    ranges: dict[str, tuple[float, float]] = {}
    description: str = ""
    # Snowflake's COPY ON_ERROR; default: continue for append sources, abort_statement for full
    # extracts (a reject in a full extract would otherwise read downstream as a deletion)
    on_error: str | None = None
    # a full extract whose keys drop by more than this fraction versus the previous one is refused
    max_delete_fraction: float = Field(default=0.05, ge=0, le=1)
    key: tuple[str, ...] = ()  # columns that identify a record (for the deletion guard)
    trim_space: bool = False  # Snowflake's TRIM_SPACE: strip spaces around unquoted fields
    freshness: FreshnessSection | None = None  # `netflix-elt source freshness`

    _check = field_validator("table")(classmethod(lambda cls, v: _ident(v)))

    @field_validator("on_error")
    @classmethod
    def _on_error(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip().lower()
        if v in ("continue", "skip_file", "abort_statement") or re.fullmatch(r"skip_file_[1-9][0-9]*%?", v):
            if v.endswith("%") and int(v[10:-1]) > 100:
                raise ValueError(f"on_error {v!r}: a percentage is at most 100")
            return v
        raise ValueError(
            f"on_error {v!r} is not one of continue, skip_file, skip_file_<N>, skip_file_<N>%, abort_statement"
        )

    @property
    def on_error_policy(self) -> str:
        return self.on_error or ("continue" if self.mode == "append" else "abort_statement")

    @field_validator("columns")
    @classmethod
    def _types(cls, v: dict[str, str]) -> dict[str, str]:
        for col, typ in v.items():
            _ident(col)
            if typ.upper() not in SQL_TYPES:
                raise ValueError(f"column {col}: type {typ!r} is not one of {sorted(SQL_TYPES)}")
        return {c: t.upper() for c, t in v.items()}


class SeedSection(_Model):
    file: str
    columns: dict[str, str]
    description: str = ""

    @field_validator("columns")
    @classmethod
    def _types(cls, v: dict[str, str]) -> dict[str, str]:
        return SourceSection._types(v)  # type: ignore[operator]


class SnapshotMetaColumns(_Model):
    """Names of the SCD2 meta columns (dbt's `snapshot_meta_column_names`), e.g. dbt_valid_from."""

    valid_from: str = "VALID_FROM"
    valid_to: str = "VALID_TO"
    is_current: str = "IS_CURRENT"
    snapshot_row_id: str = "SNAPSHOT_ROW_ID"
    updated_at: str = "UPDATED_AT"
    is_deleted: str = "IS_DELETED"

    _check = field_validator("*")(classmethod(lambda cls, v: _ident(v)))

    @model_validator(mode="after")
    def _distinct(self) -> SnapshotMetaColumns:
        names = list(self.model_dump().values())
        if len(set(names)) != len(names):
            raise ValueError(f"meta column names must differ, got {names}")
        return self


class SnapshotsSection(_Model):
    meta_column_names: SnapshotMetaColumns = SnapshotMetaColumns()


class ProjectConfig(_Model):
    project: ProjectSection = ProjectSection()
    warehouse: WarehouseSection = WarehouseSection()
    targets: dict[str, TargetSection] = {"dev": TargetSection(schema="DEV")}
    profiles: dict[str, ProfileSection] = {"local": ProfileSection(engine="embedded")}
    landing: LandingSection = LandingSection()
    sources: dict[str, SourceSection] = {}
    seeds: dict[str, SeedSection] = {}
    snapshots: SnapshotsSection = SnapshotsSection()

    @model_validator(mode="after")
    def _names_are_safe(self) -> ProjectConfig:
        """Every config name that reaches SQL or a path is a plain identifier or file name.

        Why: a dict key such as ``[seeds."x; DROP SCHEMA RAW"]`` or ``[sources."../../tmp/x"]``
        would otherwise reach the engine or a file path; errors name the key (``loc`` is empty
        for a model validator, so each message carries it).
        """
        for kind, section in (("sources", self.sources), ("seeds", self.seeds)):
            for name in section:
                if not IDENTIFIER.match(name):
                    raise ValueError(
                        f"{kind}.{_key(name)}: the name is not a valid identifier (letters, digits, _ and $, "
                        "starting with a letter or _); it is used as a table and file name"
                    )
        for name, src in self.sources.items():
            where = f"sources.{name}"
            if not PLAIN_FILE.match(src.file):
                raise ValueError(f"{where}.file = {src.file!r} is not a plain file name (no '/', '\\' or '..')")
            columns = {c.upper() for c in src.columns}
            for col in src.nullable:
                if not IDENTIFIER.match(col) or col.upper() not in columns:
                    raise ValueError(f"{where}.nullable: {col!r} is not one of the declared columns")
            for col in src.key:
                if not IDENTIFIER.match(col) or col.upper() not in columns:
                    raise ValueError(f"{where}.key: {col!r} is not one of the declared columns")
            for col, bounds in src.ranges.items():
                if not IDENTIFIER.match(col) or col.upper() not in columns:
                    raise ValueError(f"{where}.ranges.{_key(col)}: not one of the declared columns")
                lo, hi = bounds
                if not (math.isfinite(lo) and math.isfinite(hi)):
                    raise ValueError(f"{where}.ranges.{col} = [{lo}, {hi}]: bounds must be finite numbers")
                if lo > hi:
                    raise ValueError(f"{where}.ranges.{col} = [{lo}, {hi}]: the lower bound is above the upper")
        for name, profile in self.profiles.items():
            for key in ("role", "warehouse", "storage_integration", "compute_pool", "pypi_access_integration"):
                value = getattr(profile, key)
                if value is not None and not IDENTIFIER.match(value):
                    raise ValueError(f"profiles.{_key(name)}.{key} = {value!r} is not a valid identifier")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", self.project.transforms):
            raise ValueError(f"project.transforms = {self.project.transforms!r} is not a Python package name")
        seeds_dir = self.project.seeds.replace("\\", "/").rstrip("/").split("/")
        if self.project.seeds.startswith("/") or not all(PLAIN_FILE.match(p) for p in seeds_dir):
            raise ValueError(
                f"project.seeds = {self.project.seeds!r} must be a relative folder inside the project (no '..')"
            )
        for name, seed in self.seeds.items():
            parts = seed.file.replace("\\", "/").split("/")
            if seed.file.startswith("/") or not all(PLAIN_FILE.match(p) for p in parts):
                raise ValueError(
                    f"seeds.{name}.file = {seed.file!r} must be a relative path inside the seeds folder "
                    "(plain names, no '..')"
                )
        return self


def _key(name: str) -> str:
    """A TOML key as the user wrote it: bare when it can be, else quoted."""
    return name if re.match(r"^[A-Za-z0-9_-]+$", name) else json.dumps(name)


class Settings(_Model):
    """Everything a command needs, resolved from the config file, flags and environment."""

    project_dir: Path
    state_dir: Path
    config: ProjectConfig
    target: str
    profile: str
    threads: int

    @property
    def database(self) -> str:
        return self.config.warehouse.database

    @property
    def raw_schema(self) -> str:
        return self.config.warehouse.raw_schema

    @property
    def snapshot_schema(self) -> str:
        return self.config.warehouse.snapshot_schema

    @property
    def audit_schema(self) -> str:
        return self.config.warehouse.audit_schema

    @property
    def target_schema(self) -> str:
        return self.config.targets[self.target].schema_

    @property
    def profile_config(self) -> ProfileSection:
        return self.config.profiles[self.profile]

    @property
    def engine(self) -> str:
        return self.profile_config.engine

    @property
    def landing_url(self) -> str:
        return self.config.landing.url or str(self.state_dir / "landing")

    @property
    def warehouse_dir(self) -> Path:
        return self.state_dir / "warehouse"

    @property
    def target_dir(self) -> Path:
        """Artifacts folder (dbt's target-path): NETFLIX_ELT_TARGET_PATH, else <project>/target."""
        env = os.environ.get("NETFLIX_ELT_TARGET_PATH")
        return Path(env).resolve() if env else self.project_dir / "target"

    def fqn(self, schema: str, name: str) -> str:
        """Fully qualified, upper-case name of a warehouse object."""
        return f"{self.database}.{schema}.{name.upper()}"


def check_layer(settings: Settings, layer: str, option: str = "--layer") -> str:
    """A layer typed by the user, checked against `[project] layers` (did-you-mean on a typo)."""
    layers = settings.config.project.layers
    if layer in layers:
        return layer
    hint = did_you_mean(layer, layers)
    raise ConfigError(
        f"unknown layer {layer!r} ({option}): the layers are {', '.join(layers)} "
        f"([project] layers in {settings.project_dir / CONFIG_FILE}){hint}"
    )


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding config/netflix_elt.toml."""
    env = os.environ.get("NETFLIX_ELT_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise ConfigError(
        f"no {CONFIG_FILE} found in {here} or any parent folder; run netflix-elt from a project "
        "folder or pass --project-dir"
    )


def _format_validation_error(path: Path, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(_key(str(p)) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return f"invalid setting in {path}: " + "; ".join(parts)


def read_project_config(project_dir: Path) -> ProjectConfig:
    path = project_dir / CONFIG_FILE
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(path, e)) from None


def load_settings(
    project_dir: Path | None = None,
    *,
    target: str | None = None,
    profile: str | None = None,
    threads: int | None = None,
) -> Settings:
    """Resolve settings: flags beat environment variables, which beat the config file."""
    project_dir = (project_dir or find_project_dir()).resolve()
    config = read_project_config(project_dir)
    target = (target or os.environ.get("NETFLIX_ELT_TARGET") or config.project.default_target).lower()
    profile = (profile or os.environ.get("NETFLIX_ELT_PROFILE") or config.project.default_profile).lower()
    if target not in config.targets:
        hint = did_you_mean(target, config.targets)
        raise ConfigError(f"unknown target {target!r} (--target); configured targets: {sorted(config.targets)}{hint}")
    if profile not in config.profiles:
        hint = did_you_mean(profile, config.profiles)
        raise ConfigError(
            f"unknown profile {profile!r} (--profile){hint}; configured profiles: {sorted(config.profiles)}"
        )
    home = os.environ.get("NETFLIX_ELT_HOME")
    state_dir = Path(home).expanduser().resolve() if home else project_dir / ".netflix_elt"
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    return Settings(
        project_dir=project_dir,
        state_dir=state_dir,
        config=config,
        target=target,
        profile=profile,
        threads=threads or config.project.threads,
    )
