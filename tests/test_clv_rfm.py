"""RFM summaries (x, t_x, T, mean repeat spend) against the published CDNOW sample summary."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from crindex.clv import rfm_summary
from crindex.clv.cdnow import read_cdnow
from crindex.errors import DataError, Reason
from tests.conftest import require_shared_data


def test_cdnow_sample_summary_matches_the_shipped_file():
    cdnow = require_shared_data() / "cdnow"
    orders = read_cdnow(cdnow / "CDNOW_sample.txt")
    summary = rfm_summary(ibis.memtable(orders), dt.date(1997, 9, 30), unit="weeks").to_pandas()
    published = pd.read_csv(cdnow / "cdnow_customers_summary_with_transactions.csv",
                            dtype={"ID": str})
    assert len(summary) == len(published) == 2357
    got = summary.set_index("customer_id").loc[published["ID"]]
    assert (got["x"].to_numpy() == published["x"].to_numpy()).all()
    # the file is rounded to 2 decimals: equal to within half a cent / a hundredth of a week
    for mine, theirs in (("t_x", "t_x"), ("T", "T"), ("monetary", "zbar")):
        diff = (got[mine].to_numpy() - published[theirs].to_numpy())
        assert abs(diff).max() <= 0.005 + 1e-9, mine


def test_hand_computed_summary_in_days_and_weeks():
    # a: 01-01 (10 + 5 on the same day = one purchase of 15), 01-08 (20), 01-22 (40), and a
    #    refund and an order after the calibration end that never count
    #    x = 2 repeat days, t_x = 21 days = 3 weeks, T = 31 days (to 02-01), monetary = 30
    # b: one purchase on 01-29: x = 0, t_x = 0, T = 3 days, monetary = 0
    orders = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "a", "a", "b"],
        "ordered_at": pd.to_datetime(["2025-01-01 09:00", "2025-01-01 18:00", "2025-01-08 00:00",
                                      "2025-01-22 00:00", "2025-01-23 00:00", "2025-02-02 00:00",
                                      "2025-01-29 00:00"]),
        "amount": [10.0, 5.0, 20.0, 40.0, -40.0, 99.0, 7.0],
        "status": ["paid", None, "paid", "paid", "refunded", "paid", "paid"],
    })
    days = rfm_summary(ibis.memtable(orders), "2025-02-01", unit="days").to_pandas()
    days = days.set_index("customer_id")
    assert days.loc["a", ["x", "t_x", "T", "monetary"]].tolist() == [2, 21.0, 31.0, 30.0]
    assert days.loc["b", ["x", "t_x", "T", "monetary"]].tolist() == [0, 0.0, 3.0, 0.0]
    weeks = rfm_summary(ibis.memtable(orders), "2025-02-01").to_pandas().set_index("customer_id")
    assert weeks.loc["a", "t_x"] == pytest.approx(3.0)
    assert weeks.loc["a", "T"] == pytest.approx(31 / 7)


def test_bad_unit_and_missing_column_are_clear_errors():
    t = ibis.memtable(pd.DataFrame({"customer_id": ["a"], "amount": [1.0],
                                    "ordered_at": [pd.Timestamp("2025-01-01")]}))
    with pytest.raises(DataError) as err:
        rfm_summary(t, "2025-02-01", unit="months")
    assert err.value.reason == Reason.BAD_PARAMETER
    with pytest.raises(DataError) as err:
        rfm_summary(t.drop("amount"), "2025-02-01")
    assert err.value.reason == Reason.MISSING_COLUMN
