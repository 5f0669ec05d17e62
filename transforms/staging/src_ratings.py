from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="staging",
    materialized="view",
    columns={
        "user_id": "MovieLens user id",
        "movie_id": "MovieLens movie id",
        "rating": "Half-star rating 0.5..5.0",
        "rating_timestamp": "When the rating was made (UTC), from Unix seconds",
        "_load_id": "Load that brought the row into RAW",
        "_source_row": "Row number of the record in its source file",
    },
)
def src_ratings(raw_ratings: DataFrame) -> DataFrame:
    """Every rating ever loaded (RAW_RATINGS is append-only: each load is a delta)."""
    return raw_ratings.select(
        F.col("userId").alias("user_id"),
        F.col("movieId").alias("movie_id"),
        F.col("rating"),
        # TO_TIMESTAMP_NTZ, not TO_TIMESTAMP: Unix seconds as a UTC wall clock, whatever the account's
        # TIMESTAMP_TYPE_MAPPING (TO_TIMESTAMP follows it, and LTZ would shift by the session time zone)
        F.to_timestamp_ntz(F.col("timestamp")).alias("rating_timestamp"),
        F.col("_LOAD_ID"),
        F.col("_SOURCE_ROW"),
    )
