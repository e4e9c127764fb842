"""Customer lifetime value: RFM summaries in the engine, probabilistic models fitted in numpy."""

from crindex.clv.rfm import pattern_counts, rfm_summary

__all__ = ["pattern_counts", "rfm_summary"]
