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
    try:
        if fmt == "parquet":
            return _read_parquet(raw, rel, path)
        if fmt == "csv":
            return _read_csv(raw, rel, path, src)
        if fmt == "txt":
            return _read_txt(raw, rel, path, src)
        if fmt == "xlsx":
            return _read_xlsx(raw, rel, path, src)
    except DataError:
        raise
    except Exception as exc:  # the reader's own words, with where
        raise DataError.single(
            Reason.DATA_UNREADABLE, f"cannot read {path.name}: {exc}", str(path),
            "check that the file is a complete " + fmt + " file",
        ) from exc
    raise DataError.single(
        Reason.DATA_UNREADABLE, f"{path.name}: format `{fmt}` is not readable", str(path),
        "formats: csv (UTF-8 or GB18030), parquet, xlsx, txt (whitespace-separated)",
    )


def _read_parquet(raw: Any, rel: str, path: Path) -> RawTable:
    raw.execute(
        f"CREATE OR REPLACE VIEW {quote(rel)} AS SELECT * EXCLUDE (file_row_number), "
        f"file_row_number + 1 AS _row FROM read_parquet({literal(str(path))}, "
        "file_row_number = true)"
    )
    return RawTable(rel, path.name, "parquet", None, _columns(raw, rel))


def _read_csv(raw: Any, rel: str, path: Path, src: SourceSpec | None) -> RawTable:
    encoding = src.encoding.lower() if src and src.encoding else detect_encoding(path)
    header = src.header if src else True
    opts = ["all_varchar = true", f"header = {'true' if header else 'false'}"]
    if src and src.delimiter:
        opts.append(f"delim = {literal(src.delimiter)}")
    if src and src.names:
        opts.append("names = [" + ", ".join(literal(n) for n in src.names) + "]")
    with tempfile.TemporaryDirectory(prefix="crindex-csv-") as tmp:
        target = path
        if encoding not in ("utf-8", "utf8", "utf-8-sig"):
            target = transcode_to_utf8(path, encoding, Path(tmp))
        # a table (not a view) keeps the file's order, so rowid is the line in the file
        raw.execute(
            f"CREATE OR REPLACE TABLE {quote(rel)} AS SELECT * FROM "
            f"read_csv({literal(str(target))}, {', '.join(opts)})"
        )
    first = 2 if header else 1
    _add_row(raw, rel, first)
    shown = "utf-8" if encoding == "utf-8-sig" else encoding
    return RawTable(rel, path.name, "csv", shown, _columns(raw, rel), "line")


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
