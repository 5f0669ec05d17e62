"""The Python API behind every CLI command, usable from notebooks, scripts and tests.

A :class:`Workspace` holds the resolved settings, the project graph and one engine adapter (which
owns the Snowpark session). Every command is a method that takes the warehouse lock itself, runs
one graph (commands.py) and returns plain results; the CLI only parses and prints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt import commands
from netflix_elt.adapters import adapter_for
from netflix_elt.artifacts import NodeResult, write_compiled, write_manifest
from netflix_elt.build_state import BuildState
from netflix_elt.builders import Builders
from netflix_elt.compiler import Compiler, relation_of
from netflix_elt.config import Settings, load_settings
from netflix_elt.errors import ConfigError, TransformError
from netflix_elt.graph import plan
from netflix_elt.invocation import Invocation
from netflix_elt.registry import Kind, Project, load_project
from netflix_elt.runner import Reporter
from netflix_elt.selectors import select
from netflix_elt.timings import Timings

if TYPE_CHECKING:
    from snowflake.snowpark import Session

    from netflix_elt.ingest.load import LoadReport
    from netflix_elt.quality import DataValidator, ValidationReport

RunOutcome = commands.RunOutcome
Progress = Callable[[int, int, NodeResult], None]


class Workspace:
    """Settings + project + engine adapter for one command, a script or a notebook."""

    def __init__(self, settings: Settings, project: Project | None = None) -> None:
        self.settings = settings
        self.adapter = adapter_for(settings)
        self._project = project
        self._stack = contextlib.ExitStack()
        self._validator: DataValidator | None = None
        self.timings = Timings()
        self.invocation = Invocation("none", settings.target)
        self.caller = "python"  # who holds the lock, in its message: the CLI says `netflix-elt`
        self.lock_timeout: float | None = None  # None: [project] lock_timeout
        self.notify: Callable[[str], None] | None = None  # e.g. a stale lock taken over

    @classmethod
    def from_options(cls, project_dir: Path | None = None, **options: Any) -> Workspace:
        return cls(load_settings(project_dir, **options))

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Render pending Data Docs, close GX and the session, release the warehouse."""
        self._stack.close()
        self._validator = None
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
    def invocation_id(self) -> str:
        return self.invocation.id

    @property
    def relations(self) -> dict[str, str]:
        return {n.name: relation_of(self.settings, n) for n in self.project.nodes.values() if n.builds}

    def compiler(self, *, inline_missing: bool = False) -> Compiler:
        """Builds DataFrames; with inline_missing, unbuilt upstream transforms are inlined (compile, show)."""
        return Compiler(self.project, self.settings, self.adapter, self.invocation, inline_missing=inline_missing)

    def selected(self, select_: Sequence[str] = (), exclude: Sequence[str] = (), kinds: Sequence[str] = ("transform",)):
        return select(self.project, select_, exclude, kinds)

    # the warehouse lock ----------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, command: str, *, wait: bool = True) -> Iterator[None]:
        """Hold the warehouse lock for a command (netflix_elt.lock): one writer at a time.

        Writers wait up to `lock_timeout`; readers (`wait=False`) need it only where one process
        at a time may open the warehouse (the embedded engine), and fail at once if it is held.
        """
        from netflix_elt.lock import warehouse_lock

        if not wait and not self.adapter.exclusive_warehouse:
            yield
            return
        timeout = self.settings.config.project.lock_timeout if self.lock_timeout is None else self.lock_timeout
        with warehouse_lock(self.settings.state_dir, f"{self.caller} {command}", timeout if wait else 0) as stale:
            if stale is not None and self.notify:
                self.notify(f"took over the warehouse lock left by {stale.describe()}, which did not finish")
            yield

    def _start(self, command: str, args: dict[str, Any] | None = None) -> Invocation:
        """A new invocation (id, one clock) for a command."""
        self.invocation = Invocation(command, self.settings.target, dict(args or {}))
        if self._validator is not None:
            self._validator.invocation_id = self.invocation.id
        return self.invocation

    # commands --------------------------------------------------------------------------------
    def init(self) -> list[str]:
        """Create the database and schemas (and RAW's tables); returns the statements run."""
        from netflix_elt.ingest.load import ensure_raw

        s = self.settings
        stmts = [f"CREATE DATABASE IF NOT EXISTS {s.database}"] + [
            f"CREATE SCHEMA IF NOT EXISTS {s.database}.{schema}"
            for schema in (s.raw_schema, s.target_schema, s.snapshot_schema, s.audit_schema)
        ]
        with self.writing("init"):
            for stmt in stmts:
                self.session.sql(stmt).collect()
            ensure_raw(self.session, s)
        return stmts

    def load(self, url: str | None = None, *, progress: Callable[[str], None] | None = None, **opts: Any) -> LoadReport:
        """COPY what landed and is not loaded yet into RAW (options: force, allow_deletes, skip_batches)."""
        from netflix_elt.ingest.load import load

        with self.writing("load"):
            self.init()
            with self.timings.stage("load"):
                return load(self.adapter, self.settings, url, progress=progress, **opts)

    def _run_graph(
        self, names: Sequence[str], command: str, args: dict[str, Any] | None, *, tested: Sequence[str] = (),
        full_refresh: bool = False, reporter: Progress | None = None, debug: bool = False,
    ) -> RunOutcome:  # fmt: skip
        inv = self._start(command, args)
        validator = self.validator() if tested else None
        suites = validator.suites if validator else {}
        graph = plan(
            self.project, self.settings.config.project.name, names, tested=tested,
            refs={n: suites[n].refs() for n in tested},
        )  # fmt: skip
        state = BuildState(self.session, self.settings, self.project, self.suite_files())
        builders = Builders(self.settings, self.project, self.adapter, inv, state, validator, full_refresh)
        hooks = [self.timings, *([Reporter(reporter)] if reporter else [])]
        return commands.execute(
            self.settings, self.project, self.adapter, inv, graph, builders.by_step(),
            relations=self.relations, hooks=hooks, debug=debug,
        )  # fmt: skip

    def suite_files(self) -> dict[str, Path]:
        from netflix_elt.quality.suites import load_suites

        return {s.name: Path(s.file) for s in load_suites(self.settings, self.project)}

    def seed(self, names: list[str] | None = None, *, force: bool = False) -> dict[str, int | None]:
        """Load seeds; one whose file is unchanged since its last load is left as it is (rows None)."""
        wanted = [n for n in self.settings.config.seeds if names is None or n in names]
        with self.writing("seed"):
            out = self._run_graph(wanted, "seed", {"select": wanted}, full_refresh=force)
        failed = [r for r in out.results if r.status != "success"]
        if failed:  # the seed's own error (a bad file is exit 4), not a summary
            raise failed[0].exception or TransformError(f"seed {failed[0].name!r}: {failed[0].message}")
        return {r.name: (None if r.message.startswith("up to date") else r.rows) for r in out.results}

    def run(self, select_: Sequence[str] = (), exclude: Sequence[str] = (), *, full_refresh: bool = False,
            reporter: Progress | None = None, debug: bool = False, args: dict[str, Any] | None = None) -> RunOutcome:  # fmt: skip
        """Build the selected transforms (ephemeral and analyses are compiled, not built)."""
        names = commands.built_nodes(self.project, self.selected(select_, exclude))
        args = args or {"select": list(select_), "exclude": list(exclude), "full_refresh": full_refresh}
        with self.writing("run"):
            return self._run_graph(names, "run", args, full_refresh=full_refresh, reporter=reporter, debug=debug)

    def snapshot(self, select_: Sequence[str] = (), exclude: Sequence[str] = (), *, reporter: Progress | None = None,
                 debug: bool = False, args: dict[str, Any] | None = None) -> RunOutcome:  # fmt: skip
        """Apply the selected SCD2 snapshots, each as one MERGE, with one timestamp for all."""
        names = self.selected(select_, exclude, ("snapshot",))
        args = args or {"select": list(select_), "exclude": list(exclude)}
        with self.writing("snapshot"):
            return self._run_graph(names, "snapshot", args, reporter=reporter, debug=debug)

    def build(self, select_: Sequence[str] = (), exclude: Sequence[str] = (), *, from_url: str | None = None,
              full_refresh: bool = False, allow_deletes: bool = False, reporter: Progress | None = None,
              debug: bool = False, args: dict[str, Any] | None = None, progress: Callable[[str], None] | None = None,
              on_load: Callable[[LoadReport], None] | None = None) -> RunOutcome:  # fmt: skip
        """The whole build as one graph, after the load: seeds, the suites of the sources they
        read, transforms, snapshots, each table's suite right after it (as `dbt build`). An
        error-severity failure skips everything downstream, snapshots included."""
        suites = self.validator().suites
        names, tested = commands.build_selection(self.project, suites, select_, exclude)  # check before loading
        args = args or {"select": list(select_), "exclude": list(exclude)}
        with self.writing("build"):
            with self.timings.stage("startup"):
                self.session  # noqa: B018 - start the engine (embedded) or connect (Snowflake)
            report = self.load(from_url, allow_deletes=allow_deletes, progress=progress)
            if on_load is not None:
                on_load(report)
            out = self._run_graph(
                names, "build", args, tested=tested, full_refresh=full_refresh, reporter=reporter, debug=debug
            )
            out.load = report
            with self.timings.stage("validate"):
                self._render_docs()
        return out

    def retry(self, *, reporter: Progress | None = None, debug: bool = False) -> tuple[Any, Any]:
        """Rerun what failed or was skipped in the last run/build/snapshot/validate (dbt retry):
        (plan, outcome), outcome None when nothing failed."""
        from netflix_elt.retry import plan_retry

        plan_ = plan_retry(self.settings)
        if not plan_.names:
            return plan_, None
        args = {**plan_.args, "retry_of": plan_.invocation_id}
        with self.writing("retry"):
            if plan_.command == "validate":
                return plan_, self.validate(plan_.names, args=args)
            if plan_.command == "run":
                full = bool(plan_.args.get("full_refresh"))
                return plan_, self.run(plan_.names, full_refresh=full, reporter=reporter, debug=debug, args=args)
            if plan_.command == "build":
                return plan_, self.build(plan_.names, reporter=reporter, debug=debug, args=args)
            return plan_, self.snapshot(plan_.names, reporter=reporter, debug=debug, args=args)

    def validate(self, select_: Sequence[str] = (), exclude: Sequence[str] = (), *, command: str = "validate",
                 args: dict[str, Any] | None = None) -> ValidationReport:  # fmt: skip
        """Run the expectation suites of the selected tables (all suites when none selected)."""
        names = self.selected(select_, exclude, commands.EVERYTHING) if select_ or exclude else None
        inv = self._start(command, args or {"select": list(select_), "exclude": list(exclude)})
        with self.writing(command):
            return commands.validate(self.validator(), self.settings, inv, names)

    def compile(self, names: Sequence[str] = ()) -> dict[str, tuple[Path, str]]:
        """SQL of each transform (all when none named), also written under target/compiled/."""
        chosen = list(names) or [n.name for n in self.project.of_kind("transform", "snapshot")]
        for name in chosen:
            if name not in self.project or self.project[name].kind in (Kind.SOURCE, Kind.SEED):
                raise ConfigError(f"no transform named {name!r}")
        out: dict[str, tuple[Path, str]] = {}
        with self.writing("compile", wait=False):
            comp = self.compiler(inline_missing=True)
            for name in chosen:
                sql = comp.select_sql(self.project[name])
                out[name] = (write_compiled(self.settings.target_dir, self.project[name], sql), sql)
        write_manifest(self.project, self.settings, self.relations, self.invocation_id)
        return out

    def show(self, name: str, limit: int = 10) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Preview rows of a node (its relation, or the compiled query for ephemeral/analysis)."""
        if name not in self.project:
            raise ConfigError(f"no node named {name!r}")
        node = self.project[name]
        with self.writing("show", wait=False):
            if not node.builds:
                sql = self.compiler(inline_missing=True).select_sql(node)
            else:
                relation = relation_of(self.settings, node)
                if not self.adapter.relation_exists(relation):
                    raise TransformError(f"{name!r} is not built yet ({relation}); run `netflix-elt run -s {name}`")
                sql = f"SELECT * FROM {relation}"
            df = self.session.sql(f"SELECT * FROM ({sql}) LIMIT {int(limit)}")
            rows = df.collect()
        return [c.strip('"') for c in df.columns], [tuple(r) for r in rows]

    def tables(self) -> list[tuple[str, str, int]]:
        """Every table and view of the warehouse with its row count (schema, name, rows)."""
        s = self.settings
        with self.writing("tables", wait=False):
            rows = self.session.sql(
                f"SELECT TABLE_SCHEMA, TABLE_NAME FROM {s.database}.INFORMATION_SCHEMA.TABLES "
                f"WHERE TABLE_SCHEMA <> 'INFORMATION_SCHEMA' ORDER BY 1, 2"
            ).collect()
            return [(schema, name, self.adapter.row_count(f"{s.database}.{schema}.{name}")) for schema, name in rows]

    def docs(self) -> Any:
        """`netflix-elt docs generate`: the site, catalog.json and lineage.json from the warehouse."""
        from netflix_elt.docs import generate_docs

        with self.writing("docs generate"):
            return generate_docs(self)

    # data tests (netflix_elt.quality) ----------------------------------------------------------
    def validator(self) -> DataValidator:
        """The workspace's data-test runner (one GX context), closed with the workspace."""
        if self._validator is None:
            from netflix_elt.quality import DataValidator

            self._validator = DataValidator(self.settings, self.project, self.adapter, self.invocation_id)
            self._stack.callback(self._validator.close)
        return self._validator

    def _render_docs(self) -> None:
        """GX Data Docs for the tests this command ran (once, at its end)."""
        if self._validator is not None:
            self._validator.build_docs()


@contextlib.contextmanager
def workspace(**kwargs: Any) -> Iterator[Workspace]:
    ws = Workspace.from_options(**kwargs)
    try:
        yield ws
    finally:
        ws.close()
