"""Importing Great Expectations, without the part of its cost that no suite of ours uses.

GX's expectations package imports `scipy.stats` at module level for three distribution
expectations (KL divergence, two KS tests); deferring it took GX's import 2.8 -> 2.1 s. The KL
divergence expectation also imports `altair` at module level, for the charts of its Data Docs
renderer only; deferring it took GX's import after the engine's 1.63 -> 1.35 s (issue 14, medians of 3).

Each is entered in `sys.modules` as a stand-in (`_Deferred`) that imports the real module on the
first attribute it does not have, and hands that attribute on: a suite that uses one of those
expectations still gets the real module, and the rest never pay for it. Not the standard library's
`importlib.util.LazyLoader`: its module executes on any attribute read, `__spec__` included, which
`import altair` itself reads on Python 3.11 (the module would be loaded at once).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

DEFERRED = ("scipy.stats", "altair")


class _Deferred(ModuleType):
    """A module not imported yet: its first missing attribute imports it (then it is in `sys.modules`)."""

    def __getattr__(self, attr: str) -> Any:
        real = self.__dict__.get("_deferred_real")
        if real is None:
            name = self.__name__
            if sys.modules.get(name) is self:
                del sys.modules[name]
            real = importlib.import_module(name)
            self.__dict__["_deferred_real"] = real
        return getattr(real, attr)


def defer(name: str) -> ModuleType | None:
    """Make `import <name>` cheap until something reads from the module; the stand-in, or None
    where it is imported already (or absent: GX then fails on its own terms)."""
    if name in sys.modules:
        return None
    try:
        spec = importlib.util.find_spec(name)  # imports the parent package, if any (scipy itself: cheap)
    except ImportError:
        return None
    if spec is None:
        return None
    module = _Deferred(name)
    module.__spec__ = spec  # what the import system reads of a module found in sys.modules
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:  # `from scipy import stats` reads the package's attribute, which a normal import would set
        setattr(sys.modules[parent], child, module)
    return module


def import_gx() -> ModuleType:
    """`great_expectations` with its built-in expectations registered, analytics off by default."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    if "great_expectations.expectations" not in sys.modules:
        for name in DEFERRED:
            defer(name)
    import great_expectations
    import great_expectations.expectations  # noqa: F401 - registers the built-in expectations

    return great_expectations
