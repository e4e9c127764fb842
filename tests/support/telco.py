"""A telecom-like export with a static churn label, generated (seeded) for the tests.

One row per customer, as a telecom company exports it: an id, the signup date, the contract
type, the payment method, the internet service, the monthly charges and a ``Churn`` column
holding ``Yes``/``No``. The label is drawn from a logistic model with a planted signal:

``logit P(churn) = -0.9 + 1.5 [month-to-month] - 1.0 [two year] + 0.9 [electronic check]
- 0.04 tenure_months``

The monthly charges and the internet service carry no signal (they are drawn apart from the
label), so a score that leans on the charges ranks churners worse than one that leans on the
contract, the tenure and the payment method.

:data:`MODEL` maps the export with ``sources:`` alone: no reshaping before crindex reads it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

#: the day the export was taken (the model's as_of)
EXPORT_DATE = dt.date(2025, 6, 30)

CONTRACTS = ("Month-to-month", "One year", "Two year")
PAYMENTS = ("Electronic check", "Mailed check", "Bank transfer (automatic)",
            "Credit card (automatic)")
INTERNET = ("DSL", "Fiber optic", "No")


def telco_frame(customers: int = 2000, seed: int = 14) -> pd.DataFrame:
    """The export as a frame: one row per customer, the ``Churn`` label ``Yes``/``No``."""
    rng = np.random.default_rng(seed)
    n = customers
    tenure = rng.integers(1, 73, size=n)  # months, 1..72
    contract = rng.choice(len(CONTRACTS), size=n, p=[0.55, 0.21, 0.24])
    payment = rng.choice(len(PAYMENTS), size=n, p=[0.34, 0.23, 0.22, 0.21])
    internet = rng.choice(len(INTERNET), size=n, p=[0.34, 0.44, 0.22])
    charges = np.round(rng.uniform(18.0, 118.0, size=n), 2)
    logit = (-0.9 + 1.5 * (contract == 0) - 1.0 * (contract == 2) + 0.9 * (payment == 0)
             - 0.04 * tenure)
    churned = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    signup = [(pd.Timestamp(EXPORT_DATE) - pd.DateOffset(months=int(m))).date().isoformat()
              for m in tenure]
    letters = rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), size=(n, 5))
    return pd.DataFrame({
        "customerID": [f"{1000 + i:04d}-{''.join(row)}" for i, row in enumerate(letters)],
        "SignupDate": signup,
        "tenure": tenure,
        "Contract": [CONTRACTS[k] for k in contract],
        "PaymentMethod": [PAYMENTS[k] for k in payment],
        "InternetService": [INTERNET[k] for k in internet],
        "MonthlyCharges": charges,
        "Churn": np.where(churned, "Yes", "No"),
    })


def write_telco(folder: Path, customers: int = 2000, seed: int = 14) -> Path:
    """Write ``telco.csv`` into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "telco.csv"
    telco_frame(customers, seed).to_csv(path, index=False)
    return path


#: the model of the export: ``sources`` only, a static label, weights leaning on the charges
#: (which carry no signal), and rank tiers (a quarter each end)
MODEL = """\
name: telco
as_of: 2025-06-30
sources:
  customers:
    path: telco.csv
    columns:
      customerID: customer_id
      SignupDate: created_at
      Contract: segment
      PaymentMethod: region
      InternetService: industry
      MonthlyCharges: employees
      Churn: churn_label
churn:
  label: churn_label
dimensions:
  - id: relationship
    metrics:
      - id: tenure
        aggregate: tenure_days
        normalise: {method: range, min: 0, max: 2200}
        weight: 10
      - id: contract
        aggregate: attribute
        column: segment
        normalise:
          method: map
          values: {Month-to-month: 10, One year: 70, Two year: 100}
        weight: 10
      - id: payment
        aggregate: attribute
        column: region
        normalise:
          method: map
          values: {Electronic check: 20, Mailed check: 80, Bank transfer (automatic): 80,
                   Credit card (automatic): 80}
        weight: 10
      - id: charges
        aggregate: attribute
        column: employees
        normalise: {method: range, min: 18, max: 118, direction: lower}
        weight: 70
tiers:
  by: rank
  levels:
    - {id: loyal, top: 25}
    - {id: steady}
    - {id: at_risk, bottom: 25}
"""


def write_model(folder: Path, text: str = MODEL) -> Path:
    """Write the model beside the export (``telco.yaml``) and return its path."""
    path = folder / "telco.yaml"
    path.write_text(text, encoding="utf-8")
    return path
