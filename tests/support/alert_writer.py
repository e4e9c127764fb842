"""A separate process that records hand-made snapshots of the watch model (alert tests).

``python -m tests.support.alert_writer STORE PLAN.json [GO_FILE]`` records, in order, every
snapshot of the plan (a list of ``{"as_of": "2025-06-02", "customers": {...}}``) with
:func:`crindex.record.record_run`. It prints ``ready`` once the model and results are built
(and, when ``GO_FILE`` is given, waits for that file before writing, so two writers start at
the same moment), then ``wrote <as_of>`` after each commit.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

#: the alert entries of every alert test world (watch model, tests/support/store.py)
ALERTS = """
alerts:
  - {id: drop, rule: score_drop, relative: 20, within: 7d, severity: high}
  - {id: down, rule: tier_downgrade}
  - {id: low, rule: score_below, threshold: 30, severity: critical}
  - {id: mail, rule: metric, metric: email_recency, op: ">=", threshold: 30,
     auto_resolve: false}
"""


def customers(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """JSON customers (metric values as lists) as :func:`fake_result` takes them."""
    return {cid: {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
            for cid, values in spec.items()}


def main(argv: list[str]) -> None:
    from crindex.record import record_run
    from crindex.store import open_store
    from tests.support.store import fake_result, watch_model

    location, plan_file = argv[0], argv[1]
    go = Path(argv[2]) if len(argv) > 2 else None
    model = watch_model(ALERTS)
    plan = json.loads(Path(plan_file).read_text(encoding="utf-8"))
    results = [fake_result(model, step["as_of"], customers(step["customers"]))
               for step in plan]
    store = open_store(location, lock_timeout=120)
    print("ready", flush=True)
    while go is not None and not go.exists():
        time.sleep(0.005)
    for step, result in zip(plan, results, strict=True):
        record_run(store, result, "fp")
        print("wrote", step["as_of"], flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
