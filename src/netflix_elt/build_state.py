"""What the framework remembers between commands, kept on the warehouse itself (the AUDIT schema).

Two kinds of state, both one value per (target schema, node) in a small key-value table, so they
work the same on the emulator and on Snowflake:

* build fingerprints (`AUDIT.BUILD_STATE`): a node is rebuilt only when its code or what it
  reads has changed. The fingerprint of each node built (and tested) successfully is kept; when
  it matches and the relation still exists, the node is skipped, as SQLMesh does.
  `--full-refresh` rebuilds everything. What this cannot see: rows changed in RAW by hand.
* what each fingerprint was made of (`AUDIT.BUILD_DETAILS`, JSON written in the same step as
  the fingerprint): the node's own checksum, its inputs' fingerprints, its suite's hash and the
  SELECT it was built from, so `plan` can say why a node would be rebuilt and diff its SQL, and
  `state:modified` can compare checksums against the last good build of this target.
* incremental watermarks (`AUDIT.INCREMENTAL_STATE`): how far each incremental transform has
  read its input.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import weakref
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.config import Settings
from netflix_elt.registry import Node, Project
from netflix_elt.sql import string

if TYPE_CHECKING:
    from snowflake.snowpark import Session

TESTED = "+tested"

# session -> the AUDIT tables this command has created or found (StateTable._ensure): every store
# made during a build ran CREATE SCHEMA and CREATE TABLE IF NOT EXISTS again, 45 statements a build
_ENSURED: weakref.WeakKeyDictionary[Session, set[str]] = weakref.WeakKeyDictionary()
# session -> (table, target schema) -> {node: value}: what this command read or wrote of a state
# table. A build asked each node's watermark, basis and test state one SELECT at a time (~35 of a
# small incremental build's statements); one SELECT per table per command reads them all.
_VALUES: weakref.WeakKeyDictionary[Session, dict[tuple[str, str], dict[str, str]]] = weakref.WeakKeyDictionary()


def forget_ensured(session: Session) -> None:
    """A command starts: make sure of its AUDIT tables again (someone may have dropped one) and
    read their values afresh (another process may have written them since)."""
    _ENSURED.pop(session, None)
    _VALUES.pop(session, None)


class StateTable:
    """`<DB>.<AUDIT>.<name>(TARGET_SCHEMA, NODE, <value_column>, <stamp_column>)`, created on first use."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        name: str,
        value_column: str,
        stamp_column: str = "UPDATED_AT",
        *,
        read_only: bool = False,
    ) -> None:
        self.session = session
        self.database, self.audit_schema, self.name = settings.database, settings.audit_schema, name
        self.schema = f"{settings.database}.{settings.audit_schema}"
        self.table = f"{self.schema}.{name}"
        self.value_column = value_column
        self.stamp_column = stamp_column
        self.scope = string(settings.target_schema)
        self.read_only = read_only  # `plan`: a missing table reads as empty and is not created
        self._ready = False
        self._missing = False
        self._absent: set[str] = set()  # nodes whose row this object deleted (and has not put back)

    def _ensure(self) -> None:
        if not self._ready and self.read_only:
            self._missing = not table_exists(self.session, self.database, self.audit_schema, self.name)
            self._ready = True
        if not self._ready:
            ensured = _ENSURED.setdefault(self.session, set())
            if self.table not in ensured:
                if self.schema not in ensured:
                    self.session.sql(f"CREATE SCHEMA IF NOT EXISTS {self.schema}").collect()
                    ensured.add(self.schema)
                self.session.sql(
                    f"CREATE TABLE IF NOT EXISTS {self.table} (TARGET_SCHEMA VARCHAR, NODE VARCHAR, "
                    f"{self.value_column} VARCHAR, {self.stamp_column} TIMESTAMP_NTZ)"
                ).collect()
                ensured.add(self.table)
            self._ready = True

    def _values(self) -> dict[str, str]:
        """Every node's value in this target schema, read once per command (see `_VALUES`)."""
        self._ensure()
        if self._missing:
            return {}
        cache = _VALUES.setdefault(self.session, {})
        key = (self.table, self.scope)
        if key not in cache:
            rows = self.session.sql(
                f"SELECT NODE, {self.value_column} FROM {self.table} WHERE TARGET_SCHEMA = {self.scope}"
            ).collect()
            cache[key] = {r[0]: r[1] for r in rows}
        return cache[key]

    def all(self) -> dict[str, str]:
        """Every node's value in this target schema."""
        return dict(self._values())

    def get(self, node: str) -> str | None:
        return self._values().get(node)

    def _known(self) -> dict[str, str] | None:
        """What this command has read of the table (kept in step with its writes), None before a read."""
        return _VALUES.get(self.session, {}).get((self.table, self.scope))

    def forget_all(self) -> None:
        """Delete every node's value in this target schema."""
        assert not self.read_only, f"{self.table} was opened read-only"
        self._ensure()
        self.session.sql(f"DELETE FROM {self.table} WHERE TARGET_SCHEMA = {self.scope}").collect()
        _VALUES.setdefault(self.session, {})[(self.table, self.scope)] = {}

    def put(self, node: str, value: str | None) -> None:
        """Replace the node's value; None removes it.

        An UPDATE first, an INSERT only when it matched no row: one statement for a node built
        before (nearly every put of an incremental build; a DELETE and an INSERT were ~100 of a
        20m incremental build's ~480 statements), and the old value is never missing in between.
        A node this command knows has no row (read or deleted) is only INSERTed.
        """
        assert not self.read_only, f"{self.table} was opened read-only"
        self._ensure()
        known = self._known()
        if known is not None and node not in known:
            self._absent.add(node)
        where = f"WHERE TARGET_SCHEMA = {self.scope} AND NODE = {string(node)}"
        if value is None:
            if node not in self._absent:  # a node forgotten before its build has no row to delete
                self.session.sql(f"DELETE FROM {self.table} {where}").collect()
            self._absent.add(node)
            self._wrote(node, None)
            return
        updated = 0
        if node not in self._absent:
            res = self.session.sql(
                f"UPDATE {self.table} SET {self.value_column} = {string(value)}, "
                f"{self.stamp_column} = CURRENT_TIMESTAMP() {where}"
            ).collect()
            updated = int(res[0][0]) if res else 0
        if not updated:
            self.session.sql(
                f"INSERT INTO {self.table} (TARGET_SCHEMA, NODE, {self.value_column}, {self.stamp_column}) "
                f"VALUES ({self.scope}, {string(node)}, {string(value)}, CURRENT_TIMESTAMP())"
            ).collect()
        self._absent.discard(node)
        self._wrote(node, value)

    def _wrote(self, node: str, value: str | None) -> None:
        """Keep what this command read in step with what it wrote (only once it has read)."""
        known = self._known()
        if known is None:
            return
        if value is None:
            known.pop(node, None)
        else:
            known[node] = value


