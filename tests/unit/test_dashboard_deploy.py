"""`netflix-elt dashboard --print-sql/--deploy`: its statements, parsed with sqlglot's Snowflake dialect,
and the one Streamlit version of the local lock and of the deployed app."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest
import sqlglot
from packaging.requirements import Requirement
from packaging.version import Version
from sqlglot import exp
from sqlglot.tokens import TokenType

from netflix_elt.config import load_settings
from netflix_elt.dashboard import APP_FILES, RUNTIME, deploy_statements
from netflix_elt.errors import ConfigError
from tests.conftest import PROJECT_DIR

# CREATE STREAMLIT's optional properties in the documented order
# (https://docs.snowflake.com/en/sql-reference/sql/create-streamlit)
DOCUMENTED = [
    "MAIN_FILE",
    "QUERY_WAREHOUSE",
    "RUNTIME_NAME",
    "COMPUTE_POOL",
    "COMMENT",
    "TITLE",
    "IMPORTS",
    "EXTERNAL_ACCESS_INTEGRATIONS",
    "SECRETS",
]
CONFIG = PROJECT_DIR / "config" / "netflix_elt.toml"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([0-9][^\s;#]*)$")


@pytest.fixture
def sf_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    return load_settings(PROJECT_DIR, profile="snowflake")


def parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)


def test_deploy_stages_every_app_file_then_creates_the_streamlit_on_the_container_runtime(sf_settings) -> None:
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
        assert Path(source.removeprefix("file://")).is_file()
        uploaded.append(source.rsplit("/", 1)[1])
    assert sorted(uploaded) == sorted(APP_FILES)  # the script, its queries module and requirements.txt
    assert "requirements.txt" in uploaded and "environment.yml" not in uploaded  # uv's file, not conda's

    # sqlglot has no tree for CREATE STREAMLIT: check the tokens against the documented syntax
    assert isinstance(parse(create), exp.Command)
    tokens = sqlglot.Dialect.get_or_raise("snowflake").tokenize(create)
    words = [t.text.upper() for t in tokens]
    assert words[:5] == ["CREATE", "OR", "REPLACE", "STREAMLIT", "MOVIELENS"]
    assert "".join(words[4:9]) == "MOVIELENS.DEV.MOVIELENS_DASHBOARD"
    i = words.index("FROM")
    assert tokens[i + 1].token_type == TokenType.STRING and tokens[i + 1].text == folder
    props = [w for w in words if w in DOCUMENTED]
    assert props == sorted(props, key=DOCUMENTED.index)
    assert props == [
        "MAIN_FILE",
        "QUERY_WAREHOUSE",
        "RUNTIME_NAME",
        "COMPUTE_POOL",
        "COMMENT",
        "TITLE",
        "EXTERNAL_ACCESS_INTEGRATIONS",
    ]
    assert all(words[k + 1] == "=" for k in range(len(words)) if words[k] in DOCUMENTED)
    values = {words[k]: tokens[k + 2] for k in range(len(words) - 2) if words[k] in DOCUMENTED}
    assert values["MAIN_FILE"].text == "movielens.py" and values["MAIN_FILE"].token_type == TokenType.STRING
    assert values["QUERY_WAREHOUSE"].text == "COMPUTE_WH" and values["QUERY_WAREHOUSE"].token_type == TokenType.VAR
    assert values["RUNTIME_NAME"].token_type == TokenType.STRING
    assert values["RUNTIME_NAME"].text == RUNTIME == "SYSTEM$ST_CONTAINER_RUNTIME_PY3_11"
    assert values["COMPUTE_POOL"].text == "MOVIELENS_STREAMLIT_POOL"
    assert values["COMPUTE_POOL"].token_type == TokenType.VAR
    k = words.index("EXTERNAL_ACCESS_INTEGRATIONS")
    assert words[k + 2 : k + 5] == ["(", "PYPI_ACCESS_INTEGRATION", ")"] and k + 5 == len(words)
    assert "ROOT_LOCATION" not in words  # the legacy form, which the container runtime refuses


def test_deploy_follows_the_target(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    prod = deploy_statements(load_settings(PROJECT_DIR, profile="snowflake", target="prod"))
    assert prod[0] == "CREATE STAGE IF NOT EXISTS MOVIELENS.PROD.NETFLIX_ELT_DASHBOARDS"
    assert prod[-1].startswith("CREATE OR REPLACE STREAMLIT MOVIELENS.PROD.MOVIELENS_DASHBOARD")
    with pytest.raises(ConfigError, match="--profile snowflake"):
        deploy_statements(load_settings(PROJECT_DIR, profile="local"))


def project_with_config(root: Path, config: str) -> Path:
    """A project folder with this config and the real app files (nothing else is read by deploy)."""
    (root / "config").mkdir(parents=True)
    (root / "config" / "netflix_elt.toml").write_text(config)
    shutil.copytree(PROJECT_DIR / "dashboards", root / "dashboards")
    return root


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ('warehouse = "COMPUTE_WH"\n', "a query warehouse"),
        ('compute_pool = "MOVIELENS_STREAMLIT_POOL"\n', "a compute pool"),
        ('pypi_access_integration = "PYPI_ACCESS_INTEGRATION"\n', "an external access integration to PyPI"),
    ],
)
def test_deploy_without_a_needed_setting_names_it(tmp_path, monkeypatch, line: str, what: str) -> None:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    config = CONFIG.read_text()
    assert config.count(line) == 1
    project = project_with_config(tmp_path / "project", config.replace(line, ""))
    key = line.split(" = ")[0]
    with pytest.raises(ConfigError, match=rf"--deploy needs {what}.*set {key} in \[profiles.snowflake\]"):
        deploy_statements(load_settings(project, profile="snowflake"))


def test_deploy_refuses_a_bad_compute_pool_name_and_a_missing_app_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    config = CONFIG.read_text()
    bad = config.replace('compute_pool = "MOVIELENS_STREAMLIT_POOL"', 'compute_pool = "pool; DROP DATABASE X"')
    with pytest.raises(ConfigError, match=r"profiles.snowflake.compute_pool = 'pool; DROP DATABASE X'"):
        load_settings(project_with_config(tmp_path / "bad", bad), profile="snowflake")
    project = project_with_config(tmp_path / "missing", config)
    (project / "dashboards" / "requirements.txt").unlink()
    with pytest.raises(ConfigError, match=r"dashboard's files are missing: .*dashboards/requirements\.txt"):
        deploy_statements(load_settings(project, profile="snowflake"))


# one Streamlit version ---------------------------------------------------------------------------
def pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a requirements file (comments and blank lines skipped), by lower-case name."""
    out = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip().removesuffix("\\").strip()
        if not line or line.startswith("--hash="):  # a hashed lock's continuation lines
            continue
        match = PIN.match(line)
        assert match, f"{path.name}:{n}: {raw!r} is not an exact pin (name==version)"
        out[match.group(1).lower().replace("_", "-")] = match.group(3)
    return out


