"""The shipped suites and netflix-elt's GX additions, without a warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from netflix_elt.quality import read_suite
from netflix_elt.quality.suites import REF

ROOT = Path(__file__).resolve().parents[2] / "expectations"
COMPOUND = {
    "core/fct_ratings.yml": "expect_compound_columns_to_be_unique(user_id, movie_id)",
    "marts/mart_movie_releases.yml": "expect_compound_columns_to_be_unique(user_id, movie_id)",
    "core/fct_genome_scores.yml": "expect_compound_columns_to_be_unique(movie_id, tag_id)",
    "raw/raw_links.yml": "movie_id_unique_per_load",
    "raw/raw_movies.yml": "movie_id_unique_per_load",
    "raw/raw_genome_tags.yml": "tag_id_unique_per_load",
}


@pytest.mark.parametrize(("file", "label"), sorted(COMPOUND.items()))
def test_compound_uniqueness_is_one_group_by_under_its_old_name(file: str, label: str) -> None:
    path = ROOT / file
    refs = REF.findall(path.read_text())
    suite = read_suite(path, [r.lower() for r in refs])
    [spec] = [s for s in suite.expectations if s.label == label]
    assert spec.type == "unexpected_rows_expectation" and spec.severity == "error"
    sql = " ".join(spec.kwargs["unexpected_rows_query"].split())
    assert "GROUP BY" in sql and sql.endswith("HAVING COUNT(*) > 1")
    assert "JOIN" not in sql
    assert not [s for s in suite.expectations if s.type == "expect_compound_columns_to_be_unique"]


def test_unexpected_rows_count_expectation_needs_only_the_count() -> None:
    from great_expectations.expectations import UnexpectedRowsExpectation

    from netflix_elt.quality.gx_ext import UnexpectedRowsCountExpectation

    exp = UnexpectedRowsCountExpectation(unexpected_rows_query="SELECT * FROM {batch} WHERE x IS NULL")
    assert isinstance(exp, UnexpectedRowsExpectation)
    assert exp.metric_dependencies == ("unexpected_rows_query.row_count",)
    assert exp._validate({"unexpected_rows_query.row_count": 0}) == {"success": True, "result": {"observed_value": 0}}
    assert exp._validate({"unexpected_rows_query.row_count": 3})["success"] is False
