"""netflix-elt's additions to Great Expectations (imported lazily: importing this imports GX).

`UnexpectedRowsCountExpectation` is GX's `unexpected_rows_expectation` (same kwargs, same Data Docs
rendering) whose query runs **once**. GX's own class depends on two metrics, the query's row count
(`SELECT COUNT(*) FROM (<query>)`) and its rows (`<query>` fetching up to 200 rows), so every query ran
twice, and a reconciliation or a GROUP BY over 20 M rows paid twice. netflix-elt needs only the count:
it fetches at most five failing rows itself, and only for an expectation that failed.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from great_expectations.expectations import UnexpectedRowsExpectation  # noqa: E402


class UnexpectedRowsCountExpectation(UnexpectedRowsExpectation):
    """`unexpected_rows_expectation` without the rows metric: one query, a count."""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        count = metrics["unexpected_rows_query.row_count"]
        # the count is known whatever the result format, so it is always reported
        return {"success": count == 0, "result": {"observed_value": count}}


__all__ = ["UnexpectedRowsCountExpectation"]
