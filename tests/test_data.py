"""Reading users' data: encodings, formats, column mapping, the quality report and quarantine."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from crindex.api import score
from crindex.data import open_dataset
from crindex.errors import DataError, DataNotFoundError, ModelError, Reason
from crindex.model.loader import parse_model

from .conftest import AS_OF, five_frames

CRINDEX = [sys.executable, "-m", "crindex.cli"]

# A Chinese CRM export: Chinese headers, amounts in 万元 (x 10,000), dates written 2025/06/01.
CN_MODEL = """
name: 中文导出
sources:
  customers:
    path: 客户.csv
    columns: {客户编号: customer_id, 客户名称: name, 创建日期: created_at, 行业: industry}
    date_format: "%Y/%m/%d"
  orders:
    path: 订单.csv
    columns: {订单号: order_id, 客户编号: customer_id, 下单日期: ordered_at, 金额万元: amount}
    units: {amount: 10000}
    date_format: "%Y/%m/%d"
dimensions:
  - id: value
    label: 客户价值
    metrics:
      - id: spend
        label: 年采购金额
        aggregate: sum
        column: amount
        window: 365d
        weight: 60
        normalise: {method: range, min: 0, max: 1000000}
      - id: industry
        label: 行业
        aggregate: attribute
        column: industry
        weight: 40
        normalise: {method: map, values: {制造业: 100, 零售: 50}, default: 0}
"""


def write_gb18030(path: Path, rows: list[list[str]]) -> None:
    text = "\r\n".join(",".join(r) for r in rows) + "\r\n"
    path.write_bytes(text.encode("gb18030"))


@pytest.fixture
def cn_folder(tmp_path: Path) -> Path:
    write_gb18030(tmp_path / "客户.csv", [
        ["客户编号", "客户名称", "创建日期", "行业"],
        ["007", "华东精密机械有限公司", "2020/03/15", "制造业"],
        ["008", "北京零售连锁", "2023/11/01", "零售"],
    ])
    write_gb18030(tmp_path / "订单.csv", [
        ["订单号", "客户编号", "下单日期", "金额万元"],
        ["A1", "007", "2025/06/01", "12.5"],
        ["A2", "007", "2024/09/30", "30"],
        ["A3", "008", "2025/01/20", "4.25"],
        ["A4", "007", "2024/06/30", "99"],  # 365 days before as_of: outside the window
    ])
    return tmp_path


def test_gb18030_csv_with_chinese_headers_is_read_and_mapped(cn_folder: Path):
    raw = (cn_folder / "客户.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):  # the file really is GB18030, not UTF-8
        raw.decode("utf-8")
    model = parse_model(CN_MODEL, "cn.yaml")
    ds = open_dataset(cn_folder, model=model, as_of=AS_OF)
    customers = ds.table("customers").execute()
    assert customers.customer_id.tolist() == ["007", "008"]  # ids stay text: 007 is not 7
    assert customers.name.tolist() == ["华东精密机械有限公司", "北京零售连锁"]
    assert customers.created_at.tolist() == [pd.Timestamp("2020-03-15"),
                                             pd.Timestamp("2023-11-01")]
    assert ds.quality.encodings == {"customers": "gb18030", "orders": "gb18030"}

    result = score(model, str(cn_folder), AS_OF)
    rows = {r["customer_id"]: r for r in result.table.to_pylist()}
    # 007: (12.5 + 30) 万元 = 425,000 in the window (2024-07-01..2025-06-30); A4 is outside
    assert rows["007"]["spend__raw"] == pytest.approx(425_000)
    # 425,000 / 1,000,000 x 100 = 42.5 points x 60% + 制造业 100 points x 40% = 25.5 + 40
    assert rows["007"]["score"] == pytest.approx(65.5)
    # 008: 4.25 万元 = 42,500 -> 4.25 points x 0.6 = 2.55; 零售 50 x 0.4 = 20 -> 22.55
    assert rows["008"]["score"] == pytest.approx(22.55)
    ex = result.explain("007")
    assert ex.rows[0].metric == "年采购金额"
    assert "订单.csv" in ex.rows[0].source


def test_utf8_bom_and_plain_utf8_are_detected(tmp_path: Path):
    frames = five_frames()
    frames["customers"].to_csv(tmp_path / "customers.csv", index=False, encoding="utf-8-sig")
    frames["orders"].to_csv(tmp_path / "orders.csv", index=False, encoding="utf-8")
    ds = open_dataset(tmp_path, as_of=AS_OF)
    assert ds.quality.encodings == {"customers": "utf-8", "orders": "utf-8"}
    assert ds.table("customers").count().execute() == 7
    # the BOM does not leak into the first column's name
    assert "customer_id" in ds.table("customers").columns


def test_every_format_gives_the_same_scores(tmp_path: Path):
    """Parquet, CSV, Excel, a DuckDB file and in-memory frames score identically, dirt and all.

    (tests/test_one_way_in.py checks the same on random dirty data, reports included.)
    """
    frames = five_frames()
    orders = frames["orders"]
    # dirt every input must treat alike: a repeated order id (set aside) and PAID (paid)
    repeat = orders.iloc[[0]].assign(amount=5000.0)
    frames["orders"] = pd.concat([orders.assign(status=orders.status.replace({"paid": "PAID"})),
                                  repeat], ignore_index=True)
    model = parse_model(_five_model(), "five.yaml")
    expected = score(model, frames, AS_OF).table.select(["customer_id", "score", "tier"])
    assert expected.equals(score(model, five_frames(), AS_OF).table.select(
        ["customer_id", "score", "tier"]))
    for fmt in ("parquet", "csv", "xlsx"):
        folder = tmp_path / fmt
        folder.mkdir()
        for name, frame in frames.items():
            if fmt == "parquet":
                frame.to_parquet(folder / f"{name}.parquet")
            elif fmt == "csv":
                frame.to_csv(folder / f"{name}.csv", index=False)
            else:
                frame.to_excel(folder / f"{name}.xlsx", index=False)
        got = score(model, str(folder), AS_OF).table.select(["customer_id", "score", "tier"])
        assert got.equals(expected), fmt
    db = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(db))
    for name, frame in frames.items():
        con.register("f", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM f")
        con.unregister("f")
    con.close()
    got = score(model, str(db), AS_OF).table.select(["customer_id", "score", "tier"])
    assert got.equals(expected), "duckdb"


def _five_model() -> str:
    return """
