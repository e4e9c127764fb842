"""Data a guardrail refuses (crindex.data.guardrails): rows lost, stale data, as_of outside the
data, a ratio out of its range; and the guardrail flags given bad values.

The setups here are also the fixtures of tests/test_guardrails.py.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.corpus import SCORE, Case, World

#: the five world's model with an e-mail open rate (opens / sends: at most 1)
RATIO_MODEL = """
name: five
dimensions:
  - id: all
    metrics:
      - {id: open_rate, aggregate: ratio, table: interactions, window: 90d, weight: 100,
         numerator: {aggregate: count, kind: email_opened},
         denominator: {aggregate: count, kind: email_sent},
         normalise: {method: range, min: 0, max: 1}}
"""


def dmy_orders(data: Path) -> None:
    """The orders exported with dd/mm/yyyy dates, as CSV (the date-format case)."""
    orders = pd.read_parquet(data / "orders.parquet")
    orders["ordered_at"] = orders["ordered_at"].dt.strftime("%d/%m/%Y")
    orders.to_csv(data / "orders.csv", index=False)
    (data / "orders.parquet").unlink()


def bad_amounts(data: Path, n: int) -> None:
    """The five world's orders, the first ``n`` with an amount that cannot be read."""
    from tests.conftest import five_frames

    orders = five_frames()["orders"]
    orders["amount"] = orders["amount"].astype(str)
    orders.loc[: n - 1, "amount"] = "n/a"
    orders.to_parquet(data / "orders.parquet")


def triple_opens(data: Path) -> None:
    """Every e-mail open of the five world counted three times."""
    inter = pd.read_parquet(data / "interactions.parquet")
    opens = inter[inter["kind"] == "email_opened"]
    pd.concat([inter, opens, opens]).to_parquet(data / "interactions.parquet")


def _dmy(world: World) -> None:
    dmy_orders(world.data)


def _three_bad(world: World) -> None:
    bad_amounts(world.data, 3)


def _one_bad_strict(world: World) -> None:
    bad_amounts(world.data, 1)
    world.model.write_text(world.model.read_text(encoding="utf-8")
                           + "guardrails: {max_rejected: 0.05}\n", encoding="utf-8")


def _ratio(world: World) -> None:
    world.model.write_text(RATIO_MODEL, encoding="utf-8")
    triple_opens(world.data)


def _ratio_limit_not_a_ratio(world: World) -> None:
    world.model.write_text(world.model.read_text(encoding="utf-8")
                           + "guardrails: {ratio_limits: {spend: 1}}\n", encoding="utf-8")


def _as_of(day: str, *more: str) -> tuple[str, ...]:
    args = list(SCORE)
    args[args.index("--as-of") + 1] = day
    return (*args, *more)


CASES: list[Case] = [
    Case("guardrail-date-format-dd-mm-yyyy", "data",
         needles=("orders", "11 of 11 rows (100%)", "dates written as %d/%m/%Y",
                  'sources.orders.date_format: "%d/%m/%Y"', "nothing was written"),
         setup=_dmy),
    Case("guardrail-date-format-validate", "data",
         needles=("orders", "100%", 'date_format: "%d/%m/%Y"'), setup=_dmy,
         args=("validate", "--model", "{model}", "--data", "{data}", "--as-of", "2025-06-30")),
    Case("guardrail-rows-rejected-unreadable-amounts", "data",
         needles=("orders: 3 of 11 rows (27.3%)", "more than the 20% allowed",
                  "unparseable_number", "--max-rejected orders=0.28"), setup=_three_bad),
    Case("guardrail-rows-rejected-model-limit", "model",
         needles=("orders: 1 of 11 rows (9.1%)", "more than the 5% allowed"),
         setup=_one_bad_strict),
    Case("guardrail-stale-data", "data",
         needles=("dated 2025-07-20, 133 days before as_of 2025-11-30", "--max-age-days 133"),
         args=_as_of("2025-11-30")),
    Case("guardrail-as-of-2099-with-store", "command line",
         needles=("before as_of 2099-01-01", "the data is stale"),
         args=_as_of("2099-01-01", "--store", "{dir}/h.duckdb")),
    Case("guardrail-as-of-before-the-data", "command line",
         needles=("as_of 2010-01-01 is before the data", "0 customers", "--as-of 2024-03-01"),
         args=_as_of("2010-01-01")),
    Case("guardrail-ratio-above-one", "data",
         needles=("metric `open_rate`", "is 1.25, above 1", "--ratio-limit open_rate=off"),
         setup=_ratio),
    Case("guardrail-ratio-limits-not-a-ratio", "model",
         needles=("guardrails.ratio_limits names `spend`", "not a ratio metric"),
         setup=_ratio_limit_not_a_ratio),
    Case("guardrail-flag-not-a-number", "command line",
         needles=("--max-rejected", "`lots` is not a number"),
         args=(*SCORE, "--max-rejected", "orders=lots")),
]
