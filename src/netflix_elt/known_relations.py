"""Which relations exist, for one command: one catalog query, then what the command itself built.

Why: a build asked the catalog once per node (is it up to date?) and once per input (can it be
read?), 47 INFORMATION_SCHEMA queries in a fresh build of the project and 20 in a build with
nothing to do, each a round trip. The answer to "does it exist" changes during a command only
where the command creates a relation, and `add` records those; a relation dropped by someone else
meanwhile is found when the statement reading it fails, as it would have been a moment later.
Relations of another database (a --defer target elsewhere) are asked one by one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netflix_elt.adapters import Adapter
    from netflix_elt.config import Settings


class KnownRelations:
    def __init__(self, adapter: Adapter, settings: Settings) -> None:
        self.adapter = adapter
        self.settings = settings  # its database is the one read whole, on the first question
        self._present: set[str] | None = None

    def exists(self, relation: str) -> bool:
        """Whether `relation` (DB.SCHEMA.NAME) is a table or view now."""
        database = self.settings.database.upper()
        if relation.split(".")[0].upper() != database:
            return self.adapter.relation_exists(relation)
        if self._present is None:
            rows = self.adapter.relations(database)
            self._present = {f"{database}.{schema}.{name}".upper() for schema, name, _ in rows}
        return relation.upper() in self._present

    def add(self, relation: str) -> None:
        """`relation` was created by this command."""
        if self._present is not None:
            self._present.add(relation.upper())
