"""Customer lifetime value: RFM summaries in the engine, probabilistic models fitted in numpy.

- :func:`rfm_summary`: ``x``, ``t_x``, ``T`` and mean repeat spend per customer, in Ibis;
- :class:`BetaGeo` (BG/NBD) and :class:`ModifiedBetaGeo` (MBG/NBD): expected purchases and
  P(alive) for non-contractual customers;
- :class:`GammaGamma`: expected spend per purchase; :func:`customer_lifetime_value`;
- :class:`ShiftedBetaGeometric`: retention of contractual (subscription) customers.
"""

from crindex.clv.bgnbd import BetaGeo, ModifiedBetaGeo
from crindex.clv.gamma_gamma import GammaGamma, customer_lifetime_value
from crindex.clv.rfm import pattern_counts, rfm_summary
from crindex.clv.sbg import ShiftedBetaGeometric

__all__ = [
    "BetaGeo",
    "GammaGamma",
    "ModifiedBetaGeo",
    "ShiftedBetaGeometric",
    "customer_lifetime_value",
    "pattern_counts",
    "rfm_summary",
]
