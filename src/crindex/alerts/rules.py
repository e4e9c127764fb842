"""Alert rules: small registered functions, each with its name, its parameters and its check.

A rule looks at one snapshot (``Situation.current``) and, where it needs to, at the earlier
snapshots of the same model (``Situation.history``), and returns the customers it fires for,
each with a message a person can act on. Add a rule with :func:`register`; the model loader
checks every ``alerts:`` entry against this registry.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crindex.calendar import window_start
from crindex.errors import Problem, Reason
from crindex.model.registry import register_rule
from crindex.model.spec import AlertSpec, CRIModel

if TYPE_CHECKING:
    import pandas as pd

    from crindex.model.rules import Checking

#: the keys of an alert entry that configure its rule (the others: id, label, rule, severity,
#: auto_resolve)
PARAMETERS = ("within", "relative", "absolute", "threshold", "metric", "value", "op", "missing",
              "flag")

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
}


@dataclass
class Situation:
    """What a rule sees: one snapshot and the earlier ones of the same model.

    ``current``: indexed by customer_id, columns score, tier, owner. ``history``: as_of,
    customer_id, score, tier of earlier snapshots with the same model content hash (a changed
    model is not compared with the old one). ``metrics``: customer_id, item, raw_num,
    raw_text, score of this snapshot for the metrics the rules name.
    """

    as_of: dt.date
    current: pd.DataFrame
    history: pd.DataFrame
    metrics: pd.DataFrame
    tier_order: list[str]


@dataclass(frozen=True)
class Hit:
    """A customer a rule fires for, with the message and the figures behind it."""

    customer_id: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


Evaluate = Callable[[AlertSpec, Situation], list[Hit]]


@dataclass(frozen=True)
class Rule:
    """A registered alert rule."""

    name: str
    summary: str
    evaluate: Evaluate
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()


RULES: dict[str, Rule] = {}


def register(name: str, summary: str, required: tuple[str, ...] = (),
             optional: tuple[str, ...] = (), one_of: tuple[str, ...] = ()
             ) -> Callable[[Evaluate], Evaluate]:
    """Register ``evaluate`` as the alert rule ``name``."""

    def wrap(evaluate: Evaluate) -> Evaluate:
        RULES[name] = Rule(name, summary, evaluate, required, optional, one_of)
        return evaluate

    return wrap


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if out != out else out  # NaN


# --------------------------------------------------------------------------------------------
# the rules


@register("score_drop", "the score fell by `relative` % or `absolute` points from its highest "
          "value in the snapshots of the last `within`", required=("within",),
          one_of=("relative", "absolute"))
def score_drop(spec: AlertSpec, s: Situation) -> list[Hit]:
    import pandas as pd

    since = window_start(s.as_of, spec.within)  # inclusive: 7d counts D-7
    past = s.history
    if since is not None:
        past = past[past.as_of >= since]
    past = past.dropna(subset=["score"])
    if past.empty:
        return []
    # per customer the highest earlier score (the first snapshot that had it) and the score now
    peaks = past.loc[past.groupby("customer_id").score.idxmax(), ["customer_id", "as_of", "score"]]
    now = pd.to_numeric(s.current["score"], errors="coerce").rename("now")
    rows = peaks.join(now, on="customer_id", how="inner").dropna(subset=["now"])
    ref = rows.score.astype(float)
    drop = ref - rows.now.astype(float)
    rel = (100.0 * drop / ref.where(ref > 0)).fillna(0.0)
    # a tolerance of 1e-9 keeps an exact 20 % drop (80 -> 64) on the firing side
    fired = pd.Series(False, index=rows.index)
    if spec.relative is not None:
        fired |= (ref > 0) & (rel >= spec.relative - 1e-9)
    if spec.absolute is not None:
        fired |= drop >= spec.absolute - 1e-9
    hits = []
    for cid, peak_as_of, peak, now_, d, r in zip(
            rows.customer_id[fired], rows.as_of[fired], ref[fired], rows.now[fired],
            drop[fired], rel[fired], strict=True):
        days = (s.as_of - peak_as_of).days
        peak, now_, d, r = float(peak), float(now_), float(d), float(r)
        hits.append(Hit(str(cid), f"score fell {r:.1f}% ({d:.1f} points) in {days} "
                        f"days: {peak:.1f} on {peak_as_of} -> {now_:.1f} on {s.as_of}",
                        {"score": now_, "reference": peak, "reference_as_of": peak_as_of,
                         "drop_points": d, "drop_percent": r}))
    return hits


@register("tier_downgrade", "the tier is worse than in the previous snapshot (no older than "
          "`within`, when given)", optional=("within",))
def tier_downgrade(spec: AlertSpec, s: Situation) -> list[Hit]:
    since = window_start(s.as_of, spec.within)  # inclusive: 7d counts D-7
    past = s.history.dropna(subset=["tier"])
    if since is not None:
        past = past[past.as_of >= since]
    if past.empty:
        return []
    rank = {t: i for i, t in enumerate(s.tier_order)}
    previous = past.sort_values("as_of").groupby("customer_id").last()
    now = s.current["tier"].to_dict()
    hits = []
    for cid, prev_tier, prev_as_of in zip(previous.index, previous.tier, previous.as_of,
                                          strict=True):
        tier = now.get(cid)
        if tier in rank and prev_tier in rank and rank[tier] > rank[prev_tier]:
            hits.append(Hit(str(cid), f"tier fell from {prev_tier} ({prev_as_of}) to {tier}",
                            {"tier": tier, "previous_tier": prev_tier,
                             "previous_as_of": prev_as_of}))
    return hits


@register("score_below", "the score is below `threshold`", required=("threshold",))
def score_below(spec: AlertSpec, s: Situation) -> list[Hit]:
    limit = float(spec.threshold)  # type: ignore[arg-type]  # checked numeric by check_alerts
    hits = []
    for cid, score in s.current["score"].items():
        now = _num(score)
        if now is not None and now < limit:
            hits.append(Hit(str(cid), f"score {now:.1f} is below {limit:g}",
                            {"score": now, "threshold": limit}))
    return hits


@register("metric", "a metric's `value` (raw or score) compared with `op` to `threshold`; "
          "`missing: fire` also fires for customers with no value",
          required=("metric", "threshold"), optional=("value", "op", "missing"))
def metric_condition(spec: AlertSpec, s: Situation) -> list[Hit]:
    rows = s.metrics[s.metrics["item"] == spec.metric].set_index("customer_id")
    compare = OPERATORS[spec.op]
    textual = isinstance(spec.threshold, str)
    column = "score" if spec.value == "score" else ("raw_text" if textual else "raw_num")
    what = f"{spec.metric} {'score' if spec.value == 'score' else 'value'}"
    known = rows[column].to_dict()
    hits = []
    for cid in s.current.index:
        value = known.get(cid)
        value = (None if value is None or value != value else str(value)) if textual \
            else _num(value)
        if value is None:
            if spec.missing == "fire":
                hits.append(Hit(str(cid), f"{what} is missing",
                                {"metric": spec.metric, "value": None}))
            continue
        if compare(value, spec.threshold):
            shown, limit = (f"{v:g}" if isinstance(v, float) else v
                            for v in (value, spec.threshold))
            hits.append(Hit(str(cid), f"{what} is {shown} ({spec.op} {limit})",
                            {"metric": spec.metric, "value": value,
                             "threshold": spec.threshold}))
    return hits


@register("flag", "the customer's `flag` (one of the model's flags) is raised",
          required=("flag",))
def flag_raised(spec: AlertSpec, s: Situation) -> list[Hit]:
    raised = s.current["flags"] if "flags" in s.current.columns else {}
    hits = []
    for cid, text in dict(raised).items():
        ids = str(text).split(",") if isinstance(text, str) and text else []
        if spec.flag in ids:
            hits.append(Hit(str(cid), f"flag {spec.flag} is raised",
                            {"flag": spec.flag, "flags": ids}))
    return hits


# --------------------------------------------------------------------------------------------
# checks (called by the model loader)


@register_rule("alerts fit their rule and name metrics of the model")
def _alerts_rule(checking: Checking) -> list[Problem]:
    return check_alerts(checking.model)


def check_alerts(model: CRIModel) -> list[Problem]:
    """Every problem of a model's ``alerts:`` entries, with file:line."""
    problems: list[Problem] = []
    seen: set[str] = set()
    metric_ids = [m.id for _, m in model.metrics]
    for spec in model.alerts:
        at = spec.at or model.path
        what = f"alert `{spec.id}`"
        if spec.id in seen:
            problems.append(Problem(f"{what}: the id is used twice", at,
                                    "alert ids must be unique", Reason.DUPLICATE_ID))
        seen.add(spec.id)
        rule = RULES.get(spec.rule)
        if rule is None:
            problems.append(Problem(f"{what}: unknown rule `{spec.rule}`", at,
                                    "rules: " + ", ".join(sorted(RULES)),
                                    Reason.BAD_PARAMETER))
            continue
        given = {p for p in PARAMETERS if p in spec.model_fields_set}
        takes = set(rule.required) | set(rule.optional) | set(rule.one_of)
        for extra in sorted(given - takes):
            problems.append(Problem(
                f"{what}: rule `{rule.name}` does not take `{extra}`", at,
                f"`{rule.name}`: {rule.summary}", Reason.BAD_PARAMETER))
        for need in rule.required:
            if getattr(spec, need) is None:
                problems.append(Problem(f"{what}: rule `{rule.name}` needs `{need}`", at,
                                        f"`{rule.name}`: {rule.summary}",
                                        Reason.BAD_PARAMETER))
        if rule.one_of and all(getattr(spec, p) is None for p in rule.one_of):
            problems.append(Problem(
                f"{what}: rule `{rule.name}` needs " + " or ".join(f"`{p}`" for p in rule.one_of),
                at, "e.g. relative: 20 (percent) or absolute: 10 (points)",
                Reason.BAD_PARAMETER))
        if rule.name == "score_below" and _num(spec.threshold) is None and \
                spec.threshold is not None:
            problems.append(Problem(f"{what}: threshold must be a score (0-100)", at, "",
                                    Reason.BAD_PARAMETER))
        if spec.metric is not None and spec.metric not in metric_ids:
            problems.append(Problem(f"{what}: unknown metric `{spec.metric}`", at,
                                    "metrics of this model: " + ", ".join(metric_ids),
                                    Reason.UNKNOWN_COLUMN))
        flag_ids = [f.id for f in model.flags]
        if spec.flag is not None and spec.flag not in flag_ids:
            problems.append(Problem(f"{what}: unknown flag `{spec.flag}`", at,
                                    ("flags of this model: " + ", ".join(flag_ids))
                                    if flag_ids else "the model has no `flags:`; add one",
                                    Reason.UNKNOWN_COLUMN))
        if rule.name == "metric" and isinstance(spec.threshold, str) and \
                (spec.value == "score" or spec.op not in ("==", "!=")):
            problems.append(Problem(f"{what}: a text threshold compares raw values with == or !=",
                                    at, "use a number for >=, >, <=, <", Reason.BAD_PARAMETER))
    return problems