def test_the_lock_pyproject_and_the_deployed_app_pin_one_streamlit() -> None:
    import streamlit

    locks = {}
    for lock in sorted(PROJECT_DIR.glob("requirements*.lock")):  # one lock, or runtime + dev locks
        for name, version in pins(lock).items():
            assert locks.setdefault(name, version) == version, f"{lock.name} pins {name} differently"
    deployed = pins(PROJECT_DIR / "dashboards" / "requirements.txt")
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    declared = [Requirement(d) for d in project["dependencies"] if re.match(r"streamlit\b", d)]
    assert len(declared) == 1 and declared[0].specifier.contains(locks["streamlit"])  # a range; the lock pins
    assert deployed["streamlit"] == locks["streamlit"] == streamlit.__version__  # the tests ran on it
    assert {name: locks.get(name) for name in deployed} == deployed  # every deployed pin is the lock's
    assert {"streamlit", "snowflake-snowpark-python", "pandas", "altair"} <= set(deployed)
    # the container runtime installs any Streamlit from 1.50 on; its warehouse runtime stops at 1.51.0,
    # whose pyarrow<22 / altair<6 / packaging<26 cannot install beside the lock
    assert Version(deployed["streamlit"]) >= Version("1.50")
    assert not (PROJECT_DIR / "dashboards" / "environment.yml").exists()  # no second, conda-side pin


def test_pins_rejects_a_loose_requirement(tmp_path) -> None:
    """Bad input for the reader above: a range instead of a pin names the file and line."""
    req = tmp_path / "requirements.txt"
    req.write_text("# ok\nstreamlit==1.52.2\naltair>=6\n")
    with pytest.raises(AssertionError, match=r"requirements.txt:3: 'altair>=6' is not an exact pin"):
        pins(req)
