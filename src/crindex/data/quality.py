"""The data-quality report: what was read, what was set aside and why, with examples.

Every problem is counted per table and reason, with up to five examples that say where the row
is in the user's own file (CSV line, Excel row). Rows set aside ("quarantined") are kept with
the user's own columns plus the reason, and written beside the report so they can be fixed and
loaded again.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crindex.contract import scales_text

#: what each reason means, for people
REASONS: dict[str, str] = {
    "missing_value": "a required value is empty",
    "unparseable_date": "a date that cannot be read",
    "unparseable_number": "a number that cannot be read",
    "unparseable_bool": "a yes/no value that cannot be read",
    "unknown_value": "a value outside the data contract's vocabulary",
    "duplicate_id": "an id seen before in the same table (the first row is kept)",
    "orphan": "a customer_id that is not in customers",
    "negative_amount": "a negative amount on an order that is not refunded",
    "out_of_range": f"a score outside its scale ({scales_text()})",
    "after_as_of": "dated after as_of: kept, but not used for this as_of",
    "created_after_as_of": "customer created after as_of: kept, not scored for this as_of",
}

#: reasons that only inform: those rows are kept
INFORMATIONAL = frozenset({"after_as_of", "created_after_as_of"})


@dataclass
class Issue:
    """One kind of problem in one column of one table.

    ``column`` is the contract's column and ``source_column`` the user's own name for it;
    ``bad_values`` lists the distinct values at fault, most frequent first, with their counts
    (``distinct_values`` says how many there are in all); each example gives the row's place in
    the file (``row``, and ``line`` for CSV and text files), the column and the value.
    """

    table: str
    reason: str
    count: int
    examples: list[dict[str, Any]]
    column: str | None = None
    source_column: str | None = None
    bad_values: list[dict[str, Any]] = field(default_factory=list)
    distinct_values: int = 0
    hint: str = ""
    #: what the problem means for this column, after the headline
    detail: str = ""
    #: rows kept although the reason usually sets them aside (unknown values of a column whose
    #: vocabulary does not decide how a row is counted); None: as the reason says
    kept: bool | None = None

    @property
    def quarantined(self) -> bool:
        if self.kept is not None:
            return not self.kept
        return self.reason not in INFORMATIONAL

    @property
    def column_text(self) -> str:
        """``状态 (orders.status)``: the user's column and the contract's."""
        if self.column is None:
            return ""
        canon = f"{self.table}.{self.column}"
        if self.source_column and self.source_column != self.column:
            return f"`{self.source_column}` ({canon})"
        return f"`{self.source_column or self.column}` ({canon})"

    def headline(self) -> str:
        """One line: how many, what, whether the rows were kept, and in which column."""
        kept = "set aside" if self.quarantined else "kept"
        rows = "row" if self.count == 1 else "rows"
        text = (f"{self.count:,} {rows}: {REASONS.get(self.reason, self.reason)} "
                f"({self.reason}, {kept})")
        text += f" in column {self.column_text}" if self.column else ""
        return text + (f": {self.detail}" if self.detail else "")

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "reason": self.reason, "meaning": REASONS.get(self.reason),
                "count": self.count, "quarantined": self.quarantined,
                "column": self.column, "source_column": self.source_column,
                "summary": self.headline(), "bad_values": self.bad_values,
                "distinct_values": self.distinct_values, "hint": self.hint,
                "examples": self.examples}


@dataclass
class TableQuality:
    """What happened to one table on its way in."""

    table: str
    origin: str
    fmt: str
    encoding: str | None
    rows_read: int
    rows_used: int
    row_label: str = "row"
    issues: list[Issue] = field(default_factory=list)
    quarantine: Any = None  # pyarrow.Table of the rows set aside (user's columns + reason)
    #: the oldest and newest time (the table's event time) among the rows kept, after as_of
    #: too; None when the table has no such column or no row
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None

    #: the user's own columns read besides the contract's, with the type each is read as
    #: (``sources.<table>.types``, or the file's own), and the derived ones with their formula
    extra_columns: dict[str, str] = field(default_factory=dict)
    derived_columns: dict[str, str] = field(default_factory=dict)
    #: how the table was shaped on its way in (lookups joined, lines rolled up, derived)
    steps: list[str] = field(default_factory=list)

    @property
    def rows_set_aside(self) -> int:
        return self.rows_read - self.rows_used

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "source": self.origin, "format": self.fmt,
                "encoding": self.encoding, "location": self.row_label,
                "rows_read": self.rows_read,
                "rows_used": self.rows_used,
                "rows_quarantined": self.quarantine.num_rows if self.quarantine is not None
                else 0,
                "first": str(self.first_at) if self.first_at else None,
                "last": str(self.last_at) if self.last_at else None,
                "issues": [i.to_dict() for i in self.issues],
                "extra_columns": self.extra_columns,
                "derived_columns": self.derived_columns,
                **({"steps": self.steps} if self.steps else {})}


#: what a guardrail finding does: ``refused`` stops the run; ``allowed`` passed only because
#: the model or a flag raised a limit; ``warning`` informs
GUARDRAIL_LEVELS = ("refused", "allowed", "warning")


@dataclass(frozen=True)
class Guardrail:
    """One guardrail finding (see :mod:`crindex.data.guardrails`): a rule, its level, why.

    ``rule`` is the reason code (``rows_rejected``, ``stale_data``, ``as_of_outside_data``,
    ``ratio_out_of_range``), ``subject`` the table or metric, ``figures`` the numbers the
    message is made of (share and limit, last date and as_of, mean and limit).
    """

    rule: str
    level: str
    subject: str
    message: str
    hint: str = ""
    figures: tuple[tuple[str, Any], ...] = ()

    def line(self) -> str:
        return f"{self.level}: {self.message}" + (f"; fix: {self.hint}" if self.hint else "")

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "level": self.level, "subject": self.subject,
                "message": self.message, "hint": self.hint, **dict(self.figures)}


@dataclass
class QualityReport:
    """The data-quality report of one load."""

    as_of: str | None
    tables: list[TableQuality] = field(default_factory=list)
    #: False when the checks were skipped on purpose (``open_dataset(..., checks=False)``)
    checked: bool = True
    #: what the guardrails found (:mod:`crindex.data.guardrails`), refusals first
    guardrails: list[Guardrail] = field(default_factory=list)

    def add(self, found: list[Guardrail]) -> None:
        """Record guardrail findings (one finding found twice is kept once)."""
        for g in found:
            if g not in self.guardrails:
                self.guardrails.append(g)
        self.guardrails.sort(key=lambda g: GUARDRAIL_LEVELS.index(g.level))

    #: what the data says about the model (a filter word no row holds), one line each
    warnings: list[str] = field(default_factory=list)

    def table(self, name: str) -> TableQuality:
        for t in self.tables:
            if t.table == name:
                return t
        raise KeyError(name)

    def count(self, table: str, reason: str) -> int:
        """How many rows of ``table`` had ``reason`` (0 when none)."""
        for t in self.tables:
            if t.table == table:
                return sum(i.count for i in t.issues if i.reason == reason)
        return 0

    @property
    def encodings(self) -> dict[str, str | None]:
        return {t.table: t.encoding for t in self.tables}

    @property
    def quarantined(self) -> int:
        return sum(t.quarantine.num_rows for t in self.tables if t.quarantine is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "checked": self.checked,
                "rows_quarantined": self.quarantined,
                "guardrails": [g.to_dict() for g in self.guardrails],
                "warnings": self.warnings,
                "tables": [t.to_dict() for t in self.tables]}

    def summary_lines(self) -> list[str]:
        """Per table a line, then per issue: what, which column, the values, where, the fix.

        ::

            orders: 4 rows read from 订单.csv (csv, gb18030), 2 used
              2 rows: a value outside the data contract's vocabulary (unknown_value, set
              aside) in column `状态` (orders.status)
                values: "已付款" (1), "已退款" (1)
                at: 订单.csv line 2 "已付款", line 3 "已退款"
                fix: map them in the model: sources.orders.values: {status: {已付款: ?, ...}}
        """
        lines = [] if self.checked else ["data checks skipped (checks=False): rows used as read"]
        lines += [f"warning: {w}" for w in self.warnings]
        for t in self.tables:
            enc = f", {t.encoding}" if t.encoding else ""
            lines.append(f"{t.table}: {t.rows_read:,} rows read from {t.origin} ({t.fmt}{enc}), "
                         f"{t.rows_used:,} used")
            lines += [f"  {step}" for step in t.steps]
            if t.extra_columns:
                lines.append("  own columns read: " + ", ".join(
                    f"{c} ({k})" for c, k in t.extra_columns.items()
                    if c not in t.derived_columns))
            for name, formula in t.derived_columns.items():
                lines.append(f"  derived: {name} = {formula}")
            for i in t.issues:
                lines.append("  " + i.headline())
                if i.bad_values:
                    shown = ", ".join(f"{_shown(v['value'])} ({v['count']:,})"
                                      for v in i.bad_values)
                    more = i.distinct_values - len(i.bad_values)
                    lines.append("    values: " + shown + (f" and {more:,} more" if more > 0
                                                           else ""))
                places = [f"{t.row_label} {e['row']}"
                          + (f" {_shown(e['value'])}" if e.get("value") is not None else "")
                          for e in i.examples]
                if places:
                    lines.append(f"    at: {t.origin} " + ", ".join(places))
                if i.hint:
                    lines.append("    fix: " + i.hint)
        return lines

    def guardrail_lines(self) -> list[str]:
        """One line per guardrail finding (:mod:`crindex.data.guardrails`), refusals first."""
        return ["guardrail " + g.line() for g in self.guardrails]

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``quality.json`` and ``quarantine/<table>.csv`` (UTF-8 with BOM) in ``folder``.

        The caller stages ``folder`` and renames it into place (see :mod:`crindex.output`).
        """
        import pyarrow.csv as pacsv

        folder = Path(folder)
        written = []
        report = folder / "quality.json"
        from crindex.util import dumps

        report.write_text(dumps(self.to_dict()), encoding="utf-8")
        written.append(report)
        for t in self.tables:
            if t.quarantine is None or t.quarantine.num_rows == 0:
                continue
            qdir = folder / "quarantine"
            qdir.mkdir(exist_ok=True)
            path = qdir / f"{t.table}.csv"
            with path.open("wb") as fh:
                fh.write(b"\xef\xbb\xbf")
                pacsv.write_csv(t.quarantine, fh)
            written.append(path)
        return written


def _shown(value: Any) -> str:
    """A value as the user wrote it, quoted so that spaces and empty text show."""
    return json.dumps(str(value), ensure_ascii=False)
