"""What the docs site knows about each node: warehouse columns and stats, runs, expectations.

Everything is read, nothing is built: column types come from INFORMATION_SCHEMA through the
session (or from describing the compiled query when a node has no relation), row counts from
INFORMATION_SCHEMA.TABLES, build times from target/run_results.json, suites from expectations/.
Missing pieces (an unbuilt table, no run results, no suites) leave blanks, never errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netflix_elt.config import Settings

if TYPE_CHECKING:
    from snowflake.snowpark import Session
    from snowflake.snowpark.types import DataType


@dataclass
class Column:
    name: str
    type: str | None
    index: int
    comment: str = ""


@dataclass
class Relation:
    """A table or view as the warehouse describes it."""

    database: str
    schema: str
    name: str
    type: str  # BASE TABLE, VIEW
    row_count: int | None
    last_altered: str | None = None
    columns: list[Column] = field(default_factory=list)

    @property
    def fqn(self) -> str:
        return f"{self.database}.{self.schema}.{self.name}"


def read_relations(session: Session, settings: Settings, schemas: Iterable[str]) -> dict[str, Relation]:
    """Tables and views of the given schemas with their columns, keyed by DB.SCHEMA.NAME.

    The emulator lists views only in INFORMATION_SCHEMA.VIEWS (not TABLES), so both are read; its
    COLUMNS does include views. On Snowflake ROW_COUNT is null for views, as here.
    """
    db = settings.database
    in_list = ", ".join(f"'{s}'" for s in sorted(set(schemas)))
    out: dict[str, Relation] = {}
    for schema, name, kind, rows, altered in session.sql(
        f"SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ROW_COUNT, LAST_ALTERED FROM {db}.INFORMATION_SCHEMA.TABLES "
        f"WHERE TABLE_SCHEMA IN ({in_list})"
    ).collect():
        # the emulator reports 1970-01-01 for every table: no information, so none
        when = altered.isoformat() if altered is not None and altered.year > 1970 else None
        out[f"{db}.{schema}.{name}"] = Relation(db, schema, name, kind, None if rows is None else int(rows), when)
    for schema, name in session.sql(
        f"SELECT TABLE_SCHEMA, TABLE_NAME FROM {db}.INFORMATION_SCHEMA.VIEWS WHERE TABLE_SCHEMA IN ({in_list})"
    ).collect():
        rel = out.setdefault(f"{db}.{schema}.{name}", Relation(db, schema, name, "VIEW", None))
        rel.type, rel.row_count = "VIEW", None
    for schema, name, col, typ, pos, comment in session.sql(
        f"SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, ORDINAL_POSITION, COMMENT "
        f"FROM {db}.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA IN ({in_list}) ORDER BY 1, 2, 5"
    ).collect():
        rel = out.get(f"{db}.{schema}.{name}")
        if rel is not None:
            rel.columns.append(Column(col, typ, int(pos), comment or ""))
    return out


_SNOWPARK_TYPES = {
    "LongType": "NUMBER",
    "IntegerType": "NUMBER",
    "ShortType": "NUMBER",
    "ByteType": "NUMBER",
    "DoubleType": "FLOAT",
    "FloatType": "FLOAT",
    "StringType": "TEXT",
    "BooleanType": "BOOLEAN",
    "DateType": "DATE",
    "TimeType": "TIME",
    "TimestampType": "TIMESTAMP_NTZ",
    "BinaryType": "BINARY",
    "ArrayType": "ARRAY",
    "MapType": "OBJECT",
    "StructType": "OBJECT",
    "VariantType": "VARIANT",
}


def snowflake_type(dt: DataType) -> str:
    """Snowflake's name for a Snowpark type (what INFORMATION_SCHEMA.COLUMNS would say)."""
    name = type(dt).__name__
    if name == "DecimalType":
        return f"NUMBER({dt.precision},{dt.scale})"  # type: ignore[attr-defined]
    return _SNOWPARK_TYPES.get(name, name.removesuffix("Type").upper())


def describe_query(session: Session, sql: str) -> list[Column]:
    """Columns of a query without running it (ephemeral transforms and analyses have no relation)."""
    from netflix_elt.sql import wrap

    schema = session.sql(wrap(sql)).schema
    return [Column(f.name.strip('"'), snowflake_type(f.datatype), i) for i, f in enumerate(schema.fields, start=1)]