name: five
dimensions:
  - id: all
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 50,
         normalise: {method: range, min: 0, max: 4000}}
      - {id: recency, aggregate: recency_days, weight: 30,
         normalise: {method: range, min: 0, max: 360, direction: lower}, missing: zero}
      - {id: opens, aggregate: count, table: interactions, kind: email_opened, window: 90d,
         weight: 20, normalise: {method: range, min: 0, max: 3}}
"""


def test_quality_report_counts_and_quarantines_bad_rows(tmp_path: Path):
    pd.DataFrame({
        "customer_id": ["c1", "c2", "c2", "c3", "", "c9"],
        "created_at": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-13-45", "2024-01-01",
                       "2025-08-01"],
    }).to_csv(tmp_path / "customers.csv", index=False)
    pd.DataFrame({
        "order_id": ["o1", "o2", "o2", "o3", "o4", "o5", "o6", "o7"],
        "customer_id": ["c1", "c1", "c1", "c2", "zz", "c1", "c2", "c1"],
        "ordered_at": ["2025-01-01", "2025-02-01", "2025-02-02", "2025-03-01", "2025-03-01",
                       "2025-09-01", "not a date", "2025-04-01"],
        "amount": ["100", "-50", "70", "1,200", "10", "30", "20", "abc"],
        "status": ["paid", "paid", "paid", "paid", "paid", "paid", "paid", "paid"],
    }).to_csv(tmp_path / "orders.csv", index=False)
    pd.DataFrame({
        "customer_id": ["c1", "c1", "c2", "c2"],
        "answered_at": ["2025-01-01"] * 4,
        "kind": ["nps", "nps", "csat", "ces"],
        "score": ["10", "11", "0", "7"],
    }).to_csv(tmp_path / "surveys.csv", index=False)
    out = tmp_path / "quarantine"
    ds = open_dataset(tmp_path, as_of=AS_OF, guardrails=False, quarantine_dir=out)
    q = ds.quality
    # customers: line 4 repeats c2 (first kept), line 5 has month 13, line 6 has no id,
    # line 7 (c9) was created after as_of: kept, reported
    assert q.count("customers", "duplicate_id") == 1
    assert q.count("customers", "unparseable_date") == 1
    assert q.count("customers", "missing_value") == 1
    assert q.count("customers", "created_after_as_of") == 1
    assert [e["row"] for e in q.table("customers").issues[0].examples]  # lines are reported
    dup = next(i for i in q.table("customers").issues if i.reason == "duplicate_id")
    assert dup.examples[0]["row"] == 4  # CSV line 4 (line 1 is the header)
    assert sorted(ds.table("customers").customer_id.execute()) == ["c1", "c2", "c9"]
    # orders: o2 again (duplicate), o2 -50 unrefunded (negative; it is also first of its id),
    # zz (orphan), "not a date", "abc"; o5 is after as_of (kept); "1,200" reads as 1200
    assert q.count("orders", "negative_amount") == 1
    assert q.count("orders", "duplicate_id") == 1
    assert q.count("orders", "orphan") == 1
    assert q.count("orders", "unparseable_date") == 1
    assert q.count("orders", "unparseable_number") == 1
    assert q.count("orders", "after_as_of") == 1
    orders = ds.table("orders").execute().sort_values("order_id")
    assert orders.order_id.tolist() == ["o1", "o3", "o5"]
    assert orders.amount.tolist() == [100.0, 1200.0, 30.0]
    # surveys: nps 11 and csat 0 are out of their scales; ces 7 is the top of 1-7
    assert q.count("surveys", "out_of_range") == 2
    assert q.table("orders").rows_read == 8 and q.table("orders").rows_used == 3

    report = json.loads((out / "quality.json").read_text(encoding="utf-8"))
    assert report["rows_quarantined"] == 3 + 5 + 2
    lines = (out / "quarantine" / "orders.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == '"order_id","customer_id","ordered_at","amount","status",' \
                       '"crindex_reason","crindex_line","crindex_column"'
    assert len(lines) == 1 + 5
    assert any('"zz"' in line and '"orphan"' in line for line in lines)
    # the quarantine's crindex_line is the examples' "line" (and "row") in quality.json
    orders_report = next(t for t in report["tables"] if t["table"] == "orders")
    assert orders_report["location"] == "line"
    orphan = next(i for i in orders_report["issues"] if i["reason"] == "orphan")
    assert orphan["examples"][0]["line"] == orphan["examples"][0]["row"] == 6
    assert '"o4","zz","2025-03-01","10","paid","orphan",6,"customer_id"' in lines


def test_missing_column_names_the_columns_that_exist(tmp_path: Path):
    pd.DataFrame({"customer_id": ["c1"]}).to_csv(tmp_path / "customers.csv", index=False)
    pd.DataFrame({"cust": ["c1"], "date": ["2025-01-01"], "value": [1.0]}).to_csv(
        tmp_path / "orders.csv", index=False)
    model = parse_model(_five_model(), "five.yaml")
    with pytest.raises(DataError) as info:
        open_dataset(tmp_path, model=model, as_of=AS_OF)
    err = info.value
    assert err.reason == Reason.MISSING_COLUMN
    text = str(err)
    # every missing column at once, each naming what the file does have
    for col in ("customer_id", "ordered_at", "amount"):
        assert f"orders has no column `{col}`" in text
    assert "columns found: cust, date, value" in text
    assert "interactions" in text  # the model's interactions table is missing too


def test_missing_data_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(DataNotFoundError) as info:
        open_dataset(tmp_path / "nope")
    assert info.value.reason == Reason.DATA_NOT_FOUND


def test_a_tables_own_file_is_that_table(tmp_path: Path):
    (tmp_path / "customers.csv").write_text("customer_id,created_at\na,2024-01-01\na,2024-02-01\n",
                                            encoding="utf-8")
    (tmp_path / "notes.csv").write_text("x\n1\n", encoding="utf-8")
    ds = open_dataset(tmp_path / "customers.csv", as_of=AS_OF, guardrails=False)
    assert list(ds.tables) == ["customers"]
    # checked as in a folder: the repeated id is set aside, in line 3 of the file
    issue = ds.quality.table("customers").issues[0]
    assert (issue.reason, issue.count, issue.examples[0]["where"]) == \
        ("duplicate_id", 1, "customers.csv line 3")
    with pytest.raises(DataError) as info:
        open_dataset(tmp_path / "notes.csv")
    assert "not named after a table" in str(info.value)


def test_cli_bad_data_one_message_no_traceback(tmp_path: Path, cn_folder: Path):
    model = tmp_path / "m.yaml"
    model.write_text(CN_MODEL.replace("金额万元: amount", "金额: amount"), encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run(
        [*CRINDEX, "score", "--model", str(model), "--data", str(cn_folder), "--as-of",
         "2025-06-30", "--out", str(out)], capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "sources.orders.columns maps `金额`" in proc.stderr
    assert "金额万元" in proc.stderr  # the column the file does have
    assert not out.exists() or not any(out.iterdir())  # nothing half-written


def test_cli_score_writes_scores_and_quality(tmp_path: Path, cn_folder: Path):
    model = tmp_path / "m.yaml"
    model.write_text(CN_MODEL, encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run(
        [*CRINDEX, "score", "--model", str(model), "--data", str(cn_folder), "--as-of",
         "2025-06-30", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (out / "quality.json").exists()
    scores = pd.read_csv(out / "scores.csv", encoding="utf-8-sig", dtype={"customer_id": str})
    assert scores.customer_id.tolist() == ["007", "008"]
    assert "name" not in scores.columns  # personal data stays out of outputs


def _pg_url() -> str:
    return os.environ.get("CRINDEX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_tables():
    """The five-customer world in a fresh schema of the local PostgreSQL server."""
    try:
        import psycopg

        conn = psycopg.connect(_pg_url(), autocommit=True, connect_timeout=3)
    except Exception as exc:  # no server or no driver: only CI insists
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {_pg_url()} is needed when CI=true: {exc}")
        pytest.skip(f"no PostgreSQL at {_pg_url()}: {exc}")
    schema = "crindex_" + uuid.uuid4().hex[:8]
    conn.execute(f"CREATE SCHEMA {schema}")
    try:
        frames = five_frames()
        with conn.cursor() as cur:
            for name, frame in frames.items():
                cols = ", ".join(f"{c} {_pg_type(frame[c])}" for c in frame.columns)
                cur.execute(f"CREATE TABLE {schema}.{name} ({cols})")
                with cur.copy(f"COPY {schema}.{name} FROM STDIN") as copy:
                    for row in frame.itertuples(index=False):
                        copy.write_row([None if pd.isna(v) else v for v in row])
        yield f"{_pg_url()}?schema={schema}"
    finally:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


def _pg_type(series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    if pd.api.types.is_float_dtype(series):
        return "double precision"
    return "text"


@pytest.mark.postgres
def test_postgresql_url_scores_like_the_frames(pg_tables: str):
    model = parse_model(_five_model(), "five.yaml")
    expected = score(model, five_frames(), AS_OF).table.select(["customer_id", "score", "tier"])
    got = score(model, pg_tables, AS_OF).table.select(["customer_id", "score", "tier"])
    assert got.equals(expected)


def test_xlsx_sheet_and_dates(tmp_path: Path):
    customers = pd.DataFrame({"ID": [1001, 1002], "开户日期": [dt.datetime(2021, 5, 1),
                                                              dt.datetime(2024, 1, 2)]})
    with pd.ExcelWriter(tmp_path / "crm.xlsx") as xw:
        pd.DataFrame({"x": [1]}).to_excel(xw, sheet_name="说明", index=False)
        customers.to_excel(xw, sheet_name="客户", index=False)
    model = parse_model("""