def table_exists(session: Session, database: str, schema: str, name: str) -> bool:
    """Whether a table exists, read from INFORMATION_SCHEMA (creates nothing)."""
    rows = session.sql(
        f"SELECT COUNT(*) FROM {database}.INFORMATION_SCHEMA.TABLES "
        f"WHERE TABLE_SCHEMA = {string(schema)} AND TABLE_NAME = {string(name)}"
    ).collect()
    return bool(rows[0][0])


def package_dir(settings: Settings) -> Path:
    """The folder of the transforms package (what a transform's hashed code may import from)."""
    return settings.project_dir / settings.config.project.transforms.replace(".", "/")


def node_code(node: Node, package: Path) -> bytes:
    """A transform's or snapshot's code and settings as hashed: its module files and their
    project imports, and the decorator's settings that change what it builds."""
    parts = [path.read_bytes() for path in module_files(node.func, package)]
    return b"".join([*parts, node_config(node).encode()])


def checksum_of(node: Node, code: bytes | None = None) -> str:
    """A node's own definition, as dbt's manifest `checksum` (what `state:modified` compares):
    a seed's file bytes, a transform's or snapshot's code and settings (`node_code`), hex sha256."""
    if code is None:  # a seed (what dbt's manifest hashes for a seed: the file)
        path = Path(node.file)
        code = path.read_bytes() if path.is_file() else b"missing"
    return hashlib.sha256(code).hexdigest()


