"""`load --print-sql` and `seed --print-sql` with `--profile snowflake` (issue 19): without connecting, the
script every statement of which parses as Snowflake SQL and keeps every rule of tests/snowflake_rules.py, over
an S3 landing (moto on 127.0.0.1) and the MovieLens fixture folder; with the local profile, a usage error."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import sqlglot
from click.testing import CliRunner

from netflix_elt.cli import main
from netflix_elt.ingest.extract import extract
from tests import snowflake_rules as rules
from tests.conftest import PROJECT_DIR, require_fixture, use_moto

BUCKET = "print-sql-bucket"


def statements(script: str) -> list[str]:
    """The statements of a script: comment lines dropped, each statement ends in `;` at the end of a line."""
    out, current = [], []
    for line in script.splitlines():
        if not line.strip() or line.lstrip().startswith("--"):
            assert not current, f"a comment inside a statement: {line}"
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(current).rstrip().removesuffix(";"))
            current = []
    assert not current, f"a statement without `;`: {current}"
    return out


def parse_all(stmts: list[str]) -> None:
    for sql in stmts:
        tree = sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
        assert tree is not None and not isinstance(tree, sqlglot.exp.Command), sql[:200]


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Snowflake account anywhere: no SNOWFLAKE_* variable, no connections.toml, and opening a Snowflake
    session fails the test (the embedded engine, which snapshot --print-sql compiles on, may start)."""
    for var in list(os.environ):
        if var.startswith("SNOWFLAKE_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    monkeypatch.setenv("SNOWFLAKE_HOME", str(tmp_path / "nosnowflake"))
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("--print-sql tried to connect")

    from netflix_elt.adapters.snowflake import SnowflakeAdapter

    monkeypatch.setattr(SnowflakeAdapter, "_open", refuse)


def cli(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, [*args, "--project-dir", str(PROJECT_DIR)], catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture
def s3_landing(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    use_moto(monkeypatch, moto_endpoint)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    url = f"s3://{BUCKET}/landing"
    extract("synthetic", url, scale=1_000, seed=3)
    extract("synthetic", url, scale=1_000, seed=3, batch=2)
    yield url
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    if objects:
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in objects]})
    client.delete_bucket(Bucket=BUCKET)


@pytest.mark.parametrize("force", [False, True])
def test_load_print_sql_over_an_s3_landing(offline: None, s3_landing: str, force: bool) -> None:
    code, out, err = cli("load", "--profile", "snowflake", "--print-sql", "--from", s3_landing, *(["--force"] * force))
    assert code == 0, err
    stmts = statements(out)
    parse_all(stmts)
    assert rules.check_all(stmts, force=force) == []
    assert stmts[0] == "CREATE SCHEMA IF NOT EXISTS MOVIELENS.RAW"  # init: no CREATE DATABASE on Snowflake
    assert not any(s.startswith("CREATE DATABASE") for s in stmts)
    assert sum(s.startswith("CREATE STAGE IF NOT EXISTS MOVIELENS.RAW.NETFLIX_ELT_LANDING") for s in stmts) == 1
    assert "-- batch=0001: RAW_RATINGS (load 1)" in out and "-- batch=0002: " in out
    assert stmts.count("BEGIN") == stmts.count("COMMIT") == 2
    copies = [s for s in stmts if s.startswith("COPY INTO")]
    assert copies and all("__LANDING FROM @MOVIELENS.RAW.NETFLIX_ELT_LANDING/batch=000" in s for s in copies)
    assert all(("FORCE = TRUE" in s) == force for s in copies)
    # load ids count from 1 over both batches, each file once in LOAD_HISTORY
    history = [int(m.group(1)) for s in stmts if (m := re.search(r"LOAD_HISTORY .*?\) SELECT (\d+), ", s))]
    assert history == list(range(1, len(history) + 1)) and len(history) == len(copies)
    # batch 2 (a delta) is planned after batch 1: its files continue the ids
    second = out[out.index("-- batch=0002") :]
    first_id = int(re.search(r"\(load (\d+)\)", second).group(1))  # type: ignore[union-attr]
    assert first_id == len(re.findall(r"\(load \d+\)", out[: out.index("-- batch=0002")])) + 1


def test_load_print_sql_over_the_fixture_folder(offline: None) -> None:
    fixture = require_fixture()
    code, out, err = cli("load", "--profile", "snowflake", "--print-sql", "--from", str(fixture))
    assert code == 0, err
    stmts = statements(out)
    parse_all(stmts)
    assert rules.check_all(stmts) == []
    assert stmts.index("BEGIN") < min(i for i, s in enumerate(stmts) if s.startswith("PUT ")) and stmts[-1] == "COMMIT"
    puts = [s for s in stmts if s.startswith("PUT ")]
    assert len(puts) == 4 and all(s.startswith("PUT 'file://<load work folder>/parsed/") for s in puts)
    assert "INSERT INTO MOVIELENS.RAW.LOAD_HISTORY" in out and "100836, 100836, 0" in out
    assert "<load work folder>: the loader's temporary folder" in out


def test_seed_print_sql(offline: None) -> None:
    code, out, err = cli("seed", "--profile", "snowflake", "--print-sql")
    assert code == 0, err
    stmts = statements(out)
    parse_all(stmts)
    assert rules.check_all(stmts) == []
    assert "BEGIN" not in stmts
    publish = [s for s in stmts if re.match(r"CREATE OR REPLACE TABLE MOVIELENS\.DEV\.SEED_\w+ AS SELECT", s)]
    assert publish and len(publish) == len([s for s in stmts if s.startswith("DROP TABLE IF EXISTS")])


def test_snapshot_print_sql_compiles_on_the_embedded_engine(offline: None, tmp_path: Path) -> None:
    code, out, err = cli("snapshot", "--profile", "snowflake", "--print-sql")
    assert code == 0, err
    stmts = statements(out)
    parse_all(stmts)
    assert rules.check_all(stmts) == []
    assert "compiled on the embedded engine" in out
    ctas = [s for s in stmts if s.startswith("CREATE TABLE MOVIELENS.SNAPSHOTS.")]
    assert {s.split()[2] for s in ctas} == {"MOVIELENS.SNAPSHOTS.SNAP_MOVIES", "MOVIELENS.SNAPSHOTS.SNAP_TAGS"}
    assert "FROM MOVIELENS.DEV.SRC_MOVIES" in out  # the built upstream view, not an inlined query
    assert not any(s.startswith(("MERGE", "BEGIN")) for s in stmts)
    assert not (tmp_path / "target" / "run_results.json").exists()  # the scratch compile wrote no artifact
    code, one, _ = cli("snapshot", "--profile", "snowflake", "--print-sql", "-s", "snap_movies")
    assert code == 0 and "SNAP_MOVIES" in one and "SNAP_TAGS" not in one


@pytest.mark.parametrize("command", ["load", "seed", "snapshot"])
def test_print_sql_needs_the_snowflake_profile(offline: None, command: str) -> None:
    code, out, err = cli(command, "--print-sql")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--profile snowflake" in err
