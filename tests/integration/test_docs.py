"""`netflix-elt docs generate` / `docs serve` on the real MovieLens fixture, checked in headless Chromium.

The site is generated once per module from the shared fixture warehouse (loaded, seeded and run;
snapshots not applied, so the unbuilt path is covered too) into this module's own target folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.browser import headless_chromium, keep_screenshot, serve_cli
from tests.conftest import PROJECT_DIR

SCREENSHOT_IN_REPO = PROJECT_DIR / "docs" / "img" / "lineage.png"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def site(built_fixture_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Generate the docs once: the shared warehouse, a target folder of this module's own."""
    from netflix_elt.api import Workspace
    from netflix_elt.docs import generate_docs

    target = tmp_path_factory.mktemp("docs_target")
    # the fixture's `run` results, as a user's target folder would hold them
    shutil.copy(built_fixture_warehouse / "build_run_results.json", target / "run_results.json")  # kept by conftest
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(built_fixture_warehouse / "home"))
        mp.setenv("NETFLIX_ELT_TARGET_PATH", str(target))
        with Workspace.from_options(PROJECT_DIR) as ws:
            result = generate_docs(ws)
            counts = {
                name: int(ws.session.sql(f"SELECT COUNT(*) FROM {rel}").collect()[0][0])
                for name, rel in (("dim_movies", "MOVIELENS.DEV.DIM_MOVIES"), ("dim_users", "MOVIELENS.DEV.DIM_USERS"))
            }
        yield {
            "result": result,
            "target": target,
            "home": built_fixture_warehouse / "home",
            "manifest": json.loads((target / "manifest.json").read_text()),
            "catalog": json.loads((target / "catalog.json").read_text()),
            "lineage": json.loads((target / "lineage.json").read_text())["columns"],
            "counts": counts,
        }


def _paths(site: dict[str, Any], node: str, column: str) -> list[list[str]]:
    return site["lineage"][node][column]["paths"]


def _direct(site: dict[str, Any], node: str, column: str) -> set[str]:
    return {f"{r['node']}.{r['column']}" for r in site["lineage"][node][column]["direct"]}


# catalog.json ------------------------------------------------------------------------------------
def test_catalog_has_dbt_shape_and_warehouse_types(site: dict[str, Any]) -> None:
    cat, manifest = site["catalog"], site["manifest"]
    assert set(cat) == {"metadata", "nodes", "sources", "errors"}
    assert cat["metadata"]["dbt_schema_version"] == "https://schemas.getdbt.com/dbt/catalog/v1.json"
    dim = cat["nodes"]["model.movielens.dim_movies"]
    assert dim["unique_id"] == "model.movielens.dim_movies"
    assert dim["metadata"] == {
        "type": "BASE TABLE",
        "schema": "DEV",
        "name": "DIM_MOVIES",
        "database": "MOVIELENS",
        "comment": None,
        "owner": None,
    }
    assert list(dim["columns"]) == ["MOVIE_ID", "MOVIE_TITLE", "GENRES", "GENRE_ARRAY"]
    assert dim["columns"]["MOVIE_ID"] == {
        "type": "NUMBER",
        "index": 1,
        "name": "MOVIE_ID",
        "comment": "MovieLens movie id (unique)",
    }
    assert dim["columns"]["MOVIE_TITLE"]["type"] == "TEXT"
    assert dim["stats"]["row_count"]["value"] == site["counts"]["dim_movies"] == 9742
    assert cat["nodes"]["model.movielens.dim_users"]["stats"]["row_count"]["value"] == site["counts"]["dim_users"]
    # views: columns listed (from INFORMATION_SCHEMA.COLUMNS), no row count
    view = cat["nodes"]["model.movielens.src_movies"]
    assert view["metadata"]["type"] == "VIEW"
    assert view["columns"]["TITLE"]["type"] == "TEXT"
    assert view["stats"]["has_stats"]["value"] is False and "row_count" not in view["stats"]
    src = cat["sources"]["source.movielens.raw.raw_movies"]
    assert [c["name"] for c in src["columns"].values()][:3] == ["MOVIEID", "TITLE", "GENRES"]
    assert src["columns"]["_LOAD_ID"]["comment"].startswith("Load that brought the row in")
    # every built node of the manifest is catalogued; ephemeral, analyses and unbuilt snapshots are not
    expected = {
        uid
        for uid, n in manifest["nodes"].items()
        if n["config"]["materialized"] not in ("ephemeral", "analysis", "test") and n["resource_type"] != "snapshot"
    }
    assert set(cat["nodes"]) == expected
    assert set(cat["sources"]) == set(manifest["sources"])


