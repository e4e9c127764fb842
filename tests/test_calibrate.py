"""``crindex model calibrate``: normaliser bounds from the data's quantiles, tiers for a mix."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from crindex.errors import ModelError
from crindex.examples import example_path
from crindex.model import load_model
from crindex.model.loader import parse_model
from crindex.weights.calibrate import (
    calibrated_text,
    default_mix,
    parse_mix,
    propose_bounds,
    propose_thresholds,
    tier_mix,
)
from tests.conftest import WORLD_AS_OF, failed

ECOMMERCE = load_model(example_path("ecommerce"))
B2B = load_model(example_path("b2b"))


def _raw_table(model, values) -> pa.Table:
    """Every metric of ``model`` with the same raw ``values``."""
    return pa.table({f"{m.id}__raw": pa.array(values, type=pa.float64())
                     for _, m in model.metrics})


def test_range_bounds_are_the_5th_and_95th_percentiles() -> None:
    # 0, 1, ..., 100 plus one outlier at 1e6: 102 values, linear quantiles at p * 101:
    # 5th: 5.05 -> 5.05; 95th: 95.95 -> 95 + 0.95 * (96 - 95) = 95.95; the outlier moves neither
    values = [float(v) for v in range(101)] + [1e6]
    changes = {c.metric: c for c in propose_bounds(ECOMMERCE, _raw_table(ECOMMERCE, values))}
    assert changes["annual_spend"].new == {"min": pytest.approx(5.05), "max": pytest.approx(95.95)}
    # the direction is not a bound: recency stays `lower`
    assert "direction" not in changes["recency"].new


def test_bins_move_to_evenly_spaced_quantiles_and_keep_their_layout() -> None:
    # b2b's recency bins have the bounds 14, 30, 60, 120 (4 bounds -> quantiles 0.2 .. 0.8);
    # of 1..100, position p * 99: 19.8 -> 20.8, 39.6 -> 40.6, 59.4 -> 60.4, 79.2 -> 80.2
    changes = {c.metric: c for c in propose_bounds(B2B, _raw_table(B2B, range(1, 101)))}
    recency = changes["recency"].new["bins"]
    assert [(b.get("min"), b.get("max"), b["points"]) for b in recency] == [
        (None, pytest.approx(20.8), 5.0), (pytest.approx(20.8), pytest.approx(40.6), 4.0),
        (pytest.approx(40.6), pytest.approx(60.4), 3.0), (pytest.approx(60.4),
                                                          pytest.approx(80.2), 2.0),
        (None, None, 1.0)]
    # written bin by bin: the file still loads, the thresholds are the new ones
    new = parse_model(calibrated_text(B2B, list(changes.values()), []), "new.yaml")
    assert [b.max for b in new.metric("recency").normalise.bins][:4] == \
        pytest.approx([20.8, 40.6, 60.4, 80.2])
    # `points` (contacts) is left alone, with the reason
    assert changes["contacts"].new is None and "left as it is" in changes["contacts"].note


def test_bins_with_tied_quantiles_are_left_alone() -> None:
    changes = {c.metric: c for c in propose_bounds(B2B, _raw_table(B2B, [3.0] * 50))}
    assert changes["recency"].new is None
    assert "ties" in changes["recency"].note


def test_thresholds_give_each_tier_its_share() -> None:
    # scores 0..99; default mix core 10%, the others 30% each: bounds at the 90th, 60th and
    # 30th percentiles, positions 0.9 * 99 = 89.1, 59.4, 29.7 (rounded down to 0.1)
    scores = [float(s) for s in range(100)]
    mix = default_mix(ECOMMERCE.tiers)
    assert mix == pytest.approx({"core": 0.1, "potential": 0.3, "ordinary": 0.3,
                                 "at_risk": 0.3})
    found = propose_thresholds(ECOMMERCE.tiers, scores, mix)
    assert [(t.tier, t.new) for t in found] == [("core", 89.1), ("potential", 59.4),
                                                ("ordinary", 29.7)]
    new = parse_model(calibrated_text(ECOMMERCE, [], found), "new.yaml")
    assert tier_mix(new.tiers, scores) == {"core": 10, "potential": 30, "ordinary": 30,
                                           "at_risk": 30}


def test_rank_tiers_get_cumulative_shares() -> None:
    from crindex.model.spec import TierLevel, TiersSpec

    saas = load_model(example_path("saas_health")).tiers  # healthy top 20, at_risk bottom 35
    assert default_mix(saas) == pytest.approx({"healthy": 0.2, "steady": 0.4, "at_risk": 0.4})
    found = propose_thresholds(saas, [], default_mix(saas))  # ranks need no scores
    assert [(t.tier, t.key, t.old, t.new) for t in found] == [
        ("healthy", "top", 20, 20.0), ("at_risk", "bottom", 35, 40.0)]
    # two `top` levels: the second holds its share plus the first's (10 + 20 = 30); `bottom`
    # counts from the last level up
    tiers = TiersSpec(by="rank", levels=[
        TierLevel(id="a", top=5), TierLevel(id="b", top=50), TierLevel(id="c"),
        TierLevel(id="d", bottom=10)])
    found = propose_thresholds(tiers, [], {"a": 0.1, "b": 0.2, "c": 0.45, "d": 0.25})
    assert [(t.tier, t.key, t.new) for t in found] == [("a", "top", 10.0), ("b", "top", 30.0),
                                                       ("d", "bottom", 25.0)]


def test_target_mix_parsing() -> None:
    tiers = ECOMMERCE.tiers
    # percents, the tier left out takes the rest
    assert parse_mix("core=5,potential=25,ordinary=40", tiers) == pytest.approx(
        {"core": 0.05, "potential": 0.25, "ordinary": 0.4, "at_risk": 0.3})
    with pytest.raises(ModelError) as info:
        parse_mix("vip=0.1,core=x,potential=0.9,ordinary=0.5", tiers)
    text = str(info.value)
    # every problem at once: the unknown tier (with the allowed ones) and the bad pair
    assert "`vip` is not a tier" in text and "core, potential, ordinary, at_risk" in text
    assert "`core=x` is not TIER=SHARE" in text
    with pytest.raises(ModelError, match="sum to 1.4"):
        parse_mix("core=0.1,potential=0.3,ordinary=0.5,at_risk=0.5", tiers)


def _mix_row(text: str, tier: str) -> list[str]:
    """The cells of ``tier``'s row of the printed tier-mix table (the last table naming it)."""
    rows = [line for line in text.splitlines() if re.match(rf"^\W*{tier}\s*│", line)]
    return [c.strip() for c in rows[-1].split("│") if c.strip()]


