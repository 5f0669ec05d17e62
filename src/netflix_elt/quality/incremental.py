"""Incremental data tests: after an incremental merge, prove a suite from the rows that changed.

A table an incremental MERGE wrote (or a RAW table a load appended to) differs from the table
whose suite last passed only in its rows whose load column (`_load_id`) is beyond the watermark
recorded when it passed (`Passed`, kept in AUDIT.TEST_STATE): the MERGE writes every row it
inserts or updates with the new load's id, a load appends rows with a new id, and a full
rebuild forgets the state. So each expectation is proved one of four ways (`Scope.plan`):

* `changed_rows`: a row-local check (not null, ranges, in set, regex, a relationship whose other
  table has not changed) fails on the whole table exactly when it fails on the changed rows, with
  the same unexpected count (every other row passed it and is unchanged). GX runs it on a batch
  of those rows (a query asset).
* `changed_keys`: a uniqueness check (GROUP BY key HAVING COUNT(*) > 1, or GX's unique) runs on
  every row that shares a key with a changed row: a duplicate among unchanged rows would have
  failed before, so every duplicated key is among those, and its group is complete there.
* a delta query (`incremental: {unexpected_rows_query: ...}`): a reconciliation written from the
  previous passing state (`{passed:rows}`, the table's row count then; `{passed:loads:NAME}`, the
  newest load of source NAME then) plus what the loads since then add.
* `whole_table`: everything else, and any expectation that did not pass last time, was edited
  since, or reads another table that changed since (a relationship to a rebuilt dimension).

`validate --full`, `build --full-refresh` and a full build run every expectation on whole tables.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netflix_elt.quality.suites import MACROS, REF, ExpectationSpec, Suite, SuiteError
from netflix_elt.sql import literal, quote

if TYPE_CHECKING:
    from netflix_elt.build_state import BuildState
    from netflix_elt.registry import Node

LOAD_COLUMN = "_load_id"  # the column every RAW table and incremental node carries
WHOLE, CHANGED_ROWS, CHANGED_KEYS, DELTA = "whole_table", "changed_rows", "changed_keys", "delta"
# GX's built-ins whose verdict is the OR of a verdict per row (without `mostly`, which makes it a ratio)
ROW_LOCAL = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_pair_values_a_to_be_greater_than_b",
        *MACROS,
    }
)
# GX's built-ins that count rows sharing a value: proved on the rows sharing a changed row's key
KEYED = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})
PASSED = re.compile(r"\{passed:(rows|loads:([A-Za-z_][A-Za-z0-9_]*))\}")


def spec_hash(spec: ExpectationSpec) -> str:
    """What must be unchanged for a pass to count: the expectation as written."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]


def _gx_keys(spec: ExpectationSpec) -> list[str]:
    k = spec.kwargs
    return [str(c).lower() for c in k.get("column_list") or ([k["column"]] if "column" in k else [])]


def mode_of(spec: ExpectationSpec) -> tuple[str, Any]:
    """(how, detail): the declared `incremental:` or, unset, what the type implies."""
    inc = spec.incremental
    if isinstance(inc, dict):
        if "changed_keys" in inc:
            return CHANGED_KEYS, [str(c).lower() for c in inc["changed_keys"]]
        return DELTA, str(inc["unexpected_rows_query"])
    if inc is not None:
        return (CHANGED_KEYS, _gx_keys(spec)) if inc == CHANGED_KEYS else (inc, None)
    if spec.type in ROW_LOCAL and spec.kwargs.get("mostly", 1) == 1:
        return CHANGED_ROWS, None
    return WHOLE, None