# column lineage ---------------------------------------------------------------------------------
def test_column_lineage_matches_hand_traced_paths(site: dict[str, Any]) -> None:
    assert _paths(site, "dim_movies", "MOVIE_TITLE") == [
        ["dim_movies.MOVIE_TITLE", "src_movies.TITLE", "raw_movies.TITLE"]
    ]
    assert site["lineage"]["dim_movies"]["MOVIE_TITLE"]["expression"] == 'INITCAP(TRIM("TITLE"))'
    assert site["lineage"]["dim_movies"]["MOVIE_ID"]["expression"] == ""  # a plain copy
    assert _paths(site, "src_movies", "MOVIE_ID") == [["src_movies.MOVIE_ID", "raw_movies.MOVIEID"]]
    assert _direct(site, "mart_movie_releases", "RELEASE_DATE") == {"seed_movie_release_dates.RELEASE_DATE"}
    assert _paths(site, "mart_movie_releases", "RELEASE_DATE") == [
        ["mart_movie_releases.RELEASE_DATE", "seed_movie_release_dates.RELEASE_DATE"]
    ]
    assert _direct(site, "mart_movie_releases", "RELEASE_INFO_AVAILABLE") == {"seed_movie_release_dates.RELEASE_DATE"}
    assert _paths(site, "mart_movie_releases", "RATING") == [
        ["mart_movie_releases.RATING", "fct_ratings.RATING", "src_ratings.RATING", "raw_ratings.RATING"]
    ]
    assert _direct(site, "dim_users", "USER_ID") == {"src_ratings.USER_ID", "src_tags.USER_ID"}
    origins = {f"{r['node']}.{r['column']}" for r in site["lineage"]["dim_users"]["USER_ID"]["origins"]}
    assert origins == {"raw_ratings.USERID", "raw_tags.USERID"}
    assert _paths(site, "fct_ratings", "RATING_TIMESTAMP") == [
        ["fct_ratings.RATING_TIMESTAMP", "src_ratings.RATING_TIMESTAMP", "raw_ratings.TIMESTAMP"]
    ]
    # the ephemeral transform is traced through the tables it reads
    assert _paths(site, "dim_movies_with_tags", "TAG_NAME") == [
        ["dim_movies_with_tags.TAG_NAME", "dim_genome_tags.TAG_NAME", "src_genome_tags.TAG", "raw_genome_tags.TAG"]
    ]
    # an unbuilt snapshot: columns from its compiled query, a surrogate key from three columns
    assert _direct(site, "snap_tags", "ROW_KEY") == {"src_tags.USER_ID", "src_tags.MOVIE_ID", "src_tags.TAG"}
    assert _direct(site, "snap_movies", "TITLE") == {"src_movies.TITLE"}


# the static site -----------------------------------------------------------------------------------
def test_site_is_offline_and_has_a_page_per_node(site: dict[str, Any]) -> None:
    docs = site["target"] / "docs"
    manifest = site["manifest"]
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] != "test"]  # tests show on their table's page
    names = {n["name"] for n in (*nodes, *manifest["sources"].values())}
    assert {p.stem for p in (docs / "nodes").glob("*.html")} == names
    pages = [docs / "index.html", *(docs / "nodes").glob("*.html")]
    for page in pages:
        html = page.read_text()
        refs = re.findall(r"<(?:script|link|img|iframe)\b[^>]*?(?:src|href)=\"([^\"]+)\"", html)
        assert refs or page.parent.name == "nodes"
        assert not [r for r in refs if re.match(r"^(https?:)?//", r)], page
        assert "http://" not in html and "https://" not in html, page
        for ref in refs:  # every referenced asset ships with the site
            assert (page.parent / ref).resolve().is_file(), (page, ref)
    for lic in ("LICENSE.cytoscape.txt", "LICENSE.cytoscape-dagre.txt", "LICENSE.dagre.txt"):
        assert (docs / "static" / "vendor" / lic).is_file()
    page = (docs / "nodes" / "dim_movies.html").read_text()
    assert "def dim_movies(src_movies: DataFrame) -&gt; DataFrame:" in page  # Python source
    assert "FROM MOVIELENS.DEV.SRC_MOVIES" in page  # compiled SQL
    assert "expect_column_values_to_be_unique(movie_id)" in page  # the suite
    assert "9,742" in page
    assert "dim_movies.MOVIE_TITLE ← src_movies.TITLE ← raw_movies.TITLE" in page
    # last build and validation from run_results.json (the fixture's run: no tests ran with it)
    assert "completed_at" not in page and re.search(r"<dt>last build</dt><dd>\d{4}-\d\d-\d\dT", page)
    snap = (docs / "nodes" / "snap_tags.html").read_text()
    assert "not built" in snap and "ROW_KEY" in snap


