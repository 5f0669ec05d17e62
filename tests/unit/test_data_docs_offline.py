"""Data Docs load nothing from the network: netflix-elt's copies of GX's templates differ from GX's
only where GX names a CDN, every file they name is vendored, and the vendored versions are pinned."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netflix_elt.quality.gx_context import VENDOR_DIR
from netflix_elt.quality.gx_views import VIEWS_DIR

URL = re.compile(r"""https?://[^"'\s)]+""")
LOCAL = re.compile(r"""netflix_elt\.vendor\(renderer_type, expectation_suite_name\) }}([^"']+)["']""")
OVERRIDDEN = ["index_page.j2", "js_script_imports.j2", "page.j2", "page_minimal.j2", "top_navbar.j2"]


def _gx_templates() -> Path:
    import great_expectations

    return Path(great_expectations.__file__).parent / "render" / "view" / "templates"


def test_every_gx_template_that_names_a_cdn_is_overridden() -> None:
    naming = sorted(
        p.name
        for p in _gx_templates().glob("*.j2")
        if [u for u in URL.findall(p.read_text()) if "greatexpectations.io" not in u]
    )
    assert naming == OVERRIDDEN


@pytest.mark.parametrize("name", OVERRIDDEN)
def test_an_override_is_gx_template_but_its_cdn_lines(name: str) -> None:
    ours = (VIEWS_DIR / name).read_text().splitlines()
    theirs = (_gx_templates() / name).read_text().splitlines()
    assert ours[0].startswith("{# netflix-elt: GX 1.24.1's") and ours[1].startswith("{% import")
    body = ours[2:]
    assert len(body) == len(theirs)
    changed = [(a, b) for a, b in zip(theirs, body, strict=False) if a != b]
    for gx_line, our_line in changed:
        assert "https://" in gx_line and "greatexpectations.io" not in gx_line, (gx_line, our_line)
    assert not [u for u in URL.findall("\n".join(body)) if "greatexpectations.io" not in u]


def test_every_vendored_path_a_template_names_exists() -> None:
    named = {m for name in OVERRIDDEN for m in LOCAL.findall((VIEWS_DIR / name).read_text())}
    assert len(named) == 15
    assert [n for n in sorted(named) if not (VENDOR_DIR / n).is_file()] == []
    css = (VENDOR_DIR / "fontawesome" / "css" / "all.min.css").read_text()
    fonts = set(re.findall(r"url\(\.\./webfonts/([^)]+\.woff2)\)", css))
    assert fonts and all((VENDOR_DIR / "fontawesome" / "webfonts" / f).is_file() for f in fonts)


def test_the_vendored_versions_are_the_pinned_ones() -> None:
    root = VENDOR_DIR.parent
    pins = json.loads((root / "package.json").read_text())["dependencies"]
    lock = json.loads((root / "package-lock.json").read_text())["packages"]
    for pkg, version in pins.items():
        assert lock[f"node_modules/{pkg}"]["version"] == version, pkg
    assert "v4.3.1" in (VENDOR_DIR / "bootstrap" / "bootstrap.min.css").read_text()[:200]
    assert "jQuery v3.7.1" in (VENDOR_DIR / "jquery" / "jquery.min.js").read_text()[:100]
