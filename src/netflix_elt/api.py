"""The Python API behind every CLI command, usable from notebooks, scripts and tests.

A :class:`Workspace` holds the resolved settings, the project graph and one engine adapter (which
owns the Snowpark session). Every command is a method that takes the warehouse lock itself and
runs one graph (commands.py); the CLI only parses and prints what the methods return.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt import commands, inspection
from netflix_elt.adapters import Adapter, adapter_for
from netflix_elt.artifacts import NodeResult
from netflix_elt.change.state import selection_state
from netflix_elt.compiler import Compiler, relation_of
from netflix_elt.config import Settings, load_settings
from netflix_elt.errors import TransformError
from netflix_elt.invocation import Invocation
from netflix_elt.registry import Project, load_project
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

    def __init__(self, settings: Settings, project: Project | None = None, adapter: Adapter | None = None) -> None:
        self.settings = settings
        self.adapter = adapter or adapter_for(settings)  # owns the session (opened on first use)
        self._project = project
        self._stack = contextlib.ExitStack()
        self._validator: DataValidator | None = None
        self.timings = Timings()
        self.invocation = Invocation("api", settings.target)
        self.caller = "python"  # who holds the lock, in its message: the CLI says `netflix-elt`
        self.lock_timeout: float | None = None  # None: [project] lock_timeout
        self.notify: Callable[[str], None] | None = None  # told when a stale lock is taken over

    @classmethod
    def from_options(cls, project_dir: Path | None = None, **options: Any) -> Workspace:
        return cls(load_settings(project_dir, **options))

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close GX and the adapter (the embedded engine keeps the process's session for reuse)."""
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

    def selected(
        self, select_: Sequence[str] = (), exclude: Sequence[str] = (), kinds: Sequence[str] = ("transform",)
    ) -> list[str]:
        return select(self.project, select_, exclude, kinds, selection_state(self))

    @contextlib.contextmanager
    def locked(self, command: str, *, wait: bool = True) -> Iterator[None]:
        """Hold the warehouse lock (netflix_elt.lock) for a block: one writer at a time.

        Writers wait up to `lock_timeout`; readers (`wait=False`) need the lock only where one
        process at a time may open the warehouse (the embedded engine), and fail at once if held.
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

    @contextlib.contextmanager
    def writing(self, command: str, args: dict[str, Any] | None = None, *, wait: bool = True) -> Iterator[None]:
        """A command that writes artifacts: a new invocation (id, one clock for all its nodes) under the lock."""
        self.invocation = Invocation(command, self.settings.target, dict(args or {}))
        if self._validator is not None:
            self._validator.invocation_id = self.invocation.id
        with self.locked(command, wait=wait):
            yield

    # commands that write ---------------------------------------------------------------------
    def init(self) -> list[str]:
        """Create the database and schemas (and RAW's tables); returns the statements run."""
        from netflix_elt.ingest.load import ensure_raw

        stmts = commands.init_statements(self.settings)
        with self.locked("init"):
            for stmt in stmts:
                self.session.sql(stmt).collect()
            ensure_raw(self.session, self.settings)
        return stmts

    def load(self, url: str | None = None, *, progress: Callable[[str], None] | None = None, **opts: Any) -> LoadReport:
        """COPY what landed and is not loaded yet into RAW (options: force, allow_deletes, skip_batches)."""
        from netflix_elt.ingest.load import load

        with self.locked("load"), self.timings.stage("load"):
            self.init()
            a = self.adapter
            return load(self.session, self.settings, url, copies_from_external_stage=a.copies_from_external_stage,
                        copies_from_local_path=a.copies_from_local_path, progress=progress, raw_ready=True,
                        **opts)  # fmt: skip

    def seed(self, names: list[str] | None = None, *, force: bool = False) -> dict[str, int | None]:
        """Load seeds; one whose file is unchanged since its last load is left as it is (rows None)."""
        wanted = commands.seeds_named(self.settings, names)  # an unknown name: SelectorError, did-you-mean
        with self.writing("seed", {"select": wanted}):
            out = commands.run_graph(self, wanted, full_refresh=force)
        for r in out.results:
            if r.status != "success":  # the seed's own error (a bad file is exit 4), not a summary
                raise r.exception or TransformError(f"seed {r.name!r}: {r.message}")
        return {r.name: None if r.message.startswith("up to date") else r.rows for r in out.results}

    def run(self, select_: Sequence[str] = (), exclude: Sequence[str] = (), *, full_refresh: bool = False,
            args: dict[str, Any] | None = None, **kw: Any) -> RunOutcome:  # fmt: skip
        """Build the selected transforms (ephemeral and analyses are compiled, not built);
        `reporter` gets each result, `debug` puts tracebacks in error messages."""
        names = commands.built_nodes(self.project, self.selected(select_, exclude))
        args = args or {"select": list(select_), "exclude": list(exclude), "full_refresh": full_refresh}
        with self.writing("run", args):
            return commands.run_graph(self, names, full_refresh=full_refresh, **kw)

    def snapshot(self, select_: Sequence[str] = (), exclude: Sequence[str] = (), *,
                 args: dict[str, Any] | None = None, **kw: Any) -> RunOutcome:  # fmt: skip
        """Apply the selected SCD2 snapshots, each as one MERGE, with one timestamp for all."""
        names = self.selected(select_, exclude, ("snapshot",))
        with self.writing("snapshot", args or {"select": list(select_), "exclude": list(exclude)}):
            return commands.run_graph(self, names, **kw)

    def build(self, select_: Sequence[str] = (), exclude: Sequence[str] = (), *, from_url: str | None = None,
              allow_deletes: bool = False, full_refresh: bool = False, args: dict[str, Any] | None = None,
              on_load: Callable[[LoadReport], None] | None = None, **kw: Any) -> RunOutcome:  # fmt: skip
        """The whole build: the load, then one graph of seeds, the suites of the sources they read,
        transforms and snapshots, each table's suite right after it (as `dbt build`). An
        error-severity failure skips everything downstream, snapshots included."""
        names, tested = commands.build_selection(self, select_, exclude)
        with self.writing("build", args or {"select": list(select_), "exclude": list(exclude)}):
            with self.timings.stage("startup"):
                self.session  # noqa: B018 - start the engine (embedded) or connect (Snowflake)
            # GX imports while the load parses and copies; the suites are checked before it commits
            self.validator().prepare_in_background()
            report = self.load(from_url, allow_deletes=allow_deletes, before_write=lambda: self.validator().suites)
            if on_load is not None:
                on_load(report)
            out = commands.run_graph(self, names, tested=tested, full_refresh=full_refresh, **kw)
            out.load = report
            with self.timings.stage("validate"):
                self.validator().build_docs()  # GX Data Docs, once, for the tests this build ran
        return out

    def retry(self, **kw: Any) -> tuple[Any, Any]:
        """Rerun what failed or was skipped in the last command: (plan, outcome or None)."""
        with self.locked("retry"):  # each rerun command starts its own invocation
            return commands.retry(self, **kw)

    def validate(self, select_: Sequence[str] = (), exclude: Sequence[str] = (), *, full: bool = False,
                 args: dict[str, Any] | None = None, on_suite: Any = None) -> ValidationReport:  # fmt: skip
        """Run the suites of the selected tables (all when none selected); on what changed since they
        passed where that proves the whole (quality.incremental), on whole tables with `full`."""
        names = self.selected(select_, exclude, commands.EVERYTHING) if select_ or exclude else None
        with self.writing("validate", args or {"select": list(select_), "exclude": list(exclude)}):
            return commands.validate(self.validator(), self.settings, self.invocation, names, on_suite, full=full)

    def docs(self) -> Any:
        """`netflix-elt docs generate`: the site, catalog.json and lineage.json from the warehouse."""
        from netflix_elt.docs import generate_docs

        with self.writing("docs generate"):
            return generate_docs(self)

    def print_sql(self, command: str, *args: Any, **opts: Any) -> str:
        """`--print-sql`: the script `load`, `seed` or `snapshot` would send to an empty Snowflake account."""
        from netflix_elt import scripts as s

        build = {"load": s.load_script, "seed": s.seed_script, "snapshot": s.snapshot_script}[command]
        return build(self.settings, *args, **opts)

    # commands that only read -----------------------------------------------------------------
    def compile(self, names: Sequence[str] = ()) -> dict[str, tuple[Path, str]]:
        """SQL of each transform (all when none named), also written under target/compiled/."""
        with self.writing("compile", wait=False):
            return inspection.compile_sql(self, names)

    def show(self, name: str, limit: int = 10) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Preview rows of a node (its relation, or the compiled query for ephemeral/analysis)."""
        with self.locked("show", wait=False):
            return inspection.show_rows(self, name, limit)

    def tables(self) -> list[tuple[str, str, str, int]]:
        """Every table and view of the warehouse: (schema, name, TABLE or VIEW, rows)."""
        with self.locked("tables", wait=False):
            return inspection.list_tables(self)

    def validator(self) -> DataValidator:
        """The workspace's data-test runner (one GX context), closed with the workspace."""
        if self._validator is None:
            from netflix_elt.quality import DataValidator

            self._validator = DataValidator(self.settings, self.project, self.adapter, self.invocation_id)
            self._stack.callback(self._validator.close)
        return self._validator


@contextlib.contextmanager
def workspace(**kwargs: Any) -> Iterator[Workspace]:
    ws = Workspace.from_options(**kwargs)
    try:
        yield ws
    finally:
        ws.close()
