import pytest

from netflix_elt.errors import SelectorError
from netflix_elt.registry import Node, Project
from netflix_elt.selectors import Selector, select


def _t(name, inputs=(), layer="core", tags=()):
    return Node(name=name, kind="transform", layer=layer, materialized="table", inputs=tuple(inputs), tags=tags)


@pytest.fixture
def project():
    return Project(
        [
            Node(name="raw", kind="source", layer="raw", materialized="table"),
            _t("stg", ["raw"], "staging"),
            _t("dim", ["stg"], tags=("nightly",)),
            _t("fct", ["stg"]),
            _t("mart", ["dim", "fct"], "marts", tags=("nightly", "finance")),
            _t("other", [], "marts"),
        ]
    )


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        (["dim"], ["dim"]),
        (["+dim"], ["stg", "dim"]),
        (["dim+"], ["dim", "mart"]),
        (["+mart"], ["stg", "dim", "fct", "mart"]),
        (["layer:marts"], ["other", "mart"]),
        (["+layer:marts"], ["other", "stg", "dim", "fct", "mart"]),
        (["tag:nightly"], ["dim", "mart"]),
        (["tag:finance", "fct"], ["fct", "mart"]),
        (["stg+"], ["stg", "dim", "fct", "mart"]),
        (["d*"], ["dim"]),
        ([], ["other", "stg", "dim", "fct", "mart"]),
    ],
)
def test_selection(project, selectors, expected):
    assert select(project, selectors) == expected


def test_exclude(project):
    assert select(project, ["+mart"], ["tag:nightly"]) == ["stg", "fct"]


def test_selector_matching_nothing_is_an_error(project):
    with pytest.raises(SelectorError, match=r"selector 'dmi' matches nothing; did you mean 'dim'\?"):
        select(project, ["dmi"])
    with pytest.raises(SelectorError, match="matches nothing"):
        select(project, ["layer:gold"])


def test_source_only_selection_matches_no_transform(project):
    with pytest.raises(SelectorError, match="matches no transform"):
        select(project, ["raw"])


@pytest.mark.parametrize("text", ["color:red", "a b;c", "", "++x"])
def test_invalid_syntax(text):
    with pytest.raises(SelectorError):
        Selector.parse(text)


def test_parse_is_frozen():
    sel = Selector.parse("+layer:marts+")
    assert sel == Selector("layer", "marts", True, True)
    with pytest.raises(AttributeError):
        sel.value = "x"  # type: ignore[misc]
