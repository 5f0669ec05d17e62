from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="marts",
    materialized="table",
    columns={
        "genre": "One genre of genre_array ('(no genres listed)' as published)",
        "num_movies": "Movies with this genre",
        "num_ratings": "Ratings of those movies",
        "avg_rating": "Average of those ratings (NULL when none)",
    },
    contract={
        "genre": "VARCHAR",
        "num_movies": "NUMBER",
        "num_ratings": "NUMBER",
        "avg_rating": "FLOAT",
    },
)
def mart_genre_stats(mart_movie_stats: DataFrame) -> DataFrame:
    """One row per genre, from the per-movie mart (a movie counts in each of its genres)."""
    # DataFrame.flatten (LATERAL FLATTEN) runs on both engines; F.explode does not on the embedded one
    genres = mart_movie_stats.flatten(F.col("genre_array")).select(
        F.col("value").cast("string").alias("genre"), "num_ratings", "avg_rating"
    )
    n = F.col("num_ratings")
    return genres.group_by("genre").agg(
        F.count(F.lit(1)).alias("num_movies"),
        # an integer on both engines (the emulator's SUM of integers is a FLOAT column: docs/EMULATOR_GAPS.md)
        F.sum(n).cast("int").alias("num_ratings"),
        # the average of the ratings themselves: movies weighted by their ratings; NULL / NULL when none
        (F.sum(F.col("avg_rating") * n) / F.sum(F.when(n > 0, n))).alias("avg_rating"),
    )
