"""GroupLens' CSV format: file names and headers, QUOTE_MINIMAL + CRLF quoting, vectorised number rows."""

from __future__ import annotations

import csv
import io

import numpy as np

FILE_HEADERS: dict[str, tuple[str, ...]] = {
    "ratings.csv": ("userId", "movieId", "rating", "timestamp"),
    "tags.csv": ("userId", "movieId", "tag", "timestamp"),
    "movies.csv": ("movieId", "title", "genres"),
    "links.csv": ("movieId", "imdbId", "tmdbId"),
    "genome-scores.csv": ("movieId", "tagId", "relevance"),
    "genome-tags.csv": ("tagId", "tag"),
}

_RATING_TEXT = np.frombuffer(b"0.51.01.52.02.53.03.54.04.55.0", dtype=np.uint8).reshape(10, 3)


_PAIRS16 = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint16)


def _digits(values: np.ndarray, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ASCII digits of non-negative ints, right-aligned, plus a mask that drops the leading zeros.

    Two digits per step through a 100-entry uint16 table: ~10x faster than per-digit ``% 10``.
    """
    n = len(values)
    big = int(values.max()) if n else 0
    width = width or max(1, len(str(big)))
    even = width + (width & 1)
    v = values.astype(np.uint32 if big < 2**32 else np.uint64)
    buf = np.empty((n, even // 2), dtype=np.uint16)
    for j in range(even // 2 - 1, -1, -1):
        q = v // 100
        buf[:, j] = _PAIRS16[v - q * 100]
        v = q
    out = buf.view(np.uint8).reshape(n, even)[:, even - width :]
    thresholds = 10 ** np.arange(1, width, dtype=np.int64)
    nd = 1 + np.searchsorted(thresholds, values, side="right")
    mask = np.arange(width)[None, :] >= (width - nd)[:, None]
    return out, mask


_Field = bytes | tuple[np.ndarray, np.ndarray | None]


def _format_rows(n: int, fields: list[_Field]) -> bytes:
    """Lay fixed-width byte columns side by side and keep the masked bytes: vectorised CSV rows."""
    widths = [len(f) if isinstance(f, bytes) else f[0].shape[1] for f in fields]
    mat = np.empty((n, sum(widths)), dtype=np.uint8)
    mask = np.ones(mat.shape, dtype=bool)
    col = 0
    for f, wd in zip(fields, widths, strict=True):
        if isinstance(f, bytes):
            mat[:, col : col + wd] = np.frombuffer(f, dtype=np.uint8)
        else:
            mat[:, col : col + wd] = f[0]
            if f[1] is not None:
                mask[:, col : col + wd] = f[1]
        col += wd
    return mat[mask].tobytes()


def _csv_bytes(rows: list[tuple[object, ...]]) -> bytes:
    """GroupLens quoting = csv.QUOTE_MINIMAL with CRLF: quotes only around commas/quotes, doubled quotes."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buf.getvalue().encode("utf-8")


def _header(name: str) -> bytes:
    return (",".join(FILE_HEADERS[name]) + "\r\n").encode("ascii")


def _ratings_bytes(user_ids: np.ndarray, movie_ids: np.ndarray, rating_idx: np.ndarray, ts: np.ndarray) -> bytes:
    return _format_rows(
        len(user_ids),
        [
            _digits(user_ids),
            b",",
            _digits(movie_ids),
            b",",
            (_RATING_TEXT[rating_idx], None),
            b",",
            _digits(ts),
            b"\r\n",
        ],
    )
