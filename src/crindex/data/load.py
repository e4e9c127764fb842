"""From a user's data to the canonical tables of the data contract, checked and cleaned.

``load_dataset`` finds each table (a data folder, a DuckDB file or a PostgreSQL URL), maps the
user's columns onto the contract's (``sources:`` in the model: renames, units such as 万元 ->
x10000, date formats, constants), converts types, and checks every row. Rows that cannot be used
(unreadable dates or numbers, missing keys, duplicate ids, orphans, negative amounts, scores out
of their scale) are set aside with their reason, never silently used; the rest become DuckDB
tables named after the contract, read through Ibis. Everything found goes into the
:class:`~crindex.data.quality.QualityReport`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from crindex.data.quality import QualityReport, TableQuality
from crindex.data.read import (
    RawTable,
    column_types,
    find_file,
    literal,
    open_source,
    quote,
    read_duckdb_table,
    read_file,
    read_url_table,
)
from crindex.errors import DataError, Problem, Reason
from crindex.model.registry import AGGREGATES
from crindex.model.spec import (
    CONTRACT,
    PERSONAL_COLUMNS,
    REQUIRED_COLUMNS,
    TIME_COLUMN,
    CRIModel,
    SourceSpec,
)

#: the order tables are checked in: orphans are judged against the cleaned customers
ORDER = ("customers", "orders", "interactions", "surveys", "subscriptions", "leads", "spend")

#: the id column that must be unique in each table that has one
UNIQUE_ID = {"customers": "customer_id", "orders": "order_id",
             "interactions": "interaction_id", "leads": "lead_id"}

#: survey scales by kind, and the 1-5 satisfaction of interactions
SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

#: date layouts tried after ISO when a model gives no date_format
DATE_FORMATS = ("%Y/%m/%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d",
                "%Y-%m-%d %H:%M", "%Y.%m.%d", "%d.%m.%Y", "%Y年%m月%d日")

TRUE_WORDS = ("true", "t", "yes", "y", "1", "是", "真")
FALSE_WORDS = ("false", "f", "no", "n", "0", "否", "假")

EXAMPLES = 5


@dataclass
class Dataset:
    """Canonical tables on one Ibis backend, with the quality report of their load."""

    con: Any
    tables: dict[str, ir.Table]
    quality: QualityReport
    sources: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> ir.Table:
        if name not in self.tables:
            raise DataError.single(
                Reason.MISSING_TABLE, f"the data has no `{name}` table", "",
                "tables loaded: " + ", ".join(sorted(self.tables)),
            )
        return self.tables[name]


def model_columns(model: CRIModel | None) -> dict[str, set[str]]:
    """The contract columns each table must have for ``model`` to be scored."""
    from crindex.model.loader import metric_table

    needed: dict[str, set[str]] = {"customers": {"customer_id"}}
    if model is None:
        return needed
    for _, m in model.metrics:
        table = metric_table(m)
        cols = needed.setdefault(table, set(REQUIRED_COLUMNS.get(table, ())))
        cols.add(TIME_COLUMN[table])
        info = AGGREGATES[m.aggregate]
        parts: list[Any] = [m] + [p for p in (m.numerator, m.denominator) if p is not None]
        for p in parts:
            if p.column:
                cols.add(p.column)
            if p.kind:
                cols.add("kind")
            cols.update((p.where or {}).keys())
        if info.name == "profit":
            cols.update({"amount", "cost"})
        if info.name in ("nps", "survey_mean"):
            cols.update({"kind", "score"})
    for table, cols in needed.items():
        cols &= set(CONTRACT[table])
    return needed


def load_dataset(
    data: str | Path,
    model: CRIModel | None = None,
    as_of: dt.date | str | None = None,
    quarantine_dir: str | Path | None = None,
    con: Any = None,
    tables: Iterable[str] | None = None,
) -> Dataset:
    """Read ``data`` into checked canonical tables on DuckDB.

    Parameters
    ----------
    data
        A folder holding ``<table>.csv|.parquet|.xlsx`` files (or the files ``model.sources``
        names), a DuckDB file, or a ``postgresql://`` URL.
    model
        Its ``sources`` map the user's files and columns; its metrics say which tables and
        columns must exist.
    as_of
        Rows dated after it are counted in the report (and ignored by scoring).
    quarantine_dir
        Also write the quality report and the rows set aside here.
    con
        An Ibis DuckDB backend to load into (default: a new in-memory one).
    tables
        Load only these tables (default: every contract table found).
    """
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    con = con if con is not None else ibis.duckdb.connect()
    raw = con.con
    kind, where = open_source(data)
    sources: dict[str, SourceSpec] = dict(model.sources) if model else {}
    needed = model_columns(model)
    wanted = [t for t in ORDER if tables is None or t in set(tables) or t in needed]

    remote = None
    if kind == "duckdb":
        raw.execute(f"ATTACH {literal(str(where))} AS src_db (READ_ONLY)")
    elif kind == "url":
        remote = _connect_url(where)

    problems: list[Problem] = []
    raws: dict[str, RawTable] = {}
    try:
        for table in wanted:
            src = sources.get(table)
            if kind == "folder":
                path = find_file(where, table, src)
                found = read_file(raw, table, path, src) if path else None
            elif kind == "duckdb":
                found = read_duckdb_table(raw, table, where, src)
            else:
                found = read_url_table(raw, table, where, src, remote)
            if found is not None:
                raws[table] = found
    finally:
        if kind == "duckdb":
            raw.execute("DETACH src_db")
    for table in needed:
        if table not in raws:
            problems.append(_missing_table(table, kind, where, model))

    mappings: dict[str, dict[str, str]] = {}
    for table, rt in raws.items():
        mapping, col_problems = _map_columns(table, rt, sources.get(table), needed.get(table))
        mappings[table] = mapping
        problems += col_problems
    if problems:
        reasons = [p.reason for p in problems]
        reason = Reason.MISSING_COLUMN if Reason.MISSING_COLUMN in reasons else reasons[0]
        raise DataError(reason or Reason.MISSING_TABLE, problems)

    report = QualityReport(as_of.isoformat() if as_of else None)
    out: dict[str, ir.Table] = {}
    for table in ORDER:
        if table not in raws:
            continue
        tq = _clean(raw, table, raws[table], mappings[table], sources.get(table), as_of,
                    has_customers="customers" in raws)
        report.tables.append(tq)
        out[table] = con.table(table)
    if quarantine_dir is not None:
        Path(quarantine_dir).mkdir(parents=True, exist_ok=True)
        report.write(quarantine_dir)

    from crindex.api import canonical_tables

    origins = {t: raws[t].origin for t in raws}
    return Dataset(con, canonical_tables(out), report, origins)


def _connect_url(url: str) -> Any:
    try:
        return ibis.connect(url)
    except ImportError as exc:
        raise DataError.single(
            Reason.DATA_UNREADABLE, "reading PostgreSQL needs the postgres extra", url,
            "pip install 'crindex[postgres]'",
        ) from exc
    except Exception as exc:
        raise DataError.single(
            Reason.DATA_UNREADABLE, f"cannot connect to the database: {exc}", url.split("@")[-1],
            "check the URL: postgresql://user[:password]@host[:port]/database",
        ) from exc


def _missing_table(table: str, kind: str, where: Any, model: CRIModel | None) -> Problem:
    users = sorted({m.id for _, m in (model.metrics if model else [])
                    if _metric_table(m) == table})
    need = ("metrics " + ", ".join(users) + " read it") if users else "every model needs it"
    if kind == "folder":
        names = sorted(p.name for p in Path(where).iterdir() if not p.name.startswith("."))
        hint = (f"add {table}.csv, {table}.parquet or {table}.xlsx, or name the file in the "
                f"model: sources.{table}.path; files here: " + (", ".join(names) or "(none)"))
    else:
        hint = f"create the table or name it in the model: sources.{table}.table"
    return Problem(f"table `{table}` is missing ({need})", str(where), hint, Reason.MISSING_TABLE)


def _metric_table(m: Any) -> str:
    from crindex.model.loader import metric_table

    return metric_table(m)


def _map_columns(table: str, rt: RawTable, src: SourceSpec | None,
                 needed: set[str] | None) -> tuple[dict[str, str], list[Problem]]:
    """Contract column -> the user's column, and the problems of columns that are not there."""
    have = rt.columns
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    renames = dict(src.columns) if src else {}
    for user, canon in renames.items():
        if user in have:
            mapping[canon] = user
        else:
            problems.append(Problem(
                f"sources.{table}.columns maps `{user}`, but {rt.origin} has no such column",
                rt.origin, "columns found: " + ", ".join(have), Reason.MISSING_COLUMN))
    folded = {c.strip().lower(): c for c in have}
    for canon in CONTRACT[table]:
        if canon in mapping:
            continue
        if canon in have:
            mapping[canon] = canon
        elif canon in folded and folded[canon] not in renames:
            mapping[canon] = folded[canon]
    constants = set(src.constants) if src else set()
    for canon in sorted((needed or set()) | set(REQUIRED_COLUMNS.get(table, ()))):
        if canon not in mapping and canon not in constants:
            problems.append(Problem(
                f"{table} has no column `{canon}`", rt.origin,
                f"columns found: {', '.join(have)}; rename one in the model: "
                f"sources.{table}.columns: {{<your column>: {canon}}}", Reason.MISSING_COLUMN))
    return mapping, problems