def test_docs_generate_cli_and_serve_without_site(site: dict[str, Any], tmp_path: Path) -> None:
    from netflix_elt.cli import main

    env = {"NETFLIX_ELT_HOME": str(site["home"]), "NETFLIX_ELT_TARGET_PATH": str(tmp_path)}
    res = CliRunner().invoke(main, ["docs", "serve", "--project-dir", str(PROJECT_DIR), "--port", "0"], env=env)
    assert res.exit_code == 2
    assert "run `netflix-elt docs generate` first" in res.output.replace("\n", " ")


# docs serve + a real browser ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(site: dict[str, Any]) -> Iterator[str]:
    """`netflix-elt docs serve --port 0` in a subprocess (no warehouse needed); yields its URL."""
    env = {**os.environ, "NETFLIX_ELT_TARGET_PATH": str(site["target"]), "NETFLIX_ELT_HOME": "/nonexistent"}
    with serve_cli(["docs", "serve", "--port", "0", "--project-dir", str(PROJECT_DIR)], env, stop_timeout=10) as url:
        yield url


def test_docs_serve_serves_the_site(served: str, site: dict[str, Any]) -> None:
    with urllib.request.urlopen(served, timeout=10) as r:
        assert r.status == 200
        assert r.read() == (site["target"] / "docs" / "index.html").read_bytes()
    with urllib.request.urlopen(served + "static/vendor/cytoscape.min.js", timeout=10) as r:
        assert r.status == 200


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from headless_chromium(tmp_path_factory.mktemp("chromium-profile"), window="1600,900", page_load_timeout=30)


