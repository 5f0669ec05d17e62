"""What a data test run reports: one row per expectation, and its shapes in run_results.json.

Kept apart from the runner (validate.py) so that what reads results (the CLI, artifacts, the
incremental state) needs neither GX nor the validator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netflix_elt.artifacts import NodeResult
from netflix_elt.sql import string

NOT_BUILT = "not built"
WHOLE_TABLE = "whole table"


@dataclass
class ExpectationResult:
    """One row of `netflix-elt validate`: what was checked, how bad, and a few failing values."""

    suite: str
    expectation: str
    gx_type: str
    severity: str
    status: str  # pass, fail, warn, error, not built
    unexpected_count: int | None = None
    sample: list[Any] = field(default_factory=list)
    message: str = ""
    relation: str | None = None
    execution_time: float = 0.0
    # what it ran on: the whole table, or (after an incremental merge) the changed rows or the rows
    # sharing a changed key, or a delta query from the previous passing state; and that batch's rows
    scope: str = WHOLE_TABLE
    rows_checked: int | None = None

    @property
    def blocks(self) -> bool:
        """An error-severity expectation that failed (or could not run) fails the run."""
        return self.severity == "error" and self.status in ("fail", "error")

    def sample_json(self) -> str:
        return json.dumps(self.sample, default=str)


@dataclass
class ValidationReport:
    results: list[ExpectationResult]
    elapsed: float
    invocation_id: str
    data_docs: Path | None = None
    audit_rows: int = 0

    @property
    def ok(self) -> bool:
        return not any(r.blocks for r in self.results)


def literals(values: Any) -> str:
    """SQL literals of an in-set list of numbers or strings ('' for anything else)."""
    if not isinstance(values, list | tuple) or not values:
        return ""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return ", ".join(repr(float(v)) for v in values)
    if all(isinstance(v, str) for v in values):
        return ", ".join(string(v) for v in values)
    return ""


def exception_message(info: Any) -> str:
    """GX nests exception info by metric; return the first message, or ''."""
    if not info:
        return ""
    if isinstance(info, dict) and "raised_exception" in info:
        if info.get("raised_exception"):
            return str(info.get("exception_message") or "GX raised an exception").strip().splitlines()[0]
        return ""
    if isinstance(info, dict):
        for v in info.values():
            msg = exception_message(v)
            if msg:
                return msg
    return ""


def as_node_result(project_name: str, r: ExpectationResult) -> NodeResult:
    """An expectation's row in run_results.json (dbt's test result shape; 'not built' is skipped)."""
    status = "skipped" if r.status == NOT_BUILT else r.status
    return NodeResult(
        name=f"{r.suite}.{r.expectation}",
        unique_id=f"test.{project_name}.{r.suite}.{r.expectation}",
        kind="test",
        status=status,
        execution_time=r.execution_time,
        message=r.message or (f"{r.unexpected_count} unexpected" if r.unexpected_count else ""),
        relation=r.relation,
        failures=r.unexpected_count,
        extra={
            "suite": r.suite,
            "expectation": r.expectation,
            "gx_type": r.gx_type,
            "severity": r.severity,
            "status": r.status,
            "sample": json.loads(r.sample_json()),
            "scope": r.scope,
            "rows_checked": r.rows_checked,
        },
    )
