"""Rows whose snapshot unique key is NULL or empty are skipped (counted), the rest is applied.

The history is compared with the plain-Python SCD2 model of test_snapshot.py run over the rows
with a usable key, plus the rule for deletes: a current key that a skipped row could be (it
agrees with the row on every key part the row has) is not closed as deleted in that run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlglot

from netflix_elt.api import Workspace
from netflix_elt.config import Settings, load_settings
from netflix_elt.registry import Project, SnapshotConfig
from netflix_elt.snapshots import SnapshotPlan, nulls_sql, precheck_sql, snapshot_merge_sql
from tests.integration.test_snapshot import REPO, SCHEMA, T0, Snap, micros, model_rows, model_run

# Snap's key is (K INTEGER, N VARCHAR)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Any]]:
    """One embedded engine for the module (as in test_snapshot.py)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(tmp_path_factory.mktemp("snapkeyhome")))
        settings = load_settings(REPO)
        with Workspace(settings, Project([])) as ws:
            ws.session.sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}").collect()
            yield settings, ws.session


def day(n: int) -> Any:
    return T0 + timedelta(days=n)


def unusable(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def expected_source(
    rows: list[tuple[Any, ...]], history: list[dict[str, Any]], cfg: SnapshotConfig
) -> dict[tuple, dict[str, Any]]:
    """What the model snapshots: rows with a usable key; and, when deletes are tracked, each live
    current key that a skipped row could be, as if still in the source unchanged."""
    good: dict[tuple, dict[str, Any]] = {}
    bad = []
    for k, n, v, ua in rows:
        if unusable(k) or unusable(n):
            bad.append((k, n))
        else:
            good[(k, n)] = {"K": k, "N": n, "V": v, "UA": micros(ua)}
    if cfg.hard_deletes != "ignore":
        for cur in history:
            if cur["valid_to"] is not None or cur["deleted"] or cur["key"] in good:
                continue
            if any(all(unusable(b) or b == c for b, c in zip(row, cur["key"], strict=True)) for row in bad):
                good[cur["key"]] = dict(cur["data"])
    return good


STEPS: list[tuple[list[tuple[Any, ...]], int]] = [
    # (rows, number with an unusable key)
    (
        [
            (1, "a", "x", day(1)),
            (2, "a", "y", day(1)),
            (2, "b", "z", day(1)),
            (3, "c", "w", day(1)),
            (None, "a", "q", day(1)),  # NULL key part
            (None, "a", "q2", day(1)),  # twice: no duplicate key, it is no key
            (4, "", "q", day(1)),  # empty text key part
        ],
        3,
    ),
    (
        [
            (1, "a", "x2", day(2)),  # changed
            # (2, "a") is absent, but (2, NULL) could be it: not deleted
            (2, "b", "z", day(1)),
            # (3, "c") is absent and no skipped row could be it: deleted (invalidate, new_record)
            (2, None, "v", day(2)),
            (5, "   ", "v", day(2)),  # blank text key part
            (6, "f", "n", day(2)),  # new
            (6, "", "dup-looking", day(2)),  # not a duplicate of (6, 'f'): skipped
        ],
        3,
    ),
    (
        # every key part unusable: it could be any key, so nothing is deleted this run
        [(2, "b", "z2", day(3)), (None, None, "v", day(3))],
        1,
    ),
    # no skipped rows: what is absent now is deleted
    ([(2, "b", "z2", day(3)), (6, "f", "n", day(2))], 0),
]

CASES = [
    SnapshotConfig(strategy="check", check_cols=("V",), hard_deletes="invalidate"),
    SnapshotConfig(strategy="timestamp", updated_at="UA", hard_deletes="new_record"),
    SnapshotConfig(strategy="check", check_cols="all", hard_deletes="ignore"),
]


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: f"{c.strategy}-{c.hard_deletes}")
def test_unusable_keys_are_skipped_and_the_rest_applied(engine: tuple[Settings, Any], cfg: SnapshotConfig) -> None:
    snap = Snap(*engine, cfg=cfg)
    check_cols = ("V", "UA") if cfg.check_cols == "all" else ("V",)
    history: list[dict[str, Any]] = []
    suffix = " (current keys they could be are not closed as deleted)" if cfg.hard_deletes != "ignore" else ""
    for step, (rows, n_bad) in enumerate(STEPS):
        at = T0 + timedelta(days=30, hours=step)
        snap.write(rows)
        message = snap.run(at)
        before = len(history)
        closed_before = sum(v["valid_to"] is not None for v in history)
        model_run(history, expected_source(rows, history, cfg), micros(at), cfg, check_cols)
        assert snap.history() == model_rows(history, cfg, ["K", "N", "V", "UA"]), f"after step {step}"
        if step == 0:
            counts = f"created: {len(history)} versions"
        else:
            closed = sum(v["valid_to"] is not None for v in history) - closed_before
            counts = f"{len(history) - before} new versions, {closed} closed"
        skipped = f"; {n_bad} rows with a NULL or empty unique key (k, n) skipped{suffix}" if n_bad else ""
        if n_bad == 1:
            skipped = skipped.replace("1 rows", "1 row")
        assert message == counts + skipped, f"step {step}"
    keys = {(r[0], r[1]) for r in snap.history()}
    assert keys == {(1, "a"), (2, "a"), (2, "b"), (3, "c"), (6, "f")}  # never a NULL or empty key
    current = {(r[0], r[1]) for r in snap.history() if r[8] and not (cfg.hard_deletes == "new_record" and r[9])}
    if cfg.hard_deletes == "ignore":
        assert current == {(1, "a"), (2, "a"), (2, "b"), (3, "c"), (6, "f")}
    else:
        # (2, 'a') survived steps 1 and 2 (a skipped row could be it) and was deleted in step 3
        assert current == {(2, "b"), (6, "f")}
        closed_at = {
            (r[0], r[1]): r[7] for r in snap.history() if r[7] is not None and (r[0], r[1]) in {(2, "a"), (3, "c")}
        }
        run_at = [micros(T0 + timedelta(days=30, hours=h)) for h in range(len(STEPS))]
        assert closed_at == {(3, "c"): run_at[1], (2, "a"): run_at[3]}
    for stmt in snap.statements:
        sqlglot.transpile(stmt, read="snowflake", write="snowflake", unsupported_level=sqlglot.ErrorLevel.RAISE)
    assert any("guarded AS" in s for s in snap.statements) == (cfg.hard_deletes != "ignore")


