from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import snapshot


@snapshot(
    unique_key="movie_id",
    strategy="check",
    check_cols=["title", "genres"],
    hard_deletes="invalidate",
    columns={
        "movie_id": "MovieLens movie id",
        "title": "Title with year, as published",
        "genres": "Pipe-separated genres",
    },
)
def snap_movies(src_movies: DataFrame) -> DataFrame:
    """History of movie titles and genres: GroupLens corrects them between releases, with no timestamp."""
    return src_movies.select(F.col("movie_id"), F.col("title"), F.col("genres"))
