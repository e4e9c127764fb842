"""The customer list as a file: CSV (UTF-8 with a BOM, so spreadsheets read Chinese) or Excel.

An export holds what the list shows: the same filters, the same order, the same columns with
the page's headings in its language, and the values rounded as shown. Every matching row is
written (the list shows them a page at a time), up to :data:`MAX_ROWS`.
"""

from __future__ import annotations

import csv
import io
import re
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
    """The columns as an Excel workbook of one sheet (numbers as numbers, text as text).

    Written as the Office Open XML parts themselves (a sheet of inline strings, a stylesheet
    with the header in bold): 100k rows take about a second, where a general-purpose writer
    took minutes on a busy machine.
    """
    import zipfile
    from xml.sax.saxutils import escape as xml

    keys = shown(columns)

    def cell(value: Any, style: str = "") -> str:
        if value is None:
            return "<c/>"
        if isinstance(value, bool) or not isinstance(value, int | float):
            text = xml(_CONTROL.sub("", str(value)))
            return f'<c t="inlineStr"{style}><is><t xml:space="preserve">{text}</t></is></c>'
        return f"<c{style}><v>{value!r}</v></c>"

    def column(values: list[Any]) -> list[str]:
        """A column's cells; a value repeated (a tier, a score to 1 decimal) is written once."""
        cells = {v: cell(v) for v in dict.fromkeys(values)}
        return list(map(cells.__getitem__, values))

    cells = [column(columns[k]) for k in keys]
    rows = ['<row r="1">' + "".join(cell(h, ' s="1"') for h in headings(keys, t)) + "</row>"]
    rows += [f'<row r="{i}">{"".join(row)}</row>'
             for i, row in enumerate(zip(*cells, strict=True), start=2)]
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             f'<worksheet xmlns="{_MAIN}"><sheetData>' + "".join(rows)
             + "</sheetData></worksheet>")
    name = xml(_CONTROL.sub("", title[:31] or "customers"), {'"': "&quot;"})
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://'
            'schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/><Override PartName='
            '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
        "_rels/.rels": _rels([("officeDocument", "xl/workbook.xml")]),
        "xl/_rels/workbook.xml.rels": _rels([("worksheet", "worksheets/sheet1.xml"),
                                             ("styles", "styles.xml")]),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{_MAIN}"'
            f' xmlns:r="{_REL}"><sheets><sheet name="{name}" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>"),
        "xl/styles.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{_MAIN}">'
            '<fonts count="2"><font/><font><b/></font></fonts><fills count="2"><fill>'
            '<patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
            '</fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/>'
            '</cellStyleXfs><cellXfs count="2"><xf/><xf fontId="1" applyFont="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>"),
        "xl/worksheets/sheet1.xml": sheet,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for part, text in parts.items():
            book.writestr(part, text.encode("utf-8"))
    return buf.getvalue()


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _rels(targets: list[tuple[str, str]]) -> str:
    items = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/{kind}" Target="{target}"/>'
                    for i, (kind, target) in enumerate(targets, start=1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns='
            f'"http://schemas.openxmlformats.org/package/2006/relationships">{items}'
            "</Relationships>")


#: the control characters XML 1.0 cannot hold (tab and newlines are kept)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
