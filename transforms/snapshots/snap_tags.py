from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F
from snowflake.snowpark.types import TimestampTimeZone, TimestampType

from netflix_elt import snapshot
from transforms.snapshots import surrogate_key


@snapshot(
    unique_key=["user_id", "movie_id", "tag"],
    strategy="timestamp",
    updated_at="tag_timestamp",
    hard_deletes="invalidate",
    columns={
        "row_key": "md5 of user_id-movie_id-tag (dbt_utils.generate_surrogate_key)",
        "user_id": "MovieLens user id",
        "movie_id": "MovieLens movie id",
        "tag": "Free-text tag",
        "tag_timestamp": "When the tag was applied (UTC); a later timestamp opens a new version",
    },
)
def snap_tags(src_tags: DataFrame) -> DataFrame:
    """History of user tags: a tag removed from the extract is closed (hard_deletes='invalidate')."""
    return src_tags.select(
        surrogate_key("user_id", "movie_id", "tag").alias("row_key"),
        F.col("user_id"),
        F.col("movie_id"),
        F.col("tag"),
        F.col("tag_timestamp").cast(TimestampType(TimestampTimeZone.NTZ)).alias("tag_timestamp"),
    )