def module_files(func: Any, package_dir: Path) -> list[Path]:
    """The file defining a transform and every project file it imports, directly or not.

    A transform's code is its module (its helpers and constants too) plus what it imports from
    the transforms package (`from transforms._latest import latest_load`); library code is not
    hashed (a virtual environment inside the project folder is library code too).
    """
    import ast
    import importlib.util

    start = inspect.getsourcefile(func)
    if start is None:
        return []
    root = package_dir.resolve()
    seen: list[Path] = []
    todo = [Path(start).resolve()]
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.append(path)
        for stmt in ast.walk(ast.parse(path.read_bytes())):
            names = []
            if isinstance(stmt, ast.Import):
                names = [a.name for a in stmt.names]
            elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                names = [stmt.module]
            for name in names:
                try:
                    spec = importlib.util.find_spec(name)
                except (ImportError, ValueError):
                    continue
                origin = Path(spec.origin).resolve() if spec and spec.origin else None
                if origin is not None and origin.suffix == ".py" and origin.is_relative_to(root):
                    todo.append(origin)
    return sorted(seen)


def node_config(node: Node) -> str:
    """The decorator's settings that change what a node builds (not its description)."""
    settings = (
        node.kind.value,
        node.materialized.value,
        node.layer,
        node.unique_key,
        node.incremental_key,
        node.latest_by,
        sorted(node.columns.items()),
        node.snapshot,
    )
    # a setting added later enters only where it is not its default: the others' fingerprints stay
    return repr(settings if node.deduplicate else (*settings, ("deduplicate", False)))


