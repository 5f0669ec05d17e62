"""Run expectation suites with Great Expectations, inside the engine, one GX batch per table.

GX talks to the warehouse through its Snowflake (SQLAlchemy) datasource, whose URL and
connection the engine adapter gives (`adapter.gx_connection()`: on the embedded engine GX borrows
the Snowpark session's connection, on Snowflake it opens its own to the same account). Every
expectation becomes SQL that runs where the data is; only counts and at most five sample rows per
failing expectation come back. One ValidationDefinition per suite (a whole-table batch) lets GX
bundle the table's metric queries instead of querying once per expectation; it runs through a
Checkpoint whose actions render Data Docs and append failures to AUDIT.TEST_FAILURES
(gx_context.checkpoint), and its result is kept in a folder so Data Docs show every command's.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.artifacts import NodeResult
from netflix_elt.compiler import relation_of
from netflix_elt.config import Settings
from netflix_elt.quality import audit
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

SAMPLE_SIZE = 5
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": SAMPLE_SIZE}
DATASOURCE = "netflix_elt"
AUDIT_TABLE = audit.AUDIT_TABLE
NOT_BUILT = "not built"


@dataclass
class ExpectationResult:
    """One row of `netflix-elt validate`: what was checked, how bad, and a few failing values."""

    suite: str
    expectation: str
    gx_type: str
    severity: str
    status: str  # pass, fail, warn, error, not built
    unexpected_count: int | None = None
    sample: list[Any] = field(default_factory=list)
    message: str = ""
    relation: str | None = None
    execution_time: float = 0.0

    @property
    def blocks(self) -> bool:
        """An error-severity expectation that failed (or could not run) fails the run."""
        return self.severity == "error" and self.status in ("fail", "error")

    def sample_json(self) -> str:
        return json.dumps(self.sample, default=str)


@dataclass
class ValidationReport:
    results: list[ExpectationResult]
    elapsed: float
    invocation_id: str
    data_docs: Path | None = None
    audit_rows: int = 0

    @property
    def ok(self) -> bool:
        return not any(r.blocks for r in self.results)


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

    def _gx_expectation(
        self, suite: Suite, spec: ExpectationSpec, columns: list[str], relation_of: dict[str, str]
    ) -> tuple[Any, dict[str, Any], str]:
        from great_expectations.expectations.registry import get_expectation_impl

        kwargs = dict(spec.kwargs)
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

    def run_suite(self, suite: Suite, *, docs: bool = False) -> list[ExpectationResult]:
        """Validate one table with its suite (one GX batch, one checkpoint); a missing table is 'not built'."""
        return self.run_suites([suite], docs=docs)

    def run_suites(self, suites: list[Suite], *, docs: bool = True) -> list[ExpectationResult]:
        """Validate tables, one GX batch each, all through one Checkpoint run whose actions append
        the failures to the audit table and, with `docs`, render their Data Docs pages (`build`
        tests node by node and renders the pages once at its end: `build_docs`)."""
        out: dict[str, list[ExpectationResult]] = {}
        runnable: list[_Prepared] = []
        for suite in suites:
            prepared = self._prepare(suite)
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

    def _prepare(self, suite: Suite) -> _Prepared | list[ExpectationResult]:
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
        return _Prepared(suite, relation, columns, waiting)

    def _run_gx(self, prepared: list[_Prepared], *, docs: bool) -> dict[str, list[ExpectationResult]]:
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier

        from netflix_elt.quality.gx_context import checkpoint

        started = time.perf_counter()
        ctx = self._gx()
        relations = self._relations()
        by_suite: dict[str, tuple[_Prepared, dict[str, tuple[ExpectationSpec, dict[str, Any], str]]]] = {}
        definitions = []
        for prep in prepared:
            suite, relation = prep.suite, prep.relation
            relation_of = {**relations, suite.name: relation}
            _, schema, table = relation.split(".")
            name = suite.name
            if name in self._validated:  # a second run in one command: replace the old definitions
                with contextlib.suppress(Exception):
                    ctx.validation_definitions.delete(name)
                with contextlib.suppress(Exception):
                    ctx.suites.delete(name)
                with contextlib.suppress(Exception):
                    self._datasource.delete_asset(name)
            asset = self._datasource.add_table_asset(name, table_name=table.lower(), schema_name=schema.lower())
            batch = asset.add_batch_definition_whole_table("whole_table")
            gx_suite = ctx.suites.add(gx.ExpectationSuite(name=name, meta={"file": suite.file.name}))
            by_label: dict[str, tuple[ExpectationSpec, dict[str, Any], str]] = {}
            for spec in suite.expectations:
                if spec.label in prep.waiting:
                    continue
                exp, kwargs, gx_type = self._gx_expectation(suite, spec, prep.columns, relation_of)
                gx_suite.add_expectation(exp)
                by_label[spec.label] = (spec, kwargs, gx_type)
            definitions.append(
                ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=gx_suite))
            )
            self._validated.add(name)
            by_suite[name] = (prep, by_label)
        results: dict[str, list[ExpectationResult]] = {}

        def audit_sink(checkpoint_result: Any) -> int:
            """The audit action's work: netflix-elt's rows (samples fetched for failures), then the INSERT."""
            for result_id, outcome in checkpoint_result.run_results.items():
                self._undocumented.append(result_id)
                prep, by_label = by_suite[outcome.suite_name]
                rows = results.setdefault(prep.suite.name, [])
                for er in outcome.results:
                    spec, kwargs, gx_type = by_label[er.expectation_config.meta["netflix_elt_label"]]
                    rows.append(self._result(prep.suite, spec, kwargs, gx_type, er, prep.relation))
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
        self, suite: Suite, spec: ExpectationSpec, kwargs: dict[str, Any], gx_type: str, er: Any, relation: str
    ) -> ExpectationResult:
        res = dict(er.result or {})
        error = _exception_message(er.exception_info)
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
        sample = self._sample(spec, kwargs, gx_type, res, relation)
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
        elif gx_type == "expect_column_values_to_be_in_set" and _literals(kwargs.get("value_set")):
            col = quote(kwargs["column"])  # the failing rows, not only their values
            sql = (
                f"SELECT * FROM {relation} WHERE {col} IS NOT NULL AND {col} NOT IN ({_literals(kwargs['value_set'])})"
            )
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
            from netflix_elt.quality.gx_context import SITE

            with self._lock:
                self._context.build_data_docs(site_names=[SITE], resource_identifiers=list(self._undocumented))
            self._undocumented.clear()
        index = self.docs_dir / "index.html"
        return index if index.is_file() else None

    def validate(
        self,
        names: list[str] | None = None,
        on_suite: Callable[[Suite, list[ExpectationResult], int], None] | None = None,
    ) -> list[ExpectationResult]:
        """Run the suites of the named nodes (all suites when None), in suite-name order;
        `on_suite(suite, results, expectations in all)` hears of each suite once the checkpoint ran."""
        chosen = [s for n, s in sorted(self.suites.items()) if names is None or n in names]
        planned = sum(len(s.expectations) for s in chosen)
        relations: list[str] = []
        for suite in chosen:
            relations.append(self.relation_of(suite.name, suite.folder))
            for spec in suite.expectations:
                relations += [self.relation_of(ref) for ref in spec.refs()]
        self._known_columns = self.columns_of(relations)  # one metadata query, not one per suite
        try:
            results = self.run_suites(chosen, docs=True)  # one Checkpoint run for all of them
        finally:
            self._known_columns = None
        if on_suite is not None:  # the checkpoint reports every suite at once: in suite order
            for suite in chosen:
                on_suite(suite, [r for r in results if r.suite == suite.name], planned)
        return results

    def close(self) -> None:
        if self._datasource is not None:
            with contextlib.suppress(Exception):
                self._datasource.get_engine().dispose()
        self._context = self._datasource = None


def _literals(values: Any) -> str:
    """SQL literals of an in-set list of numbers or strings ('' for anything else)."""
    if not isinstance(values, list | tuple) or not values:
        return ""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return ", ".join(repr(float(v)) for v in values)
    if all(isinstance(v, str) for v in values):
        return ", ".join(string(v) for v in values)
    return ""


@dataclass
class _Prepared:
    """A suite ready for GX: its table, the table's columns, and the expectations waiting for a table."""

    suite: Suite
    relation: str
    columns: list[str]
    waiting: dict[str, str]

    def waiting_results(self) -> list[ExpectationResult]:
        s = self.suite
        types = {e.label: "unexpected_rows_expectation" if e.type in MACROS else e.type for e in s.expectations}
        return [
            ExpectationResult(s.name, label, types[label], "-", NOT_BUILT, message=msg, relation=self.relation)
            for label, msg in self.waiting.items()
        ]


