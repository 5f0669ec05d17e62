"""The tag genome: dense movie x tag relevance scores, written in movie chunks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from netflix_elt.movielens.csv_format import _digits, _format_rows, _header
from netflix_elt.movielens.sampling import _rng
from netflix_elt.movielens.scale import ML20M_COUNTS
from netflix_elt.movielens.world import _World

_GENOME_CHUNK_MOVIES = 1_000


def _write_genome(w: _World, path: Path, report: Callable[[str, int], None]) -> int:
    """Dense movie x tag relevance in (0, 1], written in movie chunks; printed with <= 5 decimals."""
    n_tags = ML20M_COUNTS["genome_tags"]
    rg0 = _rng(w.seed, 1, "genome")
    tag_power = rg0.uniform(2.0, 9.0, size=n_tags)  # larger = rarer tag
    gids = w.movie_ids[w.genome_pos]
    tag_ids = np.arange(1, n_tags + 1)
    done = 0
    with open(path, "wb") as fh:
        fh.write(_header("genome-scores.csv"))
        for c, s in enumerate(range(0, len(gids), _GENOME_CHUNK_MOVIES)):
            mids = gids[s : s + _GENOME_CHUNK_MOVIES]
            rg = _rng(w.seed, 1, "genome", c)
            x = rg.random((len(mids), n_tags)) ** tag_power[None, :]
            strong = rg.random(x.shape) < 0.025
            x[strong] = 0.45 + 0.55 * rg.random(int(strong.sum()))
            units = np.clip(np.rint(x * 4_000), 1, 4_000).astype(np.int64).ravel() * 25  # 1e-5 units
            n = len(units)
            whole = (units // 100_000).astype(np.uint8) + 48
            frac, _ = _digits(units % 100_000, 5)
            nonzero = frac != 48
            keep = np.ones_like(nonzero)
            # keep a fraction digit unless it and every digit after it are zero (first digit always kept)
            keep[:, 1:] = np.logical_or.accumulate(nonzero[:, ::-1], axis=1)[:, ::-1][:, 1:]
            fh.write(
                _format_rows(
                    n,
                    [
                        _digits(np.repeat(mids, n_tags)),
                        b",",
                        _digits(np.tile(tag_ids, len(mids))),
                        b",",
                        (whole[:, None], None),
                        b".",
                        (frac, keep),
                        b"\r\n",
                    ],
                )
            )
            done += n
            report("genome-scores.csv", done)
    return done