def _typed(kind: str, col: str, src_type: str, src: SourceSpec | None,
           canon: str) -> tuple[str, str | None]:
    """SQL turning the user's column into the contract type, and the reason when it fails."""
    c = quote(col)
    is_text = src_type.startswith("VARCHAR")
    text = f"NULLIF(TRIM(CAST({c} AS VARCHAR)), '')"
    if kind in ("id", "cat"):
        if src_type in ("DOUBLE", "FLOAT") or src_type.startswith("DECIMAL"):
            # 1001.0 read from a spreadsheet is the id 1001
            return (f"CASE WHEN {c} = TRUNC({c}) THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) "
                    f"ELSE CAST({c} AS VARCHAR) END"), None
        return text, None
    if kind == "num":
        unit = (src.units.get(canon) if src else None) or 1
        fail: str | None = None
        if is_text:
            expr = f"TRY_CAST(REPLACE(REPLACE({text}, ',', ''), '，', '') AS DOUBLE)"
            fail = "unparseable_number"
        else:
            expr = f"CAST({c} AS DOUBLE)"
        return (f"({expr}) * {float(unit)!r}" if unit != 1 else expr), fail
    if kind == "ts":
        if not is_text and ("TIMESTAMP" in src_type or src_type == "DATE"):
            return f"CAST({c} AS TIMESTAMP)", None
        if src and src.date_format:
            return f"TRY_STRPTIME({text}, {literal(src.date_format)})", "unparseable_date"
        fmts = "[" + ", ".join(literal(f) for f in DATE_FORMATS) + "]"
        return (f"COALESCE(TRY_CAST({text} AS TIMESTAMP), TRY_STRPTIME({text}, {fmts}))",
                "unparseable_date")
    if kind == "bool":
        if src_type == "BOOLEAN":
            return c, None
        low = f"LOWER({text})"
        t = ", ".join(literal(w) for w in TRUE_WORDS)
        f = ", ".join(literal(w) for w in FALSE_WORDS)
        return (f"CASE WHEN {low} IN ({t}) THEN TRUE WHEN {low} IN ({f}) THEN FALSE END",
                "unparseable_bool")
    raise AssertionError(kind)


