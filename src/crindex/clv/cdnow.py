"""Read the CDNOW transaction files (Fader, Hardie & Lee 2005) into canonical orders.

``CDNOW_master.txt`` has ``customer_id date cds dollars`` (with or without a header line);
``CDNOW_sample.txt`` has ``master_id customer_id date cds dollars``, the second id being the
one of the published sample summary (``ID`` 1..2357).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from crindex.errors import DataError, DataNotFoundError, Reason


def read_cdnow(path: str | Path) -> pd.DataFrame:
    """The transactions of a CDNOW text file as canonical orders.

    Returns
    -------
    pandas.DataFrame
        ``order_id``, ``customer_id`` (the id without zero padding, as text), ``ordered_at``
        (timestamp), ``amount`` (dollars), ``quantity`` (CDs).
    """
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError.single(Reason.DATA_NOT_FOUND, f"{path} does not exist", str(path),
                                       "give the path of CDNOW_master.txt or CDNOW_sample.txt")
    raw = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, engine="python")
    if not raw.empty and not raw.iloc[0, -1].replace(".", "", 1).isdigit():
        raw = raw.iloc[1:]  # a header line
    if raw.shape[1] == 5:
        raw = raw.iloc[:, 1:]
    if raw.shape[1] != 4:
        raise DataError.single(
            Reason.DATA_UNREADABLE, f"{path} has {raw.shape[1]} columns, expected 4 or 5",
            str(path), "CDNOW files hold: [master id] customer id, YYYYMMDD, CDs, dollars")
    raw.columns = ["customer_id", "date", "quantity", "amount"]
    out = pd.DataFrame({
        "order_id": [str(i) for i in range(1, len(raw) + 1)],
        "customer_id": raw["customer_id"].str.lstrip("0").to_numpy(),
        "ordered_at": pd.to_datetime(raw["date"], format="%Y%m%d").to_numpy(),
        "amount": raw["amount"].astype(float).to_numpy(),
        "quantity": raw["quantity"].astype(float).to_numpy(),
    })
    return out
