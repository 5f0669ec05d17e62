"""F.explode over an ARRAY column fails on the embedded engine; the error points at flatten, which works."""

from __future__ import annotations

import csv
import json

import pytest

from netflix_elt.api import Workspace
from tests.conftest import tiny_config, write_tiny_project

CONFIG = tiny_config(
    """
[sources.raw_items]
table = "RAW_ITEMS"
file = "items.csv"
mode = "full"
columns = {{ id = "INTEGER", tags = "VARCHAR" }}
"""
)

TRANSFORMS = """
from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(layer="staging", materialized="table")
def item_tags(raw_items: DataFrame) -> DataFrame:
    return raw_items.select(F.col("id"), F.split(F.col("tags"), F.lit("|")).alias("tag_array"))


@transform(layer="core", materialized="table")
def tags_exploded(item_tags: DataFrame) -> DataFrame:
    return item_tags.select(F.col("id"), F.explode(F.col("tag_array")).alias("tag"))


@transform(layer="core", materialized="table")
def tags_flattened(item_tags: DataFrame) -> DataFrame:
    return item_tags.flatten(F.col("tag_array")).select(F.col("id"), F.col("value").cast("string").alias("tag"))
"""

ITEMS = 'id,tags\n1,drama|comedy\n2,horror\n3,"a|b|c"\n'


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("explode")
    project = write_tiny_project(tmp_path, "explode", CONFIG, TRANSFORMS, ITEMS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
        mp.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
        with Workspace.from_options(project) as ws:
            ws.load(str(project / "landing"))
            out = ws.run()
            rows = ws.session.sql("SELECT id, tag FROM TINY.DEV.TAGS_FLATTENED").collect()
    return project, {r.name: r for r in out.results}, sorted((int(r[0]), r[1]) for r in rows)


def test_explode_error_names_the_gap_and_the_flatten_form(outcome):
    _, results, _ = outcome
    bad = results["tags_exploded"]
    assert bad.status == "error"
    assert "Invalid column type for explode" in bad.message  # Snowpark's own reason is kept
    assert "types ARRAY columns as VARIANT" in bad.message
    assert "df.flatten(F.col('tag_array'))" in bad.message and "docs/EMULATOR_GAPS.md" in bad.message
    assert results["item_tags"].status == "success"


def test_the_flatten_form_gives_one_row_per_element(outcome):
    project, results, rows = outcome
    assert results["tags_flattened"].status == "success"
    with open(project / "landing" / "items.csv", newline="") as f:
        expected = sorted((int(r["id"]), t) for r in csv.DictReader(f) for t in r["tags"].split("|"))
    assert rows == expected
    assert len(rows) == 6


def test_other_transform_errors_get_no_hint():
    from netflix_elt.adapters.embedded import EmbeddedAdapter
    from netflix_elt.adapters.snowflake import SnowflakeAdapter
    from netflix_elt.config import load_settings
    from tests.conftest import PROJECT_DIR

    settings = load_settings(PROJECT_DIR)
    embedded = EmbeddedAdapter(settings)
    explode = ValueError(
        'Invalid column type for explode(Column["GENRE_ARRAY"]). Expected ArrayType() or MapType(), got VariantType()'
    )
    assert "F.col('genre_array')" in embedded.transform_error_hint(explode)
    assert embedded.transform_error_hint(ValueError("division by zero")) == ""
    assert embedded.transform_error_hint(KeyError(json.dumps({"explode": 1}))) == ""
    # on Snowflake an ARRAY column is typed ARRAY: explode works there, no hint
    assert SnowflakeAdapter(settings).transform_error_hint(explode) == ""