def _exception_message(info: Any) -> str:
    """GX nests exception info by metric; return the first message, or ''."""
    if not info:
        return ""
    if isinstance(info, dict) and "raised_exception" in info:
        if info.get("raised_exception"):
            return str(info.get("exception_message") or "GX raised an exception").strip().splitlines()[0]
        return ""
    if isinstance(info, dict):
        for v in info.values():
            msg = _exception_message(v)
            if msg:
                return msg
    return ""


__all__ = [
    "MACROS",
    "NOT_BUILT",
    "DataValidator",
    "ExpectationResult",
    "ValidationReport",
    "as_node_result",
]


def as_node_result(project_name: str, r: ExpectationResult) -> NodeResult:
    """An expectation's row in run_results.json (dbt's test result shape; 'not built' is skipped)."""
    status = "skipped" if r.status == NOT_BUILT else r.status
    return NodeResult(
        name=f"{r.suite}.{r.expectation}",
        unique_id=f"test.{project_name}.{r.suite}.{r.expectation}",
        kind="test",
        status=status,
        execution_time=r.execution_time,
        message=r.message or (f"{r.unexpected_count} unexpected" if r.unexpected_count else ""),
        relation=r.relation,
        failures=r.unexpected_count,
        extra={
            "suite": r.suite,
            "expectation": r.expectation,
            "gx_type": r.gx_type,
            "severity": r.severity,
            "status": r.status,
            "sample": json.loads(r.sample_json()),
        },
    )
