"""The customer list's export files, read back by the readers people use (csv, openpyxl)."""

from __future__ import annotations

import csv
import io

from crindex.service.export import to_csv, to_xlsx


def words(key: str) -> str:
    return {"customer": "Customer", "name": "Name", "score": "Score", "change": "Change",
            "tier": "Tier", "open_alerts": "Open alerts"}[key]


COLUMNS = {"customer_id": ["C1", "C<2>&\x01"], "score": [1.5, None], "change": [-1.0, 2.25],
           "tier": ["风险客户", "Core"], "open_alerts": [0, 3]}


def test_csv_has_the_headings_the_values_and_a_bom_for_spreadsheets():
    data = to_csv(COLUMNS, words)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["Customer", "Score", "Change", "Tier", "Open alerts"],
                    ["C1", "1.5", "-1.0", "风险客户", "0"],
                    ["C<2>&\x01", "", "2.25", "Core", "3"]]


def test_xlsx_reads_back_with_numbers_as_numbers_and_no_control_characters():
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(to_xlsx(COLUMNS, words, "Customers")))
    sheet = book.active
    assert sheet.title == "Customers"
    assert list(sheet.iter_rows(values_only=True)) == [
        ("Customer", "Score", "Change", "Tier", "Open alerts"),
        ("C1", 1.5, -1.0, "风险客户", 0),
        ("C<2>&", None, 2.25, "Core", 3)]  # \x01 cannot be in XML: dropped
    assert sheet["A1"].font.b and not sheet["A2"].font.b
