"""Parse a landed CSV file into typed Parquet plus its rejected records, before any COPY.

Why not COPY the CSV directly: the emulator rejects GroupLens' doubled quotes and has no
`ON_ERROR = CONTINUE`, and even on Snowflake a rejected row should be kept with its reason, not
dropped. The file is split into records by `records.py` (so every physical line is accounted
for), each value is checked against what Snowflake would take for the declared type (integers
are an optional sign and digits: DuckDB's `0x10`, `1_0` or ` 5` are rejected), rules of the
source are applied, and good rows get their load metadata.

A clean numeric file (ratings, genome scores: nothing but digits, signs, dots, exponents, commas
and line ends) takes a fast path: pyarrow reads it typed in one multi-threaded pass, and any
surprise there (a conversion error, a row count that is not the line count, a rule violation)
sends the file down the exact path instead, which gives every reject its line and reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from netflix_elt.config import SourceSection
from netflix_elt.errors import LoadError
from netflix_elt.ingest.records import decode, split_records, strip_cr
from netflix_elt.sql import duckdb_string

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
    rows_in_file: int  # data records: rows_loaded + rows_rejected
    rows_loaded: int
    rows_rejected: int
    parquet: Path | None
    rejects_parquet: Path | None
    keys: int = 0  # distinct values of the source's key among loaded rows (rows when it has none)
    first_reject: tuple[int, str] | None = None  # (line, reason) of the first rejected record


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def needs_value(source: SourceSection, col: str) -> bool:
    """A numeric column not declared nullable: an empty field there is refused (rule_checks)."""
    return source.columns[col] != "VARCHAR" and col not in source.nullable


def rule_checks(source: SourceSection, column: Callable[[str], str]) -> list[tuple[str, str]]:
    """The rules a parsed row of the source must keep, as (violation predicate, reason) SQL pairs.

    One definition for both loaders (the local parse and Snowflake's external stage): a numeric
    column not declared nullable needs a value, and `ranges` bound values. `column` renders a
    column reference for the caller's query.
    """
    rules = []
    for col in source.columns:
        q = column(col)
        if needs_value(source, col):
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


def header_names(line: str) -> list[str]:
    return [h.strip().strip('"') for h in line.split(",")]


_NUMERIC_BYTES = b"0123456789+-.eE,\r\n"
_ARROW_TYPES = {"INTEGER": "int64", "BIGINT": "int64", "FLOAT": "float64", "DOUBLE": "float64", "VARCHAR": "string"}
_VALID = {  # what Snowflake takes from a CSV field for each type (v: the field's text, never NULL here)
    "INTEGER": "regexp_full_match({v}, '[+-]?[0-9]+') AND TRY_CAST({v} AS BIGINT) IS NOT NULL",
    "FLOAT": "regexp_full_match({v}, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?')",
    "DATE": "regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') AND TRY_CAST({v} AS DATE) IS NOT NULL",
    "TIMESTAMP_NTZ": "TRY_CAST({v} AS TIMESTAMP) IS NOT NULL",
    "BOOLEAN": "lower({v}) IN ('true', 'false', 't', 'f', 'yes', 'no', 'y', 'n', 'on', 'off', '1', '0')",
}
_VALID["BIGINT"], _VALID["DOUBLE"] = _VALID["INTEGER"], _VALID["FLOAT"]
RAW_LINE_LIMIT = 65536  # characters of a rejected record kept in LOAD_REJECTS.RAW_LINE


def _typed(typ: str, v: str) -> str:
    if typ == "BOOLEAN":
        return f"lower({v}) IN ('true', 't', 'yes', 'y', 'on', '1')"
    return f"TRY_CAST({v} AS {_CAST[typ]})"


def _fast_table(body: bytes, source: SourceSection) -> Any | None:
    """The body (after the header) read typed by pyarrow, or None when it needs the exact path."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {c: _ARROW_TYPES.get(t) for c, t in source.columns.items()}
    if source.trim_space or None in types.values() or not body.endswith(b"\n"):
        return None
    if body.translate(None, _NUMERIC_BYTES):
        return None
    # pyarrow ends a line at LF, CR or CRLF; a CR that does not end a line (`1,2\r3,4`, `\r\r\n`) so
    # makes one row more than the body has LFs, which the row count below refuses (the exact path
    # then rejects that line). Counting CRs against CRLFs as well took 1.1 s of a CRLF ratings.csv at 20m.
    # An empty line is a row of NULLs, which a column that needs a value refuses in parse_csv's rule
    # check: only where no column needs a value must the body be searched for one here.
    none_needed = not any(needs_value(source, c) for c in source.columns)
    if body.startswith((b"\n", b"\r\n")) or (none_needed and (b"\n\n" in body or b"\n\r\n" in body)):
        return None
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=list(types), block_size=1 << 26),
            parse_options=pacsv.ParseOptions(quote_char=False, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: getattr(pa, t)() for c, t in types.items()},  # type: ignore[misc]
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != body.count(b"\n"):
        return None
    import numpy as np

    return table.append_column("n", pa.array(np.arange(2, table.num_rows + 2, dtype=np.int64)))


