from snowflake.snowpark import DataFrame

from netflix_elt import transform


@transform(
    layer="core",
    materialized="table",
    columns={"user_id": "MovieLens user id (unique)"},
    contract={
        "user_id": "NUMBER NOT NULL",
    },
)
def dim_users(src_ratings: DataFrame, src_tags: DataFrame) -> DataFrame:
    """Every user who rated or tagged a movie."""
    return src_ratings.select("user_id").union(src_tags.select("user_id"))
