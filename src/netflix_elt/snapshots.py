"""SCD2 snapshots (dbt's `snapshot`): one MERGE per run into `<DB>.SNAPSHOTS.<NAME>`.

The source DataFrame is a *state*, not a log: each run compares it with the current version of
every key and records at most one new version per key, however many times the row changed
between runs.

Semantics (pinned by tests/integration/test_snapshot.py against a plain-Python model):

* Meta columns, named by `[snapshots.meta_column_names]` (defaults in brackets):
  SNAPSHOT_ROW_ID = MD5 of the key parts and VALID_FROM (as epoch microseconds), joined with
  '|' (dbt's dbt_scd_id); UPDATED_AT; VALID_FROM; VALID_TO (NULL for the current version);
  IS_CURRENT (true exactly when VALID_TO is NULL); IS_DELETED when hard_deletes='new_record'.
* `timestamp` strategy: a key changed when the source's updated_at is *strictly greater* than
  the current version's UPDATED_AT. Equal updated_at with different values, or an updated_at
  that went backwards, is no change (the tie-break: the version already recorded wins). The new
  version has VALID_FROM = UPDATED_AT = the source's updated_at, and the old one is closed at it.
* `check` strategy: a key changed when any check column IS DISTINCT FROM the current version
  (NULL-safe); `check_cols="all"` compares every non-key column of the source, so a column added
  to the source registers a change where its value is not NULL (as in dbt). VALID_FROM,
  UPDATED_AT and the closing VALID_TO are the run's timestamp (`run_started_at`, never a clock
  read in SQL).
* Hard deletes (a current key absent from the source): `ignore` keeps it current; `invalidate`
  closes it at the run's timestamp; `new_record` closes it and opens a deletion record (source
  columns copied from the closed version, IS_DELETED true, UPDATED_AT = run timestamp).
* A key that comes back after a hard delete opens a new version with VALID_FROM = the run's
  timestamp (also for the timestamp strategy: its updated_at usually predates the delete, and
  reusing it would overlap the closed interval and repeat its SNAPSHOT_ROW_ID); UPDATED_AT is
  the source's updated_at (timestamp) or the run's timestamp (check). Likewise a later change
  whose updated_at is not after the current VALID_FROM opens at the run's timestamp, so that
  versions never overlap. (The timestamp strategy assumes updated_at is not after the run.)
* A column added to the source is added to the table (ALTER TABLE ... ADD COLUMN), NULL in older
  versions; a column dropped from the source stays, NULL in newer versions.

Rows whose unique key has a NULL part, or an empty or blank text part, are not tracked: they
are left out of the MERGE (counted, and named in the run's message), so they never open or close
a version. Because such a row may be the unreadable form of a key that is current, a current key
that agrees with it on every readable key part is not closed as deleted in that run (for a
single-column key: no deletes at all while such rows exist). Before anything changes, the rest
of the source is checked: duplicate unique keys (and NULL updated_at for the timestamp
strategy) raise SnapshotError and leave the table as it was.
This module holds the pure SQL builders (unit-tested in tests/unit/test_snapshot_sql.py); the
strategy that runs them is netflix_elt.materializations.snapshot. The ALTERs run before the
MERGE, and the MERGE goes through `adapter.merge_versions`: one autocommitted statement on
Snowflake; on the emulator, which rewrites MERGE into temp-table + UPDATE + INSERT and cannot run
them in a transaction, its rows computed once into a work table, then the UPDATE that closes and
the INSERT that opens versions in one transaction (docs/robustness.md).

(The module is `snapshots`, not `snapshot`: importing a submodule named `snapshot` would replace
the `netflix_elt.snapshot` decorator on the package.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from netflix_elt.config import SnapshotMetaColumns
from netflix_elt.registry import SnapshotConfig
from netflix_elt.sql import literal, quote, ts_literal, wrap

# the MERGE source's bookkeeping columns (never stored)
ACTION = "_SNAPSHOT_ACTION"
CLOSE_AT = "_SNAPSHOT_CLOSE_AT"
MERGE_KEY = "_SNAPSHOT_KEY_{}"


@dataclass(frozen=True)
class SnapshotPlan:
    """Everything the SQL of one snapshot run depends on (pure data, so the SQL is unit-testable)."""

    name: str
    relation: str
    source_sql: str
    source_columns: tuple[str, ...]
    unique_key: tuple[str, ...]
    config: SnapshotConfig
    meta: SnapshotMetaColumns
    run_started_at: datetime
    # key columns of a text type: an empty or blank value is no key either (NULL never is)
    text_keys: tuple[str, ...] = ()
    # the source has rows with an unusable key: keep the current keys they could be from deletes
    guard_deletes: bool = False

    @property
    def data_columns(self) -> tuple[str, ...]:
        return tuple(c.upper() for c in self.source_columns)

    @property
    def check_columns(self) -> tuple[str, ...]:
        if self.config.check_cols == "all":
            keys = set(self.unique_key)
            return tuple(c for c in self.data_columns if c not in keys)
        return tuple(self.config.check_cols)

    @property
    def meta_columns(self) -> tuple[str, ...]:
        m = self.meta
        cols = [m.snapshot_row_id, m.updated_at, m.valid_from, m.valid_to, m.is_current]
        if self.config.hard_deletes == "new_record":
            cols.append(m.is_deleted)
        return tuple(cols)


def row_id_sql(key_exprs: Sequence[str], valid_from: str) -> str:
    """dbt_scd_id: MD5 of the key parts and VALID_FROM in epoch microseconds, joined with '|'.

    Epoch microseconds, not a cast to text, because Snowflake and DuckDB print timestamps
    differently and the id must be the same on both.
    """
    parts = [f"COALESCE(CAST({e} AS VARCHAR), '')" for e in key_exprs]
    parts.append(f"CAST(DATE_PART(EPOCH_MICROSECOND, {valid_from}) AS VARCHAR)")
    return "MD5(" + " || '|' || ".join(parts) + ")"


def unusable_key_part(plan: SnapshotPlan, key: str, alias: str) -> str:
    """True when this key part cannot identify a row: NULL, or (text) empty or blank."""
    col = f"{alias}.{quote(key)}"
    if key in plan.text_keys:
        return f"({col} IS NULL OR TRIM({col}) = '')"
    return f"{col} IS NULL"


def unusable_key(plan: SnapshotPlan, alias: str) -> str:
    """True when any part of the row's unique key is unusable (never NULL itself)."""
    return "(" + " OR ".join(unusable_key_part(plan, k, alias) for k in plan.unique_key) + ")"


