"""The row checks of the data contract, written in Ibis: the same code runs on DuckDB and Spark.

A table arrives *typed* (:class:`Typed`): the user's columns converted to the contract's types
by the engine's reader (DuckDB SQL for files, DuckDB files, databases and in-memory frames;
Ibis casts on Spark), with ``_row`` (where the row is in the user's file) and, per column whose
values may fail to convert, ``_given_<column>`` (a value was there). From there everything is
Ibis, derived from :mod:`crindex.contract`:

- the user's words mapped (``sources.<table>.values``) and case folded onto the contract's
  vocabulary (``PAID`` is ``paid``);
- the first failing check of each row, in this order: a required value missing, a value that
  could not be read, a word outside a strict vocabulary, a ``customer_id`` not in customers,
  a negative number where the contract forbids it, a value out of its valid range, an id
  repeating one seen on an earlier row (the first row is kept);
- the quality report: per reason and column the count, the values at fault, where the first
  rows are, a hint; rows dated after ``as_of``; unknown words of columns whose rows are kept;
  and the rows set aside (the quarantine) with their reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from crindex.contract import (
    CONTRACT,
    DEFAULTS,
    FALSE_WORDS,
    PERSONAL_COLUMNS,
    STRICT_VOCABULARIES,
    TABLE,
    TIME_COLUMN,
    TRUE_WORDS,
    UNIQUE_ID,
    USUAL_VALUES,
    VOCABULARIES,
)
from crindex.data.hints import GROUPED, hint
from crindex.data.quality import Issue, TableQuality
from crindex.model.spec import SourceSpec

EXAMPLES = 5
#: distinct values at fault listed per issue, most frequent first
VALUES_SHOWN = 10


@dataclass
class Typed:
    """One table as read (``raw``: the user's columns and ``_row``) and typed (``typed``).

    ``typed`` holds ``_row``, the contract columns in ``present``, the extra columns of
    ``extras`` (name -> type: the columns of the user's own that the model or a roll-up reads,
    and the derived ones) and ``_given_<column>`` for each column of ``fails`` (column -> the reason
    when a given value could not be read). ``mapping`` maps every column, contract or extra,
    to the user's column; ``derived`` holds the expression of each derived column.
    """

    table: str
    raw: ir.Table
    typed: ir.Table
    origin: str
    fmt: str
    encoding: str | None
    columns: list[str]
    mapping: dict[str, str]
    present: list[str]
    fails: dict[str, str] = field(default_factory=dict)
    row_label: str = "row"
    src: SourceSpec | None = None
    extras: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)


@dataclass
class Checked:
    """A table after the checks: the clean rows (with ``_row``) and what was found."""

    clean: ir.Table
    quality: TableQuality
    #: per (column, word) of the model's filters on the table: does a clean row hold it
    seen: dict[tuple[str, str], bool] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# typing in Ibis, for engines that read the files themselves (Spark)


def type_columns(raw: ir.Table, table: str, mapping: dict[str, str],
                 extras: dict[str, str] | None = None) -> tuple[ir.Table, dict[str, str]]:
    """The user's columns of ``raw`` as the contract's types, with ``_given_*`` flags.

    ``extras`` (name -> type) are the other columns the model reads, typed the same way.

    Text is trimmed and empty text is missing; numbers may carry thousands separators; dates
    are ISO dates or timestamps; yes/no words as on DuckDB. Returns the typed table and the
    columns whose values may fail to convert, with the reason.
    """
    cols: dict[str, ir.Value] = {"_row": raw._row}
    fails: dict[str, str] = {}
    for canon, kind in [*CONTRACT[table].items(), *(extras or {}).items()]:
        if canon not in mapping:
            continue
        x = raw[mapping[canon]]
        text = x.cast("string").strip().nullif("")
        if kind in ("id", "cat"):  # numbers stay numbers: normalise_ids reads them
            value = x if x.type().is_floating() or x.type().is_decimal() else text
        elif kind == "num":
            if x.type().is_string():  # decimal point; a comma may only group thousands
                t = text.replace("，", ",")
                value = ibis.ifelse(t.contains(",") & ~t.re_search(f"^{GROUPED['.']}$"),
                                    ibis.null("float64"),
                                    t.replace(",", "").try_cast("float64"))
                fails[canon] = "unparseable_number"
            else:
                value = x.cast("float64")
        elif kind == "ts":
            if x.type().is_timestamp() or x.type().is_date():
                value = x.cast("timestamp")
            else:
                value = text.try_cast("timestamp")
                fails[canon] = "unparseable_date"
        else:
            if x.type().is_boolean():
                value = x
            else:
                low = text.lower()
                value = ibis.cases((low.isin(TRUE_WORDS), True), (low.isin(FALSE_WORDS), False),
                                   else_=ibis.null("boolean"))
                fails[canon] = "unparseable_bool"
        cols[canon] = value
        if canon in fails:
            cols[f"_given_{canon}"] = text.notnull()
    return raw.select(**cols), fails


#: an id or category written as a whole number with a decimal part of zeros (``1042.0``)
WHOLE_WITH_ZEROS = r"^[+-]?[0-9]+\.0+$"
#: the same, keeping the whole number as group 1 (for a single regexp_replace in SQL)
WHOLE_WITH_ZEROS_SQL = r"^([+-]?[0-9]+)\.0+$"


def normalise_id(x: ir.Value) -> ir.Value:
    """The one id rule: ``x`` as text, a whole number written ``1042.0`` being ``1042``.

    A spreadsheet or a CSV export of a number column writes the id 1042 as ``1042.0`` (and a
    Parquet file may hold it as the float 1042.0), while another table holds ``1042``; both
    are the id ``1042``. Other text is kept as it is: ``007`` stays ``007``, ``1042.5`` stays
    ``1042.5``.
    """
    if x.type().is_floating() or x.type().is_decimal():
        return ibis.ifelse(x == x.floor(), x.cast("int64").cast("string"), x.cast("string"))
    text = x.cast("string")
    zeros = text.endswith("0") & text.contains(".")  # cheap: most ids stop here
    return ibis.ifelse(zeros & text.re_search(WHOLE_WITH_ZEROS), text.re_replace(r"\.0+$", ""),
                       text)


def id_sql(column: str, src_type: str) -> str:
    """:func:`normalise_id` in DuckDB SQL, for the reader's typed view (``column`` quoted).

    The same rule from the same pattern, written where DuckDB types a file: as a step of
    its own (an Ibis expression over the view) it cost every check pass a scan.
    """
    if src_type in ("DOUBLE", "FLOAT") or src_type.startswith("DECIMAL"):
        return (f"CASE WHEN {column} = TRUNC({column}) THEN CAST(CAST({column} AS BIGINT) AS "
                f"VARCHAR) ELSE CAST({column} AS VARCHAR) END")
    text = f"NULLIF(TRIM(CAST({column} AS VARCHAR)), '')"
    # the pattern only where it can match (as normalise_id): a regexp on every id of every
    # row cost a tenth of a scan of 10M orders
    return (f"CASE WHEN suffix({text}, '0') AND contains({text}, '.') THEN "
            f"regexp_replace({text}, '{WHOLE_WITH_ZEROS_SQL}', '\\1') ELSE {text} END")


def normalise_ids(typed: ir.Table, table: str, present: list[str]) -> ir.Table:
    """``typed`` with every id and category column of ``table`` through :func:`normalise_id`."""
    cols = [c for c in present if TABLE[table].column(c).type in ("id", "cat")]
    return typed.mutate(**{c: normalise_id(typed[c]) for c in cols}) if cols else typed


# --------------------------------------------------------------------------------------------
# folding and checks


def fold(t: Typed, known: dict[str, set[str]] | None = None) -> ir.Table:
    """The categorical columns with the user's words mapped and case folded onto the contract's.

    ``sources.<table>.values`` maps first (``已付款`` -> ``paid``), then a word equal to a
    contract word but for case is that word (``PAID`` -> ``paid``).
    """
    table, typed = t.table, t.typed
    vocab, usual = VOCABULARIES.get(table, {}), USUAL_VALUES.get(table, {})
    changes: dict[str, ir.Value] = {}
    for col in t.present:
        if TABLE[table].column(col).type != "cat":
            continue
        x = typed[col]
        words = (t.src.values.get(col) if t.src else None) or {}
        if words:
            x = x.substitute(words)
        folded = vocab.get(col, ()) + usual.get(col, ())
        if folded:
            x = ibis.ifelse(x.lower().isin(folded), x.lower(), x)
        if words or folded:
            changes[col] = x
    return typed.mutate(**changes) if changes else typed


def allowed_words(t: Typed, col: str, known: dict[str, set[str]] | None) -> tuple[str, ...]:
    """The words ``col`` may hold: the contract's, and for an open column also the model's."""
    vocab, usual = VOCABULARIES.get(t.table, {}), USUAL_VALUES.get(t.table, {})
    allowed = set(vocab.get(col, ()) + usual.get(col, ()))
    if col in usual:  # open: the model's own kinds and the mapping's targets are fine too
        words = (t.src.values.get(col) if t.src else None) or {}
        allowed |= (known or {}).get(col, set()) | set(words.values())
    return tuple(sorted(allowed))


def duplicate_firsts(con: Any, t: Typed) -> ir.Table | None:
    """The ids of ``t`` that more than one row holds, each with its first row, or None.

    ``_dup_id`` is the id, ``_first_row`` the ``_row`` of its first row (the one kept). A first
    pass groups a hash of each id: a number per row, so the pass reads the id column alone and
    its memory is a number per distinct id. Only when two rows share a hash are the ids of
    those rows grouped as text, which tells a repeated id from two ids with the same hash.
    A row-numbering window over the whole table (the former way) held every row in memory.
    """
    dup = UNIQUE_ID.get(t.table)
    if not dup or dup not in t.present or (t.src and t.src.rollup):  # lines share a group id
        return None
    ids = t.typed.select("_row", _id=t.typed[dup])
    ids = ids.filter(ids._id.notnull())
    hashed = ids.select(_h=ids._id.hash()).group_by("_h").aggregate(_n=ibis._.count())
    shared = _materialise(con, f"dup_hashes_{t.table}",
                          hashed.filter(hashed._n > 1).select("_h"))
    if not int(con.execute(shared.count())):
        return None
    held = ids.filter(ids._id.hash().isin(shared._h)).group_by("_id").aggregate(
        _n=ibis._.count(), _first_row=ibis._._row.min())
    return _materialise(con, f"dup_firsts_{t.table}", held.filter(held._n > 1).select(
        _dup_id=held._id, _first_row=held._first_row))


def row_checks(t: Typed, typed: ir.Table, customers: ir.Table | None,
               firsts: ir.Table | None = None
               ) -> tuple[ir.Table, list[tuple[str, str, Any]]]:
    """Every check of the table as (reason, column, condition), first failing one wins.

    Returns the table the conditions refer to (``typed``, joined to the known customer ids
    when the table refers to customers and to ``firsts``, the repeated ids of
    :func:`duplicate_firsts`) and the checks. Without ``firsts`` no id repeats.
    """
    spec = TABLE[t.table]
    present = set(t.present)
    checks: list[tuple[str, str, Any]] = []
    for col in [c.name for c in spec.columns if c.required and c.name in present]:
        missing = typed[col].isnull()
        if col in t.fails:  # a value given but unreadable is reported as unreadable
            missing = missing & ~typed[f"_given_{col}"]
        checks.append(("missing_value", col, missing))
    for col, reason in t.fails.items():
        checks.append((reason, col, typed[f"_given_{col}"] & typed[col].isnull()))
    for c in spec.columns:
        if c.strict and c.name in present:
            x = typed[c.name]
            checks.append(("unknown_value", c.name, x.notnull() & ~x.isin(c.vocabulary)))
    for c in spec.columns:
        if c.references and c.name in present and customers is not None:
            known = customers.select(_known_id=customers.customer_id).distinct()
            typed = typed.left_join(known, typed[c.name] == known._known_id)
            checks.append(("orphan", c.name,
                           typed[c.name].notnull() & typed._known_id.isnull()))
    for c in spec.columns:
        if c.negative_only_when and c.name in present:
            other, value = c.negative_only_when
            default = DEFAULTS.get(t.table, {}).get(other)
            then = (typed[other].fill_null(default) if default is not None else typed[other]) \
                if other in present else ibis.literal(default, "string")
            checks.append(("negative_amount", c.name,
                           (typed[c.name] < 0) & (then != value).fill_null(True)))
        if c.valid_by and c.name in present and c.valid_by[0] in present:
            by = typed[c.valid_by[0]].lower()
            x = typed[c.name]
            conds = [(by == k) & ((x < lo) | (x > hi)) for k, (lo, hi) in c.valid_by[1].items()]
            checks.append(("out_of_range", c.name, ibis.or_(*conds)))
        if c.valid and c.name in present:
            lo, hi = c.valid
            checks.append(("out_of_range", c.name,
                           (typed[c.name] < lo) | (typed[c.name] > hi)))
    dup = UNIQUE_ID.get(t.table)
    if dup and firsts is not None:  # a row after the first of its id (the first is kept)
        typed = typed.left_join(firsts, typed[dup] == firsts._dup_id)
        checks.append(("duplicate_id", dup,
                       typed._first_row.notnull() & (typed._row > typed._first_row)))
    return typed, checks


def check(con: Any, t: Typed, as_of: dt.date | None, customers: ir.Table | None,
          known: dict[str, set[str]] | None = None) -> Checked:
    """Fold and check one typed table; the clean rows and the table's quality report.

    ``customers`` are the clean customers (orphans are judged against them); ``known`` adds
    words of open categorical columns that the model counts (``interactions.kind``).
    """
    typed = fold(t, known)
    joined, checks = row_checks(t, typed, customers, duplicate_firsts(con, t))
    cases = [(cond, i) for i, (_, _, cond) in enumerate(checks)]
    first = ibis.cases(*cases, else_=ibis.null("int64")) if cases else ibis.null("int64")
    time = TIME_COLUMN[t.table]
    end = None if as_of is None else ibis.timestamp(
        dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))
    later = (joined[time] >= end).fill_null(False) if end is not None and time in t.mapping \
        else ibis.literal(False)
    when = joined[time] if time in t.mapping else ibis.null("timestamp")
    open_cols = _open_columns(t)
    unknown = {f"_u{i}": ~joined[col].isin(allowed_words(t, col, known)) & joined[col].notnull()
               for i, col in enumerate(open_cols)}
    # the words the model's metrics filter on (unseen_filters warns of those no row holds)
    asked = [(col, w) for col in sorted(known or {}) for w in sorted((known or {})[col])
             if col in joined.columns and joined[col].type().is_string()]
    holds = {f"_w{i}": joined[col] == w for i, (col, w) in enumerate(asked)}
    marked = joined.select("_row", _check=first, _after=later, _t=when, **unknown, **holds)
    # one pass counts the rows read, those failing each check and the clean ones after as_of,
    # finds the oldest and newest time of each group (the guardrails' dates) and counts the
    # words of open columns that are not known (reported further only when there are some)
    # and, on DuckDB, lists the places of the rows set aside, so that finding them takes no
    # second pass of every check (Spark keeps them in its cache instead)
    duck = getattr(con, "name", "") == "duckdb"
    places = {"_rows": marked._row.collect(where=marked._check.notnull())} if duck else {}
    found = con.to_pyarrow(marked.group_by(["_check", "_after"]).aggregate(
        _n=ibis._.count(), _first=ibis._._row.min(), _tmin=ibis._._t.min(),
        _tmax=ibis._._t.max(), **{u: marked[u].sum() for u in unknown},
        **{w: marked[w].any() for w in holds}, **places))
    summary = (found.drop_columns(["_rows"]) if duck else found).to_pylist()
    seen = {key: any(bool(s[f"_w{i}"]) for s in summary if s["_check"] is None)
            for i, key in enumerate(asked)}
    outside = [col for i, col in enumerate(open_cols)
               if sum(s[f"_u{i}"] or 0 for s in summary)]
    rows_read = sum(s["_n"] for s in summary)
    groups: dict[int, dict[str, Any]] = {}
    for s in summary:
        if s["_check"] is not None:
            g = groups.setdefault(s["_check"], {"_check": s["_check"], "_n": 0,
                                                "_first": s["_first"]})
            g["_n"] += s["_n"]
            g["_first"] = min(g["_first"], s["_first"])
    n_bad = sum(g["_n"] for g in groups.values())
    n_after = sum(s["_n"] for s in summary if s["_check"] is None and s["_after"])
    clean = typed
    tq = TableQuality(t.table, t.origin, t.fmt, t.encoding, rows_read, rows_read - n_bad,
                      t.row_label, extra_columns=dict(t.extras),
                      derived_columns=dict(t.derived))
    kept = [s for s in summary if s["_check"] is None]
    firsts = [_naive(s["_tmin"]) for s in kept if s["_tmin"] is not None]
    lasts = [_naive(s["_tmax"]) for s in kept if s["_tmax"] is not None]
    tq.first_at, tq.last_at = min(firsts, default=None), max(lasts, default=None)
    if n_bad:
        bad = (_set_aside(con, f"bad_{t.table}", found) if duck else _materialise(
            con, f"bad_{t.table}", marked.filter(marked._check.notnull()).select("_row", "_check")))
        clean = typed.anti_join(bad, "_row")
        _collect(con, t, tq, bad, checks, list(groups.values()))
    if n_after:
        _count_after(con, t, tq, clean.filter(clean[time] >= end), n_after)
    _report_kept(con, t, tq, typed, known, outside)
    return Checked(clean.select("_row", *t.present, *t.extras), tq, seen)


def _set_aside(con: Any, name: str, found: Any) -> ir.Table:
    """The rows set aside as a DuckDB temporary table (``_row``, ``_check``) from the summary.

    ``found`` is the checks' summary, whose ``_rows`` lists the places of each failing check.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = found.column("_rows").combine_chunks()
    checks = found.column("_check").combine_chunks()
    rows = pc.list_flatten(lists)
    owner = pc.list_parent_indices(lists)
    table = pa.table({"_row": rows.cast(pa.int64()),
                      "_check": pc.take(checks, owner).cast(pa.int64())})
    con.con.register(f"{name}_found", table)
    try:
        con.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM "{name}_found"')
    finally:
        con.con.unregister(f"{name}_found")
    return con.table(name)


def _materialise(con: Any, name: str, expr: ir.Table) -> ir.Table:
    """The few bad rows computed once: a temporary table on DuckDB, cached on Spark."""
    if getattr(con, "name", "") == "duckdb":
        con.raw_sql(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {con.compile(expr)}')
        return con.table(name)
    return expr.cache()


# --------------------------------------------------------------------------------------------
# the report


def _personal(t: Typed) -> set[str]:
    return {t.mapping[c] for c in PERSONAL_COLUMNS if c in t.mapping}


def _value(t: Typed, column: str | None, raw: ir.Table | None = None) -> ir.Value:
    """The user's value of a contract column as crindex read it (trimmed), or null.

    ``raw`` is the table of the user's rows to read it from (default: the whole read).
    """
    user = t.mapping.get(column) if column else None
    if user is None or user in _personal(t):
        return ibis.null("string")
    return (t.raw if raw is None else raw)[user].cast("string").strip()


def _collect(con: Any, t: Typed, tq: TableQuality, bad: ir.Table,
             checks: list[tuple[str, str, Any]], groups: list[dict[str, Any]]) -> None:
    """One issue per reason and column: counts, the values at fault, examples and a hint.

    The user's rows set aside are read from the file once (``bad`` holds only their place)
    and kept: the examples, the values at fault and the quarantine read that small table.
    """
    groups.sort(key=lambda g: (checks[g["_check"]][0], g["_first"]))
    raw = _materialise(con, f"bad_rows_{t.table}", t.raw.semi_join(bad, "_row"))
    for g in groups:
        i = g["_check"]
        reason, canon, _ = checks[i]
        user = t.mapping.get(canon)
        rows = bad.filter(bad._check == i).select("_row")
        examples = _examples(con, t, canon, rows, raw)
        values: list[tuple[Any, int]] = []
        distinct = 0
        if reason != "missing_value" and user and user not in _personal(t):
            at = raw.semi_join(rows, "_row")
            counted = at.group_by(_v=_value(t, canon, at)).aggregate(_n=ibis._.count())
            top = con.to_pyarrow(counted.order_by([ibis.desc("_n"), "_v"])
                                 .limit(VALUES_SHOWN)).to_pylist()
            values = [(r["_v"], int(r["_n"])) for r in top]
            distinct = (int(con.execute(counted.count())) if len(values) == VALUES_SHOWN
                        else len(values))
        tq.issues.append(Issue(
            tq.table, reason, int(g["_n"]), examples, column=canon, source_column=user,
            bad_values=[{"value": v, "count": c} for v, c in values], distinct_values=distinct,
            hint=hint(reason, tq.table, canon, [v for v, _ in values], t.src)))
    reasons = [(bad._check == i, reason) for i, (reason, _, _) in enumerate(checks)]
    columns = [(bad._check == i, t.mapping.get(col, col)) for i, (_, col, _) in enumerate(checks)]
    marked = bad.select("_row", _reason=ibis.cases(*reasons), _column=ibis.cases(*columns))
    joined = raw.join(marked, "_row")
    quarantine = joined.select(
        *t.columns, crindex_reason=joined._reason, **{f"crindex_{t.row_label}": joined._row},
        crindex_column=joined._column).order_by(f"crindex_{t.row_label}")
    tq.quarantine = con.to_pyarrow(quarantine)


def _examples(con: Any, t: Typed, canon: str | None, rows: ir.Table,
              raw: ir.Table | None = None) -> list[dict[str, Any]]:
    """The first few rows of ``rows`` (by ``_row``), as report examples (read from ``raw``)."""
    first = rows.order_by("_row").limit(EXAMPLES)
    at = (t.raw if raw is None else raw).semi_join(first, "_row")
    found = con.to_pyarrow(at.select(*t.columns, "_row", _value=_value(t, canon, at))
                           .order_by("_row")).to_pylist()
    personal = _personal(t)
    user = t.mapping.get(canon) if canon else None
    out = []
    for row in found:
        place = row.pop("_row")
        value = row.pop("_value")
        out.append({"row": place, t.row_label: place,
                    "where": f"{t.origin} {t.row_label} {place}", "column": user or canon,
                    "value": value,
                    "values": {k: _plain(v) for k, v in row.items() if k not in personal}})
    return out


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def _count_after(con: Any, t: Typed, tq: TableQuality, later: ir.Table, n: int) -> None:
    """Report (and keep) the ``n`` clean rows dated after ``as_of``: ``later``."""
    col = TIME_COLUMN[t.table]
    rows = con.to_pyarrow(later.select("_row", _t=later[col]).order_by("_row")
                          .limit(EXAMPLES)).to_pylist()
    examples = [{"row": r["_row"], t.row_label: r["_row"],
                 "where": f"{t.origin} {t.row_label} {r['_row']}", "column": t.mapping[col],
                 "value": _when(r["_t"]), "values": {col: _when(r["_t"])}} for r in rows]
    reason = "created_after_as_of" if t.table == "customers" else "after_as_of"
    tq.issues.append(Issue(t.table, reason, n, examples, column=col,
                           source_column=t.mapping[col]))


def _naive(value: Any) -> dt.datetime:
    """A timestamp without a zone (Spark hands them back in UTC)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value  # type: ignore[no-any-return]


def _when(value: Any) -> str:
    """A timestamp as text, without a zone (Spark hands them back in UTC)."""
    return str(_naive(value))


def _open_columns(t: Typed) -> list[str]:
    """The columns of ``t`` with a vocabulary whose rows are kept whatever word they hold."""
    vocab, usual = VOCABULARIES.get(t.table, {}), USUAL_VALUES.get(t.table, {})
    return [c for c in t.present if (c in vocab or c in usual)
            and (t.table, c) not in STRICT_VOCABULARIES]


def _report_kept(con: Any, t: Typed, tq: TableQuality, typed: ir.Table,
                 known: dict[str, set[str]] | None, columns: list[str]) -> None:
    """Report the unknown words of ``columns``, whose rows are kept (counted over rows read).

    ``columns`` are the open columns (:func:`_open_columns`) found to hold an unknown word.
    """
    table = t.table
    usual = USUAL_VALUES.get(table, {})
    for col in columns:
        allowed = allowed_words(t, col, known)
        x = typed[col]
        outside = typed.filter(x.notnull() & ~x.isin(allowed))
        counted = outside.group_by(_v=outside[col]).aggregate(_n=ibis._.count())
        top = con.to_pyarrow(counted.order_by([ibis.desc("_n"), "_v"])
                             .limit(VALUES_SHOWN)).to_pylist()
        if not top:
            continue
        if len(top) < VALUES_SHOWN:  # every value is listed: no need to count them again
            totals = {"_rows": sum(r["_n"] for r in top), "_distinct": len(top)}
        else:
            totals = con.to_pyarrow(counted.aggregate(
                _rows=counted._n.sum(), _distinct=counted.count())).to_pylist()[0]
        unknown = [(r["_v"], int(r["_n"])) for r in top]
        examples = _examples(con, t, col, outside.select("_row"))
        open_list = col in usual
        tq.issues.append(Issue(
            table, "unknown_value", int(totals["_rows"]), examples, column=col,
            source_column=t.mapping[col],
            bad_values=[{"value": v, "count": n} for v, n in unknown],
            distinct_values=int(totals["_distinct"]),
            hint=hint("unknown_value", table, col, [v for v, _ in unknown], None,
                      open_list=open_list),
            detail=(f"not a usual {col}, and no metric of the model counts it" if open_list
                    else f"only a metric that reads {col} sees it"),
            kept=True))


# --------------------------------------------------------------------------------------------
# filters against the data


def unseen_filters(con: Any, tables: dict[str, ir.Table], model: Any,
                   seen: dict[tuple[str, str, str], bool] | None = None) -> list[str]:
    """Warnings for the words metrics filter on that no row of the clean data holds.

    ``where: {channel: emial}`` or ``kind: email_sentt`` on a column without a fixed
    vocabulary (the model rules refuse a word outside a fixed one) is valid, but matches no
    row: the metric would be 0 (or empty) for every customer. Each warning names the metric,
    the column and the values that do exist, most frequent first. ``seen`` holds what the
    checks' pass already found, per (table, column, word): only other words take a pass.
    """
    import difflib

    from crindex.model.loader import metric_table
    from crindex.model.rules import part_filters

    asked: dict[tuple[str, str], dict[str, set[tuple[str, str]]]] = {}  # -> word -> metrics
    for _, m in model.metrics:
        table = metric_table(m)
        parts: list[Any] = [m] + [p for p in (m.numerator, m.denominator) if p is not None]
        for part in parts:
            for col, wanted in part_filters(part).items():
                if table in tables and col in tables[table].columns and (
                        TABLE[table].column(col).type == "cat" if col in CONTRACT[table]
                        else tables[table][col].type().is_string()):  # one of the user's own
                    for word in wanted:
                        asked.setdefault((table, col), {}).setdefault(word, set()).add(
                            (getattr(m, "at", "") or "", m.id))
    warnings = []
    seen = dict(seen or {})
    for table in sorted({t for t, _ in asked}):  # one pass per table: is each word there?
        t = tables[table]
        keys = [(table, col, w) for (tb, col), words in sorted(asked.items()) if tb == table
                for w in sorted(words) if (table, col, w) not in seen]
        if not keys:
            continue
        row = con.to_pyarrow(t.aggregate(**{f"_w{i}": (t[col] == w).any()
                                            for i, (_, col, w) in enumerate(keys)})).to_pylist()[0]
        seen.update({k: bool(row[f"_w{i}"]) for i, k in enumerate(keys)})
    for (table, col), words in sorted(asked.items()):
        t = tables[table]
        missing = sorted(w for w in words if not seen[(table, col, w)])
        if not missing:
            continue
        counted = t.filter(t[col].notnull()).group_by(col).aggregate(_n=ibis._.count())
        top = con.to_pyarrow(counted.order_by([ibis.desc("_n"), col]).limit(VALUES_SHOWN)
                             ).to_pylist()
        found = ", ".join(f"{r[col]} ({r['_n']:,})" for r in top) or "none (the column is empty)"
        more = " and more" if len(top) == VALUES_SHOWN else ""
        for word in missing:
            close = difflib.get_close_matches(word, [r[col] for r in top], n=1, cutoff=0.6)
            fix = (f"did you mean `{close[0]}`? " if close else "") + \
                f"check the spelling, or map your words with sources.{table}.values"
            for at, metric in sorted(words[word]):
                warnings.append(
                    (f"{at}: " if at else "") + f"metric `{metric}` filters {table}.{col} on "
                    f"`{word}`, which no row holds, so the filter matches nothing (the metric "
                    f"is 0 or missing for every customer); values found: {found}{more} ({fix})")
    return warnings
