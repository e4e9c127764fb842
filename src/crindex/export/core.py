"""Write-back: a snapshot's scores, tiers, segments and strategies to the user's systems.

- :func:`upsert_table` keeps one row per (model, customer) in a table of the user's database
  (a DuckDB file or a ``postgresql://`` URL), in one transaction: new customers are inserted,
  changed rows replaced, unchanged rows left alone, so running it twice leaves the same table.
  Customers absent from the snapshot keep their last row.
- :func:`write_crm_files` writes the file a CRM's "update field" import reads: one row per
  customer keyed by its id, one column per field, headers in English or Chinese; Excel
  (``.xlsx``) and CSV (UTF-8 with a BOM, so Excel reads Chinese right). Each lands whole.
- :func:`notify_tier_changes` POSTs one signed webhook per customer whose tier changed (the
  signing and retries are the alert webhook's, :func:`crindex.alerts.delivery.post_signed`).

See docs/export.md.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from crindex.errors import OutputError, Reason
from crindex.model.spec import CRIModel
from crindex.store.base import Store
from crindex.store.snapshot import RunInfo, utc_now

#: the columns of the write-back table, in order (the key is model + customer_id)
COLUMNS = ("model", "customer_id", "score", "tier", "tier_label", "segment", "strategy",
           "owner", "as_of", "run_id")
#: the columns of the CRM import files (header words: ``export.<column>`` in
#: :mod:`crindex.report.i18n`)
CRM_COLUMNS = ("customer_id", "score", "tier", "tier_label", "segment", "strategy", "owner",
               "as_of")
_TYPES = {"score": "DOUBLE PRECISION", "as_of": "DATE"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")


def export_error(message: str, where: str, hint: str = "") -> OutputError:
    return OutputError.single(Reason.OUTPUT_PATH, message, where, hint)  # type: ignore[return-value]


def export_rows(store: Store, model: CRIModel, run_ref: str | None = None
                ) -> tuple[RunInfo, pd.DataFrame]:
    """The rows to write back: a snapshot of ``model`` (default its latest), one per customer.

    ``tier_label`` and ``strategy`` come from the model's tier levels.
    """
    run = store.run(run_ref, model.name) if run_ref else store.latest_run(model.name)
    scores = store.scores(run.run_id)
    levels = {lv.id: lv for lv in model.tiers.levels}

    def of(tier: Any, attr: str) -> Any:
        lv = levels.get(tier) if isinstance(tier, str) else None
        return getattr(lv, attr) if lv is not None else None

    rows = pd.DataFrame({
        "model": model.name,
        "customer_id": scores["customer_id"].astype(str),
        "score": scores["score"].astype(float),
        "tier": scores["tier"].where(scores["tier"].notna(), None),
        "tier_label": [of(t, "display") for t in scores["tier"]],
        "segment": scores["segment"].where(scores["segment"].notna(), None),
        "strategy": [of(t, "strategy") for t in scores["tier"]],
        "owner": scores["owner"].where(scores["owner"].notna(), None),
        "as_of": run.as_of,
        "run_id": run.run_id,
    }, columns=list(COLUMNS))
    return run, rows


@dataclass
class TableReport:
    """What an upsert did, and the customers whose tier it changed (old tier, new tier)."""

    target: str
    table: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    tier_changes: list[tuple[str, str | None, str | None]] = field(default_factory=list)


def _same(a: Any, b: Any) -> bool:
    missing_a = a is None or (isinstance(a, float) and a != a)
    missing_b = b is None or (isinstance(b, float) and b != b)
    if missing_a or missing_b:
        return missing_a and missing_b
    if isinstance(a, (dt.date, dt.datetime)) or isinstance(b, (dt.date, dt.datetime)):
        return str(a)[:10] == str(b)[:10]
    if isinstance(a, float) or isinstance(b, float):
        return float(a) == float(b)
    return bool(a == b)


class _Target:
    """One connection to the user's database, inside one transaction."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.pg = location.startswith(("postgresql://", "postgres://"))
        self.con: Any = None
        self.cur: Any = None

    def __enter__(self) -> _Target:
        if self.pg:
            from crindex.extras import require

            require("postgres", "writing to a PostgreSQL table", "--to")
            import psycopg

            try:
                self.con = psycopg.connect(self.location, connect_timeout=10)
            except psycopg.Error as exc:
                raise export_error(f"cannot connect to {_safe(self.location)}: {exc}", "--to",
                                   "check the URL and that the server is running") from exc
            self.cur = self.con.cursor()
        else:
            import duckdb

            from crindex.util import check_duckdb_file

            check_duckdb_file(self.location, "--to", new_folders=True)
            Path(self.location).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(self.location)
            self.con.execute("BEGIN TRANSACTION")
        return self

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.pg:
            self.cur.execute(sql.replace("?", "%s"), list(params))
            return self.cur.fetchall() if self.cur.description else []
        result = self.con.execute(sql, list(params))
        return result.fetchall() if result.description else []

    def insert(self, table: str, rows: pd.DataFrame) -> None:
        if not len(rows):
            return
        cols = ", ".join(rows.columns)
        if self.pg:
            with self.cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for record in rows.itertuples(index=False):
                    copy.write_row([None if _missing(v) else v for v in record])
            return
        self.con.register("_crindex_export", pa.Table.from_pandas(rows, preserve_index=False))
        try:
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _crindex_export")
        finally:
            self.con.unregister("_crindex_export")

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            if self.pg:
                if kind is None:
                    self.con.commit()
                else:
                    self.con.rollback()
            elif kind is None:
                self.con.execute("COMMIT")
            else:
                self.con.execute("ROLLBACK")
        finally:
            self.con.close()


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NaT


