"""Expectation suites: one reviewable YAML file per table under `expectations/`, checked before any SQL runs.

A suite file names GX expectation types and their kwargs as GX spells them, plus a `severity`, so a
reviewer reads the same words as GX's docs. Two things GX has no notion of are resolved here:
`{ref:NAME}` in SQL (the relation of another node, so one suite works on dev, prod and Snowflake)
and the `no_nulls_in_columns` check (the original dbt macro), which expands against the table's
real columns at run time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from netflix_elt.config import Settings
from netflix_elt.errors import ConfigError
from netflix_elt.registry import Project
from netflix_elt.suggest import did_you_mean

SUITES_DIR = "expectations"
SUITE_SUFFIXES = (".yml", ".yaml")
# expectation types netflix-elt expands itself (into a GX unexpected_rows_expectation)
MACROS = frozenset({"no_nulls_in_columns"})
# kwargs that name columns of the suite's table: checked against the table before running
COLUMN_KWARGS = ("column", "column_A", "column_B")
COLUMN_LIST_KWARGS = ("column_list", "column_set", "columns", "exclude")
REF = re.compile(r"\{ref:([A-Za-z_][A-Za-z0-9_]*)\}")
# kwargs that may hold `{ref:NAME}`: SQL, or the other table of a row-count comparison
REF_KWARGS = ("unexpected_rows_query", "other_table_name")
# the suite files' severities as GX spells them (GX 1.x: critical, warning, info)
GX_SEVERITY = {"error": "critical", "warn": "warning"}
NAME = re.compile(r"^[A-Za-z0-9_.:()\-, ]{1,200}$")


class SuiteError(ConfigError):
    """A suite file is invalid; the message names the file and the expectation."""


class ExpectationSpec(BaseModel):
    """One expectation as written in a suite file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    severity: Literal["error", "warn"] = "error"
    name: str | None = None
    description: str = ""
    # how the expectation is proved after an incremental merge (netflix_elt.quality.incremental):
    # `changed_rows`, `{changed_keys: [...]}`, `{unexpected_rows_query: ...}` or `whole_table`;
    # unset: inferred for GX's row-local built-ins, whole table for everything else
    incremental: str | dict[str, Any] | None = None

    @property
    def label(self) -> str:
        """The expectation's name in results and the audit table: explicit, or type(columns)."""
        if self.name:
            return self.name
        cols = [str(self.kwargs[k]) for k in COLUMN_KWARGS if k in self.kwargs]
        for k in ("column_list", "column_set", "columns"):
            cols += [str(c) for c in self.kwargs.get(k) or ()]
        return f"{self.type}({', '.join(cols)})" if cols else self.type

    @property
    def gx_severity(self) -> str:
        """GX's own word for the severity (`critical` for error, `warning` for warn)."""
        return GX_SEVERITY[self.severity]

    def columns(self) -> list[str]:
        """Column names the kwargs refer to (lower-case), a row condition's included."""
        out = [str(self.kwargs[k]) for k in COLUMN_KWARGS if k in self.kwargs]
        for k in COLUMN_LIST_KWARGS:
            out += [str(c) for c in self.kwargs.get(k) or ()]
        out += _condition_columns(self.kwargs.get("row_condition"))
        return [c.lower() for c in out]

    def refs(self) -> list[str]:
        """`{ref:NAME}` names in the kwargs that hold one, lower-case, in order."""
        return [r.lower() for k in REF_KWARGS for r in REF.findall(str(self.kwargs.get(k) or ""))]


def _condition_columns(cond: Any) -> list[str]:
    """Columns of a GX row condition in its dict form ({type: nullity, column: {name: x}, ...})."""
    if not isinstance(cond, dict):
        return []
    out = []
    column = cond.get("column")
    if isinstance(column, dict) and "name" in column:
        out.append(str(column["name"]))
    for sub in cond.get("conditions") or ():
        out += _condition_columns(sub)
    return out


class SuiteFile(BaseModel):
    """A suite file's content: the table it tests (default: the file's name) and its expectations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str | None = None
    description: str = ""
    expectations: list[ExpectationSpec]

    @field_validator("expectations")
    @classmethod
    def _unique_labels(cls, v: list[ExpectationSpec]) -> list[ExpectationSpec]:
        seen: set[str] = set()
        for e in v:
            if e.label in seen:
                raise ValueError(f"two expectations are named {e.label!r}; give one a distinct `name:`")
            seen.add(e.label)
        return v


class Suite(BaseModel):
    """A loaded suite: its file, the node it tests and the schema folder it lives in."""

    model_config = ConfigDict(frozen=True)

    name: str
    file: Path
    folder: str
    description: str = ""
    expectations: tuple[ExpectationSpec, ...]

    def refs(self) -> set[str]:
        """Nodes the suite's SQL reads besides its own table (`{ref:NAME}`), lower-case."""
        found = {r.lower() for spec in self.expectations for r in REF.findall(str(spec.kwargs))}
        return found - {self.name}

    def where(self, spec: ExpectationSpec | None = None) -> str:
        """`expectations/core/x.yml` (expectation N `label`) for error messages."""
        rel = self.file.as_posix()
        with_cwd = os.path.relpath(self.file) if self.file.is_absolute() else rel
        if spec is None:
            return with_cwd
        return f"{with_cwd}, expectation #{self.expectations.index(spec) + 1} {spec.label!r}"


def _gx_types() -> Any:
    from netflix_elt.quality.gx_import import import_gx

    import_gx()  # registers the built-in expectations
    from great_expectations.expectations.registry import get_expectation_impl

    return get_expectation_impl


