from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform
from transforms._latest import latest_load


@transform(
    layer="staging",
    materialized="view",
    columns={
        "movie_id": "MovieLens movie id",
        "imdb_id": "IMDb id as text, zero-padded to 7 digits",
        "tmdb_id": "TMDb id (null for a few movies)",
    },
)
def src_links(raw_links: DataFrame) -> DataFrame:
    """Links to IMDb and TMDb from the latest extract."""
    return latest_load(raw_links).select(
        F.col("movieId").alias("movie_id"), F.col("imdbId").alias("imdb_id"), F.col("tmdbId").alias("tmdb_id")
    )
