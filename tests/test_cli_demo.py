"""`crindex demo`: the quick start's command, end to end on a small world."""

from __future__ import annotations

import re
import shlex

import pandas as pd
from typer.testing import CliRunner

from crindex.cli import app


def test_demo_scores_prints_tiers_and_a_working_explain_hint(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["demo", "--customers", "300", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    scores = pd.read_parquet(tmp_path / "d" / "results" / "scores.parquet")
    customers = pd.read_parquet(tmp_path / "d" / "data" / "customers.parquet")
    assert len(customers) == 300
    # the tier table's counts are the scored customers' tiers
    shown = {tier: int(n.replace(",", "")) for tier, n in
             re.findall(r"(core|potential|ordinary|at_risk)\s*│[^│]*│\s*([\d,]+)", result.output)}
    assert shown == scores.tier.value_counts().to_dict()
    # the customers not scored are those who churned by as_of, and the demo says how many
    hint = re.search(r"crindex explain (\S+) .*--as-of (\S+)", result.output)
    assert hint is not None
    as_of = pd.Timestamp(hint.group(2))
    churned = int((customers.churned_at.dt.normalize() <= as_of).sum())
    assert len(scores) == 300 - churned
    assert f"{len(scores):,} of the 300 customers are scored: the other {churned:,} " \
        f"churned before" in result.output
    # the hint is a command that works
    args = shlex.split(hint.group(0))[1:]
    explained = runner.invoke(app, args)
    assert explained.exit_code == 0, explained.output
    assert hint.group(1) in explained.output
