from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform
from transforms._latest import latest_load


@transform(
    layer="staging",
    materialized="view",
    columns={
        "user_id": "MovieLens user id",
        "movie_id": "MovieLens movie id",
        "tag": "Free-text tag",
        "tag_timestamp": "When the tag was applied (UTC)",
    },
)
def src_tags(raw_tags: DataFrame) -> DataFrame:
    """Tags from the latest full extract of RAW_TAGS."""
    return latest_load(raw_tags).select(
        F.col("userId").alias("user_id"),
        F.col("movieId").alias("movie_id"),
        F.col("tag"),
        F.to_timestamp(F.col("timestamp")).alias("tag_timestamp"),
    )
