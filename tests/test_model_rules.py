"""Params as schemas checked at load, validation as registered rules, a model without engines.

Models are inline YAML; the command line is asserted on its message (exit 2, no traceback,
file:line, every problem at once).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crindex.errors import FitError, ModelError, Reason
from crindex.model import parse_model
from crindex.model.registry import AGGREGATES, NORMALISERS, RULES
from tests.conftest import AS_OF, failed, five_frames

ROOT = Path(__file__).resolve().parents[1]

BAD_CLV = """\
name: clv
dimensions:
  - id: value
    metrics:
      - id: clv
        aggregate: clv
        params: {horizn: 12m, discount_rate: "abc"}
        weight: 60
        normalise: {method: percentile}
      - id: spend
        aggregate: sum
        column: amount
        params:
          colour: red
        weight: 40
        normalise: {method: range, min: 0, max: 1000}
"""


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_rejects_bad_clv_params_and_unknown_params_with_file_and_line(tmp_path, cli):
    path = write(tmp_path, BAD_CLV)
    code, text = cli("validate", "--model", str(path))
    failed(code, text, "3 problem(s)",
           f"{path}:7: metric `clv`: unknown param `horizn` of aggregate `clv`",
           f"{path}:7: metric `clv`, param `discount_rate` is `abc`, but it must be a number "
           "of at least 0",
           "params of `clv`: model (default mbgnbd), penalizer (default 0.0), horizon "
           "(default 12m), discount_rate (default 0.1), margin (default 1.0)",
           f"{path}:14: metric `spend`: unknown param `colour` of aggregate `sum`",
           "`sum` takes no params: remove them")


def test_params_are_reported_with_every_other_problem_even_when_the_schema_fails():
    text = BAD_CLV.replace("        weight: 40\n", "        weight: 40\n        colour: blue\n")
    with pytest.raises(ModelError) as info:
        parse_model(text, "m.yaml")
    lines = [str(p) for p in info.value.problems]
    assert any(line.startswith("m.yaml:16: metric `spend` (dimension `value`): unknown key "
                               "`colour`") for line in lines), lines
    assert sum("unknown param" in line for line in lines) == 2
    assert sum(line.startswith("m.yaml:7: metric `clv`, param `discount_rate`")
               for line in lines) == 1


def test_each_bad_clv_param_is_named_with_what_is_allowed():
    text = BAD_CLV.replace('{horizn: 12m, discount_rate: "abc"}',
                           "{horizon: soon, discount_rate: -1, margin: x, model: pareto}")
    with pytest.raises(ModelError) as info:
        parse_model(text.replace("          colour: red\n", "          {}\n"), "m.yaml")
    text_err = str(info.value)
    assert info.value.reasons == {Reason.BAD_PARAMETER}
    assert len(info.value.problems) == 4
    assert "param `horizon` is `soon`: window 'soon' is not understood" in text_err
    assert "param `discount_rate` is `-1`, outside what is allowed (write a number of at " \
        "least 0" in text_err
    assert "param `model` is `pareto`, not one of the values allowed (write one of: `bgnbd`, " \
        "`mbgnbd`" in text_err
    assert "Input should" not in text_err  # crindex's words, not the schema library's


# --------------------------------------------------------------------------------------------
# validate catches every model error that score would


def one_metric(metric: str, extra: str = "") -> str:
    return f"""\
