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

from crindex.contract import (
    CONTRACT,
    PERSONAL_COLUMNS,
    REQUIRED_COLUMNS,
    STRICT_VOCABULARIES,
    SURVEY_SCALES,
    TIME_COLUMN,
    UNIQUE_ID,
    USUAL_VALUES,
    VOCABULARIES,
)
from crindex.data.quality import Issue, QualityReport, TableQuality
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
from crindex.model.spec import CRIModel, SourceSpec

#: the order tables are checked in: orphans are judged against the cleaned customers
ORDER = tuple(CONTRACT)

#: date layouts tried after ISO when a model gives no date_format
DATE_FORMATS = ("%Y/%m/%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d",
                "%Y-%m-%d %H:%M", "%Y.%m.%d", "%d.%m.%Y", "%Y年%m月%d日")

TRUE_WORDS = ("true", "t", "yes", "y", "1", "是", "真")
FALSE_WORDS = ("false", "f", "no", "n", "0", "否", "假")

EXAMPLES = 5
#: distinct values at fault listed per issue, most frequent first
VALUES_SHOWN = 10
#: distinct values of one column rewritten by a CASE on their own; beyond, every row is mapped
MAX_REWRITES = 1000


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


def model_values(model: CRIModel | None) -> dict[str, dict[str, set[str]]]:
    """Per table and column, the words the model's metrics filter on (``kind: login``, ...)."""
    from crindex.model.loader import metric_table

    found: dict[str, dict[str, set[str]]] = {}
    for _, m in (model.metrics if model else []):
        table = metric_table(m)
        parts: list[Any] = [m] + [p for p in (m.numerator, m.denominator) if p is not None]
        for p in parts:
            cols = found.setdefault(table, {})
            if p.kind:
                cols.setdefault("kind", set()).add(p.kind)
            for col, cond in (p.where or {}).items():
                cols.setdefault(col, set()).update(_words(cond))
    return found


def _words(cond: Any) -> set[str]:
    if isinstance(cond, str):
        return {cond}
    if isinstance(cond, list):
        return {v for v in cond if isinstance(v, str)}
    if isinstance(cond, dict):
        return set().union(*(_words(v) for v in cond.values())) if cond else set()
    return set()


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
    counted = model_values(model)
    out: dict[str, ir.Table] = {}
    for table in ORDER:
        if table not in raws:
            continue
        tq = _clean(raw, table, raws[table], mappings[table], sources.get(table), as_of,
                    has_customers="customers" in raws, known=counted.get(table))
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


def _categorical(expr: str, words: dict[str, str] | None, fold: tuple[str, ...]) -> str:
    """The user's words mapped onto the contract's (``values:``), then case folded."""
    if words:
        whens = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in words.items())
        expr = f"CASE {expr} {whens} ELSE {expr} END"
    if fold:
        whens = " ".join(f"WHEN {literal(v)} THEN {literal(v)}" for v in fold)
        expr = f"CASE LOWER({expr}) {whens} ELSE {expr} END"
    return expr


def _in_list(values: Iterable[str]) -> str:
    return ", ".join(literal(v) for v in values)