def ascending_keys(table: Any, key: list[str]) -> bool:
    """True when the rows' numeric key columns hold no NULL and every key is greater than the one before.

    Then every key is distinct, and the count of keys is the count of rows with no hash aggregate:
    GroupLens writes genome-scores.csv in (movieId, tagId) order, and DISTINCT over its 11.7 M keys
    took 2 s of the ml-20m load. Any other order (or a float key where -0.0 follows 0.0, or NaN)
    answers False and the caller counts with DISTINCT, so the count never depends on the order.
    """
    import numpy as np
    import pyarrow as pa

    names = {n.lower(): n for n in table.column_names}  # a source's key may name its columns in any case
    if any(c.lower() not in names for c in key):
        return False
    cols = [table.column(names[c.lower()]) for c in key]
    if any(c.null_count for c in cols):
        return False
    if table.num_rows < 2:
        return True
    if not all(pa.types.is_integer(c.type) or pa.types.is_floating(c.type) for c in cols):
        return False
    greater = np.zeros(table.num_rows - 1, dtype=bool)
    equal = np.ones(table.num_rows - 1, dtype=bool)
    for c in cols:
        v = c.to_numpy()
        nxt, prev = v[1:], v[:-1]
        greater |= equal & (nxt > prev)
        equal &= nxt == prev
    return bool(greater.all())


def _exact_tables(name: str, text: str, source: SourceSection) -> tuple[Any, Any]:
    """(plain lines, special records) as Arrow tables for the exact path (see records.py)."""
    import pyarrow as pa

    split = split_records(name, text, len(source.columns), trim=source.trim_space)
    plain = pa.table(
        {
            "n": pa.array([i + 2 for i in split.plain], pa.int64()),
            "l": pa.array([strip_cr(split.lines[i]) for i in split.plain], pa.string()),
        }
    )
    special = pa.table(
        {
            "n": pa.array([r.line for r in split.special], pa.int64()),
            "raw": pa.array([r.raw for r in split.special], pa.string()),
            "f": pa.array([r.fields for r in split.special], pa.list_(pa.string())),
            "why": pa.array(
                [r.reason or ("NUL byte in the record" if "\x00" in r.raw else None) for r in split.special],
                pa.string(),
            ),
        }
    )
    return plain, special