class BuildState:
    """Fingerprints of the project's nodes and the ones recorded at their last good build."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        project: Project,
        suites: Mapping[str, Path] | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        self.session = session
        self.settings = settings
        self.project = project
        self.suites = dict(suites or {})  # node name -> its suite file
        self.read_only = read_only  # `plan` and `state:` selectors: read what is recorded, create nothing
        self._package_dir = package_dir(settings)
        self.state = StateTable(session, settings, "BUILD_STATE", "FINGERPRINT", "BUILT_AT", read_only=read_only)
        self.details_table = StateTable(session, settings, "BUILD_DETAILS", "DETAILS", "BUILT_AT", read_only=read_only)
        self._details: dict[str, dict[str, Any]] | None = None
        self._fingerprints: dict[str, str] = {}
        self._stable: dict[str, str] = {}
        self._codes: dict[str, bytes] = {}
        self._sources: dict[str, str] | None = None
        self._recorded: dict[str, str] | None = None

    # reading ---------------------------------------------------------------------------------
    def recorded(self) -> dict[str, str]:
        if self._recorded is None:
            self._recorded = self.state.all()
        return self._recorded

    def details(self) -> dict[str, dict[str, Any]]:
        """What each recorded fingerprint was made of (see `record`); a node built before these
        were kept has none."""
        if self._details is None:
            self._details = {}
            for name, text in self.details_table.all().items():
                try:
                    self._details[name] = json.loads(text)
                except (TypeError, ValueError):
                    continue  # unreadable: treated as unknown, as if never kept
        return self._details

    def source_versions(self) -> dict[str, str]:
        """Newest load of each RAW table (one query for all)."""
        if self._sources is None:
            s = self.settings
            if self.read_only and not table_exists(self.session, s.database, s.raw_schema, "LOAD_HISTORY"):
                self._sources = {}  # nothing loaded yet (`load` creates it)
                return self._sources
            rows = self.session.sql(
                f"SELECT SOURCE_TABLE, MAX(LOAD_ID), COUNT(*) FROM "
                f"{self.settings.database}.{self.settings.raw_schema}.LOAD_HISTORY "
                "WHERE COALESCE(STATUS, 'LOADED') = 'LOADED' GROUP BY SOURCE_TABLE"
            ).collect()
            self._sources = {r[0]: f"{r[1]}:{r[2]}" for r in rows}
        return self._sources

    def fingerprint(self, name: str) -> str:
        if name not in self._fingerprints:
            node = self.project[name]
            h = hashlib.sha256(f"{node.kind}:{name}".encode())
            if node.kind == "source":
                source = self.settings.config.sources[name]
                h.update(self.source_versions().get(source.table, "never loaded").encode())
                h.update(source.model_dump_json().encode())
            elif node.kind == "seed":
                path = Path(node.file)
                h.update(path.read_bytes() if path.is_file() else b"missing")
                h.update(repr(self.settings.config.seeds[name].columns).encode())
            else:  # its own code and settings, its suite, and its inputs' fingerprints
                h.update(self._code(name))
                if node.kind == "snapshot":
                    h.update(repr(self.settings.config.snapshots.meta_column_names).encode())
                for inp in node.inputs:
                    h.update(self.fingerprint(inp).encode())
            suite = self.suites.get(name)
            h.update(suite.read_bytes() if suite is not None and suite.is_file() else b"no suite")
            self._fingerprints[name] = h.hexdigest()
        return self._fingerprints[name]

    def _code(self, name: str) -> bytes:
        """A transform's code and settings as hashed (its files read and their imports walked once
        per command: fingerprint, stable and basis all hash them)."""
        if name not in self._codes:
            self._codes[name] = node_code(self.project[name], self._package_dir)
        return self._codes[name]

    def checksum(self, name: str) -> str:
        """The node's own definition (`checksum_of`), as the manifest's `checksum` has it."""
        node = self.project[name]
        if node.kind == "source":  # dbt's sources have no checksum: their settings stand for one
            return hashlib.sha256(self.settings.config.sources[name].model_dump_json().encode()).hexdigest()
        return checksum_of(node, None if node.kind == "seed" else self._code(name))

    def suite_hash(self, name: str) -> str:
        suite = self.suites.get(name)
        return hashlib.sha256(suite.read_bytes() if suite is not None and suite.is_file() else b"no suite").hexdigest()

    def made_of(self, node: Node, sql: str | None = None) -> dict[str, Any]:
        """What the node's fingerprint is made of now (kept by `record`, compared by `plan`)."""
        loads = self.source_versions()
        sources = self.settings.config.sources
        return {
            "fingerprint": self.fingerprint(node.name),
            "checksum": self.checksum(node.name),
            "suite": self.suite_hash(node.name),
            "inputs": {i: self.fingerprint(i) for i in node.inputs},
            "loads": {i: loads.get(sources[i].table, "never loaded") for i in node.inputs if i in sources},
            # the code of what it inlines (ephemeral upstream), for state:modified of those
            "inlined": {
                a: self.checksum(a)
                for a in sorted(self.project.dag.ancestors(node.name))
                if self.project[a].kind == "transform" and not self.project[a].builds
            },  # fmt: skip
            "sql": sql,
        }

    def stable(self, name: str) -> str:
        """What decides a node's rows already built, leaving out loads appended to its sources.

        The fingerprint changes with every new load; this does not: it covers the code and
        settings of the node and of everything upstream, seed files (a seed change rewrites old
        rows) and the sources' settings. An incremental node merging a stream input must be
        rebuilt in full when this changes, since rows it merged earlier may now read differently.
        """
        if name not in self._stable:
            node = self.project[name]
            h = hashlib.sha256(f"{node.kind}:{name}".encode())
            if node.kind == "source":
                h.update(self.settings.config.sources[name].model_dump_json().encode())
            elif node.kind == "seed":
                h.update(self.fingerprint(name).encode())
            else:
                h.update(self._code(name))
                for inp in node.inputs:
                    h.update(self.stable(inp).encode())
            self._stable[name] = h.hexdigest()
        return self._stable[name]

    def basis(self, node: Node, streams: Collection[str]) -> str:
        """What an incremental node's merged rows rest on: its code and settings, the stable part
        of its stream inputs (appended loads leave it as it was) and every other input whole (a
        dimension or seed that changed rewrites rows merged earlier, so the node is rebuilt)."""
        h = hashlib.sha256(f"basis:{node.name}".encode())
        h.update(self._code(node.name))
        for inp in node.inputs:
            part = f"{inp}:stream:{self.stable(inp)}" if inp in streams else f"{inp}:{self.fingerprint(inp)}"
            h.update(part.encode())
        return h.hexdigest()

    def is_current(self, node: Node, relation_exists: bool) -> bool:
        """True when the node was built from exactly these inputs and code, and is still there."""
        recorded = self.recorded().get(node.name, "").split("+")[0]
        return relation_exists and recorded == self.fingerprint(node.name)

    def was_tested(self, node: Node) -> bool:
        """Whether its suite passed on this build (`run` builds without tests; `build` tests)."""
        return self.recorded().get(node.name, "") == self.fingerprint(node.name) + TESTED

    # writing ---------------------------------------------------------------------------------
    def record(self, node: Node, *, tested: bool = False, sql: str | None = None) -> None:
        """Keep the node's fingerprint; when it was built (not only tested), what the fingerprint
        is made of and the SELECT it was built from (`sql`) too, in the same step."""
        fp = self.fingerprint(node.name) + (TESTED if tested else "")
        if not tested:
            made = self.made_of(node, sql)
            self.details_table.put(node.name, json.dumps(made, sort_keys=True))
            self.details()[node.name] = made
        self.state.put(node.name, fp)
        self.recorded()[node.name] = fp

    def forget(self, node: Node) -> None:
        self.state.put(node.name, None)
        self.recorded().pop(node.name, None)


