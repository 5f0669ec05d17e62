"""Batch-1 tags: few heavy taggers, popular movies, Zipf tag texts with case variants and forced quirks."""

from __future__ import annotations

import numpy as np

from netflix_elt.movielens.sampling import _allocate, _isin_sorted, _rng, _unique
from netflix_elt.movielens.vocabulary import _COMMA_TAG, _QUOTE_TAG, _tag_vocabulary
from netflix_elt.movielens.world import _World


def _build_tags(w: _World) -> list[tuple[int, int, str, int]]:
    """Batch-1 tags: few heavy taggers, popular movies, Zipf tag texts with case variants; unique triples."""
    pl = w.plan
    rt = _rng(w.seed, 1, "tags")
    n_users, n_movies = len(w.n_activity), len(w.movie_ids)
    p_user = w.n_activity / w.n_activity.sum()
    taggers = np.sort(rt.choice(n_users, size=pl.taggers, replace=False, p=p_user))
    per = _allocate(pl.tags, rt.lognormal(0.0, 1.6, size=pl.taggers), 1, pl.tags)
    ratio = min(0.6, 0.43 * (pl.tags / 3_683) ** -0.35)
    vocab = _tag_vocabulary(max(40, round(pl.tags * ratio)), _rng(w.seed, 1, "vocab"))
    vw = 1.0 / (np.arange(len(vocab)) + 3.0) ** 0.9
    vcdf = np.cumsum(vw) / vw.sum()
    mw = w.weight**0.7 + 1e-9
    mcdf = np.cumsum(mw) / mw.sum()
    v = len(vocab)
    owners = np.repeat(taggers, per)
    keys = np.empty(0, dtype=np.int64)
    need = pl.tags
    while need > 0:
        u = owners[rt.integers(len(owners), size=need)] if len(keys) else owners
        mv = np.minimum(np.searchsorted(mcdf, rt.random(len(u)), side="right"), n_movies - 1)
        tg = np.minimum(np.searchsorted(vcdf, rt.random(len(u)), side="right"), v - 1)
        new = _unique((u * n_movies + mv) * v + tg)
        new = new[~_isin_sorted(new, keys)][:need]
        keys = np.sort(np.concatenate([keys, new]))
        need = pl.tags - len(keys)
    tag_idx = keys % v
    um = keys // v
    users, pos = um // n_movies, um % n_movies
    texts = [vocab[i] for i in tag_idx]
    # Force the quirks onto random rows unless that would duplicate a (user, movie, tag) triple.
    triples = set(zip(users.tolist(), pos.tolist(), texts, strict=True))
    rows_for_quirks = rt.choice(len(texts), size=min(4, len(texts)), replace=False)
    for row, text in zip(rows_for_quirks.tolist(), [_QUOTE_TAG, _COMMA_TAG, "funny", "Funny"], strict=False):
        triple = (int(users[row]), int(pos[row]), text)
        if triple not in triples:
            triples.discard((triple[0], triple[1], texts[row]))
            triples.add(triple)
            texts[row] = text
    s, e = w.win_start[users], w.win_end[users]
    ts = s + np.floor(rt.random(len(keys)) * (e - s + 1)).astype(np.int64)
    rows = [(int(u) + 1, int(w.movie_ids[p]), t, int(x)) for u, p, t, x in zip(users, pos, texts, ts, strict=True)]
    rows.sort(key=lambda r: (r[0], r[1], r[3], r[2]))
    return rows
