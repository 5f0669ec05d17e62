"""Model contracts (dbt's `contract: {enforced: true}`): the columns, types and nullability a
transform promises, checked against its DataFrame's schema before anything is written.

Why here, in one module: the registry parses the declaration (a bad one fails `load_project`
naming the transform), the materializations' shared base enforces it, and the manifest and the
docs site show it; all three read the same `Contract`. Types are compared after Snowflake's
synonyms are folded (INT = INTEGER = NUMBER(38,0), TEXT = STRING = VARCHAR, DOUBLE = FLOAT, ...),
since an engine reports `NUMBER(38,0)` for what the user wrote as `INT`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netflix_elt.errors import ContractError, GraphError
from netflix_elt.sql import quote, wrap

if TYPE_CHECKING:
    from netflix_elt.adapters import Adapter

_INTEGERS = {"INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT"}
_DECIMALS = {"NUMBER", "DECIMAL", "NUMERIC"}
_SYNONYMS = {
    **dict.fromkeys(("FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL"), "FLOAT"),
    **dict.fromkeys(("VARCHAR", "TEXT", "STRING", "CHAR", "CHARACTER", "NCHAR", "NVARCHAR", "CHAR VARYING"), "VARCHAR"),
    **dict.fromkeys(
        ("TIMESTAMP", "TIMESTAMP_NTZ", "TIMESTAMPNTZ", "DATETIME", "TIMESTAMP WITHOUT TIME ZONE"), "TIMESTAMP_NTZ"
    ),
    **dict.fromkeys(("TIMESTAMP_LTZ", "TIMESTAMPLTZ", "TIMESTAMP WITH LOCAL TIME ZONE"), "TIMESTAMP_LTZ"),
    **dict.fromkeys(("TIMESTAMP_TZ", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"), "TIMESTAMP_TZ"),
    **dict.fromkeys(("BINARY", "VARBINARY"), "BINARY"),
    **{t: t for t in ("BOOLEAN", "DATE", "TIME", "ARRAY", "OBJECT", "VARIANT")},
}
_TYPE = re.compile(r"^([A-Z_][A-Z_0-9 ]*?)\s*(?:\(\s*(\d+|\*)\s*(?:,\s*(\d+)\s*)?\))?$")
_NOT_NULL = re.compile(r"\s+NOT\s+NULL$", re.IGNORECASE)
COLUMN_KEYS = frozenset({"description", "data_type", "not_null"})


def canonical_type(declared: str) -> str | None:
    """The type family a declared Snowflake type belongs to (None: not a Snowflake type).

    Numbers keep their scale, not their precision: COUNT(*) is NUMBER(18,0) on Snowflake and
    NUMBER(38,0) in a table, and both hold the same integers.
    """
    m = _TYPE.match(" ".join(declared.strip().upper().split()))
    if not m:
        return None
    base, _precision, scale = m.groups()
    if base in _INTEGERS:
        return "NUMBER" if scale is None and _precision is None else None
    if base in _DECIMALS:
        return "NUMBER" if not scale or int(scale) == 0 else f"NUMBER(scale {int(scale)})"
    if base in ("VARCHAR", "CHAR", "CHARACTER", "NCHAR", "NVARCHAR", "TEXT", "STRING", "BINARY", "VARBINARY"):
        return _SYNONYMS[base] if scale is None else None  # a length, never a scale
    if base.startswith("TIMESTAMP") or base in ("DATETIME", "TIME"):
        return _SYNONYMS.get(base) if scale is None else None  # (9): fractional-second precision
    return _SYNONYMS.get(base) if _precision is None else None


def snowpark_type(datatype: Any) -> str:
    """The type family of a Snowpark schema field's datatype (what DESCRIBE reported)."""
    from snowflake.snowpark import types as T

    if isinstance(datatype, (T.LongType, T.IntegerType, T.ShortType, T.ByteType)):
        return "NUMBER"
    if isinstance(datatype, T.DecimalType):
        return "NUMBER" if datatype.scale == 0 else f"NUMBER(scale {datatype.scale})"
    if isinstance(datatype, T.TimestampType):
        tz = str(getattr(datatype, "tz", getattr(datatype, "timezone", ""))).lower()
        return (
            "TIMESTAMP_LTZ"
            if "ltz" in tz
            else "TIMESTAMP_TZ"
            if tz.endswith("tz") and "ntz" not in tz
            else "TIMESTAMP_NTZ"
        )
    simple = {
        T.DoubleType: "FLOAT",
        T.FloatType: "FLOAT",
        T.StringType: "VARCHAR",
        T.BooleanType: "BOOLEAN",
        T.DateType: "DATE",
        T.TimeType: "TIME",
        T.BinaryType: "BINARY",
        T.ArrayType: "ARRAY",
        T.MapType: "OBJECT",
        T.StructType: "OBJECT",
        T.VariantType: "VARIANT",
    }
    for cls, name in simple.items():
        if isinstance(datatype, cls):
            return name
    return type(datatype).__name__.removesuffix("Type").upper()


