"""Guardrails: the rules under which a run refuses to write rather than score garbage.

The data checks (:mod:`crindex.data.checks`) set bad rows aside one by one; the guardrails
judge the whole: a run that would give wrong numbers stops with exit 2, writes nothing (no
``--out`` files, no store snapshot) and says which table, how much, the top reason and the fix.

- ``rows_rejected``: a table lost more than ``guardrails.max_rejected`` of its rows to the
  checks (default 20% per table), e.g. every order set aside because its dates are written
  ``dd/mm/yyyy``;
- ``stale_data``: the newest row of a fact table the model reads is more than
  ``guardrails.max_age_days`` (default 60) older than ``as_of``: an old export, or an ``as_of``
  far after the data (``--as-of 2099-01-01``);
- ``as_of_outside_data``: ``as_of`` is before the data: no customer exists yet, or no fact
  table the model reads has a row on or before it (0 customers, or every metric missing);
- ``ratio_out_of_range``: a ratio metric's mean over the customers is above its highest
  possible value (an e-mail open rate of 1.07: more opens than sends).

Every command goes through them: :func:`crindex.data.open_dataset` judges the rows lost (and
the dates when it is given ``as_of``), :func:`crindex.api.score` the dates at its ``as_of`` and
the ratios on the scores, and ``score``, ``validate``, ``backtest``, ``weights``, ``kpis`` and
``backfill`` all open and score through those two. Each finding goes into the quality report
(``quality.json``, key ``guardrails``): refusals, limits passed only because the model or a flag
raised them (``allowed``) and warnings (a stale table the model does not read).

The limits come from the model's ``guardrails:`` (:class:`~crindex.model.spec.GuardrailsSpec`);
the command line's ``--max-rejected``, ``--max-age-days`` and ``--ratio-limit`` override them
(:func:`with_overrides`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from crindex.contract import ANSWERS, CONTRACT, TIME_COLUMN
from crindex.data.hints import guess_formats
from crindex.data.quality import REASONS, Guardrail, QualityReport, TableQuality
from crindex.errors import DataError, Problem, Reason
from crindex.model.spec import (
    DEFAULT_MAX_AGE_DAYS,
    DEFAULT_MAX_REJECTED,
    CRIModel,
    GuardrailsSpec,
    MetricSpec,
)

#: the tables whose rows are events in time (every table but customers)
FACT_TABLES = tuple(t for t in CONTRACT if t != "customers")


def limits(model: CRIModel | None) -> GuardrailsSpec:
    """The model's guardrails (the defaults without a model)."""
    return model.guardrails if model is not None else GuardrailsSpec()


def with_overrides(model: CRIModel, max_rejected: Iterable[str] = (),
                   max_age_days: str | None = None,
                   ratio_limits: Iterable[str] = ()) -> CRIModel:
    """``model`` with the command line's guardrail limits over its own.

    ``max_rejected`` items are ``TABLE=SHARE`` or a bare ``SHARE`` for every table;
    ``max_age_days`` is a number of days or ``off``; ``ratio_limits`` items are
    ``METRIC=LIMIT`` or ``METRIC=off``. A bad value is a :class:`DataError` naming the flag.
    """
    from pydantic import ValidationError

    g = model.guardrails
    rejected: dict[str, float] = dict(g.max_rejected)
    problems: list[Problem] = []
    for item in max_rejected:
        table, _, share = item.rpartition("=")
        value = _number(share, "--max-rejected", item, problems)
        if value is None:
            continue
        rejected = {**rejected, **({table.strip(): value} if table else
                                   dict.fromkeys(CONTRACT, value))}
    age: Any = g.max_age_days
    if max_age_days is not None:
        age = None if max_age_days.strip().lower() == "off" else \
            _number(max_age_days, "--max-age-days", max_age_days, problems)
    ratios: dict[str, float | None] = dict(g.ratio_limits)
    for item in ratio_limits:
        metric, sep, limit = item.partition("=")
        if not sep or not metric.strip():
            problems.append(Problem(f"`{item}` is not METRIC=LIMIT", "--ratio-limit",
                                    "e.g. --ratio-limit email_open_rate=1.2 or "
                                    "email_open_rate=off", Reason.BAD_PARAMETER))
            continue
        ratios[metric.strip()] = None if limit.strip().lower() == "off" else \
            _number(limit, "--ratio-limit", item, problems)
    if problems:
        raise DataError(Reason.BAD_PARAMETER, problems)
    try:
        spec = GuardrailsSpec(max_rejected=rejected, max_age_days=age, ratio_limits=ratios)
    except ValidationError as exc:
        raise DataError(Reason.BAD_PARAMETER, [Problem(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}", "guardrail flags",
            "--max-rejected takes shares from 0 to 1 (orders=0.5), --max-age-days a whole "
            "number of days above 0 or off", Reason.BAD_PARAMETER)
            for e in exc.errors()]) from None
    unknown = [m for m in ratios if m not in {x.id for _, x in model.metrics
                                              if x.aggregate == "ratio"}]
    if unknown:
        raise DataError.single(Reason.BAD_PARAMETER,
                               f"--ratio-limit names {', '.join(unknown)}, not a ratio metric "
                               "of the model", "--ratio-limit",
                               "ratio metrics: " + (", ".join(
                                   x.id for _, x in model.metrics if x.aggregate == "ratio")
                                   or "(none)"))
    return model.model_copy(update={"guardrails": spec})


