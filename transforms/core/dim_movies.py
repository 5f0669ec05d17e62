from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="core",
    materialized="table",
    columns={
        "movie_id": "MovieLens movie id (unique)",
        "movie_title": "Title, trimmed and in initial capitals (Snowflake INITCAP)",
        "genres": "Pipe-separated genres, as published",
        "genre_array": "Genres as an array",
    },
    contract={
        "movie_id": "NUMBER NOT NULL",
        "movie_title": "VARCHAR NOT NULL",
        "genres": "VARCHAR",
        "genre_array": "ARRAY",
    },
)
def dim_movies(src_movies: DataFrame) -> DataFrame:
    """One row per movie, with a cleaned title and its genres as an array."""
    return src_movies.select(
        F.col("movie_id"),
        F.initcap(F.trim(F.col("title"))).alias("movie_title"),
        F.col("genres"),
        F.split(F.col("genres"), F.lit("|")).alias("genre_array"),
    )
