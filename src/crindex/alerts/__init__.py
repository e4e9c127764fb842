"""Alerts declared in the model, evaluated on history snapshots, delivered to owners.

>>> from crindex.alerts import evaluate_run, deliver_files, deliver_webhook   # doctest: +SKIP
>>> evaluate_run(store, model)        # evaluate the latest snapshot, recompute the alerts
>>> deliver_webhook(store, "https://crm.example.com/hooks", secret)

Rules are registered in :mod:`crindex.alerts.rules`; see docs/history.md. Names load on first
use, so the model loader can check alert entries against the rules without loading a store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crindex.alerts.delivery import deliver_files, deliver_webhook, sign, verify
    from crindex.alerts.evaluate import Evaluation, evaluate_run, import_alerts
    from crindex.alerts.rules import RULES, register

_HOMES = {
    "deliver_files": "crindex.alerts.delivery", "deliver_webhook": "crindex.alerts.delivery",
    "sign": "crindex.alerts.delivery", "verify": "crindex.alerts.delivery",
    "Evaluation": "crindex.alerts.evaluate", "evaluate_run": "crindex.alerts.evaluate",
    "import_alerts": "crindex.alerts.evaluate",
    "RULES": "crindex.alerts.rules", "register": "crindex.alerts.rules",
}

__all__ = ["RULES", "Evaluation", "deliver_files", "deliver_webhook", "evaluate_run",
           "import_alerts", "register", "sign", "verify"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'crindex.alerts' has no attribute {name!r}")
