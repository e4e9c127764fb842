"""Every portfolio KPI on a tiny world, computed by hand.

as_of 2025-06-30, period 90d: the period is 2025-04-02 .. 2025-06-30 (start 04-01 excluded).

customers   segment owner created     churned
  c1        A       X     2024-01-01  -
  c2        A       Y     2024-06-01  2025-05-15   (churns in the period)
  c3        B       X     2025-01-10  -
  c4        B       Y     2025-05-01  -            (new in the period)
  c5        A       X     2025-06-10  2025-06-20   (new and churned in the period)
  c6        B       Y     2024-02-01  2025-03-01   (churned before the period)
  c7        B       Y     2025-07-10  -            (created after as_of: never counted)
  c8        A       X     2023-01-01  -
"""

from __future__ import annotations

import json
import math

import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from crindex.calendar import WEEKS_PER_MONTH
from crindex.clv import BetaGeo, GammaGamma, customer_lifetime_value
from crindex.data import open_dataset
from crindex.errors import DataError, Reason
from crindex.kpis import kpis

AS_OF = "2025-06-30"


def tables_of(frames):
    """In-memory frames opened as any data is: checked, then the canonical tables."""
    return open_dataset(frames).tables


def ts(*values):
    return [pd.Timestamp(v) if v else None for v in values]


def world() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame({
        "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"],
        "segment": ["A", "A", "B", "B", "A", "B", "B", "A"],
        "owner": ["X", "Y", "X", "Y", "X", "Y", "Y", "X"],
        "created_at": ts("2024-01-01", "2024-06-01", "2025-01-10", "2025-05-01", "2025-06-10",
                         "2024-02-01", "2025-07-10", "2023-01-01"),
        "churned_at": ts(None, "2025-05-15", None, None, "2025-06-20", "2025-03-01", None, None),
    })
    orders = pd.DataFrame([
        ("o1", "c1", "2025-04-10", 100.0, "paid"),
        ("o2", "c1", "2025-05-10", 200.0, "paid"),
        ("o3", "c1", "2025-06-10", 300.0, "paid"),
        ("o4", "c1", "2025-06-11", -50.0, "refunded"),   # not a purchase
        ("o5", "c1", "2025-07-05", 999.0, "paid"),       # after as_of
        ("o6", "c2", "2025-04-20", 50.0, "paid"),
        ("o7", "c2", "2025-01-01", 500.0, "paid"),       # before the period
        ("o8", "c3", "2025-05-05", 80.0, "paid"),
        ("o9", "c3", "2025-05-05", 20.0, "paid"),        # same day: one purchase day
        ("o10", "c4", "2025-06-01", 400.0, "paid"),
        ("o11", "c4", "2025-06-15", 100.0, "paid"),
        ("o12", "c5", "2025-06-12", 30.0, "paid"),
        ("o13", "c8", "2025-03-01", 700.0, "paid"),      # before the period
    ], columns=["order_id", "customer_id", "ordered_at", "amount", "status"])
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    surveys = pd.DataFrame([
        ("c1", "2025-05-01", "nps", 10.0), ("c2", "2025-05-01", "nps", 9.0),
        ("c3", "2025-05-01", "nps", 5.0), ("c4", "2025-06-01", "nps", 7.0),
        ("c8", "2025-05-01", "nps", 8.0),
        ("c1", "2025-01-15", "nps", 0.0),                # before the period
        ("c3", "2025-07-02", "nps", 0.0),                # after as_of
        ("c1", "2025-05-01", "csat", 5.0), ("c2", "2025-05-01", "csat", 4.0),
        ("c3", "2025-05-01", "csat", 3.0), ("c4", "2025-06-01", "csat", 2.0),
        ("c1", "2025-05-01", "ces", 2.0), ("c3", "2025-05-01", "ces", 4.0),
        ("c4", "2025-06-01", "ces", 6.0),
    ], columns=["customer_id", "answered_at", "kind", "score"])
    surveys["answered_at"] = pd.to_datetime(surveys["answered_at"])
    interactions = pd.DataFrame([
        ("c1", "2025-05-02", "ticket_resolved", 2.0), ("c3", "2025-06-01", "ticket_resolved", 5.0),
        ("c4", "2025-06-02", "ticket_resolved", 8.0),
        ("c1", "2025-03-01", "ticket_resolved", 100.0),  # before the period
        ("c2", "2025-05-03", "ticket_opened", 50.0),     # another kind
    ], columns=["customer_id", "occurred_at", "kind", "value"])
    interactions["occurred_at"] = pd.to_datetime(interactions["occurred_at"])
    leads = pd.DataFrame({
        "lead_id": ["L1", "L2", "L3", "L4", "L5"],
        "created_at": ts("2025-04-15", "2025-05-20", "2025-06-01", "2025-06-30", "2025-02-01"),
        "converted_customer_id": ["c4", "c5", None, None, "c3"],
    })
    spend = pd.DataFrame({
        "period_start": ts("2025-03-01", "2025-03-23", "2025-06-01", "2025-06-21", "2025-07-01"),
        "period_end": ts("2025-03-31", "2025-04-11", None, "2025-07-10", "2025-07-31"),
        "amount": [310.0, 200.0, 150.0, 200.0, 999.0],
    })
    return {"customers": customers, "orders": orders, "surveys": surveys,
            "interactions": interactions, "leads": leads, "spend": spend}


