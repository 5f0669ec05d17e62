"""SCD2 snapshots on the embedded engine, checked against a plain-Python model of SCD2.

One engine serves the module; each test (and each hypothesis example) uses fresh table names.
Timestamps are read back as epoch microseconds: the emulator returns a NULL TIMESTAMP_NTZ as
1970-01-01 (docs/EMULATOR_GAPS.md), so VALID_TO must not be fetched as a timestamp.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from netflix_elt.adapters import adapter_for
from netflix_elt.api import Workspace
from netflix_elt.config import Settings, SnapshotMetaColumns, load_settings
from netflix_elt.errors import SnapshotError
from netflix_elt.invocation import Invocation
from netflix_elt.materializations import BuildContext
from netflix_elt.materializations.snapshot import Snapshot
from netflix_elt.registry import Node, Project, SnapshotConfig

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path("/work/shared/data/movielens/ml-latest-small")
SCHEMA = "MOVIELENS.SNAPTEST"
T0 = datetime(2024, 1, 1)
EPOCH = datetime(1970, 1, 1)
_names = itertools.count()


def micros(ts: datetime) -> int:
    return (ts - EPOCH) // timedelta(microseconds=1)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Any]]:
    """One embedded engine for the module, on a throwaway state folder and an empty project."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETFLIX_ELT_HOME", str(tmp_path_factory.mktemp("snaphome")))
        settings = load_settings(REPO)
        with Workspace(settings, Project([])) as ws:
            ws.session.sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}").collect()
            yield settings, ws.session


@dataclass
class Snap:
    """A snapshot over a source table the test rewrites with plain SQL between runs."""

    settings: Settings
    session: Any
    cfg: SnapshotConfig
    key: tuple[str, ...] = ("K", "N")
    columns: dict[str, str] = field(
        default_factory=lambda: {"K": "INTEGER", "N": "VARCHAR", "V": "VARCHAR", "UA": "TIMESTAMP_NTZ"}
    )
    meta: SnapshotMetaColumns = field(default_factory=SnapshotMetaColumns)
    name: str = field(default_factory=lambda: f"snap_{next(_names)}")
    statements: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return f"{SCHEMA}.SRC_{self.name.upper()}"

    @property
    def relation(self) -> str:
        return f"MOVIELENS.{self.settings.snapshot_schema}.{self.name.upper()}"

    def node(self) -> Node:
        source = self.source

        def read(session: Any) -> Any:
            return session.table(source)

        return Node(
            name=self.name,
            kind="snapshot",
            layer="snapshots",
            materialized="snapshot",
            func=read,
            unique_key=self.key,
            snapshot=self.cfg,
        )

    def context(self, at: datetime) -> BuildContext:
        cfg = self.settings.config
        settings = self.settings.model_copy(
            update={
                "config": cfg.model_copy(
                    update={"snapshots": cfg.snapshots.model_copy(update={"meta_column_names": self.meta})}
                )
            }
        )
        invocation = Invocation("snapshot", settings.target, run_started_at=at)
        return BuildContext.create(settings, Project([self.node()]), adapter_for(settings), invocation)

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        ddl = ", ".join(f'"{c}" {t}' for c, t in self.columns.items())
        self.session.sql(f"CREATE OR REPLACE TABLE {self.source} ({ddl})").collect()
        if rows:
            values = ", ".join("(" + ", ".join(sql_literal(v) for v in r) + ")" for r in rows)
            self.session.sql(f"INSERT INTO {self.source} VALUES {values}").collect()

    def run(self, at: datetime) -> str:
        res = Snapshot().build(self.context(at), self.node())
        self.statements += res.sql
        return res.message

    def history(self, columns: list[str] | None = None) -> list[tuple[Any, ...]]:
        m = self.meta
        cols = columns or [*self.columns]
        exprs = [
            f'DATE_PART(EPOCH_MICROSECOND, "{c}")' if self.columns.get(c) == "TIMESTAMP_NTZ" else f'"{c}"' for c in cols
        ]
        exprs += [f'"{m.snapshot_row_id}"'] + [
            f'DATE_PART(EPOCH_MICROSECOND, "{c}")' for c in (m.updated_at, m.valid_from, m.valid_to)
        ]
        exprs.append(f'"{m.is_current}"')
        if self.cfg.hard_deletes == "new_record":
            exprs.append(f'"{m.is_deleted}"')
        rows = self.session.sql(f"SELECT {', '.join(exprs)} FROM {self.relation}").collect()
        return sorted((tuple(r) for r in rows), key=repr)