# run_results.json -------------------------------------------------------------------------------
def last_runs(rows: Iterable[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Per node name: its build result, and its expectation results (from `build` or `validate`).

    `rows` are run_results.json's rows with the manifest's names put back
    (netflix_elt.artifacts.read_results): a test row's `name` is its suite."""
    builds: dict[str, dict[str, Any]] = {}
    tests: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("resource_type") == "test":
            tests.setdefault(str(r.get("suite") or r.get("name", "")), []).append(
                {
                    "expectation": r.get("expectation") or r.get("name"),
                    "severity": r.get("severity"),
                    "status": r.get("status"),
                    "unexpected": r.get("failures"),
                    "message": r.get("message") or "",
                }
            )
            continue
        timing = (r.get("timing") or [{}])[0]
        builds[str(r["name"])] = {
            "status": r.get("status"),
            "rows_affected": (r.get("adapter_response") or {}).get("rows_affected"),
            "execution_time": r.get("execution_time"),
            "started_at": timing.get("started_at"),
            "completed_at": timing.get("completed_at"),
            "message": r.get("message") or "",
        }
    return builds, tests


# expectations/ ----------------------------------------------------------------------------------
def _label(spec: dict[str, Any]) -> str:
    """The expectation's name as results report it (netflix_elt.quality's label when available)."""
    try:
        from netflix_elt.quality.suites import ExpectationSpec

        return ExpectationSpec.model_validate(spec).label
    except Exception:
        return str(spec.get("name") or spec.get("type", "?"))


def read_suites(project_dir: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Expectation suites under expectations/ keyed by table, plus one warning per unreadable file.

    Read as plain YAML/TOML (not through GX), so the docs need neither GX nor a valid suite.
    """
    import yaml

    from netflix_elt.quality.suites import suite_files

    suites: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    for path in suite_files(project_dir):
        try:
            text = path.read_text(encoding="utf-8")
            raw = yaml.safe_load(text)
        except Exception as e:
            warnings.append(f"{path.relative_to(project_dir)}: {e}")
            continue
        if not isinstance(raw, dict):
            warnings.append(f"{path.relative_to(project_dir)}: not a mapping")
            continue
        table = str(raw.get("table") or path.stem).lower()
        specs = [e for e in raw.get("expectations") or [] if isinstance(e, dict)]
        suites[table] = {
            "file": path.relative_to(project_dir).as_posix(),
            "description": raw.get("description", ""),
            "expectations": [
                {
                    "label": _label(e),
                    "type": e.get("type", ""),
                    "kwargs": e.get("kwargs") or {},
                    "severity": e.get("severity", "error"),
                }
                for e in specs
            ],
        }
    return suites, warnings


# catalog.json -----------------------------------------------------------------------------------
def _stats(row_count: int | None) -> dict[str, Any]:
    has = row_count is not None
    stats: dict[str, Any] = {
        "has_stats": {
            "id": "has_stats",
            "label": "Has Stats?",
            "value": has,
            "include": False,
            "description": "Indicates whether there are statistics for this table",
        }
    }
    if has:
        stats["row_count"] = {
            "id": "row_count",
            "label": "Row Count",
            "value": row_count,
            "include": True,
            "description": "Rows in the table (INFORMATION_SCHEMA.TABLES.ROW_COUNT)",
        }
    return stats


def catalog_entry(unique_id: str, rel: Relation, descriptions: dict[str, str]) -> dict[str, Any]:
    """One node of catalog.json in dbt's shape; comments are the transform's column descriptions."""
    return {
        "metadata": {
            "type": rel.type,
            "schema": rel.schema,
            "name": rel.name,
            "database": rel.database,
            "comment": None,
            "owner": None,
        },
        "columns": {
            c.name: {
                "type": c.type,
                "index": c.index,
                "name": c.name,
                "comment": descriptions.get(c.name) or c.comment or None,
            }
            for c in rel.columns
        },
        "stats": _stats(rel.row_count),
        "unique_id": unique_id,
    }