def _clean(raw: Any, table: str, rt: RawTable, mapping: dict[str, str],
           src: SourceSpec | None, as_of: dt.date | None, has_customers: bool,
           known: dict[str, set[str]] | None = None) -> TableQuality:
    """Type and check one table: view ``<table>`` holds the rows that pass every check.

    The checks run in one pass and keep only the rows that fail (``bad_<table>``: row, reason
    and the contract column at fault), so a clean 10M-row Parquet file is never copied:
    ``<table>`` is a view over the file without the bad rows. ``known`` adds values of open
    categorical columns (interactions.kind) that the model counts.
    """
    types = column_types(raw, rt.name)
    select = ["_row"]
    checks: list[tuple[str, str, str]] = []  # (reason, column, SQL condition) by priority
    required = REQUIRED_COLUMNS.get(table, ())
    vocab = VOCABULARIES.get(table, {})
    usual = USUAL_VALUES.get(table, {})
    vocabs = _vocabularies(raw, table, rt, mapping, types, src, known or {})
    for canon, kind in CONTRACT[table].items():
        if canon in mapping:
            user = mapping[canon]
            expr, fail = _typed(kind, user, types[user], src, canon)
            if canon in vocabs and vocabs[canon].rewrite is not None:
                expr = _categorical(expr, vocabs[canon].rewrite, ())
            elif kind == "cat":
                words = src.values.get(canon) if src else None
                expr = _categorical(expr, words, vocab.get(canon, ()) + usual.get(canon, ()))
            select.append(f"{expr} AS {quote(canon)}")
            if fail:
                given = quote(f"_given_{canon}")
                select.append(f"NULLIF(TRIM(CAST({quote(user)} AS VARCHAR)), '') IS NOT NULL "
                              f"AS {given}")
                checks.append((fail, canon, f"{given} AND {quote(canon)} IS NULL"))
        elif src and canon in src.constants:
            value = src.constants[canon]
            select.append(f"{literal(str(value)) if value is not None else 'NULL'} "
                          f"AS {quote(canon)}")
    present_cols = [c for c in CONTRACT[table] if c in mapping or (src and c in src.constants)]
    typed = f"typed_{table}"
    raw.execute(f"CREATE OR REPLACE TEMP VIEW {quote(typed)} AS SELECT {', '.join(select)} "
                f"FROM {quote(rt.name)}")

    # checks, first failing one wins
    for col in reversed(required):
        if col in present_cols:
            unreadable = _any_fail(checks, col)
            checks.insert(0, ("missing_value", col,
                              f"{quote(col)} IS NULL AND NOT ({unreadable})"))
    for col, allowed in vocab.items():
        if (table, col) in STRICT_VOCABULARIES and col in vocabs and vocabs[col].rows:
            checks.append(("unknown_value", col, f"{quote(col)} IS NOT NULL AND {quote(col)} "
                                                 f"NOT IN ({_in_list(allowed)})"))
    if has_customers and table != "customers" and "customer_id" in present_cols:
        checks.append(("orphan", "customer_id", "customer_id IS NOT NULL AND customer_id NOT IN "
                                                "(SELECT customer_id FROM customers)"))
    if table == "orders" and "amount" in present_cols:
        status = "COALESCE(status, 'paid')" if "status" in present_cols else "'paid'"
        checks.append(("negative_amount", "amount", f"amount < 0 AND {status} <> 'refunded'"))
    if table == "surveys" and {"kind", "score"} <= set(present_cols):
        ranges = " OR ".join(f"(LOWER(kind) = {literal(k)} AND (score < {lo} OR score > {hi}))"
                             for k, (lo, hi) in SURVEY_SCALES.items())
        checks.append(("out_of_range", "score", ranges))
    if table == "interactions" and "satisfaction" in present_cols:
        checks.append(("out_of_range", "satisfaction", "satisfaction < 1 OR satisfaction > 5"))
    dup_col = UNIQUE_ID.get(table)
    if dup_col and dup_col in present_cols:
        dups = _duplicates(raw, table, typed, dup_col)
        if dups:
            checks.append(("duplicate_id", dup_col,
                           f"_row IN (SELECT _row FROM {quote(dups)})"))

    bad = f"bad_{table}"
    if checks:
        # one CASE numbers the first failing check; the few bad rows then get its reason
        case = " ".join(f"WHEN {cond} THEN {i}" for i, (_, _, cond) in enumerate(checks))
        names = ", ".join(f"({i}, {literal(reason)}, {literal(col)})"
                          for i, (reason, col, _) in enumerate(checks))
        raw.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote(bad)} AS SELECT b._row, c._reason, c._column "
            f"FROM (SELECT * FROM (SELECT _row, CASE {case} END AS _check FROM {quote(typed)}) "
            f"WHERE _check IS NOT NULL) b JOIN (VALUES {names}) c(_check, _reason, _column) "
            "USING (_check)"
        )
    else:
        raw.execute(f"CREATE OR REPLACE TEMP TABLE {quote(bad)} "
                    "(_row BIGINT, _reason VARCHAR, _column VARCHAR)")
    n_bad = raw.execute(f"SELECT count(*) FROM {quote(bad)}").fetchall()[0][0]
    cols = ", ".join(quote(c) for c in present_cols)
    keep = f" WHERE _row NOT IN (SELECT _row FROM {quote(bad)})" if n_bad else ""
    raw.execute(f"CREATE OR REPLACE VIEW {quote(table)} AS SELECT {cols} FROM "
                f"{quote(typed)}{keep}")

    rows_read = raw.execute(f"SELECT count(*) FROM {quote(rt.name)}").fetchall()[0][0]
    tq = TableQuality(table, rt.origin, rt.fmt, rt.encoding, rows_read, rows_read - n_bad,
                      rt.row_label)
    if n_bad:
        _collect(raw, tq, bad, rt, mapping, src)
    if as_of is not None:
        _count_after(raw, tq, table, typed, bad if n_bad else None, as_of, rt, mapping)
    _report_kept(raw, tq, typed, rt, mapping, vocabs)
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


