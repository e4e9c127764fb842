"""Strategy uplift: reproducible holdouts, kept in the store, and a planted effect recovered."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from crindex.api import score
from crindex.errors import DataError
from crindex.model import parse_model
from crindex.record import record_run
from crindex.stats import bootstrap_difference, holdout_draw, strategy_groups
from crindex.store import open_store
from crindex.uplift import uplift
from tests.conftest import failed

AS_OF = dt.date(2025, 6, 30)
PER_TIER = 2000

MODEL = """
name: uplift_world
dimensions:
  - id: all
    metrics:
      - {id: size, aggregate: attribute, column: employees, weight: 100, normalise: {method: identity}}
tiers:
  levels:
    - {id: high, min: 50, strategy: "call every month", holdout: 0.5}
    - {id: low, strategy: "nurture e-mails", holdout: {share: 0.5, seed: 3}}
"""

#: what the world plants: churn probability in the 90 days after AS_OF and the amount a retained
#: customer spends, by tier and group. The high tier's strategy works (retention +20 points,
#: revenue 0.9 x 150 - 0.7 x 100 = +65 per customer); the low tier's does nothing
PLANTED = {
    ("high", "treated"): (0.10, 150.0), ("high", "holdout"): (0.30, 100.0),
    ("low", "treated"): (0.25, 100.0), ("low", "holdout"): (0.25, 100.0),
}


def customers() -> pd.DataFrame:
    ids = [f"C{i:05d}" for i in range(2 * PER_TIER)]
    return pd.DataFrame({
        "customer_id": ids,
        "created_at": pd.Timestamp("2024-01-01"),
        "churned_at": pd.NaT,
        # the first half scores 80 (tier high), the rest 20 (tier low)
        "employees": [80.0] * PER_TIER + [20.0] * PER_TIER,
    })


def plant(frame: pd.DataFrame, assignment: pd.DataFrame, seed: int = 1
          ) -> dict[str, pd.DataFrame]:
    """What happens after AS_OF, drawn by each customer's tier and group.

    A 95% interval misses the truth in about one world in twenty: over plant seeds 1..12 the
    high tier's retention interval held the planted +0.20 in 11 (not seed 8) and the low
    tier's held 0 in 11 (not seed 5). The tests use seed 1.
    """
    rng = np.random.default_rng(seed)
    a = assignment.set_index("customer_id")
    churned_at, orders = [], []
    for cid in frame.customer_id:
        p_churn, amount = PLANTED[(a.at[cid, "tier"], a.at[cid, "strategy_group"])]
        if rng.random() < p_churn:
            churned_at.append(pd.Timestamp(AS_OF) + pd.Timedelta(days=int(rng.integers(1, 90))))
        else:
            churned_at.append(pd.NaT)
            orders.append((cid, pd.Timestamp(AS_OF) + pd.Timedelta(days=int(rng.integers(1, 90))),
                           amount))
    out = frame.assign(churned_at=churned_at)
    return {"customers": out, "orders": pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(orders))],
        "customer_id": [o[0] for o in orders], "ordered_at": [o[1] for o in orders],
        "amount": [o[2] for o in orders], "status": "paid"})}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The scored world in a store, and the data with what happened after AS_OF."""
    model = parse_model(MODEL, "uplift.yaml")
    result = score(model, {"customers": customers()}, AS_OF)
    store = open_store(tmp_path_factory.mktemp("uplift") / "history.duckdb")
    record_run(store, result, "fp")
    assignment = store.holdouts(store.latest_run().run_id)
    data = plant(customers(), assignment)
    yield model, result, store, assignment, data
    store.close()


def test_the_draw_is_a_hash_of_seed_and_id():
    # the same id and seed give the same draw; another seed another one; draws look uniform
    assert holdout_draw("C1", 0) == holdout_draw("C1", 0)
    assert holdout_draw("C1", 0) != holdout_draw("C1", 1)
    draws = np.array([holdout_draw(f"x{i}", 7) for i in range(4000)])
    assert 0 <= draws.min() and draws.max() < 1
    # 4,000 uniforms: the mean is 0.5 with a standard error of sqrt(1/12/4000) = 0.0046
    assert abs(draws.mean() - 0.5) < 0.02
    groups = strategy_groups(["a", "b", "c"], ["t", None, "u"], {"t": (0.999999, 0)})
    assert groups == ["holdout", None, None]


def test_the_assignment_is_exported_kept_and_reproducible(world):
    model, result, store, assignment, _ = world
    groups = dict(zip(result.table.column("customer_id").to_pylist(),
                      result.table.column("strategy_group").to_pylist(), strict=True))
    assert dict(zip(assignment.customer_id, assignment.strategy_group, strict=True)) == groups
    # about half of each tier is held out (binomial: sd sqrt(2000 / 4) = 22)
    for tier in ("high", "low"):
        held = (assignment[assignment.tier == tier].strategy_group == "holdout").sum()
        assert abs(held - PER_TIER / 2) < 150
    assert set(assignment.strategy[assignment.tier == "high"]) == {"call every month"}
    # scoring again (more customers, another day) keeps every customer's group
    again = score(model, {"customers": customers()}, AS_OF + dt.timedelta(days=1))
    assert dict(zip(again.table.column("customer_id").to_pylist(),
                    again.table.column("strategy_group").to_pylist(), strict=True)) == groups


