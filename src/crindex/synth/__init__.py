"""A synthetic CRM world whose churn has causes (``crindex synth``, ``crindex demo``).

>>> from crindex.synth import generate                               # doctest: +SKIP
>>> generate("ecommerce", customers=2000, start=date(2024, 1, 1), months=24, seed=7,
...          out=Path("world"))                                      # doctest: +SKIP
"""

from crindex.synth.build import BLOCK, generate
from crindex.synth.profiles import PROFILES, Profile

__all__ = ["BLOCK", "PROFILES", "Profile", "generate"]
