"""Exports as they are: lookups, lines rolled up into orders, customers derived from orders.

The fixtures are in tests/fixtures/exports/ (written by hand, small), each with a model that
maps it with ``sources:`` alone:

- grocery/: purchase lines (household, basket, product, quantity, sales value, time), the
  households, demographics for two of the six households, products with their departments;
  ``model.yaml`` rolls the lines up into one order per basket, ``departments.yaml`` keeps one
  row per line and counts the departments through the products lookup;
- cdnow_like/: CDNOW's master file shape (id, date, quantity, amount; no header) and no
  customer file: ``customers: {from: orders}``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from crindex.api import score
from crindex.data import open_dataset
from crindex.errors import DataError, ModelError, Reason
from crindex.model import load_model, parse_model
from tests.conftest import ROOT, failed

EXPORTS = ROOT / "tests" / "fixtures" / "exports"
GROCERY = EXPORTS / "grocery"
CDNOW = EXPORTS / "cdnow_like"


def by_customer(result, column):
    return dict(zip(result.table.column("customer_id").to_pylist(),
                    result.table.column(column).to_pylist(), strict=True))


def approx(expected, tolerance=1e-9):
    """Sums of a few decimals exactly; scores are written at 6 decimals (tolerance 1e-6)."""
    return {k: (pytest.approx(v, abs=tolerance) if isinstance(v, float) else v)
            for k, v in expected.items()}


@pytest.fixture(scope="module")
def grocery(tmp_path_factory):
    """The grocery model, its data opened once (quality report written), and the folder."""
    model = load_model(GROCERY / "model.yaml")
    out = tmp_path_factory.mktemp("grocery-quality")
    return model, open_dataset(GROCERY, model, model.as_of, quarantine_dir=out), out


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    model = load_model(CDNOW / "model.yaml")
    out = tmp_path_factory.mktemp("cdnow-quality")
    return model, open_dataset(CDNOW, model, model.as_of, quarantine_dir=out), out


def _grocery_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "grocery"
    shutil.copytree(GROCERY, folder)
    return folder



# --------------------------------------------------------------------------------------------
# grocery: lines rolled up into orders, demographics looked up onto households


def test_grocery_lines_roll_up_into_one_order_per_basket_and_score_by_hand(grocery):
    model, ds, _ = grocery
    result = score(model, ds, model.as_of)
    # baskets in the 365d window up to 2025-06-30 (household: baskets):
    #   1: B1, B2; 2: B3; 3: B4 (2024-12-24), B5, B6; 4: none; 5: B7; 6: B8 is on 2025-07-02,
    #   after as_of. A basket is one order however many lines it has (B1 has 3, B7 has 4).
    assert by_customer(result, "baskets__raw") == {"1": 2, "2": 1, "3": 3, "4": 0, "5": 1,
                                                   "6": 0}
    # spend, the sum of the basket sums:
    #   1: B1 2.50 + 1.00 + 2.50 = 6.00, B2 10.00 (its n/a line is set aside) -> 16.00
    #   2: B3 3.00 + 4.00 + 1.50 = 8.50; 3: 5.00 + (5.00 + 2.00) + 0.75 = 12.75
    #   5: B7 12.00 + 12.00 + 6.00 + 1.00 = 31.00
    assert by_customer(result, "spend__raw") == approx(
        {"1": 16.0, "2": 8.5, "3": 12.75, "4": 0.0, "5": 31.0, "6": 0.0})
    # income comes from demographics.csv (households 2 and 5 only); the others have none and
    # score 0 (missing: zero)
    assert by_customer(result, "income__raw") == {"1": None, "2": "50-74K", "3": None,
                                                  "4": None, "5": "100-124K", "6": None}
    # score = 0.4 * baskets/4*100 + 0.4 * spend/40*100 + 0.2 * income points
    #   1: 0.4*50 + 0.4*40 + 0 = 36;         2: 0.4*25 + 0.4*21.25 + 0.2*50 = 28.5
    #   3: 0.4*75 + 0.4*31.875 + 0 = 42.75;  4: 0;  5: 0.4*25 + 0.4*77.5 + 0.2*100 = 61;  6: 0
    assert by_customer(result, "score") == approx(
        {"1": 36.0, "2": 28.5, "3": 42.75, "4": 0.0, "5": 61.0, "6": 0.0})


def test_grocery_lines_are_checked_one_by_one_and_never_set_aside_as_duplicate_orders(grocery):
    _, ds, tmp_path = grocery
    orders = ds.quality.table("orders")
    # 17 lines: the n/a sales value on line 6 is set aside with its line; the basket ids
    # repeated on 9 lines are not duplicates
    assert (orders.rows_read, orders.rows_used) == (17, 16)
    assert ds.quality.count("orders", "duplicate_id") == 0
    [bad] = [i for i in orders.issues if i.reason == "unparseable_number"]
    assert (bad.count, bad.examples[0]["line"], bad.source_column) == (1, 6, "SALES_VALUE")
    assert orders.steps == [
        "looked up products.csv on PRODUCT_ID",
        "lines rolled up into one order per BASKET_ID after the checks (orders.order_id); "
        "rows read and used count lines"]
    report = json.loads((tmp_path / "quality.json").read_text(encoding="utf-8"))
    assert report["tables"][1]["steps"] == orders.steps
    assert ds.table("orders").count().execute() == 8  # B1..B8
    # the roll-up's own columns (products, departments) are extra columns of orders, in the
    # view named orders and in the opened table a metric reads
    rows = {r["order_id"]: r for r in ds.con.table("orders").to_pyarrow().to_pylist()}
    assert {"products", "departments"} <= set(ds.table("orders").columns)
    # B5: lines 10 (P1, 10:00) and 17 (P2, 09:30), apart in the file: its time is the first
    assert rows["B5"]["ordered_at"] == dt.datetime(2025, 4, 2, 9, 30)
    assert (rows["B5"]["customer_id"], rows["B5"]["amount"]) == ("3", 7.0)
    # B1: P1 twice and P3 (2 products, GROCERY and PRODUCE); B7: P4 twice, P5 and P9, which
    # products.csv does not have (3 products; departments MEAT, DRUG GM and none)
    assert {k: (rows[k]["products"], rows[k]["departments"]) for k in ("B1", "B5", "B7")} == {
        "B1": (2, 2), "B5": (2, 1), "B7": (3, 2)}
    # a left join: 6 households with or without demographics, none repeated
    customers = ds.table("customers").to_pyarrow().to_pylist()
    assert sorted((c["customer_id"], c["segment"]) for c in customers) == [
        ("1", None), ("2", "50-74K"), ("3", None), ("4", None), ("5", "100-124K"), ("6", None)]


def test_grocery_departments_are_counted_through_the_products_lookup():
    model = load_model(GROCERY / "departments.yaml")
    result = score(model, GROCERY, model.as_of)
    # departments of the lines in the window, through products.csv:
    #   1: P1, P3 (B1), P4 (B2) -> GROCERY, PRODUCE, MEAT = 3 (the n/a line, P2, is set aside)
    #   2: P2, P5, P3 -> GROCERY, DRUG GM, PRODUCE = 3;  3: P1, P1, P3, P2 -> GROCERY, PRODUCE = 2
    #   5: P4, P4, P5, P9 -> MEAT, DRUG GM (P9 has no department) = 2;  4 and 6: none
    assert by_customer(result, "departments__raw") == {"1": 3, "2": 3, "3": 2, "4": 0, "5": 2,
                                                       "6": 0}
    # score = departments / 4 * 100
    assert by_customer(result, "score") == approx(
        {"1": 75.0, "2": 75.0, "3": 50.0, "4": 0.0, "5": 50.0, "6": 0.0})


def test_a_contract_column_made_by_the_rollup_is_scored_without_being_mapped(tmp_path):
    folder = _grocery_copy(tmp_path)
    text = (folder / "departments.yaml").read_text(encoding="utf-8")
    text = text.replace(", DEPARTMENT: product_line}",
                        "}\n    rollup: {by: BASKET_ID, product_line: first(DEPARTMENT)}")
    (folder / "departments.yaml").write_text(text, encoding="utf-8")
    result = score(load_model(folder / "departments.yaml"), folder, dt.date(2025, 6, 30))
    # the department of each basket's first line in the file: B1 P1 GROCERY, B2 P4 MEAT,
    # B3 P2 GROCERY, B4 P1 GROCERY, B5 line 10 P1 GROCERY (line 17 comes later), B6 P3
    # PRODUCE, B7 P4 MEAT -> 1: GROCERY, MEAT; 2: GROCERY; 3: GROCERY, PRODUCE; 5: MEAT
    assert by_customer(result, "departments__raw") == {"1": 2, "2": 1, "3": 2, "4": 0, "5": 1,
                                                       "6": 0}


def test_without_checks_lines_are_still_rolled_up():
    model = load_model(GROCERY / "model.yaml")
    ds = open_dataset(GROCERY, model, model.as_of, checks=False)
    assert ds.table("orders").count().execute() == 8


# --------------------------------------------------------------------------------------------
# cdnow_like: no customer file, customers derived from the purchases


def test_a_rollup_output_is_an_extra_column_a_metric_reads(tmp_path):
    folder = _grocery_copy(tmp_path)
    text = (folder / "model.yaml").read_text(encoding="utf-8")
    text = text[:text.index("dimensions:")] + (
        "dimensions:\n  - id: breadth\n    metrics:\n"
        "      - {id: basket_breadth, aggregate: mean, column: departments, window: 365d,"
        " weight: 100, missing: zero, normalise: {method: range, min: 0, max: 3}}\n")
    (folder / "model.yaml").write_text(text, encoding="utf-8")
    result = score(load_model(folder / "model.yaml"), folder, dt.date(2025, 6, 30))
    # departments per basket (the n/a line 6 set aside, P9 has no department), B8 is after
    # as_of: 1: B1 GROCERY+PRODUCE 2, B2 MEAT 1 -> mean 1.5; 2: B3 GROCERY, DRUG GM, PRODUCE
    # 3; 3: B4 1, B5 GROCERY 1, B6 1 -> 1; 5: B7 MEAT, DRUG GM 2; 4 and 6: no basket
    raw = by_customer(result, "basket_breadth__raw")
    assert {k: raw[k] for k in ("1", "2", "3", "5")} == approx(
        {"1": 1.5, "2": 3.0, "3": 1.0, "5": 2.0})
    # score = mean / 3 * 100; no basket scores 0 (missing: zero)
    assert by_customer(result, "score") == approx(
        {"1": 50.0, "2": 100.0, "3": 100 / 3, "4": 0.0, "5": 200 / 3, "6": 0.0}, 1e-6)


def test_one_model_over_the_lines_counts_baskets_spend_and_departments(tmp_path):
    # per-basket roll-up outputs cannot give the departments a household bought from across
    # its baskets; the lines' own columns can: baskets are the distinct BASKET_IDs, the
    # departments the distinct DEPARTMENTs (through the products lookup), in one model
    folder = _grocery_copy(tmp_path)
    text = (folder / "model.yaml").read_text(encoding="utf-8")
    text = text[:text.index("    rollup:")] + (
        "    types: {BASKET_ID: cat, DEPARTMENT: cat}\n"
        "dimensions:\n  - id: value\n    metrics:\n"
        "      - {id: baskets, aggregate: distinct_count, column: BASKET_ID, window: 365d,"
        " weight: 30, normalise: {method: range, min: 0, max: 4}}\n"
        "      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 30,"
        " normalise: {method: range, min: 0, max: 40}}\n"
        "      - {id: departments, aggregate: distinct_count, column: DEPARTMENT, window: 365d,"
        " weight: 20, normalise: {method: range, min: 0, max: 4}}\n"
        "      - {id: income, aggregate: attribute, column: segment, weight: 20, missing: zero,"
        " normalise: {method: map, values: {\"100-124K\": 100, \"50-74K\": 50}}}\n")
    (folder / "one.yaml").write_text(text, encoding="utf-8")
    result = score(load_model(folder / "one.yaml"), folder, dt.date(2025, 6, 30))
    # the baskets and spend of the rolled-up model (test above); the departments as counted
    # by departments.yaml: 1: 3, 2: 3, 3: 2, 5: 2
    assert by_customer(result, "baskets__raw") == {"1": 2, "2": 1, "3": 3, "4": 0, "5": 1,
                                                   "6": 0}
    assert by_customer(result, "spend__raw") == approx(
        {"1": 16.0, "2": 8.5, "3": 12.75, "4": 0.0, "5": 31.0, "6": 0.0})
    assert by_customer(result, "departments__raw") == {"1": 3, "2": 3, "3": 2, "4": 0, "5": 2,
                                                       "6": 0}
    # score = 0.3 * baskets/4*100 + 0.3 * spend/40*100 + 0.2 * departments/4*100 + 0.2 * income
    #   1: 15 + 12 + 15 + 0 = 42;  2: 7.5 + 6.375 + 15 + 10 = 38.875
    #   3: 22.5 + 9.5625 + 10 + 0 = 42.0625;  5: 7.5 + 23.25 + 10 + 20 = 60.75;  4, 6: 0
    assert by_customer(result, "score") == approx(
        {"1": 42.0, "2": 38.875, "3": 42.0625, "4": 0.0, "5": 60.75, "6": 0.0}, 1e-6)


def test_a_rollup_reads_typed_and_derived_extra_columns(tmp_path):
    folder = _grocery_copy(tmp_path)
    text = (folder / "model.yaml").read_text(encoding="utf-8").replace(
        "    rollup:                          # one order per basket\n",
        "    types: {QUANTITY: num}\n    derive: {line_value: \"amount * QUANTITY\"}\n"
        "    rollup:\n      units: sum(QUANTITY)\n      value: sum(line_value)\n"
        "      first_product: first(PRODUCT_ID)\n")
    (folder / "model.yaml").write_text(text, encoding="utf-8")
    model = load_model(folder / "model.yaml")
    ds = open_dataset(folder, model, model.as_of)
    rows = {r["order_id"]: r for r in ds.table("orders").to_pyarrow().to_pylist()}
    # B1: quantities 1 + 2 + 1 = 4, values 2.50*1 + 1.00*2 + 2.50*1 = 7.0, first line P1;
    # B3: 1 + 2 + 1 = 4, 3.00*1 + 4.00*2 + 1.50*1 = 12.5, first line P2
    assert {k: (rows[k]["units"], rows[k]["value"], rows[k]["first_product"])
            for k in ("B1", "B3")} == {"B1": (4.0, 7.0, "P1"), "B3": (4.0, 12.5, "P2")}
    orders = ds.quality.table("orders")
    # the lines' extra columns are typed like any other: QUANTITY as declared, PRODUCT_ID as
    # the CSV holds it (text)
    assert orders.extra_columns["QUANTITY"] == "num"
    assert orders.extra_columns["PRODUCT_ID"] == "cat"


def test_a_metric_cannot_read_a_column_of_the_lines_after_the_rollup():
    text = SHAPE_MODEL.format(
        sources="  orders:\n    path: lines.csv\n    types: {BRAND: cat}\n"
                "    rollup: {by: BASKET_ID, products: count_distinct(PRODUCT_ID)}").replace(
        "{id: n, aggregate: count,", "{id: n, aggregate: distinct_count, column: BRAND,")
    with pytest.raises(ModelError) as err:
        parse_model(text, "m.yaml")
    [problem] = err.value.problems
    assert problem.message == "metric `n`: column `BRAND` is not a column of orders"
    assert "products" in problem.hint


def test_cdnow_customers_derived_from_the_orders_file_with_nothing_set_aside(cdnow):
    model, ds, tmp_path = cdnow
    result = score(model, ds, model.as_of)
    # ids 00001-00005 on 10 lines; 00005's only purchase (1997-07-01) is after as_of, so the
    # customer is created after as_of and not scored
    ids = ["00001", "00002", "00003", "00004"]
    assert sorted(result.table.column("customer_id").to_pylist()) == ids
    assert by_customer(result, "frequency__raw") == {"00001": 2, "00002": 2, "00003": 3,
                                                     "00004": 2}
    # 11.77 + 40.00; 12.00 + 77.00; 20.76 + 20.76 + 19.54; 29.33 + 29.73
    monetary = {"00001": 51.77, "00002": 89.0, "00003": 61.06, "00004": 59.06}
    assert by_customer(result, "monetary__raw") == approx(monetary)
    # created_at is the first purchase: 1997-01-01, 01-12, 01-02, 01-01 -> days to 1997-06-30
    first = {"00001": dt.date(1997, 1, 1), "00002": dt.date(1997, 1, 12),
             "00003": dt.date(1997, 1, 2), "00004": dt.date(1997, 1, 1)}
    tenure = {k: (dt.date(1997, 6, 30) - d).days for k, d in first.items()}
    assert tenure == {"00001": 180, "00002": 169, "00003": 179, "00004": 180}
    assert by_customer(result, "tenure__raw") == approx({k: float(v) for k, v in tenure.items()})
    # score = 0.4 * frequency/4*100 + 0.4 * monetary + 0.2 * tenure/180*100, e.g. 00001:
    # 0.4*50 + 0.4*51.77 + 0.2*100 = 60.708
    expected = {k: 0.4 * by_customer(result, "frequency__raw")[k] / 4 * 100
                + 0.4 * monetary[k] + 0.2 * min(tenure[k] / 180, 1) * 100 for k in ids}
    assert expected["00001"] == pytest.approx(60.708)
    assert by_customer(result, "score") == approx(expected, 1e-6)

    customers = ds.quality.table("customers")
    assert (customers.rows_read, customers.rows_used) == (5, 5)
    assert ds.quality.count("customers", "duplicate_id") == 0
    assert [i.reason for i in customers.issues] == ["created_after_as_of"]
    assert customers.steps == ["derived from orders: one customer per distinct customer_id, "
                               "created_at its first ordered_at"]
    report = json.loads((tmp_path / "quality.json").read_text(encoding="utf-8"))
    assert report["rows_quarantined"] == 0
    assert [(t["table"], t["rows_read"], t["rows_quarantined"]) for t in report["tables"]] == [
        ("customers", 5, 0), ("orders", 10, 0)]
    assert not (tmp_path / "quarantine").exists()


def test_cdnow_scores_from_the_command_line(cli, tmp_path):
    code, text = cli("score", "--model", str(CDNOW / "model.yaml"), "--data", str(CDNOW),
                     "--out", str(tmp_path / "run"), "--format", "csv")
    assert code == 0, text
    assert "derived from orders" in text
    scores = (tmp_path / "run" / "scores.csv").read_text(encoding="utf-8-sig")
    assert scores.count("\n") == 5  # a header and 4 customers
    report = json.loads((tmp_path / "run" / "quality.json").read_text(encoding="utf-8"))
    assert report["rows_quarantined"] == 0


def test_a_lookup_may_be_a_table_of_a_duckdb_file(tmp_path):
    import duckdb

    db = tmp_path / "crm.duckdb"
    with duckdb.connect(str(db)) as raw:
        raw.execute("CREATE TABLE customers AS SELECT * FROM (VALUES ('c1', 1001.0), "
                    "('c2', 1002.0), ('c3', NULL)) t(customer_id, household)")
        raw.execute("CREATE TABLE demo AS SELECT * FROM (VALUES ('1001', 'high'), "
                    "(' 1002 ', 'low')) t(hh, income)")
    model = parse_model(SHAPE_MODEL.format(sources=(
        "  customers:\n    lookups: [{table: demo, on: {household: hh}}]\n"
        "    columns: {income: segment}")).replace(
        "{id: n, aggregate: count,", "{id: n, aggregate: count, table: customers,"), "m.yaml")
    ds = open_dataset(db, model)
    rows = sorted((r["customer_id"], r["segment"])
                  for r in ds.table("customers").to_pyarrow().to_pylist())
    # keys compare as ids: 1001.0 from a number column is 1001, ' 1002 ' is trimmed
    assert rows == [("c1", "high"), ("c2", "low"), ("c3", None)]


def test_how_a_column_is_rolled_up_when_the_model_does_not_say():
    from crindex.data.shape import default_function

    assert [default_function("orders", c) for c in
            ("ordered_at", "customer_id", "amount", "cost", "status", "product_line")] == [
        "min", "first", "sum", "sum", "first", "first"]
    # a rating is averaged, not added up
    assert default_function("interactions", "satisfaction") == "mean"
    assert default_function("interactions", "value") == "sum"


# --------------------------------------------------------------------------------------------
# what is refused, and how


def test_a_lookup_with_a_repeated_key_is_an_error_naming_its_lines_never_a_row_multiplier(
        tmp_path, cli):
    folder = _grocery_copy(tmp_path)
    with (folder / "products.csv").open("a", encoding="utf-8") as fh:
        fh.write("P3,PRODUCE,Private\nP1,GROCERY,Store\n")
    with pytest.raises(DataError) as err:
        open_dataset(folder, load_model(folder / "model.yaml"))
    assert err.value.reason == Reason.DUPLICATE_ID
    [problem] = err.value.problems
    # P1 is on lines 2 and 8, P3 on lines 4 and 7 of products.csv (the header is line 1)
    assert problem.where == "products.csv"
    assert "sources.orders.lookups[0]: products.csv has 2 PRODUCT_ID value(s) on more than " \
           "one row" in problem.message
    assert "`P1` on lines 2, 8; `P3` on lines 4, 7" in problem.message
    code, text = cli("score", "--model", str(folder / "model.yaml"), "--data", str(folder),
                     "--out", str(tmp_path / "run"))
    failed(code, text, "products.csv", "`P1` on lines 2, 8", "one row per PRODUCT_ID")
    assert not (tmp_path / "run").exists()


def test_every_lookup_problem_of_every_table_is_reported_at_once(tmp_path):
    folder = _grocery_copy(tmp_path)
    text = (folder / "model.yaml").read_text(encoding="utf-8")
    text = text.replace("{path: demographics.csv, on: household_key}",
                        "{path: demographics.csv, on: {household_key: hh}}")
    text = text.replace("      - {path: products.csv, on: PRODUCT_ID}\n",
                        "      - {path: products.csv, on: PRODUCT_ID}\n"
                        "      - {path: products.csv, on: PRODUCT_ID}\n"
                        "      - {path: products.csv, on: {SKU: PRODUCT_ID}}\n")
    (folder / "model.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as err:
        open_dataset(folder, load_model(folder / "model.yaml"))
    found = [(p.message, p.where, p.hint) for p in err.value.problems]
    assert found == [
        ("sources.customers.lookups[0].on: demographics.csv has no column `hh`",
         "demographics.csv", "columns found: household_key, INCOME_DESC, AGE_DESC; when the key "
         "is named differently in the lookup write on: {<column of the table>: <column of the "
         "lookup>}"),
        # the same products twice: the second brings columns the first brought
        ("sources.orders.lookups[1]: products.csv brings `DEPARTMENT`, `BRAND`, which orders "
         "already has", "products.csv", "pick the lookup's columns or rename them: "
         "sources.orders.lookups[1].columns: {DEPARTMENT: DEPARTMENT_2, BRAND: BRAND_2}"),
        ("sources.orders.lookups[2].on: lines.csv has no column `SKU` to join products.csv on",
         "lines.csv", "columns found: household_key, BASKET_ID, PRODUCT_ID, QUANTITY, "
         "SALES_VALUE, TRANS_TIME, DEPARTMENT, BRAND"),
    ]


def test_a_lookup_may_pick_and_rename_its_columns_and_key_on_a_looked_up_column(tmp_path):
    folder = _grocery_copy(tmp_path)
    (folder / "departments.csv").write_text(
        "dept,aisle\nGROCERY,A1\nPRODUCE,A2\nMEAT,A3\nDRUG GM,A4\n", encoding="utf-8")
    text = (folder / "departments.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "      - {path: products.csv, on: PRODUCT_ID}\n",
        "      - {path: products.csv, on: PRODUCT_ID, columns: {DEPARTMENT: dept_name}}\n"
        "      - {path: departments.csv, on: {dept_name: dept}}\n")
    text = text.replace("DEPARTMENT: product_line", "aisle: product_line")
    (folder / "departments.yaml").write_text(text, encoding="utf-8")
    result = score(load_model(folder / "departments.yaml"), folder, dt.date(2025, 6, 30))
    # one aisle per department: the same counts as the departments
    assert by_customer(result, "departments__raw") == {"1": 3, "2": 3, "3": 2, "4": 0, "5": 2,
                                                       "6": 0}


def test_a_missing_lookup_file_names_the_files_there(tmp_path):
    folder = _grocery_copy(tmp_path)
    (folder / "demographics.csv").unlink()
    with pytest.raises(DataError) as err:
        open_dataset(folder, load_model(folder / "model.yaml"))
    [problem] = err.value.problems
    assert problem.message == "sources.customers.lookups: `demographics.csv` does not exist"
    assert "households.csv" in problem.hint and "products.csv" in problem.hint


def test_a_rollup_reading_a_column_the_file_lacks_is_a_missing_column(tmp_path):
    folder = _grocery_copy(tmp_path)
    text = (folder / "model.yaml").read_text(encoding="utf-8")
    (folder / "model.yaml").write_text(text.replace("count_distinct(PRODUCT_ID)",
                                                    "count_distinct(SKU)"), encoding="utf-8")
    with pytest.raises(DataError) as err:
        open_dataset(folder, load_model(folder / "model.yaml"))
    [problem] = err.value.problems
    assert err.value.reason == Reason.MISSING_COLUMN
    assert problem.message == ("sources.orders.rollup.products reads `SKU`, which is not a "
                               "column of the file")
    assert problem.where == "lines.csv" and "BASKET_ID" in problem.hint


SHAPE_MODEL = """
name: shapes
sources:
{sources}
dimensions:
  - id: d
    metrics:
      - {{id: n, aggregate: count, weight: 100, normalise: {{method: identity}}}}
