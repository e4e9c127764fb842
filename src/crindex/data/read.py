"""Reading a user's files and databases into raw DuckDB relations, untouched.

Every reader returns a :class:`RawTable`: a DuckDB relation name holding the user's own columns
(as found, values unconverted) plus ``_row``, the row's position in the user's file as they see
it (the line of a CSV, the row of an Excel sheet, the index of a Parquet row), so that every
data problem can be reported where the user can find it.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crindex.data.hints import COMMA_DECIMAL, GROUPED
from crindex.errors import DataError, DataNotFoundError, Problem, Reason
from crindex.model.spec import SourceSpec
from crindex.util import wall_clock

#: file kinds a data folder may hold, in the order they are looked for
SUFFIXES = (".csv", ".parquet", ".xlsx", ".txt")
DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")
URL_PREFIXES = ("postgresql://", "postgres://")


@dataclass
class RawTable:
    """A user's table loaded as found: relation ``name`` in DuckDB, with ``_row``."""

    name: str
    origin: str
    fmt: str
    encoding: str | None
    columns: list[str]
    row_label: str = "row"
    #: the CSV's field delimiter (None for other formats)
    delimiter: str | None = None
    #: the decimal separator of numbers written as text: "." or "," (see decide_decimal)
    decimal: str = "."


def quote(name: str) -> str:
    """A DuckDB identifier, quoted (users' column names may be Chinese or have spaces)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------------------------------
# encodings


def detect_encoding(path: Path, chunk: int = 1 << 20) -> str:
    """The encoding of a CSV file: a BOM decides, else strict UTF-8, else GB18030.

    Chinese Excel's "save as CSV" writes GBK (a subset of GB18030) without a BOM. A file that is
    neither valid UTF-8 nor valid GB18030 is a :class:`DataError` naming the line of the first
    byte that fits neither.
    """
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(path, "utf-8", chunk) is None:
        return "utf-8"
    bad = _decodes(path, "gb18030", chunk)
    if bad is None:
        return "gb18030"
    line = _line_of(path, bad)
    raise DataError.single(
        Reason.DATA_UNREADABLE,
        f"{path.name} is neither UTF-8 nor GB18030/GBK text (byte {bad:,} on line {line} fits "
        "neither)", str(path),
        "save it again as 'CSV UTF-8' in Excel, or name its encoding in the model: "
        "sources.<table>.encoding",
    )


def _decodes(path: Path, encoding: str, chunk: int) -> int | None:
    """None when the whole file decodes strictly, else the offset of the first bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with path.open("rb") as fh:
        while True:
            block = fh.read(chunk)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return offset + max(exc.start, 0)
            if not block:
                return None
            offset += len(block)


def _line_of(path: Path, offset: int) -> int:
    with path.open("rb") as fh:
        return fh.read(offset).count(b"\n") + 1