name: x
sources:
  customers: {path: crm.xlsx, sheet: 客户, columns: {ID: customer_id, 开户日期: created_at}}
dimensions:
  - id: d
    metrics:
      - {id: tenure, aggregate: tenure_days, weight: 100,
         normalise: {method: range, min: 0, max: 3650}}
""", "x.yaml")
    result = score(model, str(tmp_path), AS_OF)
    rows = {r["customer_id"]: r for r in result.table.to_pylist()}
    # 2021-05-01 .. 2025-06-30 = 1,521 days; 2024-01-02 .. 2025-06-30 = 545 days
    assert rows["1001"]["tenure__raw"] == 1521
    assert rows["1002"]["tenure__raw"] == 545


def test_quality_examples_leave_personal_data_out(tmp_path: Path):
    pd.DataFrame({"customer_id": ["c1", "c1"], "name": ["张三", "李四"],
                  "email": ["a@x.cn", "b@x.cn"]}).to_csv(tmp_path / "customers.csv", index=False)
    ds = open_dataset(tmp_path, as_of=AS_OF, guardrails=False)
    dup = ds.quality.table("customers").issues[0]
    assert dup.reason == "duplicate_id"
    assert dup.examples == [{"row": 3, "line": 3, "where": "customers.csv line 3",
                             "column": "customer_id", "value": "c1",
                             "values": {"customer_id": "c1"}}]
    assert "李四" not in json.dumps(ds.quality.to_dict(), ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# categorical values: sources.<table>.values and the contract's vocabularies

# A Chinese export whose order status is written in Chinese: 已付款 / 已退款 / 已取消.
STATUS_MODEL = """
name: 状态映射
sources:
  customers:
    path: 客户.csv
    columns: {客户编号: customer_id}
  orders:
    path: 订单.csv
    columns: {订单号: order_id, 客户编号: customer_id, 下单日期: ordered_at, 金额万元: amount,
              状态: status}
    units: {amount: 10000}
    date_format: "%Y/%m/%d"
    values:
      status: {已付款: paid, 已退款: refunded, 已取消: cancelled}
