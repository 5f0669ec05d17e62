"""The graph one command runs: typed steps (seed, transform, snapshot, test suite) and their edges.

A command selects project nodes; `plan()` turns them into one graph, as `dbt build` does:

* Edges run through what is not in the graph. With `a` -> `e` (ephemeral, or simply not
  selected) -> `m`, `m` depends on `a` (dbt's `get_subset_graph`), so `m` never starts before
  `a` ends, and is skipped when `a` fails.
* A test suite is a node of its own. It depends on the table it tests and on the tables its
  expectations read (a relationship test on fct_ratings reads dim_movies), unless one of those
  reads the tested table (that would be a cycle; the suite then runs before it).
  Everything that reads a tested table depends on its suite too, so an error-severity failure
  skips all that is downstream, snapshots included.
* Sources are loaded before the graph runs: a source is in the graph only through its suite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from netflix_elt.dag import DAG
from netflix_elt.registry import Kind, Node, Project


class Step(StrEnum):
    """What running a graph node does; each has its own builder."""

    SEED = "seed"
    TRANSFORM = "transform"
    SNAPSHOT = "snapshot"
    TEST = "test"


STEP_OF_KIND = {Kind.SEED: Step.SEED, Kind.TRANSFORM: Step.TRANSFORM, Kind.SNAPSHOT: Step.SNAPSHOT}
RESOURCE_TYPES = {Kind.TRANSFORM: "model", Kind.SEED: "seed", Kind.SOURCE: "source", Kind.SNAPSHOT: "snapshot"}


def unique_id(project_name: str, node: Node, step: Step | None = None) -> str:
    """dbt's unique_id: `model.movielens.fct_ratings`, `source.movielens.raw.raw_ratings`, `test.movielens.x`."""
    if step is Step.TEST:
        return f"test.{project_name}.{node.name}"
    if node.kind == Kind.SOURCE:
        return f"source.{project_name}.raw.{node.name}"
    rtype = "analysis" if node.materialized == "analysis" else RESOURCE_TYPES[node.kind]
    return f"{rtype}.{project_name}.{node.name}"


@dataclass(frozen=True)
class GraphNode:
    """One step of a command: build (or test) one project node after the steps it depends on."""

    key: str
    step: Step
    node: Node
    unique_id: str
    depends_on: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def kind(self) -> str:
        """The kind results and output show: the step (`test`), or the node's kind."""
        return "test" if self.step is Step.TEST else str(self.node.kind)


def test_key(name: str) -> str:
    return f"test:{name}"


class BuildGraph:
    """The steps of one command in a deterministic order that respects every edge."""

    def __init__(self, nodes: Iterable[GraphNode]) -> None:
        self.nodes: dict[str, GraphNode] = {n.key: n for n in nodes}
        edges = {k: [d for d in n.depends_on if d in self.nodes] for k, n in self.nodes.items()}
        self.order: list[str] = DAG(edges).order

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self):  # noqa: ANN204 - an iterator of GraphNode in order
        return (self.nodes[k] for k in self.order)

    def __getitem__(self, key: str) -> GraphNode:
        return self.nodes[key]


def subset_edges(dag: DAG, selected: Iterable[str]) -> dict[str, set[str]]:
    """For each selected node, the selected nodes it depends on, directly or through unselected ones."""
    chosen = set(selected)
    out: dict[str, set[str]] = {}
    for name in chosen:
        found: set[str] = set()
        seen: set[str] = set()
        todo = list(dag.upstream[name])
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            if n in chosen:
                found.add(n)  # stop here: what it depends on is its own edge
            else:
                todo.extend(dag.upstream[n])
        out[name] = found
    return out


def plan(
    project: Project,
    project_name: str,
    selected: Sequence[str],
    *,
    tested: Iterable[str] = (),
    refs: Mapping[str, Iterable[str]] | None = None,
) -> BuildGraph:
    """One graph for the selected nodes; `tested` names the nodes whose suite is a node too, and
    `refs[name]` the other tables that suite reads. Sources in `selected` appear only as a suite."""
    refs = refs or {}
    tested_set = set(tested)
    edges = subset_edges(project.dag, selected)
    nodes: list[GraphNode] = []
    for name in selected:
        node = project[name]
        upstream = edges[name]
        deps = sorted({k for u in upstream for k in (_key(project, u), *([test_key(u)] if u in tested_set else ()))})
        if node.kind != Kind.SOURCE:
            step = STEP_OF_KIND[node.kind]
            nodes.append(GraphNode(_key(project, name), step, node, unique_id(project_name, node), tuple(deps)))
        if name in tested_set:
            below = project.dag.descendants(name)
            reads = [_key(project, r) for r in refs.get(name, ()) if r in edges and r not in below and r != name]
            own = [] if node.kind == Kind.SOURCE else [_key(project, name)]
            nodes.append(
                GraphNode(
                    test_key(name),
                    Step.TEST,
                    node,
                    unique_id(project_name, node, Step.TEST),
                    tuple(own + reads + [d for d in deps if node.kind == Kind.SOURCE]),
                )
            )
    return BuildGraph(nodes)


def _key(project: Project, name: str) -> str:
    node = project[name]
    return test_key(name) if node.kind == Kind.SOURCE else name