def check_incremental(where: str, spec: ExpectationSpec, known: Iterable[str]) -> None:
    """An `incremental:` that says what it proves: a SuiteError naming the file and expectation otherwise."""
    inc = spec.incremental
    custom = spec.type == "unexpected_rows_expectation"
    if isinstance(inc, str):
        if inc not in (WHOLE, CHANGED_ROWS, CHANGED_KEYS):
            raise SuiteError(f"{where}: incremental {inc!r} is not one of {WHOLE}, {CHANGED_ROWS}, {CHANGED_KEYS}")
        if inc == CHANGED_ROWS and not (custom or spec.type in ROW_LOCAL):
            raise SuiteError(f"{where}: incremental changed_rows is for row-local checks, not {spec.type}")
        if inc == CHANGED_KEYS and not (spec.type in KEYED and _gx_keys(spec)):
            raise SuiteError(f"{where}: incremental changed_keys needs its key columns: {{changed_keys: [a, b]}}")
        return
    if not isinstance(inc, dict) or len(inc) != 1 or not ({"changed_keys", "unexpected_rows_query"} & set(inc)):
        raise SuiteError(
            f"{where}: incremental takes a word or {{changed_keys: [...]}} / {{unexpected_rows_query: ...}}"
        )
    if "changed_keys" in inc:
        keys = inc["changed_keys"]
        if not (custom or spec.type in KEYED) or not isinstance(keys, list) or not keys:
            raise SuiteError(f"{where}: incremental changed_keys is a list of key columns of a uniqueness check")
        return
    query = inc["unexpected_rows_query"]
    if not custom or not isinstance(query, str) or "{batch}" not in query:
        raise SuiteError(
            f"{where}: an incremental unexpected_rows_query replaces an unexpected_rows_expectation's, "
            "and reads {batch}"
        )
    extra = {r.lower() for r in REF.findall(query)} - set(spec.refs())
    if extra:
        ref = sorted(extra)[0]
        raise SuiteError(f"{where}: the incremental query reads {{ref:{ref}}}, which the full one does not")
    for m in PASSED.finditer(query):
        if m.group(2) and m.group(2).lower() not in set(known):
            raise SuiteError(f"{where}: {m.group(0)} names no node of the project")


@dataclass(frozen=True)
class Passed:
    """A suite's last passing state: the watermark its table was proved to, its row count then, the
    newest load of each source a delta query reads, the fingerprints of the tables it read, and the
    hash of every expectation that passed (one that failed or warned is not there: it runs whole)."""

    watermark: Any
    fingerprint: str
    labels: dict[str, str]
    rows: int | None = None
    loads: dict[str, int] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"watermark": self.watermark, "fingerprint": self.fingerprint, "labels": self.labels,
                "rows": self.rows, "loads": self.loads, "refs": self.refs}  # fmt: skip

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Passed | None:
        try:
            return cls(**value) if value else None
        except TypeError:  # written by another version: as if nothing had passed
            return None

    def covers(self, suite: Suite) -> bool:
        """Every expectation of the suite, as written now, passed."""
        return all(self.labels.get(s.label) == spec_hash(s) for s in suite.expectations)


@dataclass(frozen=True)
class Scope:
    """A suite run on what changed since `previous` passed: the rows whose `column` is beyond `since`."""

    relation: str
    column: str
    previous: Passed
    changed_refs: frozenset[str] = frozenset()

    @property
    def since(self) -> Any:
        return self.previous.watermark

    @property
    def since_sql(self) -> str:
        return literal(self.since)

    def changed_rows_sql(self) -> str:
        return f"SELECT * FROM {self.relation} WHERE {quote(self.column)} > {literal(self.since)}"

    def changed_keys_sql(self, keys: list[str]) -> str:
        """Every row sharing its key with a changed row (NULL matching NULL, as GROUP BY groups them)."""
        same = " AND ".join(f"c.{quote(k)} IS NOT DISTINCT FROM t.{quote(k)}" for k in keys)
        return (
            f"SELECT t.* FROM {self.relation} AS t WHERE EXISTS (SELECT 1 FROM {self.relation} AS c "
            f"WHERE c.{quote(self.column)} > {literal(self.since)} AND {same})"
        )

    def plan(self, spec: ExpectationSpec) -> tuple[str, Any]:
        """(how, detail) for one expectation; WHOLE when the previous pass does not cover it."""
        if self.previous.labels.get(spec.label) != spec_hash(spec):
            return WHOLE, "did not pass on the previous state, or was edited since"
        how, detail = mode_of(spec)
        if how in (CHANGED_ROWS, CHANGED_KEYS) and set(spec.refs()) & self.changed_refs:
            return WHOLE, f"reads {', '.join(sorted(set(spec.refs()) & self.changed_refs))}, changed since it passed"
        if how == DELTA:
            try:
                return DELTA, self.delta_query(detail)
            except KeyError as e:
                return WHOLE, f"no previous {e.args[0]}"
        return how, detail

    def delta_query(self, query: str) -> str:
        """The delta query with the previous passing state's values in place of `{passed:...}`."""

        def value(m: re.Match[str]) -> str:
            if m.group(1) == "rows":
                if self.previous.rows is None:
                    raise KeyError("row count")
                return str(int(self.previous.rows))
            name = m.group(2).lower()
            if name not in self.previous.loads:
                raise KeyError(f"load of {name}")
            return str(int(self.previous.loads[name]))

        return PASSED.sub(value, query)


