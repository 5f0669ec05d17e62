"""The SQL a snapshot emits, without an engine: valid Snowflake SQL, emulator-safe shape, messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from netflix_elt.config import SnapshotMetaColumns, load_settings
from netflix_elt.errors import ConfigError, SnapshotError
from netflix_elt.registry import SnapshotConfig
from netflix_elt.snapshots import (
    SnapshotPlan,
    create_sql,
    duplicate_message,
    nulls_sql,
    precheck_sql,
    snapshot_merge_sql,
    ts_literal,
    version_changes,
)

REPO = Path(__file__).resolve().parents[2]
DBT_META = SnapshotMetaColumns(
    valid_from="dbt_valid_from",
    valid_to="dbt_valid_to",
    snapshot_row_id="dbt_scd_id",
    updated_at="dbt_updated_at",
    is_deleted="dbt_is_deleted",
)
CONFIGS = [
    SnapshotConfig(
        strategy=s,  # type: ignore[arg-type]
        updated_at="TAG_TIMESTAMP" if s == "timestamp" else None,
        check_cols=c,  # type: ignore[arg-type]
        hard_deletes=h,  # type: ignore[arg-type]
    )
    for s, c in (("timestamp", ()), ("check", ("TAG",)), ("check", "all"))
    for h in ("ignore", "invalidate", "new_record")
]


def plan(cfg: SnapshotConfig, meta: SnapshotMetaColumns | None = None) -> SnapshotPlan:
    return SnapshotPlan(
        name="snap_tags",
        relation="MOVIELENS.SNAPSHOTS.SNAP_TAGS",
        source_sql='SELECT "USER_ID", "MOVIE_ID", "TAG", "TAG_TIMESTAMP" FROM MOVIELENS.DEV.SRC_TAGS',
        source_columns=("USER_ID", "MOVIE_ID", "TAG", "TAG_TIMESTAMP"),
        unique_key=("USER_ID", "MOVIE_ID"),
        config=cfg,
        meta=meta or SnapshotMetaColumns(),
        run_started_at=datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
    )


def statements(p: SnapshotPlan) -> list[str]:
    return [precheck_sql(p), nulls_sql(p), create_sql(p), snapshot_merge_sql(p, [*p.data_columns, "DROPPED_COL"])]


@pytest.mark.parametrize("meta", [None, DBT_META], ids=["default", "dbt"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.strategy}-{c.check_cols or ''}-{c.hard_deletes}")
def test_statements_are_snowflake_sql_that_round_trips(cfg: SnapshotConfig, meta: SnapshotMetaColumns | None) -> None:
    for sql in statements(plan(cfg, meta)):
        tree = sqlglot.parse_one(sql, read="snowflake")
        assert tree is not None
        out = sqlglot.transpile(sql, read="snowflake", write="snowflake", unsupported_level=sqlglot.ErrorLevel.RAISE)
        sqlglot.parse_one(out[0], read="snowflake")


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.strategy}-{c.check_cols or ''}-{c.hard_deletes}")
def test_merge_has_the_shape_the_emulator_runs(cfg: SnapshotConfig) -> None:
    """Aliased source and target; INSERT and UPDATE take plain source columns (fakesnow copies only those)."""
    p = plan(cfg, DBT_META)
    tree = sqlglot.parse_one(snapshot_merge_sql(p, p.data_columns), read="snowflake")
    assert isinstance(tree, exp.Merge)
    assert tree.this.alias == "t" and tree.args["using"].alias == "s"
    whens = tree.args["whens"].expressions
    assert [bool(w.args.get("matched")) for w in whens] == [True, False]
    insert = whens[1].args["then"]
    values = insert.expression.expressions
    assert all(isinstance(v, exp.Column) and v.table == "s" for v in values)
    inserted = [c.name for c in insert.this.expressions]
    expected_meta = ["DBT_SCD_ID", "DBT_UPDATED_AT", "DBT_VALID_FROM", "DBT_VALID_TO", "IS_CURRENT"]
    expected_meta += ["DBT_IS_DELETED"] if cfg.hard_deletes == "new_record" else []
    assert inserted == [*p.data_columns, *expected_meta]
    sets = {e.this.name: e.expression for e in whens[0].args["then"].expressions}
    assert set(sets) == {"DBT_VALID_TO", "IS_CURRENT"}
    # the top level of the USING subquery is a SELECT, never a bare UNION (the emulator rejects it)
    using = tree.args["using"].this
    assert isinstance(using, exp.Select)
    assert "CURRENT_TIMESTAMP" not in snapshot_merge_sql(p, p.data_columns).upper()  # the run's time is a literal


def test_deletes_only_appear_when_configured() -> None:
    sql = {
        c.hard_deletes: snapshot_merge_sql(plan(c), ("USER_ID", "MOVIE_ID", "TAG", "TAG_TIMESTAMP"))
        for c in CONFIGS[:3]
    }
    assert "deletes AS" not in sql["ignore"]
    assert "deletes AS" in sql["invalidate"] and "IS_DELETED" not in sql["invalidate"]
    assert sql["new_record"].count("FROM deletes") == 2  # close + deletion record


def test_check_all_compares_every_non_key_column() -> None:
    p = plan(SnapshotConfig(strategy="check", check_cols="all"))
    assert p.check_columns == ("TAG", "TAG_TIMESTAMP")
    sql = snapshot_merge_sql(p, p.data_columns)
    assert 'src."TAG" IS DISTINCT FROM cur."TAG"' in sql
    assert 'src."TAG_TIMESTAMP" IS DISTINCT FROM cur."TAG_TIMESTAMP"' in sql
    assert 'src."USER_ID" IS DISTINCT FROM' not in sql


def test_ts_literal_is_utc_with_microseconds() -> None:
    cet = timezone(timedelta(hours=2))
    assert ts_literal(datetime(2024, 5, 1, 14, 0, 0, 5, tzinfo=cet)) == (
        "CAST('2024-05-01 12:00:00.000005' AS TIMESTAMP_NTZ)"
    )
    assert ts_literal(datetime(2024, 5, 1)) == "CAST('2024-05-01 00:00:00.000000' AS TIMESTAMP_NTZ)"


def test_duplicate_message_names_snapshot_and_keys() -> None:
    rows = [(1, 5, "funny", 2, 7), (2, 6, "it's", 3, 7)]
    assert duplicate_message("snap_tags", ("USER_ID", "MOVIE_ID", "TAG"), rows) == (
        "snap_tags: 7 duplicate keys in the source, e.g. (user_id=1, movie_id=5, tag='funny') x2, "
        "(user_id=2, movie_id=6, tag='it''s') x3"
    )
    assert "LIMIT 5" in precheck_sql(plan(CONFIGS[0]))


class _Session:
    """Records statements; fails the one containing `fail_on`."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.seen: list[str] = []
        self.fail_on = fail_on

    def sql(self, text: str) -> Any:
        self.seen.append(text)
        if self.fail_on and text.startswith(self.fail_on):
            raise RuntimeError("boom\nsecond line")
        return self

    def collect(self) -> list[tuple[int, int]]:
        return [(1, 2)]