BG = BetaGeo().set_params_(r=0.243, alpha=4.414, a=0.793, b=2.426)
GG = GammaGamma().set_params_(p=6.25, q=3.74, gamma=15.44)


def expected_clv(x, t_x_days, T_days, m):
    # 12 monthly periods, 10% a year discounted monthly, times in weeks
    return customer_lifetime_value(
        BG, GG, x, [d / 7 for d in t_x_days], [d / 7 for d in T_days], m, periods=12,
        period_length=WEEKS_PER_MONTH, discount_rate=1.1 ** (WEEKS_PER_MONTH * 7 / 365.25) - 1)


@pytest.fixture(scope="module")
def report():
    scores = pd.DataFrame({"customer_id": ["c1", "c3", "c4", "c8"],
                           "score": [80.0, 60.0, 40.0, 20.0]})
    return kpis(tables_of(world()), AS_OF, "90d", by="segment", scores=scores,
                clv_models=(BG, GG))


def test_customer_counts_churn_and_retention(report):
    # S = active on 04-01: c1, c2, c3, c8 = 4; E = active on 06-30: c1, c3, c4, c8 = 4;
    # N = created in the period: c4, c5 = 2; churned in the period among S: c2
    a = report.overall
    assert (a["customers_start"], a["customers_end"], a["new_customers"]) == (4, 4, 2)
    assert a["churn_rate"] == pytest.approx(100 * 1 / 4)           # 25%
    assert a["retention_rate"] == pytest.approx(100 * (4 - 2) / 4)  # (E - N) / S = 50%
    # segment A: S = c1, c2, c8; E = c1, c8; N = c5; churned c2 -> 1/3 and (2 - 1)/3
    assert report.values["A"]["churn_rate"] == pytest.approx(100 / 3)
    assert report.values["A"]["retention_rate"] == pytest.approx(100 / 3)
    # segment B: S = c3; E = c3, c4; N = c4 -> churn 0, retention (2 - 1) / 1 = 100%
    assert report.values["B"]["churn_rate"] == 0
    assert report.values["B"]["retention_rate"] == pytest.approx(100)


def test_repurchase_rate(report):
    # purchase days in the period: c1 3 (04-10, 05-10, 06-10), c2 1, c3 1 (two orders on one
    # day), c4 2, c5 1 -> 2 of 5 buyers bought again = 40%; A: c1 of c1, c2, c5; B: c4 of c3, c4
    assert report.overall["repurchase_rate"] == pytest.approx(40.0)
    assert report.values["A"]["repurchase_rate"] == pytest.approx(100 / 3)
    assert report.values["B"]["repurchase_rate"] == pytest.approx(50.0)


