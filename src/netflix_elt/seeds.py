"""Seeds: small CSV files in the project, loaded with declared column types (dbt's `seed`)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from netflix_elt.adapters.durability import confirm_written
from netflix_elt.config import SeedSection, Settings
from netflix_elt.errors import LoadError
from netflix_elt.faults import fault
from netflix_elt.ingest.load import copy_parquet, ensure_raw
from netflix_elt.ingest.parse import _CAST, read_header
from netflix_elt.sql import duckdb_string, first_line

if TYPE_CHECKING:
    from snowflake.snowpark import Session


def _to_parquet(path: Path, seed: SeedSection, out: Path) -> int:
    import duckdb

    header = read_header(path)
    if [h.lower() for h in header] != [c.lower() for c in seed.columns]:
        raise LoadError(f"{path}: header {','.join(header)!r} does not match the declared columns {list(seed.columns)}")
    con = duckdb.connect()
    try:
        cols = ", ".join(f"{duckdb_string(c)}: 'VARCHAR'" for c in seed.columns)
        con.execute(
            f"CREATE TABLE s AS SELECT * FROM read_csv({duckdb_string(str(path))}, header = true, all_varchar = true, "
            f"quote = '\"', escape = '\"', columns = {{{cols}}})"
        )
        for i, (col, typ) in enumerate(seed.columns.items()):
            bad = con.execute(
                f'SELECT rowid + 2, "{col}" FROM s WHERE NULLIF(TRIM("{col}"), \'\') IS NOT NULL '
                f'AND TRY_CAST("{col}" AS {_CAST[typ]}) IS NULL LIMIT 1'
            ).fetchone()
            if bad:
                raise LoadError(f"{path}: line {bad[0]}, column {col} (#{i + 1}): {bad[1]!r} is not a {typ}")
        select = ", ".join(
            f'TRY_CAST(NULLIF(TRIM("{c}"), \'\') AS {_CAST[t]}) AS "{c.upper()}"' for c, t in seed.columns.items()
        )
        con.execute(f"COPY (SELECT {select} FROM s ORDER BY rowid) TO {duckdb_string(str(out))} (FORMAT PARQUET)")
        return int(con.execute("SELECT COUNT(*) FROM s").fetchone()[0])  # type: ignore[index]
    except Exception as e:
        if isinstance(e, LoadError):
            raise
        raise LoadError(f"{path}: cannot read seed: {first_line(e)}") from None
    finally:
        con.close()


NEW_SUFFIX = "__NETFLIX_ELT_NEW"


def load_seeds(session: Session, settings: Settings, names: list[str] | None = None) -> dict[str, int]:
    """(Re)create each seed table in the target schema; returns rows per seed.

    No DDL runs inside BEGIN/COMMIT (DDL commits implicitly on Snowflake, so a failed COPY would leave
    the seed replaced and empty): the seed is loaded into `<NAME>__NETFLIX_ELT_NEW`, its row count is
    checked, and one statement publishes it (`CREATE OR REPLACE TABLE <NAME> AS SELECT * FROM` the new
    table, on both engines). A failed COPY leaves the old seed table and its rows as they were.
    """
    ensure_raw(session, settings)  # the load stage lives in RAW
    folder = settings.project_dir / settings.config.project.seeds
    schema = f"{settings.database}.{settings.target_schema}"
    session.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}").collect()
    result = {}
    with tempfile.TemporaryDirectory(prefix="netflix-elt-seed-") as tmp:
        for name, seed in settings.config.seeds.items():
            if names is not None and name not in names:
                continue
            out = Path(tmp) / f"{name}.parquet"
            rows = _to_parquet(folder / seed.file, seed, out)
            table, new = f"{schema}.{name.upper()}", f"{schema}.{name.upper()}{NEW_SUFFIX}"
            try:
                session.sql(f"CREATE OR REPLACE TABLE {new} ({_ddl(seed)})").collect()
                copy_parquet(session, settings, out, new, f"seed_{name}")
                fault("seed.copy")  # test hook: the new table is loaded, the old seed not yet replaced
                got = int(session.sql(f"SELECT COUNT(*) FROM {new}").collect()[0][0])
                if got != rows:
                    raise LoadError(f"seed {name}: {rows} rows in {seed.file}, {got} copied; the old seed is kept")
                session.sql(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {new}").collect()
            finally:
                with contextlib.suppress(Exception):
                    session.sql(f"DROP TABLE IF EXISTS {new}").collect()
            confirm_written(session, f"seed {name}", LoadError, f"SELECT COUNT(*) FROM {table}", rows)
            result[name] = rows
    return result


def _ddl(seed: SeedSection) -> str:
    return ", ".join(f'"{c.upper()}" {t}' for c, t in seed.columns.items())