"""


@pytest.mark.parametrize(("sources", "line", "words"), [
    ("  orders:\n    path: lines.csv\n    columns: {household_key: customer_id}\n"
     "    rollup: {by: household_key}",
     7, "sources.orders.rollup.by is `household_key`, which is orders.customer_id"),
    ("  orders:\n    path: lines.csv\n    rollup:\n      by: BASKET_ID\n"
     "      amount: median(SALES_VALUE)",
     8, "sources.orders.rollup.amount: `median(SALES_VALUE)` is not a roll-up function"),
    ("  orders:\n    path: lines.csv\n    rollup:\n      by: BASKET_ID\n"
     "      order_id: first(BASKET_ID)",
     8, "sources.orders.rollup.order_id: `order_id` is the group's id"),
    ("  surveys:\n    rollup: {by: x}", 5, "sources.surveys.rollup: surveys cannot be rolled up"),
    ("  orders: {from: interactions}", 4, "only customers may be derived from another table"),
    ("  customers: {from: spend}", 4, "sources.customers.from names `spend`"),
    ("  customers: {from: orders, path: c.csv}", 4,
     "sources.customers is derived (`from: orders`), so it reads no file: `path`"),
    ("  customers:\n    path: h.csv\n    lookups:\n      - {on: household_key}", 7,
     "sources.customers.lookups[0] needs either `path`"),
])
def test_the_model_refuses_a_shape_that_cannot_work_with_file_and_line(sources, line, words):
    with pytest.raises(ModelError) as err:
        parse_model(SHAPE_MODEL.format(sources=sources), "m.yaml")
    found = [p for p in err.value.problems if words in p.message]
    assert found, [str(p) for p in err.value.problems]
    assert found[0].where == f"m.yaml:{line}"


def test_a_metric_cannot_read_a_column_derived_customers_do_not_have():
    text = SHAPE_MODEL.format(sources="  customers: {from: orders}").replace(
        "{id: n, aggregate: count,", "{id: n, aggregate: attribute, column: employees,")
    with pytest.raises(ModelError) as err:
        parse_model(text, "m.yaml")
    [problem] = err.value.problems
    assert problem.message == ("metric `n` reads customers.employees, but customers are derived "
                               "from orders (`from: orders`) and hold only customer_id and "
                               "created_at")
    assert problem.where == "m.yaml:8"


def test_a_lookup_key_must_be_one_column():
    with pytest.raises(ModelError) as err:
        parse_model(SHAPE_MODEL.format(
            sources="  customers:\n    lookups:\n      - {path: d.csv, on: {a: b, c: d}}"),
            "m.yaml")
    assert "`on` names one key" in str(err.value)


# --------------------------------------------------------------------------------------------
# speed: the lines are read once by the scoring query


def _scans(con, sql: str) -> list[str]:
    """The tables the physical plan of ``sql`` reads, one entry per scan (DuckDB's EXPLAIN)."""
    plan = json.loads(con.con.execute("EXPLAIN (FORMAT json) " + sql).fetchall()[0][1])
    found: list[str] = []

    def walk(node):
        if node["name"].endswith("SCAN") and "Table" in node.get("extra_info", {}):
            found.append(node["extra_info"]["Table"].split(".")[-1])
        for child in node.get("children", []):
            walk(child)

    for node in plan:
        walk(node)
    return found


def test_the_lookup_and_the_rollup_read_the_lines_once_in_the_scoring_query(grocery):
    model, ds, _ = grocery
    result = score(model, ds, model.as_of)
    scans = _scans(ds.con, result.sql)
    # lines.csv is loaded into raw_orders; products.csv into raw_orders_lookup1, joined in the
    # view the lines are typed from, then grouped by basket in the same query
    assert scans.count("raw_orders") == 1, scans
    assert scans.count("raw_orders_lookup1") == 1, scans


def test_derived_customers_are_computed_once_so_the_purchases_are_read_once(cdnow):
    model, ds, _ = cdnow
    result = score(model, ds, model.as_of)
    scans = _scans(ds.con, result.sql)
    assert scans.count("raw_orders") == 1, scans
    assert "typed_customers" in scans
