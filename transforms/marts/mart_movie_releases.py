from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="marts",
    materialized="table",
    columns={
        "user_id": "MovieLens user id",
        "movie_id": "MovieLens movie id",
        "rating": "Half-star rating",
        "rating_timestamp": "When the rating was made (UTC)",
        "release_date": "Release date from the seed, when known",
        "release_info_available": "'known' or 'unknown'",
    },
)
def mart_movie_releases(fct_ratings: DataFrame, seed_movie_release_dates: DataFrame) -> DataFrame:
    """Ratings with the movie's release date where the seed knows it."""
    r, s = fct_ratings, seed_movie_release_dates
    # rsuffix keeps the left side's names as they are (no l_0001_ prefixes from Snowpark)
    joined = r.join(s, r["movie_id"] == s["movie_id"], "left", rsuffix="_seed")
    known = F.when(F.col("release_date").is_null(), F.lit("unknown")).otherwise(F.lit("known"))
    return joined.select(
        "user_id", "movie_id", "rating", "rating_timestamp", "release_date", known.alias("release_info_available")
    )
