"""Settings: names in errors, identifier validation, targets, profiles, state folder."""

import shutil
from pathlib import Path

import pytest

from netflix_elt.config import check_identifier, load_settings
from netflix_elt.errors import ConfigError
from tests.conftest import PROJECT_DIR


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    shutil.copy(PROJECT_DIR / "config" / "netflix_elt.toml", tmp_path / "config" / "netflix_elt.toml")
    return tmp_path


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "config" / "netflix_elt.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_defaults(project, monkeypatch):
    monkeypatch.delenv("NETFLIX_ELT_HOME", raising=False)
    s = load_settings(project)
    assert (s.database, s.raw_schema, s.target_schema, s.snapshot_schema) == ("MOVIELENS", "RAW", "DEV", "SNAPSHOTS")
    assert s.profile == "local" and s.engine == "embedded"
    assert s.state_dir == project / ".netflix_elt"
    assert s.landing_url == str(project / ".netflix_elt" / "landing")
    assert s.fqn("RAW", "raw_movies") == "MOVIELENS.RAW.RAW_MOVIES"


def test_prod_target_and_home_override(project, monkeypatch, tmp_path):
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "elsewhere"))
    s = load_settings(project, target="prod")
    assert s.target_schema == "PROD"
    assert s.state_dir == tmp_path / "elsewhere"
    assert s.warehouse_dir == tmp_path / "elsewhere" / "warehouse"


def test_unknown_target_and_profile_are_named(project):
    with pytest.raises(ConfigError, match=r"unknown target 'qa' \(--target\); configured targets: \['dev', 'prod'\]"):
        load_settings(project, target="qa")
    with pytest.raises(ConfigError, match=r"unknown profile 'cloud' \(--profile\)"):
        load_settings(project, profile="cloud")


def test_injection_in_a_schema_name_is_rejected_before_any_sql(project):
    _edit(project, 'raw_schema = "RAW"', 'raw_schema = "x; drop table y"')
    with pytest.raises(ConfigError, match=r"warehouse\.raw_schema: .*'x; drop table y' is not a valid identifier"):
        load_settings(project)


def test_bad_table_name_names_the_source(project):
    _edit(project, 'table = "RAW_TAGS"', 'table = "RAW TAGS"')
    with pytest.raises(ConfigError, match=r"sources\.raw_tags\.table"):
        load_settings(project)


def test_unknown_setting_is_named(project):
    _edit(project, "threads = 4", "threads = 4\nthredas = 8")
    with pytest.raises(ConfigError, match=r"project\.thredas: Extra inputs are not permitted"):
        load_settings(project)


def test_bad_column_type(project):
    _edit(project, 'tag = "VARCHAR", timestamp', 'tag = "TEXTBLOB", timestamp')
    with pytest.raises(ConfigError, match=r"sources\.raw_tags\.columns: .*type 'TEXTBLOB'"):
        load_settings(project)


def test_invalid_toml_and_missing_file(project, tmp_path):
    (project / "config" / "netflix_elt.toml").write_text("[project\nname=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(project)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nowhere")


def test_check_identifier():
    assert check_identifier("snap_Tags", "x") == "SNAP_TAGS"
    for bad in ("x; drop table y", "1abc", 'a"b', ""):
        with pytest.raises(ConfigError, match="setting s"):
            check_identifier(bad, "s")


def test_threads_must_be_positive(project):
    with pytest.raises(ConfigError, match="--threads"):
        load_settings(project, threads=0)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('on_error = "skip"', r"sources\.raw_movies\.on_error: .*'skip' is not one of continue, skip_file"),
        ('on_error = "skip_file_0"', r"sources\.raw_movies\.on_error"),
        ('on_error = "skip_file_101%"', r"a percentage is at most 100"),
        ('key = ["movie_id"]', r"sources\.raw_movies\.key: 'movie_id' is not one of the declared columns"),
        ("max_delete_fraction = 1.5", r"sources\.raw_movies\.max_delete_fraction"),
    ],
)
def test_load_policies_are_checked_when_the_config_loads(project, setting, message):
    _edit(project, 'key = ["movieId"]\n', setting + "\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(project)


def test_on_error_defaults_by_mode_and_is_normalized(project):
    _edit(project, 'key = ["movieId"]\n', 'key = ["movieId"]\non_error = "SKIP_FILE_10%"\n')
    sources = load_settings(project).config.sources
    assert sources["raw_movies"].on_error_policy == "skip_file_10%"
    assert sources["raw_tags"].on_error_policy == "abort_statement"
    assert sources["raw_ratings"].on_error_policy == "continue"
