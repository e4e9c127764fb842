"""Tables shaped as the user's exports are not: lookups, roll-ups and derived customers.

Three steps of ``sources:`` (see docs/data.md), each called from one place of
:func:`crindex.data.load.open_dataset`:

- :func:`join_lookups`, before the columns are mapped: other files or tables joined onto a
  table's rows by a key (demographics onto households, products onto purchase lines), as one
  DuckDB view over the user's table, so that a looked-up column is mapped like the file's own.
  A left join: a row without a match keeps empty looked-up values. A key repeated in a lookup
  would multiply rows, so it is an error naming the lookup's lines, found before anything runs.
- :func:`derive_customers`, after typing: when there is no customer file, one customer per
  distinct ``customer_id`` of another table (orders), created on the first date it shows. No
  row can repeat an id, so none is set aside as a duplicate.
- :func:`roll_up`, after the checks: purchase *lines* rolled up into one row per group (one
  order per basket). Each line is checked on its own first (a bad line is set aside with its
  line number, a basket id repeated on lines is not a duplicate), then the clean lines are
  grouped.

None of them reads a fact table twice: the lookup is a join in the view the table is typed
from, the roll-up a ``GROUP BY`` over the checked lines in the same query, and derived customers
are computed once when the data is opened (tests/test_shape.py reads the query plan).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis.expr.types as ir

from crindex.contract import CONTRACT, IBIS_TYPES, TABLE, TIME_COLUMN, UNIQUE_ID
from crindex.data.checks import Typed
from crindex.data.read import (
    RawTable,
    column_types,
    quote,
    read_duckdb_table,
    read_file,
    read_url_table,
)
from crindex.errors import DataError, DataNotFoundError, Problem, Reason
from crindex.model.spec import (
    DERIVED_CUSTOMER_COLUMNS,
    LookupSpec,
    SourceSpec,
    parse_rollup,
    rollup_kind,
)

#: lines of a duplicated lookup key named in the error, and keys listed
SHOWN = 5


# --------------------------------------------------------------------------------------------
# lookups


def join_lookups(raw: Any, table: str, rt: RawTable, src: SourceSpec,
                 read: Callable[[str, LookupSpec], RawTable]) -> RawTable:
    """``rt`` with the columns of every lookup of ``src`` joined on, as view ``joined_<table>``.

    ``raw`` is the DuckDB connection, ``read(name, lookup)`` reads a lookup as relation
    ``raw_<name>`` (the data opener's reader for the kind of data given). Lookups join in order,
    so a later one may key on a column an earlier one brought. Every problem of every lookup is
    raised at once: a key column missing on either side, a looked-up column whose name the table
    already has, a key repeated in the lookup.
    """
    problems: list[Problem] = []
    columns = list(rt.columns)
    #: each column of the joined table: (the alias holding it, the relation it comes from,
    #: its name there, its name under the alias)
    owner = {c: ("b", rt.name, c, c) for c in rt.columns}
    joins: list[str] = []
    picks: list[str] = []
    for i, lookup in enumerate(src.lookups, 1):
        where = f"sources.{table}.lookups[{i - 1}]"
        lt = read(f"{table}_lookup{i}", lookup)
        left, right = lookup.keys
        found = _lookup_problems(table, rt, lt, lookup, where, columns)
        if found:
            problems += found
            continue
        dups = _duplicate_keys(raw, lt, right, where)
        if dups:
            problems.append(dups)
            continue
        chosen = _chosen(lookup, lt, right)
        alias = f"l{i}"
        joins.append(
            f"LEFT JOIN (SELECT {_key_sql(raw, None, lt.name, right, right)} AS _key, "
            + ", ".join(f"{quote(c)} AS {quote(new)}" for c, new in chosen)
            + f" FROM {quote(lt.name)}) AS {alias} ON {_key_sql(raw, *owner[left])} "
            f"= {alias}._key")
        picks += [f"{alias}.{quote(new)}" for _, new in chosen]
        columns += [new for _, new in chosen]
        owner.update({new: (alias, lt.name, c, new) for c, new in chosen})
    if problems:
        raise DataError(problems[0].reason or Reason.DATA_UNREADABLE, problems,
                        f"the lookups of {table} cannot be joined")
    view = f"joined_{table}"
    raw.execute(f"CREATE OR REPLACE TEMP VIEW {quote(view)} AS SELECT b.*, "
                f"{', '.join(picks)} FROM {quote(rt.name)} AS b " + " ".join(joins))
    return RawTable(view, rt.origin, rt.fmt, rt.encoding, columns, rt.row_label)


def _renames(lookup: LookupSpec) -> dict[str, str] | None:
    if lookup.columns is None:
        return None
    if isinstance(lookup.columns, list):
        return {c: c for c in lookup.columns}
    return dict(lookup.columns)


def _chosen(lookup: LookupSpec, lt: RawTable, right: str) -> list[tuple[str, str]]:
    """(the lookup's column, its name in the joined table) for every column brought."""
    names = _renames(lookup)
    if names is None:
        return [(c, c) for c in lt.columns if c != right]
    return list(names.items())


def lookup_reader(raw: Any, kind: str, where: Any, table: str,
                  remote: Any = None) -> Callable[[str, LookupSpec], RawTable]:
    """How the lookups of ``table`` are read from the data given (its ``kind`` and place).

    ``path`` is relative to the data folder, ``table`` names a table of a DuckDB file or
    database; in-memory frames take no lookups.
    """

    def read(name: str, lookup: LookupSpec) -> RawTable:
        src = lookup.reading()
        at = f"sources.{table}.lookups"
        if kind in ("folder", "file") and lookup.path:
            path = Path(lookup.path)
            if not path.is_absolute():
                path = (where if kind == "folder" else Path(where).parent) / path
            if not path.exists():
                raise DataNotFoundError.single(
                    Reason.DATA_NOT_FOUND, f"{at}: `{lookup.path}` does not exist", str(path),
                    "files here: " + ", ".join(sorted(
                        q.name for q in path.parent.iterdir() if not q.name.startswith(".")))
                    if path.parent.is_dir() else "the folder does not exist")
            return read_file(raw, name, path, src)
        found = None
        if kind == "duckdb" and lookup.table:
            found = read_duckdb_table(raw, name, where, src)
        elif kind == "url" and lookup.table:
            found = read_url_table(raw, name, where, src, remote)
        if found is None:
            given = f"`path: {lookup.path}`" if lookup.path else f"`table: {lookup.table}`"
            raise DataError.single(
                Reason.DATA_NOT_FOUND, f"{at}: {given} cannot be read from {kind} data",
                str(where), "a lookup is a file of the data folder (path) or a table of the "
                "DuckDB file or database (table)")
        return found

    return read


def _lookup_problems(table: str, rt: RawTable, lt: RawTable, lookup: LookupSpec, where: str,
                     have: list[str]) -> list[Problem]:
    left, right = lookup.keys
    problems: list[Problem] = []
    if left not in have:
        problems.append(Problem(
            f"{where}.on: {rt.origin} has no column `{left}` to join {lt.origin} on", rt.origin,
            "columns found: " + ", ".join(have), Reason.MISSING_COLUMN))
    if right not in lt.columns:
        problems.append(Problem(
            f"{where}.on: {lt.origin} has no column `{right}`", lt.origin,
            "columns found: " + ", ".join(lt.columns) + "; when the key is named differently "
            "in the lookup write on: {<column of the table>: <column of the lookup>}",
            Reason.MISSING_COLUMN))
    if problems:
        return problems
    names = _renames(lookup)
    if names is not None:
        unknown = [c for c in names if c not in lt.columns]
        if unknown:
            problems.append(Problem(
                f"{where}.columns names " + ", ".join(f"`{c}`" for c in unknown)
                + f", not a column of {lt.origin}", lt.origin,
                "columns found: " + ", ".join(lt.columns), Reason.MISSING_COLUMN))
            return problems
    clash = [new for _, new in _chosen(lookup, lt, right) if new in have]
    if clash:
        problems.append(Problem(
            f"{where}: {lt.origin} brings " + ", ".join(f"`{c}`" for c in clash)
            + f", which {table} already has", lt.origin,
            f"pick the lookup's columns or rename them: {where}.columns: "
            + "{" + ", ".join(f"{c}: {c}_2" for c in clash) + "}", Reason.BAD_PARAMETER))
    return problems


def _key_sql(raw: Any, alias: str | None, rel: str, column: str, name: str) -> str:
    """A key compared as the id it is: trimmed text, ``1001.0`` from a spreadsheet is ``1001``.

    ``column`` is a column of relation ``rel``, read in the query as ``alias.name`` (or as
    ``column`` of the relation itself when ``alias`` is None). The id rule is the one typing
    applies to ids (:func:`crindex.data.load._typed`).
    """
    from crindex.data.load import _typed

    sql, _ = _typed("id", column, column_types(raw, rel)[column], None, "")
    if alias is None:
        return sql
    sql = sql.replace(quote(column), f"{alias}.{quote(name)}")
    if sql.startswith("NULLIF(") and sql.endswith(", '')"):
        # the probe side of the join: an empty key finds no match whether it is '' or null
        # (the lookup's keys are never ''), and a plain TRIM keeps the join's key simple
        sql = sql[len("NULLIF("):-len(", '')")]
    return sql


def _duplicate_keys(raw: Any, lt: RawTable, key: str, where: str) -> Problem | None:
    """A problem naming the keys repeated in a lookup and their lines, or None."""
    k = _key_sql(raw, None, lt.name, key, key)
    rows = raw.execute(
        f"SELECT _k, n, places, count(*) OVER () AS keys FROM (SELECT {k} AS _k, count(*) AS n, "
        f"list(_row ORDER BY _row)[1:{SHOWN}] AS places FROM {quote(lt.name)} "
        f"WHERE {k} IS NOT NULL GROUP BY _k HAVING count(*) > 1) ORDER BY places[1] "
        f"LIMIT {SHOWN}").fetchall()
    if not rows:
        return None
    label = lt.row_label + "s"
    shown = "; ".join(f"`{k_}` on {label} " + ", ".join(str(p) for p in places)
                      + (" ..." if n > len(places) else "") for k_, n, places, _ in rows)
    keys = rows[0][3]
    return Problem(
        f"{where}: {lt.origin} has {keys:,} {key} value(s) on more than one row, so a "
        f"row could match several: {shown}", lt.origin,
        f"a lookup holds one row per {key}: remove the repeated rows from {lt.origin}",
        Reason.DUPLICATE_ID)


# --------------------------------------------------------------------------------------------
# roll-ups: which columns the lines need, then the GROUP BY over the checked lines


def rollup_columns(table: str, src: SourceSpec | None, have: list[str],
                   mapping: dict[str, str]) -> list[Problem]:
    """Map the roll-up's ``by`` onto the table's id, and the columns its functions read.

    Changes ``mapping`` (the table's column -> the user's column): ``by`` becomes the id column
    (``order_id``), and each user's column a function reads that is not mapped yet becomes an
    extra column under its own name, typed like every extra column (``sources.<table>.types``,
    or the file's own type). A function may read a derived column or a constant too (both
    there before the roll-up). Returns the problems: a column that is not in the file.
    """
    if src is None or src.rollup is None:
        return []
    key = UNIQUE_ID[table]
    by = src.rollup.by
    problems: list[Problem] = []
    if by in have:
        mapping[key] = by
    elif by != key or key not in mapping:
        problems.append(Problem(
            f"sources.{table}.rollup.by names `{by}`, which is not a column of the file",
            "", "columns found: " + ", ".join(have), Reason.MISSING_COLUMN))
    for out, text in src.rollup.columns.items():
        parsed = parse_rollup(text)
        col = parsed[1] if parsed else None
        if col is None or col in mapping or col in mapping.values() or col in src.derive \
                or col in src.constants:
            continue
        if col in have:
            mapping[col] = col
        else:
            problems.append(Problem(
                f"sources.{table}.rollup.{out} reads `{col}`, which is not a column of the file",
                "", "columns found: " + ", ".join(have), Reason.MISSING_COLUMN))
    return problems


def not_rolled_up(needed: set[str] | None, src: SourceSpec | None) -> set[str] | None:
    """The columns a table must map from its file: those its roll-up makes need not be."""
    if needed is None or src is None or src.rollup is None:
        return needed
    return needed - set(src.rollup.columns)


def default_function(table: str, column: str) -> str:
    """How a contract column is rolled up when the model does not say.

    The table's time: the first (``min``); ratings (numbers with a valid range, such as
    ``interactions.satisfaction``): the ``mean``; other numbers: the ``sum``; ids and words:
    the first line's (``first``).
    """
    if column == TIME_COLUMN[table]:
        return "min"
    if CONTRACT[table][column] != "num":
        return "first"
    return "mean" if TABLE[table].column(column).valid else "sum"


def roll_up(lines: ir.Table, table: str, src: SourceSpec, mapping: dict[str, str],
            extras: dict[str, str]) -> ir.Table:
    """One row per group of the checked ``lines`` (``_row``, contract and extra columns).

    ``extras`` are the lines' extra columns with their type. The row's ``_row`` is its first
    line. Contract columns the model does not name are rolled up by :func:`default_function`;
    named outputs take their function; an output that is a contract column is typed as the
    contract says, any other is an extra column of the rolled-up table (:func:`model_kinds`).
    The lines' extra columns no function reads do not outlive the roll-up.
    """
    assert src.rollup is not None
    key = UNIQUE_ID[table]
    canon = {user: c for c, user in mapping.items()}
    outputs: dict[str, tuple[str, str | None]] = {
        c: (default_function(table, c), c) for c in lines.columns
        if c in CONTRACT[table] and c != key}
    for out, text in src.rollup.columns.items():
        parsed = parse_rollup(text)
        assert parsed is not None  # the model's rules refuse any other text
        fn, col = parsed
        outputs[out] = (fn, canon.get(col, col) if col else None)
    aggs: dict[str, ir.Value] = {"_row": lines._row.min()}
    for out, (fn, col) in outputs.items():
        value = _rolled(lines, fn, col, extras.get(col or "") == "cat")
        if out in CONTRACT[table]:
            value = value.cast(IBIS_TYPES[CONTRACT[table][out]])
        aggs[out] = value
    return lines.group_by(lines[key]).aggregate(**aggs)


def _rolled(lines: ir.Table, fn: str, col: str | None, text: bool) -> ir.Value:
    if fn == "count":
        return lines.count()
    assert col is not None
    x = lines[col]
    if fn in ("sum", "mean") and text:  # an extra column read as text (a CSV's own)
        x = x.try_cast("float64")
    if fn in ("first", "last"):
        return _by_row("arg_min_null" if fn == "first" else "arg_max_null", x, lines._row)
    if fn == "count_distinct":
        return x.nunique()
    return getattr(x, fn)()


def _by_row(name: str, x: ir.Column, row: ir.Column) -> ir.Value:
    """DuckDB's ``arg_min(x, _row)`` / ``arg_max``: the value on the group's first (last) line.

    Ibis writes ``argmin`` as ``FIRST(x ORDER BY _row)``, which DuckDB runs with a sort key
    per line; ``arg_min`` on the integer ``_row`` is the hand-written query's cheaper form.
    """
    import ibis

    fn = ibis.udf.agg.builtin(lambda arg, key: None, name=name,
                              signature=((x.type(), row.type()), x.type()))
    return fn(x, row)


def rolled_kinds(t: Typed) -> dict[str, str]:
    """The roll-up's outputs on ``t`` that are not contract columns, with their type.

    The type is :func:`crindex.model.spec.rollup_kind`'s, given the type of the column read
    (a contract column's, or an extra column's as typed; an id is text).
    """
    assert t.src is not None and t.src.rollup is not None
    canon = {user: c for c, user in t.mapping.items()}
    kinds = {**{c: CONTRACT[t.table][c] for c in t.present}, **t.extras}
    out: dict[str, str] = {}
    for name, text in t.src.rollup.columns.items():
        parsed = parse_rollup(text)
        if name in CONTRACT[t.table] or parsed is None:
            continue
        fn, col = parsed
        kind = kinds.get(canon.get(col, col)) if col else None
        out[name] = rollup_kind(fn, "cat" if kind == "id" else kind) or "cat"
    return out


def model_kinds(t: Typed) -> dict[str, str]:
    """The extra columns a metric may read on ``t`` once opened, with their type.

    The typed and derived extra columns; for a rolled-up table, the roll-up's own outputs
    instead (the lines' columns do not outlive the roll-up).
    """
    if t.src is None or t.src.rollup is None:
        return dict(t.extras)
    return rolled_kinds(t)


def rollup_note(table: str, src: SourceSpec) -> str:
    """The roll-up in words, for the quality report."""
    assert src.rollup is not None
    return (f"lines rolled up into one {table[:-1]} per {src.rollup.by} after the checks "
            f"({table}.{UNIQUE_ID[table]}); rows read and used count lines")


# --------------------------------------------------------------------------------------------
# customers derived from another table


def derive_customers(con: Any, source: ir.Table, table: str) -> ir.Table:
    """One customer per distinct ``customer_id`` of the typed ``source`` table.

    ``_row`` is the first row the id is on, ``created_at`` its first date. Computed once (a
    temporary table on DuckDB), so that scoring reads the source table once.
    """
    time = TIME_COLUMN[table]
    known = source.filter(source.customer_id.notnull())
    derived = known.group_by("customer_id").aggregate(
        _row=known._row.min(), created_at=known[time].min())
    derived = derived.select("_row", *DERIVED_CUSTOMER_COLUMNS)
    if getattr(con, "name", "") == "duckdb":
        con.con.execute(f"CREATE OR REPLACE TEMP TABLE typed_customers AS {con.compile(derived)}")
        return con.table("typed_customers")
    return derived.cache()


def derived_note(table: str) -> str:
    return (f"derived from {table}: one customer per distinct customer_id, created_at its first "
            f"{TIME_COLUMN[table]}")