class WatermarkStore:
    """The last merged value of each incremental transform's incremental_key, kept in the AUDIT schema.

    Why not `MAX(key)` of the target: on an engine where a MERGE is not atomic (the emulator runs
    it as an UPDATE and an INSERT), a crash between the two leaves the target's maximum advanced
    while some rows of that load are missing. The stored watermark moves only after the MERGE
    succeeded, so the next run merges those rows again (a MERGE is idempotent).
    """

    def __init__(self, session: Session, settings: Settings, *, read_only: bool = False) -> None:
        self.state = StateTable(session, settings, "INCREMENTAL_STATE", "WATERMARK", read_only=read_only)
        self.bases = StateTable(session, settings, "INCREMENTAL_BASIS", "BASIS", read_only=read_only)

    def get(self, node: str) -> Any:
        value = self.state.get(node)
        if value is None:
            return None
        return int(value) if re.fullmatch(r"-?\d+", value) else value

    def set(self, node: str, value: Any) -> None:
        self.state.put(node, None if value is None else str(value))

    def basis(self, node: str) -> str | None:
        """The `BuildState.basis` the table's rows were built on (None: unknown, build it in full)."""
        return self.bases.get(node)

    def set_basis(self, node: str, basis: str | None) -> None:
        self.bases.put(node, basis)


class PassedStore:
    """Each suite's last passing state (`AUDIT.TEST_STATE`, JSON): what an incremental test run
    proves the rest of the table from (netflix_elt.quality.incremental.Passed).

    Forgotten before an incremental node is rebuilt in full: rows at or below the recorded
    watermark may then differ from those that passed, so the next test runs on the whole table.
    """

    def __init__(self, session: Session, settings: Settings) -> None:
        self.state = StateTable(session, settings, "TEST_STATE", "PASSED")

    def get(self, node: str) -> dict[str, Any] | None:
        import json

        value = self.state.get(node)
        try:
            out = json.loads(value) if value else None
        except ValueError:  # unreadable: as if nothing had passed
            return None
        return out if isinstance(out, dict) else None

    def put(self, node: str, value: dict[str, Any] | None) -> None:
        import json

        self.state.put(node, None if value is None else json.dumps(value, sort_keys=True, default=str))

    def forget(self, node: str) -> None:
        self.state.put(node, None)

    def clear(self) -> None:
        """Forget every suite's state in this target schema (after rows were changed by hand)."""
        self.state.forget_all()
