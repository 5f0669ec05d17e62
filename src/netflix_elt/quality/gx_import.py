"""Importing Great Expectations, without the part of its cost that no suite of ours uses.

GX's expectations package imports `scipy.stats` at module level for three distribution
expectations (KL divergence, two KS tests); deferring it took GX's import 2.8 -> 2.1 s. Here
`scipy.stats` is entered as a lazy module (`importlib.util.LazyLoader`, the standard library's
mechanism for this): it is executed on its first attribute access, so a suite that uses one of
those expectations still gets the real module, and the rest never pay for it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType


def defer_scipy_stats() -> ModuleType | None:
    """Make `import scipy.stats` cheap until something reads from it; the lazy module, or None
    where it is imported already (or scipy is absent: GX then fails on its own terms)."""
    if "scipy.stats" in sys.modules:
        return None
    try:
        spec = importlib.util.find_spec("scipy.stats")  # imports the `scipy` package itself (cheap)
    except ImportError:
        return None
    if spec is None or spec.loader is None:
        return None
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["scipy.stats"] = module
    loader.exec_module(module)  # only arms it: the module's code runs on first attribute access
    # `from scipy import stats` reads the package's attribute, which a normal import would set
    sys.modules["scipy"].stats = module  # type: ignore[attr-defined]
    return module


def import_gx() -> ModuleType:
    """`great_expectations` with its built-in expectations registered, analytics off by default."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    if "great_expectations.expectations" not in sys.modules:
        defer_scipy_stats()
    import great_expectations
    import great_expectations.expectations  # noqa: F401 - registers the built-in expectations

    return great_expectations
