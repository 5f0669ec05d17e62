"""`netflix-elt validate`: every kind of expectation fails on a deliberately broken table and passes
on the real MovieLens fixture; exit codes, the audit table, Data Docs and build-time validation.

One warehouse is built per module from the fixture (load + seed + build, which validates each
node). A test breaks one table, validates, and restores the table from a CTAS backup.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netflix_elt.api import Workspace
from netflix_elt.artifacts import NodeResult, read_results
from netflix_elt.build_state import PassedStore
from netflix_elt.quality import NOT_BUILT, ExpectationSpec, Suite, SuiteError, read_suite
from tests.conftest import PROJECT_DIR, require_fixture

DB = "MOVIELENS"
FCT = f"{DB}.DEV.FCT_RATINGS"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The real project built once on the fixture; yields the temp root (home/ and target/)."""
    fixture = require_fixture()
    root = tmp_path_factory.mktemp("validate_wh")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(root / "home"))
        mp.setenv("NETFLIX_ELT_TARGET_PATH", str(root / "target"))
        with Workspace.from_options(PROJECT_DIR) as ws:
            outcome = ws.build(from_url=str(fixture))
            bad = [(r.name, r.status, r.message) for r in outcome.results if r.status not in ("success", "pass")]
            assert not bad, [(r.name, r.status, r.message[:150]) for r in outcome.results]
            tested = {r.name: r.extra.get("tests") for r in outcome.results if r.kind == "test"}
            (root / "build_tests.json").write_text(json.dumps(tested, default=str))
            order = [[r.kind, r.name] for r in outcome.results]
            (root / "build_order.json").write_text(json.dumps(order))
        yield root


