"""The Python API behind every CLI command, usable from notebooks and tests.

A :class:`Workspace` holds the resolved settings, the project graph and (lazily) one Snowpark
session; commands are methods that return plain results, and the CLI only prints them.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.adapters import Adapter, adapter_for
from netflix_elt.artifacts import NodeResult, unique_id, write_manifest, write_run_results
from netflix_elt.build_state import BuildState
from netflix_elt.compiler import Compiler, relation_of
from netflix_elt.config import Settings, load_settings
from netflix_elt.errors import ConfigError, TransformError
from netflix_elt.invocation import Invocation
from netflix_elt.materializations import BuildContext, BuildResult, strategy_for
from netflix_elt.registry import Node, Project, load_project
from netflix_elt.runner import Reporter, Runner, write_compiled
from netflix_elt.selectors import select

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from netflix_elt.ingest.load import LoadReport
    from netflix_elt.quality import DataValidator, ValidationReport


@dataclass
class RunOutcome:
    results: list[NodeResult]
    elapsed: float
    command: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.status in ("success", "pass", "warn") for r in self.results)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out


class Workspace:
    """Settings + project + session for one command (or one notebook)."""

    def __init__(self, settings: Settings, project: Project | None = None, adapter: Adapter | None = None) -> None:
        self.settings = settings
        self._project = project
        self.adapter = adapter or adapter_for(settings)  # owns the session (opened on first use)
        self._stack = contextlib.ExitStack()
        self.invocation_id = str(uuid.uuid4())
        self.invocation = Invocation("api", settings.target, id=self.invocation_id)
        self.timings: dict[str, dict[str, float]] = {}
        self._state: BuildState | None = None
        self._stage_stack: list[list[float]] = []

    @classmethod
    def from_options(
        cls,
        project_dir: Path | None = None,
        *,
        target: str | None = None,
        profile: str | None = None,
        threads: int | None = None,
    ) -> Workspace:
        return cls(load_settings(project_dir, target=target, profile=profile, threads=threads))

    # lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()
        self.adapter.close()

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = load_project(self.settings)
        return self._project

    @property
    def session(self) -> Session:
        return self.adapter.session

    @property
    def relations(self) -> dict[str, str]:
        return {n.name: relation_of(self.settings, n) for n in self.project.nodes.values() if n.builds}

    def begin(self, command: str, args: dict[str, Any] | None = None) -> Invocation:
        """A new command of this workspace: one clock reading for all its nodes (same invocation id)."""
        self.invocation = Invocation(command, self.settings.target, args or {}, id=self.invocation_id)
        return self.invocation

    def compiler(self, *, inline_missing: bool = False) -> Compiler:
        """Builds DataFrames; with inline_missing, unbuilt upstream transforms are inlined (compile, show)."""
        return Compiler(self.project, self.settings, self.adapter, self.invocation, inline_missing=inline_missing)

    def build_context(self) -> BuildContext:
        """What every materialization of the current command builds with."""
        return BuildContext(self.settings, self.project, self.adapter, self.invocation, self.compiler())

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage of a command (load, seed, run, snapshot, validate) and the peak RSS after it.

        Nested stages are subtracted from the enclosing one, so `run` excludes the validation
        that `build` does right after each table.
        """
        import resource

        frame = [time.perf_counter(), 0.0]
        self._stage_stack.append(frame)
        try:
            yield
        finally:
            self._stage_stack.pop()
            total = time.perf_counter() - frame[0]
            if self._stage_stack:
                self._stage_stack[-1][1] += total
            entry = self.timings.setdefault(name, {"seconds": 0.0, "peak_rss_mb": 0.0})
            entry["seconds"] += total - frame[1]
            entry["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def write_timings(self) -> Path:
        """target/timings.json: seconds and peak RSS per stage of the last command."""
        import json

        path = self.settings.target_dir / "timings.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"invocation_id": self.invocation_id, "stages": self.timings}, indent=2))
        return path

    # commands --------------------------------------------------------------------------------
    def init(self) -> list[str]:
        """Create the database and schemas (and RAW's tables); returns the statements run."""
        s = self.settings
        stmts = [f"CREATE DATABASE IF NOT EXISTS {s.database}"] + [
            f"CREATE SCHEMA IF NOT EXISTS {s.database}.{schema}"
            for schema in (s.raw_schema, s.target_schema, s.snapshot_schema, s.audit_schema)
        ]
        for stmt in stmts:
            self.session.sql(stmt).collect()
        from netflix_elt.ingest.load import ensure_raw

        ensure_raw(self.session, s)
        return stmts

    def load(
        self,
        url: str | None = None,
        *,
        force: bool = False,
        allow_deletes: bool = False,
        skip_batches: Sequence[int] = (),
        progress: Callable[[str], None] | None = None,
    ) -> LoadReport:
        from netflix_elt.ingest.load import load

        self.init()
        return load(
            self.session,
            self.settings,
            url,
            copies_from_external_stage=self.adapter.copies_from_external_stage,
            force=force,
            allow_deletes=allow_deletes,
            skip_batches=skip_batches,
            progress=progress,
        )

    def seed(self, names: list[str] | None = None, *, force: bool = False) -> dict[str, int | None]:
        """Load seeds; one whose file is unchanged since its last load is left as it is (rows None)."""
        from netflix_elt.seeds import load_seeds

        state = self.fresh_state()
        wanted = [n for n in self.settings.config.seeds if names is None or n in names]
        stale = [
            n
            for n in wanted
            if force or not state.is_current(self.project[n], self.adapter.relation_exists(self._rel(n)))
        ]
        loaded: dict[str, int | None] = dict(load_seeds(self.session, self.settings, stale)) if stale else {}
        for n in stale:
            state.record(self.project[n])
        return {n: loaded.get(n) for n in wanted}

    def _rel(self, name: str) -> str:
        return relation_of(self.settings, self.project[name])

    def fresh_state(self) -> BuildState:
        """Build state for one command (source versions are read once, now)."""
        self._state = BuildState(self.session, self.settings, self.project)
        return self._state

    def _up_to_date(self, node: Node, relation: str) -> NodeResult:
        return NodeResult(
            node.name,
            unique_id(self.settings.config.project.name, node),
            node.kind,
            "success",
            message="up to date (code and inputs unchanged)",
            relation=relation,
            extra={"up_to_date": True},
        )

    def selected(
        self, select_: Sequence[str] = (), exclude: Sequence[str] = (), kinds: Sequence[str] = ("transform",)
    ) -> list[str]:
        return select(self.project, select_, exclude, kinds)

    def _stateful_builder(
        self,
        full_refresh: bool = False,
        *,
        skip_current: bool = True,
    ) -> Callable[[Node], NodeResult]:
        """A builder that skips up-to-date nodes, builds the rest, records their build state
        and writes what ran under target/compiled/ (shared by transforms and snapshots)."""
        pname = self.settings.config.project.name
        state = self.fresh_state()

        def build(node: Node) -> NodeResult:
            ctx = self.build_context()
            relation = ctx.relation(node)
            if skip_current and state.is_current(node, self.adapter.relation_exists(relation)):
                return self._up_to_date(node, relation)
            state.forget(node)
            strategy = strategy_for(node)
            res: BuildResult = strategy.build(ctx, node, full_refresh=full_refresh)
            state.record(node)
            path = write_compiled(self.settings.target_dir, node, strategy.compiled_text(ctx, node, res))
            return NodeResult(
                node.name,
                unique_id(pname, node),
                node.kind,
                "success",
                rows=res.rows,
                message=res.message or node.materialized,
                relation=relation,
                compiled_path=os.path.relpath(path, self.settings.project_dir),
            )

        return build

    def _build_transform(self, full_refresh: bool) -> Callable[[Node], NodeResult]:
        return self._stateful_builder(full_refresh, skip_current=not full_refresh)

    def run(
        self,
        select_: Sequence[str] = (),
        exclude: Sequence[str] = (),
        *,
        full_refresh: bool = False,
        reporter: Reporter | None = None,
        debug: bool = False,
        command: str = "run",
        args: dict[str, Any] | None = None,
    ) -> RunOutcome:
        """Build the selected transforms (ephemeral and analyses are compiled, not built)."""
        self.begin(command, args)
        names = [n for n in self.selected(select_, exclude) if self.project[n].builds]
        return self.execute(
            names,
            self._build_transform(full_refresh),
            reporter=reporter,
            debug=debug,
            command=command,
            args=args or {},
        )

    def _build_snapshot(self) -> Callable[[Node], NodeResult]:
        return self._stateful_builder()

    def snapshot(
        self,
        select_: Sequence[str] = (),
        exclude: Sequence[str] = (),
        *,
        reporter: Reporter | None = None,
        debug: bool = False,
        command: str = "snapshot",
        args: dict[str, Any] | None = None,
        after: RunOutcome | None = None,
    ) -> RunOutcome:
        """Apply the selected SCD2 snapshots, each as one MERGE, in dependency order.

        `after` is the transforms' outcome of the same `build`: then a selection that names no
        snapshot is fine, a snapshot whose input failed there is skipped (not applied to a stale
        view), and run_results.json records both steps.
        """
        if after is None:  # its own command; in `build` it shares the transforms' invocation
            self.begin(command, args)
        kinds = ("snapshot",) if after is None else ("transform", "snapshot")
        names = [n for n in self.selected(select_, exclude, kinds) if self.project[n].kind == "snapshot"]
        upstream = {r.name: r for r in after.results} if after else {}
        pname = self.settings.config.project.name
        skipped = []
        for n in names:
            # every node it reads, directly or not (snap_movies <- src_movies <- raw_movies), that
            # this build ran must have succeeded and passed its error-severity tests
            why = upstream_failure(self.project, upstream, self.project.dag.ancestors(n))
            if why:
                res = NodeResult(n, unique_id(pname, self.project[n]), "snapshot", "skipped", message=f"skipped: {why}")
                skipped.append(res)
                if reporter:
                    reporter(len(skipped), len(names), res)
        todo = [n for n in names if n not in {r.name for r in skipped}]
        # one timestamp for the whole invocation: VALID_FROM/VALID_TO of the check strategy and deletes
        builder = self._build_snapshot()
        if after is not None:  # part of `build`: validate each snapshot right after it is applied
            builder = self.tested(builder)
        args = args or {}

        def numbered(i: int, total: int, res: NodeResult) -> None:  # after the skipped ones
            if reporter:
                reporter(i + len(skipped), len(names), res)

        outcome = self.execute(todo, builder, reporter=numbered, debug=debug, command=command, args=args)
        outcome.results = [*skipped, *outcome.results]
        if after is not None:
            write_run_results(
                self.settings,
                [*after.results, *outcome.results],
                command=command,
                args=args,
                elapsed=after.elapsed + outcome.elapsed,
                invocation_id=self.invocation_id,
            )
        return outcome

    def build(
        self,
        select_: Sequence[str] = (),
        exclude: Sequence[str] = (),
        *,
        full_refresh: bool = False,
        reporter: Reporter | None = None,
        debug: bool = False,
        args: dict[str, Any] | None = None,
    ) -> tuple[RunOutcome, RunOutcome]:
        """The suites of the sources (and seeds) it reads, the transforms, then the snapshots that
        read them (`netflix-elt build` after load and seed).

        A source or seed with a suite is a node of the build: its suite runs before any transform,
        and an error-severity failure skips everything downstream of it, as `dbt build` tests
        sources before the models that select from them. A snapshot is applied only when every
        node upstream of it that this build ran succeeded and passed its tests.
        """
        self.begin("build", args)
        names = self.selected(select_, exclude, kinds=("transform", "snapshot"))
        transforms = [n for n in names if self.project[n].kind == "transform" and self.project[n].builds]
        inputs = self._tested_inputs(select_, exclude, names)
        todo = [n for n in self.project.order if n in set(inputs) | set(transforms)]
        deps = self._test_deps(todo)
        for n in transforms:
            # skip on any failed node upstream, also when the nodes between are not selected
            deps.setdefault(n, set()).update(self.project.dag.ancestors(n) & set(todo))
        build_transform = self.tested(self._build_transform(full_refresh))

        def builder(node: Node) -> NodeResult:
            return self._test_input(node) if node.kind in ("source", "seed") else build_transform(node)

        seen: dict[str, NodeResult] = {}

        def explain(i: int, total: int, res: NodeResult) -> None:
            """Name the node (and expectation) a skip comes from, before the line is printed."""
            seen[res.name] = res
            if res.status == "skipped" and res.name in self.project.nodes:
                why = upstream_failure(self.project, seen, {*self.project[res.name].inputs, *deps.get(res.name, ())})
                if why:
                    res.message = f"skipped: {why}"
            if reporter:
                reporter(i, total, res)

        args = args or {}
        with self.stage("run"):
            run = self.execute(
                todo,
                builder,
                reporter=explain,
                debug=debug,
                command="build",
                args=args,
                extra_deps=deps,
            )
        with self.stage("snapshot"):
            snaps = self.snapshot(
                select_, exclude, reporter=reporter, debug=debug, command="build", args=args, after=run
            )
        return run, snaps

    def execute(
        self,
        names: list[str],
        builder: Callable[[Node], NodeResult],
        *,
        reporter: Reporter | None = None,
        debug: bool = False,
        command: str,
        args: dict[str, Any],
        extra_deps: dict[str, set[str]] | None = None,
    ) -> RunOutcome:
        started = time.perf_counter()
        if names:
            self.session  # noqa: B018 - start the engine before the clock of the first node
            schema = f"{self.settings.database}.{self.settings.target_schema}"
            self.session.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}").collect()
        runner = Runner(
            self.project,
            self.settings.config.project.name,
            builder,
            threads=self.settings.threads,
            serialize=not self.adapter.parallel_sessions,
            reporter=reporter,
            debug=debug,
        )
        results = runner.run(names, extra_deps)
        elapsed = time.perf_counter() - started
        write_manifest(self.project, self.settings, self.relations, self.invocation_id)
        write_run_results(
            self.settings,
            results,
            command=command,
            args=args,
            elapsed=elapsed,
            invocation_id=self.invocation_id,
        )
        return RunOutcome(results, elapsed, command)

    def compile(self, names: Sequence[str] = ()) -> dict[str, tuple[Path, str]]:
        """SQL of each transform (all when none named), also written under target/compiled/."""
        chosen = list(names) or [n.name for n in self.project.of_kind("transform", "snapshot")]
        out: dict[str, tuple[Path, str]] = {}
        comp = self.compiler(inline_missing=True)
        for name in chosen:
            if name not in self.project or self.project[name].kind in ("source", "seed"):
                raise ConfigError(f"no transform named {name!r}")
            node = self.project[name]
            sql = comp.select_sql(node)
            out[name] = (write_compiled(self.settings.target_dir, node, sql), sql)
        write_manifest(self.project, self.settings, self.relations, self.invocation_id)
        return out

    def show(self, name: str, limit: int = 10) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Preview rows of a node (built relation, or the compiled query for ephemeral/analysis)."""
        if name not in self.project:
            raise ConfigError(f"no node named {name!r}")
        node = self.project[name]
        comp = self.compiler(inline_missing=True)
        if node.kind == "transform" and not node.builds:
            sql = comp.select_sql(node)
        else:
            relation = comp.relation(node)
            if not self.adapter.relation_exists(relation):
                raise TransformError(f"{name!r} is not built yet ({relation}); run `netflix-elt run -s {name}`")
            sql = f"SELECT * FROM {relation}"
        df = self.session.sql(f"SELECT * FROM ({sql}) LIMIT {int(limit)}")
        rows = df.collect()
        cols = [c.strip('"') for c in df.columns]
        return cols, [tuple(r) for r in rows]

    def tables(self) -> list[tuple[str, str, int]]:
        """Every table and view of the warehouse with its row count (schema, name, rows)."""
        s = self.settings
        rows = self.session.sql(
            f"SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM {s.database}.INFORMATION_SCHEMA.TABLES "
            f"WHERE TABLE_SCHEMA <> 'INFORMATION_SCHEMA' ORDER BY 1, 2"
        ).collect()
        out = []
        for schema, name, _kind in rows:
            n = self.adapter.row_count(f"{s.database}.{schema}.{name}")
            out.append((schema, name, n))
        return out

    # data tests (netflix_elt.quality) ------------------------------------------------------------
    def validator(self) -> DataValidator:
        """The command's data-test runner (one GX context), closed with the workspace."""
        if getattr(self, "_validator", None) is None:
            from netflix_elt.quality import DataValidator

            v = DataValidator(self.settings, self.project, self.adapter, self.invocation_id)
            self._stack.callback(v.close)
            self._validator: DataValidator | None = v
        assert self._validator is not None
        return self._validator

    def validate(
        self,
        select_: Sequence[str] = (),
        exclude: Sequence[str] = (),
        *,
        command: str = "validate",
        args: dict[str, Any] | None = None,
    ) -> ValidationReport:
        """Run the expectation suites of the selected tables (all suites when none selected).

        Failing expectations go to AUDIT.TEST_FAILURES under this invocation id, GX Data Docs to
        target/data_docs/, and every expectation to target/run_results.json.
        """
        from netflix_elt.quality import ValidationReport
        from netflix_elt.quality.validate import as_node_result

        started = time.perf_counter()
        names = None
        if select_ or exclude:
            names = self.selected(select_, exclude, kinds=("source", "seed", "transform", "snapshot"))
        v = self.validator()
        results = v.validate(names)
        audit_rows = v.record_failures(results)
        docs = v.build_docs()
        elapsed = time.perf_counter() - started
        pname = self.settings.config.project.name
        write_run_results(
            self.settings,
            [as_node_result(pname, r) for r in results],
            command=command,
            args=args or {"select": list(select_), "exclude": list(exclude)},
            elapsed=elapsed,
            invocation_id=self.invocation_id,
        )
        return ValidationReport(results, elapsed, self.invocation_id, docs, audit_rows)

    def tested(self, builder: Callable[[Node], NodeResult]) -> Callable[[Node], NodeResult]:
        """Wrap a builder so a node's suite runs right after it is built, as `dbt build` does.

        An error-severity failure turns the node's status into 'fail', so the Runner skips its
        downstream; warn-severity failures are only reported in the node's message.
        """

        def build_and_test(node: Node) -> NodeResult:
            res = builder(node)
            state = self._state
            if res.status != "success":
                return res
            if res.extra.get("up_to_date") and state is not None and state.was_tested(node):
                return res  # unchanged since its suite passed
            with self.stage("validate"):
                res = self._test_built(node, res)
            if state is not None:
                if res.status == "success":
                    state.record(node, tested=True)
                else:
                    state.forget(node)  # rebuilt and retested next time
            return res

        return build_and_test

    def _tested_inputs(self, select_: Sequence[str], exclude: Sequence[str], names: Sequence[str]) -> list[str]:
        """Sources and seeds whose suites `build` runs: the selected ones and those upstream of the
        selected transforms and snapshots (all, when nothing is selected), minus the excluded."""
        suites = self.validator().suites
        everything = ("source", "seed", "transform", "snapshot")
        chosen = set(self.selected(select_, exclude, kinds=everything))
        kept = set(select(self.project, (), exclude, kinds=everything))  # what --exclude leaves
        for n in names:
            chosen |= self.project.dag.ancestors(n) & kept
        return [
            n for n in self.project.order if n in chosen and n in suites and self.project[n].kind in ("source", "seed")
        ]

    def _test_input(self, node: Node) -> NodeResult:
        """A source or seed in `build`: nothing to build, its suite runs on the loaded table."""
        v = self.validator()
        res = NodeResult(
            node.name,
            unique_id(self.settings.config.project.name, node),
            node.kind,
            "success",
            message=f"{node.kind} table",
            relation=v.relation_of(node.name),
        )
        with self.stage("validate"):
            return self._test_built(node, res)

    def _test_deps(self, names: list[str]) -> dict[str, set[str]]:
        """In `build`, a node is tested right after it is built, so it waits for the tables its
        suite reads too (fct_ratings' relationship test reads dim_movies), as dbt orders tests."""
        chosen = set(names)
        suites = self.validator().suites
        deps: dict[str, set[str]] = {}
        for n in names:
            if n in suites:
                refs = {r for r in suites[n].refs() if r in chosen and r not in self.project.dag.descendants(n)}
                if refs:
                    deps[n] = refs
        return deps

    def _build_docs_timed(self, validator: Any) -> None:
        with self.stage("validate"):
            validator.build_docs()

    def _test_built(self, node: Node, res: NodeResult) -> NodeResult:
        """Run a freshly built node's suite and fold the outcome into its result."""
        v = self.validator()
        suite = v.suites.get(node.name)
        if suite is None:
            return res
        tests = v.run_suite(suite)
        v.record_failures(tests)
        if not getattr(self, "_docs_pending", False):  # render Data Docs once, when the command ends
            self._docs_pending = True
            self._stack.callback(self._build_docs_timed, v)
        failed = [t.expectation for t in tests if t.blocks]
        warned = [t.expectation for t in tests if t.status == "warn"]
        res.extra["tests"] = [
            {
                "expectation": t.expectation,
                "severity": t.severity,
                "status": t.status,
                "unexpected": t.unexpected_count,
            }
            for t in tests
        ]
        if failed:
            res.status, res.failures = "fail", len(failed)
            res.message = f"{len(failed)} error-severity expectation(s) failed: {', '.join(failed)}"
        elif warned:
            res.message = f"{res.message}; {len(tests)} tests, warn: {', '.join(warned)}"
        else:
            res.message = f"{res.message}; {len(tests)} tests passed"
        return res