def _exact_sql(source: SourceSection, header: str) -> str:
    """SELECT every record with its typed columns and the first reason it cannot load (or NULL)."""
    trim = "trim(x)" if source.trim_space else "x"
    checks = []
    typed = []
    for i, (col, typ) in enumerate(source.columns.items(), start=1):
        v = f"f[{i}]"
        if typ in _VALID:
            shown = f"left({v}, 100)"
            checks.append(
                f"WHEN {v} IS NOT NULL AND NOT ({_VALID[typ].format(v=v)}) "
                f"THEN 'invalid {typ} in {col}: ''' || {shown} || ''''"
            )
            typed.append(f'{_typed(typ, v)} AS "{col}"')
        else:
            typed.append(f'{v} AS "{col}"')
    ncols = len(source.columns)
    return f"""
        WITH rec AS (
            SELECT n, l AS raw,
                   CASE WHEN l = '' THEN NULL
                        ELSE list_transform(string_split(l, ','), lambda x: NULLIF({trim}, '')) END AS f,
                   CASE WHEN l = '' THEN 'empty line' WHEN l = {duckdb_string(header)} THEN 'repeated header line'
                        WHEN contains(l, chr(0)) THEN 'NUL byte in the record' END AS why
            FROM plain
            UNION ALL SELECT n, raw, f, why FROM special)
        SELECT n, raw, COALESCE(why, CASE WHEN len(f) <> {ncols} THEN 'expected {ncols} fields, found ' || len(f)
                                          {" ".join(checks)} END) AS why,
               {", ".join(typed)}
        FROM rec"""


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
    verify: bool = False,
) -> ParsedFile:
    """Check the header, split good rows from rejects, and write both as Parquet in work_dir.

    The file is read once, through a descriptor that refuses links; with `verify` its content
    must have the sha256 `digest` (a manifest's), else it is refused before anything is parsed.
    """
    import duckdb

    from netflix_elt.ingest.landing.files import read_regular, sha256_hex

    if not path.is_file():
        raise LoadError(f"{source_file}: file not found")
    # the header line and the body apart: the body is never copied again
    head, body = read_regular(path, sha256=digest if verify else None)
    if not head:
        raise LoadError(f"{source_file}: file is empty (0 bytes); expected a CSV header row")
    if digest is None:
        digest = sha256_hex(head, body)
    header_line = decode(source_file, head.removesuffix(b"\n")).rstrip("\r")
    header = header_names(header_line)
    expected = list(source.columns)
    if header != expected:
        shown = ",".join(header)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise LoadError(f"{source_file}: wrong header {shown!r}; expected {','.join(expected)!r} for {source.table}")
    # the fast path takes only ASCII digits, signs, dots, exponents, commas and line ends: no decoding needed
    fast = _fast_table(body, source) if head.endswith(b"\n") else None
    text = None if fast is not None else decode(source_file, head + body)
    whole = (head, body) if fast is not None else None  # what the exact path reads if a rule fails
    del head, body
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        rules = rule_checks(source, lambda c: f'"{c}"')
        rule_reason = ("CASE " + " ".join(f"WHEN {p} THEN {w}" for p, w in rules) + " END") if rules else "NULL"
        cols = ", ".join(f'"{c}"' for c in source.columns)
        if fast is not None:
            con.register("fast", fast)
            broken = " OR ".join(f"({p})" for p, _ in rules) or "FALSE"
            if con.execute(f"SELECT COUNT(*) FROM fast WHERE {broken}").fetchall()[0][0]:
                con.unregister("fast")  # rejects need their raw lines: take the exact path
                assert whole is not None
                fast, text = None, decode(source_file, whole[0] + whole[1])
            else:
                con.execute(
                    f"CREATE VIEW recs AS SELECT n, NULL::VARCHAR AS raw, NULL::VARCHAR AS why, {cols} FROM fast"
                )
        if fast is None:
            assert text is not None
            plain, special = _exact_tables(source_file, text, source)
            con.register("plain", plain)
            con.register("special", special)
            con.execute(
                f"""CREATE TABLE recs AS SELECT n, raw, COALESCE(why, {rule_reason}) AS why, {cols}
                    FROM ({_exact_sql(source, header_line)})"""
            )
        del text, whole
        if fast is not None:
            n_good, n_rej = fast.num_rows, 0
        else:
            n_good, n_rej = con.execute(
                "SELECT COUNT(*) FILTER (WHERE why IS NULL), COUNT(*) FILTER (WHERE why IS NOT NULL) FROM recs"
            ).fetchall()[0]
        keys = n_good
        if source.key and n_good and not (fast is not None and ascending_keys(fast, source.key)):
            key = ", ".join(f'"{c}"' for c in source.key)
            # a DISTINCT subquery is a plain hash aggregate: COUNT(DISTINCT (a, b)) over a struct took 1.6 x as long
            distinct = f"SELECT COUNT(*) FROM (SELECT DISTINCT {key} FROM recs WHERE why IS NULL)"
            keys = con.execute(distinct).fetchall()[0][0]
        work_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{source_name}_{load_id}"
        parquet = work_dir / f"{stem}.parquet"
        at = f"{duckdb_string(loaded_at.isoformat(sep=' '))}::TIMESTAMP"
        typed = ", ".join(f'"{c}" AS "{c.upper()}"' for c in source.columns)
        # the file's columns and _SOURCE_ROW only: the COPY adds the load's metadata as constants
        # (load.stamped_columns). 20 M copies of a file name, a time and a load id cost ~1.2 s of the
        # ml-20m ratings' write, and the row order inside the Parquet another ~0.4 s: _SOURCE_ROW keeps it
        con.execute("SET preserve_insertion_order = false")
        con.execute(
            f"""COPY (SELECT {typed}, (n - 1)::BIGINT AS _SOURCE_ROW FROM recs WHERE why IS NULL)
                TO {duckdb_string(str(parquet))} (FORMAT PARQUET)"""
        )
        con.execute("SET preserve_insertion_order = true")
        rejects_parquet, first = None, None
        if n_rej:
            rejects_parquet = work_dir / f"{stem}_rejects.parquet"
            cut = f"' (raw line cut to its first {RAW_LINE_LIMIT:,} of ' || length(raw) || ' characters)'"
            con.execute(
                f"""COPY (SELECT {load_id}::BIGINT AS _LOAD_ID, {duckdb_string(source.table)} AS SOURCE_TABLE,
                          {duckdb_string(source_file)} AS SOURCE_FILE, n AS LINE_NUMBER,
                          left(raw, {RAW_LINE_LIMIT}) AS RAW_LINE,
                          CASE WHEN length(raw) > {RAW_LINE_LIMIT} THEN why || {cut} ELSE why END AS REASON,
                          {at} AS REJECTED_AT
                      FROM recs WHERE why IS NOT NULL ORDER BY n)
                    TO {duckdb_string(str(rejects_parquet))} (FORMAT PARQUET)"""
            )
            rows = con.execute("SELECT n, why FROM recs WHERE why IS NOT NULL ORDER BY n LIMIT 1").fetchall()
            first = (int(rows[0][0]), str(rows[0][1])) if rows else None
        return ParsedFile(path, digest, n_good + n_rej, n_good, n_rej, parquet, rejects_parquet, keys, first)
    finally:
        con.close()
