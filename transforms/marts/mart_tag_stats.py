from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="marts",
    materialized="table",
    columns={
        "tag": "Free-text tag, exactly as users typed it",
        "num_uses": "Times the tag was applied (the latest tags extract)",
        "num_movies": "Distinct movies it was applied to",
        "num_users": "Distinct users who applied it",
    },
    contract={
        "tag": "VARCHAR",
        "num_uses": "NUMBER",
        "num_movies": "NUMBER",
        "num_users": "NUMBER",
    },
)
def mart_tag_stats(src_tags: DataFrame) -> DataFrame:
    """One row per tag of the latest tags extract."""
    return src_tags.group_by("tag").agg(
        F.count(F.lit(1)).alias("num_uses"),
        F.count_distinct("movie_id").alias("num_movies"),
        F.count_distinct("user_id").alias("num_users"),
    )