def sql_literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, datetime):
        return f"CAST('{v.isoformat(sep=' ')}' AS TIMESTAMP_NTZ)"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return str(v)


# --- the reference model --------------------------------------------------------------------------


def row_id(key: tuple[Any, ...], valid_from: int) -> str:
    return hashlib.md5("|".join([*(str(k) for k in key), str(valid_from)]).encode()).hexdigest()


def model_run(
    history: list[dict[str, Any]],
    source: dict[tuple, dict[str, Any]],
    run_ts: int,
    cfg: SnapshotConfig,
    check_cols: tuple[str, ...],
) -> None:
    """One snapshot run over `history` (list of versions), as module snapshot.py documents it."""
    current = {v["key"]: v for v in history if v["valid_to"] is None}
    seen = {v["key"] for v in history}
    ts = cfg.strategy == "timestamp"

    def open_(key: tuple, data: dict[str, Any], vf: int, ua: int, deleted: bool = False) -> None:
        history.append(
            {"key": key, "data": dict(data), "valid_from": vf, "valid_to": None, "updated_at": ua, "deleted": deleted}
        )

    for key, data in sorted(source.items()):
        cur = current.get(key)
        ua = data["UA"] if ts else run_ts
        if cur is None:
            vf = run_ts if (not ts or key in seen) else data["UA"]
            open_(key, data, vf, ua)
        elif cur["deleted"]:
            cur["valid_to"] = run_ts
            open_(key, data, run_ts, ua)
        elif (data["UA"] > cur["updated_at"]) if ts else any(data[c] != cur["data"].get(c) for c in check_cols):
            vf = data["UA"] if ts and data["UA"] > cur["valid_from"] else run_ts
            cur["valid_to"] = vf
            open_(key, data, vf, ua)
    if cfg.hard_deletes != "ignore":
        for key, cur in current.items():
            if key not in source and not cur["deleted"]:
                cur["valid_to"] = run_ts
                if cfg.hard_deletes == "new_record":
                    open_(key, cur["data"], run_ts, run_ts, deleted=True)


def model_rows(history: list[dict[str, Any]], cfg: SnapshotConfig, columns: list[str]) -> list[tuple[Any, ...]]:
    rows = []
    for v in history:
        row = [v["data"].get(c) for c in columns]
        row += [
            row_id(v["key"], v["valid_from"]),
            v["updated_at"],
            v["valid_from"],
            v["valid_to"],
            v["valid_to"] is None,
        ]
        if cfg.hard_deletes == "new_record":
            row.append(v["deleted"])
        rows.append(tuple(row))
    return sorted(rows, key=repr)


CONFIGS = [
    SnapshotConfig(
        strategy=s,
        updated_at="UA" if s == "timestamp" else None,
        check_cols=("V",) if s == "check" else (),
        hard_deletes=h,
    )  # type: ignore[arg-type]
    for s in ("timestamp", "check")
    for h in ("ignore", "invalidate", "new_record")
]
_keys = st.tuples(st.integers(1, 3), st.sampled_from(["a", "b's"]))
_values = st.fixed_dictionaries({"V": st.sampled_from([None, "x", "y"]), "UA": st.integers(0, 3)})
_state = st.dictionaries(_keys, _values, max_size=5)


@hsettings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cfg=st.sampled_from(CONFIGS),
    states=st.lists(st.one_of(st.none(), _state), min_size=1, max_size=4),
    check_all=st.booleans(),
)
def test_history_matches_reference_model(
    engine: tuple[Settings, Any], cfg: SnapshotConfig, states: list[dict | None], check_all: bool
) -> None:
    """Random inserts, updates, deletes, comebacks and re-runs (None = re-run unchanged)."""
    if cfg.strategy == "check" and check_all:
        cfg = replace(cfg, check_cols="all")
    check_cols = ("V", "UA") if cfg.check_cols == "all" else ("V",)
    snap = Snap(*engine, cfg=cfg)
    history: list[dict[str, Any]] = []
    state: dict = {}
    for step, new in enumerate(states):
        state = state if new is None else new
        at = T0 + timedelta(days=30, hours=step)
        rows = {
            k: {"K": k[0], "N": k[1], "V": v["V"], "UA": micros(T0 + timedelta(days=v["UA"]))} for k, v in state.items()
        }
        snap.write([(r["K"], r["N"], r["V"], T0 + timedelta(days=state[k]["UA"])) for k, r in rows.items()])
        snap.run(at)
        model_run(history, rows, micros(at), cfg, check_cols)
        assert snap.history() == model_rows(history, cfg, ["K", "N", "V", "UA"]), f"after step {step}"


