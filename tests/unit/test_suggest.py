"""The one did-you-mean helper, and a place it is used without the CLI (the API's seed names)."""

from __future__ import annotations

import tomllib

import pytest

from netflix_elt.commands import seeds_named
from netflix_elt.config import load_settings
from netflix_elt.errors import SelectorError
from netflix_elt.suggest import close_to, did_you_mean, unknown
from tests.conftest import PROJECT_DIR


def test_closest_candidate_case_insensitive_keeps_its_spelling() -> None:
    assert close_to("DIM_MOVIS", ["dim_users", "dim_movies", "fct_ratings"]) == ["dim_movies"]
    assert close_to("Prod", ["dev", "PROD"]) == ["PROD"]
    assert did_you_mean("dim_movis", ["dim_movies"]) == "; did you mean 'dim_movies'?"
    assert did_you_mean("zzzz", ["dim_movies", "fct_ratings"]) == ""  # nothing close: no hint
    assert did_you_mean("x", []) == ""
    assert unknown("seed", "sed_x", ["seed_x", "other"]) == "no seed named 'sed_x'; did you mean 'seed_x'?"


def test_api_seed_names_are_checked(isolated_home) -> None:
    settings = load_settings(PROJECT_DIR)
    declared = list(tomllib.loads((PROJECT_DIR / "config" / "netflix_elt.toml").read_text())["seeds"])
    assert declared and seeds_named(settings, None) == declared
    assert seeds_named(settings, [declared[0]]) == [declared[0]]
    typo = declared[0][:-1] + "z"
    with pytest.raises(SelectorError, match=rf"no seed named '{typo}'; did you mean '{declared[0]}'\?"):
        seeds_named(settings, [typo])
