"""How numbers and times look in the CSVs crindex writes (Parquet keeps full precision)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from crindex.output import csv_ready, write_csv_bom


def test_csv_rounds_scores_and_money_and_cuts_timestamps_to_the_second(tmp_path: Path):
    table = pa.table({
        "customer_id": ["a", "b", "c"],
        # 24.861111111111107 -> 24.86; 1234.5678 (money) -> 1234.57; -0.001 -> -0.00 -> 0
        "score": [24.861111111111107, 1234.5678, -0.001],
        "scored_at": pa.array([dt.datetime(2025, 12, 31, 8, 15, 42, 987654)] * 3),
        "n": [1, 2, 3],
    })
    write_csv_bom(table, tmp_path / "s.csv")
    text = (tmp_path / "s.csv").read_bytes().decode("utf-8-sig")
    assert text.splitlines() == [
        '"customer_id","score","scored_at","n"',
        '"a",24.86,2025-12-31 08:15:42,1',
        '"b",1234.57,2025-12-31 08:15:42,2',
        '"c",0,2025-12-31 08:15:42,3',
    ]
    # the rule belongs to the CSV only: the table itself (and so Parquet) keeps every digit
    pq.write_table(table, tmp_path / "s.parquet")
    assert pq.read_table(tmp_path / "s.parquet").column("score")[0].as_py() == 24.861111111111107
    assert csv_ready(table).column("score").to_pylist() == [24.86, 1234.57, 0.0]
