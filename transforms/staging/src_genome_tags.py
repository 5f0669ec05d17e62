from snowflake.snowpark import DataFrame
from snowflake.snowpark import functions as F

from netflix_elt import transform
from transforms._latest import latest_load


@transform(layer="staging", materialized="view", columns={"tag_id": "Genome tag id", "tag": "Genome tag text"})
def src_genome_tags(raw_genome_tags: DataFrame) -> DataFrame:
    """The genome's tags from the latest extract."""
    return latest_load(raw_genome_tags).select(F.col("tagId").alias("tag_id"), F.col("tag"))
