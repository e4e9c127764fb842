"""Derived columns compiled to Ibis: what each construct computes, and every refusal.

One small customers frame with columns of every type (its own columns, not the contract's):
``months`` a number, ``plan`` text, ``flag`` yes/no, ``seen`` a date, and yes/no words in
``a``/``b``/``c``. Each derived column is checked against values worked out by hand.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crindex.data import open_dataset
from crindex.errors import DataError, Reason
from crindex.model import parse_model

FRAME = pd.DataFrame({
    "customer_id": ["c1", "c2", "c3", "c4"],
    "months": [14, 0, 2, None],
    "plan": [" Gold ", "silver", None, "GOLD"],
    "flag": [True, False, None, True],
    "seen": pd.to_datetime(["2024-03-31", "2024-01-15", None, "2023-12-01"]),
    "a": ["Yes", " yes ", "No", None],
    "b": ["1", "No internet service", "true", ""],
    "c": ["Y", "0", "t", "no"],
    "n": [2.0, 0.0, None, -1.0],
})

MODEL = """\
name: t
sources:
  customers:
    types: {{months: num}}
    derive:
{derive}
dimensions:
  - id: d
    metrics:
      - {{id: m, aggregate: attribute, column: months, weight: 100,
          normalise: {{method: identity}}}}
