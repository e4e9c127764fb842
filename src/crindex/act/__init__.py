"""Acting on the score: what would lift a customer a tier, and why a score changed.

- :mod:`crindex.act.next_tier`: the smallest changes of the metrics a model marks
  ``actionable: true`` that reach the next tier's threshold (docs/act.md, "Path to the next
  tier");
- :mod:`crindex.act.why_changed`: the change between two snapshots of a customer split
  exactly into data, model and adjustment parts (docs/act.md, "Why it changed").

Plain Python over a model and a customer's figures: the faces (``explain``, ``history``, the
service, the report) read the figures from a scoring result or the history store.
"""

from crindex.act.next_tier import Change, MetricNow, NextTierPath, next_tier_path, peers_of
from crindex.act.why_changed import MetricState, Part, SnapshotState, WhyChanged, why_changed

__all__ = ["Change", "MetricNow", "MetricState", "NextTierPath", "Part", "SnapshotState",
           "WhyChanged", "next_tier_path", "peers_of", "why_changed"]