dimensions:
  - id: value
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 100,
         normalise: {method: range, min: 0, max: 1000000}}
"""


@pytest.fixture
def status_folder(tmp_path: Path) -> Path:
    write_gb18030(tmp_path / "客户.csv", [["客户编号"], ["007"], ["008"]])
    write_gb18030(tmp_path / "订单.csv", [
        ["订单号", "客户编号", "下单日期", "金额万元", "状态"],
        ["A1", "007", "2025/06/01", "12.5", "已付款"],
        ["A2", "007", "2024/09/30", "-30", "已退款"],
        ["A3", "008", "2025/01/20", "4.25", "已付款"],
        ["A4", "008", "2025/03/01", "10", "已取消"],
        ["A5", "007", "2025/05/05", "5", " 已付款 "],
        ["A6", "008", "2025/05/06", "2", "PAID"],  # case is folded: paid
        ["A7", "008", "2025/05/07", "1", "待发货"],  # not mapped, not a contract status
        ["A8", "008", "30/01/2025", "1", "已付款"],  # day first: not the date_format
        ["A9", "007", "2025/02/01", "3万", "已付款"],  # the unit belongs in units:
    ])
    return tmp_path


def test_values_map_chinese_statuses_so_paid_orders_count(status_folder: Path):
    model = parse_model(STATUS_MODEL, "status.yaml")
    ds = open_dataset(status_folder, model=model, as_of=AS_OF, guardrails=False)
    orders = ds.table("orders").execute().sort_values("order_id")
    assert orders.status.tolist() == ["paid", "refunded", "paid", "cancelled", "paid", "paid"]
    # 待发货 is neither mapped nor a contract status: set aside, with where and how to fix
    issue = ds.quality.table("orders").issues[0]
    assert (issue.reason, issue.column, issue.source_column) == ("unknown_value", "status", "状态")
    assert issue.quarantined and issue.count == 1
    assert issue.bad_values == [{"value": "待发货", "count": 1}]
    assert issue.examples[0]["line"] == 8 and issue.examples[0]["value"] == "待发货"
    assert issue.hint == ("map them in the model: sources.orders.values: {status: {待发货: ?}}, "
                          "? one of paid, refunded, cancelled")

    # 3 of 9 orders set aside on purpose (more than the 20% the guardrail allows)
    scored = score(model, str(status_folder), AS_OF, guardrails=False).table
    rows = {r["customer_id"]: r for r in scored.to_pylist()}
    # only paid orders count: 007 A1 12.5 + A5 5 = 17.5 万 = 175,000 -> 17.5 points (A2 is a
    # refund; A9 set aside); 008 A3 4.25 + A6 2 = 6.25 万 -> 6.25 points (A4 cancelled,
    # A7 and A8 set aside)
    assert rows["007"]["spend__raw"] == pytest.approx(175_000)
    assert rows["007"]["score"] == pytest.approx(17.5)
    assert rows["008"]["score"] == pytest.approx(6.25)


def test_unmapped_chinese_statuses_are_set_aside_and_reported(status_folder: Path):
    model = parse_model(STATUS_MODEL.replace(
        "    values:\n      status: {已付款: paid, 已退款: refunded, 已取消: cancelled}\n", ""),
        "status.yaml")
    ds = open_dataset(status_folder, model=model, as_of=AS_OF, guardrails=False)
    q = ds.quality
    # 已付款 x3 (one with spaces around it), 已退款, 已取消, 待发货: none counts as unpaid
    assert q.count("orders", "unknown_value") == 6
    assert ds.table("orders").execute().order_id.tolist() == ["A6"]
    issue = q.table("orders").issues[0]
    # values as crindex reads them (trimmed): what a mapping must name
    assert issue.bad_values == [{"value": "已付款", "count": 3}, {"value": "已取消", "count": 1},
                                {"value": "已退款", "count": 1}, {"value": "待发货", "count": 1}]
    assert issue.distinct_values == 4
    assert issue.examples[0]["where"] == "订单.csv line 2"
    assert issue.examples[4]["values"]["状态"] == " 已付款 "  # the row as written
    assert q.summary_lines()[2:6] == [
        "  6 rows: a value outside the data contract's vocabulary (unknown_value, set aside) "
        "in column `状态` (orders.status)",
        '    values: "已付款" (3), "已取消" (1), "已退款" (1), "待发货" (1)',
        '    at: 订单.csv line 2 "已付款", line 3 "已退款", line 4 "已付款", line 5 "已取消", '
        'line 6 "已付款"',
        "    fix: map them in the model: sources.orders.values: {status: {已付款: ?, 已取消: ?, "
        "已退款: ?, 待发货: ?}}, ? one of paid, refunded, cancelled",
    ]


def test_values_mapping_errors_give_file_and_line():
    text = """name: x
