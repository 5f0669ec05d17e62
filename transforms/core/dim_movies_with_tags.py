from snowflake.snowpark import DataFrame

from netflix_elt import transform


@transform(
    layer="core",
    materialized="ephemeral",
    columns={
        "movie_id": "MovieLens movie id",
        "movie_title": "Cleaned title",
        "genres": "Pipe-separated genres",
        "tag_name": "Genome tag name (null when the movie has no genome scores)",
        "relevance_score": "Relevance of the tag to the movie",
    },
)
def dim_movies_with_tags(dim_movies: DataFrame, fct_genome_scores: DataFrame, dim_genome_tags: DataFrame) -> DataFrame:
    """Movies with their genome tags and relevance, inlined into whatever selects from it."""
    m, s, t = dim_movies, fct_genome_scores, dim_genome_tags
    scored = m.join(s, m["movie_id"] == s["movie_id"], "left", rsuffix="_score")
    tagged = scored.join(t, scored["tag_id"] == t["tag_id"], "left", rsuffix="_tag")
    return tagged.select("movie_id", "movie_title", "genres", "tag_name", "relevance_score")
