from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="marts",
    materialized="table",
    columns={
        "rating_month": "First day of the month the ratings were made (UTC)",
        "num_ratings": "Ratings made that month (the latest rating of each user and movie)",
        "num_users": "Distinct users who rated that month",
        "avg_rating": "Average rating that month",
    },
    contract={
        "rating_month": "DATE",
        "num_ratings": "NUMBER",
        "num_users": "NUMBER",
        "avg_rating": "FLOAT",
    },
)
def mart_ratings_monthly(fct_ratings: DataFrame) -> DataFrame:
    """One row per calendar month with ratings. Reads fct_ratings once."""
    month = F.date_trunc("month", F.col("rating_timestamp")).cast("date")
    return fct_ratings.group_by(month.alias("rating_month")).agg(
        F.count("rating").alias("num_ratings"),
        F.count_distinct("user_id").alias("num_users"),
        F.avg("rating").alias("avg_rating"),
    )
