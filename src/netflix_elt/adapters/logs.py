"""Who may silence the Snowflake connector's logging: the embedded engine only, and only until a real
account is used in the same process.

Why: on the emulator the connector logs HTTP errors and tracebacks for failures the adapter already
turns into one-line errors, and Snowpark warns about things the emulator does; on a real account those
messages (and the connector's "Bad owner or permissions" warning) are the user's to see. Levels and
warning filters are process-wide, so a notebook or a `--print-sql` run that started the emulator
must not keep a later Snowflake session quiet.
"""

from __future__ import annotations

import logging
import warnings

CONNECTOR_LOGGERS = ("snowflake", "snowflake.connector")
_FILTER = ("ignore", None, UserWarning, "snowflake")  # (action, message, category, module) as warnings keeps it
_state = {"real_account": False}


def quiet_connector_for_emulator() -> None:
    """Silence the connector and Snowpark for the embedded engine, unless a real account is open here."""
    if _state["real_account"]:
        return
    for name in CONNECTOR_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", category=UserWarning, module="snowflake")


def real_account_in_use() -> None:
    """A Snowflake session opens: give the connector its own logging back, for the rest of the process."""
    _state["real_account"] = True
    for name in CONNECTOR_LOGGERS:
        log = logging.getLogger(name)
        if log.level == logging.CRITICAL:
            log.setLevel(logging.NOTSET)
    warnings.filters[:] = [f for f in warnings.filters if not _is_ours(f)]


def _is_ours(entry: tuple[object, ...]) -> bool:
    action, message, category, module, _lineno = entry
    pattern = getattr(module, "pattern", module)
    return (action, message, category, pattern) == _FILTER
