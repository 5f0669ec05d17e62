"""Freshness settings without a warehouse: periods, thresholds, and the ages people read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from netflix_elt.config import FreshnessSection, parse_period
from netflix_elt.freshness import age_text


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("1 day", (1, "day")), ("2 days", (2, "day")), ("12 Hours", (12, "hour")), (" 30 minutes ", (30, "minute"))],
)
def test_periods_read_as_dbt_count_and_period(text: str, parsed: tuple[int, str]) -> None:
    assert parse_period(text) == parsed


@pytest.mark.parametrize("text", ["2 weeks", "0 days", "-1 day", "two days", "2days", "1.5 hours", "", "2 days ago"])
def test_what_is_not_a_period_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a period such as"):
        parse_period(text)


def test_thresholds_in_seconds_and_their_order() -> None:
    f = FreshnessSection(warn_after="36 hours", error_after="2 days")
    assert (f.seconds("warn_after"), f.seconds("error_after")) == (36 * 3600, 2 * 86400)
    assert FreshnessSection(error_after="5 minutes").seconds("warn_after") is None
    with pytest.raises(ValidationError, match=r"warn_after \(3 days\) must be shorter than error_after \(72 hours\)"):
        FreshnessSection(warn_after="3 days", error_after="72 hours")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 seconds"), (1, "1 second"), (59, "59 seconds"), (60, "1 minute"), (3599, "59 minutes"),
     (3600, "1 hour"), (3 * 3600 + 61, "3 hours 1 minute"), (86400, "1 day"), (3 * 86400 + 7200, "3 days 2 hours")],
)  # fmt: skip
def test_ages_for_people(seconds: float, text: str) -> None:
    assert age_text(seconds) == text