@pytest.fixture
def ws(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(warehouse / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(warehouse / "target"))
    with Workspace.from_options(PROJECT_DIR) as w:
        yield w


@contextlib.contextmanager
def broken(ws: Workspace, relation: str, *statements: str) -> Iterator[None]:
    """Apply statements to a table, then restore it exactly (the emulator has no CLONE).

    A hand edit keeps the rows' load ids, which incremental tests cannot see (docs/data_tests.md,
    Incremental tests): the suites' passing states are forgotten, so `validate` tests whole tables.
    """
    backup = relation + "__BACKUP"
    ws.session.sql(f"CREATE OR REPLACE TABLE {backup} AS SELECT * FROM {relation}").collect()
    try:
        for stmt in statements:
            ws.session.sql(stmt).collect()
        PassedStore(ws.session, ws.settings).clear()
        yield
    finally:
        ws.session.sql(f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM {backup}").collect()
        ws.session.sql(f"DROP TABLE IF EXISTS {backup}").collect()


def by_label(report: Any) -> dict[tuple[str, str], Any]:
    return {(r.suite, r.expectation): r for r in report.results}


def fixture_counts() -> dict[str, int]:
    """Expected sizes computed independently with plain DuckDB over the fixture CSVs."""
    import duckdb

    folder = require_fixture()
    con = duckdb.connect()
    ratings = f"read_csv('{folder / 'ratings.csv'}', header=true)"
    return {
        "pairs": con.execute(f"SELECT COUNT(*) FROM (SELECT DISTINCT userId, movieId FROM {ratings})").fetchone()[0],
        "movies": con.execute(
            f"SELECT COUNT(*) FROM read_csv('{folder / 'movies.csv'}', header=true, quote='\"', escape='\"')"
        ).fetchone()[0],
    }


# --- the real fixture passes ------------------------------------------------------------------


def test_every_suite_passes_on_the_fixture(ws: Workspace) -> None:
    report = ws.validate()
    assert report.ok
    not_passing = [(r.suite, r.expectation, r.status, r.message) for r in report.results if r.status != "pass"]
    assert not_passing == []
    files = {p.stem for p in (PROJECT_DIR / "expectations").rglob("*.yml")}
    assert {r.suite for r in report.results} == files
    counts = fixture_counts()
    assert ws.session.sql(f"SELECT COUNT(*) FROM {FCT}").collect()[0][0] == counts["pairs"] == 100_836
    assert ws.session.sql(f"SELECT COUNT(*) FROM {DB}.DEV.DIM_MOVIES").collect()[0][0] == counts["movies"]
    assert report.data_docs is not None and report.data_docs.is_file()
    assert report.data_docs.parent == ws.settings.target_dir / "data_docs"
    results = json.loads((ws.settings.target_dir / "run_results.json").read_text())
    assert results["args"]["which"] == "validate"
    assert {r["status"] for r in results["results"]} == {"pass"}
    assert len(results["results"]) == len(report.results)


def test_build_validated_each_node_right_after_building_it(warehouse: Path) -> None:
    tested = json.loads((warehouse / "build_tests.json").read_text())
    for name in ("dim_movies", "fct_ratings", "mart_movie_releases", "snap_tags", "snap_movies"):
        assert tested[name], name
        # a relationship whose other table is built later in the same run waits ('not built')
        assert {t["status"] for t in tested[name]} <= {"pass", NOT_BUILT}, name
        assert "pass" in {t["status"] for t in tested[name]}, name
    assert "src_movies" not in tested  # no suite for staging views: no test node


def test_build_runs_the_six_raw_suites_before_any_transform(warehouse: Path) -> None:
    """The RAW suites (16 expectations) run right after load, before anything reads RAW."""
    tested = json.loads((warehouse / "build_tests.json").read_text())
    order = json.loads((warehouse / "build_order.json").read_text())
    raw_files = sorted(p.stem for p in (PROJECT_DIR / "expectations" / "raw").glob("*.yml"))
    written = sum(len(yaml.safe_load((PROJECT_DIR / "expectations" / "raw" / f"{n}.yml").read_text())["expectations"])
                  for n in raw_files)  # fmt: skip
    assert len(raw_files) == 6 and written == 16
    raw = {n: t for n, t in tested.items() if n.startswith("raw_")}
    assert sorted(raw) == raw_files
    assert sum(len(t) for t in raw.values()) == 16
    assert {x["status"] for t in raw.values() for x in t} == {"pass"}
    # each source's suite ran before every transform that reads the source (directly or not)
    project = Workspace.from_options(PROJECT_DIR).project
    at = {(kind, name): i for i, (kind, name) in enumerate(order)}
    for name in raw:
        readers = [at[("transform", d)] for d in project.dag.descendants(name) if ("transform", d) in at]
        assert readers and at[("test", name)] < min(readers), name


# --- every kind of expectation fails on a broken table -------------------------------------------

BREAKS = [
    pytest.param(
        FCT,
        [f"UPDATE {FCT} SET user_id = NULL WHERE user_id = 1 AND movie_id = 1"],
        "fct_ratings",
        ["expect_column_values_to_not_be_null(user_id)", "no_nulls_in_columns"],
        1,
        id="null",
    ),
    pytest.param(
        f"{DB}.DEV.DIM_MOVIES",
        [f"INSERT INTO {DB}.DEV.DIM_MOVIES SELECT * FROM {DB}.DEV.DIM_MOVIES WHERE movie_id = 1"],
        "dim_movies",
        ["expect_column_values_to_be_unique(movie_id)"],
        2,
        id="duplicate-key",
    ),
    pytest.param(
        FCT,
        [f"INSERT INTO {FCT} SELECT * FROM {FCT} WHERE user_id = 1 AND movie_id = 1"],
        "fct_ratings",
        ["expect_compound_columns_to_be_unique(user_id, movie_id)", "row_count_matches_raw_ratings"],
        None,
        id="duplicate-compound-key",
    ),
    pytest.param(
        FCT,
        [f"UPDATE {FCT} SET movie_id = 999999999 WHERE user_id = 1 AND movie_id = 1"],
        "fct_ratings",
        ["movie_id_in_dim_movies"],
        1,
        id="orphan-movie-id",
    ),
    pytest.param(  # 6.0 is out of range, and (GX's in-set check) no MovieLens half star either
        FCT,
        [f"UPDATE {FCT} SET rating = 6.0 WHERE user_id = 1 AND movie_id = 1"],
        "fct_ratings",
        ["expect_column_values_to_be_between(rating)", "rating_in_half_stars"],
        1,
        id="rating-6",
    ),
    pytest.param(
        FCT,
        [f"UPDATE {FCT} SET rating = 3.7 WHERE user_id = 1 AND movie_id = 1"],
        "fct_ratings",
        ["rating_in_half_stars"],
        1,
        id="rating-3.7-not-half-star",
    ),
    pytest.param(
        FCT,
        [f"DELETE FROM {FCT} WHERE user_id = 1 AND movie_id = 1"],
        "fct_ratings",
        ["row_count_matches_raw_ratings"],
        1,
        id="row-count-reconciliation",
    ),
    pytest.param(
        f"{DB}.DEV.FCT_GENOME_SCORES",
        [f"INSERT INTO {DB}.DEV.FCT_GENOME_SCORES (movie_id, tag_id, relevance_score) VALUES (1, 1, 0.0), (1, 2, 0.5)"],
        "fct_genome_scores",
        ["relevance_score_test"],
        1,
        id="relevance-0",
    ),
    pytest.param(
        f"{DB}.SNAPSHOTS.SNAP_TAGS",
        [
            f"INSERT INTO {DB}.SNAPSHOTS.SNAP_TAGS SELECT * FROM {DB}.SNAPSHOTS.SNAP_TAGS "
            "WHERE valid_to IS NULL ORDER BY user_id, movie_id, tag LIMIT 1"
        ],
        "snap_tags",
        ["one_current_version_per_key"],
        2,  # GX's compound uniqueness counts the rows that share a key
        id="two-current-snapshot-versions",
    ),
    pytest.param(
        f"{DB}.SNAPSHOTS.SNAP_MOVIES",
        [
            f"INSERT INTO {DB}.SNAPSHOTS.SNAP_MOVIES SELECT * FROM {DB}.SNAPSHOTS.SNAP_MOVIES "
            "WHERE valid_to IS NULL ORDER BY movie_id LIMIT 1"
        ],
        "snap_movies",
        ["one_current_version_per_key"],
        2,
        id="two-current-movie-versions",
    ),
    pytest.param(
        f"{DB}.RAW.RAW_RATINGS",
        [f"UPDATE {DB}.RAW.RAW_RATINGS SET rating = 3.7 WHERE userid = 1 AND movieid IN (1, 3)"],
        "raw_ratings",
        ["rating_in_half_stars"],
        2,
        id="raw-rating-3.7",
    ),
    pytest.param(
        f"{DB}.DEV.MART_MOVIE_RELEASES",
        [f"DELETE FROM {DB}.DEV.MART_MOVIE_RELEASES WHERE user_id = 1 AND movie_id = 1"],
        "mart_movie_releases",
        ["row_count_matches_fct_ratings"],
        None,
        id="mart-row-count-vs-fct-ratings",
    ),
    pytest.param(
        f"{DB}.DEV.MART_MOVIE_STATS",
        [f"DELETE FROM {DB}.DEV.MART_MOVIE_STATS WHERE movie_id = 1"],
        "mart_movie_stats",
        ["one_row_per_dim_movies_row"],
        None,
        id="mart-row-count-vs-dim-movies",
    ),
]


@pytest.mark.parametrize(("relation", "statements", "suite", "failing", "count"), BREAKS)
def test_expectation_fails_on_broken_table(
    ws: Workspace, relation: str, statements: list[str], suite: str, failing: list[str], count: int | None
) -> None:
    with broken(ws, relation, *statements):
        report = ws.validate([suite])
    results = by_label(report)
    assert not report.ok
    for label in failing:
        r = results[(suite, label)]
        assert r.status == "fail", (label, r.status, r.message)
        assert r.sample, label
        if count is not None and label == failing[0]:
            assert r.unexpected_count == count
    others = [k for k, r in results.items() if r.status in ("fail", "error") and k[1] not in failing]
    assert others == []


# each built-in that replaced a hand query fails where that query found rows (counted here with the
# old query itself, in the engine): (relation, break, suite, label, old query's failing count SQL)
REPLACED = [
    pytest.param(
        FCT,
        [f"UPDATE {FCT} SET rating = 3.7 WHERE user_id = 1 AND movie_id IN (1, 3)"],
        "fct_ratings",
        "rating_in_half_stars",
        f"SELECT COUNT(*) FROM {FCT} WHERE rating * 2 <> ROUND(rating * 2)",
        id="half-stars-in-set",
    ),
    pytest.param(
        f"{DB}.RAW.RAW_RATINGS",
        [f"UPDATE {DB}.RAW.RAW_RATINGS SET rating = 4.25 WHERE userid = 1 AND movieid = 1"],
        "raw_ratings",
        "rating_in_half_stars",
        f"SELECT COUNT(*) FROM {DB}.RAW.RAW_RATINGS WHERE rating * 2 <> ROUND(rating * 2)",
        id="raw-half-stars-in-set",
    ),
    pytest.param(
        f"{DB}.DEV.DIM_MOVIES",
        [
            f"UPDATE {DB}.DEV.DIM_MOVIES SET movie_title = movie_title || ' ' WHERE movie_id IN (1, 2)",
            f"UPDATE {DB}.DEV.DIM_MOVIES SET movie_title = ' ' || movie_title WHERE movie_id = 3",
        ],
        "dim_movies",
        "title_has_no_edge_spaces",
        f"SELECT COUNT(*) FROM {DB}.DEV.DIM_MOVIES WHERE movie_title <> TRIM(movie_title)",
        id="edge-spaces-not-match-regex",
    ),
    pytest.param(
        f"{DB}.DEV.FCT_GENOME_SCORES",
        [
            f"INSERT INTO {DB}.DEV.FCT_GENOME_SCORES (movie_id, tag_id, relevance_score) "
            "VALUES (1, 1, 0.0), (1, 2, -0.5)"
        ],
        "fct_genome_scores",
        "relevance_score_test",
        f"SELECT COUNT(*) FROM {DB}.DEV.FCT_GENOME_SCORES WHERE relevance_score <= 0",
        id="relevance-strict-min",
    ),
    pytest.param(
        f"{DB}.SNAPSHOTS.SNAP_TAGS",
        [
            f"INSERT INTO {DB}.SNAPSHOTS.SNAP_TAGS SELECT * FROM {DB}.SNAPSHOTS.SNAP_TAGS "
            "WHERE valid_to IS NULL ORDER BY user_id, movie_id, tag LIMIT 2"
        ],
        "snap_tags",
        "one_current_version_per_key",
        # GX counts the rows that share a current key: the old query's keys times their versions
        f"SELECT SUM(n) FROM (SELECT COUNT(*) AS n FROM {DB}.SNAPSHOTS.SNAP_TAGS WHERE valid_to IS NULL "
        "GROUP BY user_id, movie_id, tag HAVING COUNT(*) > 1)",
        id="current-version-compound-unique",
    ),
    pytest.param(
        f"{DB}.DEV.MART_MOVIE_RELEASES",
        [f"DELETE FROM {DB}.DEV.MART_MOVIE_RELEASES WHERE user_id = 1"],
        "mart_movie_releases",
        "row_count_matches_fct_ratings",
        f"SELECT COUNT(*) FROM (SELECT COUNT(*) AS n FROM {DB}.DEV.MART_MOVIE_RELEASES) m "
        f"JOIN (SELECT COUNT(*) AS n FROM {FCT}) f ON m.n <> f.n",
        id="row-count-equal-other-table",
    ),
]


@pytest.mark.parametrize(("relation", "statements", "suite", "label", "old_count_sql"), REPLACED)
def test_a_builtin_fails_where_the_hand_query_it_replaced_did(
    ws: Workspace, relation: str, statements: list[str], suite: str, label: str, old_count_sql: str
) -> None:
    report = ws.validate([suite])
    assert by_label(report)[(suite, label)].status == "pass"
    with broken(ws, relation, *statements):
        old = int(ws.session.sql(old_count_sql).collect()[0][0])
        report = ws.validate([suite])
    r = by_label(report)[(suite, label)]
    assert old > 0
    assert r.status == ("warn" if r.severity == "warn" else "fail"), (r.status, r.message)
    assert r.gx_type != "unexpected_rows_expectation" and r.gx_type.startswith("expect_")
    if r.unexpected_count is None:  # an aggregate: GX reports both row counts
        observed = r.sample[0]["observed_value"]
        assert observed["self"] != observed["other"] and old == 1
    else:
        assert r.unexpected_count == old
        assert r.sample


def test_failing_sample_shows_the_bad_rows(ws: Workspace) -> None:
    with broken(ws, FCT, f"UPDATE {FCT} SET movie_id = 999999999 WHERE user_id = 1 AND movie_id = 1"):
        report = ws.validate(["fct_ratings"])
    orphan = by_label(report)[("fct_ratings", "movie_id_in_dim_movies")]
    assert orphan.sample == [{"user_id": 1, "movie_id": 999999999}]
    with broken(ws, FCT, f"UPDATE {FCT} SET rating = 6.0 WHERE user_id = 1 AND movie_id = 1"):
        report = ws.validate(["fct_ratings"])
    assert by_label(report)[("fct_ratings", "expect_column_values_to_be_between(rating)")].sample == [6.0]


def test_compound_unique_sql_reports_each_duplicated_key_once(ws: Workspace) -> None:
    """The GROUP BY formulation of expect_compound_columns_to_be_unique: one failing row per key."""
    label = "expect_compound_columns_to_be_unique(user_id, movie_id)"
    dup = f"INSERT INTO {FCT} SELECT * FROM {FCT} WHERE user_id = 1 AND movie_id IN (1, 3)"
    with broken(ws, FCT, dup, dup):  # (1, 1) and (1, 3) four times each
        report = ws.validate(["fct_ratings"])
    r = by_label(report)[("fct_ratings", label)]
    assert (r.status, r.gx_type, r.unexpected_count) == ("fail", "unexpected_rows_expectation", 2)
    assert sorted((s["user_id"], s["movie_id"], s["n_rows"]) for s in r.sample) == [(1, 1, 4), (1, 3, 4)]
    # rows whose key columns are all NULL are ignored, as GX's ignore_row_if="all_values_are_missing"
    nulls = f"INSERT INTO {FCT} (user_id, movie_id, rating) VALUES (NULL, NULL, 3.0), (NULL, NULL, 4.0)"
    with broken(ws, FCT, nulls):
        report = ws.validate(["fct_ratings"])
    results = by_label(report)
    assert results[("fct_ratings", label)].status == "pass"
    assert results[("fct_ratings", "expect_column_values_to_not_be_null(user_id)")].status == "fail"


def test_each_unexpected_rows_query_runs_once(ws: Workspace) -> None:
    """GX's unexpected_rows_expectation ran its query twice (its rows, then their count)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    sent: list[str] = []

    def log(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", log)
    try:
        report = ws.validate(["fct_ratings"])
    finally:
        event.remove(Engine, "before_cursor_execute", log)
    assert report.ok
    for fragment in (
        "GROUP BY user_id, movie_id HAVING COUNT(*) > 1",
        "WHERE b.movie_id IS NOT NULL AND m.movie_id IS NULL",
        "SELECT DISTINCT userid, movieid",
    ):
        assert len([q for q in sent if fragment in q]) == 1, fragment
    # and GX's join of the table to its own GROUP BY is gone
    assert not [q for q in sent if "group_counts_subquery" in q]


# --- CLI exit codes, audit table, Data Docs ------------------------------------------------------


def _invoke(args: list[str]) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from netflix_elt.cli import main

    res = CliRunner().invoke(main, ["validate", "--project-dir", str(PROJECT_DIR), *args])
    target = Path(os.environ["NETFLIX_ELT_TARGET_PATH"])
    inv = json.loads((target / "run_results.json").read_text())["metadata"]["invocation_id"]
    return res.exit_code, res.output, inv


def test_cli_exits_1_on_error_failure_and_audits_failing_rows(ws: Workspace) -> None:
    with broken(ws, FCT, f"UPDATE {FCT} SET rating = 3.7 WHERE user_id = 1 AND movie_id IN (1, 3)"):
        code, out, inv = _invoke(["-s", "fct_ratings"])
    assert code == 1, out
    assert "fail" in out and "1 failing expectations recorded in AUDIT.TEST_FAILURES" in out
    rows = ws.session.sql(
        f"SELECT suite, expectation, severity, status, unexpected_count, failing_sample FROM {DB}.AUDIT.TEST_FAILURES "
        f"WHERE invocation_id = '{inv}' ORDER BY expectation"
    ).collect()
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("fct_ratings", "rating_in_half_stars", "error", "fail", 2)
    ]
    sample = json.loads(rows[0][5])
    assert sorted((s["user_id"], s["movie_id"], s["rating"]) for s in sample) == [(1, 1, 3.7), (1, 3, 3.7)]
    docs = Path(os.environ["NETFLIX_ELT_TARGET_PATH"]) / "data_docs" / "index.html"
    assert docs.is_file() and "Data Docs:" in out
    rows = read_results(Path(os.environ["NETFLIX_ELT_TARGET_PATH"]))  # test ids resolved through manifest.json
    statuses = {(r["suite"], r["expectation"]): r["status"] for r in rows}
    assert statuses["fct_ratings", "rating_in_half_stars"] == "fail"
    assert statuses["fct_ratings", "expect_column_values_to_not_be_null(user_id)"] == "pass"


def test_cli_exits_0_with_only_warn_failures(ws: Workspace) -> None:
    with broken(ws, FCT, f"UPDATE {FCT} SET rating_timestamp = '2031-05-01'::TIMESTAMP_NTZ WHERE user_id = 1"):
        code, out, inv = _invoke(["-s", "fct_ratings"])
    assert code == 0, out
    rows = ws.session.sql(
        f"SELECT expectation, severity, status, unexpected_count FROM {DB}.AUDIT.TEST_FAILURES "
        f"WHERE invocation_id = '{inv}'"
    ).collect()
    n_user1 = int(ws.session.sql(f"SELECT COUNT(*) FROM {FCT} WHERE user_id = 1").collect()[0][0])
    assert [tuple(r) for r in rows] == [("rating_timestamp_in_dataset_range", "warn", "warn", n_user1)]


def _stored_results(target: Path) -> list[dict[str, Any]]:
    """The validation results GX's filesystem store kept, read as plain JSON."""
    return [json.loads(p.read_text()) for p in sorted((target / "gx" / "validations").rglob("*.json"))]


def test_validations_run_through_a_checkpoint_with_native_severities(ws: Workspace) -> None:
    report = ws.validate(["dim_movies"])
    assert report.ok
    ctx = ws.validator()._context
    cp = ctx.checkpoints.get("netflix_elt")
    assert [a.type for a in cp.actions] == ["netflix_elt_update_data_docs", "netflix_elt_audit_failures"]
    mine = [
        r for r in _stored_results(ws.settings.target_dir) if r["meta"]["run_id"]["run_name"] == report.invocation_id
    ]
    [result] = mine
    assert result["suite_name"] == "dim_movies" and result["meta"]["checkpoint_id"] == cp.id
    severities = {
        e["expectation_config"]["meta"]["netflix_elt_label"]: e["expectation_config"]["severity"]
        for e in result["results"]
    }
    written = yaml.safe_load((PROJECT_DIR / "expectations" / "core" / "dim_movies.yml").read_text())["expectations"]
    assert len(severities) == len(written) == 5
    assert severities["title_has_no_edge_spaces"] == "warning"
    assert severities["expect_column_values_to_not_be_null(movie_id)"] == "critical"
    assert sorted(severities.values()) == sorted({"error": "critical", "warn": "warning"}[e.get("severity", "error")]
                                                 for e in written)  # fmt: skip


def test_data_docs_keep_earlier_commands_and_load_nothing_from_the_network(ws: Workspace) -> None:
    import re

    target = Path(os.environ["NETFLIX_ELT_TARGET_PATH"])
    code1, out1, inv1 = _invoke(["-s", "dim_movies"])
    code2, out2, inv2 = _invoke(["-s", "dim_users"])
    assert (code1, code2) == (0, 0), out1 + out2
    assert inv1 != inv2
    docs = target / "data_docs"
    pages = {p.relative_to(docs).as_posix() for p in docs.rglob("*.html")}
    assert [p for p in pages if p.startswith(f"validations/dim_movies/{inv1}/")]
    assert [p for p in pages if p.startswith(f"validations/dim_users/{inv2}/")]
    index = (docs / "index.html").read_text()
    assert inv1 in index and inv2 in index  # the index lists both commands' validations
    for page in [docs / "index.html", *(docs / p for p in pages if inv1 in p or inv2 in p)]:
        html = page.read_text()
        # (GX's favicon.j2 puts validation pages one folder too shallow: a broken icon, online too)
        for ref in re.findall(
            r"""<(?:script|link(?! rel="shortcut icon")|img)[^>]+(?:src|href)=["']([^"']+)["']""", html
        ):
            assert not ref.startswith(("http:", "https:", "//")), (page.name, ref)
            local = (page.parent / ref.split("?")[0]).resolve()
            assert local.is_file(), (page.name, ref)


def test_one_command_builds_the_data_docs_site_once_with_a_page_for_each_validation(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX's UpdateDataDocsAction built the whole site (and redrew the index from every stored
    validation) once per validation; the command's checkpoint builds it once."""
    from great_expectations.render.renderer.site_builder import SiteBuilder

    builds: list[object] = []
    original = SiteBuilder.build

    def counted(self: SiteBuilder, *args: Any, **kwargs: Any) -> Any:
        builds.append(kwargs.get("resource_identifiers"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SiteBuilder, "build", counted)
    names = ["dim_movies", "dim_users", "mart_tag_stats"]
    report = ws.validate(names)
    assert report.ok
    assert len(builds) == 1
    target = Path(os.environ["NETFLIX_ELT_TARGET_PATH"])
    mine = [r for r in _stored_results(target) if r["meta"]["run_id"]["run_name"] == report.invocation_id]
    assert sorted(r["suite_name"] for r in mine) == names
    docs = target / "data_docs"
    index = (docs / "index.html").read_text()
    for name in names:
        [page] = (docs / "validations" / name / report.invocation_id).rglob("*.html")
        assert page.relative_to(docs).as_posix() in index  # listed in the index
        assert (docs / "expectations" / f"{name}.html").is_file()  # and the suite's page beside it


def test_a_build_renders_its_validation_pages_with_their_suite_pages_once_at_the_end(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NETFLIX_ELT_HOME", str(warehouse / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    docs = tmp_path / "target" / "data_docs"
    with Workspace.from_options(PROJECT_DIR) as w:
        validator = w.validator()
        for name in ("dim_movies", "dim_users"):  # as build's test nodes run them: no pages yet
            assert {r.status for r in validator.run_suite(validator.suites[name])} == {"pass"}
        assert not (docs / "index.html").exists()
        assert validator.build_docs() == docs / "index.html"
    index = (docs / "index.html").read_text()
    for name in ("dim_movies", "dim_users"):
        [page] = (docs / "validations" / name).rglob("*.html")
        assert page.relative_to(docs).as_posix() in index
        assert (docs / "expectations" / f"{name}.html").is_file()  # the page each validation page links to


# --- build skips downstream of an error failure --------------------------------------------------


def test_a_failing_suite_node_fails_and_the_runner_skips_downstream(ws: Workspace) -> None:
    from netflix_elt.build_state import BuildState
    from netflix_elt.builders import Builders
    from netflix_elt.graph import Step, plan
    from netflix_elt.invocation import Invocation
    from netflix_elt.runner import Runner

    def pretend_built(gnode: Any) -> NodeResult:
        return NodeResult(gnode.name, gnode.unique_id, gnode.kind, "success", message="pretend")

    state = BuildState(ws.session, ws.settings, ws.project)
    builders = Builders(ws.settings, ws.project, ws.adapter, Invocation("build", "dev"), state, ws.validator())
    graph = plan(ws.project, "movielens", ["fct_ratings", "mart_movie_releases"], tested=["fct_ratings"])
    runner = Runner(graph, {Step.TRANSFORM: pretend_built, Step.TEST: builders.test})
    with broken(ws, FCT, f"UPDATE {FCT} SET rating = 6.0 WHERE user_id = 1 AND movie_id = 1"):
        results = {(r.kind, r.name): r for r in runner.run()}
    assert results[("transform", "fct_ratings")].status == "success"
    assert results[("test", "fct_ratings")].status == "fail"
    assert "expect_column_values_to_be_between(rating)" in results[("test", "fct_ratings")].message
    assert results[("transform", "mart_movie_releases")].status == "skipped"
    assert (
        "failed test expect_column_values_to_be_between(rating)"
        in results[("transform", "mart_movie_releases")].message
    )


# --- suite errors, not built -------------------------------------------------------------------


def test_unknown_type_and_bad_kwargs_name_the_file_and_expectation(tmp_path: Path) -> None:
    bad = tmp_path / "dim_users.yml"
    bad.write_text(
        "expectations:\n  - type: expect_column_values_to_not_be_null\n    kwargs: {column: user_id}\n"
        "  - type: expect_column_values_to_be_nul\n    kwargs: {column: user_id}\n"
    )
    with pytest.raises(
        SuiteError,
        match=r"dim_users\.yml, expectation #2 .*unknown expectation type "
        r"'expect_column_values_to_be_nul'; did you mean 'expect_column_values_to_be_null'",
    ):
        read_suite(bad)
    bad.write_text("expectations:\n  - type: expect_column_values_to_be_between\n    kwargs: {colum: x}\n")
    with pytest.raises(SuiteError, match=r"dim_users\.yml, expectation #1 .*invalid kwargs"):
        read_suite(bad)
    bad.write_text(
        "expectations:\n  - type: unexpected_rows_expectation\n    kwargs:\n"
        "      unexpected_rows_query: SELECT * FROM {batch} b JOIN {ref:no_such} n ON 1=1\n"
    )
    with pytest.raises(SuiteError, match=r"\{ref:no_such\} names no node"):
        read_suite(bad, ["dim_users"])
    bad.write_text(
        "expectations:\n  - type: expect_column_values_to_be_unique\n    kwargs: {column: user_id}\n"
        "    severity: fatal\n"
    )
    with pytest.raises(SuiteError, match=r"expectation #1 .*severity"):
        read_suite(bad)


def test_column_not_in_table_and_missing_table(ws: Workspace, tmp_path: Path) -> None:
    v = ws.validator()
    spec = ExpectationSpec(type="expect_column_values_to_not_be_null", kwargs={"column": "user_idd"})
    suite = Suite(name="dim_users", file=tmp_path / "dim_users.yml", folder="core", expectations=(spec,))
    with pytest.raises(SuiteError, match=r"dim_users\.yml, expectation #1 .*column 'user_idd' is not in the table"):
        v.run_suite(suite)
    ghost = Suite(name="snap_ghost", file=tmp_path / "snap_ghost.yml", folder="snapshots", expectations=(spec,))
    [row] = v.run_suite(ghost)
    assert row.status == NOT_BUILT and "SNAP_GHOST does not exist" in row.message and not row.blocks


def test_other_table_refs_are_checked_and_must_share_the_schema(ws: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "mart_movie_stats.yml"
    bad.write_text(
        "expectations:\n  - type: expect_table_row_count_to_equal_other_table\n"
        "    kwargs: {other_table_name: '{ref:dim_moviez}'}\n"
    )
    with pytest.raises(SuiteError, match=r"mart_movie_stats\.yml, expectation #1 .*\{ref:dim_moviez\} names no node"):
        read_suite(bad, ["dim_movies"])
    spec = ExpectationSpec(
        type="expect_table_row_count_to_equal_other_table", kwargs={"other_table_name": "{ref:raw_ratings}"}
    )
    suite = Suite(name="fct_ratings", file=tmp_path / "fct_ratings.yml", folder="core", expectations=(spec,))
    with pytest.raises(
        SuiteError, match=r"fct_ratings\.yml, expectation #1 .*is MOVIELENS\.RAW\.RAW_RATINGS, not in MOVIELENS\.DEV"
    ):
        ws.validator().run_suite(suite)