"""


def derive(**exprs: str) -> pd.DataFrame:
    lines = "\n".join(f'      {k}: "{v}"' for k, v in exprs.items())
    model = parse_model(MODEL.format(derive=lines), "m.yaml")
    ds = open_dataset({"customers": FRAME}, model)
    return ds.tables["customers"].select("customer_id", *exprs).to_pandas() \
        .set_index("customer_id")


def values(frame: pd.DataFrame, col: str) -> list:
    return [None if pd.isna(v) else v for v in frame[col]]


def test_arithmetic_comparison_and_logic():
    out = derive(x="months * 2 + 1", y="months / 4", z="-months", big="months >= 2 and flag",
                 either="months = 0 or not flag", nil="months is null")
    assert values(out, "x") == [29, 1, 5, None]
    assert values(out, "y") == [3.5, 0, 0.5, None]
    assert values(out, "z") == [-14, 0, -2, None]
    # true and true; false; (2 >= 2) and null is null; null and true is null
    assert values(out, "big") == [True, False, None, None]
    assert values(out, "either") == [False, True, None, None]  # null or false is null
    assert values(out, "nil") == [False, False, False, True]


def test_text_in_case_and_coalesce():
    out = derive(p="lower(strip(plan))", gold="lower(strip(plan)) in ('gold')",
                 tier="case when lower(strip(plan)) = 'gold' then 'G' when plan is null "
                      "then '?' else 'other' end",
                 m="coalesce(months, 0)", other="plan not in ('silver')")
    assert values(out, "p") == ["gold", "silver", None, "gold"]
    assert values(out, "gold") == [True, False, None, True]
    assert values(out, "tier") == ["G", "other", "?", "G"]
    assert values(out, "m") == [14, 0, 2, 0]
    assert values(out, "other") == [True, False, None, True]


def test_date_arithmetic_in_calendar_months_and_days():
    out = derive(back="date('2024-06-30') - months(months)", on="seen + days(10)",
                 before="seen < date('2024-01-31')", end="seen - months(1)")
    # 2024-06-30 - 14 months = 2023-04-30; - 0 = 2024-06-30; - 2 = 2024-04-30
    assert values(out, "back") == [pd.Timestamp("2023-04-30"), pd.Timestamp("2024-06-30"),
                                   pd.Timestamp("2024-04-30"), None]
    assert values(out, "on") == [pd.Timestamp("2024-04-10"), pd.Timestamp("2024-01-25"),
                                 None, pd.Timestamp("2023-12-11")]
    assert values(out, "before") == [False, True, None, True]
    # a month before 31 March is the last day of February (2024 is a leap year)
    assert values(out, "end")[0] == pd.Timestamp("2024-02-29")


def test_count_true_counts_the_words_of_truth_numbers_and_yes_no_columns():
    out = derive(k="count_true(a, b, c)", all="count_true(a, b, c, flag, n)")
    # c1: Yes, 1, Y -> 3; c2: ' yes ', 'No internet service', '0' -> 1;
    # c3: No, true, t -> 2; c4: null, '', no -> 0
    assert values(out, "k") == [3, 1, 2, 0]
    # flag true/false/null/true and n 2 (not 0)/0/null/-1 (not 0)
    assert values(out, "all") == [5, 1, 2, 2]


def test_a_derived_contract_column_is_typed_and_checked_like_it():
    model = parse_model(MODEL.format(derive="      created_at: \"date('2024-06-30') - "
                                            "months(months)\""), "m.yaml")
    ds = open_dataset({"customers": FRAME}, model, dt.date(2024, 6, 30))
    out = ds.tables["customers"].to_pandas().set_index("customer_id")
    assert out.loc["c1", "created_at"] == pd.Timestamp("2023-04-30")
    assert str(ds.tables["customers"].schema()["created_at"]).startswith("timestamp")


# --------------------------------------------------------------------------------------------
# every refusal of the compiler: at the derive key's file:line, with what is allowed

REFUSALS = [
    # (derived column name, expression, message, a phrase of the hint)
    ("plan", "lower(plan)", "sources.customers.derive.plan: `plan` is already a column of "
     "frame customers (`plan`)", "give the derived column another name"),
    ("x", "months(2)", "the expression is a length of time, not a value",
     "e.g. date('2024-06-30') - months(tenure)"),
    ("x", "null", "the expression is null, not a value", "a derived column is a number"),
    ("created_at", "months + 1", "`created_at` is a ts column of customers in the data "
     "contract, the expression is a number", "write an expression giving a date"),
    ("x", "tenure + 1", "unknown column `tenure`", "columns of"),
    ("x", "Months + 1", "unknown column `Months`", "did you mean `months`?"),
    ("x", "-plan", "`-` before a value takes a number, found text in `-plan`",
     "a column of a CSV file is text: declare its type"),
    ("x", "not months", "`not` takes true/false, found a number in `not months`", ""),
    ("x", "plan = 1", "`=` compares text with a number in `plan = 1`", "declare its type"),
    ("x", "plan in (1, 2)", "`in` compares text with a number", "declare its type"),
    ("x", "case when flag then 1 else 'no' end", "the values of `case` mix a number and text",
     "give every value the same type"),
    ("x", "case when plan then 1 end", "the condition after `when` takes true/false, found "
     "text in `plan`", ""),
    ("x", "coalesce(months, plan)", "the values of `coalesce` mix a number and text",
     "same type"),
    ("x", "months = null", "`=` with null is never true in `months = null`",
     "write `x is null`"),
    ("x", "months + null", "`+` with null is always null", "coalesce(x, 0)"),
    ("x", "plan + 1", "`+` takes two numbers, or a date and months(n) or days(n); found text "
     "and a number in `plan + 1`", "declare its type"),
    ("x", "months * seen", "`*` takes two numbers; found a number and a date", ""),
    ("x", "flag and plan", "`and` takes true/false, found text in `plan`", ""),
    ("x", "months(plan)", "`months` takes a number, found text in `months(plan)`",
     "declare its type"),
    ("x", "lower(months)", "`lower` takes text, found a number in `lower(months)`", ""),
    ("x", "count_true(a, seen)", "`count_true` counts yes/no values, numbers and words; "
     "found a date in `count_true(a, seen)`", ""),
    ("x", "lower(email)", "`email` is personal data (data contract): an expression only "
     "tests whether it is empty", "write email is null or email is not null"),
    ("x", "y + 1", "`y` is another derived column: an expression reads the table's own "
     "columns", "write its expression in place of its name"),
]


@pytest.mark.parametrize("name,expression,message,hint", REFUSALS,
                         ids=[r[2][:40] for r in REFUSALS])
def test_every_refusal_of_the_compiler(name, expression, message, hint):
    text = MODEL.format(derive=f"      y: \"months\"\n      {name}: \"{expression}\"")
    model = parse_model(text, "m.yaml")
    with pytest.raises(DataError) as err:
        open_dataset({"customers": FRAME}, model)
    (problem,) = [p for p in err.value.problems if message in p.message]
    assert problem.where == "m.yaml:7"
    assert hint in problem.hint
    assert problem.reason == Reason.BAD_PARAMETER


def test_a_renamed_column_is_read_by_its_contract_name():
    text = MODEL.replace("    types:", "    columns: {{id: customer_id}}\n    types:").format(
        derive='      x: "lower(id)"')
    model = parse_model(text, "m.yaml")
    frame = FRAME.rename(columns={"customer_id": "id"})
    with pytest.raises(DataError) as err:
        open_dataset({"customers": frame}, model)
    (problem,) = err.value.problems
    assert "`id` is read as `customer_id` (sources.customers.columns)" in problem.message
    assert problem.hint == "write customer_id"


@pytest.mark.parametrize("name,message", [
    ("_x", "m.yaml:6: sources.customers.derive names `_x`: names starting with _ are "
     "crindex's own"),
    ("months", "m.yaml:6: sources.customers.derive names `months`, which types also declares"),
    ("x", "m.yaml:4: sources.customers.types names `_row`: names starting with _ are "
     "crindex's own"),
])
def test_derived_and_declared_names_that_cannot_be(name, message):
    from crindex.errors import ModelError

    text = MODEL.format(derive=f"      {name}: \"1\"")
    if name == "x":
        text = text.replace("{months: num}", "{months: num, _row: num}")
    with pytest.raises(ModelError) as err:
        parse_model(text, "m.yaml")
    assert message in str(err.value)


def test_docs_list_every_refusal_and_only_those_tested():
    # docs/data.md, Derived columns: the table of refusals is the tests' refusals
    import re
    from pathlib import Path

    from tests.test_expr import REFUSALS as PARSER

    docs = (Path(__file__).resolve().parents[1] / "docs/data.md").read_text(encoding="utf-8")
    section = docs.split("## Derived columns", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", section, re.M)
    documented = {m.replace("\\|", "|") for _, m in rows if m not in ("refused with", "---")}
    tested = {r[1] for r in PARSER} | {r[2] for r in REFUSALS}
    assert documented == tested


def test_the_ibis_typing_spark_uses_types_extra_columns_too():
    # Spark reads files itself and types them with crindex.data.checks.type_columns (Ibis):
    # the same function, run here on DuckDB, types the extra columns as declared
    import ibis

    from crindex.data.checks import type_columns
    from crindex.data.load import _source_kind

    raw = ibis.memtable({"_row": [2, 3], "id": ["c1", "c2"], "tenure": [" 14 ", "x"],
                         "Contract": [" One year", ""], "paid": ["yes", "no"]})
    typed, fails = type_columns(raw, "customers", {
        "customer_id": "id", "tenure": "tenure", "Contract": "Contract", "paid": "paid"},
        {"tenure": "num", "Contract": "cat", "paid": "bool"})
    out = typed.to_pandas()
    assert list(out["tenure"].fillna(-1)) == [14.0, -1]
    assert list(out["_given_tenure"]) == [True, True]  # "x" was given: unparseable_number
    assert list(out["Contract"].fillna("-")) == ["One year", "-"]  # empty text is missing
    assert list(out["paid"]) == [True, False]
    assert fails == {"tenure": "unparseable_number", "paid": "unparseable_bool"}
    # an undeclared column keeps the type the engine read it as
    assert [_source_kind(t) for t in ("int64", "float64", "decimal(10, 2)", "string",
                                      "timestamp('UTC')", "date", "boolean", "VARCHAR",
                                      "BIGINT", "TIMESTAMP WITH TIME ZONE")] == \
        ["num", "num", "num", "cat", "ts", "ts", "bool", "cat", "num", "ts"]


def test_a_fact_table_column_of_ones_own_is_filtered_and_summed():
    # orders of the five-customer world with two columns of the export's own: a coupon code
    # (text) and a shipping fee (a number). c1's paid orders up to as_of: o1 1000 (coupon A,
    # fee 10), o2 500 (fee 5), o3 2000 (coupon A, fee 20); o4 is after as_of, o5 is refunded.
    from tests.conftest import five_frames

    frames = five_frames()
    orders = frames["orders"]
    orders["coupon"] = ["A", None, "A", "A", "B", None, None, "A", None, None, None]
    orders["fee"] = [10.0, 5.0, 20.0, 1.0, 1.0, 2.0, 2.0, 3.0, 4.0, 0.0, 0.0]
    model = parse_model("""\
