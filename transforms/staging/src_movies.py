from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform
from transforms._latest import latest_load


@transform(
    layer="staging",
    materialized="view",
    columns={
        "movie_id": "MovieLens movie id",
        "title": "Title with year, as published",
        "genres": "Pipe-separated genres",
    },
)
def src_movies(raw_movies: DataFrame) -> DataFrame:
    """Movies from the latest full extract of RAW_MOVIES."""
    return latest_load(raw_movies).select(F.col("movieId").alias("movie_id"), F.col("title"), F.col("genres"))