def keyed_source_sql(plan: SnapshotPlan) -> str:
    """The source without the rows whose unique key is unusable: what the snapshot tracks."""
    return f"SELECT * FROM (\n{wrap(plan.source_sql)}\n) AS keyed\nWHERE NOT {unusable_key(plan, 'keyed')}"


def precheck_sql(plan: SnapshotPlan) -> str:
    """Up to 5 duplicated keys (among usable keys), with the number of duplicated keys on every row."""
    keys = ", ".join(quote(k) for k in plan.unique_key)
    return (
        f"SELECT {keys}, COUNT(*) AS N, COUNT(*) OVER () AS DUPLICATE_KEYS\n"
        f"FROM ({keyed_source_sql(plan)}) AS src\nGROUP BY {keys}\nHAVING COUNT(*) > 1\n"
        f"ORDER BY {keys}\nLIMIT 5"
    )


def nulls_sql(plan: SnapshotPlan) -> str:
    """Rows with an unusable key (NULL, or empty text), and (timestamp strategy) rows with a
    usable key but a NULL updated_at."""
    bad = unusable_key(plan, "src")
    ua = plan.config.updated_at
    null_ua = f"COUNT(CASE WHEN NOT {bad} AND src.{quote(ua)} IS NULL THEN 1 END)" if ua else "0"
    return (
        f"SELECT COUNT(CASE WHEN {bad} THEN 1 END) AS UNUSABLE_KEYS, {null_ua} AS NULL_UPDATED_AT\n"
        f"FROM ({wrap(plan.source_sql)}) AS src"
    )


def skipped_keys_message(plan: SnapshotPlan, rows: int) -> str:
    """`2 rows with a NULL or empty unique key (movie_id) skipped`, and what that does to deletes."""
    keys = ", ".join(k.lower() for k in plan.unique_key)
    msg = f"{rows} row{'s' if rows != 1 else ''} with a NULL or empty unique key ({keys}) skipped"
    if plan.config.hard_deletes != "ignore":
        msg += " (current keys they could be are not closed as deleted)"
    return msg


