"""How much to generate: a scale's row and quirk counts (ml-latest-small or ml-20m-proportional) and the time frame."""

from __future__ import annotations

import math
from dataclasses import dataclass

from netflix_elt.errors import IngestError

ML20M_COUNTS = {
    "ratings": 20_000_263,
    "tags": 465_564,
    "movies": 27_278,
    "genome_movies": 10_381,
    "genome_tags": 1_128,
    "users": 138_493,
}
SMALL_COUNTS = {"ratings": 100_836, "tags": 3_683, "movies": 9_742, "users": 610, "genome_movies": 300}

WINDOW_START = 789_609_600  # 1995-01-09 00:00:00 UTC, the first day of ml-20m
WINDOW_END = 1_427_846_399  # 2015-03-31 23:59:59 UTC, the last day of ml-20m
BATCH_EPOCH = 1_451_606_400  # 2016-01-01 UTC: later batches live after every batch-1 timestamp
BATCH_PERIOD = 30 * 86_400

MIN_RATINGS_PER_USER = 20


def parse_scale(scale: str | int) -> int:
    """Turn ``small``/``500k``/``2m``/``20m``/``123456`` into a rating count (``20m`` = ml-20m exactly)."""
    if isinstance(scale, bool):
        raise IngestError(f"invalid scale {scale!r}: use small, 500k, 2m, 20m or a number of ratings")
    if isinstance(scale, int):
        n = scale
    else:
        text = str(scale).strip().lower().replace("_", "")
        try:
            if text == "small":
                n = SMALL_COUNTS["ratings"]
            elif text == "20m":
                n = ML20M_COUNTS["ratings"]
            elif text.endswith("k"):
                n = round(float(text[:-1]) * 1_000)
            elif text.endswith("m"):
                n = round(float(text[:-1]) * 1_000_000)
            else:
                n = int(text)
        except ValueError:
            raise IngestError(f"invalid scale {scale!r}: use small, 500k, 2m, 20m or a number of ratings") from None
    if n < 100 or n > 200_000_000:
        raise IngestError(f"invalid scale {scale!r}: the number of ratings must be between 100 and 200m")
    return n


@dataclass(frozen=True)
class Plan:
    """Row counts and quirk counts for one scale; ml-latest-small or ml-20m-proportional."""

    ratings: int
    users: int
    movies: int
    tags: int
    genome_movies: int
    genome_tags: int
    unrated: int
    taggers: int
    no_genres: int
    no_year: int
    trailing_space: int
    empty_tmdb: int
    duplicate_titles: int
    user_cap: int = 9_254  # most ratings one user may have (ml-20m's maximum)


def plan(scale: str | int) -> Plan:
    """Counts for a scale: ``small`` follows ml-latest-small, anything else is proportional to ml-20m."""
    n = parse_scale(scale)
    if n == SMALL_COUNTS["ratings"]:
        return Plan(
            ratings=n,
            users=610,
            movies=9_742,
            tags=3_683,
            genome_movies=300,
            genome_tags=1_128,
            unrated=18,
            taggers=58,
            no_genres=34,
            no_year=12,
            trailing_space=11,
            empty_tmdb=8,
            duplicate_titles=5,
            user_cap=int(0.35 * (9_742 - 18)),
        )
    f = n / ML20M_COUNTS["ratings"]
    movies = max(200, round(ML20M_COUNTS["movies"] * f))
    unrated = max(2, round(movies * 534 / 27_278))
    cap = max(MIN_RATINGS_PER_USER, min(int(0.35 * (movies - unrated)), 9_254))
    # enough users that nobody exceeds the cap, never so many that someone has < 20 ratings
    users = max(1, min(max(round(ML20M_COUNTS["users"] * f), math.ceil(n / (0.5 * cap))), n // MIN_RATINGS_PER_USER))
    genome = min((movies - unrated) // 2, max(300, round(ML20M_COUNTS["genome_movies"] * f)))
    return Plan(
        ratings=n,
        users=users,
        movies=movies,
        tags=max(20, round(ML20M_COUNTS["tags"] * f)),
        genome_movies=genome,
        genome_tags=ML20M_COUNTS["genome_tags"],
        unrated=unrated,
        taggers=max(3, min(users, round(users * 7_801 / 138_493))),
        no_genres=max(2, round(movies * 246 / 27_278)),
        no_year=max(1, round(movies * 0.0013)),
        trailing_space=max(1, round(movies * 0.0011)),
        empty_tmdb=max(1, round(movies * 252 / 27_278)),
        duplicate_titles=max(1, round(movies * 0.0005)),
        user_cap=cap,
    )