@dataclass(frozen=True)
class ContractColumn:
    name: str  # upper case, as the engine reports it
    data_type: str  # as declared (upper case), shown in docs and the manifest
    not_null: bool = False

    @property
    def family(self) -> str:
        family = canonical_type(self.data_type)
        assert family is not None  # parse_contract rejected unknown types
        return family

    @property
    def expected(self) -> str:
        return f"{self.data_type} NOT NULL" if self.not_null else self.data_type


@dataclass(frozen=True)
class Contract:
    """The enforced columns of one transform, in declaration order."""

    columns: tuple[ContractColumn, ...]

    def types(self) -> dict[str, str]:
        return {c.name: c.data_type for c in self.columns}


@dataclass(frozen=True)
class ActualColumn:
    name: str
    family: str
    nullable: bool = True
    nulls: int | None = None  # counted only for columns the contract says are NOT NULL


def _column(where: str, name: str, decl: object) -> ContractColumn:
    if not isinstance(decl, str):
        raise GraphError(
            f"{where}: contract column {name!r}: the type must be a string such as 'NUMBER NOT NULL', got {decl!r}"
        )
    text = decl.strip()
    not_null = bool(_NOT_NULL.search(text))
    data_type = " ".join(_NOT_NULL.sub("", text).upper().split())
    if canonical_type(data_type) is None:
        raise GraphError(
            f"{where}: contract column {name!r}: unknown type {decl!r} (Snowflake types such as NUMBER, INTEGER, "
            "FLOAT, VARCHAR, BOOLEAN, DATE, TIMESTAMP_NTZ, ARRAY, OBJECT, VARIANT; add NOT NULL to forbid NULLs)"
        )
    return ContractColumn(name.upper(), data_type, not_null)


def parse_contract(where: str, declared: object, columns: Mapping[str, object]) -> Contract | None:
    """The contract of a transform from its `contract=` and `columns=` arguments (raises GraphError).

    `contract={"movie_id": "NUMBER NOT NULL", ...}` declares the types inline; `contract=True`
    takes them from `columns={"movie_id": {"description": ..., "data_type": ..., "not_null": ...}}`
    (dbt's `data_type` on each column). Either way every documented column must be in the
    contract, and the contract may name no column the transform does not document.
    """
    typed = {k: v for k, v in columns.items() if isinstance(v, Mapping)}
    for name, props in typed.items():
        unknown = sorted(set(props) - COLUMN_KEYS)  # type: ignore[arg-type]
        if unknown:
            raise GraphError(
                f"{where}: columns[{name.lower()!r}] has unknown key(s) {unknown}; allowed: {sorted(COLUMN_KEYS)}"
            )
    if declared is None or declared is False:
        if any("data_type" in p for p in typed.values()):  # type: ignore[operator]
            raise GraphError(f"{where}: columns declare data_type but the transform has no contract=True")
        return None
    if declared is True:
        missing = [n for n in columns if n not in typed or "data_type" not in typed[n]]  # type: ignore[operator]
        if not columns or missing:
            raise GraphError(
                f"{where}: contract=True needs a data_type for every column in columns= "
                f"(missing: {', '.join(n.lower() for n in missing) or 'no columns declared'})"
            )
        spec = {n: _decl(where, n, p) for n, p in typed.items()}
    elif isinstance(declared, Mapping):
        if not declared:
            raise GraphError(f"{where}: contract={{}} declares no columns")
        spec = {str(k).upper(): v for k, v in declared.items()}
        if typed:
            raise GraphError(
                f"{where}: give column types either in contract={{...}} or in columns= with contract=True, not both"
            )
        documented = set(columns)
        unknown = [n for n in spec if documented and n not in documented]
        if unknown:
            raise GraphError(
                f"{where}: contract column(s) {', '.join(n.lower() for n in unknown)} are not among the columns "
                f"the transform documents ({', '.join(n.lower() for n in columns)})"
            )
        undeclared = [n for n in columns if n not in spec]
        if undeclared:
            raise GraphError(
                f"{where}: documented column(s) {', '.join(n.lower() for n in undeclared)} have no contract type"
            )
    else:
        raise GraphError(
            f"{where}: contract= must be True or a dict of column -> type, got {type(declared).__name__} {declared!r}"
        )
    return Contract(tuple(_column(where, n, t) for n, t in spec.items()))


