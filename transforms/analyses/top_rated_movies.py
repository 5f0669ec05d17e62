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
    # rename the right side's key so Snowpark need not invent l_0001_MOVIE_ID-style names
    titles = dim_movies.select(F.col("movie_id").alias("title_movie_id"), "movie_title")
    return (
        popular.join(titles, popular["movie_id"] == titles["title_movie_id"])
        .select("movie_id", "movie_title", "avg_rating", "num_ratings")
        .sort(F.col("avg_rating").desc(), F.col("num_ratings").desc(), F.col("movie_id"))
        .limit(20)
    )
