"""What a command runs, shared by every command of the API: its graph, its execution, its outcome.

`selection()` picks the project nodes of a command (for `build`: the selected transforms and
snapshots, the seeds and tested sources they read); `execute()` runs the graph once with one
runner and writes manifest.json and run_results.json once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netflix_elt.artifacts import NodeResult, expectation_nodes, write_manifest, write_run_results
from netflix_elt.errors import SelectorError
from netflix_elt.graph import BuildGraph
from netflix_elt.registry import Kind, Project
from netflix_elt.runner import Builder, Hook, Reporter, Runner
from netflix_elt.selectors import select
from netflix_elt.suggest import unknown

if TYPE_CHECKING:
    from netflix_elt.adapters import Adapter
    from netflix_elt.api import Workspace
    from netflix_elt.config import Settings
    from netflix_elt.graph import Step
    from netflix_elt.ingest.load import LoadReport
    from netflix_elt.invocation import Invocation
    from netflix_elt.quality import DataValidator, ValidationReport
    from netflix_elt.retry import RetryPlan

EVERYTHING = ("source", "seed", "transform", "snapshot")
PASSED = ("success", "pass", "warn")


@dataclass
class RunOutcome:
    """The results of one command, in graph order; `load` is build's load report."""

    results: list[NodeResult]
    elapsed: float
    command: str
    load: LoadReport | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.status in PASSED for r in self.results)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def of(self, name: str, kind: str | None = None) -> NodeResult:
        """The result of one node (`kind="test"` for its suite)."""
        return next(r for r in self.results if r.name == name and (kind is None or r.kind == kind))


def built_nodes(project: Project, names: Iterable[str]) -> list[str]:
    """Those of `names` that are relations (ephemeral transforms and analyses are only compiled)."""
    return [n for n in names if project[n].builds]


def seeds_named(settings: Settings, names: Sequence[str] | None) -> list[str]:
    """The seeds of `names` in config order (all when None); an unknown name is an error, not skipped."""
    seeds = list(settings.config.seeds)
    for n in names or ():
        if n not in seeds:
            raise SelectorError(unknown("seed", n, seeds))
    return [n for n in seeds if names is None or n in names]


def build_selection(ws: Workspace, select_: Sequence[str], exclude: Sequence[str]) -> tuple[list[str], list[str]]:
    """(nodes, tested) of `build` (and of `plan`, which must name the same nodes): the selected
    transforms and snapshots, the seeds they read (all seeds when nothing is selected), and the
    sources and seeds with a suite that are selected or upstream of the selection, minus the
    excluded; `tested` are those with a suite. `state:` selectors compare with the workspace's state."""
    from netflix_elt.change.state import selection_state

    project, suites, state = ws.project, ws.validator().suite_names(), selection_state(ws)
    models = built_nodes(project, select(project, select_, exclude, ("transform", "snapshot"), state))
    chosen = set(select(project, select_, exclude, EVERYTHING, state))
    kept = set(select(project, (), exclude, EVERYTHING, state))  # what --exclude leaves
    for n in models:
        chosen |= project.dag.ancestors(n) & kept
    inputs = [
        n
        for n in project.order
        if n in chosen and (project[n].kind == Kind.SEED or (project[n].kind == Kind.SOURCE and n in suites))
    ]
    nodes = [n for n in project.order if n in set(inputs) | set(models)]
    return nodes, [n for n in nodes if n in suites]


def execute(
    settings: Settings,
    project: Project,
    adapter: Adapter,
    invocation: Invocation,
    graph: BuildGraph,
    builders: Mapping[Step, Builder],
    *,
    suites: Iterable[Any] | None = None,
    hooks: Iterable[Hook] = (),
    debug: bool = False,
) -> RunOutcome:
    """Run the graph; manifest.json and run_results.json are written once, when it ends (the test
    nodes from `suites`, the validator's, or from the suite files when the command runs no tests)."""
    started = time.perf_counter()
    if len(graph):
        adapter.session.sql(f"CREATE SCHEMA IF NOT EXISTS {settings.database}.{settings.target_schema}").collect()
    runner = Runner(
        graph, builders, threads=settings.threads, serialize=not adapter.parallel_sessions, hooks=hooks, debug=debug
    )
    results = runner.run()
    elapsed = time.perf_counter() - started
    write_artifacts(settings, project, adapter.name, invocation, results, elapsed, suites)
    return RunOutcome(results, elapsed, invocation.command)


def write_artifacts(
    settings: Settings,
    project: Project,
    engine: str,
    invocation: Invocation,
    results: list[NodeResult],
    elapsed: float,
    suites: Iterable[Any] | None = None,
) -> None:
    """manifest.json (with a test node per expectation of `suites`, or of every suite file) and
    run_results.json, whose test rows carry those nodes' ids."""
    tests = expectation_nodes(settings, project, suites)
    started_at = invocation.run_started_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    compiled = {r.unique_id: (r.compiled_path, r.compiled_code) for r in results if r.compiled_code is not None}
    write_manifest(
        project, settings, invocation.id, engine=engine, tests=tests, started_at=started_at, compiled=compiled
    )
    write_run_results(
        settings,
        results,
        command=invocation.command,
        args=invocation.args,
        elapsed=elapsed,
        invocation_id=invocation.id,
        engine=engine,
        tests=tests,
        started_at=started_at,
    )


