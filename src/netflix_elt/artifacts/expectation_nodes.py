"""One dbt `test` node per expectation of expectations/*.yml: what the manifest lists and results point at.

dbt's readers (dbt-coverage, dbt-docs, DataHub) find tests as manifest nodes with
`resource_type: test`, `test_metadata` (the test's name and kwargs), `depends_on` (the tested
table first, then what else the test reads) and `column_name` for a column test; each run of a
test is one run_results row with that node's unique_id. A suite file here holds many
expectations, so each expectation becomes one node, named and hashed as dbt names a generic
test (`test.<project>.<name>.<10 hex>`), stable across runs while the suite and label stay.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from netflix_elt.config import Settings
from netflix_elt.errors import ConfigError
from netflix_elt.graph import unique_id as node_unique_id
from netflix_elt.registry import Kind, Project

SOURCE_NAME = "raw"  # every source is `source.<project>.raw.<name>` (graph.unique_id)
_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """A label such as `expect_column_values_to_not_be_null(user_id)` as an identifier."""
    return _SLUG.sub("_", text.lower()).strip("_")


@dataclass(frozen=True)
class ExpectationNode:
    """One expectation as a dbt test node: where it is declared, what it tests, what it reads."""

    suite: str
    label: str
    type: str
    kwargs: dict
    severity: str  # error, warn (the suite file's words)
    description: str
    file: Path
    index: int  # position in the suite file (0-based)
    unique_id: str
    name: str
    column_name: str | None
    tested: str | None  # unique_id of the tested table (None: a snapshot not yet in the project)
    depends_on: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()  # model/seed/snapshot names read (the tested table first)
    sources: tuple[str, ...] = ()  # source names read


@dataclass
class ExpectationIndex:
    """The expectation nodes of a project, and what could not be read (one warning per file)."""

    nodes: list[ExpectationNode] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def by_suite(self, suite: str) -> list[ExpectationNode]:
        return [n for n in self.nodes if n.suite == suite]

    def find(self, suite: str, label: str) -> ExpectationNode | None:
        return next((n for n in self.nodes if n.suite == suite and n.label == label), None)

    def by_id(self) -> dict[str, ExpectationNode]:
        return {n.unique_id: n for n in self.nodes}


def expectation_id(project_name: str, suite: str, label: str) -> tuple[str, str]:
    """(name, unique_id) of an expectation's test node, as dbt names a generic test: readable, plus a hash."""
    name = f"{slug(suite)}_{slug(label)}"
    digest = hashlib.md5(f"{suite}\0{label}".encode(), usedforsecurity=False).hexdigest()[:10]
    return name, f"test.{project_name}.{name}.{digest}"


def expectation_nodes(settings: Settings, project: Project, suites: Iterable[object] | None = None) -> ExpectationIndex:
    """The test nodes of `suites` (netflix_elt.quality Suite objects), or of every suite file read
    without GX; a file that does not read is left out with a warning (a `run` or `docs generate`
    must not fail on a suite it does not run; `build` and `validate` report it themselves)."""
    from netflix_elt.quality.suites import REF, Suite, read_suite, suite_files

    index = ExpectationIndex()
    chosen: list[Suite] = []
    if suites is not None:
        chosen = [s for s in suites if isinstance(s, Suite)]
    else:
        seen: set[str] = set()
        for path in suite_files(settings.project_dir):
            try:
                suite = read_suite(path, project.nodes, gx_check=False)
            except ConfigError as e:
                index.warnings.append(str(e))
                continue
            if suite.name in seen:
                index.warnings.append(f"{path}: a second suite for {suite.name!r}, left out of the manifest")
                continue
            node = project.nodes.get(suite.name)
            if (node is None and suite.folder != "snapshots") or (node is not None and not node.builds):
                index.warnings.append(f"{path}: suite {suite.name!r} names no table of the project")  # as load_suites
                continue
            seen.add(suite.name)
            chosen.append(suite)
    pname = settings.config.project.name
    for suite in sorted(chosen, key=lambda s: s.name):
        node = project.nodes.get(suite.name)
        tested = node_unique_id(pname, node) if node is not None else None
        for i, spec in enumerate(suite.expectations):
            read = [r.lower() for r in REF.findall(json.dumps(spec.kwargs))]
            names = [suite.name, *sorted(set(read) - {suite.name})] if node is not None else sorted(set(read))
            known = [project[n] for n in names if n in project.nodes]
            name, uid = expectation_id(pname, suite.name, spec.label)
            column = spec.kwargs.get("column")
            index.nodes.append(
                ExpectationNode(
                    suite=suite.name,
                    label=spec.label,
                    type=spec.type,
                    kwargs=dict(spec.kwargs),
                    severity=spec.severity,
                    description=spec.description,
                    file=suite.file,
                    index=i,
                    unique_id=uid,
                    name=name,
                    column_name=str(column).lower() if column is not None else None,
                    tested=tested,
                    depends_on=tuple(node_unique_id(pname, n) for n in known),
                    refs=tuple(n.name for n in known if n.kind != Kind.SOURCE),
                    sources=tuple(n.name for n in known if n.kind == Kind.SOURCE),
                )
            )
    return index