name: t
sources:
  orders:
    types: {coupon: cat, fee: num}
dimensions:
  - id: d
    metrics:
      - {id: with_coupon, aggregate: sum, column: amount, where: {coupon: A}, weight: 50,
         normalise: {method: identity}}
      - {id: fees, aggregate: sum, column: fee, weight: 50, normalise: {method: identity}}
""", "m.yaml")
    from crindex.api import score

    out = score(model, frames, "2025-06-30").table.to_pandas().set_index("customer_id")
    assert out.loc["c1", "with_coupon__raw"] == 1000 + 2000
    assert out.loc["c1", "fees__raw"] == 10 + 5 + 20
    # c3's one paid order o8 (50, coupon A, fee 3)
    assert (out.loc["c3", "with_coupon__raw"], out.loc["c3", "fees__raw"]) == (50, 3)


def test_a_filter_on_a_declared_column_is_checked_against_its_type():
    from crindex.errors import ModelError

    with pytest.raises(ModelError) as err:
        parse_model("""\
name: t
sources:
  orders:
    types: {fee: num}
dimensions:
  - id: d
    metrics:
      - {id: m, aggregate: count, where: {fee: {'>=': cheap}}, weight: 100,
         normalise: {method: identity}}
""", "m.yaml")
    assert ("m.yaml:8: metric `m`: filter on `fee`: 'cheap' cannot be compared with a num "
            "column") in str(err.value)


def test_personal_data_is_only_tested_for_emptiness():
    frame = FRAME.assign(email=["a@x.cn", None, "", "d@x.cn"])
    model = parse_model(MODEL.format(derive='      reachable: "email is not null"'), "m.yaml")
    out = open_dataset({"customers": frame}, model).tables["customers"].to_pandas()
    assert list(out["reachable"]) == [True, False, False, True]  # empty text is no e-mail
