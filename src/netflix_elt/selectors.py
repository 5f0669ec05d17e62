"""dbt's node selection syntax, parsed once into frozen values and resolved against the project graph.

One selector (an *atom*) is ``[@][n+]method:value[+n]``: a method (``name`` by default, ``path``
when the value holds a ``/``) picks nodes, then graph operators widen the pick: ``+x`` adds all
ancestors, ``2+x`` those up to two edges up, ``x+`` / ``x+1`` the descendants likewise, and ``@x``
the descendants and every ancestor of those descendants (dbt: "@" and a "+" suffix cannot be
combined). ``a,b`` is an intersection; several selectors (space-separated in one argument, or
several arguments) are a union; ``--exclude`` takes the same syntax and is subtracted last.

A selector that matches nothing is an error (exit 2) naming it with a did-you-mean, except a
``state:`` one: "nothing modified" is an answer, not a mistake (dbt's "nothing to do").

``state:modified`` / ``state:new`` (dbt's state method) compare each node's own checksum with a
*state*: an object the caller hands in (netflix_elt.change.state: the last good build of this
target, or a ``--state DIR`` of dbt artifacts), so this module stays free of the warehouse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol

from netflix_elt.errors import SelectorError
from netflix_elt.registry import Kind, Project
from netflix_elt.suggest import did_you_mean

METHODS = ("name", "path", "source", "layer", "tag", "kind", "materialized", "state")
STATES = ("modified", "new")  # dbt's state:modified (new nodes included) and state:new
ALIASES = {"resource_type": "kind", "config.materialized": "materialized"}  # dbt's spellings
_SYNTAX = re.compile(
    r"^(?P<at>@)?(?:(?P<up_depth>\d*)(?P<up>\+))?(?:(?P<method>[a-z_.]+):)?"
    r"(?P<value>[A-Za-z0-9_*?.\-/]+?)(?:(?P<down>\+)(?P<down_depth>\d*))?$"
)
_FORMS = "name, +name, name+, 2+name, name+1, @name, method:value, a,b (intersection)"


class SelectionState(Protocol):
    """What `state:` selectors compare against: which nodes changed their own definition since
    that state (new ones included, as dbt's state:modified) and which it does not have."""

    def modified(self, project: Project) -> set[str]: ...

    def new(self, project: Project) -> set[str]: ...


def _depth(text: str | None) -> int | None:
    return int(text) if text else None


@dataclass(frozen=True)
class Selector:
    """One atom: a method and value, and the graph operators around it."""

    method: str
    value: str
    parents: bool = False
    children: bool = False
    parents_depth: int | None = None
    children_depth: int | None = None
    childrens_parents: bool = False  # dbt's "@"

    @classmethod
    def parse(cls, text: str) -> Selector:
        raw = text.strip()
        m = _SYNTAX.match(raw)
        if not m:
            raise SelectorError(f"invalid selector {text!r}: expected {_FORMS}")
        method = m["method"] or ("path" if "/" in m["value"] else "name")
        method = ALIASES.get(method, method)
        if method not in METHODS:
            hint = did_you_mean(method, [*METHODS, *ALIASES])
            raise SelectorError(
                f"invalid selector {text!r}: unknown method {method!r}{hint} (methods: {', '.join(METHODS)})"
            )
        if m["at"] and m["down"]:
            raise SelectorError(
                f"invalid selector {text!r}: '@' and a '+' suffix cannot be combined ('@' includes the descendants)"
            )
        value = m["value"] if method == "path" else m["value"].lower()
        if method == "state" and value not in STATES:
            raise SelectorError(
                f"invalid selector {text!r}: unknown state {value!r}{did_you_mean(value, STATES)} "
                f"(state:{' or state:'.join(STATES)})"
            )
        return cls(
            method,
            value,
            parents=bool(m["up"]),
            children=bool(m["down"]),
            parents_depth=_depth(m["up_depth"]),
            children_depth=_depth(m["down_depth"]),
            childrens_parents=bool(m["at"]),
        )

    def base(self, project: Project, state: SelectionState | None = None) -> set[str]:
        """The nodes the method and value pick, before graph operators."""
        nodes = project.nodes.values()
        if self.method == "state":
            if state is None:
                raise SelectorError(f"selector 'state:{self.value}' needs a state to compare with (--state DIR)")
            return state.modified(project) if self.value == "modified" else state.new(project)
        if self.method == "name":
            return {n.name for n in nodes if fnmatchcase(n.name, self.value)}
        if self.method == "source":
            return {n.name for n in nodes if n.kind == Kind.SOURCE and fnmatchcase(n.name, self.value)}
        if self.method == "path":
            wanted = _path_candidates(project, self.value)
            return {n.name for n in nodes if n.file and _under(Path(n.file).resolve(), wanted)}
        attr = {"layer": "layer", "tag": "tags", "kind": "kind", "materialized": "materialized"}[self.method]
        found = set()
        for node in nodes:
            val = getattr(node, attr)
            if (self.value in val) if isinstance(val, tuple) else (val == self.value):
                found.add(node.name)
        return found

    def matches(self, project: Project, state: SelectionState | None = None) -> set[str]:
        base = self.base(project, state)
        result = set(base)
        dag = project.dag
        for n in base:
            if self.parents:
                result |= dag.ancestors(n, self.parents_depth)
            if self.children or self.childrens_parents:
                result |= dag.descendants(n, self.children_depth)
        if self.childrens_parents:  # the descendants' ancestors, at any depth
            result |= set().union(*(dag.ancestors(n) for n in list(result)))
        return result

    def suggestion(self, project: Project) -> str:
        """A did-you-mean among the values this method knows."""
        nodes = project.nodes.values()
        known: Iterable[str] = {
            "name": project.nodes,
            "source": [n.name for n in nodes if n.kind == Kind.SOURCE],
            "layer": {n.layer for n in nodes},
            "tag": {t for n in nodes for t in n.tags},
            "kind": [k.value for k in Kind],
            "materialized": {str(n.materialized) for n in nodes},
            "path": _known_paths(project),
            "state": STATES,
        }[self.method]
        hint = did_you_mean(self.value, known)
        if not hint and self.method == "source" and self.value in project:
            hint = f"; {self.value!r} is a {project[self.value].kind}, not a source"
        return hint


def _path_candidates(project: Project, value: str) -> list[Path]:
    """`path:` values are relative to the project folder, or to the transforms package (dbt: the project root)."""
    given = Path(value)
    if given.is_absolute():
        return [given.resolve()]
    roots = [r for r in (project.root, project.transforms_dir) if r is not None] or [Path.cwd()]
    return [(r / given).resolve() for r in roots]


def _under(file: Path, wanted: list[Path]) -> bool:
    return any(file == w or w in file.parents for w in wanted)


def _known_paths(project: Project) -> set[str]:
    """Files and folders of the nodes, relative to the project folder (for did-you-mean)."""
    root = (project.root or Path.cwd()).resolve()
    out: set[str] = set()
    for n in project.nodes.values():
        if not n.file:
            continue
        try:
            rel = Path(n.file).resolve().relative_to(root)
        except ValueError:
            continue
        out.add(rel.as_posix())
        out.update(p.as_posix() for p in rel.parents if p != Path("."))
    return out


def _resolve_term(project: Project, term: str, state: SelectionState | None) -> set[str]:
    """One space-free term: an atom, or atoms joined by ',' (their intersection)."""
    parts = term.split(",")
    if any(not p for p in parts):
        raise SelectorError(f"invalid selector {term!r}: empty part in an intersection (expected a,b)")
    sets = []
    for part in parts:
        sel = Selector.parse(part)
        found = sel.matches(project, state)
        if not found and sel.method != "state":
            raise SelectorError(f"selector {part!r} matches nothing{sel.suggestion(project)}")
        sets.append(found)
    common = set.intersection(*sets)
    if not common and not _uses_state(term):
        raise SelectorError(f"selector {term!r} matches nothing: no node is selected by all of {', '.join(parts)}")
    return common


def _uses_state(text: str) -> bool:
    return any(Selector.parse(part).method == "state" for term in text.split() for part in term.split(",") if part)


def _expand(project: Project, texts: Iterable[str], state: SelectionState | None) -> set[str]:
    selected: set[str] = set()
    for text in texts:
        if not text.strip():
            raise SelectorError(f"invalid selector {text!r}: expected {_FORMS}")
        for term in text.split():
            selected |= _resolve_term(project, term, state)
    return selected


def select(
    project: Project,
    select: Iterable[str] = (),
    exclude: Iterable[str] = (),
    kinds: Iterable[str] = ("transform",),
    state: SelectionState | None = None,
) -> list[str]:
    """Names of the selected nodes of the given kinds, in dependency order; `state` is what
    `state:` selectors compare with (asked only when one is used)."""
    select, kinds = list(select), set(kinds)
    chosen = _expand(project, select, state) if select else set(project.nodes)
    chosen -= _expand(project, exclude, state)
    result = [n for n in project.order if n in chosen and project.nodes[n].kind in kinds]
    if select and not result and not any(_uses_state(t) for t in select):
        raise SelectorError(f"selection {' '.join(select)!r} matches no {' or '.join(sorted(kinds))}")
    return result
