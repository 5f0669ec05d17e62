"""netflix-elt: an ELT framework and warehouse for MovieLens on Snowflake (or an embedded engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netflix_elt.registry import snapshot, transform

if TYPE_CHECKING:
    from snowflake.snowpark import Session

__all__ = ["connect", "snapshot", "transform"]
__version__ = "0.1.0"


def connect(target: str | None = None, profile: str | None = None, **kwargs: Any) -> Session:
    """A ready Snowpark session for a notebook; the embedded engine stays up until the session closes.

    Call `netflix_elt.engine.close_session(session)` (or let the process end) when done.
    """
    from netflix_elt.notebook import connect as _connect

    return _connect(target=target, profile=profile, **kwargs)
