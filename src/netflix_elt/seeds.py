"""Seeds: small CSV files in the project, loaded with declared column types (dbt's `seed`)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from netflix_elt.adapters.durability import confirm_written
from netflix_elt.config import SeedSection, Settings
from netflix_elt.errors import LoadError
from netflix_elt.ingest.load import copy_parquet, ensure_raw
from netflix_elt.ingest.parse import _CAST, read_header
from netflix_elt.sql import first_line, string

if TYPE_CHECKING:
    from snowflake.snowpark import Session


def _to_parquet(path: Path, seed: SeedSection, out: Path) -> int:
    import duckdb

    header = read_header(path)
    if [h.lower() for h in header] != [c.lower() for c in seed.columns]:
        raise LoadError(f"{path}: header {','.join(header)!r} does not match the declared columns {list(seed.columns)}")
    con = duckdb.connect()
    try:
        cols = ", ".join(f"{string(c)}: 'VARCHAR'" for c in seed.columns)
        con.execute(
            f"CREATE TABLE s AS SELECT * FROM read_csv({string(str(path))}, header = true, all_varchar = true, "
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
        con.execute(f"COPY (SELECT {select} FROM s ORDER BY rowid) TO {string(str(out))} (FORMAT PARQUET)")
        return int(con.execute("SELECT COUNT(*) FROM s").fetchone()[0])  # type: ignore[index]
    except Exception as e:
        if isinstance(e, LoadError):
            raise
        raise LoadError(f"{path}: cannot read seed: {first_line(e)}") from None
    finally:
        con.close()


def load_seeds(session: Session, settings: Settings, names: list[str] | None = None) -> dict[str, int]:
    """(Re)create each seed table in the target schema; returns rows per seed."""
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
            cols = ", ".join(f'"{c.upper()}" {t}' for c, t in seed.columns.items())
            session.sql("BEGIN").collect()
            try:
                session.sql(f"CREATE OR REPLACE TABLE {schema}.{name.upper()} ({cols})").collect()
                copy_parquet(session, settings, out, f"{schema}.{name.upper()}", f"seed_{name}")
                session.sql("COMMIT").collect()
                check = f"SELECT COUNT(*) FROM {schema}.{name.upper()}"
                confirm_written(session, f"seed {name}", LoadError, check, rows)
            except Exception:
                with contextlib.suppress(Exception):
                    session.sql("ROLLBACK").collect()
                raise
            result[name] = rows
    return result