def _any_fail(checks: list[tuple[str, str, str]], col: str) -> str:
    """A required value that is present but unreadable is reported as unreadable, not missing."""
    for reason, column, cond in checks:
        if reason.startswith("unparseable") and column == col:
            return cond
    return "FALSE"


def _collect(raw: Any, tq: TableQuality, bad: str, rt: RawTable,
             mapping: dict[str, str], src: SourceSpec | None) -> None:
    """One issue per reason and column: counts, the values at fault, examples and a hint."""
    groups = raw.execute(f"SELECT _reason, _column, count(*) FROM {quote(bad)} "
                         "GROUP BY ALL ORDER BY _reason, min(_row)").fetchall()
    personal = {mapping[c] for c in PERSONAL_COLUMNS if c in mapping}
    for reason, canon, n in groups:
        user = mapping.get(canon)
        which = f"_reason = {literal(reason)} AND _column = {literal(canon)}"
        # the value as crindex read it (trimmed), which is what a mapping must name
        value = (f"TRIM(CAST(r.{quote(user)} AS VARCHAR))"
                 if user and user not in personal else "NULL")
        examples = _examples(raw, rt, personal, canon, user,
                             f"SELECT _row FROM {quote(bad)} WHERE {which}")
        values: list[tuple[Any, int]] = []
        distinct = 0
        if reason != "missing_value" and value != "NULL":
            found = raw.execute(
                f"SELECT v, n, count(*) OVER () FROM (SELECT {value} AS v, count(*) AS n FROM "
                f"{quote(rt.name)} r JOIN {quote(bad)} b USING (_row) WHERE {which} "
                f"GROUP BY v) ORDER BY n DESC, v LIMIT {VALUES_SHOWN}"
            ).fetchall()
            values = [(v, int(c)) for v, c, _ in found]
            distinct = int(found[0][2]) if found else 0
        tq.issues.append(Issue(
            tq.table, reason, int(n), examples, column=canon, source_column=user,
            bad_values=[{"value": v, "count": c} for v, c in values], distinct_values=distinct,
            hint=_hint(reason, tq.table, canon, [v for v, _ in values], src)))
    cases = " ".join(f"WHEN {literal(c)} THEN {literal(u)}" for c, u in mapping.items())
    column = f"CASE b._column {cases} ELSE b._column END" if cases else "b._column"
    tq.quarantine = raw.sql(
        f"SELECT r.* EXCLUDE (_row), b._reason AS crindex_reason, "
        f"r._row AS crindex_{rt.row_label}, {column} AS crindex_column "
        f"FROM {quote(rt.name)} r JOIN {quote(bad)} b USING (_row) ORDER BY r._row"
    ).to_arrow_table()


def _examples(raw: Any, rt: RawTable, personal: set[str], canon: str, user: str | None,
              rows_sql: str) -> list[dict[str, Any]]:
    """The first few rows ``rows_sql`` selects (by ``_row``), as report examples."""
    value = (f"TRIM(CAST(r.{quote(user)} AS VARCHAR))"
             if user and user not in personal else "NULL")
    rows = raw.execute(
        f"SELECT r.* EXCLUDE (_row), r._row, {value} FROM {quote(rt.name)} r WHERE r._row IN "
        f"({rows_sql} ORDER BY _row LIMIT {EXAMPLES}) ORDER BY r._row"
    ).fetchall()
    names = rt.columns + ["_row"]
    return [_example(dict(zip(names, r[:-1], strict=True)), personal, rt, canon, user, r[-1])
            for r in rows]


def _example(row: dict[str, Any], personal: set[str], rt: RawTable, canon: str | None,
             user: str | None, value: Any) -> dict[str, Any]:
    """One example row for the report; personal data (names, e-mails) is left out.

    The place in the file is under ``row`` and, for a CSV or text file, also under ``line``:
    the same name as the quarantine file's ``crindex_line`` / ``crindex_row`` column.
    """
    at = row.pop("_row")
    out: dict[str, Any] = {"row": at, rt.row_label: at, "where": f"{rt.origin} {rt.row_label} {at}",
                           "column": user or canon, "value": value}
    out["values"] = {k: _plain(v) for k, v in row.items() if k not in personal}
    return out


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def _count_after(raw: Any, tq: TableQuality, table: str, typed: str, bad: str | None,
                 as_of: dt.date, rt: RawTable, mapping: dict[str, str]) -> None:
    """Count (and keep) the clean rows dated after ``as_of``."""
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
        examples = [{"row": r[0], rt.row_label: r[0],
                     "where": f"{rt.origin} {rt.row_label} {r[0]}", "column": mapping[col],
                     "value": str(r[1]), "values": {col: str(r[1])}} for r in rows]
        tq.issues.append(Issue(table, reason, int(n), examples, column=col,
                               source_column=mapping[col]))


