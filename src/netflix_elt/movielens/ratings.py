"""Batch-1 ratings of one user chunk: distinct movies per user, latent-score ratings, times in the user's window."""

from __future__ import annotations

import numpy as np

from netflix_elt.movielens.sampling import _rng, _sample_distinct
from netflix_elt.movielens.world import _SIGMA_NOISE, _World


def _ratings_chunk(w: _World, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Batch-1 ratings of one user chunk, sorted by (userId, movieId): user idx, movie pos, rating idx, ts."""
    u0, u1 = w.chunks[c]
    rng = _rng(w.seed, 1, "ratings", c)
    keys = _sample_distinct(rng, w.n_activity[u0:u1], w.pop, w.rateable)
    m = len(w.movie_ids)
    users = keys // m + u0
    pos = keys % m
    latent = w.quality[pos] + w.user_bias[users] + rng.normal(0.0, _SIGMA_NOISE, size=len(keys))
    rating_idx = np.searchsorted(w.thresholds, latent)
    s, e = w.win_start[users], w.win_end[users]
    ts = s + np.floor(rng.random(len(keys)) * (e - s + 1)).astype(np.int64)
    return users, pos, rating_idx, ts
