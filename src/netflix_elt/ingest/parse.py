"""Parse a landed CSV file into typed Parquet plus a list of rejected rows, before any COPY.

Why not COPY the CSV directly: the emulator rejects GroupLens' doubled quotes and has no
`ON_ERROR = CONTINUE`, and even on Snowflake a rejected row should be kept with its reason, not
dropped. DuckDB (in-process, not the warehouse) reads the file with Snowflake's CSV rules
(`"` quotes, `""` escapes); rows with the wrong column count, a non-numeric id, a value out of
range or an unparseable timestamp become rejects; good rows get their load metadata.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from netflix_elt.config import SourceSection
from netflix_elt.errors import LoadError

_CAST = {
    "INTEGER": "BIGINT",
    "BIGINT": "BIGINT",
    "FLOAT": "DOUBLE",
    "DOUBLE": "DOUBLE",
    "VARCHAR": "VARCHAR",
    "DATE": "DATE",
    "TIMESTAMP_NTZ": "TIMESTAMP",
    "BOOLEAN": "BOOLEAN",
}


@dataclass
class ParsedFile:
    path: Path
    sha256: str
    rows_in_file: int
    rows_loaded: int
    rows_rejected: int
    parquet: Path | None
    rejects_parquet: Path | None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def rule_checks(source: SourceSection, column: Callable[[str], str]) -> list[tuple[str, str]]:
    """The rules a parsed row of the source must keep, as (violation predicate, reason) SQL pairs.

    One definition for both loaders (the local parse and Snowflake's external stage): a numeric
    column not declared nullable needs a value, and `ranges` bound values. `column` renders a
    column reference for the caller's query.
    """
    rules = []
    for col, typ in source.columns.items():
        q = column(col)
        if typ != "VARCHAR" and col not in source.nullable:
            rules.append((f"{q} IS NULL", f"'missing value in {col}'"))
        if col in source.ranges:
            lo, hi = source.ranges[col]
            rules.append((f"{q} NOT BETWEEN {lo} AND {hi}", f"'{col} out of range {lo}..{hi}: ' || {q}"))
    return rules


def read_header(path: Path) -> list[str]:
    """The header row, checked to be readable UTF-8 CSV; names the file on failure."""
    if not path.is_file():
        raise LoadError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise LoadError(f"{path}: file is empty (0 bytes); expected a CSV header row")
    with path.open("rb") as f:
        first = f.readline(1 << 16)
    try:
        text = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as e:
        raise LoadError(f"{path}: line 1 is not UTF-8 ({e.reason} at byte {e.start})") from None
    return [h.strip().strip('"') for h in text.split(",")]


def parse_csv(
    path: Path,
    source: SourceSection,
    *,
    load_id: int,
    loaded_at: datetime,
    source_file: str,
    source_name: str,
    work_dir: Path,
    digest: str | None = None,
) -> ParsedFile:
    """Check the header, split good rows from rejects, and write both as Parquet in work_dir."""
    import duckdb

    header = read_header(path)
    expected = list(source.columns)
    if header != expected:
        raise LoadError(
            f"{path}: wrong header {','.join(header)!r}; expected {','.join(expected)!r} for {source.table}"
        )
    digest = digest or sha256_of(path)
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        cols = ", ".join(f"{_sql_str(c)}: '{_CAST[t]}'" for c, t in source.columns.items())
        try:
            # one typed, parallel pass: rows that do not parse (column count, quoting, encoding,
            # a value that is not of the column's type) land in DuckDB's rejects table with their line
            con.execute(
                f"""CREATE TABLE parsed AS SELECT * FROM read_csv({_sql_str(str(path))}, header = true,
                    delim = ',', quote = '"', escape = '"', encoding = 'utf-8', columns = {{{cols}}},
                    ignore_errors = true, store_rejects = true, rejects_table = 'rej', rejects_scan = 'rej_scan',
                    max_line_size = 10000000, auto_detect = false)"""
            )
        except duckdb.Error as e:
            raise LoadError(f"{path}: not readable as CSV: {str(e).splitlines()[0]}") from None
        bad_encoding = con.execute(
            "SELECT MIN(line) FROM rej WHERE error_type::VARCHAR = 'INVALID ENCODING'"
        ).fetchone()[0]  # type: ignore[index]
        if bad_encoding is not None:
            raise LoadError(f"{path}: line {bad_encoding} is not UTF-8; GroupLens files are UTF-8 (re-encode it)")
        # DuckDB reports one reject per bad field; keep the first reason per line
        types = "CASE column_name " + " ".join(f"WHEN {_sql_str(c)} THEN '{t}'" for c, t in source.columns.items())
        types += " ELSE 'value' END"
        con.execute(
            f"""CREATE TABLE struct_rej AS SELECT line::BIGINT AS line,
                   regexp_replace(ANY_VALUE(csv_line ORDER BY column_idx), '^[\r\n]+|[\r\n]+$', '', 'g') AS raw_line,
                   ARG_MIN(CASE error_type::VARCHAR
                       WHEN 'CAST' THEN 'invalid ' || {types} || ' in ' || column_name || ': '
                           || COALESCE(regexp_extract(error_message, 'string "(.*)" to', 1), error_message)
                       ELSE error_type::VARCHAR || ': ' || error_message END, column_idx) AS reason
               FROM rej GROUP BY line"""
        )
        n_struct = con.execute("SELECT COUNT(*) FROM struct_rej").fetchone()[0]  # type: ignore[index]
        # line of good row k (0-based rowid) = k + 2 + number of rejected lines before it
        if n_struct:
            con.execute(
                """CREATE TABLE rej_pos AS SELECT good_before, MAX(n) AS n FROM (
                       SELECT line - 1 - ROW_NUMBER() OVER (ORDER BY line) AS good_before,
                              ROW_NUMBER() OVER (ORDER BY line) AS n FROM struct_rej)
                   GROUP BY good_before"""
            )
            line = "(p.rowid + 2 + COALESCE(r.n, 0))"
            joined = "parsed p ASOF LEFT JOIN rej_pos r ON p.rowid >= r.good_before"
        else:
            line = "(p.rowid + 2)"
            joined = "parsed p"
        checks = [f"WHEN {pred} THEN {why}" for pred, why in rule_checks(source, lambda c: f'p."{c}"')]
        reason = ("CASE " + " ".join(checks) + " END") if checks else "NULL::VARCHAR"
        raw_cols = " || ',' || ".join(f"COALESCE(CAST(p.\"{c}\" AS VARCHAR), '')" for c in source.columns)
        # rows that parsed but break a rule (missing value, out of range): few, so collected apart
        con.execute(
            f"""CREATE TABLE all_rej AS
                SELECT line, raw_line, reason FROM struct_rej
                UNION ALL SELECT * FROM (SELECT {line}, {raw_cols}, {reason} AS r FROM {joined}) WHERE r IS NOT NULL"""
        )
        n_rej = con.execute("SELECT COUNT(*) FROM all_rej").fetchone()[0]  # type: ignore[index]
        n_good = con.execute("SELECT COUNT(*) FROM parsed").fetchone()[0] - (n_rej - n_struct)  # type: ignore[index]
        work_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{source_name}_{load_id}"
        parquet = work_dir / f"{stem}.parquet"
        at = f"{_sql_str(loaded_at.isoformat(sep=' '))}::TIMESTAMP"
        typed = ", ".join(f'p."{c}" AS "{c.upper()}"' for c in source.columns)
        keep = f"WHERE {reason} IS NULL" if checks else ""
        con.execute(
            f"""COPY (SELECT {typed}, {load_id}::BIGINT AS _LOAD_ID, {at} AS _LOADED_AT,
                      {_sql_str(source_file)} AS _SOURCE_FILE, ({line} - 1)::BIGINT AS _SOURCE_ROW
                      FROM {joined} {keep})
                TO {_sql_str(str(parquet))} (FORMAT PARQUET)"""
        )
        rejects_parquet = None
        if n_rej:
            rejects_parquet = work_dir / f"{stem}_rejects.parquet"
            con.execute(
                f"""COPY (SELECT {load_id}::BIGINT AS _LOAD_ID, {_sql_str(source.table)} AS SOURCE_TABLE,
                          {_sql_str(source_file)} AS SOURCE_FILE, line::BIGINT AS LINE_NUMBER,
                          raw_line AS RAW_LINE, reason AS REASON, {at} AS REJECTED_AT
                      FROM all_rej ORDER BY line)
                    TO {_sql_str(str(rejects_parquet))} (FORMAT PARQUET)"""
            )
        return ParsedFile(path, digest, n_good + n_rej, n_good, n_rej, parquet, rejects_parquet)
    finally:
        con.close()
