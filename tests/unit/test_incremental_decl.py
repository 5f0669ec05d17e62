"""`incremental:` in a suite file: what each declaration proves is checked when the suite is read,
and a declaration that cannot prove its expectation is an error naming the file and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from netflix_elt.quality.incremental import CHANGED_KEYS, CHANGED_ROWS, DELTA, WHOLE, Passed, Scope, mode_of
from netflix_elt.quality.suites import ExpectationSpec, SuiteError, read_suite

NODES = ["fct", "raw_ratings", "dim"]


def _suite(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fct.yml"
    path.write_text("expectations:\n" + body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "  - type: expect_column_values_to_not_be_null\n    kwargs: {column: a}\n    incremental: sometimes\n",
            "incremental 'sometimes' is not one of",
        ),
        (
            "  - type: expect_table_row_count_to_equal\n    kwargs: {value: 3}\n    incremental: changed_rows\n",
            "changed_rows is for row-local checks, not expect_table_row_count_to_equal",
        ),
        (
            "  - type: expect_column_values_to_be_between\n    kwargs: {column: a, min_value: 0}\n"
            "    incremental: {changed_keys: [a]}\n",
            "changed_keys is a list of key columns of a uniqueness check",
        ),
        (
            "  - type: unexpected_rows_expectation\n    kwargs: {unexpected_rows_query: 'SELECT * FROM {batch}'}\n"
            "    incremental: {unexpected_rows_query: 'SELECT 1'}\n",
            "and reads {batch}",
        ),
        (
            "  - type: unexpected_rows_expectation\n    kwargs: {unexpected_rows_query: 'SELECT * FROM {batch}'}\n"
            "    incremental: {unexpected_rows_query: 'SELECT * FROM {batch} JOIN {ref:dim} d ON TRUE'}\n",
            "the incremental query reads {ref:dim}, which the full one does not",
        ),
        (
            "  - type: unexpected_rows_expectation\n    kwargs: {unexpected_rows_query: 'SELECT * FROM {batch}'}\n"
            "    incremental: {unexpected_rows_query: 'SELECT {passed:loads:nope} FROM {batch}'}\n",
            "{passed:loads:nope} names no node of the project",
        ),
        (
            "  - type: unexpected_rows_expectation\n    kwargs: {unexpected_rows_query: 'SELECT * FROM {batch}'}\n"
            "    incremental: [changed_rows]\n",
            "incremental",
        ),
    ],
)
def test_a_declaration_that_proves_nothing_is_an_error_naming_the_file(tmp_path, body, message):
    path = _suite(tmp_path, body)
    with pytest.raises(SuiteError) as e:
        read_suite(path, NODES, gx_check=False)
    assert str(path) in str(e.value) and "expectation #1" in str(e.value)
    assert message in str(e.value)


def test_row_local_built_ins_are_inferred_and_mostly_is_not_row_local():
    assert (
        mode_of(ExpectationSpec(type="expect_column_values_to_not_be_null", kwargs={"column": "a"}))[0] == CHANGED_ROWS
    )
    ratio = ExpectationSpec(type="expect_column_values_to_not_be_null", kwargs={"column": "a", "mostly": 0.9})
    assert mode_of(ratio)[0] == WHOLE  # a share of the rows: the unchanged ones count too
    assert mode_of(ExpectationSpec(type="expect_column_values_to_be_unique", kwargs={"column": "a"}))[0] == WHOLE
    query = ExpectationSpec(type="unexpected_rows_expectation", kwargs={"unexpected_rows_query": "SELECT 1 {batch}"})
    assert mode_of(query)[0] == WHOLE  # SQL says nothing of itself: undeclared, the whole table
    keyed = query.model_copy(update={"incremental": {"changed_keys": ["A", "b"]}})
    assert mode_of(keyed) == (CHANGED_KEYS, ["a", "b"])


def test_the_delta_query_takes_the_previous_passing_state():
    spec = ExpectationSpec(
        type="unexpected_rows_expectation",
        kwargs={"unexpected_rows_query": "SELECT * FROM {batch} JOIN {ref:raw_ratings} r ON TRUE"},
        incremental={"unexpected_rows_query": "SELECT {passed:rows} + {passed:loads:raw_ratings} FROM {batch}"},
    )
    from netflix_elt.quality.incremental import spec_hash

    prev = Passed(7, "fp", {spec.label: spec_hash(spec)}, rows=100_836, loads={"raw_ratings": 3})
    scope = Scope("DB.S.T", "_load_id", prev, frozenset({"raw_ratings"}))
    assert scope.plan(spec) == (DELTA, "SELECT 100836 + 3 FROM {batch}")
    # without the count it rests on, the whole table
    no_rows = Scope("DB.S.T", "_load_id", Passed(7, "fp", prev.labels, rows=None, loads={"raw_ratings": 3}))
    assert no_rows.plan(spec) == (WHOLE, "no previous row count")
    # an expectation that did not pass then runs whole
    assert Scope("DB.S.T", "_load_id", Passed(7, "fp", {})).plan(spec)[0] == WHOLE


def test_a_relationship_to_a_changed_table_runs_whole_and_the_batches_parse_as_snowflake():
    import sqlglot

    spec = ExpectationSpec(
        type="unexpected_rows_expectation",
        kwargs={"unexpected_rows_query": "SELECT b.a FROM {batch} b LEFT JOIN {ref:dim} d ON d.a = b.a"},
        incremental="changed_rows",
    )
    from netflix_elt.quality.incremental import spec_hash

    prev = Passed(41, "fp", {spec.label: spec_hash(spec)})
    assert Scope("DB.S.T", "_load_id", prev, frozenset({"dim"})).plan(spec)[0] == WHOLE
    scope = Scope("DB.S.T", "_load_id", prev, frozenset())
    assert scope.plan(spec) == (CHANGED_ROWS, None)
    assert scope.changed_rows_sql() == 'SELECT * FROM DB.S.T WHERE "_LOAD_ID" > 41'
    for sql in (scope.changed_rows_sql(), scope.changed_keys_sql(["user_id", "movie_id"])):
        sqlglot.parse_one(sql, read="snowflake")
    assert 'c."USER_ID" IS NOT DISTINCT FROM t."USER_ID"' in scope.changed_keys_sql(["user_id", "movie_id"])
