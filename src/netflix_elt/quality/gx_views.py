"""Data Docs views that read netflix-elt's offline templates first and compile each template once.

GX's `DefaultJinjaView` lists its own templates before the plugins folder's custom views, so a
custom view can add a template but never replace one; these subclasses put
`data_docs/plugins/custom_data_docs/views/` first (the page, index and navbar templates whose only
change is that they load `static/vendor/` instead of CDNs). They are named in the site's config
(`view: {module_name, class_name}`), GX's hook for views.

Each GX view builds its own Jinja environment, and every site build makes new views (GX's
UpdateDataDocsAction built the site once per validation, so every template was compiled again for
every suite, ~3 s a suite on this machine; netflix-elt's `UpdateDataDocsOnceAction` builds it once a
command, and a notebook's Workspace may build it many times): one in-memory bytecode cache for the
process compiles each template once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache, ChoiceLoader, FileSystemLoader
from jinja2.bccache import Bucket

VIEWS_DIR = Path(__file__).resolve().parent / "data_docs" / "plugins" / "custom_data_docs" / "views"


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates kept for the process (keyed by Jinja on the template's name and source)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_CACHE = _MemoryBytecodeCache()


def _offline(view: Any) -> None:
    view.env.loader = ChoiceLoader([FileSystemLoader(str(VIEWS_DIR)), view.env.loader])
    view.env.bytecode_cache = _CACHE


class OfflinePageView(DefaultJinjaPageView):
    """GX's page view (suite and validation pages) with netflix-elt's templates first."""

    def __init__(self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        _offline(self)


class OfflineIndexPageView(DefaultJinjaIndexPageView):
    """GX's index page view with netflix-elt's templates first."""

    def __init__(self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        _offline(self)


__all__ = ["VIEWS_DIR", "OfflineIndexPageView", "OfflinePageView"]