@dataclass
class Vocabulary:
    """What the distinct values of one categorical column hold, found before typing it.

    ``rewrite`` maps the values written otherwise (``已付款`` by ``values:``, ``PAID`` by case)
    onto the contract's words, or is None when there are too many to list (then every row is
    mapped in SQL); ``unknown`` are the most frequent values outside ``allowed`` with their
    counts, ``rows`` and ``distinct`` how many rows and values are outside in all.
    """

    allowed: tuple[str, ...]
    rewrite: dict[str, str] | None
    unknown: list[tuple[str, int]]
    rows: int
    distinct: int


def _vocabularies(raw: Any, table: str, rt: RawTable, mapping: dict[str, str],
                  types: dict[str, str], src: SourceSpec | None,
                  known: dict[str, set[str]]) -> dict[str, Vocabulary]:
    """Check the categorical columns with a vocabulary on their distinct values.

    One grouped pass per column (a few distinct values, however many rows): the mapping and
    the case folding are worked out on the distinct values, so a clean column is typed without
    any per-row rewriting and a clean table costs no further scan.
    """
    out: dict[str, Vocabulary] = {}
    vocab, usual = VOCABULARIES.get(table, {}), USUAL_VALUES.get(table, {})
    for col in [c for c in CONTRACT[table] if c in mapping and (c in vocab or c in usual)]:
        words = (src.values.get(col) if src else None) or {}
        fold = vocab.get(col, ()) + usual.get(col, ())
        allowed = set(fold)
        if col in usual:  # open: the model's own kinds and the mapping's targets are fine too
            allowed |= known.get(col, set()) | set(words.values())
        text, _ = _typed("cat", mapping[col], types[mapping[col]], src, col)
        name = quote(f"values_{table}_{col}")
        # the contract's own words need no look, unless the mapping rewrites them
        fine = sorted(allowed - set(words)) or [""]
        raw.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT v, count(*) AS n FROM "
                    f"(SELECT {text} AS v FROM {quote(rt.name)}) WHERE v IS NOT NULL AND v "
                    f"NOT IN ({_in_list(fine)}) GROUP BY v")
        final = _categorical("v", words, fold)
        rewrite = dict(raw.execute(
            f"SELECT v, f FROM (SELECT v, {final} AS f FROM {name}) WHERE f <> v "
            f"LIMIT {MAX_REWRITES + 1}").fetchall())
        found = raw.execute(
            f"SELECT v, n, count(*) OVER (), sum(n) OVER () FROM (SELECT v, n, {final} AS f "
            f"FROM {name}) WHERE f NOT IN ({_in_list(sorted(allowed))}) ORDER BY n DESC, v "
            f"LIMIT {VALUES_SHOWN}").fetchall()
        raw.execute(f"DROP TABLE {name}")
        out[col] = Vocabulary(
            tuple(sorted(allowed)), rewrite if len(rewrite) <= MAX_REWRITES else None,
            [(v, int(n)) for v, n, _, _ in found],
            int(found[0][3]) if found else 0, int(found[0][2]) if found else 0)
    return out


def _report_kept(raw: Any, tq: TableQuality, typed: str, rt: RawTable,
                 mapping: dict[str, str], vocabs: dict[str, Vocabulary]) -> None:
    """Report the unknown values of columns whose rows are kept (counted over rows read)."""
    table = tq.table
    personal = {mapping[c] for c in PERSONAL_COLUMNS if c in mapping}
    for col, voc in vocabs.items():
        if not voc.rows or (table, col) in STRICT_VOCABULARIES:
            continue
        user = mapping[col]
        examples = _examples(raw, rt, personal, col, user,
                             f"SELECT _row FROM {quote(typed)} WHERE {quote(col)} NOT IN "
                             f"({_in_list(voc.allowed)})")
        open_list = col in USUAL_VALUES.get(table, {})
        tq.issues.append(Issue(
            table, "unknown_value", voc.rows, examples, column=col, source_column=user,
            bad_values=[{"value": v, "count": n} for v, n in voc.unknown],
            distinct_values=voc.distinct,
            hint=_hint("unknown_value", table, col, [v for v, _ in voc.unknown], None,
                       open_list=open_list),
            detail=(f"not a usual {col}, and no metric of the model counts it" if open_list
                    else f"only a metric that reads {col} sees it"),
            kept=True))


# --------------------------------------------------------------------------------------------
# hints: how to fix what was found


