"""`netflix-elt dashboard --print-sql/--deploy`: its statements, parsed with sqlglot's Snowflake dialect."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from netflix_elt.config import load_settings
from netflix_elt.dashboard import APP_FILES, deploy_statements
from netflix_elt.errors import ConfigError
from tests.conftest import PROJECT_DIR

# CREATE STREAMLIT's optional properties in the documented order
# (https://docs.snowflake.com/en/sql-reference/sql/create-streamlit)
DOCUMENTED = ["MAIN_FILE", "QUERY_WAREHOUSE", "RUNTIME_NAME", "COMPUTE_POOL", "COMMENT", "TITLE", "IMPORTS"]


@pytest.fixture
def sf_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    return load_settings(PROJECT_DIR, profile="snowflake")


def parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)


def test_deploy_stages_every_app_file_then_creates_the_streamlit_from_that_folder(sf_settings) -> None:
    stage_sql, *puts, create = deploy_statements(sf_settings)
    stage = parse(stage_sql)
    assert isinstance(stage, exp.Create) and stage.kind == "STAGE"
    assert stage.this.sql("snowflake") == "MOVIELENS.DEV.NETFLIX_ELT_DASHBOARDS"
    folder = "@MOVIELENS.DEV.NETFLIX_ELT_DASHBOARDS/movielens_dashboard"
    uploaded = []
    for sql in puts:
        put = parse(sql)
        assert isinstance(put, exp.Put), sql
        assert put.args["target"].name == folder
        props = {p.this.name.upper(): p.args["value"].sql("snowflake") for p in put.args["properties"].expressions}
        assert props == {"AUTO_COMPRESS": "FALSE", "OVERWRITE": "TRUE"}  # the files as they are, replaced
        source = put.this.name
        assert source.startswith("file:///") and source.endswith(tuple(APP_FILES))
        uploaded.append(source.rsplit("/", 1)[1])
    assert sorted(uploaded) == sorted(APP_FILES)  # the script, its queries module and environment.yml

    # sqlglot has no tree for CREATE STREAMLIT: check the tokens against the documented syntax
    assert isinstance(parse(create), exp.Command)
    tokens = sqlglot.Dialect.get_or_raise("snowflake").tokenize(create)
    words = [t.text.upper() for t in tokens]
    assert words[:5] == ["CREATE", "OR", "REPLACE", "STREAMLIT", "MOVIELENS"]
    assert "".join(words[4:9]) == "MOVIELENS.DEV.MOVIELENS_DASHBOARD"
    i = words.index("FROM")
    assert tokens[i + 1].token_type == TokenType.STRING and tokens[i + 1].text == folder
    props = [w for w in words if w in DOCUMENTED]
    assert props == sorted(props, key=DOCUMENTED.index) == ["MAIN_FILE", "QUERY_WAREHOUSE", "COMMENT", "TITLE"]
    values = {words[k]: tokens[k + 2] for k in range(len(words) - 2) if words[k] in DOCUMENTED}
    assert all(words[k + 1] == "=" for k in range(len(words)) if words[k] in DOCUMENTED)
    assert values["MAIN_FILE"].text == "movielens.py" and values["MAIN_FILE"].token_type == TokenType.STRING
    assert values["QUERY_WAREHOUSE"].text == "COMPUTE_WH" and values["QUERY_WAREHOUSE"].token_type == TokenType.VAR
    assert "ROOT_LOCATION" not in words  # the legacy form, warehouse runtime only


def test_deploy_follows_the_target_and_needs_a_warehouse(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    prod = deploy_statements(load_settings(PROJECT_DIR, profile="snowflake", target="prod"))
    assert prod[-1].startswith("CREATE OR REPLACE STREAMLIT MOVIELENS.PROD.MOVIELENS_DASHBOARD")
    with pytest.raises(ConfigError, match="--profile snowflake"):
        deploy_statements(load_settings(PROJECT_DIR, profile="local"))
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    config = (PROJECT_DIR / "config" / "netflix_elt.toml").read_text()
    assert 'warehouse = "COMPUTE_WH"\n' in config
    (project / "config" / "netflix_elt.toml").write_text(config.replace('warehouse = "COMPUTE_WH"\n', ""))
    with pytest.raises(ConfigError, match=r"warehouse in \[profiles.snowflake\]"):
        deploy_statements(load_settings(project, profile="snowflake"))


def test_environment_file_pins_a_streamlit_of_the_warehouse_runtime() -> None:
    import yaml

    env = yaml.safe_load((PROJECT_DIR / "dashboards" / "environment.yml").read_text())
    assert env["channels"] == ["snowflake"]
    deps = {d.split("=")[0]: d.split("=", 1)[1] if "=" in d else None for d in env["dependencies"]}
    assert deps["streamlit"] == "1.51.0" and deps["python"] == "3.11"
    assert "netflix-elt" not in deps  # inside Snowflake the app uses get_active_session()