def _wait(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_lineage_graph_in_chromium(browser: Any, served: str, site: dict[str, Any]) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(served)
    assert _wait(lambda: browser.execute_script("return document.body.dataset.ready === 'true'")), (
        browser.get_log("browser") if hasattr(browser, "get_log") else "app.js did not finish"
    )
    # every node and edge of the manifest's graph is drawn (its tests show on their table's page)
    parent_map = {c: ps for c, ps in site["manifest"]["parent_map"].items() if not c.startswith("test.")}
    nodes = browser.execute_script("return docsGraph.nodes().map(n => n.data('uid'))")
    edges = browser.execute_script(
        "return docsGraph.edges().map(e => [e.source().data('uid'), e.target().data('uid')])"
    )
    assert sorted(nodes) == sorted(parent_map)
    assert sorted(map(tuple, edges)) == sorted((p, c) for c, ps in parent_map.items() for p in ps)
    classes = browser.execute_script("return docsGraph.getElementById('dim_movies_with_tags').classes()")
    assert "m-ephemeral" in classes
    assert "k-snapshot" in browser.execute_script("return docsGraph.getElementById('snap_tags').classes()")

    # a real click on dim_movies: its columns show and its up/downstream are highlighted
    graph = browser.find_element(By.ID, "graph")
    pos = browser.execute_script(
        "const p = docsGraph.getElementById('dim_movies').renderedPosition();"
        "const r = document.getElementById('graph').getBoundingClientRect();"
        "return [p.x - r.width / 2, p.y - r.height / 2];"
    )
    ActionChains(browser).move_to_element_with_offset(graph, int(pos[0]), int(pos[1])).click().perform()
    title = _wait(lambda: "".join(e.text for e in browser.find_elements(By.ID, "panel-title")))
    assert title == "dim_movies"
    cols = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#panel table.columns td.col-name")]
    types = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#panel table.columns td.col-type")]
    assert cols == ["MOVIE_ID", "MOVIE_TITLE", "GENRES", "GENRE_ARRAY"]
    assert types == ["NUMBER", "TEXT", "TEXT", "VARIANT"]
    sources = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#panel table.columns td.col-from")]
    assert sources[1] == "src_movies.TITLE"

    def has(name: str, cls: str) -> bool:
        return browser.execute_script(f"return docsGraph.getElementById('{name}').hasClass('{cls}')")

    assert has("dim_movies", "selected")
    assert has("src_movies", "upstream") and has("raw_movies", "upstream")
    assert has("dim_movies_with_tags", "downstream") and has("top_rated_movies", "downstream")
    assert has("fct_ratings", "faded") and not has("src_movies", "faded")

    # keep a screenshot of the highlighted graph as a test artifact
    keep_screenshot(browser, site["target"], "lineage.png", min_bytes=10_000, in_repo=SCREENSHOT_IN_REPO)

    # the search box: matches by name or column, Enter opens the first
    box = browser.find_element(By.ID, "search")
    box.send_keys("release_date")
    found = _wait(lambda: [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#results a.node-link")])
    assert found == ["seed_movie_release_dates", "mart_movie_releases", "mart_movie_stats"]
    assert has("mart_movie_releases", "match") and has("dim_users", "faded")
    box.send_keys(Keys.ENTER)
    assert _wait(lambda: browser.find_element(By.ID, "panel-title").text == "seed_movie_release_dates")

    # the panel links to the node's full page, which the server serves
    browser.find_element(By.ID, "page-link").click()
    assert _wait(lambda: browser.find_elements(By.ID, "node-name"))
    assert browser.find_element(By.ID, "node-name").text == "seed_movie_release_dates"


# run_results.json and suites without a warehouse -------------------------------------------------
def test_last_runs_reads_build_and_validate_results(tmp_path: Path) -> None:
    from netflix_elt.artifacts import read_results, read_run_results
    from netflix_elt.docs.catalog import last_runs, read_suites

    assert read_run_results(tmp_path, required=False) == {} and read_suites(tmp_path) == ({}, [])
    assert last_runs(read_results(tmp_path)) == ({}, {})

    def row(uid: str, status: str, **kw: Any) -> dict[str, Any]:  # dbt's run_results v6 row
        timing = [{"name": "execute", "started_at": "2026-01-01T00:00:00", "completed_at": "2026-01-01T00:00:01"}]
        return {
            "unique_id": uid,
            "status": status,
            "timing": timing,
            "execution_time": 0.5,
            "message": None,
            "failures": None,
            "adapter_response": {},
            **kw,
        }

    def manifest_test(suite: str, expectation: str, severity: str) -> dict[str, Any]:
        return {
            "resource_type": "test",
            "meta": {"netflix_elt": {"suite": suite, "expectation": expectation, "severity": severity}},
        }

    manifest = {
        "nodes": {
            "test.movielens.dim_movies_e1.0123456789": manifest_test("dim_movies", "e1", "error"),
            "test.movielens.dim_users_e2.abcdef0123": manifest_test("dim_users", "e2", "warn"),
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    build = [
        row("model.movielens.dim_movies", "success", adapter_response={"rows_affected": 9742}),
        row("test.movielens.dim_movies_e1.0123456789", "pass", failures=0),
    ]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": build}))
    builds, tests = last_runs(read_results(tmp_path))
    assert builds["dim_movies"]["completed_at"] == "2026-01-01T00:00:01"
    assert builds["dim_movies"]["rows_affected"] == 9742
    assert tests["dim_movies"] == [
        {"expectation": "e1", "severity": "error", "status": "pass", "unexpected": 0, "message": ""}
    ]
    validate = [row("test.movielens.dim_users_e2.abcdef0123", "warn", failures=3, message="3 unexpected")]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": validate}))
    builds, tests = last_runs(read_results(tmp_path))
    assert builds == {}
    assert tests == {
        "dim_users": [
            {"expectation": "e2", "severity": "warn", "status": "warn", "unexpected": 3, "message": "3 unexpected"}
        ]
    }
    (tmp_path / "manifest.json").unlink()
    (tmp_path / "run_results.json").unlink()
    (tmp_path / "expectations" / "core").mkdir(parents=True)
    (tmp_path / "expectations" / "core" / "bad.yml").write_text("expectations: [")
    (tmp_path / "expectations" / "core" / "dim_x.yml").write_text(
        "expectations:\n  - type: expect_column_values_to_not_be_null\n    kwargs: {column: x}\n"
    )
    (tmp_path / "expectations" / "core" / "dim_y.toml").write_text("not a suite format: the validator reads YAML only")
    suites, warnings = read_suites(tmp_path)
    assert suites["dim_x"]["expectations"][0]["label"] == "expect_column_values_to_not_be_null(x)"
    assert "dim_y" not in suites  # the docs read the same suite files as the validator
    assert len(warnings) == 1 and "bad.yml" in warnings[0]


def test_contracts_show_on_the_pages_and_in_the_panel_data(site: dict[str, Any]) -> None:
    docs = site["target"] / "docs"
    page = (docs / "nodes" / "dim_movies.html").read_text()
    assert '<span class="badge b-contract">contract</span>' in page and "<th>contract</th>" in page
    assert re.search(r'MOVIE_ID</td><td>[^<]*</td><td class="col-contract">NUMBER NOT NULL</td>', page)
    assert re.search(r'GENRE_ARRAY</td><td>[^<]*</td><td class="col-contract">ARRAY</td>', page)
    plain = (docs / "nodes" / "src_movies.html").read_text()  # a staging view has no contract
    assert "b-contract" not in plain and "<th>contract</th>" not in plain
    text = (docs / "data.js").read_text()
    data = json.loads(text[text.index("{") : text.rindex("}") + 1])
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["dim_movies"]["contract"] is True and nodes["src_movies"]["contract"] is False
    cols = {c["name"]: c["contract"] for c in nodes["mart_rating_distribution"]["columns"]}
    assert cols == {"RATING": "FLOAT", "NUM_RATINGS": "NUMBER"}
    manifest = site["manifest"]["nodes"]["model.movielens.dim_movies"]
    assert manifest["config"]["contract"]["enforced"] is True
    assert manifest["columns"]["movie_id"]["data_type"] == "NUMBER"