# --- examples ---------------------------------------------------------------------------------------

TS_INVALIDATE = SnapshotConfig(strategy="timestamp", updated_at="UA", hard_deletes="invalidate")
CHECK_ALL = SnapshotConfig(strategy="check", check_cols="all", hard_deletes="invalidate")


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def test_rerun_without_change_changes_nothing(engine: tuple[Settings, Any]) -> None:
    snap = Snap(*engine, cfg=TS_INVALIDATE)
    snap.write([(1, "a", "x", day(1)), (2, "a", "y", day(1))])
    assert snap.run(day(10)) == "created: 2 versions"
    before = snap.history()
    assert snap.run(day(11)) == "0 new versions, 0 closed"
    assert snap.history() == before


def test_change_closes_old_and_opens_new_version(engine: tuple[Settings, Any]) -> None:
    snap = Snap(*engine, cfg=TS_INVALIDATE)
    snap.write([(1, "a", "x", day(1))])
    snap.run(day(10))
    snap.write([(1, "a", "x2", day(2))])
    assert snap.run(day(11)) == "1 new versions, 1 closed"
    (old, new) = sorted(snap.history(), key=lambda r: r[6])
    assert old[2] == "x" and old[7] == micros(day(2)) and old[8] is False  # closed at the new updated_at
    assert new[2] == "x2" and new[6] == micros(day(2)) and new[7] is None and new[8] is True


def test_equal_updated_at_with_other_values_is_no_change(engine: tuple[Settings, Any]) -> None:
    """The documented tie-break: only a strictly later updated_at is a change."""
    snap = Snap(*engine, cfg=TS_INVALIDATE)
    snap.write([(1, "a", "x", day(2))])
    snap.run(day(10))
    snap.write([(1, "a", "other", day(2))])
    assert snap.run(day(11)) == "0 new versions, 0 closed"
    snap.write([(1, "a", "older", day(1))])
    assert snap.run(day(12)) == "0 new versions, 0 closed"
    assert [r[2] for r in snap.history()] == ["x"]


def test_delete_invalidates_and_comeback_opens_new_version(engine: tuple[Settings, Any]) -> None:
    snap = Snap(*engine, cfg=TS_INVALIDATE)
    snap.write([(1, "a", "x", day(1)), (2, "a", "y", day(1))])
    snap.run(day(10))
    snap.write([(1, "a", "x", day(1))])
    assert snap.run(day(11)) == "0 new versions, 1 closed"
    gone = [r for r in snap.history() if r[0] == 2]
    assert len(gone) == 1 and gone[0][7] == micros(day(11)) and gone[0][8] is False
    snap.write([(1, "a", "x", day(1)), (2, "a", "y", day(1))])
    assert snap.run(day(12)) == "1 new versions, 0 closed"
    back = sorted((r for r in snap.history() if r[0] == 2), key=lambda r: r[6])
    assert [(r[6], r[7], r[8]) for r in back] == [
        (micros(day(1)), micros(day(11)), False),
        (micros(day(12)), None, True),  # opens when it came back, not at its old updated_at
    ]
    assert len({r[4] for r in snap.history()}) == 3  # SNAPSHOT_ROW_IDs stay unique


def test_new_record_writes_a_deletion_record(engine: tuple[Settings, Any]) -> None:
    snap = Snap(*engine, cfg=replace(TS_INVALIDATE, hard_deletes="new_record"))
    snap.write([(1, "a", "x", day(1))])
    snap.run(day(10))
    snap.write([])
    snap.run(day(11))
    rows = sorted(snap.history(), key=lambda r: r[6])
    assert [(r[2], r[7], r[8], r[9]) for r in rows] == [("x", micros(day(11)), False, False), ("x", None, True, True)]
    snap.write([])
    assert snap.run(day(12)) == "0 new versions, 0 closed"  # already recorded as deleted


