"""Registry and project graph: names, inputs, duplicates, unknown inputs, cycles."""

import types

import pytest

from netflix_elt.errors import GraphError
from netflix_elt.registry import Node, Project, collect_specs, spec_of, transform, with_inputs


def _module(name: str, **funcs) -> types.ModuleType:
    mod = types.ModuleType(name)
    for fname, f in funcs.items():
        f.__module__ = name
        setattr(mod, fname, f)
    return mod


def _source(name: str) -> Node:
    return Node(name=name, kind="source", layer="raw", materialized="table")


def test_inputs_are_parameter_names_and_session_is_reserved():
    @transform(layer="core", materialized="table")
    def dim_x(src_a, src_b, session):  # noqa: ARG001
        return None

    spec = with_inputs(spec_of(dim_x))
    assert spec.name == "dim_x"
    assert spec.inputs == ("src_a", "src_b")
    assert spec.takes_session


def test_name_override_and_metadata():
    @transform(name="Fancy", layer="marts", materialized="view", tags=["daily"], columns={"a": "the a"})
    def f(src):
        """Doc line."""
        return src

    spec = spec_of(f)
    assert (spec.name, spec.layer, spec.materialized, spec.tags) == ("fancy", "marts", "view", ("daily",))
    assert spec.description == "Doc line." and spec.columns == {"A": "the a"}


def test_duplicate_names_name_both_functions():
    @transform(layer="core", name="dup")
    def one(src):
        return src

    @transform(layer="core", name="dup")
    def two(src):
        return src

    m1, m2 = _module("pkg.one", one=one), _module("pkg.two", two=two)
    with pytest.raises(GraphError, match=r"'dup' is defined twice: by .*one.* and by .*two"):
        collect_specs([m1, m2])


def test_unknown_input_suggests_a_close_name():
    @transform(layer="core")
    def dim_movies(src_moveis):
        return src_moveis

    @transform(layer="staging")
    def src_movies(raw_movies):
        return raw_movies

    specs = [with_inputs(spec_of(dim_movies)), with_inputs(spec_of(src_movies))]
    with pytest.raises(GraphError, match=r"unknown input 'src_moveis'; did you mean 'src_movies'\?"):
        Project([_source("raw_movies"), *specs])


def test_cycle_between_transforms_is_named():
    @transform(layer="core")
    def a(c):
        return c

    @transform(layer="core")
    def b(a):
        return a

    @transform(layer="core")
    def c(b):
        return b

    with pytest.raises(GraphError, match=r"cycle in the transform graph: a -> b -> c -> a"):
        Project([with_inputs(spec_of(f)) for f in (a, b, c)])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layer": "gold"}, "layer 'gold' is not one of"),
        ({"layer": "core", "materialized": "matview"}, "materialized 'matview' is not one of"),
        ({"layer": "core", "materialized": "incremental"}, "need unique_key and incremental_key"),
        ({"layer": "core", "materialized": "table", "deduplicate": False}, "applies to incremental transforms only"),
    ],
)
def test_invalid_declarations(kwargs, message):
    @transform(**kwargs)
    def bad(src):
        return src

    with pytest.raises(GraphError, match=message):
        with_inputs(spec_of(bad))


def test_var_args_cannot_name_inputs():
    @transform(layer="core")
    def bad(*frames):
        return frames

    with pytest.raises(GraphError, match=r"\*args"):
        with_inputs(spec_of(bad))


def test_undecorated_function_is_an_error():
    with pytest.raises(GraphError, match="not decorated"):
        spec_of(lambda: None)


def test_real_project_graph(tmp_path, monkeypatch):
    from netflix_elt.config import load_settings
    from netflix_elt.registry import load_project
    from tests.conftest import PROJECT_DIR

    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path))
    project = load_project(load_settings(PROJECT_DIR))
    assert project["fct_ratings"].inputs == ("src_ratings",)
    assert project["mart_movie_releases"].inputs == ("fct_ratings", "seed_movie_release_dates")
    assert project["dim_users"].inputs == ("src_ratings", "src_tags")
    assert project["dim_movies_with_tags"].materialized == "ephemeral"
    order = project.order
    assert order.index("src_ratings") < order.index("fct_ratings") < order.index("mart_movie_releases")
    expected = {
        "src_movies",
        "src_ratings",
        "src_tags",
        "src_genome_scores",
        "src_genome_tags",
        "src_links",
        "dim_movies",
        "dim_genome_tags",
        "dim_users",
        "fct_genome_scores",
        "dim_movies_with_tags",
        "fct_ratings",
        "mart_movie_releases",
        "top_rated_movies",
    }
    assert expected <= {n.name for n in project.of_kind("transform")}
