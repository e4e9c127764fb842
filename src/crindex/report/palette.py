"""The tier colours: one palette derived from a model's tiers, for every page and chart.

Tiers are ordered best first (:attr:`crindex.model.spec.TiersSpec.order`); the best tier is
green, the worst red, and the tiers between take evenly spaced colours along green - amber -
red, so a model with five custom tiers gets five distinct colours in the same order as the
shipped four. The dashboard (``/ui/tiers.css`` and its charts), the backtest page and the
scoring report all call :func:`tier_colors`, so a tier has one colour everywhere.

>>> tier_colors(["core", "potential", "ordinary", "at_risk"])["core"]
'#16a34a'
>>> tier_colors(["gold", "silver"])
{'gold': '#16a34a', 'silver': '#dc2626'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

#: the ramp the tiers are spread over, best to worst (green, amber, red)
STOPS: tuple[tuple[int, int, int], ...] = ((0x16, 0xA3, 0x4A), (0xF5, 0x9E, 0x0B),
                                           (0xDC, 0x26, 0x26))
#: customers without a tier (unscored)
NO_TIER = "#9ca3af"
#: a tier's threshold line on a score chart
THRESHOLD = "#6b7280"


def _hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def ramp(position: float) -> str:
    """The colour at ``position`` (0 = best, 1 = worst) along :data:`STOPS`."""
    position = min(1.0, max(0.0, position))
    scaled = position * (len(STOPS) - 1)
    low = min(int(scaled), len(STOPS) - 2)
    frac = scaled - low
    a, b = STOPS[low], STOPS[low + 1]
    return _hex([a[i] + (b[i] - a[i]) * frac for i in range(3)])


def tier_colors(order: Sequence[str]) -> dict[str, str]:
    """Tier id -> colour, for tiers given best first (one tier: the best colour)."""
    n = len(order)
    return {tier: ramp(i / (n - 1) if n > 1 else 0.0) for i, tier in enumerate(order)}


def css_class(tier: str) -> str:
    """The CSS class of a tier's badge (ids are identifiers; anything else is made one)."""
    return "tier-" + re.sub(r"[^A-Za-z0-9_-]", "_", tier)


def tier_css(colors: Mapping[str, str]) -> str:
    """A stylesheet giving each tier's badge its colour (served as ``/ui/tiers.css``).

    ``colors`` is :func:`tier_colors` of the model's tiers; a tier it lacks (one only an
    older snapshot holds) is grey like no tier.
    """
    rules = [f".tier{{background:{NO_TIER}}}"]
    rules += [f".{css_class(t)}{{background:{c}}}" for t, c in colors.items()]
    return "\n".join(rules) + "\n"
