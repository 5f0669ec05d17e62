"""What LOAD_HISTORY says about each source: the duplicate-load check, SKIP_FILE and the deletion guard.

Pure bookkeeping over `PastLoad` rows (no SQL), shared by the local loader (`load.py`), the
external-stage loader and `--print-sql`.
"""

from __future__ import annotations

from dataclasses import dataclass

from netflix_elt.config import SourceSection
from netflix_elt.errors import LoadError


@dataclass(frozen=True)
class PastLoad:
    """A row of LOAD_HISTORY: what the duplicate check and the deletion guard compare with."""

    load_id: int
    table: str
    file: str
    batch: str
    checksum: str
    status: str
    rows_loaded: int
    keys: int | None

    def describe(self) -> str:
        what = "loaded" if self.status == "LOADED" else "skipped"
        return f"{self.file} ({what} as load {self.load_id}, {self.batch})"


class _Book:
    """What LOAD_HISTORY (and the files planned so far in this command) say about each source."""

    def __init__(self, history: list[PastLoad], force: bool) -> None:
        self.force = force
        self.by_table: dict[str, list[PastLoad]] = {}
        for h in history:
            self.by_table.setdefault(h.table, []).append(h)

    def add(self, src: SourceSection, load: PastLoad) -> None:
        self.by_table.setdefault(src.table, []).append(load)

    def same_content(self, src: SourceSection, file: str, digest: str) -> PastLoad | None:
        """An earlier load of this file or content: the same file (path and checksum) always; the same
        content under another path, any load for a delta source, but for a full extract only the
        latest one (an older extract landed anew is a change back, so it loads)."""
        if self.force:
            return None
        past = self.by_table.get(src.table, [])
        same_file = next((h for h in past if h.file == file and h.checksum == digest), None)
        if same_file is not None or src.mode == "append":
            return same_file or next((h for h in reversed(past) if h.checksum == digest), None)
        latest = self.previous_extract(src)  # all its rows: a split file has one per part, under one load id
        last = [h for h in past if latest is not None and h.status == "LOADED" and h.load_id == latest.load_id]
        candidates = [h for h in past if h.status == "SKIPPED"] + last
        return next((h for h in reversed(candidates) if h.checksum == digest), None)

    def previous_extract(self, src: SourceSection) -> PastLoad | None:
        return next((h for h in reversed(self.by_table.get(src.table, [])) if h.status == "LOADED"), None)

    def has_rows(self, src: SourceSection) -> bool:
        return any(h.rows_loaded > 0 for h in self.by_table.get(src.table, []))


def _skips(policy: str, rejected: int, records: int) -> bool:
    """Snowflake's SKIP_FILE rules: any error, at least N errors, or at least N percent."""
    if not rejected or policy in ("continue", "abort_statement"):
        return False
    if policy == "skip_file":
        return True
    limit = policy.removeprefix("skip_file_")
    if limit.endswith("%"):
        return rejected * 100 >= float(limit[:-1]) * records
    return rejected >= int(limit)


def deletion_guard(name: str, src: SourceSection, file_uri: str, keys: int, previous: PastLoad | None) -> None:
    """Refuse a full extract whose keys drop by more than the source's max_delete_fraction (exit 4)."""
    if previous is None or not previous.keys or keys >= previous.keys * (1 - src.max_delete_fraction):
        return
    key = ", ".join(src.key) if src.key else "rows"
    raise LoadError(
        f"{file_uri}: this full extract of {src.table} has {keys:,} keys ({key}), the previous one "
        f"{previous.keys:,} ({previous.describe()}): {1 - keys / previous.keys:.1%} would be deleted, more than "
        f"sources.{name}.max_delete_fraction = {src.max_delete_fraction}. Nothing was loaded; if the "
        "deletions are real, run `netflix-elt load --allow-deletes`"
    )