def _insert_meta(plan: SnapshotPlan, valid_from: str, updated_at: str, key_alias: str, deleted: str) -> list[str]:
    """The meta column expressions of an opened version, in `meta_columns` order."""
    m = plan.meta
    exprs = [
        f"{row_id_sql([f'{key_alias}.{quote(k)}' for k in plan.unique_key], valid_from)} AS {quote(m.snapshot_row_id)}",
        f"{updated_at} AS {quote(m.updated_at)}",
        f"{valid_from} AS {quote(m.valid_from)}",
        f"CAST(NULL AS TIMESTAMP_NTZ) AS {quote(m.valid_to)}",
        f"TRUE AS {quote(m.is_current)}",
    ]
    if plan.config.hard_deletes == "new_record":
        exprs.append(f"{deleted} AS {quote(m.is_deleted)}")
    return exprs


def create_sql(plan: SnapshotPlan) -> str:
    """First run: CTAS of the source with the meta columns (every row opens its first version)."""
    run_ts = ts_literal(plan.run_started_at)
    if plan.config.strategy == "timestamp":
        assert plan.config.updated_at
        valid_from = updated_at = f"CAST(src.{quote(plan.config.updated_at)} AS TIMESTAMP_NTZ)"
    else:
        valid_from = updated_at = run_ts
    cols = [f"src.{quote(c)}" for c in plan.data_columns]
    cols += _insert_meta(plan, valid_from, updated_at, "src", "FALSE")
    select = ",\n  ".join(cols)
    return f"CREATE TABLE {plan.relation} AS\nSELECT\n  {select}\nFROM ({keyed_source_sql(plan)}) AS src"


@dataclass(frozen=True)
class VersionChanges:
    """A later run's changes to a snapshot, and the statements that apply them.

    `source_sql` yields, per changed or deleted key, a 'close' row (merge keys = the key, matched
    against the current version) and an 'insert' row (merge keys NULL, so it never matches).
    Snowflake applies them with one MERGE (`merge_sql`); the embedded engine with `close_sql` then
    `insert_sql` over the rows stored once, in one transaction (the emulator's own MERGE rewrite
    cannot run inside one). Both read the table as it was before the run: the UPDATE runs first,
    and the rows it closes are matched on IS_CURRENT as the MERGE matches them.
    """

    source_sql: str
    keys: tuple[str, ...]
    is_current: str
    valid_to: str
    insert_columns: tuple[str, ...]

    def _on(self) -> str:
        return " AND ".join(f"t.{quote(k)} = s.{quote(MERGE_KEY.format(i))}" for i, k in enumerate(self.keys, 1))

    def merge_sql(self, target: str) -> str:
        ins = self.insert_columns
        return (
            f"MERGE INTO {target} AS t\nUSING (\n{self.source_sql}\n) AS s\n"
            f"ON {self._on()} AND t.{quote(self.is_current)}\n"
            f"WHEN MATCHED AND s.{quote(ACTION)} = 'close' THEN UPDATE SET "
            f"t.{quote(self.valid_to)} = s.{quote(CLOSE_AT)}, t.{quote(self.is_current)} = FALSE\n"
            f"WHEN NOT MATCHED AND s.{quote(ACTION)} = 'insert' THEN INSERT ({', '.join(quote(c) for c in ins)})\n"
            f"VALUES ({', '.join(f's.{quote(c)}' for c in ins)})"
        )

    def close_sql(self, target: str, rows: str) -> str:
        """The MERGE's WHEN MATCHED: close the current version of each 'close' row's key."""
        return (
            f"UPDATE {target} AS t SET {quote(self.valid_to)} = s.{quote(CLOSE_AT)}, "
            f"{quote(self.is_current)} = FALSE\nFROM {rows} AS s\n"
            f"WHERE s.{quote(ACTION)} = 'close' AND {self._on()} AND t.{quote(self.is_current)}"
        )

    def insert_sql(self, target: str, rows: str) -> str:
        """The MERGE's WHEN NOT MATCHED: every 'insert' row (its merge keys are NULL: never matched)."""
        cols = ", ".join(quote(c) for c in self.insert_columns)
        vals = ", ".join(f"s.{quote(c)}" for c in self.insert_columns)
        return f"INSERT INTO {target} ({cols})\nSELECT {vals} FROM {rows} AS s WHERE s.{quote(ACTION)} = 'insert'"


