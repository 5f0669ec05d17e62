"""One exception root for netflix-elt, with one subclass per kind of failure.

The CLI maps ``exit_code`` to the process exit status (docs/exit_codes.md), keeping dbt's
meanings: 1 for failures while building or testing the warehouse, 2 for usage and configuration
errors; then 3 when another process holds the warehouse lock and 4 for bad input data (a landed
file or object that cannot be read or loaded), so scripts can tell "retry later" and "fix the
data" from "fix the config". 130 means interrupted (Ctrl-C).
"""

from __future__ import annotations


class NetflixEltError(Exception):
    """Root of every error netflix-elt raises on purpose; the message is shown to the user."""

    exit_code = 2
    # a node's result keeps the whole message (a table of what differs), not only its first line
    multiline = False


class ConfigError(NetflixEltError):
    """A setting is missing or invalid; the message names the setting and where it came from."""


class GraphError(NetflixEltError):
    """The transform graph is invalid: duplicate names, unknown inputs or a cycle."""


class SelectorError(NetflixEltError):
    """A selector is malformed or matches nothing."""


class IngestError(NetflixEltError):
    """Data could not be extracted to or read from the landing zone."""

    exit_code = 4


class LoadError(NetflixEltError):
    """A file could not be loaded into RAW; RAW is left as it was."""

    exit_code = 4


class LockError(NetflixEltError):
    """Another netflix-elt process holds the warehouse lock.

    The way out (`hint`) is kept apart from the message so that the CLI can name only options the
    command has: `--lock-timeout` for a writer, nothing for a reader such as `show`.
    """

    exit_code = 3

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class TransformError(NetflixEltError):
    """A transform failed to build."""

    exit_code = 1


class ContractError(TransformError):
    """A transform's output does not match its contract (netflix_elt.contracts); nothing was written."""

    multiline = True


class SnapshotError(NetflixEltError):
    """A snapshot could not be applied; the snapshot table is left as it was."""

    exit_code = 1


class ValidationError(NetflixEltError):
    """An error-severity data test failed."""

    exit_code = 1
