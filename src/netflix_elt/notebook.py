"""`netflix_elt.connect()`: a ready Snowpark session for notebooks, beside the CLI; `ref()` and `source()`.

`ref(session, "dim_movies")` is dbt's ref in a notebook: the DataFrame of a node for the session's
target (its table or view; an ephemeral transform or an analysis as its query), so a cell never
spells `MOVIELENS.DEV.DIM_MOVIES`. `source(session, "raw_ratings")` is the RAW table of a source.

On the embedded engine the session holds the warehouse lock (netflix_elt.lock) for as long as it
is open, under the command `python (netflix_elt.connect)`: a CLI command started meanwhile fails
at once with the lock's message naming this process (exit 3), never DuckDB's file conflict as an
HTTP 500, and `connect()` while a CLI command writes raises LockError naming it.
`netflix_elt.close_session(session)` releases the warehouse (or let the interpreter exit).
"""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.adapters import Adapter, adapter_class, adapter_for
from netflix_elt.config import Settings, load_settings
from netflix_elt.errors import ConfigError, TransformError
from netflix_elt.suggest import did_you_mean

if TYPE_CHECKING:
    from snowflake.snowpark import DataFrame, Session

    from netflix_elt.registry import Node, Project

COMMAND = "python (netflix_elt.connect)"


@dataclass
class _Opened:
    """What `connect()` knows about a session it returned: which settings and adapter it serves."""

    session: Session
    settings: Settings
    adapter: Adapter
    project: Project | None = None


_OPENED: dict[int, _Opened] = {}  # id(session) -> its settings; the entry holds the session alive


def connect(
    target: str | None = None,
    profile: str | None = None,
    project_dir: Path | str | None = None,
    *,
    lock_timeout: float = 0.0,
    command: str = COMMAND,
    **_: Any,
) -> Session:
    """A session with the target's schema current; `lock_timeout` seconds to wait for a CLI writer.

    `command` is what the warehouse lock tells a CLI command started meanwhile (the dashboard says so).

    Raises ConfigError when this process already holds a session on another target of the same
    warehouse folder (the emulator allows one login per folder and process, and switching that
    session's schema would silently point the first notebook cell at the other target).
    """
    settings = load_settings(Path(project_dir) if project_dir else None, target=target, profile=profile)
    adapter = adapter_for(settings, command=command, lock_timeout=lock_timeout)
    holding = getattr(adapter, "open_target", lambda: None)()
    if holding is not None and holding != settings.target:
        raise ConfigError(
            f"this process already has a session on target {holding!r} of the warehouse "
            f"{settings.warehouse_dir}; connect(target={settings.target!r}) cannot open a second one "
            "there (the embedded engine allows one per folder and process): call "
            "netflix_elt.close_session() on the first session, or use another process"
        )
    session = adapter.session
    schema = f"{settings.database}.{settings.target_schema}"
    session.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}").collect()
    session.sql(f"USE SCHEMA {schema}").collect()
    atexit.register(adapter.close)
    _OPENED[id(session)] = _Opened(session, settings, adapter)
    return session


def forget(session: Session) -> None:
    """Drop what connect() recorded about a session (close_session), so ref() no longer uses it."""
    _OPENED.pop(id(session), None)


def ref(session: Session, name: str, *, target: str | None = None, project_dir: Path | str | None = None) -> DataFrame:
    """The DataFrame of a transform, seed or snapshot for the session's target (dbt's `ref`).

    A built node is its relation (`session.table`); an ephemeral transform or an analysis is its
    query, with its inputs read from the warehouse. An unknown name raises ConfigError with a
    did-you-mean; a node not built yet raises TransformError saying which command builds it.
    `target`/`project_dir` are only for a session that `connect()` did not open.
    """
    opened = _context(session, target, project_dir)
    node = _node(opened, name, want_source=False)
    if not node.builds:
        from netflix_elt.compiler import Compiler
        from netflix_elt.invocation import Invocation

        invocation = Invocation("ref", opened.settings.target)
        compiler = Compiler(_project(opened), opened.settings, opened.adapter, invocation, inline_missing=True)
        return compiler.dataframe(node)
    return _table(opened, node, f"run `netflix-elt {_builder(node)} -s {node.name}`")


def source(
    session: Session, name: str, *, target: str | None = None, project_dir: Path | str | None = None
) -> DataFrame:
    """The RAW table of a source declared in config/netflix_elt.toml (dbt's `source`), e.g. "raw_ratings"."""
    opened = _context(session, target, project_dir)
    return _table(opened, _node(opened, name, want_source=True), "run `netflix-elt load` first")


def _context(session: Session, target: str | None, project_dir: Path | str | None) -> _Opened:
    opened = _OPENED.get(id(session))
    if opened is not None and opened.session is session:
        if target is not None and target.lower() != opened.settings.target:
            raise ConfigError(
                f"this session was opened by connect() for target {opened.settings.target!r}, not {target!r}; "
                f"open one with netflix_elt.connect(target={target!r})"
            )
        return opened
    # a session of the user's own (e.g. Snowpark's Session.builder on a real account)
    settings = load_settings(Path(project_dir) if project_dir else None, target=target)
    adapter = adapter_class(settings)(settings, command=COMMAND)
    adapter.use_session(session)
    return _Opened(session, settings, adapter)


def _project(opened: _Opened) -> Project:
    if opened.project is None:
        from netflix_elt.registry import load_project

        opened.project = load_project(opened.settings)
    return opened.project


def _node(opened: _Opened, name: str, *, want_source: bool) -> Node:
    project = _project(opened)
    key = str(name).lower()
    fn = "source" if want_source else "ref"
    candidates = [n for n, node in project.nodes.items() if (node.kind == "source") == want_source]
    if key in candidates:
        return project[key]
    if key in project:  # a source given to ref(), or a transform to source()
        other = "ref" if want_source else "source"
        raise ConfigError(f"{key!r} is a {project[key].kind}, not a {'source' if want_source else 'node'}: "
                          f"use netflix_elt.{other}(session, {key!r})")  # fmt: skip
    what = "source" if want_source else "transform, seed or snapshot"
    hint = did_you_mean(key, candidates)
    raise ConfigError(f"{fn}(): no {what} named {name!r}{hint} (`netflix-elt ls` lists them)")


def _builder(node: Node) -> str:
    return {"seed": "seed", "snapshot": "snapshot"}.get(str(node.kind), "run")


def _table(opened: _Opened, node: Node, how: str) -> DataFrame:
    from netflix_elt.compiler import relation_of

    relation = relation_of(opened.settings, node)
    if not opened.adapter.relation_exists(relation):
        raise TransformError(f"{node.kind} {node.name!r} is not in the warehouse yet ({relation}); {how}")
    return opened.session.table(relation)
