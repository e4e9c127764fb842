"""docs/act.md is true: its worked examples run and every model block does as the text says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crindex.api import score
from crindex.model import parse_model
from tests.conftest import AS_OF

DOCS = Path(__file__).resolve().parents[1] / "docs" / "act.md"


def docs_example(name: str) -> str:
    """The YAML block of docs/act.md that starts with ``# docs example: <name>``."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    found = [b for b in blocks if b.startswith(f"# docs example: {name}\n")]
    assert len(found) == 1, f"docs/act.md has no (or several) example {name}"
    return found[0]


def by_customer(result, column):
    return dict(zip(result.table.column("customer_id").to_pylist(),
                    result.table.column(column).to_pylist(), strict=True))


def test_rfm_segments_example(five):
    model = parse_model(docs_example("china8"), "docs/act.md")
    result = score(model, five, AS_OF)
    assert by_customer(result, "rfm_segment") == {
        "c1": "important_value", "c2": "important_keep", "c3": "general_value", "c4": None,
        "c5": "important_keep"}


def test_rfm_rules_example_passes_the_linter(five):
    text = DOCS.read_text(encoding="utf-8")
    rules = text.split("### Your own rules\n\n```yaml\n")[1].split("```")[0]
    base = docs_example("china8").split("segments:")[0]
    model = parse_model(base + rules, "docs/act.md")
    assert not [w for w in model.warnings if "segment" in str(w)]
    assert [r.id for r in model.segments.rules] == ["best", "recent", "recent_few", "rest"]


def test_relative_example(five):

    model = parse_model(docs_example("relative"), "docs/act.md")
    result = score(model, five, AS_OF)
    change = by_customer(result, "orders_change__raw")
    trend = by_customer(result, "order_trend__raw")
    rate = by_customer(result, "orders_per_month__raw")
    assert change["c1"] == 0
    # 0, 0, 1, 1 at x = 1..4: sum((x - 2.5)(y - 0.5)) / sum((x - 2.5)^2) = 2 / 5
    # raw values are rounded to 9 decimals (crindex.engine.compile.RAW_DECIMALS)
    assert trend["c1"] == pytest.approx(0.4, abs=1e-9)
    assert trend["c2"] is None
    assert rate["c3"] == pytest.approx(1 / (180 / 30.4375), abs=1e-9)


def test_uplift_example(five):
    from crindex.stats import holdout_draw

    model = parse_model(docs_example("uplift"), "docs/act.md")
    result = score(model, five, AS_OF)
    tiers = by_customer(result, "tier")
    groups = by_customer(result, "strategy_group")
    shares = {"core": (0.5, 0), "rest": (0.2, 7)}
    for cid, tier in tiers.items():
        share, seed = shares[tier]
        assert groups[cid] == ("holdout" if holdout_draw(cid, seed) < share else "treated")


def test_flags_example(five):
    model = parse_model(docs_example("flags"), "docs/act.md")
    result = score(model, five, AS_OF)
    assert by_customer(result, "flags") == {"c1": "big", "c2": "ticket_bad", "c3": None,
                                            "c4": None, "c5": "big"}
    assert [a.rule for a in model.alerts] == ["flag"]


def section_code(heading: str) -> str:
    """The Python blocks under ``## heading`` (up to the next ``## ``), joined in order."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    body = text[start:end if end >= 0 else len(text)]
    blocks = re.findall(r"```python\n(.*?)```", body, flags=re.S)
    assert blocks, f"no Python example under '## {heading}' in {DOCS.name}"
    return "\n".join(blocks)


@pytest.mark.parametrize("heading", ["Path to the next tier", "Why it changed"])
def test_worked_example_runs(heading):
    exec(compile(section_code(heading), f"{DOCS.name}: {heading}", "exec"), {})


def test_explain_prints_the_path_and_carries_it_in_json(cli, ecommerce_world):
    """`crindex explain` on the shipped ecommerce model: the path it prints is the one the
    Python API finds, and re-scoring its changes by the model's arithmetic reaches the tier."""
    import json

    from crindex.api import score
    from crindex.examples import example_path
    from crindex.model.arithmetic import combine
    from tests.conftest import WORLD_AS_OF

    model = example_path("ecommerce")
    result = score(model, str(ecommerce_world), WORLD_AS_OF)
    rows = result.table.to_pylist()
    customer = next(r["customer_id"] for r in rows if r["tier"] == "at_risk")
    code, text = cli("explain", customer, "--model", str(model), "--data",
                     str(ecommerce_world), "--as-of", WORLD_AS_OF, "--json")
    assert code == 0, text
    path = json.loads(text)["next_tier"]
    assert path == json.loads(json.dumps(result.explain(customer).next_tier.to_dict()))
    assert path["found"] and path["next_tier"] == "ordinary"
    m = result.model
    scores = {mm.id: (None if r["missing"] else r["score"])
              for (_, mm), r in zip(m.metrics, json.loads(text)["metrics"], strict=True)}
    for c in path["changes"]:
        scores[c["metric"]] = m.metric(c["metric"]).normalise.value_score(c["raw_to"])
    assert combine(m, scores).score >= path["threshold"]
    code, text = cli("explain", customer, "--model", str(model), "--data",
                     str(ecommerce_world), "--as-of", WORLD_AS_OF)
    assert code == 0 and "path to the next tier:" in text
    assert path["changes"][0]["text"] in " ".join(text.split())
