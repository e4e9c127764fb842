"""Live rescoring: events (orders, interactions, survey answers) rescore the customers they touch.

How it works (docs/service.md, "Live events"):

- **Events are kept first.** Every batch of events is checked against the data contract
  (:mod:`crindex.live.events`) and the customers table, then written to the store's
  ``events`` table in one transaction; only then is it acknowledged. Nothing acknowledged is
  lost: a restart's full run reads every kept event.
- **The live run.** On start, :class:`~crindex.live.scorer.LiveScorer` opens the data, adds
  every kept event and scores everyone at ``as_of`` (a *full run*, recorded like any run by
  :func:`crindex.record.record_run`). Each later batch rescores only the customers it
  touches, with the same compiled query over their rows, and
  :func:`crindex.record.record_live` replaces their rows in that same run and updates their
  alerts: one live run per model and ``as_of``.
- **The reference population.** Normalisers that look across customers (percentile,
  z-score) and rank tiers place a rescored customer among the values of the **last full
  run**: a percentile or rank against the other customers' values in that run (its own old
  value replaced by the new one), a z-score with that run's mean and standard deviation.
  The other customers' rows are not rescored until the next full run (a restart, or
  ``POST /v1/runs``). With normalisers that read one customer only (range, bins, points,
  map, identity, log range) and score tiers, a live row equals a batch run's at the same
  ``as_of`` over the same rows; with look-across ones it equals it while the other
  customers' values are those of the full run.
- Models with metrics that learn from every customer first (CLV) are refused.

>>> scorer = LiveScorer(model, "data/", open_store("history.duckdb"))  # doctest: +SKIP
>>> scorer.start()                                                    # doctest: +SKIP
>>> scorer.submit_json([{"event": "order", "customer_id": "C1", "ordered_at": "2025-06-30",
...                      "amount": 120}], "token:crm")                 # doctest: +SKIP
"""

from __future__ import annotations

__all__ = ["KINDS", "LiveScorer", "parse_events"]


def __getattr__(name: str) -> object:
    if name == "LiveScorer":
        from crindex.live.scorer import LiveScorer

        return LiveScorer
    if name in ("KINDS", "parse_events"):
        from crindex.live import events

        return getattr(events, name)
    raise AttributeError(name)
