"""Source freshness (dbt's `source freshness`): how long ago each RAW table last got rows.

Each source with `[sources.X] freshness` gets `MAX(field)` (by default `_LOADED_AT`, the time
the load wrote the row, UTC), its age against the run's "now", and a status: pass, warn,
error, or runtime error when the table or column cannot be read. `target/sources.json` takes
the results in dbt's shape (netflix_elt.artifacts.sources); `build` logs the stale ones before
it runs the transforms. "now" is an argument, so a test can age a source without waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from netflix_elt.artifacts import FreshnessResult, write_sources
from netflix_elt.graph import unique_id
from netflix_elt.sql import first_line, quote

if TYPE_CHECKING:
    from netflix_elt.api import Workspace

log = logging.getLogger("netflix_elt")


@dataclass(frozen=True)
class FreshnessReport:
    results: list[FreshnessResult]
    names: list[str]  # the source of each result, in order
    path: Path | None = None  # target/sources.json, once written

    @property
    def worst(self) -> str:
        order = ("runtime error", "error", "warn", "pass")
        return next((s for s in order if any(r.status == s for r in self.results)), "pass")


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def freshness_sources(ws: Workspace, select_: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[str]:
    """The selected sources that declare freshness (all of them when nothing is selected)."""
    chosen = ws.selected(select_, exclude, ("source",))  # the workspace's state for state: selectors
    return [n for n in chosen if ws.settings.config.sources[n].freshness is not None]


def freshness_sql(relation: str, field: str) -> str:
    """The newest value of `field` and how many rows have one."""
    return f"SELECT MAX({quote(field)}), COUNT({quote(field)}) FROM {relation}"


def check_source(ws: Workspace, name: str, now: datetime) -> FreshnessResult:
    """One source's freshness at `now` (naive UTC, as `_LOADED_AT` is written)."""
    settings = ws.settings
    src = settings.config.sources[name]
    assert src.freshness is not None
    cfg = src.freshness
    uid = unique_id(settings.config.project.name, ws.project[name])
    relation = settings.fqn(settings.raw_schema, src.table)
    started = time.perf_counter()
    started_at = _iso(datetime.now(UTC).replace(tzinfo=None))
    common = {"started_at": started_at, "warn_after": cfg.after("warn_after"), "error_after": cfg.after("error_after")}
    try:
        # COUNT too: the emulator returns a NULL timestamp as 1970-01-01 (docs/EMULATOR_GAPS.md)
        row = ws.session.sql(freshness_sql(relation, cfg.field)).collect()[0]
    except Exception as e:  # a missing table or column: dbt's "runtime error", named
        why = "does not exist (run `netflix-elt load`)" if not ws.adapter.relation_exists(relation) else first_line(e)
        return FreshnessResult(uid, "runtime error", error=f"{relation}: {why}", started_at=started_at)
    latest = row[0]
    if latest is None or not row[1]:
        return FreshnessResult(
            uid, "runtime error", error=f"{relation} has no rows with a {cfg.field}: nothing has been loaded"
        )
    if not isinstance(latest, datetime):
        return FreshnessResult(
            uid, "runtime error", error=f"{relation}.{cfg.field} is not a timestamp (got {type(latest).__name__})"
        )
    latest = latest.astimezone(UTC).replace(tzinfo=None) if latest.tzinfo else latest
    age = (now - latest).total_seconds()
    error_s, warn_s = cfg.seconds("error_after"), cfg.seconds("warn_after")
    status = (
        "error" if error_s is not None and age > error_s else "warn" if warn_s is not None and age > warn_s else "pass"
    )
    return FreshnessResult(
        uid,
        status,  # type: ignore[arg-type]
        max_loaded_at=_iso(latest),
        snapshotted_at=_iso(now),
        age_seconds=round(age, 3),
        execution_time=time.perf_counter() - started,
        completed_at=_iso(datetime.now(UTC).replace(tzinfo=None)),
        **common,  # type: ignore[arg-type]
    )


def source_freshness(
    ws: Workspace,
    select_: Sequence[str] = (),
    exclude: Sequence[str] = (),
    *,
    names: Sequence[str] | None = None,
    now: datetime | None = None,
    write: bool = True,
) -> FreshnessReport:
    """Check the selected sources (or those `names`) and by default write target/sources.json."""
    started = time.perf_counter()
    now = now or datetime.now(UTC).replace(tzinfo=None)
    names = list(names) if names is not None else freshness_sources(ws, select_, exclude)
    ws.session  # noqa: B018 - start the engine (embedded) or connect before the first source's timing
    results = [check_source(ws, n, now) for n in names]
    path = None
    if write:
        path = write_sources(
            ws.settings,
            results,
            elapsed=time.perf_counter() - started,
            invocation_id=ws.invocation_id,
            engine=ws.settings.engine,
        )
    return FreshnessReport(results, names, path)


def age_text(seconds: float) -> str:
    """An age for people: '3 days 4 hours', '12 minutes', '40 seconds'."""
    s = int(seconds)
    for unit, size, smaller, small_size in (("day", 86400, "hour", 3600), ("hour", 3600, "minute", 60)):
        if s >= size:
            big, rest = divmod(s, size)
            tail = (
                f" {rest // small_size} {smaller}{'s' if rest // small_size != 1 else ''}" if rest >= small_size else ""
            )
            return f"{big} {unit}{'s' if big != 1 else ''}{tail}"
    if s >= 60:
        return f"{s // 60} minute{'s' if s // 60 != 1 else ''}"
    return f"{s} second{'s' if s != 1 else ''}"


def upstream_sources(ws: Workspace, select_: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[str]:
    """The sources with freshness that the selected transforms and snapshots read (all: no selection)."""
    project = ws.project
    models = ws.selected(select_, exclude, ("transform", "snapshot"))
    read: set[str] = set().union(*(project.dag.ancestors(n) for n in models)) if models else set()
    wanted = [n for n in freshness_sources(ws) if not select_ or n in read]
    return wanted


def warn_stale(
    ws: Workspace, select_: Sequence[str] = (), exclude: Sequence[str] = (), *, now: datetime | None = None
) -> list[str]:
    """Log one warning per source the build reads that is not fresh (`build` never fails on it)."""
    report = source_freshness(ws, names=upstream_sources(ws, select_, exclude), now=now, write=False)
    lines = []
    for name, r in zip(report.names, report.results, strict=True):
        if r.status == "pass":
            continue
        if r.status == "runtime error":
            lines.append(f"source {name}: freshness could not be checked: {r.error}")
        else:
            limit = ws.settings.config.sources[name].freshness
            after = limit.error_after if r.status == "error" else limit.warn_after  # type: ignore[union-attr]
            lines.append(
                f"source {name} is stale ({r.status}): last loaded {age_text(r.age_seconds)} ago, over {after}"
            )
    for line in lines:
        log.warning(line)
    return lines
