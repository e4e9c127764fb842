"""Portfolio KPIs from the canonical tables, in the engine.

Churn, retention, repurchase, NPS, CSAT, CES, lead conversion, CAC, CLV/CAC, first-response
time, revenue concentration and mean CRI.
"""

from crindex.kpis.core import DEFINITIONS, KpiDef, KpiReport, kpis

__all__ = ["DEFINITIONS", "KpiDef", "KpiReport", "kpis"]
