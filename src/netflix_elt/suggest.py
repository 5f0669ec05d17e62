"""Did-you-mean: the one place that turns a mistyped name into a hint (difflib).

Every command that takes a node, seed, source, layer, tag, target or profile name says what it
knows when the name is unknown, so a typo costs one more try, not a search through `ls`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_to(word: str, candidates: Iterable[str], n: int = 1) -> list[str]:
    """The candidates closest to `word` (case-insensitive), best first; [] when none is close."""
    by_lower: dict[str, str] = {}
    for c in candidates:
        by_lower.setdefault(str(c).lower(), str(c))
    return [by_lower[m] for m in difflib.get_close_matches(word.lower(), list(by_lower), n=n)]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """The hint "; did you mean 'x'?" for the closest candidate, or "" (appended to an error message)."""
    close = close_to(word, candidates)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown(what: str, word: str, candidates: Iterable[str]) -> str:
    """The message for an unknown name: "no seed named 'x'; did you mean 'y'?"."""
    return f"no {what} named {word!r}{did_you_mean(word, candidates)}"