sources:
  orders:
    columns: {状态: status}
    values:
      status: {已付款: paid, 已退款: refund, 1: cancelled}
      状态: {a: b}
      amount: {a: b}
      colour: {a: b}
    constants: {product_line: x, status: 已付款}
dimensions:
  - id: d
    metrics:
      - {id: spend, aggregate: sum, column: amount, weight: 100,
         normalise: {method: range, min: 0, max: 10}}
"""
    with pytest.raises(ModelError) as info:
        parse_model(text, "m.yaml")
    got = [(p.where, p.reason) for p in info.value.problems]
    assert got == [("m.yaml:6", Reason.BAD_PARAMETER), ("m.yaml:7", Reason.UNKNOWN_COLUMN),
                   ("m.yaml:8", Reason.UNKNOWN_COLUMN), ("m.yaml:9", Reason.UNKNOWN_COLUMN),
                   ("m.yaml:10", Reason.BAD_PARAMETER)]
    text_ = str(info.value)
    assert ("sources.orders.values.status maps `已退款` to `refund`, which is not a value of "
            "orders.status in the data contract (orders.status is one of: paid, refunded, "
            "cancelled)") in text_
    assert "`状态` is renamed to `status`, write values: {status: {...}}" in text_
    assert "`amount`, a num column" in text_
    # numbers written as keys are the text of the file; a good mapping loads
    ok = parse_model(text.replace("refund,", "refunded,").split("      状态")[0]
                     + "dimensions:" + text.split("dimensions:")[1], "m.yaml")
    assert ok.sources["orders"].values["status"] == {"已付款": "paid", "已退款": "refunded",
                                                      "1": "cancelled"}


def test_unknown_values_of_soft_and_open_columns_are_kept_and_reported(tmp_path: Path):
    pd.DataFrame({"customer_id": ["c1", "c2"], "lifecycle_stage": ["Mature", "成熟期"]}).to_csv(
        tmp_path / "customers.csv", index=False)
    pd.DataFrame({
        "customer_id": ["c1", "c1", "c2", "c2", "c2"],
        "occurred_at": ["2025-06-01"] * 5,
        "channel": ["email", "微信", "微信", "phone", "web"],
        "kind": ["email_opened", "邮件打开", "webinar", "call", "邮件打开"],
    }).to_csv(tmp_path / "interactions.csv", index=False)
    pd.DataFrame({"customer_id": ["c1", "c2", "c2"], "answered_at": ["2025-06-01"] * 3,
                  "kind": ["NPS", "满意度", "csat"], "score": ["9", "4", "5"]}).to_csv(
        tmp_path / "surveys.csv", index=False)
    model = parse_model("""