def _adapter(cls: type, session: _Session) -> Any:
    adapter = cls(load_settings(REPO))
    adapter._session = session  # a recording session instead of an engine
    return adapter


def test_merge_is_one_statement_on_snowflake_and_a_published_copy_on_the_emulator() -> None:
    from netflix_elt.adapters.embedded import EmbeddedAdapter
    from netflix_elt.adapters.snowflake import SnowflakeAdapter

    def merge_for(target: str) -> str:
        return f"MERGE INTO {target} x"

    ok = _Session()
    log: list[str] = []
    snowflake = _adapter(SnowflakeAdapter, ok)
    assert snowflake.merge("D.S.T", merge_for, log=log, name="snap", error=SnapshotError) == [(1, 2)]
    assert ok.seen == log == ["MERGE INTO D.S.T x"]  # atomic in autocommit: no BEGIN/COMMIT
    bad = _Session(fail_on="MERGE")
    with pytest.raises(SnapshotError, match="^snap: the MERGE failed: boom$"):
        _adapter(SnowflakeAdapter, bad).merge("D.S.T", merge_for, log=[], name="snap", error=SnapshotError)
    emulator = _Session()
    _adapter(EmbeddedAdapter, emulator).merge("D.S.T", merge_for, log=[], name="snap", error=SnapshotError)
    work = "D.S.T__NETFLIX_ELT_WORK"
    assert emulator.seen == [
        f"CREATE OR REPLACE TABLE {work} AS SELECT * FROM D.S.T",
        f"MERGE INTO {work} x",
        f"CREATE OR REPLACE TABLE D.S.T AS SELECT * FROM {work}",  # one statement publishes it
        f"DROP TABLE IF EXISTS {work}",
    ]
    failed = _Session(fail_on="MERGE")
    with pytest.raises(SnapshotError, match="^snap: the MERGE failed: boom$"):
        _adapter(EmbeddedAdapter, failed).merge("D.S.T", merge_for, log=[], name="snap", error=SnapshotError)
    assert failed.seen[-1] == f"MERGE INTO {work} x"  # the table itself was never touched


