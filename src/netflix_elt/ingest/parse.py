"""Parse a landed CSV file into typed Parquet plus its rejected records, before any COPY.

Why not COPY the CSV directly: the emulator rejects GroupLens' doubled quotes and has no
`ON_ERROR = CONTINUE`, and even on Snowflake a rejected row should be kept with its reason, not
dropped. The file is split into records by `records.py` (so every physical line is accounted
for), each value is checked against what Snowflake would take for the declared type (integers
are an optional sign and digits: DuckDB's `0x10`, `1_0` or ` 5` are rejected), rules of the
source are applied, and good rows get their load metadata.

A clean numeric file (ratings, genome scores: nothing but digits, signs, dots, exponents, commas
and line ends) takes a fast path: pyarrow reads it typed in one multi-threaded pass, from the file
as it is read (`_Body`: the file is never held whole beside its table), and any surprise there
(a conversion error, a row count that is not the line count, a rule violation) sends the file
down the exact path instead, which gives every reject its line and reason. Where the surprise
comes after the first block, the exact path reads the file again, and that read must have the
first one's checksum.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

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
BLOCK = 1 << 26  # bytes pyarrow reads at a time; the body's first block is read before the path is chosen


def _typed(typ: str, v: str) -> str:
    if typ == "BOOLEAN":
        return f"lower({v}) IN ('true', 't', 'yes', 'y', 'on', '1')"
    return f"TRY_CAST({v} AS {_CAST[typ]})"


class _NotFast(Exception):
    """A block of the body that the fast path cannot take: the exact path reads the file."""


class _Body:
    """A file's body (after the header) as pyarrow's fast path reads it: each block hashed, checked to be
    clean numeric CSV and its LFs counted as pyarrow asks for it, so the file is never held whole beside
    its typed table (ratings.csv at ml-20m: 548 MB less at the peak of its parse). A block the fast path
    cannot take stops the read (_NotFast). `first`: the body's first bytes, read before the path was
    chosen; `rest`: the open file after them (None: `first` is the whole body)."""

    closed = False

    def __init__(self, first: bytes, rest: BinaryIO | None = None, hasher: Any = None) -> None:
        self.first = first  # kept until the read goes past it: without that, the exact path needs no second read
        self._pending = first
        self._rest = rest
        self.hasher = hasher if hasher is not None else hashlib.sha256()
        self.find_empty = False  # an empty line anywhere stops the read (set where no column needs a value)
        self.read_past_first = False
        self.lines = 0
        self.size = 0
        self._start = b""  # the body's first two bytes
        self._tail = b""  # the last two bytes read
        # pyarrow's reader thread may still ask for a block after read_csv raised: `finish` waits for a
        # read under way and makes any later one read nothing, so `rest` is left as `finish` found it
        self._lock = threading.Lock()
        self._finished = False

    def readable(self) -> bool:
        return True

    def finish(self) -> None:
        with self._lock:
            self._finished = True

    def read(self, n: int = -1) -> bytes:
        with self._lock:
            return b"" if self._finished else self._read(n)

    def _read(self, n: int) -> bytes:
        if self._pending:
            block = self._pending if n < 0 else self._pending[:n]
            self._pending = self._pending[len(block) :]
        elif self._rest is not None:
            block = self._rest.read(n)
            if block:
                self.read_past_first, self.first = True, b""
        else:
            return b""
        if not block:
            return block
        self.hasher.update(block)
        if block.translate(None, _NUMERIC_BYTES):
            raise _NotFast
        if len(self._start) < 2:  # an empty first line is never the fast path's
            self._start = (self._start + block)[:2]
            if self._start.startswith(b"\n") or self._start == b"\r\n":
                raise _NotFast
        edge = self._tail + block[:2]  # a blank line across two blocks
        if self.find_empty and any(e in b for b in (block, edge) for e in (b"\n\n", b"\n\r\n")):
            raise _NotFast
        self.lines += block.count(b"\n")
        self.size += len(block)
        self._tail = (self._tail + block)[-2:]
        return block

    def ends_a_line(self) -> bool:
        return self._tail.endswith(b"\n")


def _fast_table(body: bytes | _Body, source: SourceSection) -> Any | None:
    """The body (after the header) read typed by pyarrow, or None when it needs the exact path;
    `body`: its bytes, or the file as it is read (_Body)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {c: _ARROW_TYPES.get(t) for c, t in source.columns.items()}
    if source.trim_space or None in types.values():
        return None
    stream = body if isinstance(body, _Body) else _Body(body)
    # pyarrow ends a line at LF, CR or CRLF; a CR that does not end a line (`1,2\r3,4`, `\r\r\n`) so
    # makes one row more than the body has LFs, which the row count below refuses (the exact path
    # then rejects that line). Counting CRs against CRLFs as well took 1.1 s of a CRLF ratings.csv at 20m.
    # An empty line is a row of NULLs, which a column that needs a value refuses in parse_csv's rule
    # check: only where no column needs a value must the body be searched for one here.
    stream.find_empty = not any(needs_value(source, c) for c in source.columns)
    try:
        table = pacsv.read_csv(
            stream,
            read_options=pacsv.ReadOptions(column_names=list(types), block_size=BLOCK),
            parse_options=pacsv.ParseOptions(quote_char=False, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: getattr(pa, t)() for c, t in types.items()},  # type: ignore[misc]
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, _NotFast):
        return None
    finally:
        stream.finish()
    if not stream.size or not stream.ends_a_line() or table.num_rows != stream.lines:
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


