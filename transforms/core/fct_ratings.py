from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="core",
    materialized="incremental",
    unique_key=["user_id", "movie_id"],
    incremental_key="_load_id",
    latest_by=["rating_timestamp", "_source_row"],
    columns={
        "user_id": "MovieLens user id",
        "movie_id": "MovieLens movie id",
        "rating": "Latest half-star rating the user gave the movie",
        "rating_timestamp": "When that rating was made (UTC)",
        "_load_id": "Load that brought the rating in",
        "_source_row": "Row of the rating in its source file",
    },
)
def fct_ratings(src_ratings: DataFrame) -> DataFrame:
    """One row per (user, movie): the latest rating.

    Unlike the original dbt model (rows newer than max(timestamp)), new rows are found by load:
    each run merges what was loaded since the last one, so late-arriving ratings and ratings
    sharing the newest timestamp are never missed, and re-ratings replace the old value.
    """
    return src_ratings.filter(F.col("rating").is_not_null()).select(
        "user_id", "movie_id", "rating", "rating_timestamp", "_load_id", "_source_row"
    )
