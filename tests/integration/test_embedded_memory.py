"""The embedded engine's DuckDB memory cap (`profiles.<name>.memory_limit`, docs/EMULATOR_GAPS.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netflix_elt import tempfiles
from netflix_elt.api import Workspace
from netflix_elt.config import load_settings
from netflix_elt.errors import ConfigError
from tests.conftest import PROJECT_DIR, tiny_config


def _settings_of(ws: Workspace, *names: str) -> tuple[str, ...]:
    cols = ", ".join(f"current_setting('{n}')" for n in names)
    return tuple(ws.session.sql(f"SELECT {cols}").collect()[0])


def _project(root: Path, profile_lines: str) -> Path:
    config = tiny_config("").replace('engine = "embedded"\n', f'engine = "embedded"\n{profile_lines}')
    (root / "config").mkdir(parents=True)
    (root / "config" / "netflix_elt.toml").write_text(config.format(package="no_transforms"))
    return root


def test_the_default_caps_duckdb_at_1gb_and_spills_into_the_process_folder(isolated_home):
    ws = Workspace.from_options(PROJECT_DIR)
    try:
        limit, spill = _settings_of(ws, "memory_limit", "temp_directory")
        assert limit == "953.6 MiB"  # DuckDB's 1GB is 10^9 bytes
        # never DuckDB's default `.tmp` in the working folder: a private folder swept with the process's
        assert Path(spill).parent == tempfiles.process_dir() and Path(spill).name.startswith("netflix-elt-spill-")
    finally:
        ws.adapter.release()


def test_a_query_larger_than_the_cap_spills_and_answers_exactly(tmp_path, isolated_home):
    """3 M groups of 2 rows need far more than 32 MB: DuckDB spills, and the counts are exact."""
    ws = Workspace.from_options(_project(tmp_path / "p", 'memory_limit = "32MB"\n'))
    try:
        assert _settings_of(ws, "memory_limit") == ("30.5 MiB",)
        groups, rows, smallest, largest = ws.session.sql(
            "SELECT COUNT(*), SUM(c), MIN(c), MAX(c) FROM (SELECT SEQ4() % 3000000 AS k, COUNT(*) AS c "
            "FROM TABLE(GENERATOR(ROWCOUNT => 6000000)) GROUP BY k)"
        ).collect()[0]
        assert (groups, rows, smallest, largest) == (3_000_000, 6_000_000, 2, 2)
    finally:
        ws.adapter.release()


def test_none_keeps_duckdbs_own_limit(tmp_path, isolated_home):
    ws = Workspace.from_options(_project(tmp_path / "p", 'memory_limit = "none"\n'))
    try:
        limit, spill = _settings_of(ws, "memory_limit", "temp_directory")
        assert limit != "953.6 MiB" and spill == ".tmp"  # DuckDB's defaults: 80 % of RAM, `.tmp`
    finally:
        ws.adapter.release()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('memory_limit = "lots"\n', "'lots' is not a memory size"),
        ('memory_limit = "-1GB"\n', "is not a memory size"),
        ("memory_limit = 1\n", "memory_limit"),
    ],
)
def test_a_bad_memory_limit_is_refused_naming_the_setting(tmp_path, lines, message):
    root = _project(tmp_path / "p", lines)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(root)
    assert "memory_limit" in str(info.value)


def test_memory_limit_on_a_snowflake_profile_is_refused(tmp_path):
    root = _project(tmp_path / "p", "")
    path = root / "config" / "netflix_elt.toml"
    path.write_text(path.read_text() + '\n[profiles.sf]\nengine = "snowflake"\nmemory_limit = "2GB"\n')
    with pytest.raises(ConfigError, match="memory_limit applies to the embedded engine only"):
        load_settings(root, profile="sf")
