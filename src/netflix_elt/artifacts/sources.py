"""`target/sources.json` in dbt's sources v3 schema: one row per source whose freshness was checked.

Only the shape lives here; what counts as fresh, and when it is checked, belongs to the
freshness command that writes through it (dbt's `source freshness`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from netflix_elt.artifacts.common import SOURCES_VERSION, metadata, write_json
from netflix_elt.config import Settings

Period = Literal["minute", "hour", "day"]


@dataclass(frozen=True)
class FreshnessResult:
    """One source's freshness: its newest load time against the warn/error thresholds."""

    unique_id: str
    status: Literal["pass", "warn", "error", "runtime error"]
    max_loaded_at: str | None = None  # ISO 8601; None with a runtime error
    snapshotted_at: str | None = None
    age_seconds: float = 0.0
    warn_after: tuple[int, Period] | None = None
    error_after: tuple[int, Period] | None = None
    error: str | None = None  # the runtime error's message
    execution_time: float = 0.0
    thread_id: str = "main"
    started_at: str | None = None
    completed_at: str | None = None

    def row(self) -> dict[str, Any]:
        if self.status == "runtime error":
            return {"unique_id": self.unique_id, "error": self.error, "status": self.status}

        def after(t: tuple[int, Period] | None) -> dict[str, Any]:
            return {"count": t[0], "period": t[1]} if t else {"count": None, "period": None}

        return {
            "unique_id": self.unique_id,
            "max_loaded_at": self.max_loaded_at,
            "snapshotted_at": self.snapshotted_at,
            "max_loaded_at_time_ago_in_s": self.age_seconds,
            "status": self.status,
            "criteria": {"warn_after": after(self.warn_after), "error_after": after(self.error_after), "filter": None},
            "adapter_response": {},
            "timing": [{"name": "execute", "started_at": self.started_at, "completed_at": self.completed_at}],
            "thread_id": self.thread_id,
            "execution_time": round(self.execution_time, 4),
        }


def build_sources(
    settings: Settings, results: list[FreshnessResult], *, elapsed: float, invocation_id: str, engine: str
) -> dict[str, Any]:
    return {
        "metadata": metadata(SOURCES_VERSION, settings, invocation_id, engine),
        "results": [r.row() for r in results],
        "elapsed_time": round(elapsed, 4),
    }


def write_sources(settings: Settings, results: list[FreshnessResult], **kw: Any) -> Path:
    path = settings.target_dir / "sources.json"
    write_json(path, build_sources(settings, results, **kw))
    return path