name: x
dimensions:
  - id: d
    metrics:
      - {id: webinars, aggregate: count, table: interactions, kind: webinar, weight: 100,
         normalise: {method: range, min: 0, max: 3}}
""", "x.yaml")
    ds = open_dataset(tmp_path, model=model, as_of=AS_OF, guardrails=False)
    q = ds.quality
    by = {(t.table, i.column): i for t in q.tables for i in t.issues}
    # customers: Mature folds to mature; 成熟期 is reported, the customer kept
    stage = by[("customers", "lifecycle_stage")]
    assert (stage.count, stage.quarantined) == (1, False)
    assert stage.bad_values == [{"value": "成熟期", "count": 1}]
    assert sorted(ds.table("customers").lifecycle_stage.execute().tolist()) == ["mature", "成熟期"]
    # interactions: 微信 is no contract channel (kept); 邮件打开 is no usual kind and no metric
    # counts it (kept); webinar is counted by the model, so it is not reported
    channel, kind = by[("interactions", "channel")], by[("interactions", "kind")]
    assert (channel.count, kind.count, channel.quarantined, kind.quarantined) == (2, 2, False,
                                                                                 False)
    assert kind.bad_values == [{"value": "邮件打开", "count": 2}]
    assert [e["line"] for e in kind.examples] == [3, 6]
    assert kind.hint.startswith("if these are kinds a metric should count, map them in the "
                                "model: sources.interactions.values: {kind: {邮件打开: ?}}")
    assert q.table("interactions").rows_used == 5
    # surveys: NPS folds to nps; 满意度 has no scale, so the answer is set aside
    survey = by[("surveys", "kind")]
    assert (survey.count, survey.quarantined) == (1, True)
    assert sorted(ds.table("surveys").kind.execute().tolist()) == ["csat", "nps"]
    assert q.table("surveys").rows_used == 2


def test_quality_messages_name_column_value_place_and_fix(tmp_path: Path):
    pd.DataFrame({"客户编号": ["c1", "c2"]}).to_csv(tmp_path / "customers.csv", index=False)
    pd.DataFrame({
        "订单号": ["o1", "o2", "o3", "o4"],
        "客户编号": ["c1", "c1", "c2", "c2"],
        "日期": ["2025-01-02", "13/01/2025", "25/02/2025", "2025-03-01"],
        "金额": ["100", "5", "7", "12.5万"],
    }).to_csv(tmp_path / "orders.csv", index=False)
    model = parse_model("""
