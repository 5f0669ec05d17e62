import pytest

from netflix_elt.dag import DAG
from netflix_elt.errors import GraphError


def test_order_is_topological_and_deterministic():
    edges = {"c": ["a", "b"], "b": ["a"], "d": ["a"], "a": []}
    dag = DAG(edges)
    assert dag.order == ["a", "b", "c", "d"]
    assert DAG(dict(reversed(list(edges.items())))).order == dag.order


def test_cycle_error_prints_the_path():
    with pytest.raises(GraphError) as e:
        DAG({"a": ["c"], "b": ["a"], "c": ["b"]})
    assert str(e.value) == "cycle in the transform graph: a -> b -> c -> a"


def test_self_cycle():
    with pytest.raises(GraphError, match="x -> x"):
        DAG({"x": ["x"]})


def test_ancestors_and_descendants():
    dag = DAG({"b": ["a"], "c": ["b"], "d": ["a"], "e": []})
    assert dag.ancestors("c") == {"a", "b"}
    assert dag.descendants("a") == {"b", "c", "d"}
    assert dag.ancestors("e") == set() == dag.descendants("e")
