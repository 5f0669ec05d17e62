from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform


@transform(
    layer="core",
    materialized="table",
    columns={"tag_id": "Genome tag id", "tag_name": "Tag, trimmed and in initial capitals"},
    contract={
        "tag_id": "NUMBER NOT NULL",
        "tag_name": "VARCHAR NOT NULL",
    },
)
def dim_genome_tags(src_genome_tags: DataFrame) -> DataFrame:
    """The genome's tags with cleaned names."""
    return src_genome_tags.select(F.col("tag_id"), F.initcap(F.trim(F.col("tag"))).alias("tag_name"))