def test_uplift_recovers_the_planted_effect_and_no_effect_where_none(world):
    import ibis

    _, _, _, assignment, data = world
    tables = {k: ibis.memtable(v) for k, v in data.items()}
    report = uplift(assignment, tables, AS_OF, "90d", n_boot=500, seed=1)
    rows = {r.tier: r for r in report.rows}
    high, low = rows["high"], rows["low"]
    assert high.strategy == "call every month" and high.treated + high.holdout == PER_TIER
    # planted: retention 0.90 - 0.70 = +0.20, revenue 0.9 x 150 - 0.7 x 100 = +65
    ret, rev = high.retention_uplift, high.revenue_uplift
    assert ret.low < 0.20 < ret.high and ret.low > 0, ret
    assert rev.low < 65 < rev.high and rev.low > 0, rev
    assert high.retention_effect and high.revenue_effect
    # the low tier's strategy does nothing: both intervals hold 0
    assert low.retention_uplift.low < 0 < low.retention_uplift.high, low.retention_uplift
    assert low.revenue_uplift.low < 0 < low.revenue_uplift.high, low.revenue_uplift
    assert not low.retention_effect and not low.revenue_effect
    # the point estimates are the plain differences of the groups' means
    assert high.retention_uplift.value == pytest.approx(
        high.retention_treated - high.retention_holdout, abs=1e-12)


def test_bootstrap_difference_by_hand():
    # treated 1, 1, 0, 1 (mean 0.75), holdout 0, 1, 0, 0 (0.25): 0.5
    ci = bootstrap_difference([1, 1, 0, 1], [0, 1, 0, 0], n_boot=200, seed=0)
    assert ci.value == pytest.approx(0.5, abs=1e-12)
    assert -1.0 <= ci.low <= 0.5 <= ci.high <= 1.0
    # seeded: the same interval again
    assert bootstrap_difference([1, 1, 0, 1], [0, 1, 0, 0], n_boot=200, seed=0) == ci
    assert bootstrap_difference([], [1.0]).value is None


def test_uplift_refuses_a_static_label():
    model = parse_model(MODEL + "churn: {label: churn_label}\n")
    with pytest.raises(DataError, match="static label"):
        uplift(pd.DataFrame(columns=["customer_id", "tier", "strategy", "strategy_group"]),
               {}, AS_OF, "90d", model.churn)


def test_the_uplift_command(world, tmp_path, cli):
    model, _, _, _, data = world
    folder = tmp_path / "data"
    folder.mkdir()
    for name, frame in data.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    model_file = tmp_path / "uplift.yaml"
    model_file.write_text(MODEL, encoding="utf-8")
    store = str(tmp_path / "s.duckdb")
    code, text = cli("score", "--model", str(model_file), "--data", str(folder), "--as-of",
                     str(AS_OF), "--store", store, "--out", str(tmp_path / "out"))
    assert code == 0, text
    # the scores file carries each customer's group
    exported = pd.read_csv(tmp_path / "out" / "scores.csv", encoding="utf-8-sig")
    assert set(exported.strategy_group) == {"treated", "holdout"}
    code, text = cli("uplift", "--model", str(model_file), "--data", str(folder), "--store",
                     store, "--horizon", "90d", "--bootstrap", "300", "--json")
    assert code == 0, text
    doc = json.loads(text[text.index("{"):], parse_constant=_refuse)  # strict: no NaN
    rows = {r["tier"]: r for r in doc["rows"]}
    assert rows["high"]["retention_effect"] and not rows["low"]["retention_effect"]
    assert doc["end"] == "2025-09-28"
    # the table form, and a store without holdouts: exit 2 with the fix, no traceback
    code, text = cli("uplift", "--model", str(model_file), "--data", str(folder), "--store",
                     store, "--bootstrap", "100")
    # (rich wraps the column heads to the terminal's width: look for the note under it)
    assert code == 0 and "the interval excludes 0: an effect" in " ".join(text.split())
    plain = tmp_path / "plain.yaml"
    plain.write_text(MODEL.replace(", holdout: 0.5", "").replace(
        ", holdout: {share: 0.5, seed: 3}", ""), encoding="utf-8")
    other = str(tmp_path / "other.duckdb")
    assert cli("score", "--model", str(plain), "--data", str(folder), "--as-of", str(AS_OF),
               "--store", other, "--out", str(tmp_path / "out2"))[0] == 0
    code, text = cli("uplift", "--model", str(plain), "--data", str(folder), "--store", other)
    failed(code, text, "holds no strategy holdout", "`holdout: 0.2` under the tier")


def _refuse(constant: str) -> None:
    raise AssertionError(f"{constant} in `crindex uplift --json`")
