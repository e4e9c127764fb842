"""A telecom export scored as it is: any column of the file, and derived columns.

The fixture (tests/fixtures/exports/telecom) is one row per customer, as telecom exports come:
tenure in months, a contract type, a payment method, eight yes/no service columns, charges and
a Churn label. Its model maps it with ``sources:`` alone: Contract and the payment method are
attributes of their own, the yes-services are counted per row, tenure becomes created_at.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from crindex.api import score
from crindex.data import open_dataset
from crindex.engine.compile import compile_model
from crindex.errors import DataError, ModelError, Reason
from crindex.model import load_model, parse_model
from tests.conftest import failed, five_frames

HERE = Path(__file__).resolve().parent / "fixtures" / "exports" / "telecom"
MODEL = HERE / "model.yaml"

# --------------------------------------------------------------------------------------------
# the golden scores, by hand
#
# as_of 2024-06-30, the export date. created_at = 2024-06-30 - tenure months (calendar months;
# a day past the month's end falls on its last day: 28 months before 2024-06-30 is 2022-02-28).
# Score = 50% loyalty (60% tenure, 40% contract) + 50% engagement (50% services, 25% payment,
# 25% monthly charges), so score = 0.3 T + 0.2 C + 0.25 S + 0.125 P + 0.125 M, where
#   T = days since created_at / 1825 * 100 (capped at 100)
#   C = Month-to-month 0, One year 50, Two year 100
#   S = yes-services / 8 * 100 (Yes of PhoneService, MultipleLines, OnlineSecurity,
#       OnlineBackup, DeviceProtection, TechSupport, StreamingTV, StreamingMovies; "No phone
#       service" and "No internet service" are not yes)
#   P = 100 when the payment is automatic (bank transfer or credit card), else 0
#   M = MonthlyCharges - 20 (range 20..120 onto 0..100)
# tiers: ordinary >= 50, else at_risk (no one reaches 70).
GOLDEN = [
    # id, tenure, created_at, days, yes-services (which), score = arithmetic
    ("7590-VHVEG", 1, "2024-05-30", 31, 1,  # OnlineBackup
     0.3 * 31 / 18.25 + 0.2 * 0 + 0.25 * 12.5 + 0.125 * 0 + 0.125 * 9.85, 4.865839),
    ("5575-GNVDE", 34, "2021-08-30", 1035, 3,  # Phone, OnlineSecurity, DeviceProtection
     0.3 * 1035 / 18.25 + 0.2 * 50 + 0.25 * 37.5 + 0.125 * 0 + 0.125 * 36.95, 41.007449),
    ("3668-QPYBK", 2, "2024-04-30", 61, 3,  # Phone, OnlineSecurity, OnlineBackup
     0.3 * 61 / 18.25 + 0.2 * 0 + 0.25 * 37.5 + 0.125 * 0 + 0.125 * 33.85, 14.608990),
    ("7795-CFOCW", 45, "2020-09-30", 1369, 3,  # OnlineSecurity, DeviceProtection, TechSupport
     0.3 * 1369 / 18.25 + 0.2 * 50 + 0.25 * 37.5 + 0.125 * 100 + 0.125 * 22.3, 57.166610),
    ("9237-HQITU", 2, "2024-04-30", 61, 1,  # Phone
     0.3 * 61 / 18.25 + 0.2 * 0 + 0.25 * 12.5 + 0.125 * 0 + 0.125 * 50.7, 10.465240),
    ("9305-CDSKC", 8, "2023-10-30", 244, 5,  # Phone, MultipleLines, Device, TV, Movies
     0.3 * 244 / 18.25 + 0.2 * 0 + 0.25 * 62.5 + 0.125 * 0 + 0.125 * 79.65, 29.592209),
    ("1452-KIOVK", 22, "2022-08-30", 670, 4,  # Phone, MultipleLines, OnlineBackup, TV
     0.3 * 670 / 18.25 + 0.2 * 0 + 0.25 * 50 + 0.125 * 100 + 0.125 * 69.1, 44.651199),
    ("6713-OKOMC", 10, "2023-08-30", 305, 1,  # OnlineSecurity
     0.3 * 305 / 18.25 + 0.2 * 0 + 0.25 * 12.5 + 0.125 * 0 + 0.125 * 9.75, 9.357449),
    ("7892-POOKP", 28, "2022-02-28", 853, 6,  # Phone, Multiple, Device, TechSupport, TV, Movies
     0.3 * 853 / 18.25 + 0.2 * 0 + 0.25 * 75 + 0.125 * 0 + 0.125 * 84.8, 43.371918),
    ("4183-MYFRB", 72, "2018-06-30", 2192, 2,  # Phone, MultipleLines (no internet service)
     0.3 * 100 + 0.2 * 100 + 0.25 * 25 + 0.125 * 100 + 0.125 * 5.35, 69.418750),
]


@pytest.fixture(scope="module")
def telecom():
    return score(MODEL, HERE)


def test_the_arithmetic_of_the_golden_table_is_its_figures():
    for cid, _, _, _, _, arithmetic, figure in GOLDEN:
        assert arithmetic == pytest.approx(figure, abs=1e-6), cid


def test_telecom_export_scores_as_computed_by_hand(telecom):
    out = telecom.table.to_pandas().set_index("customer_id")
    assert len(out) == len(GOLDEN)
    for cid, _, _, days, services, _, figure in GOLDEN:
        row = out.loc[cid]
        assert row["tenure__raw"] == days, cid
        assert row["services__raw"] == services, cid
        assert row["score"] == pytest.approx(figure, abs=1e-6), cid
        assert row["tier"] == ("ordinary" if figure >= 50 else "at_risk"), cid
    assert out.loc["7795-CFOCW", "contract__raw"] == "One year"
    assert out.loc["7795-CFOCW", "payment__raw"] == "Bank transfer (automatic)"
    assert out.loc["1452-KIOVK", "monthly_charges__raw"] == pytest.approx(89.1)
    # nothing set aside: the export is read as it is
    (customers,) = telecom.quality.tables
    assert (customers.rows_read, customers.rows_used, customers.issues) == (10, 10, [])
    # the report says which of the file's own columns were read, as what, and what was derived
    report = customers.to_dict()
    assert report["extra_columns"]["tenure"] == "num"
    assert report["extra_columns"]["Contract"] == "cat"
    assert report["extra_columns"]["services"] == "num"
    assert report["derived_columns"]["created_at"] == "date('2024-06-30') - months(tenure)"


def test_tenure_in_months_becomes_created_at():
    model = load_model(MODEL)
    ds = open_dataset(HERE, model, model.as_of)
    got = ds.tables["customers"].select("customer_id", "created_at", "tenure").to_pandas()
    got = got.set_index("customer_id")
    for cid, tenure, created, *_ in GOLDEN:
        assert got.loc[cid, "tenure"] == tenure
        assert got.loc[cid, "created_at"] == pd.Timestamp(created), cid


# --------------------------------------------------------------------------------------------
# no second scan: derived columns are one projection over the read

ORDERS_MODEL = """\
name: margin
sources:
  orders:
{derive}
dimensions:
  - id: d
    metrics:
      - {{id: m, aggregate: sum, column: {column}, weight: 100, normalise: {{method: identity}}}}