def validate(
    validator: DataValidator,
    settings: Settings,
    invocation: Invocation,
    names: list[str] | None,
    on_suite: Any = None,
    *,
    full: bool = False,
) -> ValidationReport:
    """`netflix-elt validate`: the suites of `names` (all when None), their failures in
    AUDIT.TEST_FAILURES, GX Data Docs, manifest.json and one run_results.json row per expectation;
    `on_suite` hears of each suite as it finishes (the CLI's progress lines). A table whose suite
    passed before and that only gained loads since is tested on those (quality.scopes), unless `full`."""
    from netflix_elt.build_state import BuildState, forget_ensured
    from netflix_elt.quality import ValidationReport
    from netflix_elt.quality.scopes import Scopes
    from netflix_elt.quality.suites import suite_paths
    from netflix_elt.quality.validate import as_node_result

    if names is not None and not (set(names) & (suites := validator.suite_names())):
        raise SelectorError(
            f"nothing to validate: {', '.join(names)} {'has' if len(names) == 1 else 'have'} no suite in "
            f"expectations/ (tables with one: {', '.join(sorted(suites)) or 'none'})"
        )
    started = time.perf_counter()
    forget_ensured(validator.session)
    state = BuildState(validator.session, settings, validator.project, suite_paths(settings.project_dir))
    scopes = Scopes(state, full=full)
    results = validator.validate(names, on_suite, scopes=scopes)
    audit_rows = validator.audited  # appended by each suite's checkpoint
    docs = validator.build_docs()
    elapsed = time.perf_counter() - started
    pname = settings.config.project.name
    rows = [as_node_result(pname, r) for r in results]
    write_artifacts(
        settings, validator.project, validator.adapter.name, invocation, rows, elapsed, validator.suites.values()
    )
    return ValidationReport(results, elapsed, invocation.id, docs, audit_rows)


def run_graph(
    ws: Workspace,
    names: Sequence[str],
    *,
    tested: Sequence[str] = (),
    full_refresh: bool = False,
    reporter: Callable[[int, int, NodeResult], None] | None = None,
    debug: bool = False,
    defer: str | None = None,
) -> RunOutcome:
    """The graph of `names` (with the suites of `tested` as nodes), built by one Builders over a
    build state read once, timed by the workspace's Timings, for the workspace's invocation;
    `defer` names the target unselected inputs missing here are read from (netflix_elt.change.defer)."""
    from netflix_elt.build_state import BuildState, forget_ensured
    from netflix_elt.builders import Builders
    from netflix_elt.change.defer import Defer
    from netflix_elt.graph import plan
    from netflix_elt.quality.suites import suite_paths

    forget_ensured(ws.session)
    validator = ws.validator() if tested else None
    suites = validator.suites if validator is not None else {}
    pname = ws.settings.config.project.name
    graph = plan(ws.project, pname, names, tested=tested, refs={n: suites[n].refs() for n in tested})
    state = BuildState(ws.session, ws.settings, ws.project, suite_paths(ws.settings.project_dir))  # in fingerprints
    builders = Builders(ws.settings, ws.project, ws.adapter, ws.invocation, state, validator, full_refresh)
    builders.defer = Defer.to(ws.settings, defer, names) if defer else None
    hooks: list[Hook] = [ws.timings, *([Reporter(reporter)] if reporter else [])]
    return execute(
        ws.settings, ws.project, ws.adapter, ws.invocation, graph, builders.by_step(),
        suites=suites.values() if validator is not None else None, hooks=hooks, debug=debug,
    )  # fmt: skip


def init_statements(settings: Settings) -> list[str]:
    """What `init` runs: the database only where the adapter creates it (`creates_database`; on
    Snowflake the admin SQL does, and CREATE DATABASE needs the privilege even if it exists), then the schemas."""
    from netflix_elt.adapters import adapter_class

    s = settings
    database = adapter_class(s).database_statements(s.database)
    return database + [
        f"CREATE SCHEMA IF NOT EXISTS {s.database}.{schema}"
        for schema in (s.raw_schema, s.target_schema, s.snapshot_schema, s.audit_schema)
    ]


def retry(ws: Workspace, **kw: Any) -> tuple[RetryPlan, Any]:
    """Rerun what failed or was skipped in the last run/build/snapshot/validate (dbt retry):
    (plan, outcome); outcome is None when nothing failed."""
    from netflix_elt.retry import plan_retry

    plan_ = plan_retry(ws.settings)
    if not plan_.names:
        return plan_, None
    args = {**plan_.args, "retry_of": plan_.invocation_id}
    if plan_.command == "validate":
        return plan_, ws.validate(plan_.names, args=args)
    if plan_.command == "run":
        refresh, defer = bool(plan_.args.get("full_refresh")), plan_.args.get("defer")  # as the run was
        return plan_, ws.run(plan_.names, full_refresh=refresh, defer=defer, args=args, **kw)
    if plan_.command == "build":
        return plan_, ws.build(plan_.names, args=args, **kw)
    return plan_, ws.snapshot(plan_.names, args=args, **kw)
