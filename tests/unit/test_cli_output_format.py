"""The pieces of the CLI's dbt-style output: line padding, status words, level filtering, JSON keys."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from netflix_elt.cli import events
from netflix_elt.cli.results import LINE_WIDTH, Progress, fancy_line, word


def test_a_line_is_padded_with_dots_to_80_columns() -> None:
    line = fancy_line("3 of 58 ", "PASS", "not_null(user_id) on fct_ratings", "PASS", 0.123).plain
    head, tail = "3 of 58 PASS not_null(user_id) on fct_ratings ", " [PASS in 0.12s]"
    assert line == head + "." * (80 - len(head) - len(tail)) + tail
    assert len(line) == LINE_WIDTH


def test_a_long_name_makes_a_longer_line_never_a_cut_one() -> None:
    name = "expect_compound_columns_to_be_unique(user_id, movie_id, rating_timestamp) on fct_ratings_history"
    line = fancy_line("12 of 58 ", "FAIL", name, "FAIL 3", None).plain
    assert line == f"12 of 58 FAIL {name} ... [FAIL 3]"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", "OK"),
        ("pass", "PASS"),
        ("fail", "FAIL"),
        ("warn", "WARN"),
        ("error", "ERROR"),
        ("skipped", "SKIP"),
        ("not built", "SKIP"),
    ],  # fmt: skip
)
def test_status_words_are_dbts(status: str, expected: str) -> None:
    assert word(status) == expected


@pytest.mark.parametrize(
    ("level", "quiet", "shown"),
    [
        ("info", False, {"debug": False, "info": True, "warn": True, "error": True}),
        ("debug", False, {"debug": True, "info": True, "warn": True, "error": True}),
        ("error", False, {"debug": False, "info": False, "warn": False, "error": True}),
        ("info", True, {"debug": False, "info": False, "warn": True, "error": True}),
    ],
)
def test_log_level_and_quiet_filter_events(level: str, quiet: bool, shown: dict[str, bool]) -> None:
    settings = events.LogSettings(level=level, quiet=quiet)
    assert {lv: settings.shows(lv, "node_result") for lv in events.LEVELS} == shown
    assert settings.shows("info", "summary") is (level in ("debug", "info"))  # quiet keeps the summary


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown level 'loud'"):
        events.emit("x", level="loud")


class _Res:
    def __init__(self, name: str, status: str, **kw: object) -> None:
        self.name, self.status, self.kind, self.unique_id = name, status, kw.get("kind", "transform"), f"model.p.{name}"
        self.rows, self.message, self.execution_time = kw.get("rows"), kw.get("message", ""), 0.5
        self.relation, self.failures, self.extra = None, kw.get("failures"), kw.get("extra", {})
        self.compiled_path: str | None = None


def test_json_events_have_the_stable_keys_and_secrets_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    from netflix_elt import connections

    connections.register_secret("hunter2-very-secret")
    events.LOG.fmt = "json"
    try:
        progress = Progress()
        progress.node(1, 2, _Res("stg_a", "success", rows=3, message="view"))
        progress.node(2, 2, _Res("stg_b", "error", message="boom: password hunter2-very-secret rejected"))
        progress.summary(1.0, ok=False)
    finally:
        events.reset()
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["event"] for r in records] == ["node_result", "node_result", "finished", "failure", "summary"]
    assert all(tuple(r) == events.KEYS for r in records)
    assert records[0]["data"]["rows"] == 3 and records[1]["level"] == "error"
    assert "hunter2-very-secret" not in json.dumps(records)
    assert records[-1]["data"] == {"pass": 1, "warn": 0, "error": 1, "skip": 0, "total": 2}


def test_every_command_with_common_options_takes_the_log_options() -> None:
    from netflix_elt.cli import main

    for name in ("build", "run", "snapshot", "validate", "retry", "seed", "load", "ls", "tables", "show"):
        help_text = CliRunner().invoke(main, [name, "--help"]).output
        for opt in ("--quiet", "--log-level", "--log-format"):
            assert opt in help_text, (name, opt)


def test_debug_level_adds_where_each_node_is(capsys: pytest.CaptureFixture[str]) -> None:
    res = _Res("stg_a", "success", rows=3, message="view")
    res.relation, res.compiled_path = "DB.DEV.STG_A", "target/compiled/staging/stg_a.sql"
    for level, expected in (("info", False), ("debug", True)):
        events.LOG.level = level
        try:
            Progress().node(1, 1, res)
        finally:
            events.reset()
        out = capsys.readouterr().out
        assert out.startswith("1 of 1 OK transform stg_a view ")
        assert ("stg_a: DB.DEV.STG_A <- target/compiled/staging/stg_a.sql: view" in out) is expected, out