"""


def _plan(model_text: str) -> tuple[str, str]:
    model = parse_model(model_text)
    ds = open_dataset(five_frames(), model, dt.date(2025, 6, 30))
    compiled = compile_model(model, ds.tables, dt.date(2025, 6, 30))
    sql = ds.con.compile(compiled.expr)
    plan = ds.con.con.execute("EXPLAIN " + sql).fetchall()[0][1]
    view = ds.con.con.execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = 'orders'").fetchone()[0]
    return plan, view


def test_derived_columns_add_no_second_scan_of_a_fact_table():
    plain, _ = _plan(ORDERS_MODEL.format(derive="    date_format: null", column="amount"))
    derived, view = _plan(ORDERS_MODEL.format(
        derive='    derive: {margin: "amount - coalesce(cost, 0)", big: "amount >= 1000"}',
        column="margin"))
    # the score reads the orders file once, with or without derived columns
    assert plain.count("raw_orders") == 1
    assert derived.count("raw_orders") == 1
    assert derived.count("Seq Scan") == plain.count("Seq Scan")
    # the derived columns are computed in the projection over the typed read, not joined
    assert "JOIN" not in view.upper().split("FROM", 1)[0]
    select = view.replace("t0.", "").split("FROM typed_orders")[0].rsplit("SELECT", 1)[1]
    assert '(amount - COALESCE("cost", 0)) AS margin' in select
    assert "(amount >= 1000) AS big" in select


# --------------------------------------------------------------------------------------------
# any column: refusals at load, when the data is opened, and on the command line

def _model(sources: str, metric: str = "{id: m, aggregate: attribute, column: Contract, "
           "weight: 100, normalise: {method: map, values: {Two year: 100}}}") -> str:
    return f"""\
name: t
sources:
  customers:
    path: telecom.csv
    columns: {{customerID: customer_id}}
{sources}
dimensions:
  - id: d
    metrics:
      - {metric}