def test_surveys(report):
    # NPS answers 10, 9, 5, 7, 8: promoters 2, detractors 1 -> (2 - 1) / 5 = 20
    assert report.overall["nps"] == pytest.approx(20.0)
    assert report.values["A"]["nps"] == pytest.approx(100 * 2 / 3)  # 10, 9, 8
    assert report.values["B"]["nps"] == pytest.approx(-50.0)        # 5, 7
    # CSAT 5, 4, 3, 2 -> 2 of 4 are 4-5 = 50%; A: 5, 4 = 100%; B: 3, 2 = 0%
    assert report.overall["csat"] == pytest.approx(50.0)
    assert (report.values["A"]["csat"], report.values["B"]["csat"]) == (100.0, 0.0)
    # CES 2, 4, 6 -> 4; A: 2; B: (4 + 6) / 2 = 5
    assert report.overall["ces"] == pytest.approx(4.0)
    assert (report.values["A"]["ces"], report.values["B"]["ces"]) == (2.0, 5.0)


def test_first_response_time(report):
    # ticket_resolved values in the period: 2, 5, 8 -> 5 hours; A: 2; B: (5 + 8) / 2 = 6.5
    assert report.overall["first_response_hours"] == pytest.approx(5.0)
    assert report.values["B"]["first_response_hours"] == pytest.approx(6.5)


def test_revenue_concentration(report):
    # paid revenue in the period: c1 600, c2 50, c3 100, c4 500, c5 30 = 1280; the top
    # ceil(20% x 5) = 1 buyer is c1: 600 / 1280 = 46.875%
    assert report.overall["top20_revenue_share"] == pytest.approx(46.875)
    # A: c1 600, c2 50, c5 30 -> top ceil(0.6) = 1: 600 / 680; B: c4 500 / 600
    assert report.values["A"]["top20_revenue_share"] == pytest.approx(100 * 600 / 680)
    assert report.values["B"]["top20_revenue_share"] == pytest.approx(100 * 500 / 600)


def test_leads_spend_cac_and_clv(report):
    # leads created in the period: L1 (c4), L2 (c5), L3, L4 -> 2 / 4 = 50%; L5 is older
    assert report.overall["lead_conversion_rate"] == pytest.approx(50.0)
    # spend pro rata by day: 03-01..03-31 none; 03-23..04-11 is 20 days, 10 inside (04-02..11)
    # -> 100; 06-01 (one day) 150; 06-21..07-10 is 20 days, 10 inside -> 100; 07-01.. after
    # as_of. 350 / N = 2 new customers -> CAC 175
    assert report.overall["cac"] == pytest.approx(175.0)
    # CLV of the customers at period end who have bought (all paid history up to 06-30):
    # c1 04-10, 05-10, 06-10: x 2, t_x 61 d, T 81 d, m (200 + 300) / 2 = 250
    # c3 05-05: x 0, T 56 d; c4 06-01, 06-15: x 1, t_x 14 d, T 29 d, m 100; c8 03-01: T 121 d
    clv = expected_clv([2, 0, 1, 0], [61, 0, 14, 0], [81, 56, 29, 121], [250, 0, 100, 0])
    assert report.overall["mean_clv"] == pytest.approx(clv.mean(), rel=1e-6)
    assert report.overall["clv_cac"] == pytest.approx(clv.mean() / 175.0, rel=1e-6)
    assert report.values["A"]["mean_clv"] == pytest.approx((clv[0] + clv[3]) / 2, rel=1e-6)
    # leads and spend belong to no customer: no breakdown
    assert report.values["A"]["cac"] is None and report.values["A"]["clv_cac"] is None


def test_mean_cri_by_owner():
    scores = pd.DataFrame({"customer_id": ["c1", "c3", "c4", "c8"],
                           "score": [80.0, 60.0, 40.0, 20.0]})
    by_owner = kpis(tables_of(world()), AS_OF, "90d", by="owner", scores=scores,
                    clv_models=(BG, GG))
    # all: (80 + 60 + 40 + 20) / 4 = 50; X: c1, c3, c8 = 160 / 3; Y: c4 = 40
    assert by_owner.overall["mean_cri"] == pytest.approx(50.0)
    assert by_owner.values["X"]["mean_cri"] == pytest.approx(160 / 3)
    assert by_owner.values["Y"]["mean_cri"] == pytest.approx(40.0)


def test_missing_tables_and_bad_arguments():
    tables = tables_of({"customers": world()["customers"]})
    report = kpis(tables, AS_OF, "3m")
    assert report.overall["nps"] is None and "surveys" in report.notes["nps"]
    assert report.overall["customers_start"] == 4  # 3m: after 2025-03-30, same S
    with pytest.raises(DataError) as err:
        kpis(tables, AS_OF, "soon")
    assert err.value.reason == Reason.BAD_PARAMETER
    with pytest.raises(DataError) as err:
        kpis(tables, AS_OF, "90d", by="shoe_size")
    assert err.value.reason == Reason.UNKNOWN_COLUMN