name: one
dimensions:
  - id: d
    metrics:
      - {metric}
{extra}"""


#: model errors that once passed `validate` and failed only in `score` (or never)
SCORE_TIME_ERRORS = {
    "monthly_count without a window": (
        "{id: m, aggregate: monthly_count, kind: login, weight: 100, "
        "normalise: {method: identity}}", "monthly_count needs a window"),
    "a filter value of the wrong type": (
        "{id: m, aggregate: count, where: {amount: {'>=': abc}}, weight: 100, "
        "normalise: {method: identity}}", "'abc' cannot be compared with a num column"),
    "`in` given one value": (
        "{id: m, aggregate: count, where: {status: {in: paid}}, weight: 100, "
        "normalise: {method: identity}}", "`in` needs a list, found 'paid'"),
    "a text filter given a number": (
        "{id: m, aggregate: count, where: {product_line: 5}, weight: 100, "
        "normalise: {method: identity}}", "5 cannot be compared with a cat column"),
    "bad CLV params": (
        "{id: m, aggregate: p_alive, params: {model: pareto}, weight: 100, "
        "normalise: {method: identity}}", "param `model` is `pareto`"),
    "a CLV spend column that is not numeric": (
        "{id: m, aggregate: clv, column: product_line, weight: 100, "
        "normalise: {method: identity}}", "column `product_line` is not a numeric column"),
    "a purchase model given a column it does not read": (
        "{id: m, aggregate: p_alive, column: kind, weight: 100, normalise: {method: identity}}",
        "aggregate `p_alive` reads no `column`"),
    "expected purchases given a category column": (
        "{id: m, aggregate: expected_purchases, column: product_line, weight: 100, "
        "normalise: {method: identity}}", "remove the `column` key"),
    "a CLV metric on another table": (
        "{id: m, aggregate: clv, table: interactions, weight: 100, "
        "normalise: {method: identity}}", "aggregate `clv` always reads orders, not interactions"),
    "the latest category under a numeric normaliser": (
        "{id: m, aggregate: latest, column: product_line, weight: 100, "
        "normalise: {method: identity}}",
        "`latest` of orders.product_line is a category (short text), not a number, and "
        "normaliser `identity` scores numbers only"),
    "a yes/no value under percentile": (
        "{id: m, aggregate: latest, table: subscriptions, column: renewed, weight: 100, "
        "normalise: {method: percentile}}",
        "score its values with the map normaliser: normalise: {method: map, values: "
        "{true: 100, false: 0}, default: 0}"),
    "a column not in the contract": (
        "{id: m, aggregate: sum, column: amout, weight: 100, normalise: {method: identity}}",
        "column `amout` is not a column of orders"),
    "bins out of 0": (
        "{id: m, aggregate: count, weight: 100, normalise: {method: bins, out_of: 0, "
        "bins: [{points: 1}]}}", "bins needs out_of != 0"),
}


@pytest.mark.parametrize("case", sorted(SCORE_TIME_ERRORS))
def test_validate_catches_what_score_would(case, tmp_path, cli):
    metric, message = SCORE_TIME_ERRORS[case]
    path = write(tmp_path, one_metric(metric))
    code, text = cli("validate", "--model", str(path))
    failed(code, text, f"{path}:", message)


def test_a_missing_table_depends_on_the_data_so_only_validate_with_data_sees_it(tmp_path, cli):
    model = write(tmp_path, one_metric(
        "{id: m, aggregate: count, table: subscriptions, weight: 100, "
        "normalise: {method: identity}}"))
    data = tmp_path / "data"
    data.mkdir()
    five_frames()["customers"].to_csv(data / "customers.csv", index=False)
    code, text = cli("validate", "--model", str(model))
    assert code == 0, text
    code, text = cli("validate", "--model", str(model), "--data", str(data))
    failed(code, text, "subscriptions")


COLUMNS = ["amount", "product_line", "kind", "score", "satisfaction", "amout", None]
WHERES = [None, "{status: paid}", "{amount: {'>=': 100}}", "{amount: {'>=': x}}",
          "{kind: [email_sent, 5]}", "{status: {in: paid}}", "{colour: red}",
          "{amount: {between: 1}}", "{kind: {is_null: 1}}"]
PARAMS = [None, "{}", "{horizon: 26w}", "{horizon: all}", "{discount_rate: abc}", "{foo: 1}",
          "{model: mbgnbd, penalizer: 0.01}"]
NORMALISERS_YAML = ["{method: identity}", "{method: percentile}", "{method: range, min: 5, max: 1}",
                    "{method: zscore, clip: 0}", "{method: points, per: 0}",
                    "{method: map, values: {A: 100}}", "{method: log_range, max: 1000}"]


@st.composite
def metrics(draw: st.DrawFn) -> str:
    parts = [f"aggregate: {draw(st.sampled_from(sorted(AGGREGATES)))}"]
    for key, options in (("column", COLUMNS), ("where", WHERES), ("params", PARAMS),
                         ("table", [None, "orders", "interactions", "surveys", "customers"]),
                         ("kind", [None, "email_sent", "nps"]),
                         ("window", [None, "90d", "all", "6m"])):
        value = draw(st.sampled_from(options))
        if value is not None:
            parts.append(f"{key}: {value}")
    if draw(st.booleans()):
        parts.append("numerator: {aggregate: count, kind: email_opened}")
        parts.append(f"denominator: {{aggregate: {draw(st.sampled_from(['count', 'latest']))}}}")
    parts.append(f"normalise: {draw(st.sampled_from(NORMALISERS_YAML))}")
    return "{id: m, weight: 100, " + ", ".join(parts) + "}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(metric=metrics())
def test_a_model_that_loads_scores_or_fails_only_on_the_data(metric):
    """Random metrics, many of them wrong: every model error surfaces when loading."""
    from crindex.api import score

    try:
        model = parse_model(one_metric(metric), "m.yaml")
    except ModelError as exc:
        assert all(p.where.startswith("m.yaml:") for p in exc.problems), exc
        return
    try:
        result = score(model, five_frames(), AS_OF)
    except ModelError as exc:  # the five-customer world has no subscriptions, leads, spend
        assert exc.reasons == {Reason.MISSING_TABLE}, exc
    except FitError:  # a CLV model fitted on five customers may not converge: data, not model
        pass
    else:
        assert result.table.num_rows == 5


# --------------------------------------------------------------------------------------------
# rules with a level; plug-ins register theirs


def test_warnings_are_printed_and_do_not_fail(tmp_path, cli):
    path = write(tmp_path, """\
