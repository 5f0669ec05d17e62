"""Contracts on the embedded engine: a kept contract builds, a broken one (a type changed by the
code, NULLs in a NOT NULL column, a column dropped) fails the node with a table of expected vs
actual and writes nothing, so the previous table stays (tiny project, real CLI)."""

from __future__ import annotations

import csv
import io
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from netflix_elt.api import Workspace
from netflix_elt.cli import main
from tests.conftest import tiny_config, write_tiny_project

CONFIG = tiny_config(
    """
[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
mode = "full"
nullable = ["name"]
columns = {{ id = "INTEGER", name = "VARCHAR", price = "FLOAT" }}
max_delete_fraction = 1.0
""",
    name="contracts",
    database="CONTRACTS",
)

HEAD = """
from snowflake.snowpark import functions as F

from netflix_elt import transform


def latest(raw):
    newest = raw.agg(F.max("_LOAD_ID").alias("_NEWEST"))
    return raw.join(newest, raw["_LOAD_ID"] == newest["_NEWEST"]).drop("_NEWEST")

"""

GOOD = """
@transform(
    layer="core",
    materialized="table",
    contract={"item_id": "INT NOT NULL", "name": "TEXT NOT NULL", "price": "DOUBLE"},
)
def dim_items(raw_items):
    return latest(raw_items).select(F.col("id").alias("item_id"), "name", "price")


@transform(
    layer="marts",
    materialized="view",
    columns={
        "item_id": {"description": "the item", "data_type": "NUMBER(38,0)", "not_null": True},
        "price_band": {"description": "cheap or dear", "data_type": "VARCHAR"},
    },
    contract=True,
)
def v_bands(dim_items):
    return dim_items.select("item_id", F.iff(F.col("price") < 5, F.lit("cheap"), F.lit("dear")).alias("price_band"))
"""

# the code changes: price becomes text, and the view loses a column its contract promises
BROKEN = GOOD.replace('"name", "price")', '"name", F.col("price").cast("string").alias("price"))').replace(
    'return dim_items.select("item_id", F.iff', "return dim_items.select(F.iff"
)

ITEMS = "id,name,price\n1,apple,1.5\n2,pear,7.25\n3,fig,3.0\n"
ITEMS_WITH_NULL_NAMES = "id,name,price\n1,apple,1.5\n2,,7.25\n3,fig,3.0\n4,,9.0\n"


def _write_transforms(project: Path, body: str) -> None:
    """Rewrite the transforms module and forget the imported one, as a new process would."""
    package = next(p for p in project.iterdir() if p.name.startswith("contracts_"))
    (package / "items.py").write_text(textwrap.dedent(HEAD + body))
    for name in [m for m in sys.modules if m == package.name or m.startswith(package.name + ".")]:
        del sys.modules[name]


def _build(project: Path, landing: str, items: str):
    folder = project / landing
    folder.mkdir(exist_ok=True)
    (folder / "items.csv").write_text(items)
    return CliRunner().invoke(main, ["build", "--from", str(folder), "--project-dir", str(project)])


def _table(project: Path) -> tuple[list[tuple], dict[str, str]]:
    with Workspace.from_options(project) as ws:
        rows = ws.session.sql("SELECT * FROM CONTRACTS.DEV.DIM_ITEMS ORDER BY 1").collect()
        types = {r[0]: r[1] for r in ws.session.sql("DESCRIBE TABLE CONTRACTS.DEV.DIM_ITEMS").collect()}
    return [tuple(r) for r in rows], types


def _csv_rows(text: str) -> list[tuple]:
    return [(int(r["id"]), r["name"] or None, float(r["price"])) for r in csv.DictReader(io.StringIO(text))]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("contracts")
    write_tiny_project(root, "contracts", CONFIG, HEAD + GOOD, ITEMS)
    return root


@pytest.fixture(autouse=True)
def _home(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(project / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(project / "target"))


def test_a_kept_contract_builds(project: Path) -> None:
    res = _build(project, "batch1", ITEMS)
    assert res.exit_code == 0, res.output
    rows, types = _table(project)
    assert rows == _csv_rows(ITEMS)
    assert (types["ITEM_ID"], types["PRICE"]) == ("NUMBER(38,0)", "FLOAT")


def test_a_type_changed_by_the_code_fails_and_keeps_the_old_table(project: Path) -> None:
    before = _table(project)
    _write_transforms(project, BROKEN)
    try:
        res = _build(project, "batch2", "id,name,price\n9,kiwi,2.0\n")
    finally:
        _write_transforms(project, GOOD)
    assert res.exit_code == 1, res.output
    out = " ".join(res.output.split())
    assert "transform 'dim_items'" in out and "does not match its contract, nothing was written" in out
    assert "column expected actual" in out and "PRICE DOUBLE VARCHAR" in out
    # the view promised ITEM_ID and lost it (it was not built: its input failed, or its own check did)
    assert _table(project) == before  # the table of the first build, rows and types


def test_a_missing_column_is_named(project: Path) -> None:
    _write_transforms(
        project, BROKEN.replace('"name", F.col("price").cast("string").alias("price"))', '"name", "price")')
    )
    try:
        res = _build(project, "batch3", ITEMS)
    finally:
        _write_transforms(project, GOOD)
    assert res.exit_code == 1, res.output
    out = " ".join(res.output.split())
    assert "transform 'v_bands'" in out and "ITEM_ID NUMBER(38,0) NOT NULL (missing)" in out


def test_nulls_in_a_not_null_column_fail_with_their_count(project: Path) -> None:
    before = _table(project)
    res = _build(project, "batch4", ITEMS_WITH_NULL_NAMES)
    assert res.exit_code == 1, res.output
    nulls = sum(1 for r in csv.DictReader(io.StringIO(ITEMS_WITH_NULL_NAMES)) if not r["name"])
    assert nulls == 2
    assert f"NAME TEXT NOT NULL VARCHAR with {nulls} NULL(s)" in " ".join(res.output.split())
    assert _table(project) == before


@pytest.mark.parametrize(
    ("decorator", "message"),
    [
        ('contract={"item_id": "INTEGR"}', "contract column 'ITEM_ID': unknown type 'INTEGR'"),
        ('contract="yes"', "contract= must be True or a dict of column -> type, got str 'yes'"),
        (
            'columns={"item_id": "the id"}, contract={"item_id": "INT", "nope": "INT"}',
            "contract column(s) nope are not among",
        ),
        ('columns={"item_id": "the id"}, contract=True', "contract=True needs a data_type for every column"),
        ('contract={"item_id": 5}', "the type must be a string"),
    ],
)
def test_a_bad_declaration_fails_at_load_naming_the_transform(project: Path, decorator: str, message: str) -> None:
    bad = f'\n@transform(layer="core", materialized="table", {decorator})\ndef bad_one(raw_items):\n'
    bad += "    return raw_items\n"
    _write_transforms(project, GOOD + bad)
    try:
        res = CliRunner().invoke(main, ["compile", "--project-dir", str(project)])
    finally:
        _write_transforms(project, GOOD)
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert "transform 'bad_one'" in out and "items.py" in out and message in out
