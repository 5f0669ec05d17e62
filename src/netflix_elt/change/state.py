"""What `state:modified` and `state:new` compare against (selectors.SelectionState), dbt's semantics.

Two states: this target's last good build (the default: AUDIT.BUILD_DETAILS keeps each node's
checksum, written with its fingerprint), or a `--state DIR` holding a manifest.json that
netflix-elt wrote (dbt's artifacts, compared by each node's `checksum`). Either way a node is
*modified* when its own definition (a transform's code and settings, a seed's file) differs from
the state's, or the state does not have it (dbt counts new nodes as modified); *new* when the
state does not have it. Sources and analyses are left out: nothing records them at build time
(nor, against the warehouse, an ephemeral transform that no built node reads).
What changed upstream is reached with the graph operators (`state:modified+`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.build_state import BuildState, checksum_of, node_code, package_dir
from netflix_elt.errors import SelectorError
from netflix_elt.graph import unique_id
from netflix_elt.registry import Kind, Project

if TYPE_CHECKING:
    from netflix_elt.api import Workspace
    from netflix_elt.config import Settings
    from netflix_elt.selectors import SelectionState


def _compared(project: Project, *, built_only: bool = False) -> list[str]:
    """The nodes a state can know: seeds, transforms (ephemeral too) and snapshots, not analyses.
    `built_only` (the warehouse's state) leaves out an ephemeral node nothing built reads: only
    the builds of its readers record it, and nothing in the warehouse rests on it."""
    out = []
    for n in project.nodes.values():
        if n.kind not in (Kind.SEED, Kind.TRANSFORM, Kind.SNAPSHOT) or n.materialized == "analysis":
            continue
        if built_only and not n.builds and not any(project[d].builds for d in project.dag.descendants(n.name)):
            continue
        out.append(n.name)
    return out


class WarehouseState:
    """The last good build of the workspace's target, read (never written) when first asked."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._known: dict[str, str | None] | None = None  # name -> checksum at its last build (None: unknown)
        self._state: BuildState | None = None

    def _build_state(self) -> BuildState:
        if self._state is None:
            from netflix_elt.quality.suites import suite_paths

            ws = self.ws
            self._state = BuildState(
                ws.session, ws.settings, ws.project, suite_paths(ws.settings.project_dir), read_only=True
            )
        return self._state

    def known(self) -> dict[str, str | None]:
        """Each node the target's build state has, with the checksum it was built from."""
        if self._known is None:
            state = self._build_state()
            recorded, details = state.recorded(), state.details()
            known: dict[str, str | None] = {}
            for name, made in details.items():
                known[name] = made.get("checksum")
                for inlined, checksum in (made.get("inlined") or {}).items():
                    known.setdefault(inlined, checksum)  # an ephemeral node, as its readers were built
            for name in recorded:
                known.setdefault(name, None)  # built before details were kept: compared by fingerprint
            self._known = known
        return self._known

    def modified(self, project: Project) -> set[str]:
        known, state = self.known(), self._build_state()
        out = set()
        for name in _compared(project, built_only=True):
            if name not in known:
                out.add(name)
            elif known[name] is None:  # no checksum kept: modified unless nothing about it changed
                if state.recorded().get(name, "").split("+")[0] != state.fingerprint(name):
                    out.add(name)
            elif known[name] != state.checksum(name):
                out.add(name)
        return out

    def new(self, project: Project) -> set[str]:
        known = self.known()
        return {n for n in _compared(project, built_only=True) if n not in known}


class ManifestState:
    """A folder of dbt-style artifacts (its manifest.json, as `build` or `compile` wrote it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "manifest.json"
        self.checksums = self._read()  # unique_id -> checksum

    def _read(self) -> dict[str, str | None]:
        if not self.folder.is_dir():
            raise SelectorError(f"--state {self.folder}: no such folder (give the target/ of an earlier build)")
        if not self.path.is_file():
            raise SelectorError(f"--state {self.folder}: {self.path} not found (a manifest.json netflix-elt wrote)")
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise SelectorError(f"--state: {self.path} is not a manifest: {str(e).splitlines()[0]}") from e
        nodes = data.get("nodes") if isinstance(data, dict) else None
        if not isinstance(nodes, dict) or "metadata" not in data:
            raise SelectorError(f"--state: {self.path} is not a manifest (no 'metadata' and 'nodes' objects)")
        out: dict[str, str | None] = {}
        for uid, node in nodes.items():
            checksum = node.get("checksum") if isinstance(node, dict) else None
            out[uid] = checksum.get("checksum") if isinstance(checksum, dict) else None
        return out

    def _current(self, settings: Settings, project: Project) -> dict[str, tuple[str, str]]:
        pname, package = settings.config.project.name, package_dir(settings)
        out = {}
        for name in _compared(project):
            node = project[name]
            code = None if node.kind == Kind.SEED else node_code(node, package)
            out[name] = (unique_id(pname, node), checksum_of(node, code))
        return out

    def bind(self, settings: Settings) -> _BoundManifest:
        return _BoundManifest(self, settings)


class _BoundManifest:
    """A ManifestState with the settings it needs to name nodes (the project's name)."""

    def __init__(self, manifest: ManifestState, settings: Settings) -> None:
        self.manifest, self.settings = manifest, settings

    def modified(self, project: Project) -> set[str]:
        old = self.manifest.checksums
        return {n for n, (uid, ck) in self.manifest._current(self.settings, project).items() if old.get(uid) != ck}

    def new(self, project: Project) -> set[str]:
        old = self.manifest.checksums
        return {n for n, (uid, _) in self.manifest._current(self.settings, project).items() if uid not in old}


def selection_state(ws: Workspace) -> SelectionState:
    """The state `state:` selectors of this workspace compare with: `ws.selection_state` when set
    (a ManifestState from `--state DIR`, set by the CLI's workspace() or by a caller; api.py keeps
    under its line limit by not declaring it), otherwise the target's last good build."""
    given = getattr(ws, "selection_state", None)
    if isinstance(given, ManifestState):
        return given.bind(ws.settings)
    return given if given is not None else WarehouseState(ws)
