"""`build` tests the RAW sources before any transform, and applies a snapshot only when everything
upstream of it succeeded and passed its error-severity tests (tiny project, embedded engine)."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from netflix_elt.api import Workspace
from netflix_elt.artifacts import read_results
from netflix_elt.cli import main
from tests.conftest import tiny_config, write_tiny_project

CONFIG = tiny_config(
    """
[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
mode = "full"
columns = {{ id = "INTEGER", name = "VARCHAR", price = "FLOAT" }}
max_delete_fraction = 0.5  # the extracts below drop one item of three (the loader's guard)

[sources.raw_shops]
table = "RAW_SHOPS"
file = "shops.csv"
mode = "full"
columns = {{ shop_id = "INTEGER", city = "VARCHAR" }}
""",
    name="gate",
    database="GATE",
    threads=1,
)

TRANSFORMS = """
from snowflake.snowpark import functions as F

from netflix_elt import snapshot, transform


def latest(raw):
    newest = raw.agg(F.max("_LOAD_ID").alias("_NEWEST"))
    return raw.join(newest, raw["_LOAD_ID"] == newest["_NEWEST"]).drop("_NEWEST")


@transform(layer="staging", materialized="view")
def stg_items(raw_items):
    return latest(raw_items).select(F.col("id").alias("item_id"), F.col("name"), F.col("price"))


@transform(layer="core", materialized="table")
def dim_items(stg_items):
    return stg_items.select("item_id", "name", "price")


@transform(layer="core", materialized="view")
def cur_items(dim_items):
    return dim_items.select("item_id", "name", "price")


@snapshot(unique_key="item_id", strategy="check", check_cols=["name", "price"], hard_deletes="invalidate")
def snap_items(cur_items):
    return cur_items.select("item_id", "name", "price")


@transform(layer="core", materialized="table")
def dim_shops(raw_shops):
    return latest(raw_shops).select("shop_id", "city")
"""

RAW_SUITE = """
expectations:
  - name: price_in_range
    type: expect_column_values_to_be_between
    kwargs: {column: price, min_value: 0, max_value: 100}
    severity: error
  - name: name_is_lower_case
    type: unexpected_rows_expectation
    kwargs:
      unexpected_rows_query: SELECT * FROM {batch} WHERE name <> LOWER(name)
    severity: warn
"""

DIM_SUITE = """
expectations:
  - name: price_below_50
    type: unexpected_rows_expectation
    kwargs:
      unexpected_rows_query: SELECT * FROM {batch} WHERE price >= 50
    severity: error
"""

SHOPS = "shop_id,city\n1,Oslo\n"
ITEMS = "id,name,price\n1,Apple,3.5\n2,melon,12.0\n3,pear,20.0\n"  # 'Apple' fails a warn-only test
SNAP = "GATE.SNAPSHOTS.SNAP_ITEMS"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tiny_project(tmp_path, "gate", CONFIG, TRANSFORMS, ITEMS)
    (tmp_path / "landing" / "shops.csv").write_text(SHOPS)
    for folder, name, text in (("raw", "raw_items", RAW_SUITE), ("core", "dim_items", DIM_SUITE)):
        (tmp_path / "expectations" / folder).mkdir(parents=True)
        (tmp_path / "expectations" / folder / f"{name}.yml").write_text(textwrap.dedent(text))
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    return tmp_path


def landing(project: Path, name: str, items: str) -> Path:
    folder = project / name
    folder.mkdir()
    (folder / "items.csv").write_text(items)
    (folder / "shops.csv").write_text(SHOPS)
    return folder


def build(project: Path, folder: Path, *args: str):
    return CliRunner().invoke(
        main, ["build", "--from", str(folder), *args, "--project-dir", str(project)], catch_exceptions=False
    )


WORST = ("error", "fail", "warn", "skipped", "pass")


def results(project: Path) -> dict[str, dict]:
    """The last command's rows by node name. run_results.json has one row per expectation (dbt's
    test nodes, named in manifest.json): a suite is gathered as `test:<table>` with its `tests`
    by expectation, its worst status and the message of its first row that did not pass."""
    out: dict[str, dict] = {}
    for r in read_results(project / "target"):
        if r["resource_type"] != "test":
            out[r["name"]] = r
            continue
        suite = out.setdefault(f"test:{r['suite']}", {"tests": {}, "status": "pass", "message": ""})
        suite["tests"][r["expectation"]] = r
        if WORST.index(r["status"]) < WORST.index(suite["status"]):
            suite["status"] = r["status"]
        if r["status"] != "pass" and not suite["message"]:
            suite["message"] = r["message"]
    return out


def snapshot_rows(project: Path) -> list[tuple]:
    """The snapshot table, every column, in a stable order (VALID_TO as text: NULL stays NULL)."""
    with Workspace.from_options(project) as ws:
        rows = ws.session.sql(
            f"SELECT ITEM_ID, NAME, PRICE, SNAPSHOT_ROW_ID, CAST(VALID_FROM AS VARCHAR), "
            f"CAST(VALID_TO AS VARCHAR), IS_CURRENT FROM {SNAP}"
        ).collect()
    return sorted((tuple(r) for r in rows), key=repr)


def fingerprint(rows: list[tuple]) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def current(rows: list[tuple]) -> dict[int, tuple]:
    return {r[0]: (r[1], r[2]) for r in rows if r[6]}


def test_a_failing_raw_suite_skips_what_reads_the_source_and_leaves_the_snapshot(project: Path) -> None:
    first = build(project, project / "landing")
    assert first.exit_code == 0, first.output
    r = results(project)
    # the source's suite is a node of the build, run before any transform; a warn-only failure skips nothing
    order = list(r)
    assert order.index("test:raw_items") < order.index("stg_items") and "raw_items" not in r
    assert r["test:raw_items"]["status"] == "warn"
    assert "warn: name_is_lower_case" in r["test:raw_items"]["message"]
    tests = {name: t["status"] for name, t in r["test:raw_items"]["tests"].items()}
    assert tests == {"price_in_range": "pass", "name_is_lower_case": "warn"}
    assert r["snap_items"]["status"] == "success" and r["snap_items"]["message"].startswith("created: 3 versions")
    before = snapshot_rows(project)
    assert current(before) == {1: ("Apple", 3.5), 2: ("melon", 12.0), 3: ("pear", 20.0)}

    # the next full extract: item 1 renamed, item 2's price out of range, item 3 gone
    bad = landing(project, "landing2", "id,name,price\n1,apricot,3.5\n2,melon,500.0\n")
    second = build(project, bad)
    assert second.exit_code == 1, second.output
    r = results(project)
    assert r["test:raw_items"]["status"] == "fail"
    assert r["test:raw_items"]["message"] == "1 error-severity expectation(s) failed: price_in_range"
    failed = [t for t in r["test:raw_items"]["tests"].values() if t["status"] == "fail"]
    assert [(t["expectation"], t["failures"]) for t in failed] == [("price_in_range", 1)]
    reason = "skipped: upstream 'raw_items' failed test price_in_range"
    for name in ("stg_items", "dim_items", "cur_items", "snap_items"):
        assert (r[name]["status"], r[name]["message"]) == ("skipped", reason), name
    assert r["dim_shops"]["status"] == "success"  # not downstream of raw_items
    assert "raw_shops" not in r and "test:raw_shops" not in r  # a source with no suite is no node of the build
    assert f"SKIP snapshot snap_items {reason} ..." in second.output
    after = snapshot_rows(project)
    assert fingerprint(after) == fingerprint(before)  # no version closed, none opened
    with Workspace.from_options(project) as ws:  # the table the snapshot reads is the old one too
        dim = ws.session.sql("SELECT ITEM_ID, NAME, PRICE FROM GATE.DEV.DIM_ITEMS ORDER BY 1").collect()
    assert [tuple(x) for x in dim] == [(1, "Apple", 3.5), (2, "melon", 12.0), (3, "pear", 20.0)]


def test_a_failing_test_upstream_leaves_the_snapshot_until_the_data_is_fixed(project: Path) -> None:
    assert build(project, project / "landing").exit_code == 0
    before = snapshot_rows(project)

    # RAW passes (price <= 100) but dim_items' error-severity test fails (price >= 50); the
    # snapshot reads dim_items through the view cur_items
    failing = landing(project, "landing2", "id,name,price\n1,Apple,60.0\n2,melon,12.0\n")
    res = build(project, failing)
    assert res.exit_code == 1, res.output
    r = results(project)
    assert r["test:raw_items"]["status"] == "warn" and r["dim_items"]["status"] == "success"
    assert r["test:dim_items"]["status"] == "fail"
    reason = "skipped: upstream 'dim_items' failed test price_below_50"
    assert (r["cur_items"]["status"], r["cur_items"]["message"]) == ("skipped", reason)
    assert (r["snap_items"]["status"], r["snap_items"]["message"]) == ("skipped", reason)
    assert reason in res.output
    assert fingerprint(snapshot_rows(project)) == fingerprint(before)

    # the view between them not in the build: the snapshot still waits for dim_items' tests
    res = build(project, failing, "-s", "dim_items", "-s", "snap_items")
    assert res.exit_code == 1, res.output
    r = results(project)
    assert set(r) == {"test:raw_items", "dim_items", "test:dim_items", "snap_items"}
    assert r["test:dim_items"]["status"] == "fail"
    assert (r["snap_items"]["status"], r["snap_items"]["message"]) == ("skipped", reason)
    assert fingerprint(snapshot_rows(project)) == fingerprint(before)

    fixed = landing(project, "landing3", "id,name,price\n1,Apple,40.0\n2,melon,12.0\n")
    res = build(project, fixed)
    assert res.exit_code == 0, res.output
    r = results(project)
    assert r["snap_items"]["status"] == "success"
    assert r["snap_items"]["message"].startswith("1 new versions, 2 closed")  # item 1 changed, item 3 gone
    after = snapshot_rows(project)
    assert current(after) == {1: ("Apple", 40.0), 2: ("melon", 12.0)}
    assert len(after) == 4 and [x[:3] for x in after if not x[6]] == [(1, "Apple", 3.5), (3, "pear", 20.0)]