def check_spec(
    suite_file: Path, index: int, spec: ExpectationSpec, known_nodes: Iterable[str], *, gx_check: bool = True
) -> None:
    """Fail early on an unknown type, kwargs GX rejects, or a `{ref:...}` to no node (without `gx_check`
    only what needs no GX: the name, the refs and the macros' kwargs; `check_with_gx` does the rest)."""
    where = _where(suite_file, index, spec)
    if spec.name is not None and not NAME.match(spec.name):
        raise SuiteError(f"{where}: name {spec.name!r} may hold letters, digits, spaces and _.:(),-")
    known = set(known_nodes)
    for ref in spec.refs():
        if ref not in known:
            raise SuiteError(f"{where}: {{ref:{ref}}} names no node of the project")
    if spec.incremental is not None:
        from netflix_elt.quality.incremental import check_incremental

        check_incremental(where, spec, known)
    if spec.type in MACROS:
        extra = set(spec.kwargs) - {"columns", "exclude"}
        if extra:
            raise SuiteError(f"{where}: no_nulls_in_columns takes only `columns` and `exclude`, not {sorted(extra)}")
        return
    if gx_check:
        check_with_gx(where, spec)


def _where(suite_file: Path, index: int, spec: ExpectationSpec) -> str:
    return f"{suite_file}, expectation #{index + 1} {spec.label!r}"


def check_suites_with_gx(suites: Iterable[Suite]) -> None:
    """The GX half of check_spec for suites read with `gx_check=False` (the macros need none)."""
    for suite in suites:
        for i, spec in enumerate(suite.expectations):
            if spec.type not in MACROS:
                check_with_gx(_where(suite.file, i, spec), spec)


def check_with_gx(where: str, spec: ExpectationSpec) -> None:
    """The expectation type is one GX has and GX accepts its kwargs (imports GX: seconds)."""
    get_impl = _gx_types()
    try:
        impl = get_impl(spec.type)
    except Exception:
        from great_expectations.expectations.registry import _registered_expectations

        hint = did_you_mean(spec.type, [*_registered_expectations, *MACROS])
        raise SuiteError(f"{where}: unknown expectation type {spec.type!r}{hint}") from None
    kwargs = {**spec.kwargs}
    for k in REF_KWARGS:
        if k in kwargs:
            kwargs[k] = REF.sub("REF", str(kwargs[k]))
    try:
        impl(**kwargs, severity=spec.gx_severity)
    except Exception as e:  # pydantic v1 errors from GX: keep the first line
        msg = " ".join(str(e).split())
        raise SuiteError(f"{where}: invalid kwargs for {spec.type}: {msg}") from None


def read_suite(path: Path, known_nodes: Iterable[str] = (), *, gx_check: bool = True) -> Suite:
    """Parse and check one suite file; every error names the file (and the expectation)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise SuiteError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: a suite file is a mapping with an `expectations:` list")
    try:
        content = SuiteFile.model_validate(raw)
    except ValidationError as e:
        parts = []
        for err in e.errors():
            loc = list(err["loc"])
            if len(loc) >= 2 and loc[0] == "expectations" and isinstance(loc[1], int):
                items = raw.get("expectations") or []
                item = items[loc[1]] if loc[1] < len(items) else {}
                label = (item or {}).get("name") or (item or {}).get("type", "?")
                parts.append(f"expectation #{loc[1] + 1} {label!r}: {'.'.join(map(str, loc[2:]))} {err['msg']}")
            else:
                parts.append(f"{'.'.join(map(str, loc))}: {err['msg']}")
        raise SuiteError(f"{path}: " + "; ".join(parts)) from None
    known = list(known_nodes)
    for i, spec in enumerate(content.expectations):
        check_spec(path, i, spec, known, gx_check=gx_check)
    name = (content.table or path.stem).lower()
    return Suite(
        name=name,
        file=path,
        folder=path.parent.name,
        description=content.description,
        expectations=tuple(content.expectations),
    )


def suite_files(project_dir: Path) -> list[Path]:
    """The suite files of a project (every reader lists them here, so all agree on the suffixes)."""
    root = project_dir / SUITES_DIR
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.suffix in SUITE_SUFFIXES and p.is_file())


def suite_paths(project_dir: Path) -> dict[str, Path]:
    """Which table each suite file tests (its `table:` or its file name), read without GX or
    checks: cheap enough for every `run`, which hashes a node's suite into its fingerprint."""
    out: dict[str, Path] = {}
    for path in suite_files(project_dir):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            raw = None
        table = raw.get("table") if isinstance(raw, dict) else None
        out[str(table or path.stem).lower()] = path
    return out


def load_suites(settings: Settings, project: Project, *, gx_check: bool = True) -> list[Suite]:
    """Every suite of the project, checked; two files for one table is an error naming both.
    Without `gx_check` the types and kwargs are not checked against GX (no GX import)."""
    suites: dict[str, Suite] = {}
    for path in suite_files(settings.project_dir):
        suite = read_suite(path, project.nodes, gx_check=gx_check)
        if suite.name in suites:
            raise SuiteError(f"table {suite.name!r} has two suites: {suites[suite.name].file} and {path}")
        node = project.nodes.get(suite.name)
        if node is None and suite.folder != "snapshots":
            raise SuiteError(f"{path}: suite {suite.name!r} names no node of the project")
        if node is not None and not node.builds:
            raise SuiteError(f"{path}: {suite.name!r} is {node.materialized}, so there is no table to test")
        suites[suite.name] = suite
    return list(suites.values())


def resolve_refs(sql: str, relation_of: dict[str, str]) -> str:
    """Replace `{ref:name}` with the fully qualified relation of that node."""
    return REF.sub(lambda m: relation_of[m.group(1).lower()], sql)