def _safe(location: str) -> str:
    """A database location for messages: never with a password."""
    from urllib.parse import urlsplit, urlunsplit

    if "://" not in location:
        return location
    parts = urlsplit(location)
    netloc = (f"{parts.username}@" if parts.username else "") + (parts.hostname or "") + \
        (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def upsert_table(location: str, table: str, rows: pd.DataFrame) -> TableReport:
    """Make ``table`` hold ``rows`` for their model: insert, replace what changed, in one go.

    ``location`` is a DuckDB file (created if new) or a ``postgresql://`` URL; ``table`` a
    plain name or ``schema.name``. The table is created when missing (key: model and
    customer_id); an existing one must have the columns of :data:`COLUMNS` (others are left
    alone). Rows whose values all equal the stored ones are not touched, so a second run with
    the same rows changes nothing (``updated_at`` included).
    """
    if not _NAME.match(table):
        raise export_error(f"table name `{table}` is not a plain name", "--table",
                           "use letters, digits and underscores, optionally schema.table")
    report = TableReport(_safe(location), table)
    with _Target(location) as db:
        cols = ",\n".join(f"{c} {_TYPES.get(c, 'TEXT')}" + (" NOT NULL" if c in
                          ("model", "customer_id") else "") for c in COLUMNS)
        if "." in table and db.pg:
            db.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols},\nupdated_at TIMESTAMP,\n"
                   "PRIMARY KEY (model, customer_id))")
        found = _columns(db, table)
        missing = [c for c in (*COLUMNS, "updated_at") if c not in found]
        if missing:
            raise export_error(f"table {table} in {_safe(location)} has no column "
                               + ", ".join(missing), "--table",
                               "give a new table name (crindex creates it), or add the "
                               "columns: " + ", ".join(COLUMNS) + ", updated_at")
        [model_name] = sorted(set(rows["model"])) or [""]   # one model's rows
        old: dict[tuple[str, str], tuple[Any, ...]] = {
            (str(r[0]), str(r[1])): r for r in db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {table} WHERE model = ?", (model_name,))}
        fresh, changed = [], []
        for i, record in enumerate(rows[list(COLUMNS)].itertuples(index=False)):
            key = (str(record[0]), str(record[1]))
            before = old.get(key)
            if before is None:
                fresh.append(i)
            elif all(_same(a, b) for a, b in zip(before, record, strict=True)):
                report.unchanged += 1
            else:
                changed.append(i)
                tier_at = COLUMNS.index("tier")
                if not _same(before[tier_at], record[tier_at]):
                    report.tier_changes.append((key[1], before[tier_at], record[tier_at]))
        for start in range(0, len(changed), 500):
            chunk = rows.iloc[changed[start:start + 500]]
            db.execute(f"DELETE FROM {table} WHERE model = ? AND customer_id IN "
                       f"({', '.join('?' * len(chunk))})",
                       (model_name, *chunk["customer_id"].tolist()))
        write = rows.iloc[fresh + changed].copy()
        write["updated_at"] = utc_now()
        db.insert(table, write)
        report.inserted, report.updated = len(fresh), len(changed)
    return report


def _columns(db: _Target, table: str) -> list[str]:
    if db.pg:
        db.cur.execute(f"SELECT * FROM {table} LIMIT 0")
        return [d.name for d in db.cur.description or []]  # type: ignore[union-attr]
    return [d[0] for d in db.con.execute(f"SELECT * FROM {table} LIMIT 0").description]


def crm_frame(rows: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The CRM import's rows: :data:`CRM_COLUMNS` under headers in ``lang`` (en or zh)."""
    from crindex.report.i18n import translator

    t = translator(lang)
    frame = rows[list(CRM_COLUMNS)].copy()
    frame["as_of"] = frame["as_of"].astype(str)
    return frame.rename(columns={c: t(f"export.{c}") for c in CRM_COLUMNS})


def write_crm_files(rows: pd.DataFrame, lang: str, csv: str | Path | None = None,
                    excel: str | Path | None = None) -> list[Path]:
    """Write the CRM import as CSV (UTF-8 with BOM) and/or Excel; each file lands whole."""
    from crindex.output import write_csv_bom
    from crindex.util import atomic_path

    frame = crm_frame(rows, lang)
    written: list[Path] = []
    if csv is not None:
        with atomic_path(csv) as tmp:
            write_csv_bom(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        written.append(Path(csv))
    if excel is not None:
        if Path(excel).suffix.lower() != ".xlsx":
            raise export_error(f"`{excel}` is not an .xlsx file name", "--excel",
                               "give a name ending in .xlsx")
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "crindex"
        sheet.append(list(frame.columns))
        for record in frame.itertuples(index=False):
            sheet.append([None if _missing(v) else v for v in record])
        sheet.freeze_panes = "A2"
        for i, name in enumerate(frame.columns):
            width = max([len(str(name)) * 2, *(len(str(v)) for v in frame.iloc[:200, i])])
            sheet.column_dimensions[sheet.cell(1, i + 1).column_letter].width = min(60, width + 2)
        with atomic_path(excel) as tmp:
            book.save(tmp)
        written.append(Path(excel))
    return written


@dataclass
class WebhookReport:
    """Customers whose tier change was delivered, those that failed, attempts made."""

    target: str
    delivered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    attempts: int = 0


def tier_changes_since_previous(store: Store, run: RunInfo, rows: pd.DataFrame
                                ) -> list[tuple[str, str | None, str | None]]:
    """(customer, previous tier, tier) where the tier differs from the model's previous run."""
    earlier = [r for r in store.runs(run.model_name) if r.as_of < run.as_of]
    if not earlier:
        return []
    before = store.scores(earlier[-1].run_id).set_index("customer_id")["tier"].to_dict()
    return [(c, before[c], t) for c, t in zip(rows["customer_id"], rows["tier"], strict=True)
            if c in before and not _same(before[c], t)]


def notify_tier_changes(url: str, secret: str, rows: pd.DataFrame,
                        changes: Sequence[tuple[str, str | None, str | None]], *,
                        attempts: int = 5, backoff: float = 1.0, timeout: float = 10.0,
                        sleep: Callable[[float], None] | None = None) -> WebhookReport:
    """POST ``{"event": "crindex.tier_changed", "customer": {...}}`` per changed customer.

    Signed and retried like the alert webhook (:mod:`crindex.alerts.delivery`); header
    ``X-Crindex-Customer`` carries the customer id.
    """
    import time

    from crindex.alerts.delivery import _target, check_webhook, post_signed

    check_webhook(url, secret, "its tier changes")
    report = WebhookReport(_target(url))
    by_id = rows.set_index("customer_id")
    for customer, old, new in changes:
        row = by_id.loc[customer]
        body = json.dumps({"event": "crindex.tier_changed", "customer": {
            "customer_id": customer, "model": row["model"], "tier_from": old, "tier": new,
            "tier_label": row["tier_label"], "strategy": row["strategy"],
            "score": None if _missing(row["score"]) else float(row["score"]),
            "segment": row["segment"], "owner": row["owner"], "as_of": str(row["as_of"]),
        }}, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
        ok, made = post_signed(url, secret, body, {"X-Crindex-Customer": customer,
                                                   "User-Agent": "crindex-export"},
                               attempts=attempts, backoff=backoff, timeout=timeout,
                               sleep=sleep or time.sleep)
        report.attempts += made
        (report.delivered if ok else report.failed).append(customer)
    return report
