"""Split a landed CSV file into records so that every physical line is accounted for.

Why our own splitter: a CSV reader that meets an unterminated quote reads on to the next quote,
so one bad line can swallow thousands of good ones into a single "rejected row". Here a record
may span lines only inside a quoted field that closes into a well-formed record; otherwise the
line that opened the quote is rejected on its own and the lines after it are read as records of
their own. Where a closing quote further down would make a well-formed record out of lines that
are records by themselves, nobody can tell what was meant, and the file is refused.

Quote-free lines (nearly all of a GroupLens file) are returned as plain lines for the vectorized
typing step in ``parse.py``; only lines holding a quote go through the Python field parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netflix_elt.errors import LoadError

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
MAX_RECORD_LINES = 1000  # a quoted field spanning more lines than this is taken as unterminated


@dataclass
class Record:
    """A record that is not one plain line: quoted fields, several lines, or rejected as it stands."""

    line: int  # 1-based number of its first physical line (the header is line 1)
    raw: str
    fields: list[str | None] | None
    reason: str | None = None


@dataclass
class Split:
    """The file as lines and records: ``plain`` are line numbers of quote-free one-line records."""

    header: str
    lines: list[str]  # every physical line after the header, without its LF (a CR before it is kept)
    special: list[Record] = field(default_factory=list)
    plain: list[int] = field(default_factory=list)  # 0-based indexes into ``lines``

    @property
    def records(self) -> int:
        return len(self.plain) + len(self.special)


def split_fields(text: str, *, trim: bool = False) -> tuple[list[str | None] | None, str | None]:
    """Fields of one record by Snowflake's CSV rules: `"` encloses, `""` escapes, empty unquoted = NULL.

    Returns (fields, None) or (None, reason). A quote inside an unquoted field and text after a
    closing quote are errors, as they are for Snowflake with FIELD_OPTIONALLY_ENCLOSED_BY.
    """
    fields: list[str | None] = []
    i, n = 0, len(text)
    while True:
        j = i
        if trim:
            while j < n and text[j] in " \t":
                j += 1
        if j < n and text[j] == '"':
            parts, k = [], j + 1
            while True:
                q = text.find('"', k)
                if q < 0:
                    return None, f"unterminated quoted field {len(fields) + 1}"
                if q + 1 < n and text[q + 1] == '"':
                    parts.append(text[k : q + 1])
                    k = q + 2
                    continue
                parts.append(text[k:q])
                i = q + 1
                break
            fields.append("".join(parts))
            if trim:
                while i < n and text[i] in " \t":
                    i += 1
            if i == n:
                return fields, None
            if text[i] != ",":
                return None, f"text after the closing quote of field {len(fields)}"
            i += 1
        else:
            k = text.find(",", i)
            end = n if k < 0 else k
            value = text[i:end]
            if '"' in value:
                return None, f"stray quote in unquoted field {len(fields) + 1}"
            if trim:
                value = value.strip(" \t")
            fields.append(value if value != "" else None)
            if k < 0:
                return fields, None
            i = k + 1
        if i == n:  # a trailing comma: one more, empty field
            fields.append(None)
            return fields, None


def _opens_quote(text: str, *, trim: bool = False) -> bool:
    """True when the line ends inside a quoted field that opened at a field's start (so a later
    line may close it); False for a stray quote or text after a closing quote."""
    inside = False
    at_start, after_close = True, False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if inside:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 2
                    continue
                inside, after_close = False, True
        elif ch == ",":
            at_start, after_close = True, False
        elif ch == '"':
            if not at_start:
                return False
            inside, at_start = True, False
        elif not (trim and ch in " \t"):
            if after_close:
                return False
            at_start = False
        i += 1
    return inside


def strip_cr(line: str) -> str:
    return line[:-1] if line.endswith("\r") else line


def decode(path_name: str, data: bytes) -> str:
    """The file's text: refuses gzip data, non-UTF-8 bytes (naming the line) and CR-only line ends."""
    if data[:2] == GZIP_MAGIC:
        raise LoadError(f"{path_name}: is gzip-compressed data, not a CSV text file (decompress it first)")
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise LoadError(
            f"{path_name}: line {line} is not UTF-8 (byte 0x{data[e.start]:02X}): the file is not UTF-8; "
            "GroupLens files are UTF-8, re-encode it"
        ) from None
    first = text.split("\n", 1)[0]
    if "\r" in first.rstrip("\r"):
        kind = "CR-only line endings" if "\n" not in text else "a bare carriage return (CR) in line 1"
        raise LoadError(f"{path_name}: has {kind}; use LF or CRLF line endings")
    return text


def split_records(path_name: str, text: str, ncols: int, *, trim: bool = False) -> Split:
    """Every physical line after the header ends up in exactly one plain line or special record."""
    lines = text.split("\n")
    terminated = lines[-1] == ""
    if terminated:
        lines.pop()
    header = lines[0].rstrip("\r") if lines else ""
    body = lines[1:]
    out = Split(header, body)
    if not body:
        return out
    last_open = len(body) - 1 if not terminated else -1  # a last line without a line terminator
    quoted = [i for i, ln in enumerate(body) if '"' in ln and i != last_open]
    done: set[int] = set()
    qpos = 0
    for qpos, i in enumerate(quoted):
        if i in done:
            continue
        rec = _quoted_record(path_name, body, quoted, qpos, ncols, trim, last_open)
        out.special.append(rec)
        done.update(range(i, i + rec.raw.count("\n") + 1))
    if last_open >= 0:
        out.special.append(
            Record(last_open + 2, strip_cr(body[last_open]), None, "last line has no line terminator (truncated file?)")
        )
        done.add(last_open)
    out.plain = [i for i in range(len(body)) if i not in done] if done else list(range(len(body)))
    out.special.sort(key=lambda r: r.line)
    return out


def _quoted_record(
    path_name: str, body: list[str], quoted: list[int], qpos: int, ncols: int, trim: bool, last_open: int
) -> Record:
    """The record starting at quoted line ``quoted[qpos]``: one line, several, or a reject of that line."""
    i = quoted[qpos]
    text = strip_cr(body[i])
    fields, why = split_fields(text, trim=trim)
    if fields is not None:
        return Record(i + 2, text, fields)
    if not _opens_quote(text, trim=trim):
        return Record(i + 2, text, None, why)
    # the quote may close on a later line: the next line holding an odd number of quotes
    parity = text.count('"') % 2
    for j in quoted[qpos + 1 :]:
        if j == last_open or j - i > MAX_RECORD_LINES:
            break
        parity = (parity + body[j].count('"')) % 2
        if parity:
            continue
        joined = strip_cr("\n".join(body[i : j + 1]))  # CRLF inside the quoted field is kept, as Snowflake does
        fields, _ = split_fields(joined, trim=trim)
        if fields is None or len(fields) != ncols:
            break
        for k in range(i + 1, j):
            inner, _ = split_fields(strip_cr(body[k]), trim=trim)
            if inner is not None and len(inner) == ncols:
                raise LoadError(
                    f"{path_name}: line {i + 2} opens a quoted field that closes only at line {j + 2}, but line "
                    f"{k + 2} in between is a record by itself: cannot tell which lines are meant; fix the quote "
                    f"at line {i + 2}"
                )
        return Record(i + 2, joined, fields)
    return Record(i + 2, text, None, f"{why}: the quote is not closed into a well-formed record on the lines after it")
