"""Guarded CLV: a fit that runs away is refused, a prediction that is not a number is missing,
repeat buyers spending $0 are set aside by name, and P(alive) lets one-time buyers drop out.

Small synthetic worlds (a few hundred orders), so every test fits in a second or two.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from crindex.api import score
from crindex.clv import BetaGeo
from crindex.errors import FitError
from crindex.model import parse_model
from tests.conftest import failed

AS_OF = dt.date(2025, 6, 30)


def one_metric(metric: str) -> str:
    return f"""\
name: guards
dimensions:
  - id: d
    metrics:
      - {metric}
"""


def world(customers: list[tuple[str, list[tuple[float, float]]]]) -> dict[str, pd.DataFrame]:
    """Frames of customers with their paid orders: (weeks before AS_OF, amount) each."""
    end = pd.Timestamp(AS_OF)
    orders = [{"order_id": f"{cid}-{i}", "customer_id": cid, "status": "paid",
               "ordered_at": end - pd.Timedelta(weeks=w), "amount": amount}
              for cid, buys in customers for i, (w, amount) in enumerate(buys)]
    return {"customers": pd.DataFrame({"customer_id": [cid for cid, _ in customers],
                                       "created_at": end - pd.Timedelta(weeks=60)}),
            "orders": pd.DataFrame(orders)}


def shop(seed: int = 7, n: int = 120) -> list[tuple[str, list[tuple[float, float]]]]:
    """A shop with heterogeneous buyers who drop out: rates gamma(0.5, 0.25)/week, each buyer
    gone after each purchase with a probability beta(1, 2) across buyers (the BG/NBD story; a
    probability equal for all would send a and b to infinity), spend gamma around a
    per-customer mean; first purchases spread over the 52 weeks before AS_OF."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        first = float(rng.uniform(1, 52))
        rate = float(rng.gamma(0.5, 0.25))
        mean = float(rng.gamma(4.0, 10.0))
        drop = float(rng.beta(1.0, 2.0))
        buys, t = [(first, round(mean, 2))], first
        while rng.random() > drop:
            t -= float(rng.exponential(1 / rate))
            if t <= 0:
                break
            buys.append((t, round(float(rng.gamma(6.0, mean / 6.0)), 2)))
        out.append((f"s{i:03d}", buys))
    return out


# --------------------------------------------------------------------------------------------
# a fit that runs away is refused, with the reason and the fix


