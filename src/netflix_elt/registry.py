"""The transform registry: `@transform` and `@snapshot` record metadata; `load_project` builds the graph.

A transform is a plain function whose parameter names are its inputs (other transforms, sources,
seeds), as in Hamilton and Dagster. The decorators only attach a spec to the function; the graph
is resolved in one place, `load_project`, which scans the transforms package.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from netflix_elt.config import DEFAULT_LAYERS, Settings
from netflix_elt.contracts import Contract, descriptions, parse_contract
from netflix_elt.dag import DAG
from netflix_elt.errors import GraphError
from netflix_elt.suggest import did_you_mean


class Kind(StrEnum):
    """What a node of the project graph is (a StrEnum, so `node.kind == "transform"` still reads)."""

    SOURCE = "source"
    SEED = "seed"
    TRANSFORM = "transform"
    SNAPSHOT = "snapshot"


class Materialized(StrEnum):
    """How a node is stored. Ephemeral transforms are inlined into what reads them, analyses
    are only compiled; every other node is a relation in the warehouse."""

    VIEW = "view"
    TABLE = "table"
    INCREMENTAL = "incremental"
    EPHEMERAL = "ephemeral"
    ANALYSIS = "analysis"
    SNAPSHOT = "snapshot"


ANALYSES = "analyses"  # the layer of analyses, always allowed beside `[project] layers`
MATERIALIZATIONS = tuple(m.value for m in Materialized if m is not Materialized.SNAPSHOT)
NOT_BUILT = frozenset({Materialized.EPHEMERAL, Materialized.ANALYSIS})
# parameter names the runner provides rather than the graph
RESERVED_INPUTS = frozenset({"session", "run_started_at"})
SPEC_ATTR = "__netflix_elt_spec__"


@dataclass(frozen=True)
class SnapshotConfig:
    """How an SCD2 snapshot detects changes (dbt's snapshot config)."""

    strategy: Literal["timestamp", "check"]
    updated_at: str | None = None
    check_cols: tuple[str, ...] | Literal["all"] = ()
    hard_deletes: Literal["ignore", "invalidate", "new_record"] = "ignore"


@dataclass(frozen=True)
class Node:
    """A node of the project graph: a source, a seed, a transform or a snapshot."""

    name: str
    kind: Kind
    layer: str
    materialized: Materialized
    inputs: tuple[str, ...] = ()
    func: Callable[..., Any] | None = None
    unique_key: tuple[str, ...] = ()
    incremental_key: str | None = None
    latest_by: tuple[str, ...] = ()
    deduplicate: bool = True  # incremental: a full build keeps one row per unique_key (see `transform`)
    tags: tuple[str, ...] = ()
    description: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    file: str = ""
    snapshot: SnapshotConfig | None = None
    contract: Contract | None = None  # parsed by load_project from `contract_decl`
    # what the decorator was given, (contract=, columns=), for load_project to check and parse
    contract_decl: tuple[object, Any] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # plain strings (decorators, tests) are stored as the enums; an unknown value stays as
        # given, for load_project's check to name the transform, its file and the allowed values
        for attr, enum in (("kind", Kind), ("materialized", Materialized)):
            value = getattr(self, attr)
            if not isinstance(value, enum) and value in {m.value for m in enum}:
                object.__setattr__(self, attr, enum(value))

    @property
    def builds(self) -> bool:
        """Whether the node is a relation in the warehouse (not ephemeral, not an analysis)."""
        return self.materialized not in NOT_BUILT

    @property
    def takes_session(self) -> bool:
        return self.func is not None and "session" in inspect.signature(self.func).parameters

    @property
    def is_model(self) -> bool:
        return self.kind == "transform"

    @property
    def source_code(self) -> str:
        return inspect.getsource(self.func) if self.func else ""


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def transform(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    layer: str,
    materialized: str = "view",
    unique_key: str | Sequence[str] | None = None,
    incremental_key: str | None = None,
    latest_by: Sequence[str] = (),
    deduplicate: bool = True,
    tags: Iterable[str] = (),
    description: str | None = None,
    columns: dict[str, str] | dict[str, Any] | None = None,
    contract: bool | dict[str, str] | None = None,
) -> Any:
    """Declare a transform: DataFrames in (named by the parameters), one DataFrame out.

    `contract` (dbt's enforced model contract): a dict of column -> Snowflake type ("NUMBER NOT
    NULL"), or True with `columns={"c": {"description": ..., "data_type": ..., "not_null": ...}}`.
    Before the node is written its output's columns, types and NULLs are checked against it
    (netflix_elt.contracts); a mismatch fails the node and writes nothing.

    `incremental` transforms need `unique_key` and `incremental_key`: a column that grows with
    each load (e.g. RAW's `_LOAD_ID`), used to pick up only what arrived since the last run.
    Rows sharing a unique key are reduced to one, the first by `latest_by` (each column
    descending, NULL last), then by incremental_key (the later load) unless latest_by names it.
    The same order guards the MERGE: a row already in the table is replaced only by a newer
    one, so the table does not depend on the order loads arrive in. Make the order total (end it
    with a row id such as `_source_row`) so that a full build and incremental runs agree.
    `deduplicate=False` says the SELECT already gives one row per unique_key (it reads a node
    unique on the same key and joins only many-to-one): a full build writes it as it is, without
    ranking every row by latest_by (a window over the whole input); the MERGE still takes the
    latest row per key of what it merges. Give the node's suite a uniqueness test on the key.
    """

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        spec = Node(
            name=(name or f.__name__).lower(),
            kind="transform",
            layer=layer,
            materialized=materialized,
            func=f,
            unique_key=tuple(k.upper() for k in _as_tuple(unique_key)),
            incremental_key=incremental_key.upper() if incremental_key else None,
            latest_by=tuple(c.upper() for c in latest_by),
            deduplicate=deduplicate,
            tags=tuple(tags),
            description=inspect.cleandoc(description or f.__doc__ or ""),
            columns=descriptions({k.upper(): v for k, v in (columns or {}).items()}),
            file=inspect.getsourcefile(f) or "",
            contract_decl=(contract, {k.upper(): v for k, v in (columns or {}).items()}),
        )
        setattr(f, SPEC_ATTR, spec)
        return f

    return wrap(func) if func is not None else wrap


def snapshot(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    unique_key: str | Sequence[str],
    strategy: Literal["timestamp", "check"],
    updated_at: str | None = None,
    check_cols: Sequence[str] | Literal["all"] = (),
    hard_deletes: Literal["ignore", "invalidate", "new_record"] = "ignore",
    invalidate_hard_deletes: bool | None = None,
    tags: Iterable[str] = (),
    description: str | None = None,
    columns: dict[str, str] | None = None,
) -> Any:
    """Declare an SCD2 snapshot of the DataFrame the function returns (dbt's snapshot)."""
    if invalidate_hard_deletes is not None:
        hard_deletes = "invalidate" if invalidate_hard_deletes else "ignore"

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        cfg = SnapshotConfig(
            strategy=strategy,
            updated_at=updated_at.upper() if updated_at else None,
            check_cols="all" if check_cols == "all" else tuple(c.upper() for c in check_cols),
            hard_deletes=hard_deletes,
        )
        spec = Node(
            name=(name or f.__name__).lower(),
            kind="snapshot",
            layer="snapshots",
            materialized="snapshot",
            func=f,
            unique_key=tuple(k.upper() for k in _as_tuple(unique_key)),
            tags=tuple(tags),
            description=inspect.cleandoc(description or f.__doc__ or ""),
            columns={k.upper(): v for k, v in (columns or {}).items()},
            file=inspect.getsourcefile(f) or "",
            snapshot=cfg,
        )
        setattr(f, SPEC_ATTR, spec)
        return f

    return wrap(func) if func is not None else wrap


def spec_of(func: Callable[..., Any]) -> Node:
    """The node a decorated function declares (raises GraphError if it is not decorated)."""
    spec = getattr(func, SPEC_ATTR, None)
    if spec is None:
        raise GraphError(f"{getattr(func, '__name__', func)!r} is not decorated with @transform or @snapshot")
    return spec


def _validate_spec(spec: Node, layers: Sequence[str] = DEFAULT_LAYERS) -> None:
    where = f"{spec.kind} {spec.name!r} ({spec.file})"
    _check_names(spec, where)
    if spec.kind == "transform":
        allowed = (*layers, ANALYSES)
        if spec.layer not in allowed:
            hint = did_you_mean(str(spec.layer), allowed)
            raise GraphError(
                f"{where}: layer {spec.layer!r} is not one of {', '.join(allowed)}{hint} "
                "(add it to [project] layers in config/netflix_elt.toml)"
            )
        if spec.materialized not in MATERIALIZATIONS:
            raise GraphError(f"{where}: materialized {spec.materialized!r} is not one of {', '.join(MATERIALIZATIONS)}")
        if spec.materialized == "incremental" and not (spec.unique_key and spec.incremental_key):
            raise GraphError(f"{where}: incremental transforms need unique_key and incremental_key")
        if not spec.deduplicate and spec.materialized != "incremental":
            raise GraphError(f"{where}: deduplicate=False applies to incremental transforms only")
        declared = spec.contract_decl[0] if spec.contract_decl else None
        if declared not in (None, False) and not spec.builds:
            raise GraphError(
                f"{where}: a contract needs a built relation; {str(spec.materialized)!r} transforms have none"
            )
    if spec.kind == "snapshot":
        cfg = spec.snapshot
        assert cfg is not None
        if not spec.unique_key:
            raise GraphError(f"{where}: a snapshot needs unique_key")
        if cfg.strategy == "timestamp" and not cfg.updated_at:
            raise GraphError(f"{where}: strategy='timestamp' needs updated_at")
        if cfg.strategy == "check" and not cfg.check_cols:
            raise GraphError(f"{where}: strategy='check' needs check_cols")
    params = inspect.signature(spec.func).parameters if spec.func else {}
    for p in params.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise GraphError(f"{where}: *args/**kwargs cannot name inputs; name each input as a parameter")


def _check_names(spec: Node, where: str) -> None:
    """Names that reach SQL (the relation, keys, columns) must be plain identifiers (exit 2)."""
    from netflix_elt.config import IDENTIFIER

    cfg = spec.snapshot
    named = [("name", spec.name), *(("unique_key", k) for k in spec.unique_key)]
    named += [("incremental_key", spec.incremental_key)] if spec.incremental_key else []
    named += [("latest_by", c) for c in spec.latest_by] + [("columns", c) for c in spec.columns]
    if cfg is not None:
        named += [("updated_at", cfg.updated_at)] if cfg.updated_at else []
        named += [("check_cols", c) for c in cfg.check_cols] if cfg.check_cols != "all" else []
    for what, value in named:
        if not IDENTIFIER.match(value):
            raise GraphError(
                f"{where}: {what} {value!r} is not a valid identifier (letters, digits, _ and $, "
                "starting with a letter or _)"
            )


def collect_specs(modules: Iterable[Any]) -> list[Node]:
    """Decorated functions of the given modules; a name defined twice is an error naming both."""
    found: dict[str, Node] = {}
    for module in modules:
        for obj in vars(module).values():
            spec = getattr(obj, SPEC_ATTR, None)
            if spec is None or getattr(obj, "__module__", None) != module.__name__:
                continue
            if spec.name in found and found[spec.name].func is not obj:
                other = found[spec.name]
                raise GraphError(
                    f"transform {spec.name!r} is defined twice: by {other.func.__qualname__} in "  # type: ignore[union-attr]
                    f"{other.file} and by {obj.__qualname__} in {spec.file}"
                )
            found[spec.name] = spec
    return list(found.values())


class Project:
    """All nodes of a project and the graph between them."""

    def __init__(self, nodes: Iterable[Node], root: Path | None = None, transforms_dir: Path | None = None) -> None:
        self.root, self.transforms_dir = root, transforms_dir  # what `path:` selectors are relative to
        self.nodes: dict[str, Node] = {}
        for n in nodes:
            if n.name in self.nodes:
                raise GraphError(f"name {n.name!r} is used by a {self.nodes[n.name].kind} and a {n.kind}")
            self.nodes[n.name] = n
        for n in self.nodes.values():
            for inp in n.inputs:
                if inp not in self.nodes:
                    hint = did_you_mean(inp, list(self.nodes))
                    raise GraphError(f"{n.kind} {n.name!r} ({n.file}) takes an unknown input {inp!r}{hint}")
        self.dag = DAG({n.name: n.inputs for n in self.nodes.values()})

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def __contains__(self, name: str) -> bool:
        return name in self.nodes

    @property
    def order(self) -> list[str]:
        return self.dag.order

    def of_kind(self, *kinds: str) -> list[Node]:
        return [self.nodes[n] for n in self.order if self.nodes[n].kind in kinds]


def with_inputs(spec: Node, layers: Sequence[str] = DEFAULT_LAYERS) -> Node:
    """The spec with its inputs derived from the function's parameter names (its layer one of `layers`)."""
    assert spec.func is not None
    _validate_spec(spec, layers)
    names = [p for p in inspect.signature(spec.func).parameters if p not in RESERVED_INPUTS]
    contract = spec.contract
    if spec.contract_decl is not None:
        where = f"{spec.kind} {spec.name!r} ({spec.file})"
        contract = parse_contract(where, *spec.contract_decl)
    return replace(spec, inputs=tuple(n.lower() for n in names), contract=contract)


def source_nodes(settings: Settings) -> list[Node]:
    nodes = [
        Node(
            name=name,
            kind="source",
            layer="raw",
            materialized="table",
            description=src.description,
            file=str(settings.project_dir / "config" / "netflix_elt.toml"),
        )
        for name, src in settings.config.sources.items()
    ]
    nodes += [
        Node(
            name=name,
            kind="seed",
            layer="seeds",
            materialized="table",
            description=seed.description,
            columns={},
            file=str(settings.project_dir / settings.config.project.seeds / seed.file),
        )
        for name, seed in settings.config.seeds.items()
    ]
    return nodes


def load_project(settings: Settings, modules: Iterable[Any] | None = None) -> Project:
    """Build the project graph: config sources and seeds plus every decorated function.

    A CSV file in the seeds folder that no `[seeds.*]` section declares is not a node: a warning
    (logger `netflix_elt`) names it and the TOML lines that would load it.
    """
    from netflix_elt.discovery import import_package, warn_undeclared_seeds

    if modules is None:
        modules = import_package(settings.config.project.transforms, settings.project_dir)
    warn_undeclared_seeds(settings)
    specs = [with_inputs(s, settings.config.project.layers) for s in collect_specs(modules)]
    package_dir = settings.project_dir.joinpath(*settings.config.project.transforms.split("."))
    return Project([*source_nodes(settings), *specs], root=settings.project_dir, transforms_dir=package_dir)
