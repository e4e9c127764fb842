"""Bad data files: CSV dialects, ragged and empty files, damaged Parquet and Excel files,
missing tables and columns, filter words the data never holds.

Each ``setup`` rewrites one table of the five-customer world (``data/*.parquet``); where the
model must change too, it rewrites ``five.yaml`` from :data:`tests.test_cli_store.MODEL`.
"""

from __future__ import annotations

import pandas as pd

from tests.corpus import Case, World
from tests.test_cli_store import MODEL

#: validate the model against the data (writes nothing, so a warning case can exit 0)
VALIDATE = ("validate", "--model", "{model}", "--data", "{data}", "--as-of", "2025-06-30")


def _orders(world: World) -> pd.DataFrame:
    return pd.read_parquet(world.data / "orders.parquet")


def _orders_csv(text: str) -> object:
    """A setup replacing orders.parquet by orders.csv holding ``text``."""

    def setup(world: World) -> None:
        (world.data / "orders.parquet").unlink()
        (world.data / "orders.csv").write_text(text, encoding="utf-8")

    return setup


def _orders_bytes(name: str, data: bytes) -> object:
    """A setup replacing orders.parquet by the file ``name`` holding ``data``."""

    def setup(world: World) -> None:
        (world.data / "orders.parquet").unlink()
        (world.data / name).write_bytes(data)

    return setup


def _model(extra: str = "", metric: str | None = None) -> object:
    """A setup appending ``extra`` to the model, or replacing its one metric line."""

    def setup(world: World) -> None:
        text = MODEL
        if metric is not None:
            old = "      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 100,"
            text = text.replace(old, metric)
        world.model.write_text(text + extra, encoding="utf-8")

    return setup


def _both(*setups: object) -> object:
    def setup(world: World) -> None:
        for s in setups:
            s(world)  # type: ignore[operator]

    return setup


HEAD = "order_id,customer_id,ordered_at,amount,status\n"
SEMI = "order_id;customer_id;ordered_at;amount;status\n"


def _cut_parquet(world: World) -> None:
    path = world.data / "orders.parquet"
    path.write_bytes(path.read_bytes()[:200])  # starts like Parquet, ends nowhere


def _no_amount(world: World) -> None:
    _orders(world).drop(columns=["amount"]).to_parquet(world.data / "orders.parquet")


def _no_orders(world: World) -> None:
    (world.data / "orders.parquet").unlink()


def _serial_date(world: World) -> None:
    frame = _orders(world).astype({"ordered_at": "string"})
    frame.loc[0, "ordered_at"] = "45828"  # 2025-06-20 as Excel counts days
    (world.data / "orders.parquet").unlink()
    frame.to_csv(world.data / "orders.csv", index=False)


def _xlsx_without_sheet(world: World) -> None:
    frame = _orders(world)
    (world.data / "orders.parquet").unlink()
    frame.to_excel(world.data / "orders.xlsx", index=False, sheet_name="2025")


