"""The other target of a diff, defer or clone: its settings and where a node lives there.

Targets are schemas of one database (`[targets.<name>] schema`), so both sides are read by the
one session a command opens; only the node's relation changes.
"""

from __future__ import annotations

from netflix_elt.config import Settings
from netflix_elt.errors import ConfigError, SelectorError
from netflix_elt.registry import Kind, Node, Project
from netflix_elt.suggest import did_you_mean, unknown


def other_target(settings: Settings, name: str, option: str) -> Settings:
    """The settings of target `name` (`option` is the flag it came from, for the error)."""
    target = name.lower()
    targets = settings.config.targets
    if target not in targets:
        raise ConfigError(
            f"unknown target {name!r} ({option}); configured targets: {sorted(targets)}{did_you_mean(target, targets)}"
        )
    return settings.model_copy(update={"target": target})


def comparable_node(project: Project, name: str) -> Node:
    """A node that has a relation of its own in each target (a transform or seed that is built)."""
    if name not in project:
        raise SelectorError(unknown("node", name, project.nodes))
    node = project[name]
    if node.kind in (Kind.SOURCE, Kind.SNAPSHOT):
        where = "RAW" if node.kind == Kind.SOURCE else "SNAPSHOTS"
        raise SelectorError(
            f"{node.kind} {name!r} lives in the shared {where} schema: every target reads the same table"
        )
    if not node.builds:
        raise SelectorError(f"transform {name!r} is {node.materialized}: it is compiled, not stored, in every target")
    return node
