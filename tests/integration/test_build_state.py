"""The AUDIT state tables: one row per node and target schema, replaced in place."""

from __future__ import annotations

from netflix_elt.api import Workspace
from netflix_elt.build_state import StateTable, forget_ensured
from tests.conftest import PROJECT_DIR


def _put(ws: Workspace, table: StateTable, node: str, value: str | None) -> list[str]:
    """The statements one put sent (their first word)."""
    with ws.session.query_history() as history:
        table.put(node, value)
    return [q.sql_text.lstrip().split(None, 1)[0].upper() for q in history.queries]


def _rows(ws: Workspace, table: StateTable, node: str) -> list[tuple]:
    sql = f"SELECT TARGET_SCHEMA, V FROM {table.table} WHERE NODE = '{node}' ORDER BY V"
    return [tuple(r) for r in ws.session.sql(sql).collect()]


def _sent(ws: Workspace, action) -> list[str]:
    """The statements `action()` sent (their first word)."""
    with ws.session.query_history() as history:
        action()
    return [q.sql_text.lstrip().split(None, 1)[0].upper() for q in history.queries]


def test_a_put_updates_the_nodes_row_in_place_and_inserts_only_a_new_one(isolated_home):
    with Workspace.from_options(PROJECT_DIR) as ws:
        state = StateTable(ws.session, ws.settings, "TEST_PUT_STATE", "V")
        assert state.get("a") is None  # creates the table and reads its values (not counted below)
        assert _put(ws, state, "a", "1") == ["INSERT"]  # read: no row, nothing to update
        assert _put(ws, state, "a", "2") == ["UPDATE"]
        assert _rows(ws, state, "a") == [("DEV", "2")]
        assert _put(ws, state, "b", "x") == ["INSERT"]
        assert _put(ws, state, "a", None) == ["DELETE"]
        assert _sent(ws, lambda: (state.get("a"), state.get("b"))) == []  # this command's values
        assert state.get("a") is None and state.get("b") == "x"
        assert _put(ws, state, "a", "3") == ["INSERT"]  # this command deleted the row: nothing to update
        forget_ensured(ws.session)  # the next command, which has read nothing yet
        later = StateTable(ws.session, ws.settings, "TEST_PUT_STATE", "V")
        later._ensure()
        assert _put(ws, later, "a", "it's 4") == ["UPDATE"]
        assert _put(ws, later, "c", "new") == ["UPDATE", "INSERT"]  # the UPDATE matched none
        assert _rows(ws, state, "a") == [("DEV", "it's 4")]
        assert later.all() == {"a": "it's 4", "b": "x", "c": "new"}
        assert _rows(ws, state, "c") == [("DEV", "new")]


def test_values_are_read_once_per_command_and_again_by_the_next(isolated_home):
    with Workspace.from_options(PROJECT_DIR) as ws:
        state = StateTable(ws.session, ws.settings, "TEST_READ_STATE", "V")
        state.put("a", "1")
        state.put("b", "2")
        forget_ensured(ws.session)
        state = StateTable(ws.session, ws.settings, "TEST_READ_STATE", "V")
        state._ensure()
        sent = _sent(ws, lambda: [state.get("a"), state.get("b"), state.get("z"), state.all()])
        assert sent == ["SELECT"]
        assert (state.get("a"), state.get("b"), state.get("z")) == ("1", "2", None)
        other = StateTable(ws.session, ws.settings, "TEST_READ_STATE", "V")  # another store, same command
        assert _sent(ws, lambda: other.get("a")) == []
        other.put("a", "3")
        assert state.get("a") == "3"  # what this command wrote, seen by every store of it
        ws.session.sql(f"UPDATE {state.table} SET V = 'by hand' WHERE NODE = 'b'").collect()
        forget_ensured(ws.session)  # the next command reads afresh
        again = StateTable(ws.session, ws.settings, "TEST_READ_STATE", "V")
        assert again.get("b") == "by hand" and again.all() == {"a": "3", "b": "by hand"}
        again.forget_all()
        assert again.all() == {} and _rows(ws, again, "a") == []
        forget_ensured(ws.session)
        assert StateTable(ws.session, ws.settings, "TEST_READ_STATE", "V").all() == {}