def test_the_key_checks_are_snowflake_sql() -> None:
    """The filter and the delete guard parse as Snowflake SQL, for text and non-text key parts."""
    from datetime import UTC, datetime

    from netflix_elt.config import SnapshotMetaColumns

    for hard_deletes in ("invalidate", "new_record"):
        plan = SnapshotPlan(
            name="snap_tags",
            relation="MOVIELENS.SNAPSHOTS.SNAP_TAGS",
            source_sql='SELECT "USER_ID", "MOVIE_ID", "TAG" FROM MOVIELENS.DEV.SRC_TAGS',
            source_columns=("USER_ID", "MOVIE_ID", "TAG"),
            unique_key=("USER_ID", "MOVIE_ID", "TAG"),
            config=SnapshotConfig(strategy="check", check_cols="all", hard_deletes=hard_deletes),  # type: ignore[arg-type]
            meta=SnapshotMetaColumns(),
            run_started_at=datetime(2024, 5, 1, tzinfo=UTC),
            text_keys=("TAG",),
            guard_deletes=True,
        )
        merge = snapshot_merge_sql(plan, plan.data_columns)
        for sql in (precheck_sql(plan), nulls_sql(plan), merge):
            out = sqlglot.transpile(
                sql, read="snowflake", write="snowflake", unsupported_level=sqlglot.ErrorLevel.RAISE
            )
            sqlglot.parse_one(out[0], read="snowflake")
        assert '(keyed."TAG" IS NULL OR TRIM(keyed."TAG") = \'\')' in merge
        assert 'TRIM(keyed."USER_ID")' not in merge  # no text test on a number column
