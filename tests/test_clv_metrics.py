"""CLV, P(alive) and expected purchases as metrics of a model file."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from crindex.api import score
from crindex.cli import contract_tables
from crindex.clv import BetaGeo, rfm_summary
from crindex.clv.cdnow import read_cdnow
from crindex.engine.compile import compile_model
from crindex.errors import ModelError, Reason
from crindex.model import parse_model
from tests.conftest import require_shared_data

MODEL = """
name: clv
dimensions:
  - id: value
    metrics:
      - {id: clv, aggregate: clv, params: {horizon: 39w, discount_rate: 0.0}, weight: 40,
         normalise: {method: percentile}}
      - {id: alive, aggregate: p_alive, weight: 30, normalise: {method: range, min: 0, max: 1}}
      - {id: next, aggregate: expected_purchases, params: {horizon: 39w}, weight: 30,
         normalise: {method: percentile}}
"""
AS_OF = dt.date(1997, 9, 30)


@pytest.fixture(scope="module")
def cdnow() -> dict[str, pd.DataFrame]:
    orders = read_cdnow(require_shared_data() / "cdnow" / "CDNOW_sample.txt")
    ids = sorted(orders.customer_id.unique())
    customers = pd.DataFrame({"customer_id": ids + ["never_bought"],
                              "created_at": pd.Timestamp("1997-01-01")})
    return {"customers": customers, "orders": orders}


def raw(result, metric):
    return dict(zip(result.table.column("customer_id").to_pylist(),
                    result.table.column(f"{metric}__raw").to_pylist(), strict=True))


@pytest.mark.not_on("spark", reason="the fitted predictions are an in-memory table that the "
                    "Spark session cannot see (TABLE_OR_VIEW_NOT_FOUND)")
def test_metrics_reproduce_the_papers_prediction(cdnow, con):
    result = score(parse_model(MODEL), cdnow, as_of=AS_OF, con=con)
    # customer 1 of the sample is the paper's example: x = 2, t_x = 30.43, T = 38.86
    assert round(raw(result, "next")["1"], 3) == 1.226
    # P(alive) = 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) = 0.7266 (test_clv_models)
    assert raw(result, "alive")["1"] == pytest.approx(0.7266, abs=5e-4)
    # a customer with no repeat purchase is alive for sure under BG/NBD
    assert raw(result, "alive")["3"] == 1.0
    # no purchase: no prediction, the missing policy applies
    assert raw(result, "clv")["never_bought"] is None
    # undiscounted CLV = expected spend x expected purchases over the horizon (monthly steps
    # telescope): spend = (gamma + x m) p / (p x + q - 1) with the fitted Gamma-Gamma
    clv = raw(result, "clv")["1"]
    assert clv == pytest.approx(raw(result, "next")["1"] * 24.66, rel=0.005)


def test_metrics_equal_the_python_api_and_ignore_later_and_unpaid_orders(cdnow):
    later = pd.DataFrame({"order_id": ["x1", "x2"], "customer_id": ["1", "2"],
                          "ordered_at": [pd.Timestamp("1997-10-15"), pd.Timestamp("1997-05-01")],
                          "amount": [500.0, 80.0], "status": ["paid", "refunded"]})
    data = {**cdnow, "orders": pd.concat([cdnow["orders"], later], ignore_index=True)}
    result = score(parse_model(MODEL), data, as_of=AS_OF)
    summary = rfm_summary(ibis.memtable(cdnow["orders"]), AS_OF).to_pandas()
    model = BetaGeo().fit(summary)
    expected = dict(zip(summary.customer_id, model.p_alive(summary.x, summary.t_x,
                                                             summary["T"]), strict=True))
    got = raw(result, "alive")
    # raw values are kept to 9 decimals
    assert all(got[k] == pytest.approx(v, rel=1e-6, abs=1e-9) for k, v in expected.items())


def test_sql_without_data_names_the_prediction_table():
    sql = compile_model(parse_model(MODEL), contract_tables(), AS_OF).sql()
    assert "clv__clv" in sql and "clv__alive" in sql


def test_bad_params_are_reported_together():
    bad = MODEL.replace("{horizon: 39w, discount_rate: 0.0}",
                        "{horizon: soon, discount_rate: -1, colour: red, model: pareto}")
    with pytest.raises(ModelError) as err:
        compile_model(parse_model(bad), contract_tables(), AS_OF)
    assert len(err.value.problems) == 4
    assert err.value.reasons == {Reason.BAD_PARAMETER}
