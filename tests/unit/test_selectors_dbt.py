"""dbt's selection syntax on a small graph, each expected set written out by hand from dbt's docs.

docs.getdbt.com/reference/node-selection/graph-operators: `2+x` is x, its parents and
grandparents; `x+1` x and its first-degree descendants; `@x` x, its descendants and the ancestors
of those descendants. .../set-operators: space is a union, `a,b` an intersection. .../methods:
`path:` a folder or file relative to the project, `source:` a source; a value with `/` is a path.

    raw_a ─▶ stg_a ─▶ dim ─────────────┬─▶ report
                        └─▶ mart ──────┘
    raw_b ─▶ stg_b ─▶ fct ─▶ mart
    seed_x ─────────▶ fct                  other (reads nothing)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netflix_elt.errors import SelectorError
from netflix_elt.registry import Node, Project
from netflix_elt.selectors import Selector, select

EVERYTHING = ("source", "seed", "transform", "snapshot")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "proj"

    def t(name: str, inputs: tuple[str, ...], layer: str, tags: tuple[str, ...] = ()) -> Node:
        folder = {"staging": "staging", "core": "core", "marts": "marts"}[layer]
        return Node(
            name=name,
            kind="transform",
            layer=layer,
            materialized="table",
            inputs=inputs,
            tags=tags,
            file=str(root / "transforms" / folder / f"{name}.py"),
        )

    toml = str(root / "config" / "netflix_elt.toml")
    return Project(
        [
            Node(name="raw_a", kind="source", layer="raw", materialized="table", file=toml),
            Node(name="raw_b", kind="source", layer="raw", materialized="table", file=toml),
            Node(name="seed_x", kind="seed", layer="seeds", materialized="table", file=str(root / "seeds" / "x.csv")),
            t("stg_a", ("raw_a",), "staging"),
            t("stg_b", ("raw_b",), "staging", ("nightly",)),
            t("dim", ("stg_a",), "core", ("nightly",)),
            t("fct", ("stg_b", "seed_x"), "core"),
            t("mart", ("dim", "fct"), "marts", ("nightly", "finance")),
            t("report", ("mart", "dim"), "marts"),
            t("other", (), "marts"),
        ],
        root=root,
        transforms_dir=root / "transforms",
    )


def picked(project: Project, *selectors: str, exclude: tuple[str, ...] = (), kinds=("transform",)) -> set[str]:
    names = select(project, list(selectors), exclude, kinds)
    assert names == [n for n in project.order if n in set(names)]  # dependency order, no duplicates
    return set(names)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        # n-plus: depth counts edges, at the shortest distance
        ("1+mart", {"mart", "dim", "fct"}),
        ("2+mart", {"mart", "dim", "fct", "stg_a", "stg_b"}),
        ("0+dim", {"dim"}),
        ("dim+1", {"dim", "mart", "report"}),  # report reads dim directly
        ("stg_a+1", {"stg_a", "dim"}),
        ("stg_a+2", {"stg_a", "dim", "mart", "report"}),
        ("stg_b+2", {"stg_b", "fct", "mart"}),
        ("stg_b+3", {"stg_b", "fct", "mart", "report"}),
        ("1+dim+1", {"stg_a", "dim", "mart", "report"}),
        ("+mart", {"stg_a", "stg_b", "dim", "fct", "mart"}),
        # @: the node, its descendants, and every ancestor of those descendants
        ("@stg_b", {"stg_b", "fct", "mart", "report", "dim", "stg_a"}),
        ("@dim", {"stg_a", "stg_b", "dim", "fct", "mart", "report"}),
        ("@other", {"other"}),
        # intersections, with graph operators inside
        ("tag:nightly,layer:core", {"dim"}),
        ("+mart,layer:staging", {"stg_a", "stg_b"}),
        ("stg_a+,tag:nightly", {"dim", "mart"}),
        ("tag:nightly,tag:finance", {"mart"}),
        # source: and path:
        ("source:raw_a+", {"stg_a", "dim", "mart", "report"}),
        ("path:transforms/staging", {"stg_a", "stg_b"}),
        ("path:staging", {"stg_a", "stg_b"}),  # relative to the transforms package too
        ("path:transforms/core/dim.py", {"dim"}),
        ("transforms/marts", {"mart", "report", "other"}),  # a value with '/' is a path
        ("path:transforms/core+", {"dim", "fct", "mart", "report"}),
        # dbt's spellings of two methods
        ("resource_type:transform,layer:core", {"dim", "fct"}),
        ("config.materialized:table,tag:finance", {"mart"}),
    ],
)
def test_dbt_selector(project: Project, selector: str, expected: set[str]) -> None:
    assert picked(project, selector) == expected


def test_at_adds_the_parents_of_the_children_that_plus_leaves_out(project: Project) -> None:
    assert picked(project, "@stg_b") - picked(project, "stg_b+") == {"dim", "stg_a"}


def test_sources_seeds_and_paths_of_every_kind(project: Project) -> None:
    assert picked(project, "2+mart", kinds=EVERYTHING) == {"mart", "dim", "fct", "stg_a", "stg_b", "seed_x"}
    assert picked(project, "source:raw_*", kinds=EVERYTHING) == {"raw_a", "raw_b"}
    assert picked(project, "source:raw_b+1", kinds=EVERYTHING) == {"raw_b", "stg_b"}
    assert picked(project, "path:seeds", kinds=EVERYTHING) == {"seed_x"}
    assert picked(project, "@seed_x", kinds=("seed", "source")) == {"seed_x", "raw_a", "raw_b"}


def test_union_of_values_and_of_words_and_exclude(project: Project) -> None:
    assert picked(project, "dim", "fct") == {"dim", "fct"}  # -s dim fct
    assert picked(project, "tag:finance other") == {"mart", "other"}  # one quoted argument
    assert picked(project, "+report", exclude=("stg_b+1",)) == {"stg_a", "dim", "mart", "report"}
    assert picked(project, "+report", exclude=("tag:nightly,layer:marts", "1+stg_b")) == {
        "stg_a",
        "dim",
        "fct",
        "report",
    }


def test_parse_depths_and_at() -> None:
    assert Selector.parse("3+layer:marts+4") == Selector("layer", "marts", True, True, 3, 4)
    assert Selector.parse("@Dim") == Selector("name", "dim", childrens_parents=True)
    assert Selector.parse("source:raw_ratings+") == Selector("source", "raw_ratings", children=True)
    assert Selector.parse("transforms/Core").method == "path"
    assert Selector.parse("transforms/Core").value == "transforms/Core"  # paths keep their case


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("dmi", r"selector 'dmi' matches nothing; did you mean 'dim'\?"),
        ("+dmi+", r"selector '\+dmi\+' matches nothing; did you mean 'dim'\?"),
        ("tag:nighty", r"matches nothing; did you mean 'nightly'\?"),
        ("layer:stagin", r"matches nothing; did you mean 'staging'\?"),
        ("source:raw_c", r"matches nothing; did you mean 'raw_[ab]'\?"),
        ("source:dim", r"'dim' is a transform, not a source"),
        ("path:transforms/stagin", r"matches nothing; did you mean 'transforms/staging'\?"),
        ("materialised:table", r"unknown method 'materialised'; did you mean 'materialized'\?"),
        ("colour:red", r"unknown method 'colour'"),
        ("@dim+", r"'@' and a '\+' suffix cannot be combined"),
        ("dim,", r"empty part in an intersection"),
        (",dim", r"empty part in an intersection"),
        ("tag:finance,layer:staging", r"no node is selected by all of tag:finance, layer:staging"),
        ("dim+x", r"invalid selector 'dim\+x'"),
        ("+", r"invalid selector '\+'"),
        ("@", r"invalid selector '@'"),
        ("2+", r"selector '2\+' matches nothing"),  # dbt's grammar: the name '2' and its descendants
        ("dim++", r"invalid selector 'dim\+\+'"),
        ("a;b", r"invalid selector 'a;b'"),
    ],
)
def test_bad_selectors_are_named(project: Project, selector: str, message: str) -> None:
    with pytest.raises(SelectorError, match=message):
        select(project, [selector])
    with pytest.raises(SelectorError, match=message):  # --exclude is checked the same way
        select(project, ["+report"], [selector])


def test_empty_selector_argument_is_invalid(project: Project) -> None:
    with pytest.raises(SelectorError, match="invalid selector ''"):
        select(project, [""])


# state: (dbt's state method), with a state object handed in ----------------------------------------
class FixedState:
    """A state whose answers are written out: `fct` changed its code, `other` is new."""

    def __init__(self, modified: set[str], new: set[str]) -> None:
        self._modified, self._new, self.asked = modified, new, 0

    def modified(self, project: Project) -> set[str]:
        self.asked += 1
        return set(self._modified)

    def new(self, project: Project) -> set[str]:
        self.asked += 1
        return set(self._new)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("state:modified", {"fct", "other"}),  # dbt: new nodes are modified too
        ("state:new", {"other"}),
        ("state:modified+", {"fct", "mart", "report", "other"}),
        ("+state:new", {"other"}),
        ("1+state:modified", {"fct", "stg_b", "seed_x", "other"}),
        ("state:modified,tag:nightly", set()),  # an empty intersection with a state is an answer
        ("state:modified+,tag:finance", {"mart"}),
    ],
)
def test_state_selectors(project: Project, selector: str, expected: set[str]) -> None:
    state = FixedState({"fct", "other"}, {"other"})
    assert set(select(project, [selector], kinds=EVERYTHING, state=state)) == expected


def test_state_is_asked_only_when_a_state_selector_is_used(project: Project) -> None:
    state = FixedState(set(), set())
    assert select(project, ["dim"], kinds=EVERYTHING, state=state) == ["dim"]
    assert state.asked == 0
    # nothing modified: an empty selection, not an error (dbt: "nothing to do")
    assert select(project, ["state:modified+"], kinds=EVERYTHING, state=state) == []
    assert state.asked == 1
    every = {"stg_a", "stg_b", "dim", "fct", "mart", "report", "other"}
    assert set(select(project, [], ["state:modified"], kinds=("transform",), state=state)) == every


def test_unknown_state_value_and_missing_state_are_named(project: Project) -> None:
    with pytest.raises(SelectorError, match=r"unknown state 'modifed'.*did you mean 'modified'"):
        Selector.parse("state:modifed")
    with pytest.raises(SelectorError, match=r"unknown state 'xyz'.*state:modified or state:new"):
        select(project, ["state:xyz"], state=FixedState(set(), set()))
    with pytest.raises(SelectorError, match=r"needs a state to compare with"):
        select(project, ["state:modified"])
