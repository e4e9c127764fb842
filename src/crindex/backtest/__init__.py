"""Backtests: does the score predict what happened next (churn, revenue).

See :mod:`crindex.backtest.metrics` for the figures and docs/backtest.md for the command.
"""