def test_several_changes_in_one_batch(engine: tuple[Settings, Any]) -> None:
    """Many keys change in one run; one key changing twice between runs gives one version."""
    snap = Snap(*engine, cfg=CHECK_ALL)
    snap.write([(k, "a", "v0", day(1)) for k in range(1, 6)])
    snap.run(day(10))
    snap.write([(k, "a", "v1", day(1)) for k in range(1, 4)] + [(4, "a", "v0", day(1)), (5, "a", "v0", day(1))])
    snap.write([(k, "a", "v2", day(1)) for k in range(1, 4)] + [(4, "a", "v0", day(1)), (5, "a", "v0", day(1))])
    assert snap.run(day(11)) == "3 new versions, 3 closed"
    history = snap.history()
    assert len(history) == 8
    assert sorted(r[2] for r in history if r[8]) == ["v0", "v0", "v2", "v2", "v2"]


def test_added_column_is_added_null_for_old_versions(engine: tuple[Settings, Any]) -> None:
    snap = Snap(*engine, cfg=TS_INVALIDATE)
    snap.write([(1, "a", "x", day(1)), (2, "a", "y", day(1))])
    snap.run(day(10))
    snap.columns = {**snap.columns, "W": "INTEGER"}
    snap.write([(1, "a", "x", day(2), 7), (2, "a", "y", day(1), 8)])
    assert snap.run(day(11)) == "1 new versions, 1 closed"
    assert any(s.startswith(f'ALTER TABLE {snap.relation} ADD COLUMN "W" ') for s in snap.statements)
    rows = {(r[0], r[7]): r[4] for r in snap.history(["K", "N", "V", "UA", "W"])}
    # version of key 1 before the change and key 2 (unchanged, timestamp strategy) keep NULL
    assert rows == {(1, micros(day(1))): None, (1, micros(day(2))): 7, (2, micros(day(1))): None}


def test_duplicate_key_fails_before_anything_changes(engine: tuple[Settings, Any]) -> None:
    snap = Snap(*engine, cfg=TS_INVALIDATE)
    snap.write([(1, "a", "x", day(1))])
    snap.run(day(10))
    before = snap.history()
    dup = [
        (1, "a", "x", day(2)),
        (1, "a", "z", day(3)),
        (2, "b's", "y", day(1)),
        (2, "b's", "y", day(1)),
        (2, "b's", "w", day(1)),
        (3, "c", "q", day(2)),
    ]
    snap.write(dup)
    with pytest.raises(SnapshotError) as err:
        snap.run(day(11))
    assert str(err.value) == (f"{snap.name}: 2 duplicate keys in the source, e.g. (k=1, n='a') x2, (k=2, n='b''s') x3")
    assert snap.history() == before


def test_dbt_meta_column_names_from_config(engine: tuple[Settings, Any], tmp_path: Path) -> None:
    config = (REPO / "config" / "netflix_elt.toml").read_text() + (
        '\n[snapshots.meta_column_names]\nvalid_from = "dbt_valid_from"\nvalid_to = "dbt_valid_to"\n'
        'snapshot_row_id = "dbt_scd_id"\nupdated_at = "dbt_updated_at"\nis_deleted = "dbt_is_deleted"\n'
    )
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "netflix_elt.toml").write_text(config)
    meta = load_settings(tmp_path).config.snapshots.meta_column_names
    snap = Snap(*engine, cfg=replace(TS_INVALIDATE, hard_deletes="new_record"), meta=meta)
    snap.write([(1, "a", "x", day(1))])
    snap.run(day(10))
    snap.write([])
    snap.run(day(11))
    cols = [c.strip('"') for c in snap.session.table(snap.relation).columns]
    assert cols == [
        "K",
        "N",
        "V",
        "UA",
        "DBT_SCD_ID",
        "DBT_UPDATED_AT",
        "DBT_VALID_FROM",
        "DBT_VALID_TO",
        "IS_CURRENT",
        "DBT_IS_DELETED",
    ]
    assert len(snap.history()) == 2


def test_every_emitted_statement_is_snowflake_sql(engine: tuple[Settings, Any]) -> None:
    for cfg in CONFIGS:
        snap = Snap(*engine, cfg=cfg)
        snap.write([(1, "a", "x", day(1)), (2, "a", "y", day(1))])
        snap.run(day(10))
        snap.write([(1, "a", "z", day(2)), (3, "a", "y", day(1))])
        snap.run(day(11))
        # the embedded engine applies the MERGE's two branches in one transaction (Snowflake's own
        # MERGE is checked in tests/unit/test_snapshot_sql.py)
        applied = [s.split()[0] for s in snap.statements if s.startswith(("BEGIN", "UPDATE", "INSERT", "COMMIT"))]
        assert applied == ["BEGIN", "UPDATE", "INSERT", "COMMIT"], applied
        for stmt in snap.statements:
            sqlglot.parse_one(stmt, read="snowflake")
            sqlglot.transpile(stmt, read="snowflake", write="snowflake", unsupported_level=sqlglot.ErrorLevel.RAISE)


