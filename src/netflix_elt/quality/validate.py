"""Run expectation suites with Great Expectations, inside the engine, one GX batch per table.

GX talks to the warehouse through its Snowflake (SQLAlchemy) datasource, whose URL and
connection the engine adapter gives (`adapter.gx_connection()`: on the embedded engine GX borrows
the Snowpark session's connection, on Snowflake it opens its own to the same account). Every
expectation becomes SQL that runs where the data is; only counts and at most five sample rows per
failing expectation come back. One ValidationDefinition per suite (a whole-table batch) lets GX
bundle the table's metric queries instead of querying once per expectation; it runs through a
Checkpoint whose actions render Data Docs and append failures to AUDIT.TEST_FAILURES
(gx_context.checkpoint), and its result is kept in a folder so Data Docs show every command's.
A suite given a `Scope` (after an incremental merge, quality.incremental) gets up to three
batches instead: the changed rows, the rows sharing a changed key, and the whole table.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.compiler import relation_of
from netflix_elt.config import Settings
from netflix_elt.quality import audit
from netflix_elt.quality.incremental import DELTA, WHOLE, Batch, Scope, batch_key, batch_sql, describe
from netflix_elt.quality.results import (
    NOT_BUILT,
    ExpectationResult,
    ValidationReport,
    as_node_result,
    exception_message,
    literals,
)
from netflix_elt.quality.suites import (
    MACROS,
    ExpectationSpec,
    Suite,
    SuiteError,
    check_suites_with_gx,
    load_suites,
    resolve_refs,
)
from netflix_elt.registry import Project
from netflix_elt.sql import first_line, quote, string

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from netflix_elt.adapters import Adapter
    from netflix_elt.quality.scopes import Scopes

SAMPLE_SIZE = 5
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": SAMPLE_SIZE}
DATASOURCE = "netflix_elt"
# Changed-row batches (a query) get their own datasource whose engine materializes each batch once as a
# temporary table: GX otherwise runs the bare query to learn its columns and fetches every changed row.
CHANGED_ROWS_DATASOURCE = "netflix_elt_changed_rows"
AUDIT_TABLE = audit.AUDIT_TABLE


class DataValidator:
    """Suites + one GX context for one command; thread-safe (GX is not)."""

    def __init__(self, settings: Settings, project: Project, adapter: Adapter, invocation_id: str) -> None:
        self.settings = settings
        self.project = project
        self.adapter = adapter
        self.invocation_id = invocation_id
        self._lock = threading.RLock()
        self._suites: dict[str, Suite] | None = None
        self._unchecked: dict[str, Suite] | None = None  # read without GX (suite_names)
        self._preparing: threading.Thread | None = None  # prepare_in_background's thread
        self._prepare_error: BaseException | None = None
        self._context: Any = None
        self._datasource: Any = None
        self._changed_rows: Any = None  # CHANGED_ROWS_DATASOURCE
        self._validated: set[str] = set()
        self._known_columns: dict[str, list[str] | None] | None = None  # set for one validate()
        self.audited = 0  # rows the checkpoints' audit action appended in this command
        self._undocumented: list[Any] = []  # validation results whose Data Docs pages are not rendered yet

    @property
    def session(self) -> Session:
        return self.adapter.session

    # suites and relations ------------------------------------------------------------------
    @property
    def suites(self) -> dict[str, Suite]:
        if self._suites is None:
            if self._preparing is not None:
                self._preparing.join()
                if self._prepare_error is not None:
                    raise self._prepare_error
                self._suites = self._unchecked
            else:
                self._suites = {s.name: s for s in load_suites(self.settings, self.project)}
        assert self._suites is not None
        return self._suites

    def suite_names(self) -> set[str]:
        """The tables with a suite, from the files alone (no GX import): what a graph is planned from."""
        if self._suites is not None:
            return set(self._suites)
        if self._unchecked is None:
            self._unchecked = {s.name: s for s in load_suites(self.settings, self.project, gx_check=False)}
        return set(self._unchecked)

    def prepare_in_background(self) -> None:
        """Import GX and check the suites `suite_names` read against it on a thread, while the caller loads.

        Importing GX takes seconds (it imports scipy, altair, ...), nearly all of a small build's
        tests; the load's parsing runs in DuckDB and pyarrow, which release the GIL. `suites`
        waits for the thread and raises what the check found.
        """
        if self._suites is not None or self._preparing is not None:
            return
        self.suite_names()
        unchecked = self._unchecked
        assert unchecked is not None

        def prepare() -> None:
            try:
                check_suites_with_gx(unchecked.values())
            except BaseException as e:  # re-raised by `suites` in the caller's thread
                self._prepare_error = e

        self._preparing = threading.Thread(target=prepare, name="netflix-elt-gx-import", daemon=True)
        self._preparing.start()

    def relation_of(self, name: str, folder: str | None = None) -> str:
        """Where a node's table lives; a snapshot not yet in the project lives in SNAPSHOTS."""
        s = self.settings
        node = self.project.nodes.get(name)
        if node is None:
            if folder == "snapshots":
                return s.fqn(s.snapshot_schema, name)
            raise SuiteError(f"no node named {name!r}")
        return relation_of(s, node)

    def _relations(self) -> dict[str, str]:
        out = {}
        for n in self.project.nodes.values():
            if n.builds:
                out[n.name] = self.relation_of(n.name)
        return out

    def table_columns(self, relation: str) -> list[str] | None:
        """Columns of a table or view (lower-case), or None when it does not exist."""
        return self.columns_of([relation])[relation]

    def columns_of(self, relations: Iterable[str]) -> dict[str, list[str] | None]:
        """Columns (lower-case) of several tables, None for a missing one: one query per database.

        Inside `validate` the answer for every selected suite and the tables they reference is
        fetched once (`_known_columns`), not once per suite and once per `{ref:}`.
        """
        wanted = list(dict.fromkeys(relations))
        out: dict[str, list[str] | None] = {}
        todo: dict[str, dict[tuple[str, str], str]] = {}
        for rel in wanted:
            if self._known_columns is not None and rel in self._known_columns:
                out[rel] = self._known_columns[rel]
                continue
            db, schema, name = rel.split(".")
            todo.setdefault(db, {})[(schema, name)] = rel
        for db, pairs in todo.items():
            cond = " OR ".join(f"(TABLE_SCHEMA = {string(s)} AND TABLE_NAME = {string(n)})" for s, n in sorted(pairs))
            rows = self.session.sql(
                f"SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM {db}.INFORMATION_SCHEMA.COLUMNS "
                f"WHERE {cond} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
            ).collect()
            found: dict[str, list[str]] = {}
            for r in rows:
                rel = pairs.get((str(r[0]), str(r[1])))
                if rel is not None:
                    found.setdefault(rel, []).append(str(r[2]).lower())
            for rel in pairs.values():
                out[rel] = found.get(rel) or None
        return {rel: out[rel] for rel in wanted}

    # GX --------------------------------------------------------------------------------------
    @property
    def docs_dir(self) -> Path:
        return self.settings.target_dir / "data_docs"

    def _gx(self) -> Any:
        if self._context is None:
            from netflix_elt.quality.gx_context import make_context

            ctx = make_context(self.settings.target_dir, self.docs_dir)
            url, engine_kwargs = self.adapter.gx_connection()
            self._datasource = ctx.data_sources.add_snowflake(DATASOURCE, connection_string=url, kwargs=engine_kwargs)
            self._context = ctx
        return self._context

    def _changed_rows_source(self, ctx: Any) -> Any:
        """The datasource of changed-rows batches, added when the first one runs (a whole-table
        validation never connects it); on Snowflake it is GX's second connection."""
        if self._changed_rows is None:
            url, engine_kwargs = self.adapter.gx_connection()
            self._changed_rows = ctx.data_sources.add_snowflake(
                CHANGED_ROWS_DATASOURCE, connection_string=url, kwargs=engine_kwargs, create_temp_table=True
            )
        return self._changed_rows

    def _gx_expectation(
        self,
        suite: Suite,
        spec: ExpectationSpec,
        columns: list[str],
        relation_of: dict[str, str],
        delta_query: str | None = None,
    ) -> tuple[Any, dict[str, Any], str]:
        """The GX expectation of a spec; `delta_query` is the incremental query that replaces its own."""
        from great_expectations.expectations.registry import get_expectation_impl

        kwargs = dict(spec.kwargs)
        if delta_query is not None:
            kwargs["unexpected_rows_query"] = delta_query
        gx_type = spec.type
        if spec.type == "no_nulls_in_columns":
            wanted = [c.lower() for c in kwargs.get("columns") or columns]
            skip = {c.lower() for c in kwargs.get("exclude") or ()}
            cols = [c for c in wanted if c not in skip]
            cond = " OR ".join(f"{quote(c)} IS NULL" for c in cols) or "FALSE"
            kwargs = {"unexpected_rows_query": f"SELECT * FROM {{batch}} WHERE {cond}"}
            gx_type = "unexpected_rows_expectation"
        impl: Any
        if "other_table_name" in kwargs:
            kwargs["other_table_name"] = self._other_table(suite, spec, str(kwargs["other_table_name"]), relation_of)
        if gx_type == "unexpected_rows_expectation":
            from netflix_elt.quality.gx_ext import UnexpectedRowsCountExpectation

            impl = UnexpectedRowsCountExpectation  # GX's own runs the query twice
        else:
            impl = get_expectation_impl(spec.type)
        if "unexpected_rows_query" in kwargs:
            kwargs["unexpected_rows_query"] = resolve_refs(str(kwargs["unexpected_rows_query"]), relation_of)
        for k in ("column", "column_A", "column_B"):
            if k in kwargs:
                kwargs[k] = str(kwargs[k]).lower()
        for k in ("column_list", "column_set"):
            if k in kwargs:
                kwargs[k] = [str(c).lower() for c in kwargs[k]]
        meta = {"netflix_elt_severity": spec.severity, "netflix_elt_label": spec.label, "netflix_elt_type": gx_type}
        exp = impl(**kwargs, meta=meta, notes=spec.description or None, severity=spec.gx_severity)
        return exp, kwargs, gx_type

    def _other_table(self, suite: Suite, spec: ExpectationSpec, value: str, relation_of: dict[str, str]) -> str:
        """GX looks the other table up in the batch's schema: `{ref:x}` must live there too."""
        other = resolve_refs(value, relation_of)
        if other.count(".") != 2:
            return other.lower()
        mine = relation_of[suite.name].rsplit(".", 1)[0]
        schema, table = other.rsplit(".", 1)
        if schema != mine:
            raise SuiteError(
                f"{suite.where(spec)}: other_table_name {value!r} is {other}, not in {mine}; GX compares "
                "row counts within the batch's schema (use an unexpected_rows_expectation across schemas)"
            )
        return table.lower()

    def check_columns(self, suite: Suite, columns: list[str]) -> None:
        """A column named in a suite but absent from the table is the suite's error, not a failure."""
        have = set(columns)
        for spec in suite.expectations:
            missing = [c for c in spec.columns() if c not in have]
            if missing:
                raise SuiteError(
                    f"{suite.where(spec)}: column {missing[0]!r} is not in the table (columns: {', '.join(columns)})"
                )

    def run_suite(self, suite: Suite, *, docs: bool = False, scope: Scope | None = None) -> list[ExpectationResult]:
        """Validate one table with its suite (one checkpoint; one GX batch, or up to three with a
        `scope`); a missing table is 'not built'."""
        return self.run_suites([suite], docs=docs, scopes={suite.name: scope} if scope else None)

    def run_suites(
        self, suites: list[Suite], *, docs: bool = True, scopes: Mapping[str, Scope | None] | None = None
    ) -> list[ExpectationResult]:
        """Validate tables, one GX batch each (more for a suite in `scopes`), all through one
        Checkpoint run whose actions append the failures to the audit table and, with `docs`,
        render their Data Docs pages (`build` tests node by node and renders the pages once at
        its end: `build_docs`)."""
        out: dict[str, list[ExpectationResult]] = {}
        runnable: list[_Prepared] = []
        for suite in suites:
            prepared = self._prepare(suite, (scopes or {}).get(suite.name))
            if isinstance(prepared, list):
                out[suite.name] = prepared
                continue
            out[suite.name] = prepared.waiting_results()
            if len(prepared.waiting) < len(suite.expectations):
                runnable.append(prepared)
        if runnable:
            with self._lock:
                for name, results in self._run_gx(runnable, docs=docs).items():
                    out[name] = results + out[name]
        flat: list[ExpectationResult] = []
        for suite in suites:
            order = {s.label: i for i, s in enumerate(suite.expectations)}
            flat += sorted(out[suite.name], key=lambda r: order.get(r.expectation, -1))
        return flat

    def _prepare(self, suite: Suite, scope: Scope | None = None) -> _Prepared | list[ExpectationResult]:
        """The suite's table and columns, or its 'not built' row; expectations waiting for a table."""
        relation = self.relation_of(suite.name, suite.folder)
        refs = {ref: self.relation_of(ref) for spec in suite.expectations for ref in spec.refs()}
        known = self.columns_of([relation, *refs.values()])
        columns = known[relation]
        if columns is None:
            defined = suite.name in self.project.nodes
            why = "not built yet" if defined else "not defined in the project yet"
            msg = f"{relation} does not exist: {suite.name} is {why}"
            return [ExpectationResult(suite.name, "(all)", "-", "-", NOT_BUILT, message=msg, relation=relation)]
        self.check_columns(suite, columns)
        # an expectation reading another table (a relationship, a reconciliation) waits for it,
        # as dbt runs a relationships test only once both models are built
        waiting: dict[str, str] = {}
        for spec in suite.expectations:
            for ref in spec.refs():
                ref_rel = refs[ref]
                if known[ref_rel] is None:
                    waiting[spec.label] = f"{ref_rel} does not exist: {ref} is not built yet"
        if scope is not None and scope.column not in columns:
            scope = None  # no load column to tell the changed rows by: the whole table
        return _Prepared(suite, relation, columns, waiting, scope)

    def _batches(self, prep: _Prepared) -> dict[str, Batch]:
        """The suite's GX batches: the whole table, and with a scope the changed rows and the rows
        sharing a changed key, each with the expectations proved on it (a delta query's on the whole)."""
        out: dict[str, Batch] = {}
        name, scope = prep.suite.name, prep.scope
        for spec in prep.suite.expectations:
            if spec.label in prep.waiting:
                continue
            how, detail = (WHOLE, None) if scope is None else scope.plan(spec)
            key = batch_key(how, detail)
            if key not in out:
                query = batch_sql(scope, how, detail) if scope is not None else None
                gx_name = name if query is None else f"{name}__{key.replace('(', '_').replace(', ', '_').rstrip(')')}"
                out[key] = Batch(gx_name, query, [])
            out[key].specs.append((spec, how, detail))
        return out

    def _count(self, prep: _Prepared, batches: dict[str, Batch]) -> None:
        """The changed rows' count (a filter on the load column: cheap), reported with the results
        of the changed-rows batch. The key batch is not counted: that would cost its check again."""
        scope = prep.scope
        changed = next((b for b in batches.values() if b.gx_name.endswith("__changed_rows")), None)
        if scope is not None and changed is not None:
            changed.rows = int(self.session.sql(f"SELECT COUNT(*) FROM ({changed.query})").collect()[0][0])

    def _run_gx(self, prepared: list[_Prepared], *, docs: bool) -> dict[str, list[ExpectationResult]]:
        from netflix_elt.quality.gx_import import import_gx

        gx = import_gx()  # before any other GX module: it defers scipy.stats
        from great_expectations.core.run_identifier import RunIdentifier

        from netflix_elt.quality.gx_context import checkpoint

        started = time.perf_counter()
        ctx = self._gx()
        relations = self._relations()
        by_suite: dict[str, tuple[_Prepared, Batch, dict[str, tuple[ExpectationSpec, dict[str, Any], str]]]] = {}
        definitions = []
        for prep in prepared:
            suite, relation = prep.suite, prep.relation
            relation_of = {**relations, suite.name: relation}
            _, schema, table = relation.split(".")
            batches = self._batches(prep)
            self._count(prep, batches)
            for batch_info in batches.values():
                name = batch_info.gx_name
                if name in self._validated:  # a second run in one command: replace the old definitions
                    with contextlib.suppress(Exception):
                        ctx.validation_definitions.delete(name)
                    with contextlib.suppress(Exception):
                        ctx.suites.delete(name)
                    for source in (self._datasource, self._changed_rows):
                        if source is not None:
                            with contextlib.suppress(Exception):
                                source.delete_asset(name)
                if batch_info.query is None:
                    asset = self._datasource.add_table_asset(name, table_name=table.lower(), schema_name=schema.lower())
                else:
                    asset = self._changed_rows_source(ctx).add_query_asset(name, query=batch_info.query)
                batch = asset.add_batch_definition_whole_table("whole_table")
                gx_suite = ctx.suites.add(gx.ExpectationSuite(name=name, meta={"file": suite.file.name}))
                by_label: dict[str, tuple[ExpectationSpec, dict[str, Any], str]] = {}
                for spec, how, detail in batch_info.specs:
                    query = detail if how == DELTA else None
                    exp, kwargs, gx_type = self._gx_expectation(suite, spec, prep.columns, relation_of, query)
                    gx_suite.add_expectation(exp)
                    by_label[spec.label] = (spec, kwargs, gx_type)
                definitions.append(
                    ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=gx_suite))
                )
                self._validated.add(name)
                by_suite[name] = (prep, batch_info, by_label)
        results: dict[str, list[ExpectationResult]] = {}

        def audit_sink(checkpoint_result: Any) -> int:
            """The audit action's work: netflix-elt's rows (samples fetched for failures), then the INSERT."""
            for result_id, outcome in checkpoint_result.run_results.items():
                self._undocumented.append(result_id)
                prep, batch_info, by_label = by_suite[outcome.suite_name]
                rows = results.setdefault(prep.suite.name, [])
                source = prep.relation if batch_info.query is None else f"({batch_info.query})"
                for er in outcome.results:
                    spec, kwargs, gx_type = by_label[er.expectation_config.meta["netflix_elt_label"]]
                    r = self._result(prep.suite, spec, kwargs, gx_type, er, prep.relation, source)
                    r.scope, r.rows_checked = describe(prep.scope, batch_info, spec), batch_info.rows
                    rows.append(r)
            flat = [r for rows in results.values() for r in rows]
            n = audit.record_failures(self.session, self.settings, self.invocation_id, flat)
            self.audited += n
            return n

        cp = checkpoint(ctx, definitions, audit_sink, RESULT_FORMAT, docs=docs)
        cp.run(run_id=RunIdentifier(run_name=self.invocation_id))
        if docs:
            self._undocumented.clear()
        elapsed = time.perf_counter() - started
        n_results = sum(len(rows) for rows in results.values())
        for rows in results.values():
            for r in rows:
                r.execution_time = elapsed / max(1, n_results)
        return results

    def _result(
        self,
        suite: Suite,
        spec: ExpectationSpec,
        kwargs: dict[str, Any],
        gx_type: str,
        er: Any,
        relation: str,
        source: str | None = None,
    ) -> ExpectationResult:
        """One expectation's row; `source` is what its failing rows are sampled from (its batch)."""
        res = dict(er.result or {})
        error = exception_message(er.exception_info)
        if error:
            return ExpectationResult(
                suite.name, spec.label, gx_type, spec.severity, "error", message=error, relation=relation
            )
        if gx_type == "unexpected_rows_expectation":
            count = int(res.get("observed_value") or 0)
        elif "unexpected_count" in res:
            count = int(res["unexpected_count"] or 0)
        else:
            count = None
        if er.success:
            return ExpectationResult(suite.name, spec.label, gx_type, spec.severity, "pass", count, relation=relation)
        status = "fail" if spec.severity == "error" else "warn"
        sample = self._sample(spec, kwargs, gx_type, res, source or relation)
        message = "" if count is not None else f"observed {json.dumps(res.get('observed_value'), default=str)}"
        return ExpectationResult(
            suite.name, spec.label, gx_type, spec.severity, status, count, sample, message, relation
        )

    def _sample(
        self, spec: ExpectationSpec, kwargs: dict[str, Any], gx_type: str, res: dict[str, Any], relation: str
    ) -> list[Any]:
        """Up to five failing rows or values, always fetched with a LIMIT inside the engine."""
        sql = None
        if gx_type == "unexpected_rows_expectation":
            sql = str(kwargs["unexpected_rows_query"]).replace("{batch}", relation)
        elif gx_type == "expect_column_values_to_not_be_null":
            sql = f"SELECT * FROM {relation} WHERE {quote(kwargs['column'])} IS NULL"
        elif gx_type == "expect_column_values_to_be_in_set" and literals(kwargs.get("value_set")):
            col = quote(kwargs["column"])  # the failing rows, not only their values
            sql = f"SELECT * FROM {relation} WHERE {col} IS NOT NULL AND {col} NOT IN ({literals(kwargs['value_set'])})"
        if sql is not None:
            try:
                df = self.session.sql(f"SELECT * FROM ({sql}) LIMIT {SAMPLE_SIZE}")
                return [{k.lower(): v for k, v in r.as_dict().items()} for r in df.collect()]
            except Exception as e:  # the sample is a courtesy; the count already says it failed
                return [f"(sample query failed: {first_line(e)})"]
        if res.get("partial_unexpected_list"):
            return list(res["partial_unexpected_list"])[:SAMPLE_SIZE]
        if "observed_value" in res:
            return [{"observed_value": res["observed_value"]}]
        return []

    # audit and docs --------------------------------------------------------------------------
    def record_failures(self, results: list[ExpectationResult]) -> int:
        """Append failing expectations (fail, warn, error) to AUDIT.TEST_FAILURES for this invocation
        (the checkpoints' audit action does it for what GX ran; this is for results made elsewhere)."""
        return audit.record_failures(self.session, self.settings, self.invocation_id, results)

    def build_docs(self) -> Path | None:
        """The Data Docs index (None if nothing ran through GX in this command). `validate`'s
        checkpoint rendered its pages; `build`'s checkpoints leave them to this one render of the
        pages of the results they made, plus the index, which lists earlier commands' too."""
        if self._context is None or not self._validated:
            return None
        if self._undocumented:
            from netflix_elt.quality.gx_context import SITE, pages_of

            with self._lock:
                self._context.build_data_docs(site_names=[SITE], resource_identifiers=pages_of(self._undocumented))
            self._undocumented.clear()
        index = self.docs_dir / "index.html"
        return index if index.is_file() else None

    def validate(
        self,
        names: list[str] | None = None,
        on_suite: Callable[[Suite, list[ExpectationResult], int], None] | None = None,
        scopes: Scopes | None = None,
    ) -> list[ExpectationResult]:
        """Run the suites of the named nodes (all suites when None), in suite-name order;
        `on_suite(suite, results, expectations in all)` hears of each suite once the checkpoint ran.
        With `scopes`, a table that only gained loads since its suite passed is tested on those, and
        what passed is recorded for the next command."""
        chosen = [s for n, s in sorted(self.suites.items()) if names is None or n in names]
        nodes = {s.name: self.project.nodes[s.name] for s in chosen if s.name in self.project.nodes}
        scoped = {n: scopes.decide(node, self.suites[n]) for n, node in nodes.items()} if scopes else None
        planned = sum(len(s.expectations) for s in chosen)
        relations: list[str] = []
        for suite in chosen:
            relations.append(self.relation_of(suite.name, suite.folder))
            for spec in suite.expectations:
                relations += [self.relation_of(ref) for ref in spec.refs()]
        self._known_columns = self.columns_of(relations)  # one metadata query, not one per suite
        try:
            results = self.run_suites(chosen, docs=True, scopes=scoped)  # one Checkpoint run for all of them
        finally:
            self._known_columns = None
        for name, node in nodes.items() if scopes is not None else ():
            scopes.record(node, self.suites[name], [r for r in results if r.suite == name])
        if on_suite is not None:  # the checkpoint reports every suite at once: in suite order
            for suite in chosen:
                on_suite(suite, [r for r in results if r.suite == suite.name], planned)
        return results

    def close(self) -> None:
        for source in (self._datasource, self._changed_rows):
            if source is not None:
                with contextlib.suppress(Exception):
                    source.get_engine().dispose()
        self._context = self._datasource = self._changed_rows = None


@dataclass
class _Prepared:
    """A suite ready for GX: its table, the table's columns, and the expectations waiting for a table."""

    suite: Suite
    relation: str
    columns: list[str]
    waiting: dict[str, str]
    scope: Scope | None = None

    def waiting_results(self) -> list[ExpectationResult]:
        s = self.suite
        types = {e.label: "unexpected_rows_expectation" if e.type in MACROS else e.type for e in s.expectations}
        return [
            ExpectationResult(s.name, label, types[label], "-", NOT_BUILT, message=msg, relation=self.relation)
            for label, msg in self.waiting.items()
        ]


__all__ = [
    "MACROS",
    "NOT_BUILT",
    "DataValidator",
    "ExpectationResult",
    "ValidationReport",
    "as_node_result",
]
