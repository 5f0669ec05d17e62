"""Data tests: expectation suites in `expectations/`, run with Great Expectations inside the engine.

Import from here; the submodules import GX lazily, so the CLI stays fast to start.
"""

from netflix_elt.quality.suites import ExpectationSpec, Suite, SuiteError, load_suites, read_suite
from netflix_elt.quality.validate import (
    NOT_BUILT,
    DataValidator,
    ExpectationResult,
    ValidationReport,
)

__all__ = [
    "NOT_BUILT",
    "DataValidator",
    "ExpectationResult",
    "ExpectationSpec",
    "Suite",
    "SuiteError",
    "ValidationReport",
    "load_suites",
    "read_suite",
]
