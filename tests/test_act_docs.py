"""docs/act.md: the worked examples of "Path to the next tier" and "Why it changed" run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "act.md"


def section_code(heading: str) -> str:
    """The Python blocks under ``## heading`` (up to the next ``## ``), joined in order."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    body = text[start:end if end >= 0 else len(text)]
    blocks = re.findall(r"```python\n(.*?)```", body, flags=re.S)
    assert blocks, f"no Python example under '## {heading}' in {DOC.name}"
    return "\n".join(blocks)


@pytest.mark.parametrize("heading", ["Path to the next tier", "Why it changed"])
def test_worked_example_runs(heading):
    exec(compile(section_code(heading), f"{DOC.name}: {heading}", "exec"), {})


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
