from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(layer="analyses", materialized="analysis")
def top_rated_movies(fct_ratings: DataFrame, dim_movies: DataFrame) -> DataFrame:
    """Top 20 movies by average rating among movies with more than 100 ratings, with titles."""
    stats = fct_ratings.group_by("movie_id").agg(
        F.avg("rating").alias("avg_rating"), F.count("rating").alias("num_ratings")
    )
    popular = stats.filter(F.col("num_ratings") > 100)
    joined = popular.join(dim_movies, popular["movie_id"] == dim_movies["movie_id"])
    return (
        joined.select(
            popular["movie_id"], dim_movies["movie_title"], F.col("avg_rating"), F.col("num_ratings")
        )
        .sort(F.col("avg_rating").desc(), F.col("num_ratings").desc(), popular["movie_id"])
        .limit(20)
    )