CASES: list[Case] = [
    # --- CSV dialects: never a number misread
    Case("csv-decimal-comma-and-point-mixed", "data",
         ("{data}/orders.csv", "decimal comma (`1000,5` in column `amount`, line 2)",
          "decimal point (`12.5` in column `amount`, line 3)", 'sources.orders.decimal: ","'),
         setup=_orders_csv(SEMI + "o1;c1;2025-06-20;1000,5;paid\no2;c1;2025-01-10;12.5;paid\n")),
    Case("csv-semicolon-thousands-or-decimal", "data",
         ("{data}/orders.csv", "separated by `;`", "`1.000` in column `amount`, line 2",
          "sources.orders.decimal"),
         setup=_orders_csv(SEMI + "o1;c1;2025-06-20;1.000;paid\no2;c1;2025-01-10;500;paid\n")),
    Case("csv-decimal-comma-under-a-given-point", "data",
         ("1 row: a number that cannot be read (unparseable_number, set aside)", "1810,67",
          "orders.csv line 2"),
         setup=_both(_orders_csv(HEAD + 'o1,c1,2025-06-20,"1810,67",paid\n' + "".join(
                         f"o{i},c1,2025-06-10,500,paid\n" for i in range(2, 6))),
                     _model("sources:\n  orders: {decimal: \".\"}\n")),
         args=VALIDATE, exit=0),
    # --- ragged, unclosed, empty
    Case("csv-ragged-line-more-fields", "data",
         ("{data}/orders.csv line 3", "more fields than the 5 columns of the header line",
          "must be in double quotes", "sources.orders.delimiter"),
         setup=_orders_csv(HEAD + "o1,c1,2025-06-20,1000,paid\no2,c1,2025-01-10,1,500,paid\n")),
    Case("csv-ragged-line-fewer-fields", "data",
         ("{data}/orders.csv line 2", "fewer fields than the 5 columns"),
         setup=_orders_csv(HEAD + "o1,c1,2025-06-20,1000\no2,c1,2025-01-10,500,paid\n")),
    Case("csv-ragged-line-given-delimiter", "data",
         ("{data}/orders.csv line 2", "fields separated by `;`"),
         setup=_both(_orders_csv(SEMI + "o1;c1;2025-06-20;1000;paid;x\n"),
                     _model("sources:\n  orders: {delimiter: \";\"}\n"))),
    Case("csv-unclosed-quote", "data",
         ("{data}/orders.csv line 2", "a double quote opened on this line is never closed"),
         setup=_orders_csv(HEAD + 'o1,c1,2025-06-20,1000,"paid\no2,c1,2025-01-10,500,paid\n')),
    Case("csv-empty-file", "data", ("{data}/orders.csv", "orders.csv is empty (0 bytes)"),
         setup=_orders_csv("")),
    Case("csv-neither-utf8-nor-gb18030", "data",
         ("{data}/orders.csv", "neither UTF-8 nor GB18030", "line 2",
          "sources.<table>.encoding"),
         setup=_orders_bytes("orders.csv", HEAD.encode() + b"o1,c1,2025-06-20,\xff\xff,paid\n")),
    # --- damaged Parquet and Excel files, in crindex's words
    Case("parquet-zero-bytes", "data",
         ("{data}/orders.parquet", "orders.parquet is empty (0 bytes)", "export the table again"),
         setup=_orders_bytes("orders.parquet", b"")),
    Case("parquet-not-parquet", "data",
         ("{data}/orders.parquet", "orders.parquet is not a Parquet file"),
         setup=_orders_bytes("orders.parquet", HEAD.encode())),
    Case("parquet-cut", "data",
         ("{data}/orders.parquet", "orders.parquet is cut or damaged"), setup=_cut_parquet),
    Case("xlsx-not-a-workbook", "data",
         ("{data}/orders.xlsx", "orders.xlsx is not an Excel .xlsx workbook", "save it as .xlsx"),
         setup=_orders_bytes("orders.xlsx", HEAD.encode())),
    Case("xlsx-zero-bytes", "data", ("{data}/orders.xlsx", "orders.xlsx is empty (0 bytes)"),
         setup=_orders_bytes("orders.xlsx", b"")),
    Case("xlsx-cut", "data", ("{data}/orders.xlsx", "orders.xlsx is cut or damaged"),
         setup=_orders_bytes("orders.xlsx", b"PK\x03\x04" + b"\0" * 40)),
    Case("xlsx-sheet-missing", "data", ("orders.xlsx has no sheet `Orders`", "sheets: 2025"),
         setup=_both(_xlsx_without_sheet, _model("sources:\n  orders: {sheet: Orders}\n"))),
    # --- tables, columns and paths
    Case("table-missing", "data",
         ("table `orders` is missing (metrics spend read it)", "add orders.csv"),
         setup=_no_orders),
    Case("column-missing", "data",
         ("orders has no column `amount`", "sources.orders.columns: {{<your column>: amount}}"),
         setup=_no_amount),
    Case("source-path-missing", "data",
         ("sources.orders.path `订单.csv` does not exist", "files here:"),
         setup=_model("sources:\n  orders: {path: 订单.csv}\n")),
    Case("data-folder-missing", "data", ("data `{dir}/nowhere` does not exist",),
         args=("score", "--model", "{model}", "--data", "{dir}/nowhere", "--out", "{dir}/out")),
    Case("data-file-not-a-table", "data",
         ("is a single file not named after a table", "--data {dir}"),
         setup=lambda w: (w.folder / "export.csv").write_text(HEAD, encoding="utf-8"),
         args=("score", "--model", "{model}", "--data", "{dir}/export.csv", "--out",
               "{dir}/out")),
    # --- dates the data writes as Excel counts them
    Case("excel-serial-date-hint", "data",
         ("unparseable_date", "Excel serial day numbers (45828 is 2025-06-20)",
          "sources.orders.date_format: excel"),
         setup=_serial_date, args=VALIDATE, exit=0),
    # --- filter words: a typo of a fixed word is refused, an unseen free word is warned about
    Case("filter-status-typo", "data",
         ("five.yaml:6: metric `spend`: filter on `status`", "`payed` is not a value of orders.status", "did you mean `paid`?"),
         setup=_model(metric="      - {id: spend, aggregate: sum, column: amount, "
                      "window: 365d, weight: 100, where: {status: payed},")),
    Case("filter-survey-kind-case", "data",
         ("`NPS` is not a value of surveys.kind", "did you mean `nps`?"),
         setup=_model(metric="      - {id: spend, aggregate: nps, where: {kind: NPS}, "
                      "window: 365d, weight: 100,")),
    Case("filter-free-value-unseen", "data",
         ("warning:", "filters interactions.channel on `emial`, which no row holds",
          "values found: email (15), support (3)", "did you mean `email`?"),
         setup=_model(metric="      - {id: spend, aggregate: count, table: interactions, "
                      "where: {channel: emial}, window: 365d, weight: 100,"),
         args=VALIDATE, exit=0),
]