name: x
sources:
  customers: {columns: {客户编号: customer_id}}
  orders: {columns: {订单号: order_id, 客户编号: customer_id, 日期: ordered_at, 金额: amount}}
dimensions:
  - id: d
    metrics:
      - {id: spend, aggregate: sum, column: amount, weight: 100,
         normalise: {method: range, min: 0, max: 10}}
""", "x.yaml")
    out = tmp_path / "out"
    ds = open_dataset(tmp_path, model=model, as_of=AS_OF, guardrails=False, quarantine_dir=out)
    assert ds.quality.summary_lines()[1:] == [
        "orders: 4 rows read from orders.csv (csv, utf-8), 1 used",
        "  2 rows: a date that cannot be read (unparseable_date, set aside) in column `日期` "
        "(orders.ordered_at)",
        '    values: "13/01/2025" (1), "25/02/2025" (1)',
        '    at: orders.csv line 3 "13/01/2025", line 4 "25/02/2025"',
        '    fix: name their layout in the model: sources.orders.date_format: "%d/%m/%Y"',
        "  1 row: a number that cannot be read (unparseable_number, set aside) in column `金额` "
        "(orders.amount)",
        '    values: "12.5万" (1)',
        '    at: orders.csv line 5 "12.5万"',
        "    fix: a number may carry thousands separators (1,200 or 1，200) but no currency "
        "sign, unit or word: take them out of the values; for amounts in 万元 keep the bare "
        "number and scale the column: sources.orders.units: {amount: 10000}",
    ]
    report = json.loads((out / "quality.json").read_text(encoding="utf-8"))
    issue = report["tables"][1]["issues"][0]
    # the keys quality.json had are all still there, the new ones beside them
    assert {"table", "reason", "meaning", "count", "quarantined", "examples"} <= set(issue)
    assert (issue["column"], issue["source_column"], issue["distinct_values"]) == (
        "ordered_at", "日期", 2)
    assert issue["examples"][0]["where"] == "orders.csv line 3"
    quarantine = pd.read_csv(out / "quarantine" / "orders.csv", encoding="utf-8-sig")
    assert quarantine.crindex_line.tolist() == [e["line"] for e in issue["examples"]] + [5]
    assert quarantine.crindex_column.tolist() == ["日期", "日期", "金额"]


def test_date_hints_say_when_day_and_month_are_both_possible():
    from crindex.data.hints import date_hint as _date_hint

    assert _date_hint("orders", ["03/04/2025"], None) == (
        'name their layout in the model: sources.orders.date_format: "%d/%m/%Y" or '
        '"%m/%d/%Y" (both read these values: is the day or the month first?)')
    assert _date_hint("orders", ["2025-06-01 10:30"], "%Y/%m/%d") == (
        'these do not match sources.orders.date_format "%Y/%m/%d" but read as '
        '"%Y-%m-%d %H:%M"; fix the values or the format')
    assert _date_hint("orders", ["2024-13-45"], None).startswith(
        "write dates as YYYY-MM-DD, or name their layout")


# --------------------------------------------------------------------------------------------
# docs/data.md is true


DOC = Path(__file__).resolve().parents[1] / "docs" / "data.md"


def test_doc_lists_the_contract_as_the_code_has_it():
    from crindex.contract import CONTRACT, END, START, VOCABULARIES, contract_markdown

    text = DOC.read_text(encoding="utf-8")
    shown = START + text.split(START, 1)[1].split(END, 1)[0] + END
    assert shown == contract_markdown(), "run: python -m crindex.contract docs/data.md"
    for table, columns in CONTRACT.items():
        assert f"**{table}**" in text
        for col, kind in columns.items():
            assert f"| {col} | {kind} |" in text
    for cols in VOCABULARIES.values():
        for words in cols.values():
            assert ", ".join(f"`{w}`" for w in words) in text


def test_doc_values_example_maps_what_it_says(tmp_path: Path):
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### Mapping your words"):]
    start = section.index("```yaml\n") + 8
    block = section[start:section.index("\n```", start)]
    model = parse_model("name: doc\n" + block + """
