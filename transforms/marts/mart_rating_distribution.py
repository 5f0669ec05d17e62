from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="marts",
    materialized="table",
    columns={
        "rating": "Half-star rating (0.5 to 5.0)",
        "num_ratings": "Ratings with this value",
    },
    contract={
        "rating": "FLOAT",
        "num_ratings": "NUMBER",
    },
)
def mart_rating_distribution(fct_ratings: DataFrame) -> DataFrame:
    """How many ratings of each half-star value. Reads fct_ratings once."""
    return fct_ratings.group_by("rating").agg(F.count(F.lit(1)).alias("num_ratings"))