def _clean(raw: Any, table: str, rt: RawTable, mapping: dict[str, str],
           src: SourceSpec | None, as_of: dt.date | None, has_customers: bool) -> TableQuality:
    """Type and check one table: view ``<table>`` holds the rows that pass every check.

    The checks run in one pass and keep only the rows that fail (``bad_<table>``: row and
    reason), so a clean 10M-row Parquet file is never copied: ``<table>`` is a view over the
    file without the bad rows.
    """
    types = column_types(raw, rt.name)
    select = ["_row"]
    checks: list[tuple[str, str]] = []  # (reason, SQL condition) in priority order
    required = REQUIRED_COLUMNS.get(table, ())
    for canon, kind in CONTRACT[table].items():
        if canon in mapping:
            user = mapping[canon]
            expr, fail = _typed(kind, user, types[user], src, canon)
            select.append(f"{expr} AS {quote(canon)}")
            if fail:
                given = quote(f"_given_{canon}")
                select.append(f"NULLIF(TRIM(CAST({quote(user)} AS VARCHAR)), '') IS NOT NULL "
                              f"AS {given}")
                checks.append((fail, f"{given} AND {quote(canon)} IS NULL"))
        elif src and canon in src.constants:
            value = src.constants[canon]
            select.append(f"{literal(str(value)) if value is not None else 'NULL'} "
                          f"AS {quote(canon)}")
    present_cols = [c for c in CONTRACT[table] if c in mapping or (src and c in src.constants)]
    typed = f"typed_{table}"
    raw.execute(f"CREATE OR REPLACE TEMP VIEW {quote(typed)} AS SELECT {', '.join(select)} "
                f"FROM {quote(rt.name)}")

    # checks, first failing one wins
    for col in required:
        if col in present_cols:
            unreadable = _any_fail(checks, col)
            checks.insert(0, ("missing_value", f"{quote(col)} IS NULL AND NOT ({unreadable})"))
    if has_customers and table != "customers" and "customer_id" in present_cols:
        checks.append(("orphan", "customer_id IS NOT NULL AND customer_id NOT IN "
                                 "(SELECT customer_id FROM customers)"))
    if table == "orders" and "amount" in present_cols:
        status = "COALESCE(status, 'paid')" if "status" in present_cols else "'paid'"
        checks.append(("negative_amount", f"amount < 0 AND {status} <> 'refunded'"))
    if table == "surveys" and {"kind", "score"} <= set(present_cols):
        ranges = " OR ".join(f"(LOWER(kind) = {literal(k)} AND (score < {lo} OR score > {hi}))"
                             for k, (lo, hi) in SURVEY_SCALES.items())
        checks.append(("out_of_range", ranges))
    if table == "interactions" and "satisfaction" in present_cols:
        checks.append(("out_of_range", "satisfaction < 1 OR satisfaction > 5"))
    dup_col = UNIQUE_ID.get(table)
    if dup_col and dup_col in present_cols:
        dups = _duplicates(raw, table, typed, dup_col)
        if dups:
            checks.append(("duplicate_id", f"_row IN (SELECT _row FROM {quote(dups)})"))

    bad = f"bad_{table}"
    if checks:
        case = " ".join(f"WHEN {cond} THEN {literal(reason)}" for reason, cond in checks)
        raw.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote(bad)} AS SELECT _row, _reason FROM "
            f"(SELECT _row, CASE {case} END AS _reason FROM {quote(typed)}) "
            "WHERE _reason IS NOT NULL"
        )
    else:
        raw.execute(f"CREATE OR REPLACE TEMP TABLE {quote(bad)} (_row BIGINT, _reason VARCHAR)")
    n_bad = raw.execute(f"SELECT count(*) FROM {quote(bad)}").fetchall()[0][0]
    cols = ", ".join(quote(c) for c in present_cols)
    keep = f" WHERE _row NOT IN (SELECT _row FROM {quote(bad)})" if n_bad else ""
    raw.execute(f"CREATE OR REPLACE VIEW {quote(table)} AS SELECT {cols} FROM "
                f"{quote(typed)}{keep}")

    rows_read = raw.execute(f"SELECT count(*) FROM {quote(rt.name)}").fetchall()[0][0]
    tq = TableQuality(table, rt.origin, rt.fmt, rt.encoding, rows_read, rows_read - n_bad,
                      rt.row_label)
    if n_bad:
        _collect(raw, tq, bad, rt, mapping)
    if as_of is not None:
        _count_after(raw, tq, table, typed, bad if n_bad else None, as_of, mapping)
    return tq