def _number(text: str, flag: str, item: str, problems: list[Problem]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isnan(value) or math.isinf(value):
        problems.append(Problem(f"`{item}`: `{text}` is not a number", flag,
                                "e.g. --max-rejected orders=0.5, --max-age-days 400, "
                                "--ratio-limit email_open_rate=1.2", Reason.BAD_PARAMETER))
        return None
    return value


# --------------------------------------------------------------------------------------------
# the rules


def judge_rows(report: QualityReport, model: CRIModel | None) -> list[Guardrail]:
    """``rows_rejected``: the tables that lost more of their rows than their limit.

    A table the model reads nothing from only warns (``customers`` is always read).
    """
    from crindex.data.load import model_columns

    g = limits(model)
    read = set(model_columns(model)) if model is not None else None
    found = []
    for t in report.tables:
        if not t.rows_read or not t.rows_set_aside:
            continue
        share = t.rows_set_aside / t.rows_read
        limit = g.rejected_limit(t.table)
        if share <= min(limit, DEFAULT_MAX_REJECTED):
            continue
        level = "refused" if share > limit else "allowed"
        if read is not None and t.table not in read:
            level = "warning"  # a table the model reads nothing from cannot make it wrong
        by_reason: dict[str, int] = {}
        for i in t.issues:
            if i.quarantined:
                by_reason[i.reason] = by_reason.get(i.reason, 0) + i.count
        reason = max(by_reason, key=lambda r: by_reason[r], default="?")
        top = max((i for i in t.issues if i.quarantined and i.reason == reason),
                  key=lambda i: i.count, default=None)
        what = (f"{t.table}: {t.rows_set_aside:,} of {t.rows_read:,} rows ({_pct(share)}) set "
                "aside by the data checks, ")
        what += (f"more than the {_pct(limit)} allowed" if share > limit else
                 f"more than the default {_pct(DEFAULT_MAX_REJECTED)} but within the "
                 f"{_pct(limit)} the model or --max-rejected allows")
        if level == "warning":
            what += " (the model reads no metric from it)"
        if top is not None:
            n = by_reason[reason]
            what += (f"; top reason: {REASONS.get(reason, reason)} ({reason}, {n:,} "
                     f"{'row' if n == 1 else 'rows'})" + (f", e.g. in column {top.column_text}"
                                                          if top.column else "")
                     + _found(top.reason, top.bad_values))
        allow = math.ceil(share * 100) / 100
        hint = ((top.hint + "; " if top is not None and top.hint else "")
                + f"if these rows may go, allow it: guardrails: {{max_rejected: {{{t.table}: "
                f"{allow:g}}}}} in the model, or --max-rejected {t.table}={allow:g}")
        found.append(Guardrail("rows_rejected", level, t.table, what,
                               hint if level != "allowed" else "",
                               (("table", t.table), ("rows_read", t.rows_read),
                                ("rows_set_aside", t.rows_set_aside),
                                ("share", round(share, 6)), ("limit", limit),
                                ("top_reason", reason))))
    return found


def _found(reason: str, bad_values: list[dict[str, Any]]) -> str:
    """What the values at fault look like: the date layout found, with examples."""
    values = [str(v["value"]) for v in bad_values if v.get("value") is not None]
    if not values:
        return ""
    shown = ", ".join(f'"{v}"' for v in values[:3])
    if reason == "unparseable_date":
        formats = guess_formats(values)
        if formats:
            return f", dates written as {' or '.join(formats[:2])} ({shown})"
    return f" ({shown})"


def _pct(share: float) -> str:
    text = f"{100 * share:.1f}".rstrip("0").rstrip(".")
    return text + "%"


def judged_tables(report: QualityReport, model: CRIModel | None) -> tuple[list[TableQuality],
                                                                         list[TableQuality]]:
    """(fact tables the model reads, other fact tables read): the first decide, the others warn.

    Without a model every fact table read decides.
    """
    from crindex.data.load import model_columns

    facts = [t for t in report.tables if t.table in FACT_TABLES]
    if model is None:
        return facts, []
    read = set(model_columns(model))
    return [t for t in facts if t.table in read], [t for t in facts if t.table not in read]


def judge_dates(report: QualityReport, model: CRIModel | None,
                as_of: dt.date) -> list[Guardrail]:
    """``stale_data`` and ``as_of_outside_data`` at ``as_of``."""
    g = limits(model)
    read, others = judged_tables(report, model)
    found: list[Guardrail] = []
    for t, decides in [(t, True) for t in read] + [(t, False) for t in others]:
        if t.last_at is None:
            continue
        last = t.last_at.date()
        age = (as_of - last).days
        limit = g.max_age_days
        if age <= min(limit or math.inf, DEFAULT_MAX_AGE_DAYS):
            continue
        over = limit is not None and age > limit
        level = ("refused" if over else "allowed") if decides else "warning"
        col = TIME_COLUMN[t.table]
        what = (f"{t.table}: the newest row ({col}) is dated {last}, {age:,} days before as_of "
                f"{as_of}")
        if level == "refused":
            what += f", more than the {limit} days allowed: the data is stale"
        elif level == "allowed":
            what += (f", more than the default {DEFAULT_MAX_AGE_DAYS} days but allowed by the "
                     "model or --max-age-days")
        else:
            what += " (the model reads no metric from it)"
        hint = (f"export the data again, or score as of the data's last day: --as-of {last}; "
                f"to score this as_of anyway: guardrails: {{max_age_days: {age}}} in the model, "
                f"or --max-age-days {age}") if level == "refused" else ""
        found.append(Guardrail("stale_data", level, t.table, what, hint,
                               (("table", t.table), ("last", str(last)),
                                ("as_of", str(as_of)), ("age_days", age),
                                ("limit_days", limit))))
    found += _before(report, read, as_of)
    return found


def _before(report: QualityReport, read: list[TableQuality],
            as_of: dt.date) -> list[Guardrail]:
    """``as_of_outside_data``: no customer yet, or no fact table read with a row by as_of."""
    customers = next((t for t in report.tables if t.table == "customers"), None)
    dated = [t for t in read if t.first_at is not None]
    no_customer = customers is not None and customers.first_at is not None and \
        customers.first_at.date() > as_of
    no_facts = bool(dated) and all(t.first_at.date() > as_of for t in dated)  # type: ignore[union-attr]
    if not (no_customer or no_facts):
        return []
    starts = [(t.table, t.first_at.date()) for t in dated]  # type: ignore[union-attr]
    if customers is not None and customers.first_at is not None:
        starts.insert(0, ("customers", customers.first_at.date()))
    start = min(d for _, d in starts)
    what = (f"as_of {as_of} is before the data: " + ", ".join(
        f"{'the first customer was created' if n == 'customers' else f'{n} start'} {d}"
        for n, d in starts)
            + ("; no customer exists at as_of (0 customers to score)" if no_customer else
               "; no table the model reads has a row on or before as_of (every metric would "
               "be missing)"))
    first = max(starts, key=lambda s: s[1])[1] if no_facts else start
    hint = f"pick an as_of inside the data: --as-of {first} or later"
    return [Guardrail("as_of_outside_data", "refused", "as_of", what, hint,
                      (("as_of", str(as_of)), ("data_starts", str(start))))]


def ratio_limit(model: CRIModel, m: MetricSpec) -> float | None:
    """A ratio metric's highest possible value: the model's, or 1 for a share of answers.

    A ratio counting rows of a kind that answers another (``email_opened`` per
    ``email_sent``, see :data:`crindex.contract.ANSWERS`) is at most 1.
    """
    g = model.guardrails
    if m.id in g.ratio_limits:
        return g.ratio_limits[m.id]
    num, den = m.numerator, m.denominator
    if num is None or den is None or num.aggregate != "count" or den.aggregate != "count":
        return None
    kind_n, kind_d = num.kind or m.kind, den.kind or m.kind
    if kind_n is not None and ANSWERS.get(kind_n) == kind_d:
        return 1.0
    return None


def judge_ratios(model: CRIModel, table: Any) -> list[Guardrail]:
    """``ratio_out_of_range``: ratio metrics whose mean over the customers is above their limit.

    ``table`` is the pyarrow table of scores (``<metric>__raw`` columns). One customer may
    pass the limit at the window's edge (an e-mail sent before the window, opened in it); the
    mean over every customer may not.
    """
    import pyarrow.compute as pc

    found = []
    for _, m in model.metrics:
        if m.aggregate != "ratio":
            continue
        limit = ratio_limit(model, m)
        column = f"{m.id}__raw"
        if limit is None or column not in table.column_names:
            continue
        values = table.column(column)
        n = values.length() - values.null_count
        if not n:
            continue
        mean = pc.mean(values).as_py()
        if mean is None or mean <= limit:
            continue
        above = pc.sum(pc.greater(values, limit)).as_py() or 0
        assert m.numerator is not None and m.denominator is not None
        sides = f"{_side(m, m.numerator)} / {_side(m, m.denominator)}"
        what = (f"metric `{m.id}` ({sides}): its mean over {n:,} customers is {mean:.3g}, above "
                f"{limit:g}, its highest possible value ({above:,} customers above it)")
        hint = ("check the data: are the kinds mapped right (sources.interactions.values: "
                "{kind: {...}}) and is each row counted once?; if the limit is wrong: "
                f"guardrails: {{ratio_limits: {{{m.id}: <limit or null>}}}} in the model, or "
                f"--ratio-limit {m.id}=off")
        found.append(Guardrail("ratio_out_of_range", "refused", m.id, what, hint,
                               (("metric", m.id), ("mean", round(mean, 6)), ("limit", limit),
                                ("customers", n), ("customers_above", above))))
    return found


def _side(m: MetricSpec, part: Any) -> str:
    kind = part.kind or m.kind
    return f"{part.aggregate}" + (f"({part.column})" if part.column else "") + \
        (f" of {kind}" if kind else "")


# --------------------------------------------------------------------------------------------
# recording and refusing

REASON_OF = {"rows_rejected": Reason.ROWS_REJECTED, "stale_data": Reason.STALE_DATA,
             "as_of_outside_data": Reason.AS_OF_OUTSIDE_DATA,
             "ratio_out_of_range": Reason.RATIO_OUT_OF_RANGE}


def enforce(report: QualityReport, found: list[Guardrail], write_to: Any = None,
            refuse: bool = True) -> None:
    """Record ``found`` in ``report``; raise a :class:`DataError` if any finding refuses.

    ``refuse=False`` only records them (``open_dataset(..., guardrails=False)``: a look at
    dirty data on purpose).

    ``write_to``: also write the report (``quality.json``, the rows set aside) to this folder
    first (a quarantine folder the caller asked for), so a refused run leaves its report there.
    """
    report.add(found)
    if write_to is not None:
        from pathlib import Path

        Path(write_to).mkdir(parents=True, exist_ok=True)
        report.write(write_to)
    refused = [g for g in found if g.level == "refused"]
    if refused and refuse:
        raise guardrail_error(refused, report)


def guardrail_error(refused: list[Guardrail], report: QualityReport) -> DataError:
    problems = [Problem(g.message, "", g.hint, REASON_OF[g.rule]) for g in refused]
    error = DataError(problems[0].reason or Reason.ROWS_REJECTED, problems,
                      summary=("a guardrail refuses the data" if len(refused) == 1 else
                               f"{len(refused)} guardrails refuse the data")
                      + ": nothing was written")
    error.quality = report  # type: ignore[attr-defined]
    return error


def check_opened(report: QualityReport, model: CRIModel | None, as_of: dt.date | None,
                 write_to: Any = None, refuse: bool = True) -> None:
    """The guardrails :func:`~crindex.data.open_dataset` applies: rows lost, and the dates."""
    found = judge_rows(report, model)
    if as_of is not None:
        found += judge_dates(report, model, as_of)
    enforce(report, found, write_to, refuse)


def check_scored(report: QualityReport | None, model: CRIModel, as_of: dt.date, table: Any,
                 write_to: Any = None, refuse: bool = True) -> None:
    """The guardrails :func:`crindex.api.score` applies: the dates at its as_of, the ratios."""
    if report is None or not report.checked:
        return
    enforce(report, judge_dates(report, model, as_of) + judge_ratios(model, table), write_to,
            refuse)


__all__ = [
    "FACT_TABLES", "check_opened", "check_scored", "enforce", "judge_dates", "judge_ratios",
    "judge_rows", "limits", "ratio_limit", "with_overrides"]