name: w
dimensions:
  - id: d
    metrics:
      - {id: spend, aggregate: sum, column: amount, weight: 100, normalise: {method: identity}}
      - id: spare
        aggregate: count
        weight: 0
        normalise: {method: identity}
""")
    model = parse_model(path.read_text(), str(path))
    assert [str(w) for w in model.warnings] == [
        f"{path}:8: metric `spare` has weight 0: it is computed but never counts "
        "(give it a weight or remove it)"]
    code, text = cli("validate", "--model", str(path))
    assert code == 0, text
    assert "warning" in text and f"{path}:8: metric `spare` has weight 0" in " ".join(text.split())


def test_plugins_register_their_own_rules():
    names = set(RULES.names())
    assert {"clv spend column is numeric", "monthly_count needs a window",
            "alerts fit their rule and name metrics of the model",
            "params fit the aggregate", "weight 0 counts for nothing"} <= names
    assert {r.level for r in RULES.values()} == {"error", "warning"}


def test_the_alerts_rule_checks_metric_names():
    text = one_metric("{id: m, aggregate: count, weight: 100, normalise: {method: identity}}",
                      "alerts:\n  - {id: a, rule: metric, metric: nope, threshold: 1}\n")
    with pytest.raises(ModelError) as info:
        parse_model(text, "m.yaml")
    assert "m.yaml:7: alert `a`: unknown metric `nope` (metrics of this model: m)" in \
        str(info.value)


# --------------------------------------------------------------------------------------------
# registries that register: adding an aggregate and a normaliser touches one module

PLUGIN = '''
"""A plug-in: one aggregate and one normaliser, each in this module only."""
from typing import Literal

from crindex.engine.aggregates import Plan, aggregate
from crindex.model.spec import NormaliserSpec, Spec
from crindex.model.registry import register_normaliser


class Cap(Spec):
    cap: float


@aggregate("capped_sum", "sum of amount, capped", default_table="orders", params=Cap)
def capped_sum(ctx, m):
    key = ctx.name("v")
    cap = m.params["cap"]
    return Plan({key: ctx.table.amount.sum(where=ctx.condition(m))},
                lambda get: get(key).clip(upper=cap), True)


@register_normaliser
class Half(NormaliserSpec):
    method: Literal["half"]

    def score(self, raw, population=None):
        return (raw.cast("float64") / 2).clip(lower=0.0, upper=100.0)
'''


SCRIPT = """
import json
import sys

