"""CSV dialects, ids across tables and Excel day numbers: read right or refused, never misread.

The five-customer world (tests/conftest.py) scores c1 at 37.5 with the one-metric model of
tests/test_cli_store.py: c1's paid orders in (2024-06-30, 2025-06-30] are 1000 + 500 = 1500
(the -300 is refunded, 9999 is after as_of, 2000 before the window), 1500 / 4000 x 100 = 37.5.
Every test below writes one table of that world another way and must get the same scores.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crindex.api import score
from crindex.data import open_dataset
from crindex.data.read import sniff_delimiter
from crindex.errors import DataError
from crindex.model import parse_model
from tests.test_cli_store import MODEL, write_five

AS_OF = "2025-06-30"
#: the five-customer world's scores with MODEL: c1 37.5 (above); c2 7.5 (200 + 100 = 300:
#: 300 / 4000 x 100); c3 1.25 (50); c4 0 (no orders); c5 10.0 (400)
SCORES = {"c1": 37.5, "c2": 7.5, "c3": 1.25, "c4": 0.0, "c5": 10.0}


def _scores(model_text: str, data: Path) -> dict[str, float]:
    table = score(parse_model(model_text), str(data), AS_OF).table
    return dict(zip(table.column("customer_id").to_pylist(), table.column("score").to_pylist(),
                    strict=True))


def _orders_as_csv(data: Path, **to_csv) -> pd.DataFrame:
    frame = pd.read_parquet(data / "orders.parquet")
    (data / "orders.parquet").unlink()
    frame.to_csv(data / "orders.csv", index=False, **to_csv)
    return frame


def test_a_semicolon_csv_with_decimal_commas_scores_as_the_parquet_file(tmp_path):
    _, data = write_five(tmp_path)
    _orders_as_csv(data, sep=";", decimal=",")
    text = (data / "orders.csv").read_text(encoding="utf-8")
    assert "o1;c1;2025-06-20;1000,0;600,0;A;paid" in text  # as a European Excel writes it
    # read with a decimal point, 1000,0 would be 10000: c1 would score 100, not 37.5
    assert _scores(MODEL, data) == SCORES


def test_the_issue_amount_1810_67_is_read_as_1810_67(tmp_path):
    _, data = write_five(tmp_path)
    frame = _orders_as_csv(data, sep=";", decimal=",")
    frame.loc[frame.order_id == "o1", "amount"] = 1810.67
    frame.to_csv(data / "orders.csv", index=False, sep=";", decimal=",")
    assert "o1;c1;2025-06-20;1810,67;" in (data / "orders.csv").read_text(encoding="utf-8")
    # c1: 1810.67 + 500 = 2310.67 -> 2310.67 / 4000 x 100 = 57.76675
    assert _scores(MODEL, data)["c1"] == pytest.approx(57.76675, abs=1e-9)


def test_a_given_decimal_comma_reads_thousands_points(tmp_path):
    _, data = write_five(tmp_path)
    frame = _orders_as_csv(data, sep=";", decimal=",")
    lines = (data / "orders.csv").read_text(encoding="utf-8").splitlines()
    # o1 1000 written 1.000,00: with decimal "," that is one thousand (with "." one)
    lines[1] = lines[1].replace(";1000,0;", ";1.000,00;")
    (data / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert frame.amount.iloc[0] == 1000.0
    model = MODEL + 'sources:\n  orders: {decimal: ","}\n'
    assert _scores(model, data) == SCORES


def test_a_decimal_comma_in_a_comma_separated_file_is_not_a_thousands_separator(tmp_path):
    _, data = write_five(tmp_path)
    _orders_as_csv(data, quoting=csv.QUOTE_NONNUMERIC, decimal=",")
    assert '"o1","c1","2025-06-20",1000,0' not in (data / "orders.csv").read_text()
    assert _scores(MODEL, data) == SCORES


# -- the law: a number is read as written, or the file is refused with the fix -----------------

amounts = st.lists(st.decimals(min_value=0, max_value=10_000_000, places=3,
                               allow_nan=False, allow_infinity=False), min_size=1, max_size=6)


def _write(value: Decimal, point: bool, grouped: bool) -> str:
    places = -value.as_tuple().exponent if value.as_tuple().exponent < 0 else 0
    text = f"{value:,.{places}f}" if grouped else f"{value:.{places}f}"
    if not point:  # 1,234.5 -> 1.234,5
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=amounts, point=st.booleans(), grouped=st.booleans(),
       semicolon=st.booleans())
def test_numbers_are_read_as_written_or_refused(tmp_path_factory, values, point, grouped,
                                                semicolon):
    folder = tmp_path_factory.mktemp("dialect")
    pd.DataFrame({"customer_id": ["c1"]}).to_parquet(folder / "customers.parquet")
    delimiter = ";" if semicolon or not point else ","  # decimal commas come with ;
    with (folder / "orders.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter=delimiter)
        out.writerow(["order_id", "customer_id", "ordered_at", "amount"])
        for i, v in enumerate(values):
            out.writerow([f"o{i}", "c1", "2025-01-01", _write(v, point, grouped)])
    try:
        ds = open_dataset(folder)
    except DataError as exc:  # refused: it must say how to decide
        assert "sources.orders.decimal" in str(exc)
        return
    got = ds.tables["orders"].order_by("order_id").amount.to_pyarrow().to_pylist()
    want = [float(v) for _, v in sorted((f"o{i}", v) for i, v in enumerate(values))]
    assert all(math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-9) for g, w in zip(got, want,
                                                                               strict=True))


# -- dialect pieces ------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "want"), [
    ("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("a|b", "|"), ("name", ","),
    ('"a;b",c,d', ","),  # a delimiter inside quotes does not count
    ("客户编号;金额", ";"),
])
def test_the_delimiter_is_the_header_lines(line, want):
    assert sniff_delimiter(line) == want


# -- ids across tables -----------------------------------------------------------------------------


def test_ids_written_1042_and_1042_0_are_one_customer(tmp_path):
    _, data = write_five(tmp_path)
    number = {f"c{i}": 1041 + i for i in range(1, 8)}  # c1 -> 1042, ...
    customers = pd.read_parquet(data / "customers.parquet")
    customers["customer_id"] = customers.customer_id.map(number)  # int64 in Parquet
    customers.to_parquet(data / "customers.parquet")
    for name in ("interactions", "surveys"):  # float64 in Parquet: 1042.0
        frame = pd.read_parquet(data / f"{name}.parquet")
        frame["customer_id"] = frame.customer_id.map(number).astype(float)
        frame.to_parquet(data / f"{name}.parquet")
    orders = pd.read_parquet(data / "orders.parquet")
    orders["customer_id"] = orders.customer_id.map(number).astype(float)
    (data / "orders.parquet").unlink()
    orders.to_csv(data / "orders.csv", index=False)  # text: 1042.0
    assert ",1042.0,2025-06-20," in (data / "orders.csv").read_text(encoding="utf-8")
    ds = open_dataset(str(data), as_of=AS_OF)
    assert ds.quality.count("orders", "orphan") == 0
    got = _scores(MODEL, data)
    assert got == {str(number[c]): s for c, s in SCORES.items()}


# -- Excel serial day numbers -------------------------------------------------------------------


def test_excel_serial_days_are_read_with_date_format_excel(tmp_path):
    _, data = write_five(tmp_path)
    frame = pd.read_parquet(data / "orders.parquet")
    serial = (frame.ordered_at - pd.Timestamp("1899-12-30")).dt.days
    assert serial.iloc[0] == 45828  # 2025-06-20: Excel's day 45828
    frame["ordered_at"] = serial
    (data / "orders.parquet").unlink()
    frame.to_csv(data / "orders.csv", index=False)
    model = MODEL + "sources:\n  orders: {date_format: excel}\n"
    assert _scores(model, data) == SCORES
    ds = open_dataset(str(data), parse_model(model), AS_OF)
    first = ds.tables["orders"].order_by("order_id").ordered_at.to_pyarrow().to_pylist()[0]
    assert first == dt.datetime(2025, 6, 20)


# -- filter words the data never holds -------------------------------------------------------------


def test_an_unseen_filter_word_is_a_warning_in_the_quality_report(tmp_path):
    _, data = write_five(tmp_path)
    model = parse_model(MODEL.replace(
        "      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 100,",
        "      - {id: spend, aggregate: count, table: interactions, window: 365d, "
        "weight: 100, where: {channel: [email, wechat]},"))
    result = score(model, str(data), AS_OF)
    [warning] = result.quality.warnings
    # the interactions' channels: 15 email, 3 support (tests/conftest.py five_frames)
    assert "filters interactions.channel on `wechat`, which no row holds" in warning
    assert "values found: email (15), support (3)" in warning
    assert result.quality.to_dict()["warnings"] == [warning]
    assert any(line.startswith("warning: ") for line in result.quality.summary_lines())


def test_the_ibis_typing_reads_numbers_and_ids_as_the_duckdb_reader_does(con):
    """Spark types what it reads with crindex.data.checks.type_columns: the same rules."""
    import ibis
    import pyarrow as pa

    from crindex.data.checks import normalise_ids, type_columns

    raw = pa.table({"_row": [1, 2, 3, 4, 5], "order_id": ["o1", "o2", "o3", "o4", "o5"],
                    "customer_id": ["1042.0", "1042", "007", "1042.5", " 1043.00 "],
                    "ordered_at": ["2025-01-01"] * 5,
                    "amount": ["1,200.5", "1810,67", "12.5", "1，200", "-3"]})
    backend = con if con is not None else ibis.duckdb.connect()
    t = backend.create_table("raw_orders_typing", raw) if con is not None else \
        ibis.memtable(raw)
    cols = ["order_id", "customer_id", "ordered_at", "amount"]
    typed, fails = type_columns(t, "orders", {c: c for c in cols})
    typed = normalise_ids(typed, "orders", cols)
    got = backend.to_pyarrow(typed.order_by("_row")).to_pydict()
    assert fails == {"ordered_at": "unparseable_date", "amount": "unparseable_number"}
    # 1810,67 with a decimal point: its comma groups no thousands, so it is unreadable
    assert got["amount"] == [1200.5, None, 12.5, 1200.0, -3.0]
    assert got["customer_id"] == ["1042", "1042", "007", "1042.5", "1043"]


def test_the_id_rule_is_the_same_in_the_readers_sql_and_in_ibis():
    """DuckDB's reader writes normalise_id's rule in SQL (id_sql): both give the same ids."""
    import duckdb
    import ibis
    import pyarrow as pa

    from crindex.data.checks import id_sql, normalise_id

    texts = ["1042", "1042.0", "1042.00", "-7.0", "007", "007.0", "1042.5", "1042.50",
             "10.01", "C0042", "1.0e3", "", " 12.0 ", "1.", ".0", None]
    floats = [1042.0, 1042.5, -7.0, 0.0, 1e12, None]
    table = pa.table({"t": texts})
    nums = pa.table({"f": floats})
    con = duckdb.connect()
    con.register("texts", table)
    con.register("nums", nums)
    sql_t = [r[0] for r in con.execute(f"SELECT {id_sql('t', 'VARCHAR')} FROM texts").fetchall()]
    sql_f = [r[0] for r in con.execute(f"SELECT {id_sql('f', 'DOUBLE')} FROM nums").fetchall()]
    # the Ibis rule sees what the Spark typer hands it: trimmed text, empty text as null
    t = ibis.memtable(table)
    ibis_t = normalise_id(t.t.strip().nullif("")).to_pyarrow().to_pylist()
    ibis_f = normalise_id(ibis.memtable(nums).f).to_pyarrow().to_pylist()
    assert sql_t == ibis_t
    assert sql_f == ibis_f
    assert sql_t[:6] == ["1042", "1042", "1042", "-7", "007", "007"]
    assert sql_f[:5] == ["1042", "1042.5", "-7", "0", "1000000000000"]
