"""The customer list as a file: CSV (UTF-8 with a BOM, so spreadsheets read Chinese) or Excel.

An export holds what the list shows: the same filters, the same order, the same columns with
the page's headings in its language, and the values rounded as shown. Every matching row is
written (the list shows them a page at a time), up to :data:`MAX_ROWS`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

#: the most rows one export writes (Excel's sheet limit is 1,048,576 rows)
MAX_ROWS = 1_000_000

#: the list's columns in the order shown, and the heading word of each (pages.WORDS)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("customer_id", "customer"), ("name", "name"), ("score", "score"),
    ("adjusted_score", "adjusted"), ("change", "change"), ("tier", "tier"),
    ("coverage", "coverage"), ("owner", "owner"), ("segment", "segment"),
    ("open_alerts", "open_alerts"),
)


def shown(columns: dict[str, list[Any]]) -> list[str]:
    """The keys of ``columns`` the list shows, in its order (``name`` only when kept)."""
    return [key for key, _ in COLUMNS if key in columns]


def headings(keys: Sequence[str], t: Callable[..., str]) -> list[str]:
    words = dict(COLUMNS)
    return [t(words[k]) for k in keys]


def to_csv(columns: dict[str, list[Any]], t: Callable[..., str]) -> bytes:
    """The columns as CSV text (a header row of the page's headings, then one row each)."""
    keys = shown(columns)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headings(keys, t))
    writer.writerows(zip(*(["" if v is None else v for v in columns[k]] for k in keys),
                         strict=True))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(columns: dict[str, list[Any]], t: Callable[..., str], title: str) -> bytes:
    """The columns as an Excel workbook of one sheet (numbers as numbers)."""
    from openpyxl import Workbook

    keys = shown(columns)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31] or "customers")
    sheet.append(headings(keys, t))
    for row in zip(*(columns[k] for k in keys), strict=True):
        sheet.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
