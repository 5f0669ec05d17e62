"""dbt's node selection syntax: `name`, `+name`, `name+`, `+name+`, `layer:marts`, `tag:x`.

Each selector string is parsed once into a frozen :class:`Selector`; a selector that matches
nothing is an error (exit code 2), as in dbt.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from netflix_elt.errors import SelectorError
from netflix_elt.registry import Project

METHODS = ("name", "layer", "tag", "kind", "materialized")
_SYNTAX = re.compile(r"^(?P<up>\+?)(?:(?P<method>[a-z_]+):)?(?P<value>[A-Za-z0-9_*.\-]+)(?P<down>\+?)$")


@dataclass(frozen=True)
class Selector:
    method: str
    value: str
    parents: bool = False
    children: bool = False

    @classmethod
    def parse(cls, text: str) -> Selector:
        m = _SYNTAX.match(text.strip())
        if not m:
            raise SelectorError(f"invalid selector {text!r}: expected name, +name, name+, layer:L or tag:T")
        method = m["method"] or "name"
        if method not in METHODS:
            raise SelectorError(f"invalid selector {text!r}: unknown method {method!r} (one of {METHODS})")
        return cls(method, m["value"].lower(), bool(m["up"]), bool(m["down"]))

    def matches(self, project: Project) -> set[str]:
        if self.method == "name":
            pattern = re.compile(re.escape(self.value).replace(r"\*", ".*") + "$")
            base = {n for n in project.nodes if pattern.match(n)}
        else:
            attr = {"layer": "layer", "tag": "tags", "kind": "kind", "materialized": "materialized"}[self.method]
            base = set()
            for node in project.nodes.values():
                val = getattr(node, attr)
                if (self.value in val) if isinstance(val, tuple) else (val == self.value):
                    base.add(node.name)
        result = set(base)
        for n in base:
            if self.parents:
                result |= project.dag.ancestors(n)
            if self.children:
                result |= project.dag.descendants(n)
        return result


def _expand(project: Project, texts: Iterable[str]) -> set[str]:
    selected: set[str] = set()
    for text in texts:
        for part in text.split():
            sel = Selector.parse(part)
            found = sel.matches(project)
            if not found:
                hint = ""
                if sel.method == "name":
                    close = difflib.get_close_matches(sel.value, list(project.nodes), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                raise SelectorError(f"selector {part!r} matches nothing{hint}")
            selected |= found
    return selected


def select(
    project: Project,
    select: Iterable[str] = (),
    exclude: Iterable[str] = (),
    kinds: Iterable[str] = ("transform",),
) -> list[str]:
    """Names of the selected nodes of the given kinds, in dependency order."""
    select = list(select)
    chosen = _expand(project, select) if select else set(project.nodes)
    chosen -= _expand(project, exclude)
    kinds = set(kinds)
    result = [n for n in project.order if n in chosen and project.nodes[n].kind in kinds]
    if select and not result:
        raise SelectorError(f"selection {' '.join(select)!r} matches no {' or '.join(sorted(kinds))}")
    return result
