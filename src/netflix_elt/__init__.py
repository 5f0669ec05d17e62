"""netflix-elt: an ELT framework and warehouse for MovieLens on Snowflake (or an embedded engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netflix_elt.registry import snapshot, transform

if TYPE_CHECKING:
    from snowflake.snowpark import DataFrame, Session

__all__ = ["close_session", "connect", "ref", "snapshot", "source", "transform"]
__version__ = "0.1.0"


def connect(target: str | None = None, profile: str | None = None, **kwargs: Any) -> Session:
    """A ready Snowpark session for a notebook; on the embedded engine it holds the warehouse until closed.

    Call `netflix_elt.close_session(session)` when done, so CLI commands can open the warehouse
    (or let the process end). While it is open, a CLI command exits 3 naming this process.
    """
    from netflix_elt.notebook import connect as _connect

    return _connect(target=target, profile=profile, **kwargs)


def close_session(session: Session) -> None:
    """Close a session from `connect()` and release the warehouse (lock and engine files)."""
    from netflix_elt.adapters import close_session as _close
    from netflix_elt.notebook import forget

    forget(session)
    _close(session)


def ref(session: Session, name: str, **kwargs: Any) -> DataFrame:
    """The DataFrame of a transform, seed or snapshot for the session's target, by name (dbt's `ref`).

    `netflix_elt.ref(session, "dim_movies")`: its table or view; an ephemeral transform or an analysis as its query.
    """
    from netflix_elt.notebook import ref as _ref

    return _ref(session, name, **kwargs)


def source(session: Session, name: str, **kwargs: Any) -> DataFrame:
    """The RAW table of a source, by its name in config/netflix_elt.toml (dbt's `source`).

    `netflix_elt.source(session, "raw_ratings")`.
    """
    from netflix_elt.notebook import source as _source

    return _source(session, name, **kwargs)
