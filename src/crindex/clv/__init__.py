"""Customer lifetime value: RFM summaries in the engine, probabilistic models fitted in numpy.

- :func:`rfm_summary`: ``x``, ``t_x``, ``T`` and mean repeat spend per customer, in Ibis;
- :class:`BetaGeo` (BG/NBD) and :class:`ModifiedBetaGeo` (MBG/NBD): expected purchases and
  P(alive) for non-contractual customers;
- :class:`GammaGamma`: expected spend per purchase; :func:`customer_lifetime_value`;
- :class:`ShiftedBetaGeometric`: retention of contractual (subscription) customers.

The names load on first use: the CLV metrics (:mod:`crindex.clv.metrics`) register with the
model without loading numpy, scipy or Ibis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crindex.clv.bgnbd import BetaGeo, ModifiedBetaGeo
    from crindex.clv.gamma_gamma import GammaGamma, customer_lifetime_value
    from crindex.clv.rfm import pattern_counts, rfm_summary
    from crindex.clv.sbg import ShiftedBetaGeometric

_HOMES = {
    "BetaGeo": "crindex.clv.bgnbd",
    "ModifiedBetaGeo": "crindex.clv.bgnbd",
    "GammaGamma": "crindex.clv.gamma_gamma",
    "customer_lifetime_value": "crindex.clv.gamma_gamma",
    "pattern_counts": "crindex.clv.rfm",
    "rfm_summary": "crindex.clv.rfm",
    "ShiftedBetaGeometric": "crindex.clv.sbg",
}

__all__ = [
    "BetaGeo",
    "GammaGamma",
    "ModifiedBetaGeo",
    "ShiftedBetaGeometric",
    "customer_lifetime_value",
    "pattern_counts",
    "rfm_summary",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'crindex.clv' has no attribute {name!r}")