def snapshot_merge_sql(plan: SnapshotPlan, table_columns: Sequence[str]) -> str:
    """The one MERGE of a later run (`version_changes` applied as Snowflake runs it)."""
    return version_changes(plan, table_columns).merge_sql(plan.relation)


def version_changes(plan: SnapshotPlan, table_columns: Sequence[str]) -> VersionChanges:
    """The rows a later run closes and opens, read from `plan.relation` as it is.

    `table_columns` are the snapshot table's data columns after any ALTER. Every INSERT value and
    UPDATE value is a plain source column: the emulator's MERGE rewrite copies only referenced
    columns into its work table.
    """
    m, cfg = plan.meta, plan.config
    run_ts = ts_literal(plan.run_started_at)
    keys = plan.unique_key
    k0 = quote(keys[0])
    data = list(table_columns)
    src_cols = set(plan.data_columns)
    on_keys = " AND ".join(f"src.{quote(k)} = cur.{quote(k)}" for k in keys)
    new_record = cfg.hard_deletes == "new_record"
    opened = "_SNAPSHOT_FROM"
    opened_ua = "_SNAPSHOT_UPDATED_AT"
    ctes = [
        f"src AS (\n  {keyed_source_sql(plan)}\n)",
        f"cur AS (\n  SELECT * FROM {plan.relation} WHERE {quote(m.is_current)}\n)",
    ]
    joins = f"src LEFT JOIN cur ON {on_keys}"
    if cfg.strategy == "timestamp":
        assert cfg.updated_at
        src_ua = f"CAST(src.{quote(cfg.updated_at)} AS TIMESTAMP_NTZ)"
        changed = f"{src_ua} > cur.{quote(m.updated_at)}"
        comeback = []
        if cfg.hard_deletes == "invalidate":
            # a key with history but no current version was closed by a delete
            ctes.append(f"hist AS (\n  SELECT DISTINCT {', '.join(quote(k) for k in keys)} FROM {plan.relation}\n)")
            joins += " LEFT JOIN hist ON " + " AND ".join(f"src.{quote(k)} = hist.{quote(k)}" for k in keys)
            comeback.append(f"(cur.{k0} IS NULL AND hist.{k0} IS NOT NULL)")
        if new_record:
            comeback.append(f"cur.{quote(m.is_deleted)}")
        # after a comeback VALID_FROM (run time) is past UPDATED_AT: never open a version before it
        comeback.append(f"{src_ua} <= cur.{quote(m.valid_from)}")
        valid_from = f"CASE WHEN {' OR '.join(comeback)} THEN {run_ts} ELSE {src_ua} END"
        updated_at = src_ua
    else:
        checks = [f"src.{quote(c)} IS DISTINCT FROM cur.{quote(c)}" for c in plan.check_columns]
        changed = "(" + " OR ".join(checks) + ")" if checks else "FALSE"
        valid_from = updated_at = run_ts
    if new_record:
        changed = f"{changed} OR cur.{quote(m.is_deleted)}"
    change_cols = [f"src.{quote(c)}" for c in plan.data_columns]
    change_cols += [f"cur.{quote(k)} AS {quote(MERGE_KEY.format(i))}" for i, k in enumerate(keys, 1)]
    change_cols += [f"{valid_from} AS {opened}", f"{updated_at} AS {opened_ua}"]
    ctes.append(
        f"changes AS (\n  SELECT {', '.join(change_cols)}\n  FROM {joins}\n  WHERE cur.{k0} IS NULL OR {changed}\n)"
    )

    def row(action: str, merge_keys: Sequence[str], close_at: str, data_: Sequence[str], meta: Sequence[str]) -> str:
        mk = [f"{e} AS {quote(MERGE_KEY.format(i))}" for i, e in enumerate(merge_keys, 1)]
        return ", ".join([f"'{action}' AS {quote(ACTION)}", *mk, f"{close_at} AS {quote(CLOSE_AT)}", *data_, *meta])

    no_keys = ["NULL"] * len(keys)
    no_data = [f"NULL AS {quote(c)}" for c in data]
    no_meta = [f"NULL AS {quote(c)}" for c in plan.meta_columns]
    never = "CAST(NULL AS TIMESTAMP_NTZ)"
    new_data = [f"changes.{quote(c)}" if c in src_cols else f"NULL AS {quote(c)}" for c in data]
    new_meta = _insert_meta(plan, f"changes.{opened}", f"changes.{opened_ua}", "changes", "FALSE")
    changed_keys = [f"changes.{quote(MERGE_KEY.format(i))}" for i in range(1, len(keys) + 1)]
    branches = [
        # close the current version of a changed (or returning, new_record) key
        f"SELECT {row('close', changed_keys, f'changes.{opened}', no_data, no_meta)}\n"
        f"FROM changes WHERE changes.{quote(MERGE_KEY.format(1))} IS NOT NULL",
        # open its new version, or the first version of a new key
        f"SELECT {row('insert', no_keys, never, new_data, new_meta)}\nFROM changes",
    ]
    if cfg.hard_deletes != "ignore":
        live = f" AND NOT cur.{quote(m.is_deleted)}" if new_record else ""
        guard_join = guard_where = ""
        if plan.guard_deletes:
            # a row with an unusable key may be any current key that agrees with it on the key
            # parts it has: those keys are not treated as deleted (the row is not "absent")
            key_list = ", ".join(quote(k) for k in keys)
            could_be = " AND ".join(
                f"({unusable_key_part(plan, k, 'bad')} OR bad.{quote(k)} = cur.{quote(k)})" for k in keys
            )
            ctes.append(
                f"bad AS (\n  SELECT {key_list} FROM ({wrap(plan.source_sql)}) AS b\n"
                f"  WHERE {unusable_key(plan, 'b')}\n)"
            )
            ctes.append(
                f"guarded AS (\n  SELECT DISTINCT {', '.join(f'cur.{quote(k)}' for k in keys)}\n"
                f"  FROM cur JOIN bad ON {could_be}\n)"
            )
            guard_join = " LEFT JOIN guarded ON " + " AND ".join(f"guarded.{quote(k)} = cur.{quote(k)}" for k in keys)
            guard_where = f" AND guarded.{k0} IS NULL"
        ctes.append(
            f"deletes AS (\n  SELECT cur.* FROM cur LEFT JOIN src ON {on_keys}{guard_join}\n"
            f"  WHERE src.{k0} IS NULL{guard_where}{live}\n)"
        )
        deleted_keys = [f"deletes.{quote(k)}" for k in keys]
        branches.append(f"SELECT {row('close', deleted_keys, run_ts, no_data, no_meta)}\nFROM deletes")
        if new_record:
            data_ = [f"deletes.{quote(c)}" for c in data]
            meta = _insert_meta(plan, run_ts, run_ts, "deletes", "TRUE")
            branches.append(f"SELECT {row('insert', no_keys, never, data_, meta)}\nFROM deletes")
    source = "WITH " + ",\n".join(ctes) + "\nSELECT * FROM (\n" + "\nUNION ALL\n".join(branches) + "\n)"
    return VersionChanges(source, tuple(keys), m.is_current, m.valid_to, (*data, *plan.meta_columns))


def sql_type(datatype: Any) -> str:
    """The Snowflake type of a Snowpark column type, for ALTER TABLE ... ADD COLUMN."""
    from snowflake.snowpark._internal.type_utils import convert_sp_to_sf_type
    from snowflake.snowpark.types import StringType

    if isinstance(datatype, StringType):
        return "VARCHAR"
    return convert_sp_to_sf_type(datatype)


def duplicate_message(name: str, keys: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """`snap_tags: 2 duplicate keys in the source, e.g. (user_id=1, movie_id=5, tag='funny') x2`."""
    total = int(rows[0][-1])
    examples = ", ".join(
        "(" + ", ".join(f"{k.lower()}={literal(v)}" for k, v in zip(keys, r, strict=False)) + f") x{int(r[-2])}"
        for r in rows
    )
    return f"{name}: {total} duplicate key{'s' if total != 1 else ''} in the source, e.g. {examples}"
