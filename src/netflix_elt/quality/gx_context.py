"""The GX Data Context of one command: suites in memory, validation results on disk, Data Docs offline.

The suites are built from `expectations/*.yml` for the target at hand (`{ref:}` resolved, macros
expanded), so they live in memory; the validation results go to a filesystem store under
`target/gx/validations/`, which every command appends to, so `target/data_docs/` (rebuilt from that
store) shows the validations of earlier commands too. No datasource is stored anywhere: the
connection (and its secrets) exists only in this process.

Data Docs load their CSS and JavaScript from netflix-elt's copies (`data_docs/vendor/`, pinned in
`data_docs/package.json`): GX's templates name CDNs, and a page opened offline was blank. The
templates that name a CDN are replaced by copies that name `static/vendor/` (`data_docs/plugins/
custom_data_docs/views/`, read first by the views of `gx_views`); `tests/unit/test_data_docs_offline.py`
checks that each copy is GX's template with only those lines changed.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path
from typing import Any

SITE = "netflix_elt"
CHECKPOINT = "netflix_elt"
PACKAGE_DIR = Path(__file__).resolve().parent / "data_docs"
VENDOR_DIR = PACKAGE_DIR / "vendor"
# the index lists this many validations, newest first (GX reads each one to draw the index)
HISTORY_LIMIT = 500


def results_dir(target_dir: Path) -> Path:
    """Where every command's validation results are kept (GX's JSON, one file per validation)."""
    return target_dir / "gx" / "validations"


def make_context(target_dir: Path, docs_dir: Path) -> Any:
    """An ephemeral GX context whose validation results store and Data Docs site are folders."""
    from netflix_elt.quality.gx_import import import_gx

    gx = import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    stores = dict(defaults.stores)
    stores[defaults.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(results_dir(target_dir))},
    }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites={
            SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_section_builders": {
                    "expectations": {"view": _view("OfflinePageView")},
                    "validations": {"view": _view("OfflinePageView")},
                    "profiling": "None",  # netflix-elt never profiles
                },
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "validation_results_limit": HISTORY_LIMIT,
                    "view": _view("OfflineIndexPageView"),
                },
            }
        },
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    ctx = gx.get_context(project_config=config, mode="ephemeral")
    copy_vendor(docs_dir)
    return ctx


def pages_of(result_ids: list[Any]) -> list[Any]:
    """What one site build renders for these validation results: their pages and their suites' pages
    (which each validation page links to)."""
    suites = {i.expectation_suite_identifier.name: i.expectation_suite_identifier for i in result_ids}
    return [*result_ids, *suites.values()]


def _view(class_name: str) -> dict[str, str]:
    return {"module_name": "netflix_elt.quality.gx_views", "class_name": class_name}


def copy_vendor(docs_dir: Path) -> None:
    """The vendored files into the site's `static/vendor/` (only those missing or changed)."""
    dest = docs_dir / "static" / "vendor"
    for src in VENDOR_DIR.rglob("*"):
        if not src.is_file():
            continue
        out = dest / src.relative_to(VENDOR_DIR)
        if out.is_file() and filecmp.cmp(src, out, shallow=True):
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out)


def checkpoint(
    ctx: Any, definitions: list[Any], audit: Any, result_format: dict[str, Any], *, docs: bool = True
) -> Any:
    """The command's Checkpoint: its actions render the Data Docs pages of what it validated (with
    `docs`) and append the failures to the audit table (`AuditFailuresAction`).

    `audit` is the action's sink: it turns the results into netflix-elt's rows (with their samples)
    and records the failing ones in AUDIT.TEST_FAILURES.
    """
    import contextlib

    import great_expectations as gx

    from netflix_elt.quality.gx_ext import AuditFailuresAction, UpdateDataDocsOnceAction

    with contextlib.suppress(Exception):  # each run of the command's checkpoint replaces the last
        ctx.checkpoints.delete(CHECKPOINT)
    actions: list[Any] = [AuditFailuresAction(name="audit_test_failures")]
    if docs:
        actions.insert(0, UpdateDataDocsOnceAction(name="update_data_docs", site_names=[SITE]))
    cp = gx.Checkpoint(
        name=CHECKPOINT, validation_definitions=definitions, actions=actions, result_format=result_format
    )
    stored = ctx.checkpoints.add(cp)  # the store hands back a copy, whose action has no sink
    for a in stored.actions:
        if isinstance(a, AuditFailuresAction):
            a.set_sink(audit)
    return stored


__all__ = [
    "CHECKPOINT",
    "HISTORY_LIMIT",
    "SITE",
    "checkpoint",
    "copy_vendor",
    "make_context",
    "pages_of",
    "results_dir",
]
