"""Bad model files get clear errors: what, where (file:line), what is allowed; all at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crindex.errors import ModelError, Reason
from crindex.model import load_model, parse_model

WEIGHTS_95 = """\
name: bad_weights
dimensions:
  - id: value
    weight: 60
    metrics:
      - {id: spend, aggregate: sum, column: amount, weight: 50, normalise: {method: range, min: 0, max: 1}}
      - {id: rec, aggregate: recency_days, weight: 45, normalise: {method: range, min: 0, max: 1}}
  - id: loyalty
    weight: 35
    metrics:
      - {id: nps, aggregate: nps, weight: 90, normalise: {method: range, min: -100, max: 100}}
"""


def test_weights_summing_to_95_name_every_offending_dimension_with_file_and_line(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(WEIGHTS_95)
    with pytest.raises(ModelError) as info:
        load_model(path)
    err = info.value
    assert err.reason == Reason.WEIGHTS_SUM
    assert len(err.problems) == 3  # dimension set, `value` and `loyalty` -- in one error
    text = str(err)
    assert "dimension weights sum to 95" in text
    assert f"`value` 60 ({path}:3)" in text and f"`loyalty` 35 ({path}:8)" in text
    assert f"{path}:3: weights of dimension `value` sum to 95" in text
    assert f"{path}:8: weights of dimension `loyalty` sum to 90" in text


def test_unknown_aggregate_lists_the_known_ones():
    text = WEIGHTS_95.replace("aggregate: sum", "aggregate: total").replace("45", "50") \
        .replace("35", "40").replace("90", "100")
    with pytest.raises(ModelError) as info:
        parse_model(text, "m.yaml")
    err = info.value
    assert err.reasons == {Reason.UNKNOWN_AGGREGATE}
    assert "m.yaml:6: metric `spend`: unknown aggregate `total`" in str(err)
    for known in ("recency_days", "count", "sum", "distinct_count", "ratio", "nps", "attribute"):
        assert known in str(err)


def test_every_problem_is_reported_at_once():
    text = """\
name: many
dimensions:
  - id: value
    weight: 100
    metrics:
      - {id: spend, aggregate: sum, column: amout, weight: 50, normalise: {method: range, min: 0, max: 1}}
      - {id: spend, aggregate: count, weight: 50, where: {colour: red}, normalise: {method: range, min: 5, max: 1}}
tiers:
  levels:
    - {id: a, min: 50}
    - {id: b, min: 70}
    - {id: c}
"""
    with pytest.raises(ModelError) as info:
        parse_model(text, "many.yaml")
    reasons = [p.reason for p in info.value.problems]
    assert Reason.UNKNOWN_COLUMN in reasons  # amout, colour
    assert Reason.DUPLICATE_ID in reasons
    assert Reason.BAD_PARAMETER in reasons  # max <= min
    assert Reason.BAD_TIERS in reasons  # thresholds rising
    assert len(info.value.problems) >= 5
    assert "columns of orders: order_id, customer_id" in str(info.value)


def test_unknown_keys_and_normalisers_point_at_their_line():
    text = """\
name: typo
dimensions:
  - id: value
    metrics:
      - id: spend
        aggregate: sum
        column: amount
        weight: 100
        normalize: {method: range, min: 0, max: 1}
"""
    with pytest.raises(ModelError) as info:
        parse_model(text, "typo.yaml")
    text_err = str(info.value)
    # one problem, by the metric's and dimension's ids, with the spelling it meant; the
    # missing `normalise` it stands for is not a second line, and no 0-based path shows
    [problem] = info.value.problems
    assert problem.where == "typo.yaml:9"
    assert problem.message == "metric `spend` (dimension `value`): unknown key `normalize`"
    assert problem.hint.startswith("did you mean `normalise`?")
    assert ".0." not in text_err and "Input should" not in text_err


def test_yaml_syntax_error_has_a_line():
    with pytest.raises(ModelError) as info:
        parse_model("name: x\ndimensions:\n  - id: a\n   metrics: [\n", "s.yaml")
    assert info.value.reason == Reason.MODEL_SYNTAX
    assert "s.yaml:" in str(info.value)


def test_every_object_keeps_its_file_and_line(tmp_path):
    from crindex.examples import example_path

    model = load_model(example_path("b2b"))
    for d, m in model.metrics:
        assert d.at.startswith(str(example_path("b2b")) + ":")
        assert int(m.at.rsplit(":", 1)[1]) > int(d.at.rsplit(":", 1)[1])
    assert model.tiers.levels[0].at.endswith(":" + str(
        1 + example_path("b2b").read_text().splitlines().index("    - id: core")))


def test_json_schema_is_written(tmp_path):
    out = tmp_path / "schema.json"
    subprocess.run([sys.executable, "-m", "crindex.cli", "model", "schema", "--out", str(out)],
                   check=True, capture_output=True)
    schema = json.loads(out.read_text())
    assert schema["title"] == "CRIModel"
    assert schema["additionalProperties"] is False
    assert "dimensions" in schema["required"]


def test_cli_prints_one_readable_message_and_exits_non_zero(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(WEIGHTS_95)
    proc = subprocess.run([sys.executable, "-m", "crindex.cli", "validate", "--model", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "weights of dimension `value` sum to 95" in proc.stderr
    missing = subprocess.run([sys.executable, "-m", "crindex.cli", "validate", "--model",
                              str(Path(tmp_path) / "nope.yaml")], capture_output=True, text=True)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