def steady(n: int = 150, seed: int = 0) -> list[tuple[str, list[tuple[float, float]]]]:
    """Everyone buys every ~6 weeks and nobody ever drops out: nothing for BG/NBD to learn
    about heterogeneity or dropout, so its likelihood rises toward a limit of the model."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        first = float(rng.uniform(20, 52))
        times = first - np.cumsum(np.concatenate([[0.0], rng.exponential(6.0, 40)]))
        out.append((f"c{i:03d}", [(float(w), 50.0) for w in times if w > 0]))
    return out


def test_a_runaway_fit_is_refused_naming_the_model_its_parameters_and_the_fix():
    data = world(steady())
    model = parse_model(one_metric(
        "{id: alive, aggregate: p_alive, params: {model: bgnbd}, weight: 100, "
        "normalise: {method: range, min: 0, max: 1}}"), "m.yaml")
    with pytest.raises(FitError) as err:
        score(model, data, AS_OF)
    text = " ".join(str(err.value).split())
    assert "m.yaml:5: metric `alive` (p_alive): the BG/NBD fit ran away" in text
    assert "left the sane range 1e-06..10000 of a shape parameter" in text
    assert "(fitted: r " in text and "alpha " in text and ", b " in text
    assert "set a penalizer (params: {penalizer: 0.01}" in text
    assert "model: mbgnbd or bgnbd" in text


def test_the_cli_refuses_a_runaway_fit_with_exit_2_and_writes_nothing(tmp_path, cli):
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in world(steady()).items():
        frame.to_csv(data / f"{name}.csv", index=False)
    model = tmp_path / "m.yaml"
    model.write_text(one_metric("{id: next, aggregate: expected_purchases, params: {model: "
                                "bgnbd}, weight: 100, normalise: {method: percentile}}"),
                     encoding="utf-8")
    code, text = cli("score", "--model", str(model), "--data", str(data), "--as-of",
                     str(AS_OF), "--out", str(tmp_path / "out"))
    failed(code, text, f"{model}:5: metric `next` (expected_purchases): the BG/NBD fit ran away")
    assert not (tmp_path / "out").exists()


def test_a_fit_in_the_sane_range_is_not_refused():
    data = world(shop())
    result = score(parse_model(one_metric(
        "{id: alive, aggregate: p_alive, params: {model: bgnbd}, weight: 100, "
        "normalise: {method: range, min: 0, max: 1}}")), data, AS_OF)
    params = result.fitted.report()["alive"]["purchases"]
    assert all(1e-6 <= v <= 1e4 for k, v in params.items() if k != "alpha")


# --------------------------------------------------------------------------------------------
# a prediction that is not a number is missing, never a score


def test_a_prediction_that_is_not_a_number_is_missing_never_100(monkeypatch):
    import crindex.clv.metrics as clv

    # the runaway parameters of the issue (a 1351, b 4.6e6): the hypergeometric term of the
    # conditional expectation is 0 x inf, so every buyer's expected purchases are NaN
    runaway = BetaGeo().set_params_(r=0.24, alpha=4.4, a=1351.0, b=4.6e6)
    monkeypatch.setattr(clv, "fit_purchases", lambda summary, settings: runaway)
    data = world(shop(n=30))
    model = parse_model(one_metric(
        "{id: next, aggregate: expected_purchases, weight: 100, "
        "normalise: {method: percentile}, missing: zero}"))
    result = score(model, data, AS_OF)
    rows = result.table.to_pylist()
    assert len(rows) == 30
    assert all(r["next__raw"] is None and r["next__missing"] for r in rows)
    # missing: zero gives 0 points, never the 100 a NaN once ranked as
    assert {r["next__score"] for r in rows} == {0.0}
    assert result.fitted.report()["next"]["missing"] == 30
    assert "metric `next`: 30 of 30 buyer(s) got a prediction that is not a number; they are " \
           "missing (the metric's missing policy applies), never scored" in result.warnings


# --------------------------------------------------------------------------------------------
# repeat buyers spending $0 are set aside and named; the run goes on


def test_zero_spend_repeat_buyers_are_set_aside_by_name_and_the_run_continues():
    zero = [("z1", [(30.0, 0.0), (20.0, 0.0), (10.0, 0.0)]), ("z2", [(40.0, 0.0), (5.0, 0.0)])]
    data = world(shop() + zero)
    model = parse_model(one_metric(
        "{id: clv, aggregate: clv, params: {horizon: 26w}, weight: 100, "
        "normalise: {method: percentile}, missing: zero}"))
    result = score(model, data, AS_OF)
    raw = dict(zip(result.table.column("customer_id").to_pylist(),
                   result.table.column("clv__raw").to_pylist(), strict=True))
    assert raw["z1"] is None and raw["z2"] is None
    scored = [v for k, v in raw.items() if k not in ("z1", "z2")]
    assert len(scored) == 120 and all(v is not None and v > 0 for v in scored)
    report = result.fitted.report()["clv"]
    assert report["missing"] == 2
    warning = next(w for w in result.warnings if "set aside" in w)
    assert warning.startswith("metric `clv`: 2 repeat buyer(s) with a mean repeat spend that "
                              "is not > 0 set aside from the Gamma-Gamma spend fit")
    assert warning.count("z1") == 1 and warning.count("z2") == 1


def test_the_cli_prints_the_customers_set_aside(tmp_path, cli):
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in world(shop() + [("z1", [(30.0, 0.0), (20.0, 0.0)])]).items():
        frame.to_csv(data / f"{name}.csv", index=False)
    model = tmp_path / "m.yaml"
    model.write_text(one_metric("{id: clv, aggregate: clv, weight: 100, "
                                "normalise: {method: percentile}}"), encoding="utf-8")
    code, text = cli("score", "--model", str(model), "--data", str(data), "--as-of",
                     str(AS_OF), "--out", str(tmp_path / "out"))
    assert code == 0, text
    assert "warning: metric `clv`: 1 repeat buyer(s) with a mean repeat spend that is not > 0 " \
           "set aside" in " ".join(text.split())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert any(w.startswith("metric `clv`: 1 repeat buyer(s)") and w.count("z1") == 1
               for w in summary["warnings"])
    assert summary["fitted"]["clv"]["missing"] == 1
    code, text = cli("validate", "--model", str(model), "--data", str(data), "--as-of",
                     str(AS_OF))
    assert code == 0, text
    assert "warning: metric `clv`: 1 repeat buyer(s)" in " ".join(text.split())


# --------------------------------------------------------------------------------------------
# P(alive): MBG/NBD by default, so a one-time buyer is not certainly alive


def test_p_alive_of_one_time_buyers_is_below_1_by_default_and_bgnbd_warns():
    data = world(shop())
    once = [cid for cid, buys in shop() if len(buys) == 1]
    assert len(once) > 0.3 * 120  # the world has many one-time buyers

    def alive(params: str):
        result = score(parse_model(one_metric(
            f"{{id: alive, aggregate: p_alive, {params}weight: 100, "
            "normalise: {method: range, min: 0, max: 1}}")), data, AS_OF)
        raw = dict(zip(result.table.column("customer_id").to_pylist(),
                       result.table.column("alive__raw").to_pylist(), strict=True))
        return result, [raw[c] for c in once]

    result, default = alive("")
    assert result.fitted.report()["alive"]["model"] == "mbgnbd"
    assert all(0 < p < 1 for p in default)
    assert not result.warnings
    result, bgnbd = alive("params: {model: bgnbd}, ")
    assert set(bgnbd) == {1.0}  # BG/NBD: no repeat purchase, no chance to have dropped out
    assert any(f"BG/NBD gives each of the {len(once)} one-time buyers" in w
               and "model: mbgnbd (the default)" in w for w in result.warnings)