def _decl(where: str, name: str, props: Mapping[str, object]) -> object:
    data_type, not_null = props.get("data_type"), props.get("not_null", False)
    if not isinstance(not_null, bool):
        raise GraphError(f"{where}: columns[{name.lower()!r}]: not_null must be true or false, got {not_null!r}")
    return f"{data_type} NOT NULL" if not_null and isinstance(data_type, str) else data_type


def descriptions(columns: Mapping[str, object]) -> dict[str, str]:
    """The column descriptions of `columns=` (a column given as a dict keeps its 'description')."""
    return {
        n: str(v.get("description", "")) if isinstance(v, Mapping) else str(v)  # type: ignore[union-attr]
        for n, v in columns.items()
    }


def mismatches(
    contract: Contract, actual: Sequence[ActualColumn], variant_stands_for: Iterable[str] = ()
) -> list[tuple[str, str, str]]:
    """(column, expected, actual) for each column that breaks the contract; empty when it holds.

    `variant_stands_for`: types an engine reports as VARIANT (the emulator's ARRAY and OBJECT).
    """
    loose = set(variant_stands_for)
    got = {a.name: a for a in actual}
    rows: list[tuple[str, str, str]] = []
    for col in contract.columns:
        a = got.get(col.name)
        if a is None:
            rows.append((col.name, col.expected, "(missing)"))
            continue
        same = a.family == col.family or (a.family == "VARIANT" and col.family in loose)
        has_nulls = col.not_null and bool(a.nulls)
        if not same or has_nulls:
            shown = a.family + (f" with {a.nulls} NULL(s)" if has_nulls else "")
            rows.append((col.name, col.expected, shown))
    declared = {c.name for c in contract.columns}
    rows += [(a.name, "(not in the contract)", a.family) for a in actual if a.name not in declared]
    return rows


def mismatch_table(rows: Sequence[tuple[str, str, str]]) -> str:
    head = ("column", "expected", "actual")
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(3)]
    return "\n".join(
        "  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in (head, *rows)
    )


def null_count_sql(sql: str, columns: Sequence[str]) -> str:
    """One query counting the NULLs of each column of a SELECT's output."""
    exprs = ", ".join(f"COUNT(*) - COUNT({quote(c)})" for c in columns)
    return f"SELECT {exprs} FROM ({wrap(sql)})"


def enforce(adapter: Adapter, where: str, contract: Contract, sql: str) -> None:
    """Raise ContractError, with a table of expected vs actual, unless `sql`'s output keeps the contract.

    The types come from the query's described schema (not run); NULLs in NOT NULL columns are
    counted by one aggregate query, only where the engine says the column may be NULL.
    """
    fields = adapter.described_columns(sql)
    strict = {c.name for c in contract.columns if c.not_null}
    counted = [name for name, _t, nullable in fields if name in strict and nullable]
    nulls: dict[str, int] = {}
    if counted:
        row = adapter.session.sql(null_count_sql(sql, counted)).collect()[0]
        nulls = {c: int(row[i] or 0) for i, c in enumerate(counted)}
    actual = [ActualColumn(n, snowpark_type(t), nullable, nulls.get(n)) for n, t, nullable in fields]
    rows = mismatches(contract, actual, adapter.variant_stands_for)
    if rows:
        raise ContractError(
            f"{where}: the output does not match its contract, nothing was written\n{mismatch_table(rows)}"
        )
