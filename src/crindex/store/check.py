"""``crindex store check``: read a whole store and name what is damaged.

Three kinds of damage, each reported with where it is:

- **unreadable data**: every column of every table is read in full (DuckDB verifies each
  block's checksum as it reads it; PostgreSQL its page checksums when the cluster has them),
  first a table at a time, then, for a table that fails, a column at a time so the message
  names the column;
- **counts per run**: a snapshot's ``scores`` rows must equal its ``runs.customers``, and its
  ``metric_scores`` rows ``customers x (metrics + dimensions)`` of its recorded model;
- **orphan rows**: rows of a run that is not in ``runs`` (scores, metric scores, alerts and
  any other table with a ``run_id``), alert events of an alert that is not in ``alerts``,
  revocations of an adjustment that does not exist. Deliveries are not counted: a delivery
  outlives its alert on purpose, so that an episode raised again after a recomputation is
  never sent twice (see docs/history.md).

A store file that DuckDB cannot open at all is reported as such. Every read is its own
connection, so one damaged block does not hide what else is readable.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from crindex.errors import CrindexError
from crindex.store.base import Store


@dataclass(frozen=True)
class Damage:
    """One thing wrong with the store: what kind, where, and what was found."""

    kind: str  # unreadable, count, orphan
    where: str
    message: str


@dataclass
class CheckReport:
    """What ``store check`` found: rows per table, per run, and the damage."""

    store: str
    tables: dict[str, int | None] = field(default_factory=dict)  # None: unreadable
    runs: list[dict[str, Any]] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damage

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.store, "ok": self.ok, "tables": self.tables, "runs": self.runs,
                "damage": [asdict(d) for d in self.damage]}


#: tables whose rows belong to an alert (checked against ``alerts``); ``deliveries`` are kept
#: after their alert on purpose (an alert recomputed with the same id is not sent again)
_ALERT_CHILDREN = ("alert_events",)


def _error_text(exc: BaseException) -> str:
    """The engine's own words (the store's message around them names the file again)."""
    return str(exc.__cause__ or exc)


def _query(store: Store, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """One read on its own connection (a fatal read error cannot spoil the next one)."""
    with store.reading() as tx:
        return tx.execute(sql, params).rows()


def _tables(store: Store) -> dict[str, list[str]]:
    """Every table of the store (the schema's and any other) with its columns."""
    if store.dialect == "postgresql":
        sql = ("SELECT table_name, column_name FROM information_schema.columns WHERE "
               "table_schema = current_schema() ORDER BY table_name, ordinal_position")
    else:
        sql = ("SELECT table_name, column_name FROM information_schema.columns WHERE "
               "table_schema = 'main' ORDER BY table_name, ordinal_position")
    out: dict[str, list[str]] = {}
    for table, column in _query(store, sql):
        out.setdefault(str(table), []).append(str(column))
    return out


def _read_all(store: Store, table: str, columns: list[str]) -> str:
    """SQL that reads every value of ``columns`` (a hash or a text of each one)."""
    if store.dialect == "postgresql":
        parts = [f'MAX(md5(CAST("{c}" AS TEXT)))' for c in columns]
    else:
        parts = [f'SUM(hash("{c}"))' for c in columns]
    return f"SELECT COUNT(*), {', '.join(parts)} FROM {table}"


def _check_table(store: Store, report: CheckReport, table: str, columns: list[str]) -> None:
    try:
        rows = _query(store, _read_all(store, table, columns))
        report.tables[table] = int(rows[0][0])
        return
    except CrindexError:
        report.tables[table] = None
    failed: dict[str, list[str]] = {}  # error -> the columns that give it (one block
    for column in columns:  # holds several columns: they fail alike)
        try:
            _query(store, _read_all(store, table, [column]))
        except CrindexError as exc:
            failed.setdefault(_error_text(exc), []).append(column)
    for text, cols in failed.items():
        report.damage.append(Damage("unreadable", f"table {table}, column"
                                    f"{'s' if len(cols) > 1 else ''} {', '.join(cols)}", text))
    if not failed:
        report.damage.append(Damage("unreadable", f"table {table}",
                                    "the table cannot be read as a whole"))


def _check_runs(store: Store, report: CheckReport) -> None:
    try:
        runs = _query(store, "SELECT run_id, model_name, as_of, customers, model_info FROM runs "
                      "ORDER BY model_name, as_of")
        scores = dict(_query(store, "SELECT run_id, COUNT(*) FROM scores GROUP BY run_id"))
        metrics = dict(_query(store, "SELECT run_id, COUNT(*) FROM metric_scores "
                              "GROUP BY run_id"))
    except CrindexError:
        return  # named above as unreadable
    for run_id, model_name, as_of, customers, info_text in runs:
        try:
            info = json.loads(info_text)
            items = len(info.get("metrics", [])) + len(info.get("dimensions", []))
        except (TypeError, ValueError):
            items = None
            report.damage.append(Damage("unreadable", f"run {run_id}",
                                        "its recorded model (runs.model_info) is not JSON"))
        found_scores = int(scores.get(run_id, 0))
        found_metrics = int(metrics.get(run_id, 0))
        expected_metrics = None if items is None else int(customers) * items
        report.runs.append({"run_id": run_id, "model": model_name, "as_of": str(as_of),
                            "customers": int(customers), "scores": found_scores,
                            "metric_scores": found_metrics,
                            "metric_scores_expected": expected_metrics})
        where = f"run {run_id} ({model_name} {as_of})"
        if found_scores != int(customers):
            report.damage.append(Damage("count", where, f"{found_scores} scores rows for "
                                        f"{customers} customers"))
        if expected_metrics is not None and found_metrics != expected_metrics:
            report.damage.append(Damage(
                "count", where, f"{found_metrics} metric_scores rows; {customers} customers x "
                f"{items} metrics and dimensions make {expected_metrics}"))


def _orphans(store: Store, report: CheckReport, tables: dict[str, list[str]]) -> None:
    checks = [(t, "run_id", "runs") for t, cols in tables.items()
              if t != "runs" and "run_id" in cols]
    checks += [(t, "alert_id", "alerts") for t in _ALERT_CHILDREN if t in tables]
    for table, key, parent in checks:
        if report.tables.get(table) is None or report.tables.get(parent) is None:
            continue  # unreadable: already named
        try:
            rows = _query(store, f"SELECT {key}, COUNT(*) FROM {table} WHERE {key} NOT IN "
                          f"(SELECT {key} FROM {parent}) GROUP BY {key} ORDER BY {key}")
        except CrindexError as exc:
            report.damage.append(Damage("unreadable", f"table {table}", _error_text(exc)))
            continue
        if rows:
            total = sum(int(r[1]) for r in rows)
            shown = ", ".join(str(r[0]) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
            report.damage.append(Damage(
                "orphan", f"table {table}", f"{total} row(s) of {len(rows)} {key}(s) missing "
                f"from {parent}: {shown}"))
    if report.tables.get("adjustments") is not None:
        rows = _query(store, "SELECT adjustment_id, revokes FROM adjustments WHERE revokes IS "
                      "NOT NULL AND revokes NOT IN (SELECT adjustment_id FROM adjustments)")
        for adjustment_id, revokes in rows:
            report.damage.append(Damage("orphan", f"adjustment {adjustment_id}",
                                        f"revokes adjustment {revokes}, which does not exist"))


def check_store(store: Store) -> CheckReport:
    """Read the whole store and report its tables, its runs and any damage found."""
    report = CheckReport(store.describe())
    tables = _tables(store)
    for table, columns in tables.items():
        _check_table(store, report, table, columns)
    if report.tables.get("runs") is not None:
        _check_runs(store, report)
    _orphans(store, report, tables)
    return report