class _Read(NamedTuple):
    head: bytes  # the header line as read
    header_line: str
    body: bytes | None  # None where the fast path took it as it was read
    fast: Any | None  # the fast path's typed table
    sha256: str  # of what was read ("" where the fast read stopped part way: the file is read again)


def _header(source_file: str, source: SourceSection, head: bytes) -> str:
    """The header line, checked against the source's columns."""
    if not head:
        raise LoadError(f"{source_file}: file is empty (0 bytes); expected a CSV header row")
    header_line = decode(source_file, head.removesuffix(b"\n")).rstrip("\r")
    header = header_names(header_line)
    expected = list(source.columns)
    if header != expected:
        shown = ",".join(header)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise LoadError(f"{source_file}: wrong header {shown!r}; expected {','.join(expected)!r} for {source.table}")
    return header_line


def _read(path: Path, source: SourceSection, source_file: str, manifest: str | None, exact: bool) -> _Read:
    """Read the file once: a clean numeric body is typed by the fast path as it is read, any other body is
    read whole for the exact path (`exact`: read whole, no fast path). `manifest`: the sha256 the
    content must have, checked before anything else is said about the file."""
    from netflix_elt.ingest.landing.files import check_sha256, open_stream, read_regular, sha256_hex

    if exact:
        head, body = read_regular(path, sha256=manifest)
        return _Read(head, _header(source_file, source, head), body, None, sha256_hex(head, body))
    with open_stream(path) as fh:
        head = fh.readline()
        stream = _Body(fh.read(BLOCK), fh, hashlib.sha256(head))
        try:
            header_line = _header(source_file, source, head)
        except LoadError:
            if manifest is not None:
                check_sha256(path, sha256_hex(head, stream.first, fh.read()), manifest)
            raise
        # the fast path takes only ASCII digits, signs, dots, exponents, commas and line ends: no decoding needed
        fast = _fast_table(stream, source) if head.endswith(b"\n") else None
        stream.finish()
        if fast is None and stream.read_past_first:
            return _Read(head, header_line, None, None, "")
        body = None if fast is not None else stream.first + fh.read()
    digest = stream.hasher.hexdigest() if body is None else sha256_hex(head, body)
    if manifest is not None:
        check_sha256(path, digest, manifest)
    return _Read(head, header_line, body, fast, digest)


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
    exact: bool = False,
    same_as: str | None = None,
) -> ParsedFile:
    """Check the header, split good rows from rejects, and write both as Parquet in work_dir.

    The file is read through a descriptor that refuses links, once where it loads clean (`_read`).
    Where the fast path finds a row it cannot load, the exact path reads the file again, whole
    (`exact`), and it must be what the fast path read (`same_as`, its sha256), else it is refused as
    changed while it was loaded. With `verify` the content must have the sha256 `digest` (a
    manifest's), else it is refused before anything is loaded.
    """
    import duckdb

    from netflix_elt.errors import IngestError

    if not path.is_file():
        raise LoadError(f"{source_file}: file not found")
    again = dict(load_id=load_id, loaded_at=loaded_at, source_file=source_file, source_name=source_name,
                 work_dir=work_dir, digest=digest, verify=verify, exact=True)  # fmt: skip
    try:
        read = _read(path, source, source_file, same_as or (digest if verify else None), exact)
    except IngestError:
        if same_as is None:
            raise
        raise LoadError(f"{source_file}: changed while it was being loaded; land it again") from None
    if read.fast is None and read.body is None:  # the fast read stopped part way: read it whole
        return parse_csv(path, source, **again)  # type: ignore[arg-type]
    first_read = read.sha256
    digest = digest or first_read
    header_line, fast = read.header_line, read.fast
    text = None if read.body is None else decode(source_file, read.head + read.body)
    del read
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
                del fast  # rejects need their raw lines: the exact path reads the file again, whole
                con.close()
                return parse_csv(path, source, **again, same_as=first_read)  # type: ignore[arg-type]
            con.execute(f"CREATE VIEW recs AS SELECT n, NULL::VARCHAR AS raw, NULL::VARCHAR AS why, {cols} FROM fast")
        else:
            assert text is not None
            plain, special = _exact_tables(source_file, text, source)
            con.register("plain", plain)
            con.register("special", special)
            con.execute(
                f"""CREATE TABLE recs AS SELECT n, raw, COALESCE(why, {rule_reason}) AS why, {cols}
                    FROM ({_exact_sql(source, header_line)})"""
            )
        del text
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
