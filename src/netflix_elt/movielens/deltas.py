"""Later batches (K > 1): the source system's state after each batch and batch K's changes to it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from netflix_elt.movielens.ratings import _ratings_chunk
from netflix_elt.movielens.sampling import _isin_sorted, _rng, _sample_distinct, _unique
from netflix_elt.movielens.scale import BATCH_EPOCH, BATCH_PERIOD, MIN_RATINGS_PER_USER
from netflix_elt.movielens.tags import _build_tags
from netflix_elt.movielens.vocabulary import _make_genres, _make_title, _tag_vocabulary
from netflix_elt.movielens.world import _World


@dataclass
class _State:
    """The source system after batch k: full tables plus what the rating deltas have touched."""

    movies: dict[int, tuple[str, str]]
    links: dict[int, tuple[int, int | None]]
    tags: list[tuple[int, int, str, int]]
    n_users: int
    touched: dict[int, int]  # userId * KEY + movieId -> latest rating index, from deltas only
    max_movie_id: int
    new_movies: list[int] = field(default_factory=list)
    delta: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


_KEY = 1 << 24  # movieIds stay far below this, so userId * _KEY + movieId is a unique pair key


def _initial_state(w: _World) -> _State:
    movies = {int(i): (t, g) for i, t, g in zip(w.movie_ids, w.titles, w.genres, strict=True)}
    links = {int(i): (int(im), tm) for i, im, tm in zip(w.movie_ids, w.imdb, w.tmdb, strict=True)}
    return _State(
        movies=movies,
        links=links,
        tags=_build_tags(w),
        n_users=len(w.n_activity),
        touched={},
        max_movie_id=int(w.movie_ids[-1]),
    )


def _evolve(w: _World, st: _State, k: int) -> _State:
    """Apply batch k's changes to the state (k >= 2); deterministic from (seed, k)."""
    rng = _rng(w.seed, k, "delta")
    pl = w.plan
    t0 = BATCH_EPOCH + (k - 2) * BATCH_PERIOD

    def stamp(n: int) -> np.ndarray:
        return t0 + rng.integers(0, BATCH_PERIOD, size=n)

    # Movies: a few corrections and a few new titles (ids above every earlier id).
    movies = dict(st.movies)
    protected = set(
        int(w.movie_ids[p]) for name in ("year_range", "quoted", "comma", "non_ascii") for p in w.special.get(name, [])
    )
    candidates = [m for m in movies if m not in protected]
    quirky = [
        int(w.movie_ids[p]) for name in ("trailing_space", "no_genres", "no_year") for p in w.special.get(name, [])
    ]
    n_fix = max(1, round(0.001 * len(movies)))
    fix = list(rng.choice(quirky, size=min(len(quirky), max(1, n_fix // 2)), replace=False))
    fix += list(rng.choice(candidates, size=n_fix, replace=False))
    for mid in dict.fromkeys(int(x) for x in fix):
        title, genres = movies[mid]
        if title.endswith(" "):
            title = title.rstrip()
        elif genres == "(no genres listed)":
            genres = _make_genres(rng)
        elif not title.rstrip().endswith(")"):
            title = f"{title} ({int(rng.integers(1990, 2016))})"
        else:
            new_genres = _make_genres(rng)
            genres = new_genres if new_genres != genres else "|".join(sorted({*genres.split("|"), "Drama"}))
            if genres == movies[mid][1]:
                genres = "Comedy" if genres != "Comedy" else "Drama"
        movies[mid] = (title, genres)
    links = dict(st.links)
    n_new = max(1, round(0.002 * len(w.movie_ids)))
    new_ids = st.max_movie_id + np.cumsum(rng.integers(1, 8, size=n_new))
    used_imdb = {v[0] for v in links.values()}
    used_tmdb = {v[1] for v in links.values() if v[1] is not None}
    for mid in new_ids.tolist():
        movies[mid] = (_make_title(rng, 2015 + (k - 2) // 12, bool(rng.random() < 0.05)), _make_genres(rng))
        imdb = int(rng.integers(3_000_000, 9_999_999))
        while imdb in used_imdb:
            imdb += 1
        tmdb = int(rng.integers(300_000, 600_000))
        while tmdb in used_tmdb:
            tmdb += 1
        used_imdb.add(imdb)
        used_tmdb.add(tmdb)
        links[mid] = (imdb, tmdb)

    # Tags: full extract with some deleted, some changed, some new rows.
    tags = list(st.tags)
    nt = len(tags)
    n_del, n_chg, n_add = max(1, round(0.005 * nt)), max(2, round(0.01 * nt)), max(1, round(0.01 * nt))
    idx = rng.permutation(nt)
    deleted = set(idx[:n_del].tolist())
    changed = idx[n_del : n_del + n_chg].tolist()
    triples = {(u, m, t) for u, m, t, _ in tags}
    vocab = _tag_vocabulary(200, _rng(w.seed, 1, "vocab"))
    for j, i in enumerate(changed):
        u, m, t, ts = tags[i]
        if j % 2 == 0:
            for _ in range(20):
                nt_text = vocab[int(rng.integers(len(vocab)))]
                if (u, m, nt_text) not in triples:
                    triples.discard((u, m, t))
                    triples.add((u, m, nt_text))
                    t = nt_text
                    break
        tags[i] = (u, m, t, int(stamp(1)[0]))
    tags = [row for i, row in enumerate(tags) if i not in deleted]
    tag_users = sorted({u for u, *_ in st.tags})
    movie_list = sorted(movies)
    for _ in range(n_add):
        u = tag_users[int(rng.integers(len(tag_users)))]
        m = movie_list[int(rng.integers(len(movie_list)))]
        t = vocab[int(rng.integers(len(vocab)))]
        if (u, m, t) not in triples:
            triples.add((u, m, t))
            tags.append((u, m, t, int(stamp(1)[0])))
    tags.sort(key=lambda r: (r[0], r[1], r[3], r[2]))

    # Ratings delta: regenerate one batch-1 chunk so new pairs avoid, and re-ratings hit, real pairs.
    target = max(20, round(0.01 * pl.ratings))
    c = int(rng.integers(len(w.chunks)))
    cu, cp, cr, _ = _ratings_chunk(w, c)
    chunk_keys = (cu + 1) * _KEY + w.movie_ids[cp]
    out_keys: list[np.ndarray] = []
    out_rating: list[np.ndarray] = []
    n_re = min(len(chunk_keys), max(1, round(0.15 * target)))
    pick = np.sort(rng.choice(len(chunk_keys), size=n_re, replace=False))
    re_keys = chunk_keys[pick]
    current = np.array([st.touched.get(int(key), int(r)) for key, r in zip(re_keys, cr[pick], strict=True)])
    out_keys.append(re_keys)
    out_rating.append((current + rng.integers(1, 10, size=n_re)) % 10)  # always a different rating
    # New users: >= 20 ratings each, distinct movies, some of this batch's new movies among them.
    n_new_users = max(1, round(0.10 * target / 25))
    new_counts = rng.integers(MIN_RATINGS_PER_USER, 31, size=n_new_users)
    nk = _sample_distinct(rng, new_counts, w.pop, w.rateable)
    m = len(w.movie_ids)
    new_user_keys = (st.n_users + 1 + nk // m) * _KEY + w.movie_ids[nk % m]
    out_keys.append(new_user_keys)
    out_rating.append(np.searchsorted(w.thresholds, rng.normal(0.0, 1.2, size=len(nk))))
    # Existing users of the chunk: new movies for them (never a pair rated before), incl. new titles.
    n_exist = max(1, target - n_re - len(nk))
    cu0, cu1 = w.chunks[c]
    pu = w.n_activity[cu0:cu1] / w.n_activity[cu0:cu1].sum()
    n_draw = 4 * n_exist  # oversample: most popular pairs are already rated and get filtered out
    users = cu0 + 1 + rng.choice(cu1 - cu0, size=n_draw, p=pu)
    draws = w.pop.draw(rng, n_draw)
    mids = w.movie_ids[draws]
    newest = rng.random(n_draw) < 0.03
    mids[newest] = new_ids[rng.integers(len(new_ids), size=int(newest.sum()))]
    ek = _unique(users * _KEY + mids)
    touched_sorted = np.array(sorted(st.touched), dtype=np.int64)
    ek = ek[~_isin_sorted(ek, np.sort(chunk_keys)) & ~_isin_sorted(ek, touched_sorted)]
    if len(ek) > n_exist:
        ek = np.sort(rng.choice(ek, size=n_exist, replace=False))
    out_keys.append(ek)
    out_rating.append(np.searchsorted(w.thresholds, rng.normal(0.0, 1.2, size=len(ek))))
    keys = np.concatenate(out_keys)
    ratings = np.concatenate(out_rating)
    order = np.argsort(keys, kind="stable")
    keys, ratings = keys[order], ratings[order]
    touched = dict(st.touched)
    touched.update(zip(keys.tolist(), ratings.tolist(), strict=True))
    delta = (keys // _KEY, keys % _KEY, ratings, stamp(len(keys)))
    return _State(
        movies=movies,
        links=links,
        tags=tags,
        n_users=st.n_users + n_new_users,
        touched=touched,
        max_movie_id=int(new_ids[-1]),
        new_movies=new_ids.tolist(),
        delta=delta,
    )