import crindex.model.registry as registry

registry.PLUGINS += ("my_plugin",)
from crindex.api import score
from crindex.model import load_model
from crindex.model.spec import CRIModel
from tests.conftest import AS_OF, five_frames

result = score(load_model(sys.argv[1]), five_frames(), AS_OF)
scores = dict(zip(result.table.column("customer_id").to_pylist(),
                  result.table.column("m__score").to_pylist()))
schema = json.dumps(CRIModel.model_json_schema())
print(json.dumps({"c1": scores["c1"], "c3": scores["c3"], "half": "Half" in schema}))
"""


def test_a_plugin_module_adds_an_aggregate_and_a_normaliser(tmp_path):
    (tmp_path / "my_plugin.py").write_text(PLUGIN)
    model = write(tmp_path, one_metric("{id: m, aggregate: capped_sum, params: {cap: 150}, "
                                       "weight: 100, normalise: {method: half}}"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(model)], capture_output=True,
                          text=True, cwd=ROOT,
                          env={"PYTHONPATH": f"{ROOT / 'src'}:{tmp_path}:{ROOT}", "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    # c1 paid 1000 + 500 + 2000 up to as_of (the refund and the later order do not count):
    # capped at 150, halved: 75; c3 paid 50, under the cap, halved: 25
    assert json.loads(proc.stdout) == {"c1": 75.0, "c3": 25.0, "half": True}


def test_every_registered_aggregate_builds_and_every_normaliser_scores():
    assert all(info.build is not None for info in AGGREGATES.values())
    assert all(callable(getattr(cls, "score", None)) for cls in NORMALISERS.values())
    assert set(NORMALISERS.names()) == {"range", "log_range", "percentile", "bins", "points",
                                        "map", "zscore", "identity"}


# --------------------------------------------------------------------------------------------
# the model package loads no engine

HEAVY = ("ibis", "scipy", "numpy", "pandas", "duckdb", "pyspark", "pyarrow")


@pytest.mark.parametrize("statement", [
    "import crindex.model.spec",
    "import crindex.model.loader",
    # reading the registries imports every plug-in module: they import engines lazily
    "from crindex.model import load_model; from crindex.examples import example_path; "
    "[load_model(example_path(n)) for n in ('ecommerce', 'b2b', 'saas_health', 'alerts')]",
    "from crindex.model import parse_model; parse_model('''" + one_metric(
        "{id: c, aggregate: clv, params: {horizon: 6m}, weight: 100, "
        "normalise: {method: percentile}}") + "''')",
])
def test_the_model_loads_no_engine(statement):
    code = f"{statement}\nimport sys\nprint([m for m in {HEAVY!r} if m in sys.modules])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_filter_of_a_ratio_is_checked_like_its_sides():
    # found by the property above: a ratio's own `where` applies to both sides, so a column the
    # table does not have is refused when the model is loaded, not by the engine
    with pytest.raises(ModelError) as err:
        parse_model(one_metric(
            "{id: m, weight: 100, aggregate: ratio, where: {status: paid}, "
            "numerator: {aggregate: count, kind: email_opened}, denominator: {aggregate: count}, "
            "normalise: {method: identity}}"))
    assert "metric `m`: filter column `status` is not a column of interactions" in str(err.value)
