"""netflix-elt's additions to Great Expectations (imported lazily: importing this imports GX).

`AuditFailuresAction` is a Checkpoint action (GX's custom-action hook): it appends the failing
expectations of a checkpoint run to `AUDIT.TEST_FAILURES`. `UpdateDataDocsOnceAction` is GX's
`UpdateDataDocsAction` building the Data Docs site once per checkpoint run instead of once per
validation in it.

`UnexpectedRowsCountExpectation` is GX's `unexpected_rows_expectation` (same kwargs, same Data Docs
rendering) whose query runs **once**. GX's own class depends on two metrics, the query's row count
(`SELECT COUNT(*) FROM (<query>)`) and its rows (`<query>` fetching up to 200 rows), so every query ran
twice, and a reconciliation or a GROUP BY over 20 M rows paid twice. netflix-elt needs only the count:
it fetches at most five failing rows itself, and only for an expectation that failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from netflix_elt.quality.gx_import import import_gx

import_gx()

from great_expectations.checkpoint import UpdateDataDocsAction, ValidationAction  # noqa: E402
from great_expectations.compatibility.pydantic import PrivateAttr  # noqa: E402
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


class AuditFailuresAction(ValidationAction):
    """Append a checkpoint run's failures (fail, warn, error) to AUDIT.TEST_FAILURES.

    The sink is the command's `DataValidator`: it knows the invocation id, the suite file's names
    and severities, and fetches the five-row samples that go into the table. A checkpoint read
    back from a store has no sink (it is process state), and then the action records nothing.
    """

    type: Literal["netflix_elt_audit_failures"] = "netflix_elt_audit_failures"
    _sink: Callable[[Any], int] | None = PrivateAttr(default=None)

    def set_sink(self, sink: Callable[[Any], int]) -> None:
        self._sink = sink

    def run(self, checkpoint_result: Any, action_context: Any = None) -> dict:
        rows = self._sink(checkpoint_result) if self._sink is not None else 0
        return {"audit_rows": rows}


class UpdateDataDocsOnceAction(UpdateDataDocsAction):
    """GX's `UpdateDataDocsAction`, rendering the pages of all of a run's validations in one build.

    GX's own builds the site once per validation, and every build redraws the index, reading each
    validation it lists (up to `gx_context.HISTORY_LIMIT`, kept from earlier commands): on the fixture,
    a `validate` of 23 batches with 115 stored results drew the same index 23 times (3.7 s).
    """

    type: Literal["netflix_elt_update_data_docs"] = "netflix_elt_update_data_docs"

    def run(self, checkpoint_result: Any, action_context: Any = None) -> dict:
        from netflix_elt.quality.gx_context import pages_of

        results = checkpoint_result.run_results
        self._build_data_docs(site_names=self.site_names, resource_identifiers=pages_of(list(results)))
        return {
            result_id: {
                site["site_name"]: site["site_url"]
                for site in self._get_docs_sites_urls(resource_identifier=result_id, site_names=self.site_names)
            }
            for result_id in results
        }


__all__ = ["AuditFailuresAction", "UnexpectedRowsCountExpectation", "UpdateDataDocsOnceAction"]
