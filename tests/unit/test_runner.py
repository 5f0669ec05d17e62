"""The runner alone, with a fake builder: order, parallelism, skip-on-failure."""

import threading
import time

from netflix_elt.artifacts import NodeResult
from netflix_elt.registry import Node, Project
from netflix_elt.runner import Runner


def _t(name, inputs=()):
    return Node(name=name, kind="transform", layer="core", materialized="table", inputs=tuple(inputs))


PROJECT = Project([_t("a"), _t("b", ["a"]), _t("c", ["a"]), _t("d", ["b", "c"]), _t("e"), _t("f", ["e"])])


class Recorder:
    def __init__(self, fail=(), delay=0.05):
        self.fail, self.delay = set(fail), delay
        self.started: list[str] = []
        self.finished: list[str] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()

    def __call__(self, node):
        with self.lock:
            self.started.append(node.name)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        time.sleep(self.delay)
        with self.lock:
            self.active -= 1
            self.finished.append(node.name)
        if node.name in self.fail:
            raise RuntimeError(f"{node.name} exploded")
        return NodeResult(node.name, node.name, node.kind, "success")


def test_dependency_order_and_parallelism():
    rec = Recorder()
    results = Runner(PROJECT, "p", rec, threads=3, serialize=False).run(PROJECT.order)
    assert [r.status for r in results] == ["success"] * 6
    for node in PROJECT.nodes.values():
        for dep in node.inputs:
            assert rec.finished.index(dep) < rec.started.index(node.name)
    assert rec.max_active >= 2  # independent nodes ran at once


def test_serialized_on_the_embedded_engine():
    rec = Recorder(delay=0.01)
    Runner(PROJECT, "p", rec, threads=4, serialize=True).run(PROJECT.order)
    assert rec.max_active == 1


def test_failure_skips_only_downstream():
    rec = Recorder(fail={"b"})
    seen = []
    results = Runner(
        PROJECT, "p", rec, threads=2, serialize=False, reporter=lambda i, n, r: seen.append((i, n, r.name))
    ).run(PROJECT.order)
    status = {r.name: r.status for r in results}
    assert status == {"a": "success", "b": "error", "c": "success", "d": "skipped", "e": "success", "f": "success"}
    by_name = {r.name: r for r in results}
    assert by_name["b"].message == "b exploded"
    assert "upstream 'b'" in by_name["d"].message
    assert "d" not in rec.started
    assert [i for i, _, _ in seen] == [1, 2, 3, 4, 5, 6] and {n for _, n, _ in seen} == {6}


def test_subset_selection_ignores_unselected_inputs():
    rec = Recorder(delay=0)
    results = Runner(PROJECT, "p", rec, threads=1).run(["d", "f"])
    assert [r.name for r in results] == ["d", "f"] and rec.started == ["d", "f"]


def test_extra_dependencies_order_tests_after_what_they_read():
    # e waits for d (e.g. its relationship test reads d), though e does not read d itself
    rec = Recorder(delay=0.01)
    Runner(PROJECT, "p", rec, threads=3, serialize=False).run(PROJECT.order, {"e": {"d"}, "f": {"nope"}})
    assert rec.finished.index("d") < rec.started.index("e") < rec.started.index("f")
