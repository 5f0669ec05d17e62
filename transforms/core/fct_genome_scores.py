from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="core",
    materialized="table",
    columns={
        "movie_id": "MovieLens movie id",
        "tag_id": "Genome tag id",
        "relevance_score": "Relevance rounded to 4 decimals; only scores above 0",
    },
    contract={
        "movie_id": "NUMBER NOT NULL",
        "tag_id": "NUMBER NOT NULL",
        "relevance_score": "FLOAT NOT NULL",
    },
)
def fct_genome_scores(src_genome_scores: DataFrame) -> DataFrame:
    """Genome relevance of each tag to each movie, rounded, zero scores dropped."""
    return src_genome_scores.filter(F.col("relevance") > 0).select(
        F.col("movie_id"), F.col("tag_id"), F.round(F.col("relevance"), 4).alias("relevance_score")
    )
