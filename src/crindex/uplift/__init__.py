"""Strategy uplift: retention and revenue of a tier's treated customers against its holdout.

A tier's ``holdout`` (:class:`crindex.model.spec.HoldoutSpec`) keeps a random share of its
customers out of the strategy; :func:`uplift` compares what happened to both groups over a
horizon after a snapshot (churn and revenue as :mod:`crindex.outcomes` defines them), with
bootstrap intervals (:func:`crindex.stats.bootstrap_difference`).
"""

from crindex.uplift.core import UpliftReport, UpliftRow, uplift

__all__ = ["UpliftReport", "UpliftRow", "uplift"]