#: the e-commerce example as it was written by hand, before it was calibrated: full spend
#: points at 5,000 (the world's 95th percentile is about 3,400), recency over 360 days, tiers
#: at 90 / 70 / 50 (56% of the customers "at risk")
HAND_WRITTEN = [("max: 3000}", "max: 5000}"), ("max: 270, direction", "max: 360, direction"),
                ("Core, min: 79,", "Core, min: 90,"), ("Potential, min: 53,", "Potential, min: 70,"),
                ("Ordinary, min: 36,", "Ordinary, min: 50,")]


def hand_written_ecommerce(folder: Path) -> Path:
    """The e-commerce example with its hand-written bounds (:data:`HAND_WRITTEN`), in ``folder``."""
    text = example_path("ecommerce").read_text(encoding="utf-8")
    for now, then in HAND_WRITTEN:
        assert text.count(now) == 1, now
        text = text.replace(now, then)
    path = folder / "ecommerce_by_hand.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_calibrate_the_ecommerce_example(cli, ecommerce_world: Path, tmp_path: Path) -> None:
    from crindex.api import score

    by_hand = hand_written_ecommerce(tmp_path)
    before = score(by_hand, ecommerce_world, WORLD_AS_OF)
    counts = before.tier_counts()
    n = sum(counts.values())
    assert counts["at_risk"] / n > 0.5  # the hand-written model: most customers "at risk"

    out = tmp_path / "calibrated.yaml"
    code, text = cli("model", "calibrate", "--model", str(by_hand),
                     "--data", str(ecommerce_world), "--as-of", WORLD_AS_OF,
                     "--write", str(out))
    assert code == 0, text
    new = load_model(out)  # the written file validates

    # the bounds are the quantiles of the engine's raw values, computed here with pandas
    raw = before.table.to_pandas()
    for metric in ("annual_spend", "recency", "email_open_rate"):
        values = raw[f"{metric}__raw"].dropna()
        norm = new.metric(metric).normalise
        assert norm.min == pytest.approx(values.quantile(0.05), rel=1e-5, abs=1e-9), metric
        assert norm.max == pytest.approx(values.quantile(0.95), rel=1e-5), metric
    assert new.metric("recency").normalise.direction == "lower"

    # comments and layout kept: only the changed numbers differ
    old_text = by_hand.read_text(encoding="utf-8")
    written = out.read_text(encoding="utf-8")
    comments = [line for line in old_text.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(c in written.splitlines() for c in comments)
    assert len(written.splitlines()) == len(old_text.splitlines())

    # the written model scores to the printed mix: every tier non-empty, none over half
    rescored = score(new, ecommerce_world, WORLD_AS_OF)
    after = rescored.tier_counts()
    assert sum(after.values()) == n
    for tier, count in after.items():
        assert 0 < count <= n / 2, (tier, after)
        assert _mix_row(text, tier)[3] == f"{count:,}", (tier, text)
        assert abs(count / n - default_mix(new.tiers)[tier]) < 0.02, (tier, after)
    # spend's 95th percentile is below 5,000: the same spend earns more points
    assert pd.Series(rescored.table.column("annual_spend__score").to_pylist()).mean() > \
        pd.Series(before.table.column("annual_spend__score").to_pylist()).mean()


def test_calibrate_never_overwrites_the_model(cli, tmp_path: Path) -> None:
    model = tmp_path / "m.yaml"
    model.write_text(Path(example_path("ecommerce")).read_text(encoding="utf-8"),
                     encoding="utf-8")
    code, text = cli("model", "calibrate", "--model", str(model), "--data", str(tmp_path),
                     "--write", str(model))
    failed(code, text, "never overwrites a model")


def test_calibrate_bad_target_mix(cli, tmp_path: Path) -> None:
    code, text = cli("model", "calibrate", "--model", str(example_path("ecommerce")),
                     "--data", str(tmp_path), "--target-mix", "vip=0.2")
    failed(code, text, "`vip` is not a tier", "core, potential, ordinary, at_risk")