def batch_sql(scope: Scope, how: str, detail: Any) -> str | None:
    """The query of a scoped GX batch (None: the whole table)."""
    if how == CHANGED_ROWS:
        return scope.changed_rows_sql()
    if how == CHANGED_KEYS:
        return scope.changed_keys_sql(list(detail))
    return None


def batch_key(how: str, detail: Any) -> str:
    """One GX batch per distinct query: `whole_table`, `changed_rows`, `changed_keys(a, b)`."""
    if how == CHANGED_KEYS:
        return f"{CHANGED_KEYS}({', '.join(detail)})"
    return CHANGED_ROWS if how == CHANGED_ROWS else WHOLE


@dataclass
class Batch:
    """One GX batch of a suite: its asset's name, its query (None: the whole table), its expectations
    as (spec, how, detail) of Scope.plan, and its row count (counted for a scoped batch only)."""

    gx_name: str
    query: str | None
    specs: list[tuple[ExpectationSpec, str, Any]]
    rows: int | None = None


def describe(scope: Scope | None, batch: Batch, spec: ExpectationSpec) -> str:
    """What an expectation ran on, as results and run_results.json say it."""
    from netflix_elt.quality.results import WHOLE_TABLE

    if scope is None:
        return WHOLE_TABLE
    since = f"{scope.column} > {scope.since_sql}"
    for s, how, detail in batch.specs:
        if s is spec:
            if how == DELTA:
                return f"delta: the previous passing state plus {since}"
            if how == WHOLE:
                return f"{WHOLE_TABLE} ({detail})" if detail else WHOLE_TABLE
            if how == CHANGED_ROWS:
                return f"changed rows ({since})"
            return f"rows sharing a key ({', '.join(detail)}) with a changed row ({since})"
    return WHOLE_TABLE


def loads_named(suite: Suite) -> set[str]:
    """Sources whose newest load a delta query of the suite reads (`{passed:loads:NAME}`)."""
    out: set[str] = set()
    for spec in suite.expectations:
        if isinstance(spec.incremental, dict):
            out |= {m.group(2).lower() for m in PASSED.finditer(str(spec.incremental.get("unexpected_rows_query", "")))
                    if m.group(2)}  # fmt: skip
    return out


def newest_load(state: BuildState, source: str) -> int | None:
    """The newest LOADED load id of a source's RAW table (LOAD_HISTORY, read once per command)."""
    table = state.settings.config.sources[source].table
    version = state.source_versions().get(table)
    return int(version.split(":")[0]) if version else None


def watermark_of(state: BuildState, node: Node) -> Any:
    """How far a table's rows are known: a source's newest load, an incremental node's watermark."""
    from netflix_elt.build_state import WatermarkStore
    from netflix_elt.registry import Kind

    if node.kind == Kind.SOURCE:
        return newest_load(state, node.name)
    return WatermarkStore(state.session, state.settings).get(node.name)


def can_scope(node: Node) -> bool:
    """Tables whose changes are all rows beyond a load watermark: RAW tables and incremental nodes."""
    from netflix_elt.registry import Kind

    key = (node.incremental_key or "").lower()
    return node.kind == Kind.SOURCE or (node.materialized == "incremental" and key == LOAD_COLUMN)