def _duplicates(raw: Any, table: str, typed: str, col: str) -> str | None:
    """``dups_<table>``: the rows repeating an id seen on an earlier row, or None if none do.

    One grouped pass finds the repeated ids; only their rows are then ordered.
    """
    repeated = (f"SELECT {quote(col)} FROM {quote(typed)} WHERE {quote(col)} IS NOT NULL "
                f"GROUP BY {quote(col)} HAVING count(*) > 1")
    name = f"dups_{table}"
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS SELECT _row FROM (SELECT _row, "
        f"ROW_NUMBER() OVER (PARTITION BY {quote(col)} ORDER BY _row) AS n FROM {quote(typed)} "
        f"WHERE {quote(col)} IN ({repeated})) WHERE n > 1"
    )
    found = raw.execute(f"SELECT count(*) FROM {quote(name)}").fetchall()[0][0]
    return name if found else None


def _any_fail(checks: list[tuple[str, str]], col: str) -> str:
    """A required value that is present but unreadable is reported as unreadable, not missing."""
    for reason, cond in checks:
        if reason.startswith("unparseable") and cond.endswith(f"{quote(col)} IS NULL"):
            return cond
    return "FALSE"


def _collect(raw: Any, tq: TableQuality, bad: str, rt: RawTable,
             mapping: dict[str, str]) -> None:
    from crindex.data.quality import Issue

    counts = raw.execute(f"SELECT _reason, count(*) FROM {quote(bad)} GROUP BY _reason "
                         "ORDER BY _reason").fetchall()
    names = rt.columns + ["_row"]
    personal = {mapping[c] for c in PERSONAL_COLUMNS if c in mapping}
    for reason, n in counts:
        rows = raw.execute(
            f"SELECT r.* EXCLUDE (_row), r._row FROM {quote(rt.name)} r WHERE r._row IN "
            f"(SELECT _row FROM {quote(bad)} WHERE _reason = {literal(reason)} ORDER BY _row "
            f"LIMIT {EXAMPLES}) ORDER BY r._row"
        ).fetchall()
        examples = [_example(dict(zip(names, r, strict=True)), personal) for r in rows]
        tq.issues.append(Issue(tq.table, reason, int(n), examples))
    tq.quarantine = raw.sql(
        f"SELECT r.* EXCLUDE (_row), b._reason AS crindex_reason, r._row AS crindex_{rt.row_label} "
        f"FROM {quote(rt.name)} r JOIN {quote(bad)} b USING (_row) ORDER BY r._row"
    ).to_arrow_table()


