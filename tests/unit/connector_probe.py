"""Run in a fresh process: resolve one Snowflake connection twice, by the connector and by netflix-elt.

Why a process of its own: the connector fixes its folder (SNOWFLAKE_HOME) when it is imported and
caches the files it read, so each case needs a new interpreter. The connector's side is its real
path: `snowflake.connector.connect(connection_name=...)` (what Snowpark's
`Session.builder.configs({"connection_name": ...})` calls), stopped just before it would log in.

Usage: python connector_probe.py '["name", null, ...]'   (null: the default connection; prints a JSON
list with one {"connector": ..., "ours": ...} per name, in order)
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any


class _Stop(Exception):
    """Raised where the connector would open its network connection."""


def _capture(run: Any) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out: dict[str, Any] = {"params": run(), "error": None}
        except Exception as e:  # the outcome to compare, whatever it is
            out = {"params": None, "error": f"{type(e).__name__}: {e}"}
    out["warnings"] = [str(w.message) for w in caught if "permissions" in str(w.message)]
    return out


def connector_side(name: str | None) -> dict[str, Any]:
    import snowflake.connector
    from snowflake.connector.connection import SnowflakeConnection

    seen: dict[str, Any] = {}

    def stop(self: object, **kwargs: Any) -> None:
        seen.update(kwargs)
        raise _Stop

    SnowflakeConnection.connect = stop  # type: ignore[method-assign]

    def run() -> dict[str, Any]:
        try:
            snowflake.connector.connect(connection_name=name) if name else snowflake.connector.connect()
        except _Stop:
            return dict(seen)
        raise AssertionError("the connector did not try to connect")

    return _capture(run)


def our_side(name: str | None) -> dict[str, Any]:
    from netflix_elt.connections import snowflake_connection_params

    return _capture(lambda: dict(snowflake_connection_params(name)))


if __name__ == "__main__":
    names = json.loads(sys.argv[1])
    print(json.dumps([{"connector": connector_side(n), "ours": our_side(n)} for n in names], default=str))
