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
    return r.join(s, r["movie_id"] == s["movie_id"], "left").select(
        r["user_id"],
        r["movie_id"],
        r["rating"],
        r["rating_timestamp"],
        s["release_date"],
        F.when(s["release_date"].is_null(), F.lit("unknown"))
        .otherwise(F.lit("known"))
        .alias("release_info_available"),
    )