def _example(row: dict[str, Any], personal: set[str]) -> dict[str, Any]:
    """One example row for the report; personal data (names, e-mails) is left out."""
    out: dict[str, Any] = {"row": row.pop("_row")}
    out["values"] = {k: (v if isinstance(v, int | float | str | bool) or v is None else str(v))
                     for k, v in row.items() if k not in personal}
    return out


def _count_after(raw: Any, tq: TableQuality, table: str, typed: str, bad: str | None,
                 as_of: dt.date, mapping: dict[str, str]) -> None:
    """Count (and keep) the clean rows dated after ``as_of``."""
    from crindex.data.quality import Issue

    col = TIME_COLUMN[table]
    if col not in mapping:
        return
    reason = "created_after_as_of" if table == "customers" else "after_as_of"
    end = literal((as_of + dt.timedelta(days=1)).isoformat())
    cond = f"{quote(col)} >= TIMESTAMP {end}"
    if bad:
        cond += f" AND _row NOT IN (SELECT _row FROM {quote(bad)})"
    n = raw.execute(f"SELECT count(*) FROM {quote(typed)} WHERE {cond}").fetchall()[0][0]
    if n:
        rows = raw.execute(f"SELECT _row, {quote(col)} FROM {quote(typed)} WHERE {cond} "
                           f"ORDER BY _row LIMIT {EXAMPLES}").fetchall()
        tq.issues.append(Issue(table, reason, int(n),
                               [{"row": r[0], "values": {col: str(r[1])}} for r in rows]))
