"""Unit tests for transforms, as dbt's unit tests: hand-written input rows in, rows out.

`run_transform` writes each input as a small table in a scratch schema with plain SQL
(`CREATE TABLE` + `INSERT INTO ... VALUES`: the emulator cannot run Snowpark's
`create_dataframe`, which emits `SELECT ... FROM VALUES`), calls the transform function with
`session.table(...)` for each parameter, and returns the result rows sorted, so a test states
its expected rows by hand without caring about order.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from netflix_elt.compiler import dataframe_sql
from netflix_elt.errors import ConfigError
from netflix_elt.sql import quote, string, wrap

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.snowpark import Session

SCRATCH_SCHEMA = "NETFLIX_ELT_UNIT"
Rows = Sequence[Mapping[str, Any]]


def _sql_type(values: list[Any]) -> str:
    """The narrowest Snowflake type holding every non-null value of a column."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not present:
        return "VARCHAR"
    if all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "BIGINT"
    if all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in present):
        return "DOUBLE"
    if all(isinstance(v, datetime) for v in present):
        return "TIMESTAMP_NTZ"
    if all(isinstance(v, date) for v in present):
        return "DATE"
    return "VARCHAR"


def _literal(value: Any, sql_type: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"CAST(NULL AS {sql_type})"
    if sql_type == "BOOLEAN":
        return "TRUE" if value else "FALSE"
    if sql_type in ("BIGINT", "DOUBLE"):
        return repr(float(value)) if sql_type == "DOUBLE" else str(int(value))
    if sql_type == "TIMESTAMP_NTZ":
        return f"'{value.isoformat(sep=' ')}'::TIMESTAMP_NTZ"
    if sql_type == "DATE":
        return f"'{value.isoformat()}'::DATE"
    return string(str(value))


def _as_rows(data: Rows | pd.DataFrame) -> tuple[list[str], list[dict[str, Any]]]:
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        frame: Any = data
        cols = [str(c) for c in frame.columns]
        records = [
            {c: (None if _is_na(v) else _python(v)) for c, v in zip(cols, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)
        ]
        return cols, records
    rows = [dict(r) for r in data]  # type: ignore[union-attr]
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    return cols, [{c: r.get(c) for c in cols} for r in rows]


def _is_na(v: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(v)) if not isinstance(v, list | tuple | dict) else False
    except (TypeError, ValueError):
        return False


def _python(v: Any) -> Any:
    """numpy/pandas scalars as plain Python values."""
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime()
    return v.item() if hasattr(v, "item") else v


def write_table(
    session: Session,
    relation: str,
    data: Rows | pd.DataFrame,
    types: Mapping[str, str] | None = None,
) -> str:
    """Create (or replace) `relation` holding `data`; column types inferred unless given."""
    cols, records = _as_rows(data)
    if not cols:
        if not types:
            raise ConfigError(f"input {relation} has no rows and no column types; pass types={{...}}")
        cols = list(types)
    given = {k.lower(): v for k, v in (types or {}).items()}
    sql_types = {c: given.get(c.lower()) or _sql_type([r[c] for r in records]) for c in cols}
    ddl = ", ".join(f"{quote(c)} {sql_types[c]}" for c in cols)
    session.sql(f"CREATE OR REPLACE TABLE {relation} ({ddl})").collect()
    if records:
        values = ", ".join("(" + ", ".join(_literal(r[c], sql_types[c]) for c in cols) + ")" for r in records)
        session.sql(f"INSERT INTO {relation} ({', '.join(quote(c) for c in cols)}) VALUES {values}").collect()
    return relation


def _normalise(value: Any, is_json: bool) -> Any:
    if is_json and isinstance(value, str):
        return json.loads(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple((v is None, str(type(v).__name__), json.dumps(v, default=str)) for v in row.values())


def run_transform(
    transform_func: Callable[..., Any],
    inputs: Mapping[str, Rows | pd.DataFrame],
    session: Session,
    *,
    types: Mapping[str, Mapping[str, str]] | None = None,
    run_started_at: datetime | None = None,
    schema: str = SCRATCH_SCHEMA,
) -> list[dict[str, Any]]:
    """Run one transform on hand-written inputs; rows out as dicts (lower-case keys), sorted.

    `inputs` maps each parameter name of the transform to its rows (list of dicts or a pandas
    DataFrame); `types` optionally pins SQL types per input and column (e.g. an all-NULL column).
    """
    params = [p for p in inspect.signature(transform_func).parameters]
    wanted = [p for p in params if p not in ("session", "run_started_at")]
    missing = [p for p in wanted if p not in inputs]
    if missing:
        raise ConfigError(f"{transform_func.__name__} needs inputs {missing}; got {sorted(inputs)}")
    database = session.get_current_database() or "MOVIELENS"
    session.sql(f"CREATE SCHEMA IF NOT EXISTS {database}.{schema}").collect()
    kwargs: dict[str, Any] = {}
    for name in wanted:
        relation = f"{database}.{schema}.{transform_func.__name__.upper()}__{name.upper()}"
        write_table(session, relation, inputs[name], (types or {}).get(name))
        kwargs[name] = session.table(relation)
    if "session" in params:
        kwargs["session"] = session
    if "run_started_at" in params:
        kwargs["run_started_at"] = run_started_at or datetime(2020, 1, 1)
    df = transform_func(**kwargs)
    # the emulator cannot run a top-level set operation: select from it, as materializations do
    out = session.sql(wrap(dataframe_sql(df, transform_func.__name__)))
    # semi-structured values come back as JSON text; the emulator types an ARRAY as VARIANT
    semi = ("ArrayType", "VariantType", "MapType", "StructType")
    arrays = {f.name.strip('"').lower() for f in out.schema.fields if type(f.datatype).__name__ in semi}
    rows = [{k.lower(): _normalise(v, k.lower() in arrays) for k, v in r.as_dict().items()} for r in out.collect()]
    return sorted(rows, key=_sort_key)
