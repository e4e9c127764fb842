"""Guardrails (crindex.data.guardrails): a run refuses to write when the data would give wrong
numbers: rows lost, stale data, as_of outside the data, a ratio out of its range. Each refusal
exits 2 with the table, the figures, the top reason and the fix, and writes nothing; each
override (model key and flag) is a test; findings go in quality.json.

The world is the five-customer one (tests/conftest.py five_frames, as Parquet by
tests/test_cli_store.write_five): 11 orders, the newest dated 2025-07-20.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crindex.api import score
from crindex.data import open_dataset
from crindex.data.guardrails import judge_rows, with_overrides
from crindex.errors import DataError, Reason
from crindex.model.loader import parse_model
from tests.corpus.guardrail_cases import RATIO_MODEL, bad_amounts, dmy_orders, triple_opens

from .conftest import failed
from .test_cli_store import MODEL, write_five

AS_OF = "2025-06-30"


def _five(folder: Path, model_text: str = MODEL) -> tuple[Path, Path]:
    model, data = write_five(folder)
    model.write_text(model_text, encoding="utf-8")
    return model, data


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def _score(cli, model: Path, data: Path, out: Path, *more: str, as_of: str = AS_OF):
    return cli("score", "--model", str(model), "--data", str(data), "--as-of", as_of,
               "--out", str(out), *more)


# --- rows lost ---------------------------------------------------------------------------------


def test_date_format_case_refuses_names_orders_share_format_and_fix(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path)
    dmy_orders(data)
    before = _files(tmp_path)
    store = tmp_path / "h.duckdb"
    code, text = _score(cli, model, data, tmp_path / "out", "--store", str(store))
    failed(code, text, "orders", "11 of 11 rows (100%)", "more than the 20% allowed",
           "unparseable_date", "dates written as %d/%m/%Y", 'date_format: "%d/%m/%Y"',
           "--max-rejected orders=1", "nothing was written")
    assert _files(tmp_path) == before  # no --out folder, no store


def test_date_format_case_passes_with_the_model_key_and_quality_json_says_so(
        tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path, MODEL + "guardrails: {max_rejected: {orders: 1}}\n")
    dmy_orders(data)
    code, text = _score(cli, model, data, tmp_path / "out")
    assert code == 0, text
    report = json.loads((tmp_path / "out" / "quality.json").read_text(encoding="utf-8"))
    [g] = report["guardrails"]
    assert (g["rule"], g["level"], g["table"], g["share"], g["limit"]) == \
        ("rows_rejected", "allowed", "orders", 1.0, 1.0)
    assert "guardrail allowed: orders: 11 of 11 rows (100%)" in " ".join(text.split())


def test_date_format_case_passes_with_the_flag(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path)
    dmy_orders(data)
    code, text = _score(cli, model, data, tmp_path / "out", "--max-rejected", "orders=1")
    assert code == 0, text
    report = json.loads((tmp_path / "out" / "quality.json").read_text(encoding="utf-8"))
    assert [(g["rule"], g["level"]) for g in report["guardrails"]] == \
        [("rows_rejected", "allowed")]


def test_rows_rejected_boundary_is_the_share_of_rows_read(tmp_path: Path) -> None:
    model = parse_model(MODEL, "five.yaml")
    _, data = write_five(tmp_path)
    # 2 of 11 orders unreadable: 18.2% <= 20%, no finding; 3 of 11: 27.3% > 20%, refused
    bad_amounts(data, 2)
    assert open_dataset(data, model=model, as_of=AS_OF).quality.guardrails == []
    bad_amounts(data, 3)
    with pytest.raises(DataError) as caught:
        open_dataset(data, model=model, as_of=AS_OF)
    assert caught.value.reason == Reason.ROWS_REJECTED
    assert "3 of 11 rows (27.3%)" in str(caught.value)
    assert "unparseable_number, 3 rows" in str(caught.value)
    # a limit under the default refuses what the default lets through: 2 / 11 > 0.1
    bad_amounts(data, 2)
    strict = parse_model(MODEL + "guardrails: {max_rejected: 0.1}\n", "five.yaml")
    with pytest.raises(DataError, match=r"2 of 11 rows \(18.2%\).*more than the 10% allowed"):
        open_dataset(data, model=strict, as_of=AS_OF)


def test_a_table_the_model_does_not_read_only_warns(tmp_path: Path) -> None:
    import pandas as pd

    model = parse_model(MODEL, "five.yaml")  # reads orders (and customers) only
    _, data = write_five(tmp_path)
    surveys = pd.read_parquet(data / "surveys.parquet")
    # 3 of 9 answers off every scale: 33.3% > 20% (not the newest, of 2025-05-01: 60 days
    # before as_of, not stale)
    surveys.loc[3:5, "score"] = 99.0
    surveys.to_parquet(data / "surveys.parquet")
    found = open_dataset(data, model=model, as_of=AS_OF).quality.guardrails
    assert [(g.rule, g.level, g.subject) for g in found] == \
        [("rows_rejected", "warning", "surveys")]
    assert "3 of 9 rows (33.3%)" in found[0].message
    assert "the model reads no metric from it" in found[0].message


def test_a_refused_run_leaves_its_report_in_the_quarantine_folder(tmp_path: Path) -> None:
    model = parse_model(MODEL, "five.yaml")
    _, data = write_five(tmp_path)
    bad_amounts(data, 3)
    with pytest.raises(DataError) as caught:
        score(model, str(data), AS_OF, quarantine_dir=tmp_path / "q")
    report = json.loads((tmp_path / "q" / "quality.json").read_text(encoding="utf-8"))
    [g] = report["guardrails"]
    assert (g["rule"], g["level"], g["rows_set_aside"], g["top_reason"]) == \
        ("rows_rejected", "refused", 3, "unparseable_number")
    assert caught.value.quality.guardrails[0].level == "refused"  # type: ignore[attr-defined]


def test_guardrails_false_records_without_refusing(tmp_path: Path) -> None:
    model = parse_model(MODEL, "five.yaml")
    _, data = write_five(tmp_path)
    bad_amounts(data, 3)
    ds = open_dataset(data, model=model, as_of=AS_OF, guardrails=False)
    assert [(g.rule, g.level) for g in ds.quality.guardrails] == [("rows_rejected", "refused")]
    assert judge_rows(ds.quality, model) == ds.quality.guardrails


# --- stale data, as_of outside the data --------------------------------------------------------

# orders end 2025-07-20; as_of 2025-11-30 is 11 (rest of July) + 31 + 30 + 31 + 30 = 133 days
# after it
STALE_AS_OF = "2025-11-30"


def test_stale_data_refuses_naming_the_last_date_and_as_of(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path)
    before = _files(tmp_path)
    code, text = _score(cli, model, data, tmp_path / "out", as_of=STALE_AS_OF)
    failed(code, text, "orders: the newest row (ordered_at) is dated 2025-07-20, 133 days "
           "before as_of 2025-11-30", "more than the 60 days allowed", "--as-of 2025-07-20",
           "--max-age-days 133")
    assert _files(tmp_path) == before


def test_stale_data_passes_with_the_model_key(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path, MODEL + "guardrails: {max_age_days: 150}\n")
    code, text = _score(cli, model, data, tmp_path / "out", as_of=STALE_AS_OF)
    assert code == 0, text
    report = json.loads((tmp_path / "out" / "quality.json").read_text(encoding="utf-8"))
    stale = [g for g in report["guardrails"] if g["rule"] == "stale_data"]
    assert [(g["table"], g["level"], g["last"], g["age_days"]) for g in stale
            if g["level"] == "allowed"] == [("orders", "allowed", "2025-07-20", 133)]


def test_stale_data_flag_boundary_and_off(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path)
    code, text = _score(cli, model, data, tmp_path / "a", "--max-age-days", "132",
                        as_of=STALE_AS_OF)
    failed(code, text, "133 days before as_of", "more than the 132 days allowed")
    for limit, out in (("133", "b"), ("off", "c")):
        code, text = _score(cli, model, data, tmp_path / out, "--max-age-days", limit,
                            as_of=STALE_AS_OF)
        assert code == 0, text


def test_as_of_far_after_the_data_keeps_no_snapshot(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path)
    before = _files(tmp_path)
    code, text = _score(cli, model, data, tmp_path / "out", "--store",
                        str(tmp_path / "h.duckdb"), as_of="2099-01-01")
    failed(code, text, "dated 2025-07-20", "before as_of 2099-01-01", "stale")
    assert _files(tmp_path) == before


def test_as_of_before_the_data_refuses_zero_customers(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path)
    before = _files(tmp_path)
    code, text = _score(cli, model, data, tmp_path / "out", as_of="2010-01-01")
    # the first customer (c1) was created 2020-01-01, the first order is dated 2024-03-01
    failed(code, text, "as_of 2010-01-01 is before the data",
           "the first customer was created 2020-01-01", "orders start 2024-03-01",
           "0 customers", "--as-of 2024-03-01")
    assert _files(tmp_path) == before
    # between the first customer and the first order: customers exist, no order yet
    code, text = _score(cli, model, data, tmp_path / "out", as_of="2023-01-01")
    failed(code, text, "no table the model reads has a row on or before as_of")


def test_a_backfill_from_before_the_data_creates_no_store(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path)
    before = _files(tmp_path)
    code, text = cli("backfill", "--model", str(model), "--data", str(data), "--from",
                     "2010-01-01", "--to", AS_OF, "--every", "1y", "--store",
                     str(tmp_path / "h.duckdb"))
    failed(code, text, "as_of 2010-01-01 is before the data")
    assert _files(tmp_path) == before


def test_a_pre_opened_dataset_is_judged_at_the_scoring_date(tmp_path: Path) -> None:
    model = parse_model(MODEL, "five.yaml")
    _, data = write_five(tmp_path)
    ds = open_dataset(data, model=model)  # no as_of: only the rows lost are judged
    with pytest.raises(DataError) as caught:
        score(model, ds, STALE_AS_OF)
    assert caught.value.reason == Reason.STALE_DATA


# --- ratios ------------------------------------------------------------------------------------

def test_ratio_in_range_passes(tmp_path: Path) -> None:
    _, data = write_five(tmp_path)
    result = score(parse_model(RATIO_MODEL, "r.yaml"), str(data), AS_OF)
    # window (2025-04-01, 2025-06-30]: c1 3 opens / 4 sends, c2 0 / 2, c5 1 / 2 (its open of
    # 2025-08-01 is after as_of); c4's send is before the window: no value. Mean 0.4167 <= 1
    raw = dict(zip(result.table["customer_id"].to_pylist(),
                   result.table["open_rate__raw"].to_pylist(), strict=True))
    assert (raw["c1"], raw["c2"], raw["c5"], raw["c4"]) == (0.75, 0.0, 0.5, None)
    assert result.quality.guardrails == []


def test_ratio_above_its_possible_range_refuses(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path, RATIO_MODEL)
    triple_opens(data)
    before = _files(tmp_path)
    code, text = _score(cli, model, data, tmp_path / "out")
    # every open counted three times: c1 9 / 4 = 2.25, c2 0 / 2 = 0, c5 3 / 2 = 1.5;
    # mean (2.25 + 0 + 1.5) / 3 = 1.25 > 1, with 2 customers above 1
    failed(code, text, "metric `open_rate` (count of email_opened / count of email_sent)",
           "its mean over 3 customers is 1.25, above 1", "(2 customers above it)",
           "--ratio-limit open_rate=off")
    assert _files(tmp_path) == before


def test_ratio_limit_overrides_model_key_and_flag(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path, RATIO_MODEL + "guardrails: {ratio_limits: {open_rate: 2}}\n")
    triple_opens(data)
    code, text = _score(cli, model, data, tmp_path / "a")
    assert code == 0, text  # 1.25 <= 2
    model.write_text(RATIO_MODEL, encoding="utf-8")
    code, text = _score(cli, model, data, tmp_path / "b", "--ratio-limit", "open_rate=off")
    assert code == 0, text
    code, text = _score(cli, model, data, tmp_path / "c", "--ratio-limit", "open_rate=1.2")
    failed(code, text, "is 1.25, above 1.2")


def test_ratio_limits_must_name_a_ratio_metric(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path, MODEL + "guardrails: {ratio_limits: {open_rate: 1}}\n")
    code, text = _score(cli, model, data, tmp_path / "out")
    failed(code, text, "guardrails.ratio_limits names `open_rate`, which is not a ratio metric")
    model.write_text(MODEL, encoding="utf-8")
    code, text = _score(cli, model, data, tmp_path / "out", "--ratio-limit", "spend=2")
    failed(code, text, "--ratio-limit names spend, not a ratio metric")


# --- validate and the other commands -----------------------------------------------------------


def test_validate_refuses_and_never_says_ok(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path)
    dmy_orders(data)
    code, text = cli("validate", "--model", str(model), "--data", str(data), "--as-of", AS_OF)
    failed(code, text, "orders", "100%", 'date_format: "%d/%m/%Y"')
    assert "ok" not in text.replace("look", "")  # no "- ok" line anywhere
    code, text = cli("validate", "--model", str(model), "--data", str(data), "--as-of", AS_OF,
                     "--max-rejected", "orders=1")
    assert code == 0, text
    assert "passed with 1 guardrail warning(s) above" in " ".join(text.split())
    assert not [line for line in text.splitlines() if line.startswith("data ")
                and line.rstrip().endswith("ok")]


@pytest.mark.parametrize("args", [
    ("backtest", "--as-of", "2025-03-31", "--horizon", "90d", "--out", "{dir}/bt",
     "--bootstrap", "100"),
    ("weights", "learn", "--as-of", "2025-03-31", "--snapshots", "1", "--bootstrap", "100"),
    ("kpis", "--as-of", AS_OF),
    ("backfill", "--from", "2025-05-31", "--to", AS_OF, "--every", "1m", "--store",
     "{dir}/h.duckdb"),
], ids=lambda a: a[0] if a[0] != "weights" else "weights-learn")
def test_every_command_goes_through_the_guardrails(tmp_path: Path, cli, args) -> None:
    model, data = _five(tmp_path)
    dmy_orders(data)
    first, *rest = (a.format(dir=tmp_path) for a in args)
    head = [first, rest.pop(0)] if first == "weights" else [first]
    before = _files(tmp_path)
    # every command takes the guardrail flags (here the defaults, so the refusal stands)
    code, text = cli(*head, "--model", str(model), "--data", str(data), *rest,
                     "--max-rejected", "orders=0.2", "--max-age-days", "60")
    failed(code, text, "orders: 11 of 11 rows (100%)", "more than the 20% allowed",
           'date_format: "%d/%m/%Y"')
    assert _files(tmp_path) == before  # no backtest page, no store


def test_flag_values_are_checked(tmp_path: Path, cli) -> None:
    model, data = _five(tmp_path)
    code, text = _score(cli, model, data, tmp_path / "out", "--max-rejected", "orders=lots")
    failed(code, text, "--max-rejected", "`lots` is not a number")
    code, text = _score(cli, model, data, tmp_path / "out", "--max-rejected", "orders=1.5")
    failed(code, text, "shares from 0 to 1")
    code, text = _score(cli, model, data, tmp_path / "out", "--max-rejected", "order=0.5")
    failed(code, text, "unknown table order")
    assert not (tmp_path / "out").exists()


def test_with_overrides_merges_flags_over_the_model() -> None:
    model = parse_model(MODEL + "guardrails: {max_rejected: {orders: 0.5}, max_age_days: 90}\n",
                        "five.yaml")
    g = with_overrides(model, ["surveys=0.3"]).guardrails
    assert (g.rejected_limit("orders"), g.rejected_limit("surveys"),
            g.rejected_limit("customers"), g.max_age_days) == (0.5, 0.3, 0.2, 90)
    g = with_overrides(model, ["0.4"], "off").guardrails
    assert (g.rejected_limit("orders"), g.max_age_days) == (0.4, None)


def test_the_synthetic_world_passes_every_guardrail(ecommerce_world) -> None:
    from crindex.examples import example_path

    from .conftest import WORLD_AS_OF

    result = score(example_path("ecommerce"), str(ecommerce_world), WORLD_AS_OF)
    assert result.quality.guardrails == []
