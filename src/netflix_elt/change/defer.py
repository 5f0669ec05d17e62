"""`--defer prod` on run/build (dbt's defer): read an unselected upstream that this target has
not built from the other target's relation instead of failing on it.

Only inputs outside the selection are deferred, and only when this target lacks them: what is
selected is built here, and what this target has already built is read here. Sources (RAW) and
snapshots (SNAPSHOTS) are shared by every target, so they are never deferred.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netflix_elt.change.targets import other_target
from netflix_elt.compiler import relation_of
from netflix_elt.config import Settings
from netflix_elt.errors import ConfigError
from netflix_elt.registry import Kind, Node


@dataclass(frozen=True)
class Defer:
    """Where unselected, unbuilt inputs are read from: the settings of the deferred-to target."""

    settings: Settings
    selected: frozenset[str]

    @classmethod
    def to(cls, settings: Settings, target: str, selected: Iterable[str]) -> Defer:
        other = other_target(settings, target, "--defer")
        if other.target == settings.target:
            raise ConfigError(f"--defer {target!r} is the target being built (--target {settings.target!r})")
        return cls(other, frozenset(selected))

    def relation(self, node: Node) -> str | None:
        """The other target's relation of an input this command may defer, else None."""
        if node.name in self.selected or node.kind not in (Kind.TRANSFORM, Kind.SEED) or not node.builds:
            return None
        return relation_of(self.settings, node)

    def note(self, deferred: dict[str, str]) -> str:
        """What a node's result says about the inputs it read from the other target."""
        names = ", ".join(f"{name} from {rel}" for name, rel in sorted(deferred.items()))
        return f"deferred to {self.settings.target}: {names}"