"""


def test_an_undeclared_column_is_refused_at_load_with_the_fix():
    with pytest.raises(ModelError) as err:
        parse_model(_model("    types: {Contrat: cat}", "{id: m, aggregate: attribute, column: "
                           "Contract, weight: 100, normalise: {method: identity}}"))
    text = str(err.value)
    assert "metric `m`: column `Contract` is not a column of customers" in text
    assert "did you mean `Contrat`?" in text
    assert "sources.customers.types: {Contract: num} (or cat, ts, bool)" in text


def test_a_declared_column_missing_from_the_file_is_named_with_the_columns_found():
    model = parse_model(_model("    types: {Contract: cat, tenur: num}"), "m.yaml")
    with pytest.raises(DataError) as err:
        open_dataset(HERE, model)
    text = str(err.value)
    assert "sources.customers.types names `tenur`, but telecom.csv has no such column" in text
    assert "did you mean `tenure`?" in text
    assert err.value.reason == Reason.MISSING_COLUMN


def test_a_numeric_aggregate_of_a_text_column_is_refused_when_the_data_is_open():
    model = parse_model(_model(
        "    types: {Contract: cat}\n    derive: {plan: \"lower(Contract)\"}",
        "{id: m, aggregate: sum, table: customers, column: plan, weight: 100, "
        "normalise: {method: identity}}"), "m.yaml")
    with pytest.raises(DataError) as err:
        open_dataset(HERE, model)
    assert "metric `m`: `sum` needs a numeric column, `plan` is cat" in str(err.value)


def test_a_declared_type_of_a_contract_column_is_refused():
    with pytest.raises(ModelError) as err:
        parse_model(_model("    types: {Contract: cat, created_at: ts}"), "m.yaml")
    assert ("m.yaml:6: sources.customers.types names `created_at`, read as the data "
            "contract's `created_at`: its type is the contract's (ts)") in str(err.value)
    with pytest.raises(ModelError) as err:
        parse_model(_model("    types: {Contract: cat, Email: cat}"), "m.yaml")
    assert "types names `Email`, read as the data contract's `email`" in str(err.value)


def test_an_extra_column_with_unreadable_numbers_is_reported_like_the_others(tmp_path):
    folder = tmp_path / "telecom"
    shutil.copytree(HERE, folder)
    path = folder / "telecom.csv"
    path.write_text(path.read_text().replace(",56.95,", ",n/a,"), encoding="utf-8")
    model = parse_model(_model("    types: {Contract: cat, MonthlyCharges: num}"), "m.yaml")
    ds = open_dataset(folder, model)
    (issue,) = ds.quality.tables[0].issues
    assert (issue.reason, issue.column, issue.count) == ("unparseable_number",
                                                          "MonthlyCharges", 1)
    assert issue.examples[0]["line"] == 3 and issue.bad_values == [{"value": "n/a",
                                                                    "count": 1}]


def test_validate_refuses_sql_in_a_derived_column_with_file_and_line(tmp_path, cli):
    path = tmp_path / "m.yaml"
    path.write_text(_model(
        "    types: {Contract: cat}\n    derive:\n      plan: \"Contract; drop table x\"\n"
        "      churned: \"select 1\""), encoding="utf-8")
    code, text = cli("validate", "--model", str(path))
    failed(code, text, "2 problem(s)",
           f"{path}:8: sources.customers.derive.plan: `;` at character 9 is not allowed",
           f"{path}:9: sources.customers.derive.churned: `select` at character 1 is an SQL "
           "keyword", "allowed: columns, numbers")


def test_the_sql_computes_derived_columns_in_the_read_of_the_table(cli, snapshot):
    # `crindex sql` without data compiles against the contract, the declared columns and the
    # derived ones: the derived columns are expressions of the step that reads customers
    code, text = cli("sql", "--model", str(MODEL))
    assert code == 0, text
    # strip() trims every kind of space: the \r, \v and \f it names are shown escaped, since
    # a text file would read \r back as a new line
    shown = text.replace("\r", "\\r").replace("\x0b", "\\v").replace("\x0c", "\\f")
    snapshot(Path(__file__).resolve().parent / "snapshots" / "sql" / "telecom.duckdb.sql", shown)
    first = text.split('), "')[0]  # the step active_customers
    assert 'FROM "customers"' in first
    assert 'TO_MONTHS(CAST(FLOOR("t0"."tenure") AS BIGINT)) AS "created_at"' in first
    assert '"PaymentMethod"' in first and 'AS "services"' in first
    assert text.count('FROM "customers"') == 1
