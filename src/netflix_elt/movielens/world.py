"""Batch 1's world: users (activity, bias, active window), movies (ids, popularity, titles, quirks, links)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from netflix_elt.movielens.sampling import _Alias, _allocate, _rng
from netflix_elt.movielens.scale import MIN_RATINGS_PER_USER, WINDOW_END, WINDOW_START, Plan
from netflix_elt.movielens.vocabulary import _FOREIGN_WORDS, _make_genres, _make_title, _title_words

_CHUNK_RATINGS = 1 << 20  # ratings generated/written per chunk: bounds memory at any scale

# ml-20m's rating histogram (0.5 .. 5.0): 4.0 and 3.0 dominate, whole stars beat half stars.
_RATING_SHARE = np.array([0.012, 0.034, 0.014, 0.072, 0.044, 0.214, 0.105, 0.277, 0.077, 0.145])
_SIGMA_MOVIE, _SIGMA_USER, _SIGMA_NOISE = 0.45, 0.35, 0.8


@dataclass
class _World:
    """Everything about batch 1 except the ratings themselves, which are regenerated chunk by chunk."""

    seed: int
    plan: Plan
    n_activity: np.ndarray  # ratings per user (index = userId - 1)
    user_bias: np.ndarray
    win_start: np.ndarray
    win_end: np.ndarray
    movie_ids: np.ndarray  # ascending
    weight: np.ndarray  # popularity over movie positions (0 = unrated)
    pop: _Alias
    rateable: np.ndarray  # positions with ratings possible
    quality: np.ndarray
    genome_pos: np.ndarray
    chunks: list[tuple[int, int]]  # user index ranges [u0, u1)
    titles: list[str]
    genres: list[str]
    imdb: np.ndarray
    tmdb: list[int | None]
    thresholds: np.ndarray
    special: dict[str, list[int]] = field(default_factory=dict)


def _build_world(seed: int, pl: Plan) -> _World:
    """Users, movies and their quirks: O(users + movies) memory even at 20m."""
    # Users: heavy-tailed activity (>= 20 each), a bias and an active time window.
    ru = _rng(seed, 1, "users")
    n_users, n_movies = pl.users, pl.movies
    activity_w = ru.lognormal(0.0, 1.3, size=n_users)
    n_activity = _allocate(pl.ratings, activity_w, MIN_RATINGS_PER_USER, pl.user_cap)
    user_bias = ru.normal(0.0, _SIGMA_USER, size=n_users)
    span = WINDOW_END - WINDOW_START
    start = WINDOW_START + np.floor(ru.random(n_users) ** 0.8 * span).astype(np.int64)
    one_session = ru.random(n_users) < 0.45
    dur = np.where(
        one_session,
        600 + ru.exponential(5_400, size=n_users),
        ru.lognormal(math.log(90 * 86_400), 1.5, size=n_users),
    ).astype(np.int64)
    end = np.minimum(start + dur, WINDOW_END)

    # Movies: sparse ascending ids, long-tailed (Zipf-Mandelbrot) popularity, older ids more popular.
    rm = _rng(seed, 1, "movies")
    movie_ids = np.cumsum(rm.geometric(0.25, size=n_movies))
    movie_ids = movie_ids - movie_ids[0] + 1
    order_key = np.arange(n_movies) / n_movies + 0.6 * rm.random(n_movies)
    rank = np.empty(n_movies, dtype=np.int64)
    rank[np.argsort(order_key, kind="stable")] = np.arange(n_movies)
    weight = 1.0 / (rank + 25.0) ** 1.05
    # Unrated movies: rare ones, preferably recently added (high ids), as in GroupLens' releases.
    tail = np.flatnonzero(rank >= n_movies - max(4 * pl.unrated, n_movies // 5))
    unrated = np.sort(rm.choice(tail, size=pl.unrated, replace=False))
    weight[unrated] = 0.0
    rateable = np.flatnonzero(weight > 0)
    quality = rm.normal(0.0, _SIGMA_MOVIE, size=n_movies)
    by_pop = np.argsort(rank, kind="stable")
    genome_pos = np.sort(by_pop[np.isin(by_pop, rateable)][: pl.genome_movies])

    years = np.clip(2015 - np.floor(rm.exponential(16.0, size=n_movies)), 1902, 2015).astype(int)
    foreign = rm.random(n_movies) < 0.03
    titles = [_make_title(rm, int(y), bool(f)) for y, f in zip(years, foreign, strict=True)]
    genres = [_make_genres(rm) for _ in range(n_movies)]

    # Quirks on disjoint, randomly chosen movies (never a genome movie, so the genome stays clean).
    pool = rm.permutation(np.setdiff1d(np.arange(n_movies), genome_pos))
    take = iter(pool.tolist())
    special: dict[str, list[int]] = {}

    def pick(name: str, k: int) -> list[int]:
        special[name] = [next(take) for _ in range(k)]
        return special[name]

    for p in pick("no_genres", pl.no_genres):
        genres[p] = "(no genres listed)"
    for p in pick("no_year", pl.no_year):
        titles[p] = _title_words(rm, int(rm.integers(1, 4)))
    for p in pick("year_range", 1):
        titles[p] = f"{_title_words(rm, 2)}: {_FOREIGN_WORDS[int(rm.integers(len(_FOREIGN_WORDS)))]} (2006–2007)"
    for p in pick("trailing_space", pl.trailing_space):
        titles[p] = titles[p] + " "
    for p in pick("quoted", 1):
        titles[p] = f'"{_title_words(rm, 2)}" {_title_words(rm, 1)} ({years[p]})'
    for p in pick("comma", 1):
        titles[p] = f"American {_title_words(rm, 1)}, The ({years[p]})"
    for p in pick("non_ascii", 1):
        titles[p] = f"Misérables, Les ({years[p]})"
    for p in pick("duplicate", pl.duplicate_titles):
        src = next(take)
        titles[p] = titles[src] = f"{_title_words(rm, 1)} ({years[src]})"
        special.setdefault("duplicate_source", []).append(src)

    imdb = np.sort(rm.choice(np.arange(10_000, 9_999_999), size=n_movies, replace=False))
    imdb = imdb[np.argsort(np.argsort(years, kind="stable"), kind="stable")]  # newer films, larger ids
    tmdb_vals = rm.choice(np.arange(2, 500_000), size=n_movies, replace=False)
    tmdb: list[int | None] = [int(x) for x in tmdb_vals]
    for p in pick("empty_tmdb", pl.empty_tmdb):
        tmdb[p] = None

    chunks: list[tuple[int, int]] = []
    bounds = np.cumsum(n_activity)
    u0 = 0
    while u0 < n_users:
        u1 = int(np.searchsorted(bounds, (bounds[u0 - 1] if u0 else 0) + _CHUNK_RATINGS, side="right"))
        u1 = max(u1, u0 + 1)
        chunks.append((u0, min(u1, n_users)))
        u0 = u1

    share = _RATING_SHARE / _RATING_SHARE.sum()
    sd = math.sqrt(_SIGMA_MOVIE**2 + _SIGMA_USER**2 + _SIGMA_NOISE**2)
    thresholds = np.array([NormalDist(0.0, sd).inv_cdf(c) for c in np.cumsum(share)[:-1]])
    return _World(
        seed=seed,
        plan=pl,
        n_activity=n_activity,
        user_bias=user_bias,
        win_start=start,
        win_end=end,
        movie_ids=movie_ids.astype(np.int64),
        weight=weight,
        pop=_Alias(weight),
        rateable=rateable,
        quality=quality,
        genome_pos=genome_pos,
        chunks=chunks,
        titles=titles,
        genres=genres,
        imdb=imdb,
        tmdb=tmdb,
        thresholds=thresholds,
        special=special,
    )
