"""`crindex score --store` keeps snapshots; `explain --store` shows adjustments in force."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crindex.store import open_store

from .conftest import five_frames

CRINDEX = [sys.executable, "-m", "crindex.cli"]
MODEL = """
name: five
dimensions:
  - id: all
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 100,
         normalise: {method: range, min: 0, max: 4000}}
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CRINDEX, *args], capture_output=True, text=True, timeout=120)


def test_score_store_adjust_explain(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in five_frames().items():
        frame.to_parquet(data / f"{name}.parquet")
    model = tmp_path / "five.yaml"
    model.write_text(MODEL, encoding="utf-8")
    store = str(tmp_path / "h.duckdb")
    common = ["--model", str(model), "--data", str(data), "--as-of", "2025-06-30"]
    for _ in range(2):  # the same model and as_of twice: one snapshot, replaced
        proc = run("score", *common, "--out", str(tmp_path / "out"), "--store", store)
        assert proc.returncode == 0, proc.stderr
    st = open_store(store)
    try:
        runs = st.runs("five")
        assert [r.as_of.isoformat() for r in runs] == ["2025-06-30"]
        scores = st.scores(runs[0].run_id).set_index("customer_id")["score"]
    finally:
        st.close()
    # c1's paid orders in (2024-06-30, 2025-06-30]: 1000 + 500 = 1500 (the -300 is refunded,
    # 9999 is after as_of, 2000 is before the window) -> 1500 / 4000 x 100 = 37.5
    assert scores["c1"] == 37.5
    proc = run("adjust", "c1", "--points", "+5", "--reason", "key account", "--by", "alice",
               "--store", store)
    assert proc.returncode == 0, proc.stderr
    proc = run("explain", "c1", *common, "--store", store, "--json")
    assert proc.returncode == 0, proc.stderr
    ex = json.loads(proc.stdout)
    assert ex["score"] == 37.5  # the model's own arithmetic stays as it is
    [adj] = ex["adjustments"]
    assert adj["points"] == 5 and adj["made_by"] == "alice"
    assert adj["score_after"] == 42.5 and adj["tier_after"] == "at_risk"
