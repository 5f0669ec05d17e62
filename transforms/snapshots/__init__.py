"""SCD2 snapshots of staging views (`netflix-elt snapshot`), and the helpers they share."""

from __future__ import annotations

from snowflake.snowpark import Column
from snowflake.snowpark import functions as F
from snowflake.snowpark.types import StringType

NULL_TOKEN = "_dbt_utils_surrogate_key_null_"


def surrogate_key(*columns: str) -> Column:
    """dbt_utils.generate_surrogate_key: md5 of the parts as text joined with '-', NULL as a token.

    Same value as the dbt project's row_key, so history can be compared across the two.
    """
    parts: list[Column] = []
    for i, name in enumerate(columns):
        if i:
            parts.append(F.lit("-"))
        parts.append(F.coalesce(F.col(name).cast(StringType()), F.lit(NULL_TOKEN)))
    return F.md5(F.concat(*parts).cast(StringType()))
