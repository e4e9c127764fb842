"""Weights a user can defend: AHP, entropy, CRITIC, and weights learned from churn history.

None of these overwrites a model: :func:`~crindex.weights.rewrite.write_model` writes a new
model file that keeps the original's comments and order. See ``docs/weights.md``. The one
writer that overwrites a model is the dashboard's editor (:mod:`crindex.weights.edit`, saved
by an admin through ``crindex.service.versions``), also keeping comments and order.
"""

from crindex.weights.ahp import AHPResult, ahp, load_ahp, parse_ahp, solve
from crindex.weights.learn import NonNegativeLogit, churn_labels, learn_weights
from crindex.weights.objective import critic_weights, entropy_weights
from crindex.weights.rewrite import WeightSet, round_preserving_sum, write_model

__all__ = ["AHPResult", "NonNegativeLogit", "WeightSet", "ahp", "churn_labels",
           "critic_weights", "entropy_weights", "learn_weights", "load_ahp", "parse_ahp",
           "round_preserving_sum", "solve", "write_model"]