dimensions:
  - id: d
    metrics:
      - {id: paid, aggregate: count, weight: 100, normalise: {method: range, min: 0, max: 2}}
""", "doc.yaml")
    pd.DataFrame({"customer_id": ["c1"]}).to_csv(tmp_path / "customers.csv", index=False)
    pd.DataFrame({"订单号": ["o1", "o2"], "客户编号": ["c1", "c1"],
                  "下单日期": ["2025-06-01", "2025-06-02"], "金额": ["10", "-10"],
                  "状态": ["已付款", "已退款"]}).to_csv(tmp_path / "订单.csv", index=False)
    pd.DataFrame({"客户编号": ["c1", "c1"], "日期": ["2025-06-01"] * 2,
                  "类型": ["净推荐值", "满意度"], "分数": ["9", "4"]}).to_csv(
        tmp_path / "调查.csv", index=False)
    pd.DataFrame({"客户编号": ["c1", "c1"], "时间": ["2025-06-01"] * 2,
                  "渠道": ["微信", "上门拜访"], "类型": ["邮件打开", "登录"]}).to_csv(
        tmp_path / "互动.csv", index=False)
    ds = open_dataset(tmp_path, model=model, as_of=AS_OF,
                      tables=["orders", "surveys", "interactions"])
    assert ds.table("orders").status.execute().tolist() == ["paid", "refunded"]
    assert ds.table("surveys").kind.execute().tolist() == ["nps", "csat"]
    inter = ds.table("interactions").execute()
    assert inter.channel.tolist() == ["social", "visit"]
    assert inter.kind.tolist() == ["email_opened", "login"]
    assert ds.quality.quarantined == 0
    assert all(not t.issues for t in ds.quality.tables)


def test_doc_summary_example_is_what_crindex_prints(status_folder: Path):
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("prints a summary on stderr"):]
    start = section.index("```\n") + 4
    shown = section[start:section.index("\n```", start)].splitlines()
    model = parse_model(STATUS_MODEL, "status.yaml")
    ds = open_dataset(status_folder, model=model, as_of=AS_OF, guardrails=False)
    assert ds.quality.summary_lines()[1:] == shown
