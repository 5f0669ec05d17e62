from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform
from transforms._latest import latest_load


@transform(
    layer="staging",
    materialized="view",
    columns={"movie_id": "MovieLens movie id", "tag_id": "Genome tag id", "relevance": "Relevance 0..1"},
)
def src_genome_scores(raw_genome_scores: DataFrame) -> DataFrame:
    """Tag genome scores from the latest extract."""
    return latest_load(raw_genome_scores).select(
        F.col("movieId").alias("movie_id"), F.col("tagId").alias("tag_id"), F.col("relevance")
    )
