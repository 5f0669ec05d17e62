"""Garbage-collector settings for a `netflix-elt` process (the console script, `python -m netflix_elt`).

A command imports millions of long-lived objects (GX, pandas, Snowpark) and makes few reference
cycles. With Python's default thresholds (700, 10, 10) the collector walked that heap again and again:
~1.5 s of `validate -s dim_movies`' 11.8 s on the fixture, and the last full collection at exit kept
every command alive ~1 s after its last line. Not applied where netflix_elt is a library (a notebook,
`CliRunner` in tests): the host process keeps its own settings.
"""

from __future__ import annotations

import atexit
import gc

THRESHOLDS = (50_000, 50, 100)  # young objects per collection, then collections per older one
_applied: list[bool] = []


def tune_for_command() -> None:
    """Once per process: rarer collections, and `gc.freeze()` at exit so the last one scans nothing old
    (the exit handlers that close the warehouse still run; the memory goes back to the system anyway)."""
    if _applied:
        return
    _applied.append(True)
    gc.set_threshold(*THRESHOLDS)
    atexit.register(gc.freeze)
