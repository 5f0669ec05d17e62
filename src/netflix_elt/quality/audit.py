"""AUDIT.TEST_FAILURES: every failing expectation of every command, appended, never truncated.

Written by the Checkpoint's `AuditFailuresAction` (see gx_context.checkpoint), one INSERT per
checkpoint run that has failures; the table and its schema are created on first use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from netflix_elt.config import Settings
from netflix_elt.sql import string

if TYPE_CHECKING:
    from snowflake.snowpark import Session

AUDIT_TABLE = "TEST_FAILURES"
AUDIT_COLUMNS = {
    "INVOCATION_ID": "VARCHAR",
    "SUITE": "VARCHAR",
    "EXPECTATION": "VARCHAR",
    "GX_TYPE": "VARCHAR",
    "SEVERITY": "VARCHAR",
    "STATUS": "VARCHAR",
    "UNEXPECTED_COUNT": "BIGINT",
    "FAILING_SAMPLE": "VARCHAR",  # JSON; not SAMPLE, a reserved word in Snowflake
    "RELATION": "VARCHAR",
    "RUN_AT": "TIMESTAMP_NTZ",
}
AUDITED = ("fail", "warn", "error")


def record_failures(session: Session, settings: Settings, invocation_id: str, results: Iterable[Any]) -> int:
    """Append the failing results (fail, warn, error; ExpectationResult rows) for this invocation."""
    bad = [r for r in results if r.status in AUDITED]
    if not bad:
        return 0
    s = settings
    table = s.fqn(s.audit_schema, AUDIT_TABLE)
    cols = ", ".join(f"{c} {t}" for c, t in AUDIT_COLUMNS.items())
    session.sql(f"CREATE SCHEMA IF NOT EXISTS {s.database}.{s.audit_schema}").collect()
    session.sql(f"CREATE TABLE IF NOT EXISTS {table} ({cols})").collect()
    run_at = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    values = []
    for r in bad:
        sample = r.sample_json() if r.sample else json.dumps(r.message)
        count = "NULL" if r.unexpected_count is None else str(int(r.unexpected_count))
        fields = [
            string(invocation_id),
            string(r.suite),
            string(r.expectation),
            string(r.gx_type),
            string(r.severity),
            string(r.status),
            count,
            string(sample),
            string(r.relation or ""),
            f"'{run_at}'::TIMESTAMP_NTZ",
        ]
        values.append("(" + ", ".join(fields) + ")")
    session.sql(f"INSERT INTO {table} ({', '.join(AUDIT_COLUMNS)}) VALUES {', '.join(values)}").collect()
    return len(bad)


__all__ = ["AUDITED", "AUDIT_COLUMNS", "AUDIT_TABLE", "record_failures"]
