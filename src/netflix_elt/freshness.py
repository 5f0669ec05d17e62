"""Skip what is up to date: a node is rebuilt only when its code or what it reads has changed.

A node's fingerprint hashes the project's code (every file of the transforms package and the
config), its name, and the fingerprints of its inputs; a source's fingerprint is its newest
load in `RAW.LOAD_HISTORY`, a seed's is its file's checksum. The fingerprint of each node built
(and tested) successfully is kept in `AUDIT.BUILD_STATE`; when it matches and the relation
still exists, the node is skipped, as SQLMesh does. `--full-refresh` rebuilds everything.
What this cannot see: rows changed in RAW by hand, outside `netflix-elt load`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from netflix_elt.config import CONFIG_FILE, Settings
from netflix_elt.registry import Node, Project
from netflix_elt.state import StateTable

if TYPE_CHECKING:
    from snowflake.snowpark import Session


TESTED = "+tested"


def code_version(settings: Settings) -> str:
    """One hash over the transforms package, the expectation suites and the config.

    Any edit rebuilds (and retests) what depends on code: coarse, but never stale.
    """
    h = hashlib.sha256()
    package = settings.project_dir / settings.config.project.transforms.replace(".", "/")
    suites = settings.project_dir / "expectations"
    suite_files = sorted(p for p in suites.rglob("*") if p.suffix in (".yml", ".yaml", ".toml"))
    files = sorted(package.rglob("*.py")) + suite_files
    for path in [*files, settings.project_dir / CONFIG_FILE]:
        if path.is_file():
            h.update(str(path.relative_to(settings.project_dir)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


class BuildState:
    """Fingerprints of the project's nodes and the ones recorded at their last good build."""

    def __init__(self, session: Session, settings: Settings, project: Project) -> None:
        self.session = session
        self.settings = settings
        self.project = project
        self.state = StateTable(session, settings, "BUILD_STATE", "FINGERPRINT", "BUILT_AT")
        self._code = code_version(settings)
        self._fingerprints: dict[str, str] = {}
        self._sources: dict[str, str] | None = None
        self._recorded: dict[str, str] | None = None

    # reading ---------------------------------------------------------------------------------
    def recorded(self) -> dict[str, str]:
        if self._recorded is None:
            self._recorded = self.state.all()
        return self._recorded

    def source_versions(self) -> dict[str, str]:
        """Newest load of each RAW table (one query for all)."""
        if self._sources is None:
            rows = self.session.sql(
                f"SELECT SOURCE_TABLE, MAX(LOAD_ID), COUNT(*) FROM "
                f"{self.settings.database}.{self.settings.raw_schema}.LOAD_HISTORY "
                "WHERE COALESCE(STATUS, 'LOADED') = 'LOADED' GROUP BY SOURCE_TABLE"
            ).collect()
            self._sources = {r[0]: f"{r[1]}:{r[2]}" for r in rows}
        return self._sources

    def fingerprint(self, name: str) -> str:
        if name not in self._fingerprints:
            node = self.project[name]
            h = hashlib.sha256(f"{node.kind}:{name}".encode())
            if node.kind == "source":
                table = self.settings.config.sources[name].table
                h.update(self.source_versions().get(table, "never loaded").encode())
            elif node.kind == "seed":
                path = Path(node.file)
                h.update(path.read_bytes() if path.is_file() else b"missing")
                h.update(repr(self.settings.config.seeds[name].columns).encode())
            else:
                h.update(self._code.encode())
                for inp in node.inputs:
                    h.update(self.fingerprint(inp).encode())
            self._fingerprints[name] = h.hexdigest()
        return self._fingerprints[name]

    def is_current(self, node: Node, relation_exists: bool) -> bool:
        """True when the node was built from exactly these inputs and code, and is still there."""
        recorded = self.recorded().get(node.name, "").split("+")[0]
        return relation_exists and recorded == self.fingerprint(node.name)

    def was_tested(self, node: Node) -> bool:
        """Whether its suite passed on this build (`run` builds without tests; `build` tests)."""
        return self.recorded().get(node.name, "") == self.fingerprint(node.name) + TESTED

    # writing ---------------------------------------------------------------------------------
    def record(self, node: Node, *, tested: bool = False) -> None:
        fp = self.fingerprint(node.name) + (TESTED if tested else "")
        self.state.put(node.name, fp)
        self.recorded()[node.name] = fp

    def forget(self, node: Node) -> None:
        self.state.put(node.name, None)
        self.recorded().pop(node.name, None)
