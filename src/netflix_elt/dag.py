"""A small generic DAG: deterministic topological order, cycles reported as a path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from netflix_elt.errors import GraphError


class DAG:
    """Nodes are names; `edges[n]` are the nodes n depends on (its upstream)."""

    def __init__(self, edges: Mapping[str, Iterable[str]]) -> None:
        self.upstream: dict[str, tuple[str, ...]] = {n: tuple(sorted(set(d))) for n, d in edges.items()}
        for deps in list(self.upstream.values()):
            for d in deps:
                self.upstream.setdefault(d, ())
        self.downstream: dict[str, list[str]] = {n: [] for n in self.upstream}
        for n, deps in self.upstream.items():
            for d in deps:
                self.downstream[d].append(n)
        for n in self.downstream:
            self.downstream[n].sort()
        self.order = self._toposort()

    def _toposort(self) -> list[str]:
        indegree = {n: len(d) for n, d in self.upstream.items()}
        ready = sorted(n for n, k in indegree.items() if k == 0)
        order: list[str] = []
        while ready:
            node = ready.pop(0)
            order.append(node)
            for child in self.downstream[node]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
            ready.sort()
        if len(order) != len(self.upstream):
            raise GraphError(f"cycle in the transform graph: {' -> '.join(self.find_cycle())}")
        return order

    def find_cycle(self) -> list[str]:
        """One cycle as a path that ends where it starts, found deterministically."""
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> list[str] | None:
            state[node] = 1
            stack.append(node)
            for dep in self.upstream[node]:
                if state.get(dep) == 1:
                    return [*stack[stack.index(dep) :], dep]
                if dep not in state and (found := visit(dep)):
                    return found
            stack.pop()
            state[node] = 2
            return None

        for n in sorted(self.upstream):
            if n not in state and (cycle := visit(n)):
                # report in data-flow order: upstream first
                return list(reversed(cycle))
        return []

    def ancestors(self, node: str, depth: int | None = None) -> set[str]:
        """Everything upstream of `node`; with `depth`, only up to that many edges away (dbt's `2+x`)."""
        return self._walk(node, self.upstream, depth)

    def descendants(self, node: str, depth: int | None = None) -> set[str]:
        """Everything downstream of `node`; with `depth`, only up to that many edges away (`x+2`)."""
        return self._walk(node, self.downstream, depth)

    @staticmethod
    def _walk(node: str, edges: Mapping[str, Iterable[str]], depth: int | None = None) -> set[str]:
        """Breadth first, so a node is reached at its shortest distance and `depth` cuts there."""
        seen: set[str] = set()
        frontier = [node]
        level = 0
        while frontier and (depth is None or level < depth):
            level += 1
            frontier = [n for f in frontier for n in edges[f] if n not in seen]
            frontier = list(dict.fromkeys(frontier))
            seen.update(frontier)
        return seen