def _hint(reason: str, table: str, col: str, values: list[Any], src: SourceSpec | None,
          open_list: bool = False) -> str:
    """What the user can do about ``reason`` in ``table.col``, given the values at fault."""
    texts = [str(v) for v in values if v is not None]
    if reason == "unparseable_date":
        return _date_hint(table, texts, src.date_format if src else None)
    if reason == "unparseable_number":
        hint = ("a number may carry thousands separators (1,200 or 1，200) but no currency "
                "sign, unit or word: take them out of the values")
        if any(u in t for t in texts for u in ("万", "亿", "千")):
            hint += (f"; for amounts in 万元 keep the bare number and scale the column: "
                     f"sources.{table}.units: {{{col}: 10000}}")
        if any(t.endswith("%") for t in texts):
            hint += "; write percentages without the sign (12.5, not 12.5%)"
        return hint
    if reason == "unparseable_bool":
        return "write true/false, yes/no, y/n, 1/0 or 是/否"
    if reason == "missing_value":
        hint = f"every {table} row needs {col}: fill it in"
        if col not in UNIQUE_ID.values() and col != "customer_id":
            hint += (f", or give every row the same value: sources.{table}.constants: "
                     f"{{{col}: ...}}")
        return hint
    if reason == "duplicate_id":
        return "the first row with each id (in file order) is kept: remove the repeats or " \
               "give them ids of their own"
    if reason == "orphan":
        return ("add these customers to customers, or write their ids the same way in both "
                "tables (leading zeros, spaces); a customer set aside in customers leaves its "
                "rows here orphaned too")
    if reason == "negative_amount":
        return ("only refunds may be negative: give these orders the status refunded (map your "
                "own word for it with sources.orders.values: {status: {<your word>: refunded}})")
    if reason == "out_of_range":
        if col == "satisfaction":
            return "satisfaction is a 1-5 rating: rescale the column or leave it empty"
        return ("nps answers are 0-10, csat 1-5, ces 1-7: check the answer's kind (map it with "
                "sources.surveys.values: {kind: {...}}) or rescale the score")
    if reason == "unknown_value":
        shown = texts[:EXAMPLES]
        mapping = ", ".join(f"{_yaml_word(t)}: ?" for t in shown)
        if open_list:
            usual = USUAL_VALUES[table][col]
            return (f"if these are kinds a metric should count, map them in the model: "
                    f"sources.{table}.values: {{{col}: {{{mapping}}}}}, ? a kind your metrics "
                    f"count (usual kinds: {', '.join(usual)})")
        allowed = VOCABULARIES[table][col]
        return (f"map them in the model: sources.{table}.values: {{{col}: {{{mapping}}}}}, "
                f"? one of {', '.join(allowed)}")
    return ""


def _yaml_word(text: str) -> str:
    """``text`` as a YAML mapping key a user can paste (quoted when YAML would misread it)."""
    plain = text and all(c.isalnum() or c in "_- " for c in text) and text == text.strip()
    if plain and not text[0].isdigit() and text.lower() not in ("yes", "no", "true", "false",
                                                                "null", "on", "off", "y", "n"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: layouts a date column may be written in, tried on the unreadable values to suggest one
GUESS_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y", "%d/%m/%y",
                 "%m/%d/%y", "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日",
                 "%d %b %Y", "%b %d, %Y", "%d-%b-%Y")


def _date_hint(table: str, texts: list[str], given: str | None) -> str:
    guesses = _guess_formats(texts)
    if given:
        hint = f"these do not match sources.{table}.date_format \"{given}\""
        if guesses:
            hint += " but read as " + " or ".join(f'"{g}"' for g in guesses[:2])
        return hint + "; fix the values or the format"
    if len(guesses) > 1:
        return (f"name their layout in the model: sources.{table}.date_format: "
                + " or ".join(f'"{g}"' for g in guesses[:2])
                + " (both read these values: is the day or the month first?)")
    if guesses:
        return f"name their layout in the model: sources.{table}.date_format: \"{guesses[0]}\""
    return (f"write dates as YYYY-MM-DD, or name their layout in the model: "
            f"sources.{table}.date_format: \"%Y/%m/%d\" (strptime codes: %Y year, %m month, "
            f"%d day, %H:%M:%S time)")


def _guess_formats(texts: list[str]) -> list[str]:
    """The layouts (with or without a time) that read every one of ``texts``."""
    if not texts:
        return []
    fits = []
    for base in GUESS_FORMATS:
        for fmt in (base, base + " %H:%M:%S", base + " %H:%M"):
            try:
                for t in texts:
                    dt.datetime.strptime(t.strip(), fmt)
            except ValueError:
                continue
            fits.append(fmt)
            break
    return fits