def test_cli_on_a_data_folder(tmp_path):
    from crindex.cli import app

    for name, frame in world().items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
    result = CliRunner().invoke(app, ["kpis", "--data", str(tmp_path), "--as-of", AS_OF,
                                      "--period", "90d", "--by", "segment", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["values"]["all"]["cac"] == pytest.approx(175.0)
    assert body["values"]["B"]["nps"] == pytest.approx(-50.0)
    # 4 buyers cannot be fitted reliably, but the run goes on; the value is finite or noted
    clv = body["values"]["all"]["mean_clv"]
    assert (clv is not None and math.isfinite(clv)) or "mean_clv" in body["notes"]


def test_ibis_tables_on_another_backend_give_the_same_figures():
    con = ibis.duckdb.connect()
    tables = {name: con.create_table(name, ibis.memtable(frame)) for name, frame in world().items()}
    report = kpis(tables_of(tables), AS_OF, "90d", clv_models=(BG, GG))
    assert report.overall["top20_revenue_share"] == pytest.approx(46.875)


def test_cli_warns_when_the_by_column_has_no_value(tmp_path):
    from crindex.cli import app

    tables = world()
    tables["customers"]["owner"] = None  # e.g. a CRM export without owners
    tables["customers"].loc[:, "segment"] = ["A", None, "B", "B", None, "B", "B", "A"]
    for name, frame in tables.items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
    args = ["kpis", "--data", str(tmp_path), "--as-of", AS_OF, "--period", "90d", "--json"]
    result = CliRunner().invoke(app, [*args, "--by", "owner"])
    assert result.exit_code == 0, result.output
    assert " ".join(result.stderr.split()) == (
        "warning: --by owner: no customer has a value in column `owner` (all 8 are null), so "
        "every customer is in the group (none); check that the customers data has the column "
        "`owner` (or map it in the model)")
    assert list(json.loads(result.stdout)["values"]) == ["all", "(none)"]
    # c2 and c5 have no segment: 2 of the 8 customers
    result = CliRunner().invoke(app, [*args, "--by", "segment"])
    assert result.exit_code == 0, result.output
    assert " ".join(result.stderr.split()) == (
        "warning: --by segment: 2 of 8 customers have no value in column `segment`; they are "
        "counted in the group (none)")
    assert list(json.loads(result.stdout)["values"]) == ["all", "(none)", "A", "B"]
    # a column with a value for everyone: no warning
    tables["customers"]["owner"] = "X"
    tables["customers"].to_parquet(tmp_path / "customers.parquet")
    result = CliRunner().invoke(app, [*args, "--by", "owner"])
    assert result.exit_code == 0 and result.stderr.strip() == "", result.output


def test_every_dash_has_its_reason():
    # customers only: every KPI from another table is `-`, each with why
    report = kpis(tables_of({"customers": world()["customers"]}), AS_OF, "90d", by="owner")
    for kpi, row in report.values.items():
        for name, value in row.items():
            assert value is not None or name in report.notes, (kpi, name)
    assert report.notes["mean_clv"] == "no orders table"
    assert report.notes["clv_cac"] == "mean_clv is - (no orders table) and cac is - (no spend " \
                                      "table)"


def test_a_clv_that_is_not_a_number_is_a_dash_with_its_reason():
    # the runaway parameters of the issue (a 1351, b 4.6e6) give NaN expected purchases: the
    # mean CLV was null with no reason; now no buyer has a CLV, and the note says why
    runaway = BetaGeo().set_params_(r=0.24, alpha=4.4, a=1351.0, b=4.6e6)
    report = kpis(tables_of(world()), AS_OF, "90d", clv_models=(runaway, GG))
    assert report.overall["mean_clv"] is None
    assert report.notes["mean_clv"] == "4 of 4 buyer(s) got a prediction that is not a " \
        "number; they are missing (left out of the mean), never scored"
    assert report.notes["clv_cac"].startswith("mean_clv is - (4 of 4 buyer(s)")