def transcode_to_utf8(path: Path, encoding: str, folder: Path, chunk: int = 1 << 20) -> Path:
    """A UTF-8 copy of ``path`` in ``folder`` (DuckDB reads UTF-8 natively), streamed."""
    out = folder / (path.stem + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while True:
            block = src.read(chunk)
            dst.write(decoder.decode(block, final=not block))
            if not block:
                break
    return out


# --------------------------------------------------------------------------------------------
# locating


def find_file(folder: Path, table: str, src: SourceSpec | None) -> Path | None:
    """The file of ``table`` in ``folder``: the source's ``path``, else <table>.csv/.parquet/..."""
    if src is not None and src.path:
        path = Path(src.path)
        if not path.is_absolute():
            path = folder / path
        if not path.exists():
            raise DataNotFoundError.single(
                Reason.DATA_NOT_FOUND, f"sources.{table}.path `{src.path}` does not exist",
                str(path), "files here: " + _listing(path.parent),
            )
        return path
    for suffix in SUFFIXES:
        path = folder / f"{table}{suffix}"
        if path.exists():
            return path
    return None


def _listing(folder: Path) -> str:
    if not folder.is_dir():
        return "(the folder does not exist)"
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    return ", ".join(names[:20]) + (", ..." if len(names) > 20 else "") if names else "(none)"


# --------------------------------------------------------------------------------------------
# readers: each materialises or views the user's table as relation ``raw_<table>`` with _row


def read_file(raw: Any, table: str, path: Path, src: SourceSpec | None) -> RawTable:
    """Load one file into ``raw`` (a duckdb connection) as relation ``raw_<table>``."""
    fmt = (src.format if src and src.format else path.suffix.lstrip(".").lower())
    rel = f"raw_{table}"
    readers = {"parquet": _read_parquet, "csv": _read_csv, "txt": _read_txt,
               "xlsx": _read_xlsx}
    try:
        if fmt in readers:
            rt = readers[fmt](raw, rel, path, src)
            if fmt != "parquet":  # numbers written as text: which is the decimal separator?
                rt.decimal = decide_decimal(raw, rt, path, src, table)
            return rt
    except DataError:
        raise
    except Exception as exc:  # the reader's own words become crindex's, with where
        raise unreadable(exc, path, fmt) from None
    raise DataError.single(
        Reason.DATA_UNREADABLE, f"{path.name}: format `{fmt}` is not readable", str(path),
        "formats: csv (UTF-8 or GB18030), parquet, xlsx, txt (whitespace-separated)",
    )


#: what a file of each format starts with, and what it is called
MAGIC = {"parquet": (b"PAR1", "a Parquet file"),
         "xlsx": (b"PK\x03\x04", "an Excel .xlsx workbook")}


def unreadable(exc: Exception, path: Path, fmt: str) -> DataError:
    """A file the reader could not read, in crindex's words: empty, not that format, cut."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as err:
        return DataError.single(  # type: ignore[return-value]
            Reason.DATA_UNREADABLE, f"cannot be read: {err.strerror or err}", str(path),
            "check that the file exists and you may read it")
    magic, what = MAGIC.get(fmt, (b"", f"a {fmt} file"))
    again = {"parquet": "export the table again as Parquet or CSV (a copy or a program that "
                        "was stopped while writing leaves a cut file)",
             "xlsx": "open it in Excel and save it as .xlsx (an old .xls or a CSV renamed to "
                     ".xlsx is not one), or export the table as CSV"}.get(
        fmt, "export the table again")
    if not head:
        return DataError.single(  # type: ignore[return-value]
            Reason.DATA_UNREADABLE, f"{path.name} is empty (0 bytes)", str(path), again)
    if magic and not head.startswith(magic):
        return DataError.single(  # type: ignore[return-value]
            Reason.DATA_UNREADABLE, f"{path.name} is not {what}", str(path), again)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    first = first.split("Error: ", 1)[-1]  # "Invalid Input Error: ..." -> the reason
    return DataError.single(  # type: ignore[return-value]
        Reason.DATA_UNREADABLE, f"{path.name} is cut or damaged ({what}: {first})", str(path),
        again)


def _read_parquet(raw: Any, rel: str, path: Path, src: SourceSpec | None) -> RawTable:
    raw.execute(
        f"CREATE OR REPLACE VIEW {quote(rel)} AS SELECT * EXCLUDE (file_row_number), "
        f"file_row_number + 1 AS _row FROM read_parquet({literal(str(path))}, "
        "file_row_number = true)"
    )
    return RawTable(rel, path.name, "parquet", None, _columns(raw, rel))


#: the characters a CSV's fields may be separated by, in the order a tie is decided
DELIMITERS = (",", ";", "\t", "|")


def _read_csv(raw: Any, rel: str, path: Path, src: SourceSpec | None) -> RawTable:
    """A CSV read with a dialect crindex decides (never DuckDB's guess from a sample).

    The delimiter is the model's (``sources.<table>.delimiter``) or the one of comma,
    semicolon, tab and bar the header line holds most often; every line must then have the
    header's number of fields (a ragged line is an error naming it).
    The decimal separator is decided by :func:`decide_decimal` once the values are read.
    """
    encoding = src.encoding.lower() if src and src.encoding else detect_encoding(path)
    header = src.header if src else True
    with tempfile.TemporaryDirectory(prefix="crindex-csv-") as tmp:
        target = path
        if encoding not in ("utf-8", "utf8", "utf-8-sig"):
            target = transcode_to_utf8(path, encoding, Path(tmp))
        first = _first_line(target)
        if first is None:
            raise DataError.single(
                Reason.DATA_UNREADABLE, f"{path.name} is empty (0 bytes)", str(path),
                "export the table again" + (", with its header line" if header else ""))
        delimiter = src.delimiter if src and src.delimiter else sniff_delimiter(first)
        names = _csv_names(first, delimiter, header, list(src.names or []) if src else [])
        columns = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"
        opts = [f"delim = {literal(delimiter)}", "quote = '\"'", "escape = '\"'",
                f"header = {'true' if header else 'false'}", "auto_detect = false",
                f"columns = {columns}", "strict_mode = true"]
        # a table (not a view) keeps the file's order, so rowid is the line in the file
        try:
            raw.execute(
                f"CREATE OR REPLACE TABLE {quote(rel)} AS SELECT * FROM "
                f"read_csv({literal(str(target))}, {', '.join(opts)})"
            )
        except Exception as exc:  # duckdb.Error: its words, with SQL and options, stay here
            raise csv_error(exc, path, delimiter, len(names),
                            given=bool(src and src.delimiter), table=rel[4:]) from None
    _add_row(raw, rel, 2 if header else 1)
    shown = "utf-8" if encoding == "utf-8-sig" else encoding
    return RawTable(rel, path.name, "csv", shown, _columns(raw, rel), "line",
                    delimiter=delimiter)


def _first_line(path: Path) -> str | None:
    """The file's first line (without a BOM or line end), or None for an empty file."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        line = fh.readline()
    return line.rstrip("\r\n") if line else None


def sniff_delimiter(line: str) -> str:
    """The one of :data:`DELIMITERS` found most often outside quotes in ``line`` (``,``)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of a tie
    return best if counts[best] else ","


def _csv_names(first: str, delimiter: str, header: bool, given: list[str]) -> list[str]:
    """The columns' names: the model's ``names``, then the header's, unique, none empty."""
    import csv

    fields = next(csv.reader([first], delimiter=delimiter), [])
    found = [f.strip() for f in fields] if header else [""] * len(fields)
    names = given + found[len(given):]
    out: list[str] = []
    for i, name in enumerate(names):
        name = name or f"column{i}"
        base, n = name, 1
        while name in out:
            name, n = f"{base}_{n}", n + 1
        out.append(name)
    return out


def csv_error(exc: Exception, path: Path, delimiter: str, width: int, given: bool,
              table: str) -> DataError:
    """DuckDB's CSV error as one line in crindex's words: the file's line, what, the fix."""
    import re

    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    at = f"{path} line {line.group(1)}" if line else str(path)
    shown = {"\t": "tab", " ": "space"}.get(delimiter, f"`{delimiter}`")
    other = ("" if given else
             f"; if the fields are separated by another character, name it in the model: "
             f"sources.{table}.delimiter")
    count = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if count:
        more = int(count.group(2)) > int(count.group(1))
        return DataError.single(  # type: ignore[return-value]
            Reason.DATA_UNREADABLE,
            f"this line has {'more' if more else 'fewer'} fields than the {width} columns of "
            f"the header line (fields separated by {shown})", at,
            (f"a value holding {shown} must be in double quotes (\"1{delimiter}200\"); "
             if more else "every line needs a value (or an empty field) for each column; ")
            + "fix the line or export the table again" + other)
    if "unterminated quote" in text:
        return DataError.single(  # type: ignore[return-value]
            Reason.DATA_UNREADABLE, "a double quote opened on this line is never closed", at,
            'close the quote, or write a quote inside a value as two quotes ("")')
    why = next((ln.strip() for ln in text.splitlines()[1:] if ln.strip()
                and not ln.startswith(("Original Line", "Possible fixes", "*", " "))),
               text.splitlines()[0] if text else type(exc).__name__)
    return DataError.single(  # type: ignore[return-value]
        Reason.DATA_UNREADABLE, f"cannot read {path.name} as CSV: {why}", at,
        "check that the file is complete CSV text" + other)


# --------------------------------------------------------------------------------------------
# decimal separators: 1810,67 is never read as 181067


#: beside COMMA_DECIMAL (1810,67; 0,5; 1.810,67 once the thousands groups are ruled out):
#: numbers written with a decimal point that cannot group thousands (12.5; 0.500; 1,810.67),
#: and the ambiguous ones (1,200 and 1.200: thousands, or 1.2)
POINT_DECIMAL = r"[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]*)\.[0-9]+"
COMMA_GROUPS = r"[+-]?[1-9][0-9]{0,2}(,[0-9]{3})+"
POINT_GROUPS = r"[+-]?[1-9][0-9]{0,2}(\.[0-9]{3})+"
NUMBER_SHAPE = r"[+-]?[0-9.,]*[0-9][0-9.,]*"
#: the first rows that say whether a column holds numbers (words, dates and codes say nothing)
SHAPE_ROWS = 10_000


def number_sql(text: str, decimal: str) -> str:
    """SQL reading the text ``text`` as a number written with ``decimal`` ("." or ",").

    The other character may only group thousands (``1,200.5`` or ``1.200,5``; ``1，200`` with
    a full-width comma too); a value where it does anything else (``1810,67`` read with a
    decimal point) is NULL, so the checks report it as unparseable instead of a number 100
    times too large.
    """
    t = f"REPLACE({text}, '，', ',')"
    other = "." if decimal == "," else ","
    plain = f"REPLACE(REPLACE({t}, '.', ''), ',', '.')" if decimal == "," else \
        f"REPLACE({t}, ',', '')"
    return (f"CASE WHEN {t} LIKE '%{other}%' AND NOT regexp_full_match({t}, "
            f"{literal(GROUPED[decimal])}) THEN NULL ELSE TRY_CAST({plain} AS DOUBLE) END")


def decide_decimal(raw: Any, rt: RawTable, path: Path, src: SourceSpec | None,
                   table: str) -> str:
    """The decimal separator of the numbers a file writes as text: "." or ",".

    The model's ``sources.<table>.decimal`` decides. Otherwise the columns whose values are
    mostly numbers are looked at: a decimal comma that cannot be a thousands separator
    (``1810,67``) means ","; a decimal point that cannot be one (``12.5``) means "."; both in
    one file, or (in a ``;``-separated file, the decimal-comma dialect) only ambiguous values
    such as ``1.200``, is an error asking for the key. Nothing found: ".".
    """
    if src is not None and src.decimal:
        return src.decimal
    types = column_types(raw, rt.name)
    cols = [c for c in rt.columns if types.get(c, "").startswith("VARCHAR")]

    def full(v: str, pattern: str) -> str:
        return f"regexp_full_match({v}, {literal(pattern)})"

    def value(col: str) -> str:
        return f"NULLIF(TRIM({quote(col)}), '')"

    # the columns of numbers: mostly number-shaped in the file's first rows
    if cols:
        shapes = raw.execute(
            "SELECT " + ", ".join(f"count({value(c)}), count_if({full(value(c), NUMBER_SHAPE)})"
                                  for c in cols)
            + f" FROM (SELECT * FROM {quote(rt.name)} LIMIT {SHAPE_ROWS})").fetchall()[0]
        cols = [c for i, c in enumerate(cols) if shapes[2 * i + 1]
                and 2 * shapes[2 * i + 1] >= shapes[2 * i]]
    if not cols:
        return "."
    kinds = {"comma": lambda v: f"contains({v}, ',') AND {full(v, COMMA_DECIMAL)} AND NOT "
                                f"{full(v, COMMA_GROUPS)}",
             "point": lambda v: f"contains({v}, '.') AND {full(v, POINT_DECIMAL)} AND NOT "
                                f"{full(v, POINT_GROUPS)}",
             "groups": lambda v: f"({full(v, COMMA_GROUPS)} OR {full(v, POINT_GROUPS)})"}
    parts = []
    for i, col in enumerate(cols):  # every row of those columns: the first value of each kind
        v = value(col)
        for kind, cond in kinds.items():
            c = cond(v)
            parts.append(f"arg_min({v}, _row) FILTER ({c}) AS {kind}_v{i}, "
                         f"min(_row) FILTER ({c}) AS {kind}_r{i}")
    found_rows = raw.execute(f"SELECT {', '.join(parts)} FROM {quote(rt.name)}")
    names = [d[0] for d in found_rows.description]
    got = dict(zip(names, found_rows.fetchall()[0], strict=True))
    found: dict[str, tuple[str, str, int]] = {}  # kind -> (value, column, row) of the first
    for i, col in enumerate(cols):
        for kind in kinds:
            row = got[f"{kind}_r{i}"]
            if row is not None and (kind not in found or row < found[kind][2]):
                found[kind] = (got[f"{kind}_v{i}"], col, row)
    fix = (f'name the decimal separator in the model: sources.{table}.decimal: "," (then '
           f'1.200,5 is 1200.5) or "." (then 1,200.5 is 1200.5)')
    label = rt.row_label

    def at(kind: str) -> str:
        value, col, row = found[kind]
        return f"`{value}` in column `{col}`, {label} {row}"

    if "comma" in found and "point" in found:
        raise DataError.single(
            Reason.DATA_UNREADABLE, "numbers are written with a decimal comma "
            f"({at('comma')}) and with a decimal point ({at('point')})", str(path), fix)
    if "comma" in found:
        return ","
    if "point" in found:
        return "."
    if "groups" in found and rt.delimiter == ";":
        ambiguous = found["groups"][0]
        raise DataError.single(
            Reason.DATA_UNREADABLE, "fields are separated by `;` (as where a comma is the "
            f"decimal separator) and numbers are written such as {at('groups')}: is `{ambiguous}` "
            "a number with thousands grouped, or a decimal?", str(path), fix)
    return "."


def _read_txt(raw: Any, rel: str, path: Path, src: SourceSpec | None) -> RawTable:
    """Whitespace-separated text without quoting (e.g. the CDNOW files)."""
    import pyarrow as pa

    encoding = src.encoding if src and src.encoding else detect_encoding(path)
    with path.open(encoding=encoding) as fh:
        lines = [line.split() for line in fh]
    header = src.header if src else True
    names = list(src.names) if src and src.names else None
    if header:
        first = lines.pop(0) if lines else []
        names = names or first
    if not names:
        width = max((len(r) for r in lines), default=0)
        names = [f"column{i}" for i in range(width)]
    cols = {n: [r[i] if i < len(r) else None for r in lines] for i, n in enumerate(names)}
    arrow = pa.table({n: pa.array(v, pa.string()) for n, v in cols.items()})
    _from_arrow(raw, rel, arrow, 2 if header else 1)
    return RawTable(rel, path.name, "txt", encoding, _columns(raw, rel), "line")


def _read_xlsx(raw: Any, rel: str, path: Path, src: SourceSpec | None) -> RawTable:
    import openpyxl
    import pyarrow as pa

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if src and src.sheet:
            if src.sheet not in book.sheetnames:
                raise DataError.single(
                    Reason.DATA_NOT_FOUND, f"{path.name} has no sheet `{src.sheet}`", str(path),
                    "sheets: " + ", ".join(book.sheetnames),
                )
            sheet = book[src.sheet]
        else:
            sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    header = src.header if src else True
    names = list(src.names) if src and src.names else None
    if header and rows:
        first = rows.pop(0)
        names = names or [str(v).strip() if v is not None else f"column{i}"
                          for i, v in enumerate(first)]
    names = names or [f"column{i}" for i in range(max((len(r) for r in rows), default=0))]
    cols = {n: [_cell(r[i]) if i < len(r) else None for r in rows] for i, n in enumerate(names)}
    arrow = pa.table({n: pa.array(v, pa.string()) for n, v in cols.items()})
    _from_arrow(raw, rel, arrow, 2 if header else 1)
    return RawTable(rel, path.name, "xlsx", None, _columns(raw, rel))


def _cell(value: Any) -> str | None:
    """An Excel cell as text: dates as ISO, whole floats without ``.0``."""
    import datetime as dt

    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _from_arrow(raw: Any, rel: str, arrow: Any, first: int) -> None:
    raw.register("_crindex_arrow", arrow)
    try:
        raw.execute(f"CREATE OR REPLACE TABLE {quote(rel)} AS SELECT * FROM _crindex_arrow")
    finally:
        raw.unregister("_crindex_arrow")
    _add_row(raw, rel, first)


def _add_row(raw: Any, rel: str, first: int) -> None:
    raw.execute(f"ALTER TABLE {quote(rel)} ADD COLUMN _row BIGINT")
    raw.execute(f"UPDATE {quote(rel)} SET _row = rowid + {first}")


def read_frame(raw: Any, table: str, frame: Any) -> RawTable:
    """An in-memory table (pandas, pyarrow or Ibis) registered in ``raw`` like a file.

    The rows are numbered from 1 in the frame's order, so the checks and the quality report
    treat it as they treat a Parquet file.
    """
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        arrow = frame
    elif hasattr(frame, "to_pyarrow"):  # an Ibis table, on whatever backend
        arrow = frame.to_pyarrow()
    else:
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
    rel = f"raw_{table}"
    _from_arrow(raw, rel, wall_clock(arrow), 1)
    return RawTable(rel, f"frame {table}", "frame", None, _columns(raw, rel))


def read_duckdb_table(raw: Any, table: str, db: Path, src: SourceSpec | None) -> RawTable | None:
    """A table of an attached DuckDB file (``src_db``), or None when it has no such table."""
    name = src.table if src and src.table else table
    found = raw.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src_db' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = 'src_db'"
    ).fetchall()
    if name not in {r[0] for r in found}:
        if src and src.table:
            raise DataNotFoundError.single(
                Reason.DATA_NOT_FOUND, f"{db.name} has no table `{name}`", f"sources.{table}",
                "tables: " + ", ".join(sorted(r[0] for r in found)),
            )
        return None
    rel = f"raw_{table}"
    raw.execute(
        f"CREATE OR REPLACE TABLE {quote(rel)} AS SELECT * FROM src_db.{quote(name)}"
    )
    _add_row(raw, rel, 1)
    return RawTable(rel, f"{db.name}:{name}", "duckdb", None, _columns(raw, rel))


def read_url_table(raw: Any, table: str, url: str, src: SourceSpec | None,
                   remote: Any) -> RawTable | None:
    """A table of a PostgreSQL database (through Ibis), copied into DuckDB via Arrow."""
    name = src.table if src and src.table else table
    if name not in remote.list_tables():
        if src and src.table:
            raise DataNotFoundError.single(
                Reason.DATA_NOT_FOUND, f"the database has no table `{name}`", f"sources.{table}",
                "tables: " + ", ".join(sorted(remote.list_tables())),
            )
        return None
    arrow = remote.table(name).to_pyarrow()
    rel = f"raw_{table}"
    _from_arrow(raw, rel, wall_clock(arrow), 1)
    host = url.split("@")[-1]
    return RawTable(rel, f"{host}:{name}", "postgresql", None, _columns(raw, rel))


def _columns(raw: Any, rel: str) -> list[str]:
    rows = raw.execute(f"DESCRIBE {quote(rel)}").fetchall()
    return [r[0] for r in rows if r[0] != "_row"]


def column_types(raw: Any, rel: str) -> dict[str, str]:
    return {r[0]: str(r[1]).upper() for r in raw.execute(f"DESCRIBE {quote(rel)}").fetchall()}


def open_source(data: str | os.PathLike[str]) -> tuple[str, Any]:
    """Classify ``data``: ("folder", Path), ("file", Path), ("duckdb", Path) or ("url", str).

    A single file is one table, named by the file (``customers.csv``).
    """
    text = str(data)
    if text.startswith(URL_PREFIXES):
        return "url", text
    path = Path(text).expanduser()
    if path.is_dir():
        return "folder", path
    if path.is_file() and path.suffix.lower() in DUCKDB_SUFFIXES:
        return "duckdb", path
    if path.is_file():
        from crindex.contract import CONTRACT

        if path.stem in CONTRACT and path.suffix.lower() in SUFFIXES:
            return "file", path
        raise DataError.single(
            Reason.DATA_NOT_FOUND, f"{path} is a single file not named after a table; --data "
            "takes a folder, a table's own file (customers.csv, ...), a DuckDB file or a "
            "database URL", str(path),
            f"put the tables (customers, orders, ...) in a folder and pass it: --data "
            f"{path.parent}",
        )
    raise DataNotFoundError(Reason.DATA_NOT_FOUND, [Problem(
        f"data `{text}` does not exist", text,
        "give a folder of customers.csv/.parquet/.xlsx, orders..., a DuckDB file (.duckdb) or "
        "postgresql://user@host/db", Reason.DATA_NOT_FOUND)])