FAILED = ("error", "fail", "skipped")


def failure_reason(res: NodeResult) -> str:
    """Why what reads this failed node is skipped: `upstream 'raw_movies' failed test a, b`."""
    if res.status == "skipped":  # already names where the failure comes from
        return res.message.removeprefix("skipped: ")
    tests = res.extra.get("tests") or ()
    failed = [t["expectation"] for t in tests if t["severity"] == "error" and t["status"] in ("fail", "error")]
    if failed:
        return f"upstream {res.name!r} failed test {', '.join(failed)}"
    return f"upstream {res.name!r} did not succeed"


def upstream_failure(project: Project, results: dict[str, NodeResult], upstream: set[str]) -> str | None:
    """The reason to skip a node whose `upstream` includes a node that failed in this command, or
    None. A node that failed itself is named before one that was only skipped, upstream first."""
    bad = [n for n in project.order if n in upstream and n in results and results[n].status in FAILED]
    if not bad:
        return None
    roots = [n for n in bad if results[n].status != "skipped"]
    return failure_reason(results[(roots or bad)[0]])


@contextlib.contextmanager
def workspace(**kwargs: Any) -> Iterator[Workspace]:
    ws = Workspace.from_options(**kwargs)
    try:
        yield ws
    finally:
        ws.close()
