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
        folder = Path(spill).parent
        assert folder.parent == tempfiles.process_dir() and folder.name.startswith("netflix-elt-spill-")
    finally:
        ws.adapter.release()


def test_a_query_larger_than_the_cap_spills_and_answers_exactly(tmp_path, isolated_home):
    """3 M groups of 2 rows need far more than 32 MB: DuckDB spills, and the counts are exact."""
    ws = Workspace.from_options(_project(tmp_path / "p", 'memory_limit = "32MB"\n'))
    try:
        limit, spill = _settings_of(ws, "memory_limit", "temp_directory")
        assert limit == "30.5 MiB" and not Path(spill).exists()  # DuckDB makes it when it first spills
        groups, rows, smallest, largest = ws.session.sql(
            "SELECT COUNT(*), SUM(c), MIN(c), MAX(c) FROM (SELECT SEQ4() % 3000000 AS k, COUNT(*) AS c "
            "FROM TABLE(GENERATOR(ROWCOUNT => 6000000)) GROUP BY k)"
        ).collect()[0]
        assert (groups, rows, smallest, largest) == (3_000_000, 6_000_000, 2, 2)
        assert Path(spill).is_dir()
    finally:
        ws.adapter.release()
    assert not Path(spill).parent.exists()  # the session's spill folder goes with it


def test_none_keeps_duckdbs_own_limit(tmp_path, isolated_home):
    import duckdb

    plain = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()
    ws = Workspace.from_options(_project(tmp_path / "p", 'memory_limit = "none"\n'))
    try:
        assert _settings_of(ws, "memory_limit", "temp_directory") == (plain[0], ".tmp")  # DuckDB's defaults
    finally:
        ws.adapter.release()


def test_a_limit_duckdb_refuses_is_a_config_error_and_other_sessions_stay_open(tmp_path, isolated_home, monkeypatch):
    """A limit past what DuckDB can hold passes the config's check but not DuckDB: the error names
    the setting, the failed login alone is closed (the process's other warehouse session still
    answers), the lock is released and no spill folder is left."""
    other = Workspace.from_options(PROJECT_DIR)
    try:
        assert other.session.sql("SELECT 1").collect()[0][0] == 1
        before = set(tempfiles.process_dir().glob("netflix-elt-spill-*"))
        monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home2"))  # a second warehouse folder, a login of its own
        root = _project(tmp_path / "p", 'memory_limit = "99999999999TB"\n')
        with pytest.raises(ConfigError, match=r"profiles\.local\.memory_limit = '99999999999TB': DuckDB refused it"):
            _ = Workspace.from_options(root).session
        assert set(tempfiles.process_dir().glob("netflix-elt-spill-*")) == before
        assert other.session.sql("SELECT 2").collect()[0][0] == 2
        fixed = root / "config" / "netflix_elt.toml"
        fixed.write_text(fixed.read_text().replace('"99999999999TB"', '"64MB"'))
        ws = Workspace.from_options(root)  # the lock was released: the folder opens at once
        try:
            assert _settings_of(ws, "memory_limit") == ("61.0 MiB",)
        finally:
            ws.adapter.release()
    finally:
        other.adapter.release()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('memory_limit = "lots"\n', "'lots' is not a memory size"),
        ('memory_limit = "-1GB"\n', "is not a memory size"),
        ('memory_limit = "\u0661GB"\n', "is not a memory size"),  # an Arabic-Indic digit one
        ('memory_limit = "0GB"\n', "'0GB' is too small: give at least 16MB"),
        ('memory_limit = "900KiB"\n', "is too small"),
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
