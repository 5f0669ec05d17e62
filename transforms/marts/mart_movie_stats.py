from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform

# a year in parentheses at the end of the title: "Toy Story (1995)"; series such as "(2006–2007)" have none
YEAR_PATTERN = r"\((\d{4})\)\s*$"


@transform(
    layer="marts",
    materialized="table",
    columns={
        "movie_id": "MovieLens movie id (unique; every movie of dim_movies, rated or not)",
        "movie_title": "Title as in dim_movies",
        "genres": "Pipe-separated genres, as published",
        "genre_array": "Genres as an array",
        "release_year": "Year in parentheses at the end of the title, when there is one",
        "num_ratings": "Number of ratings in fct_ratings (0 when unrated)",
        "avg_rating": "Average rating (NULL when unrated)",
        "first_rating_at": "When the movie was first rated (UTC; NULL when unrated)",
        "last_rating_at": "When the movie was last rated (UTC; NULL when unrated)",
        "release_date": "Release date from the seed, when known",
        "release_info_available": "'known' or 'unknown'",
    },
    contract={
        "movie_id": "NUMBER",
        "movie_title": "VARCHAR",
        "genres": "VARCHAR",
        "genre_array": "ARRAY",
        "release_year": "NUMBER",
        "num_ratings": "NUMBER",
        "avg_rating": "FLOAT",
        "first_rating_at": "TIMESTAMP_NTZ",
        "last_rating_at": "TIMESTAMP_NTZ",
        "release_date": "DATE",
        "release_info_available": "VARCHAR",
    },
)
def mart_movie_stats(fct_ratings: DataFrame, dim_movies: DataFrame, seed_movie_release_dates: DataFrame) -> DataFrame:
    """One row per movie: its ratings summed up, with its release year and date. Reads fct_ratings once."""
    stats = fct_ratings.group_by(F.col("movie_id").alias("stats_movie_id")).agg(
        F.count("rating").alias("n"),
        F.avg("rating").alias("avg_rating"),
        F.min("rating_timestamp").alias("first_rating_at"),
        F.max("rating_timestamp").alias("last_rating_at"),
    )
    seed = seed_movie_release_dates.select(F.col("movie_id").alias("seed_movie_id"), "release_date")
    m = dim_movies
    joined = m.join(stats, m["movie_id"] == stats["stats_movie_id"], "left").join(
        seed, m["movie_id"] == seed["seed_movie_id"], "left"
    )
    year = F.regexp_extract(F.col("movie_title"), YEAR_PATTERN, 1)  # '' when there is none (both engines)
    known = F.when(F.col("release_date").is_null(), F.lit("unknown")).otherwise(F.lit("known"))
    return joined.select(
        "movie_id",
        "movie_title",
        "genres",
        "genre_array",
        F.iff(year == F.lit(""), F.lit(None), year).cast("int").alias("release_year"),
        F.coalesce(F.col("n"), F.lit(0)).alias("num_ratings"),
        "avg_rating",
        "first_rating_at",
        "last_rating_at",
        "release_date",
        known.alias("release_info_available"),
    )
