"""Helpers shared by staging transforms (pure DataFrame functions)."""

from __future__ import annotations

from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F


def latest_load(raw: DataFrame) -> DataFrame:
    """Rows of the most recent load only: RAW keeps every full extract, staging reads the newest."""
    latest = raw.agg(F.max("_LOAD_ID").alias("_LATEST_LOAD_ID"))
    return raw.join(latest, raw["_LOAD_ID"] == latest["_LATEST_LOAD_ID"]).drop("_LATEST_LOAD_ID")
