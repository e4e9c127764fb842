"""CLV, P(alive) and expected purchases as metrics of a model file."""

from __future__ import annotations

import datetime as dt
import json

import ibis
import pandas as pd
import pytest

from crindex.api import score
from crindex.cli import contract_tables
from crindex.clv import BetaGeo, rfm_summary
from crindex.clv.cdnow import read_cdnow
from crindex.data import open_dataset
from crindex.engine.compile import compile_model
from crindex.errors import FitError, ModelError, NotFittedError, Reason
from crindex.model import parse_model
from crindex.output import result_summary
from tests.conftest import require_shared_data

MODEL = """
name: clv
dimensions:
  - id: value
    metrics:
      - {id: clv, aggregate: clv, params: {horizon: 39w, discount_rate: 0.0, model: bgnbd},
         weight: 40, normalise: {method: percentile}}
      - {id: alive, aggregate: p_alive, params: {model: bgnbd}, weight: 30,
         normalise: {method: range, min: 0, max: 1}}
      - {id: next, aggregate: expected_purchases, params: {horizon: 39w, model: bgnbd},
         weight: 30, normalise: {method: percentile}}
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


def test_metrics_reproduce_the_papers_prediction(cdnow):
    """The paper's figures on DuckDB; that Spark gives every customer the same scores on the
    same model and data is tests/test_spark.py::test_a_clv_model_scores_on_spark_as_on_duckdb
    (one Spark job instead of two: the suite's time)."""
    result = score(parse_model(MODEL), cdnow, as_of=AS_OF)
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


def test_bad_params_are_reported_together_when_the_model_is_loaded():
    bad = MODEL.replace("{horizon: 39w, discount_rate: 0.0, model: bgnbd}",
                        "{horizon: soon, discount_rate: -1, colour: red, model: pareto}")
    with pytest.raises(ModelError) as err:
        parse_model(bad, "clv.yaml")
    assert len(err.value.problems) == 4
    assert err.value.reasons == {Reason.BAD_PARAMETER}
    assert all(p.where == "clv.yaml:6" for p in err.value.problems)


# --------------------------------------------------------------------------------------------
# fit, then compile: the fit is explicit and reported, compile runs nothing


def test_the_fitted_parameters_are_the_published_ones_and_are_reported(cdnow):
    result = score(parse_model(MODEL), cdnow, as_of=AS_OF)
    report = result.fitted.report()
    assert set(report) == {"clv", "alive", "next"}
    # BG/NBD on CDNOW (Fader, Hardie & Lee 2005): r 0.243, alpha 4.414, a 0.793, b 2.426
    for metric in report.values():
        assert metric["customers"] == 2357
        assert metric["purchases"] == pytest.approx(
            {"r": 0.2426, "alpha": 4.414, "a": 0.7929, "b": 2.426}, rel=1e-3)
        assert metric["log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    # Gamma-Gamma on the 946 repeat buyers (Fader, Hardie & Lee 2005, JMR)
    assert report["clv"]["repeat_buyers"] == 946
    assert report["clv"]["spend"] == pytest.approx({"p": 6.249, "q": 3.745, "gamma": 15.45},
                                                   rel=1e-3)
    assert result_summary(result)["fitted"] == report
    assert "fitted" not in result_summary(score(parse_model(MODEL.replace(
        "aggregate: clv", "aggregate: sum, column: amount").replace(
        "aggregate: p_alive", "aggregate: count").replace(
        "aggregate: expected_purchases", "aggregate: max, column: amount").replace(
        ", params: {horizon: 39w, discount_rate: 0.0, model: bgnbd}", "").replace(
        ", params: {model: bgnbd}", "").replace(
        ", params: {horizon: 39w, model: bgnbd}", "")), cdnow, as_of=AS_OF))


def test_result_sql_is_the_query_that_ran(cdnow):
    con = ibis.duckdb.connect()
    result = score(parse_model(MODEL), cdnow, as_of=AS_OF, con=con)
    names = {m: f["table"] for m, f in result.fitted.report().items()}
    assert all(name.startswith(f"clv__{m}_") for m, name in names.items())
    assert all(f'"{name}"' in result.sql for name in names.values())
    # the SQL text, run as it is on the same connection, gives the same scores
    again = con.con.sql(result.sql).to_arrow_table()
    assert again.sort_by("customer_id").equals(result.table.sort_by("customer_id"))
    # the name follows the content: other orders, other predictions, another table
    fewer = {**cdnow, "orders": cdnow["orders"].iloc[:-50]}
    other = score(parse_model(MODEL), fewer, as_of=AS_OF, con=con).fitted.report()
    assert other["clv"]["table"] != names["clv"]


def test_compile_runs_nothing_and_needs_the_fit(cdnow, tmp_path):
    from crindex.engine.fit import ModelFit, fit_model

    db = ibis.duckdb.connect(str(tmp_path / "cdnow.duckdb"))
    for name, frame in cdnow.items():
        db.con.from_df(frame).create(name)
    db.disconnect()
    dataset = open_dataset(str(tmp_path / "cdnow.duckdb"))
    con, tables = dataset.con, dataset.tables
    model = parse_model(MODEL)
    with pytest.raises(NotFittedError) as err:
        compile_model(model, tables, AS_OF)
    assert "metric `clv` (clv) needs its model fitted" in str(err.value)
    with pytest.raises(NotFittedError):
        ModelFit(model).report()
    fitted = fit_model(model, tables, AS_OF)
    assert all(k.endswith("_") for k in vars(fitted) if k != "model")
    learned = fitted.get("clv")
    assert {k for k in vars(learned) if k.endswith("_")} == {
        "purchases_", "spend_", "predictions_", "table_", "warnings_"}
    con.disconnect()  # compiling now would fail on any query: it runs none
    compiled = compile_model(model, tables, AS_OF, fitted=fitted)
    assert learned.table_.get_name() in compiled.sql()
    with pytest.raises(FitError) as err:
        compile_model(model, tables, dt.date(1997, 12, 31), fitted=fitted)
    assert err.value.reason == Reason.INCONSISTENT


def test_validate_with_data_and_score_print_the_fitted_figures(cdnow, tmp_path, cli):
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in cdnow.items():
        frame.to_csv(data / f"{name}.csv", index=False)
    model = tmp_path / "clv.yaml"
    model.write_text(MODEL, encoding="utf-8")
    code, text = cli("validate", "--model", str(model), "--data", str(data), "--as-of",
                     str(AS_OF))
    assert code == 0, text
    flat = " ".join(text.split())
    assert "metric `alive`: bgnbd fitted on 2,357 customers, r 0.2426, alpha 4.414, a 0.7929, " \
           "b 2.426" in flat
    assert "metric `clv`: bgnbd fitted on 2,357 customers" in flat
    assert "gamma-gamma on 946 repeat buyers, p 6.2" in flat
    code, text = cli("score", "--model", str(model), "--data", str(data), "--as-of",
                     str(AS_OF), "--out", str(tmp_path / "out"))
    assert code == 0, text
    assert "metric `next`: bgnbd fitted on 2,357 customers" in " ".join(text.split())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["fitted"]["clv"]["spend"]["p"] == pytest.approx(6.249, rel=1e-3)


def test_the_same_data_gives_the_same_query(cdnow):
    """The predictions' table is named after its content in customer order: two runs on the
    same data compile to the same SQL (model.sql does not change from run to run)."""
    model = parse_model(MODEL)
    first = score(model, cdnow, as_of=AS_OF)
    shuffled = {name: frame.sample(frac=1.0, random_state=3) for name, frame in cdnow.items()}
    second = score(model, shuffled, as_of=AS_OF)
    assert first.sql == second.sql
