"""Engine adapters: every difference between the embedded engine and Snowflake, behind one interface.

`adapter_for(settings)` picks the adapter once from the profile's engine; everything else asks
the adapter for a capability or an operation, never for an engine name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netflix_elt.adapters.base import Adapter
from netflix_elt.config import Settings

if TYPE_CHECKING:
    from snowflake.snowpark import Session

__all__ = ["Adapter", "adapter_class", "adapter_for", "close_session"]


def adapter_class(settings: Settings) -> type[Adapter]:
    """The adapter class of the settings' engine (its capability flags, without opening anything)."""
    if settings.engine == "embedded":
        from netflix_elt.adapters.embedded import EmbeddedAdapter

        return EmbeddedAdapter
    from netflix_elt.adapters.snowflake import SnowflakeAdapter

    return SnowflakeAdapter


def adapter_for(settings: Settings, *, command: str | None = None, lock_timeout: float = 0.0) -> Adapter:
    """The adapter of one settings object; its session opens on first use.

    `command` is what the warehouse lock says this process is doing (embedded engine), and
    `lock_timeout` how long opening the session waits for another process to finish.
    """
    return adapter_class(settings)(settings, command=command, lock_timeout=lock_timeout)


def close_session(session: Session) -> None:
    """Close a session from `netflix_elt.connect()` and release the warehouse.

    On the embedded engine this detaches the warehouse files and releases the warehouse lock, so
    a CLI command (or another notebook) can open the warehouse at once.
    """
    import sys

    embedded = sys.modules.get("netflix_elt.adapters.embedded")
    if embedded is not None:
        key = embedded.ENGINE.key_of(session)
        if key is not None:
            embedded.ENGINE.release(key)
            return
    from netflix_elt.adapters.snowflake import close_session as close_snowflake

    close_snowflake(session)
