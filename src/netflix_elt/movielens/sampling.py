"""Random streams and vectorised sampling helpers: one PCG64 stream per purpose, exact allocation, alias draws."""

from __future__ import annotations

import numpy as np

from netflix_elt.errors import IngestError

_STREAMS = {"users": 1, "movies": 2, "ratings": 3, "tags": 4, "genome": 5, "delta": 6, "vocab": 7}


def _rng(seed: int, batch: int, stream: str, *extra: int) -> np.random.Generator:
    """One independent stream per (seed, batch, purpose, chunk): chunking never changes the output."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, batch, _STREAMS[stream], *extra])))


def _allocate(total: int, weights: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Integers in [lo, hi] summing exactly to ``total``, roughly proportional to ``weights`` above lo."""
    n = len(weights)
    if not lo * n <= total <= hi * n:
        raise IngestError(f"cannot split {total} rows over {n} owners with {lo}..{hi} each")
    x = np.full(n, float(lo))
    free = np.ones(n, dtype=bool)
    for _ in range(200):
        remaining = total - x.sum()
        if remaining <= 1e-6 or not free.any():
            break
        share = np.where(free, weights, 0.0)
        x = x + share / share.sum() * remaining
        over = x >= hi
        x = np.minimum(x, hi)
        free &= ~over
    counts = np.floor(x + 1e-9).astype(np.int64)
    rest = total - int(counts.sum())
    frac = np.where(counts < hi, x - counts, -1.0)
    counts[np.argsort(-frac, kind="stable")[:rest]] += 1
    return counts


def _isin_sorted(values: np.ndarray, sorted_ref: np.ndarray) -> np.ndarray:
    """Vectorised membership against a sorted array (no re-sort of the reference)."""
    if len(sorted_ref) == 0:
        return np.zeros(len(values), dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_ref, values), len(sorted_ref) - 1)
    return sorted_ref[idx] == values


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values; much faster than ``np.unique`` (hash based in numpy 2.3+) for int keys."""
    s = np.sort(values)
    if len(s) == 0:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


class _Alias:
    """Walker/Vose alias table: O(1) weighted draws, ~4x faster than a CDF binary search."""

    def __init__(self, weights: np.ndarray) -> None:
        n = len(weights)
        scaled = weights / weights.sum() * n
        prob = np.ones(n)
        alias = np.arange(n)
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        sc = scaled.tolist()
        while small and large:
            s, g = small.pop(), large.pop()
            prob[s], alias[s] = sc[s], g
            sc[g] -= 1.0 - sc[s]
            (small if sc[g] < 1.0 else large).append(g)
        self.prob, self.alias = prob, alias

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        i = rng.integers(len(self.prob), size=size)
        return np.where(rng.random(size) < self.prob[i], i, self.alias[i])


def _sample_distinct(rng: np.random.Generator, counts: np.ndarray, pop: _Alias, rateable: np.ndarray) -> np.ndarray:
    """Sorted keys ``local_user * M + movie_pos`` with exactly ``counts[u]`` distinct movies per user.

    Popular movies are drawn first (Zipf), the shortfall of heavy users is topped up uniformly
    over rateable movies, which converges because no user rates more than 35% of them.
    """
    m = len(pop.prob)
    nu = len(counts)
    users = np.repeat(np.arange(nu, dtype=np.int64), counts)
    keys = _unique(users * m + pop.draw(rng, len(users)))
    for rnd in range(1, 1_000):
        short = counts - np.bincount(keys // m, minlength=nu)
        if not short.any():
            return keys
        su = np.repeat(np.arange(nu, dtype=np.int64), short)
        uniform = rateable[rng.integers(len(rateable), size=len(su))] if rnd >= 2 else None
        draws = pop.draw(rng, len(su)) if uniform is None else uniform
        new = _unique(su * m + draws)
        new = new[~_isin_sorted(new, keys)]
        keys = np.sort(np.concatenate([keys, new]), kind="stable")
    raise AssertionError("distinct sampling did not converge")  # pragma: no cover