# --- end to end on the real fixture -----------------------------------------------------------------


@pytest.mark.skipif(not (FIXTURE / "tags.csv").is_file(), reason=f"MovieLens fixture folder {FIXTURE} is absent")
def test_end_to_end_on_movielens_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd
    from click.testing import CliRunner

    from netflix_elt.cli import main

    monkeypatch.setenv("NETFLIX_ELT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NETFLIX_ELT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.chdir(REPO)
    tags = pd.read_csv(FIXTURE / "tags.csv")
    movies = pd.read_csv(FIXTURE / "movies.csv")
    # the second extract: 3 tags deleted, 2 re-applied later, 1 renamed; a title corrected, a movie gone
    tags2 = tags.drop(index=[0, 1, 2]).copy()
    tags2.loc[[10, 11], "timestamp"] += 1000
    tags2.loc[20, "tag"] = tags2.loc[20, "tag"] + " (edited)"
    movies2 = movies.drop(index=[5]).copy()
    movies2.loc[0, "title"] = movies2.loc[0, "title"].replace("Toy Story", "Toy Story!")
    movies2.loc[7, "genres"] = "Drama"
    second = tmp_path / "extract2"
    second.mkdir()
    for f in FIXTURE.glob("*.csv"):  # copies: load reads no symlinks from a landing folder
        if f.name not in ("tags.csv", "movies.csv"):
            shutil.copyfile(f, second / f.name)
    for name, df in (("tags.csv", tags2), ("movies.csv", movies2)):
        df.to_csv(second / name, index=False)

    selection = ["+snap_tags", "+snap_movies"]
    with Workspace(load_settings(REPO)) as ws:
        outcome = ws.build(selection, from_url=str(FIXTURE))
        assert outcome.ok, [r.message for r in outcome.results if r.message]
        ws.load(str(second))
        assert ws.run(selection).ok
    result = CliRunner().invoke(main, ["snapshot", "-s", "snap_tags", "-s", "snap_movies"])
    assert result.exit_code == 0, result.output
    assert "snapshot snap_tags" in result.output and "snapshot snap_movies" in result.output

    key = ["userId", "movieId", "tag"]
    t = tags.merge(tags2, on=key, how="outer", suffixes=("_1", "_2"), indicator=True)
    t_changed = int(((t["_merge"] == "both") & (t["timestamp_2"] > t["timestamp_1"])).sum())
    t_expected = {
        "closed": int((t["_merge"] == "left_only").sum()) + t_changed,
        "rows": len(tags) + int((t["_merge"] == "right_only").sum()) + t_changed,
        "current": len(tags2),
    }
    m = movies.merge(movies2, on="movieId", how="outer", suffixes=("_1", "_2"), indicator=True)
    both = m["_merge"] == "both"
    m_changed = int((both & ((m["title_1"] != m["title_2"]) | (m["genres_1"] != m["genres_2"]))).sum())
    m_expected = {
        "closed": int((m["_merge"] == "left_only").sum()) + m_changed,
        "rows": len(movies) + int((m["_merge"] == "right_only").sum()) + m_changed,
        "current": len(movies2),
    }
    assert t_expected["closed"] == 6 and m_expected["closed"] == 3  # the edits above, as pandas sees them
    with Workspace(load_settings(REPO)) as ws:
        for table, expected in (("SNAP_TAGS", t_expected), ("SNAP_MOVIES", m_expected)):
            closed, rows, current = ws.session.sql(
                "SELECT COUNT(CASE WHEN VALID_TO IS NOT NULL THEN 1 END), COUNT(*), "
                f"COUNT(CASE WHEN IS_CURRENT THEN 1 END) FROM MOVIELENS.SNAPSHOTS.{table}"
            ).collect()[0]
            assert {"closed": closed, "rows": rows, "current": current} == expected, table
        title = ws.session.sql(
            "SELECT TITLE FROM MOVIELENS.SNAPSHOTS.SNAP_MOVIES WHERE MOVIE_ID = 1 ORDER BY VALID_FROM"
        ).collect()
        assert [r[0] for r in title] == [movies.loc[0, "title"], movies2.loc[0, "title"]]
    assert os.path.isfile(tmp_path / "target" / "compiled" / "snapshots" / "snap_tags.sql")
