"""The runner and the command graph alone, with a fake builder: order, parallelism, skip-on-failure,
edges through unselected and ephemeral nodes, test suites as nodes."""

import threading
import time

from netflix_elt.artifacts import NodeResult
from netflix_elt.graph import Step, plan, subset_edges
from netflix_elt.registry import Node, Project
from netflix_elt.runner import Reporter, Runner


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

    def __call__(self, gnode):
        node = gnode.node
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
        return NodeResult(node.name, gnode.unique_id, gnode.kind, "success")


def runner(project, names, builder, **kw):
    """A Runner over the graph of `names`, every step kind built by `builder`."""
    return Runner(plan(project, "p", names, **kw.pop("plan", {})), dict.fromkeys(Step, builder), **kw)


def test_dependency_order_and_parallelism():
    rec = Recorder()
    results = runner(PROJECT, PROJECT.order, rec, threads=3, serialize=False).run()
    assert [r.status for r in results] == ["success"] * 6
    for node in PROJECT.nodes.values():
        for dep in node.inputs:
            assert rec.finished.index(dep) < rec.started.index(node.name)
    assert rec.max_active >= 2  # independent nodes ran at once


def test_serialized_on_the_embedded_engine():
    rec = Recorder(delay=0.01)
    runner(PROJECT, PROJECT.order, rec, threads=4, serialize=True).run()
    assert rec.max_active == 1


def test_failure_skips_only_downstream():
    rec = Recorder(fail={"b"})
    seen = []
    hook = Reporter(lambda i, n, r: seen.append((i, n, r.name)))
    results = runner(PROJECT, PROJECT.order, rec, threads=2, serialize=False, hooks=[hook]).run()
    status = {r.name: r.status for r in results}
    assert status == {"a": "success", "b": "error", "c": "success", "d": "skipped", "e": "success", "f": "success"}
    by_name = {r.name: r for r in results}
    assert by_name["b"].message == "b exploded"
    assert "upstream 'b'" in by_name["d"].message
    assert "d" not in rec.started
    assert [i for i, _, _ in seen] == [1, 2, 3, 4, 5, 6] and {n for _, n, _ in seen} == {6}


def test_subset_selection_runs_only_what_is_selected():
    rec = Recorder(delay=0)
    results = runner(PROJECT, ["d", "f"], rec, threads=1).run()
    assert [r.name for r in results] == ["d", "f"] and rec.started == ["d", "f"]


# a (table) -> e (ephemeral) -> m (table), and a -> u (table, not selected) -> w (table)
CHAIN = Project(
    [
        _t("a"),
        Node(name="e", kind="transform", layer="core", materialized="ephemeral", inputs=("a",)),
        _t("m", ["e"]),
        _t("u", ["a"]),
        _t("w", ["u"]),
    ]
)


def test_subset_keeps_edges_through_ephemeral_and_unselected_nodes():
    # the repro of issue 13: with a failing `a`, `m` started before `a` ended and was reported OK
    assert subset_edges(CHAIN.dag, ["a", "m", "w"]) == {"a": set(), "m": {"a"}, "w": {"a"}}
    rec = Recorder(fail={"a"}, delay=0.05)
    results = {r.name: r for r in runner(CHAIN, ["a", "m", "w"], rec, threads=3, serialize=False).run()}
    assert results["a"].status == "error"
    assert (results["m"].status, results["m"].message) == ("skipped", "skipped: upstream 'a' did not succeed")
    assert results["w"].status == "skipped" and rec.started == ["a"]


def test_dependency_through_an_ephemeral_node_orders_the_build():
    rec = Recorder(delay=0.05)
    runner(CHAIN, ["m", "a"], rec, threads=2, serialize=False).run()
    assert rec.finished.index("a") < rec.started.index("m")


def test_a_suite_is_a_node_after_its_table_and_what_it_reads():
    # b's suite reads e (a relationship test): it waits for e, and d (which reads b) waits for the suite
    rec = Recorder(delay=0.01)
    graph_kw = {"tested": ["b"], "refs": {"b": ["e", "d"]}}  # d reads b: no edge (it would be a cycle)
    r = runner(PROJECT, PROJECT.order, rec, threads=3, serialize=False, plan=graph_kw)
    order = [g.key for g in r.graph]
    assert order.index("test:b") > max(order.index("b"), order.index("e"))
    assert order.index("d") > order.index("test:b")
    results = r.run()
    assert [x.kind for x in results if x.name == "b"] == ["transform", "test"]
    assert rec.finished.index("e") < rec.started.index("b", rec.started.index("b") + 1)


def test_a_failing_suite_skips_everything_downstream_and_names_the_failed_test():
    def builder(gnode):
        if gnode.step is Step.TEST:
            tests = [{"expectation": "not_null", "severity": "error", "status": "fail", "unexpected": 2}]
            return NodeResult(gnode.name, gnode.unique_id, "test", "fail", extra={"tests": tests})
        return NodeResult(gnode.name, gnode.unique_id, gnode.kind, "success")

    results = runner(PROJECT, PROJECT.order, builder, plan={"tested": ["a"]}).run()
    status = {(r.kind, r.name): (r.status, r.message) for r in results}
    assert status[("test", "a")][0] == "fail" and status[("transform", "a")][0] == "success"
    for name in ("b", "c", "d"):  # d is reached through b and c
        assert status[("transform", name)] == ("skipped", "skipped: upstream 'a' failed test not_null")
    assert status[("transform", "e")][0] == status[("transform", "f")][0] == "success"
