"""The data-quality report: what was read, what was set aside and why, with examples.

Every problem is counted per table and reason, with up to five examples that say where the row
is in the user's own file (CSV line, Excel row). Rows set aside ("quarantined") are kept with
the user's own columns plus the reason, and written beside the report so they can be fixed and
loaded again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: what each reason means, for people
REASONS: dict[str, str] = {
    "missing_value": "a required value is empty",
    "unparseable_date": "a date that cannot be read",
    "unparseable_number": "a number that cannot be read",
    "unparseable_bool": "a yes/no value that cannot be read",
    "duplicate_id": "an id seen before in the same table (the first row is kept)",
    "orphan": "a customer_id that is not in customers",
    "negative_amount": "a negative amount on an order that is not refunded",
    "out_of_range": "a score outside its scale (nps 0-10, csat 1-5, ces 1-7, satisfaction 1-5)",
    "after_as_of": "dated after as_of: kept, but not used for this as_of",
    "created_after_as_of": "customer created after as_of: kept, not scored for this as_of",
}

#: reasons that only inform: those rows are kept
INFORMATIONAL = frozenset({"after_as_of", "created_after_as_of"})


@dataclass
class Issue:
    """One kind of problem in one table."""

    table: str
    reason: str
    count: int
    examples: list[dict[str, Any]]

    @property
    def quarantined(self) -> bool:
        return self.reason not in INFORMATIONAL

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "reason": self.reason, "meaning": REASONS.get(self.reason),
                "count": self.count, "quarantined": self.quarantined,
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

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "source": self.origin, "format": self.fmt,
                "encoding": self.encoding, "rows_read": self.rows_read,
                "rows_used": self.rows_used,
                "rows_quarantined": self.quarantine.num_rows if self.quarantine is not None
                else 0,
                "issues": [i.to_dict() for i in self.issues]}


@dataclass
class QualityReport:
    """The data-quality report of one load."""

    as_of: str | None
    tables: list[TableQuality] = field(default_factory=list)

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
        return {"as_of": self.as_of, "rows_quarantined": self.quarantined,
                "tables": [t.to_dict() for t in self.tables]}

    def summary_lines(self) -> list[str]:
        """One line per table, then one per problem with where to look."""
        lines = []
        for t in self.tables:
            enc = f", {t.encoding}" if t.encoding else ""
            lines.append(f"{t.table}: {t.rows_read:,} rows read from {t.origin} ({t.fmt}{enc}), "
                         f"{t.rows_used:,} used")
            for i in t.issues:
                where = ", ".join(f"{t.row_label} {e['row']}" for e in i.examples)
                kept = "kept" if not i.quarantined else "set aside"
                lines.append(f"  {i.count:,} {REASONS.get(i.reason, i.reason)} ({i.reason}, "
                             f"{kept}), e.g. {where}")
        return lines

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``quality.json`` and ``quarantine/<table>.csv`` (UTF-8 with BOM) in ``folder``.

        The caller stages ``folder`` and renames it into place (see :mod:`crindex.output`).
        """
        import pyarrow.csv as pacsv

        folder = Path(folder)
        written = []
        report = folder / "quality.json"
        report.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str),
                          encoding="utf-8")
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