def test_merge_versions_is_the_merge_on_snowflake_and_two_statements_in_a_transaction_on_the_emulator() -> None:
    from netflix_elt.adapters.embedded import EmbeddedAdapter
    from netflix_elt.adapters.snowflake import SnowflakeAdapter

    p = plan(SnapshotConfig(strategy="timestamp", updated_at="TAG_TIMESTAMP", hard_deletes="invalidate"))
    changes = version_changes(p, p.data_columns)
    ok = _Session()
    assert _adapter(SnowflakeAdapter, ok).merge_versions(
        p.relation, changes, log=[], name="snap", error=SnapshotError
    ) == (1, 2)
    assert ok.seen == [snapshot_merge_sql(p, p.data_columns)]  # one autocommitted MERGE

    emulator = _Session()
    log: list[str] = []
    got = _adapter(EmbeddedAdapter, emulator).merge_versions(
        p.relation, changes, log=log, name="snap", error=SnapshotError
    )
    assert got == (1, 1)  # the recording session answers 1 for the UPDATE and for the INSERT
    work = f"{p.relation}__NETFLIX_ELT_WORK"
    assert [s.split()[0] for s in emulator.seen] == ["CREATE", "BEGIN", "UPDATE", "INSERT", "COMMIT", "DROP"]
    assert emulator.seen[0] == f"CREATE OR REPLACE TABLE {work} AS {changes.source_sql}"
    assert emulator.seen[-1] == f"DROP TABLE IF EXISTS {work}"
    for stmt in log:  # valid Snowflake SQL, and the UPDATE closes only current versions
        sqlglot.parse_one(stmt, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    update = sqlglot.parse_one(emulator.seen[2], read="snowflake")
    assert isinstance(update, sqlglot.exp.Update) and '"IS_CURRENT"' in update.args["where"].sql("snowflake")

    failed = _Session(fail_on="INSERT")
    with pytest.raises(SnapshotError, match="^snap: the MERGE failed: boom$"):
        _adapter(EmbeddedAdapter, failed).merge_versions(p.relation, changes, log=[], name="snap", error=SnapshotError)
    assert [s.split()[0] for s in failed.seen][-3:] == ["INSERT", "ROLLBACK", "DROP"]  # the UPDATE is undone


def _project(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "config").mkdir(parents=True)
    (tmp_path / "config" / "netflix_elt.toml").write_text(
        (REPO / "config" / "netflix_elt.toml").read_text() + "\n" + extra
    )
    return tmp_path


def test_meta_column_names_config(tmp_path: Path) -> None:
    default = load_settings(_project(tmp_path / "a", "")).config.snapshots.meta_column_names
    assert default == SnapshotMetaColumns()
    named = load_settings(
        _project(tmp_path / "b", '[snapshots.meta_column_names]\nvalid_from = "dbt_valid_from"\n')
    ).config.snapshots.meta_column_names
    assert named.valid_from == "DBT_VALID_FROM" and named.valid_to == "VALID_TO"
    with pytest.raises(ConfigError, match="meta_column_names"):
        load_settings(_project(tmp_path / "c", '[snapshots.meta_column_names]\nvalid_from = "valid_to"\n'))
    with pytest.raises(ConfigError, match="valid identifier"):
        load_settings(_project(tmp_path / "d", '[snapshots.meta_column_names]\nvalid_from = "a b"\n'))
