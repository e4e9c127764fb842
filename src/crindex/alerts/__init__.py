"""Alerts declared in the model, evaluated on history snapshots, delivered to owners.

>>> from crindex.alerts import evaluate_run, deliver_files, deliver_webhook   # doctest: +SKIP
>>> evaluate_run(store, model)                 # raise / resolve on the latest snapshot
>>> deliver_webhook(store, "https://crm.example.com/hooks", secret)

Rules are registered in :mod:`crindex.alerts.rules`; see docs/history.md.
"""

from crindex.alerts.delivery import deliver_files, deliver_webhook, sign, verify
from crindex.alerts.evaluate import Evaluation, evaluate_run
from crindex.alerts.rules import RULES, register

__all__ = ["RULES", "Evaluation", "deliver_files", "deliver_webhook", "evaluate_run",
           "register", "sign", "verify"]
