"""Deterministic, MovieLens-shaped synthetic data, so every stage can run without GroupLens' licence.

The files mimic GroupLens' releases byte for byte in format: the same file names and headers,
UTF-8, CRLF line endings, a header row, and GroupLens' (= Python's ``QUOTE_MINIMAL``) quoting.
Every quirk listed in ``shared/data/movielens/SOURCES.md`` is present in batch 1 at every scale
(quoted titles with commas, a tag with embedded quotes, ``(no genres listed)``, titles without a
year, one ``(2006–2007)`` en-dash range, trailing spaces, non-ASCII titles, one title under two
movieIds, case-variant tags, empty ``tmdbId``, movies without ratings, 7-digit ``imdbId``).

Same ``(scale, seed, batch)`` gives byte-identical files: every random stream is a numpy
``PCG64`` seeded from ``(seed, batch, stream, chunk)``, and ratings/genome scores are generated and
written in fixed chunks (bounded memory; ``20m`` writes ~0.9 GB in well under a minute).

Batches (``batch=K``), meant to be loaded in order 1, 2, ..., K:

* **Batch 1** is a full release: ``ratings.csv``, ``tags.csv``, ``movies.csv``, ``links.csv``,
  ``genome-scores.csv``, ``genome-tags.csv``. Each ``(userId, movieId)`` occurs at most once in
  ``ratings.csv``; every user has at least 20 ratings, all inside the user's active window
  (1995-01-09 .. 2015-03-31 UTC).
* **Batch K > 1** is derived from batches 1..K-1 (deterministic from ``(seed, K)``):

  - ``ratings.csv`` is a **delta** (~1% of the batch-1 rating count): new ratings by existing
    users, ratings by a few new users (ids above all earlier ones, >= 20 ratings each) and some
    ratings of new movies, plus **re-ratings** of earlier ``(userId, movieId)`` pairs with a
    different rating. Delta timestamps lie in the batch's own 30-day period starting
    2016-01-01 + (K-2)*30 days, so they are later than anything in earlier batches; a re-rating
    therefore supersedes the earlier rating of the pair (latest timestamp wins).
  - ``tags.csv``, ``movies.csv``, ``links.csv`` are **full current extracts**: tags of batch K-1
    with a few deleted, a few changed (same user and movie, a different tag text or a later
    timestamp) and a few new; all earlier movies with a few corrected titles/genres plus a few
    new movies; links for exactly the movies in ``movies.csv``. A row absent from a full extract
    was deleted at the source.
  - No genome files (the genome is computed once per release).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from netflix_elt.errors import IngestError
from netflix_elt.movielens.csv_format import FILE_HEADERS, _csv_bytes, _header, _ratings_bytes
from netflix_elt.movielens.deltas import _evolve, _initial_state
from netflix_elt.movielens.genome import _write_genome
from netflix_elt.movielens.ratings import _ratings_chunk
from netflix_elt.movielens.scale import (
    BATCH_EPOCH,
    BATCH_PERIOD,
    ML20M_COUNTS,
    SMALL_COUNTS,
    WINDOW_END,
    WINDOW_START,
    Plan,
    parse_scale,
    plan,
)
from netflix_elt.movielens.vocabulary import _genome_tag_names
from netflix_elt.movielens.world import _build_world

__all__ = [
    "BATCH_EPOCH",
    "BATCH_PERIOD",
    "FILE_HEADERS",
    "ML20M_COUNTS",
    "SMALL_COUNTS",
    "WINDOW_END",
    "WINDOW_START",
    "Plan",
    "generate",
    "parse_scale",
    "plan",
    "user_windows",
]


def user_windows(scale: str | int = "small", seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Each batch-1 user's active window ``(start, end)`` in Unix seconds (index = userId - 1), for tests."""
    w = _build_world(seed, plan(scale))
    return w.win_start.copy(), w.win_end.copy()


def generate(
    out_dir: Path,
    *,
    scale: str | int = "small",
    seed: int = 42,
    batch: int = 1,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Write batch ``batch`` of the synthetic data set as GroupLens CSVs; returns {file name: data rows}."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise IngestError(f"invalid seed {seed!r}: use a non-negative integer")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise IngestError(f"invalid batch {batch!r}: batches are numbered from 1")
    pl = plan(scale)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IngestError(f"cannot create output directory {out_dir}: {exc}") from exc
    report = progress or (lambda _name, _rows: None)
    w = _build_world(seed, pl)
    st = _initial_state(w)
    counts: dict[str, int] = {}

    def write_small(name: str, rows: list[tuple[object, ...]]) -> None:
        (out_dir / name).write_bytes(_header(name) + _csv_bytes(rows))
        counts[name] = len(rows)
        report(name, len(rows))

    if batch == 1:
        with open(out_dir / "ratings.csv", "wb") as fh:
            fh.write(_header("ratings.csv"))
            done = 0
            for c in range(len(w.chunks)):
                users, pos, rating_idx, ts = _ratings_chunk(w, c)
                fh.write(_ratings_bytes(users + 1, w.movie_ids[pos], rating_idx, ts))
                done += len(users)
                report("ratings.csv", done)
        counts["ratings.csv"] = done
    else:
        for k in range(2, batch + 1):
            st = _evolve(w, st, k)
        assert st.delta is not None
        du, dm, dr, dts = st.delta
        (out_dir / "ratings.csv").write_bytes(_header("ratings.csv") + _ratings_bytes(du, dm, dr, dts))
        counts["ratings.csv"] = len(du)
        report("ratings.csv", len(du))

    write_small("tags.csv", list(st.tags))
    write_small("movies.csv", [(m, t, g) for m, (t, g) in sorted(st.movies.items())])
    write_small(
        "links.csv",
        [(m, f"{im:07d}", "" if tm is None else tm) for m, (im, tm) in sorted(st.links.items())],
    )
    if batch == 1:
        names = _genome_tag_names()
        write_small("genome-tags.csv", [(i + 1, t) for i, t in enumerate(names)])
        counts["genome-scores.csv"] = _write_genome(w, out_dir / "genome-scores.csv", report)
    return counts
