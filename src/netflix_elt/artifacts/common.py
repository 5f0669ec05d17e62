"""What every artifact shares: dbt's schema ids, the metadata block, atomic writes, target paths.

The files follow dbt's published schemas exactly (manifest v12, run_results v6, catalog v1,
sources v3), so dbt's own readers, dbt-artifacts-parser, dbt-coverage and catalog tools read
them. Nothing of netflix-elt's own goes at the top level or in `metadata` (dbt forbids extra
keys there); it lives under a node's `meta` or `config`, where dbt allows extras.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netflix_elt import __version__
from netflix_elt.config import Settings

SCHEMAS = "https://schemas.getdbt.com/dbt"
MANIFEST_VERSION = f"{SCHEMAS}/manifest/v12.json"
RUN_RESULTS_VERSION = f"{SCHEMAS}/run-results/v6.json"
CATALOG_VERSION = f"{SCHEMAS}/catalog/v1.json"
SOURCES_VERSION = f"{SCHEMAS}/sources/v3.json"
# the dbt release whose artifact schemas these files follow (readers branch on it); the framework's
# own version is in metadata.env.NETFLIX_ELT_VERSION
DBT_VERSION = "1.11.0"
TARGET_PATH = "target"  # dbt's default target-path: how paths inside the target folder are written


def now_iso() -> str:
    """dbt's timestamp form: ISO 8601 in UTC with a trailing Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def metadata(
    schema_version: str, settings: Settings, invocation_id: str, engine: str, started_at: str | None = None
) -> dict[str, Any]:
    """The `metadata` block dbt's BaseArtifactMetadata allows, and nothing else.

    `env` is dbt's string-to-string map (DBT_ENV_CUSTOM_ENV_*): the target, profile, engine and
    versions go there, as strings."""
    return {
        "dbt_schema_version": schema_version,
        "dbt_version": DBT_VERSION,
        "generated_at": now_iso(),
        "invocation_id": invocation_id,
        "invocation_started_at": started_at,
        "env": {
            "NETFLIX_ELT_VERSION": __version__,
            "NETFLIX_ELT_TARGET": settings.target,
            "NETFLIX_ELT_PROFILE": settings.profile,
            "NETFLIX_ELT_ENGINE": engine,
            "PYTHON_VERSION": platform.python_version(),
        },
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically, so a reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def target_relative(settings: Settings, path: Path) -> str:
    """A file inside the target folder as dbt writes it: `target/compiled/...`, relative to the
    project, also when NETFLIX_ELT_TARGET_PATH puts the folder elsewhere (never `../../tmp/...`)."""
    try:
        inner = Path(path).resolve().relative_to(settings.target_dir.resolve())
    except ValueError:  # not inside the target folder: relative to the project if it can be
        try:
            return Path(path).resolve().relative_to(settings.project_dir.resolve()).as_posix()
        except ValueError:
            return Path(path).name
    return (Path(TARGET_PATH) / inner).as_posix()


def project_relative(settings: Settings, file: str) -> str:
    """A project file (transform, seed, config) as dbt's `original_file_path`: relative, posix."""
    if not file:
        return ""
    try:
        return Path(file).resolve().relative_to(settings.project_dir.resolve()).as_posix()
    except ValueError:
        return Path(file).name
