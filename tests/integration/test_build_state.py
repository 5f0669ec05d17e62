"""The AUDIT state tables: one row per node and target schema, replaced in place."""

from __future__ import annotations

from netflix_elt.api import Workspace
from netflix_elt.build_state import StateTable
from tests.conftest import PROJECT_DIR


def _put(ws: Workspace, table: StateTable, node: str, value: str | None) -> list[str]:
    """The statements one put sent (their first word)."""
    with ws.session.query_history() as history:
        table.put(node, value)
    return [q.sql_text.lstrip().split(None, 1)[0].upper() for q in history.queries]


def _rows(ws: Workspace, table: StateTable, node: str) -> list[tuple]:
    sql = f"SELECT TARGET_SCHEMA, V FROM {table.table} WHERE NODE = '{node}' ORDER BY V"
    return [tuple(r) for r in ws.session.sql(sql).collect()]


def test_a_put_updates_the_nodes_row_in_place_and_inserts_only_a_new_one(isolated_home):
    with Workspace.from_options(PROJECT_DIR) as ws:
        state = StateTable(ws.session, ws.settings, "TEST_PUT_STATE", "V")
        assert state.get("a") is None  # creates the table (outside the statements counted below)
        assert _put(ws, state, "a", "1") == ["UPDATE", "INSERT"]  # no row yet: the UPDATE matched none
        assert _put(ws, state, "a", "2") == ["UPDATE"]
        assert _rows(ws, state, "a") == [("DEV", "2")]
        assert _put(ws, state, "b", "x") == ["UPDATE", "INSERT"]
        assert _put(ws, state, "a", None) == ["DELETE"]
        assert state.get("a") is None and state.get("b") == "x"
        assert _put(ws, state, "a", "3") == ["INSERT"]  # this object deleted the row: nothing to update
        later = StateTable(ws.session, ws.settings, "TEST_PUT_STATE", "V")  # the next command's
        assert _put(ws, later, "a", "it's 4") == ["UPDATE"]
        assert _rows(ws, state, "a") == [("DEV", "it's 4")] and later.all() == {"a": "it's 4", "b": "x"}
