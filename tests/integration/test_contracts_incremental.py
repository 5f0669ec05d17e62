"""An incremental transform's contract is checked on the rows it merges (issue 14: not a second
scan of the whole SELECT on every run), and a NULL in a NOT NULL column of a new batch still
fails the merge, leaving the table and its watermark as they were (tiny project, Workspace API)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from netflix_elt import contracts
from netflix_elt.api import Workspace
from tests.conftest import tiny_config, write_tiny_project

CONFIG = tiny_config(
    """
[sources.raw_events]
table = "RAW_EVENTS"
file = "items.csv"
mode = "append"
nullable = ["name"]
columns = {{ id = "INTEGER", name = "VARCHAR" }}
""",
    name="inccontract",
    database="INCCONTRACT",
)

TRANSFORMS = """
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="core",
    materialized="incremental",
    unique_key=["event_id"],
    incremental_key="_load_id",
    latest_by=["_load_id"],
    contract={"event_id": "NUMBER NOT NULL", "name": "VARCHAR NOT NULL", "_load_id": "NUMBER"},
)
def fct_events(raw_events):
    return raw_events.select(F.col("id").alias("event_id"), F.col("name"), F.col("_LOAD_ID").alias("_load_id"))
"""

FIRST = "id,name\n1,a\n2,b\n3,c\n"
SECOND = "id,name\n4,d\n5,e\n"
WITH_NULL = "id,name\n6,f\n7,\n"


def _rows(text: str) -> list[tuple[int, str | None]]:
    return [(int(r["id"]), r["name"] or None) for r in csv.DictReader(io.StringIO(text))]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = write_tiny_project(tmp_path, "inccontract", CONFIG, TRANSFORMS, FIRST)
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(root / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(root / "target"))
    return root


def _land(root: Path, name: str, text: str) -> str:
    folder = root / name
    folder.mkdir()
    (folder / "items.csv").write_text(text)
    return str(folder)


def _table(ws: Workspace) -> list[tuple]:
    return [
        tuple(r) for r in ws.session.sql("SELECT EVENT_ID, NAME FROM INCCONTRACT.DEV.FCT_EVENTS ORDER BY 1").collect()
    ]


def test_the_contract_is_checked_on_the_merged_rows_and_a_null_fails_the_merge(project, monkeypatch):
    checked: list[str] = []
    real = contracts.enforce

    def spy(adapter, where, contract, sql):
        checked.append(sql)
        return real(adapter, where, contract, sql)

    monkeypatch.setattr(contracts, "enforce", spy)
    with Workspace.from_options(project) as ws:
        ws.load(str(project / "landing"))
        assert ws.run(["fct_events"]).ok
        # the first build writes every row: the contract is checked on all of them
        assert len(checked) == 1
        assert ws.session.sql(f"SELECT COUNT(*) FROM ({checked[0]})").collect()[0][0] == len(_rows(FIRST))
        ws.load(_land(project, "b2", SECOND))
        assert ws.run(["fct_events"]).ok
        # the merge: only the rows of the new load are checked (and counted for NULLs)
        assert len(checked) == 2
        assert ws.session.sql(f"SELECT COUNT(*) FROM ({checked[1]})").collect()[0][0] == len(_rows(SECOND))
        expected = sorted(_rows(FIRST) + _rows(SECOND))
        assert _table(ws) == expected
        state = "SELECT WATERMARK FROM INCCONTRACT.AUDIT.INCREMENTAL_STATE WHERE NODE = 'fct_events'"
        watermark = ws.session.sql(state).collect()

        ws.load(_land(project, "b3", WITH_NULL))
        outcome = ws.run(["fct_events"])
        assert not outcome.ok
        nulls = sum(1 for _, name in _rows(WITH_NULL) if name is None)
        message = " ".join(str(r.message) for r in outcome.results if r.status == "error")
        assert f"with {nulls} NULL(s)" in " ".join(message.split())
        assert _table(ws) == expected  # nothing merged
        assert ws.session.sql(state).collect() == watermark  # and the watermark did not move
