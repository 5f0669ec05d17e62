"""GX is imported with `scipy.stats` and `altair` deferred (issue 14: ~0.7 s and ~0.28 s of every
command that tests), and an expectation that needs one still gets the real module when it uses it.

Each case runs in a fresh interpreter: whether a module is imported is a property of the process.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

pytest.importorskip("scipy")


def _python(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_importing_gx_leaves_scipy_stats_unexecuted():
    out = _python(
        "import sys\n"
        "from netflix_elt.quality.gx_import import import_gx\n"
        "import_gx()\n"
        "import great_expectations.expectations.registry as r\n"
        "known = 'expect_column_values_to_not_be_null' in r._registered_expectations\n"
        "print(type(sys.modules['scipy.stats']).__name__, known)\n"
        "print('scipy.stats._distn_infrastructure' in sys.modules)\n"
        "print(type(sys.modules['altair']).__name__, 'altair.vegalite' in sys.modules)\n"
    )
    assert out.splitlines() == ["_Deferred True", "False", "_Deferred False"]


def test_an_expectation_using_scipy_stats_gets_the_real_module():
    """The KL divergence expectation's `stats.entropy`, against the value computed by hand."""
    out = _python(
        "from netflix_elt.quality.gx_import import import_gx\n"
        "import_gx()\n"
        "from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl\n"
        "import sys\n"
        "print(kl.stats.entropy([0.5, 0.5], [0.25, 0.75]))\n"
        "print(type(sys.modules['scipy.stats']).__name__, hasattr(sys.modules['scipy.stats'], 'norm'))\n"
    )
    value, kind = out.splitlines()
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert float(value) == pytest.approx(expected, rel=1e-12)
    assert kind == "module True"  # executed: the lazy module became the real one


def test_the_kl_divergence_renderer_gets_the_real_altair():
    """The one GX module that imports altair draws its Data Docs chart with it: the chart's spec comes out."""
    out = _python(
        "from netflix_elt.quality.gx_import import import_gx\n"
        "import_gx()\n"
        "import sys\n"
        "import pandas as pd\n"
        "from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl\n"
        "chart = kl.alt.Chart(pd.DataFrame({'x': [1, 2]})).mark_bar().encode(x='x:Q')\n"
        "print(chart.to_dict()['mark']['type'], type(sys.modules['altair']).__name__)\n"
    )
    assert out == "bar module"


def test_nothing_is_deferred_where_scipy_stats_altair_or_gx_is_imported_already():
    out = _python(
        "import sys\n"
        "import scipy.stats, altair\n"
        "from netflix_elt.quality.gx_import import defer, import_gx\n"
        "print(defer('scipy.stats'), defer('altair'), type(sys.modules['scipy.stats']).__name__)\n"
        "import_gx()\n"
        "print(sys.modules['scipy.stats'] is scipy.stats, sys.modules['altair'] is altair)\n"
    )
    assert out.splitlines() == ["None None module", "True True"]


def test_a_module_that_is_not_installed_is_not_deferred():
    out = _python(
        "import sys\n"
        "from netflix_elt.quality.gx_import import defer\n"
        "print(defer('netflix_elt_no_such_module'), 'netflix_elt_no_such_module' in sys.modules)\n"
    )
    assert out == "None False"


def test_a_submodule_import_before_any_attribute_loads_the_real_package():
    """`import altair.vegalite` (as a dashboard's chart code may do after GX) reads the stand-in's
    `__path__`: the real package is imported then, and the name `altair` is bound to it."""
    out = _python(
        "import sys\n"
        "from netflix_elt.quality.gx_import import import_gx\n"
        "import_gx()\n"
        "import altair.vegalite\n"
        "print(type(sys.modules['altair']).__name__, type(altair).__name__, hasattr(altair.vegalite, 'Chart'))\n"
    )
    assert out == "module module True"
