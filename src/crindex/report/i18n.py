"""The words of the reports, in English and Chinese (``--lang en|zh``)."""

from __future__ import annotations

from collections.abc import Callable

from crindex.errors import DataError, Reason

LANGS = ("en", "zh")

#: key -> (English, Chinese); ``{name}`` fields are filled by :func:`translator`.
STRINGS: dict[str, tuple[str, str]] = {
    # backtest
    "bt.title": ("Backtest of model {model}", "模型 {model} 回测报告"),
    "bt.intro": ("Scores computed as they would have been on each date, compared with what "
                 "happened in the following {horizon}.",
                 "按每个评估日当天可见的数据计算得分，再与之后 {horizon} 内实际发生的情况对比。"),
    "bt.intro.label": ("Scores on {as_of} compared with each customer's churn label, on a "
                       "holdout of {held_out} of {labelled} customers ({share:.0%}, seed {seed}, "
                       "stratified by the label).",
                       "按 {as_of} 的得分与每位客户的流失标签对比，"
                       "评估样本为按标签分层抽取的留出集："
                       "{labelled} 位客户中的 {held_out} 位（{share:.0%}，随机种子 {seed}）。"),
    "bt.rule.label": ("churn = the static label customers.{column} (no horizon)",
                      "流失 = 静态标签 customers.{column}（无观察期）"),
    "bt.rule.churned_at": ("churn = customers.churned_at in the horizon",
                           "流失 = 观察期内的 customers.churned_at"),
    "bt.rule.inactivity": ("churn = {days} days without a paid order, reached in the horizon",
                           "流失 = 观察期内出现连续 {days} 天无付款订单"),
    "bt.rule.inactivity_end": ("churn = {days} days without a paid order, reached in the horizon "
                               "and still so at its end",
                               "流失 = 观察期内出现连续 {days} 天无付款订单，"
                               "且到观察期结束时仍未恢复"),
    "bt.findings": ("Findings", "检查结论"),
    "bt.summary": ("Summary by date", "各评估日概览"),
    "bt.over_time": ("Over time", "随时间变化"),
    "bt.auc_over_time": ("Churn AUC", "流失预测 AUC"),
    "bt.core_share": ("Share of customers in the top tier", "最高等级客户占比"),
    "bt.churn_by_tier_time": ("Churn rate by tier", "各等级流失率"),
    "bt.revenue_by_tier_time": ("Revenue per customer by tier", "各等级人均收入"),
    "bt.psi": ("Score stability (PSI)", "得分稳定性（PSI）"),
    "bt.period": ("As of {as_of} (outcome to {end})", "评估日 {as_of}（观察至 {end}）"),
    "bt.period.label": ("As of {as_of}: the holdout against its churn label",
                        "评估日 {as_of}：留出集与流失标签对比"),
    "bt.churn_by_tier": ("Churn rate by tier", "各等级流失率"),
    "bt.deciles": ("Churn rate by score decile (1 = lowest scores)",
                   "按得分十分位的流失率（1 = 得分最低）"),
    "bt.metric_deciles": ("Churn rate by decile of each metric's points (1 = lowest; tied "
                          "points share a decile, empty deciles are blank)",
                          "各指标按得分十分位的流失率（1 = 得分最低；"
                          "同分同属一个十分位，空十分位留白）"),
    "bt.calibration": ("Calibration: observed churn by score band", "校准：各分数段实际流失率"),
    "bt.signal": ("Which metrics carry signal (each metric's own churn AUC)",
                  "各指标单独的流失预测 AUC（哪些指标有信号）"),
    "bt.zero_ties": ("Tiers tied at 0% churn, so not ordered (too few customers, too short a "
                     "horizon or thresholds that split alike customers): {tiers}",
                     "流失率同为 0% 的等级，视为未排序（客户太少、观察期太短或阈值"
                     "划分了相似的客户）：{tiers}"),
    "bt.no_periods": ("Only one date: give several --as-of for the checks over time.",
                      "只有一个评估日：提供多个 --as-of 才能看到随时间的变化。"),
    # findings of a backtest (codes of crindex.backtest.run.checks)
    "check.auc_ok": ("churn AUC {auc:.3f}", "流失预测 AUC 为 {auc:.3f}"),
    "check.auc_weak": ("churn AUC {auc:.3f} is weak (< {threshold})",
                       "流失预测 AUC {auc:.3f} 偏弱（< {threshold}）"),
    "check.auc_reversed": ("churn AUC {auc:.3f} is below 0.5: the score ranks churners above "
                           "the customers who stayed",
                           "流失预测 AUC {auc:.3f} 低于 0.5：流失客户的得分反而高于留存客户"),
    "check.no_churn": ("nobody (or everybody) churned in the horizon: no AUC",
                       "观察期内无人流失（或全部流失）：无法计算 AUC"),
    "check.tier_order_ok": ("churn falls from tier to tier", "流失率随等级逐级下降"),
    "check.tier_order": ("tier {tier} churns {churn_rate:.1%}, not less than the next tier "
                         "{next} ({next_churn_rate:.1%})",
                         "等级 {tier} 流失率 {churn_rate:.1%}，不低于下一等级 {next}"
                         "（{next_churn_rate:.1%}）"),
    "check.tier_empty": ("tier {tier} has no customers: churn cannot be seen to fall through it",
                         "等级 {tier} 没有客户：无法验证流失率逐级下降"),
    "check.metric_reversed": ("metric {metric} has churn AUC {auc:.3f} (< 0.5): as the model "
                              "reads it, it points away from churn; {fix}",
                              "指标 {metric} 的流失 AUC 为 {auc:.3f}（< 0.5）：按模型的读法，它与"
                              "流失方向相反；修正：{fix}"),
    "check.metric_no_signal": ("metric {metric} has churn AUC {auc:.3f}, within {noise:.3f} of "
                               "0.5: it ranks churners no better than a coin; lower its weight "
                               "or drop it",
                               "指标 {metric} 的流失 AUC 为 {auc:.3f}，与 0.5 相差不超过 "
                               "{noise:.3f}：预测流失不比抛硬币好；请降低其权重或删除"),
    "check.metric_too_good": ("metric {metric} has churn AUC {auc:.3f} (> {threshold}): too good "
                              "to be true; check that it reads no row after as_of and not the "
                              "churn outcome (leakage)",
                              "指标 {metric} 的流失 AUC 为 {auc:.3f}（> {threshold}）：好得不真实；"
                              "请检查它是否读取了 as_of 之后的数据或流失结果本身（信息泄漏）"),
    "check.metric_leak": ("metric {metric} reads customers.{column} ({how}), the churn outcome: "
                          "the score is built from what it is judged by (leakage); remove the "
                          "metric or read another column",
                          "指标 {metric} 读取了 customers.{column}（{how}），即流失结果本身：得分由"
                          "评判它的结果构成（信息泄漏）；请删除该指标或改读其他列"),
    "check.metric_points_low": ("metric {metric} averages {points:.1f} points (under {low:g}): "
                                "most customers sit at the bottom of its scale; fit its bounds to "
                                "the data",
                                "指标 {metric} 平均仅 {points:.1f} 分（低于 {low:g}）：多数客户处于"
                                "量表底端；请按数据调整其边界"),
    "check.metric_points_high": ("metric {metric} averages {points:.1f} points (over {high:g}): "
                                 "most customers sit at the top of its scale; fit its bounds to "
                                 "the data",
                                 "指标 {metric} 平均高达 {points:.1f} 分（高于 {high:g}）：多数客户"
                                 "处于量表顶端；请按数据调整其边界"),
    "check.tier_crowded": ("tier {tier} holds {share:.1%} of the customers (more than half): the "
                           "tiers do not separate them; move the thresholds",
                           "等级 {tier} 占客户的 {share:.1%}（超过一半）：等级未能区分客户；请调整"
                           "阈值"),
    "check.tier_zero_tie": ("tiers {tier} and {next} both churn 0%: churn does not fall from one "
                            "to the other; move their threshold or measure longer",
                            "等级 {tier} 与 {next} 流失率同为 0%：流失率未逐级下降；请调整阈值或"
                            "延长观察期"),
    "check.horizon_past_data": ("the horizon ends after the last order in the data "
                                "({data_end}): outcomes are incomplete",
                                "观察期结束晚于数据中最后一笔订单（{data_end}）：结果不完整"),
    "check.psi_shift": ("score distribution moved between {from} and {to}: PSI {psi:.3f}",
                        "{from} 至 {to} 之间得分分布发生变化：PSI {psi:.3f}"),
    # column heads
    "col.as_of": ("As of", "评估日"),
    "col.customers": ("Customers", "客户数"),
    "col.churned": ("Churned", "流失数"),
    "col.churn_rate": ("Churn rate", "流失率"),
    "col.auc": ("AUC", "AUC"),
    "col.ci": ("95% CI", "95% 置信区间"),
    "col.lift": ("Lift (lowest 10%)", "提升度（最低 10%）"),
    "col.tier_order": ("Tier order", "等级顺序"),
    "col.tier": ("Tier", "等级"),
    "col.share": ("Share", "占比"),
    "col.revenue": ("Revenue", "收入"),
    "col.revenue_share": ("Revenue share", "收入占比"),
    "col.revenue_per_customer": ("Revenue / customer", "人均收入"),
    "col.mean_score": ("Mean score", "平均得分"),
    "col.decile": ("Decile", "十分位"),
    "col.score_range": ("Scores", "得分范围"),
    "col.band": ("Score band", "分数段"),
    "col.metric": ("Metric", "指标"),
    "col.dimension": ("Dimension", "维度"),
    "col.weight": ("Weight %", "权重 %"),
    "col.coverage": ("Has data", "有数据"),
    "col.from": ("From", "起"),
    "col.to": ("To", "止"),
    "col.psi": ("PSI", "PSI"),
    "col.verdict": ("Verdict", "结论"),
    "col.level": ("Level", "级别"),
    "col.finding": ("Finding", "说明"),
    "col.label": ("Label", "名称"),
    "col.strategy": ("Strategy", "策略"),
    "col.rule": ("Rule", "规则"),
    "col.aggregate": ("Aggregate", "计算方式"),
    "col.window": ("Window", "时间窗"),
    "col.normalise": ("Normalisation", "标准化"),
    "col.table": ("Table", "数据表"),
    "col.source": ("Source", "来源"),
    "col.rows_read": ("Rows read", "读取行数"),
    "col.rows_used": ("Rows used", "使用行数"),
    "col.rows_quarantined": ("Set aside", "隔离行数"),
    "col.issue": ("Issue", "问题"),
    "col.count": ("Count", "数量"),
    "col.customer": ("Customer", "客户"),
    "col.score": ("Score", "得分"),
    "col.previous": ("Previous", "上次得分"),
    "col.change": ("Change", "变化"),
    "col.previous_tier": ("Previous tier", "上次等级"),
    "col.why": ("Why (data, model)", "变化原因（数据、模型）"),
    "ordered": ("ordered", "有序"),
    "flagged": ("flagged: {tiers}", "异常：{tiers}"),
    "level.ok": ("ok", "通过"),
    "level.warn": ("warning", "注意"),
    "level.fail": ("failed", "未通过"),
    "psi.stable": ("stable", "稳定"),
    "psi.shift": ("some shift", "轻微偏移"),
    "psi.changed": ("changed", "显著变化"),
    "empty": ("(empty)", "（无客户）"),
    # scoring report
    "rp.title": ("Customer Relationship Index: {model}", "客户关系指数报告：{model}"),
    "rp.meta": ("As of {as_of}: {customers} customers scored, mean score {mean}, mean coverage "
                "{coverage}%",
                "评估日 {as_of}：共评分 {customers} 位客户，平均得分 {mean}，平均数据覆盖率 "
                "{coverage}%"),
    "rp.tiers": ("Tier distribution", "等级分布"),
    "rp.histogram": ("Score distribution", "得分分布"),
    "rp.dimensions": ("Dimension averages", "各维度平均分"),
    "rp.metrics": ("Metric averages", "各指标平均分"),
    "rp.movers": ("Top movers since the previous snapshot", "与上次快照相比变化最大的客户"),
    "rp.movers.no_store": ("Give --store to compare with the previous snapshot.",
                           "提供 --store 即可与上次快照对比。"),
    "rp.movers.none": ("No score history: {reason}", "无历史得分：{reason}"),
    "rp.movers.since": ("Compared with the snapshot of {as_of}.", "对比 {as_of} 的快照。"),
    "rp.risers": ("Biggest rises", "上升最多"),
    "rp.fallers": ("Biggest falls", "下降最多"),
    "rp.missing": ("Missing", "缺失"),
    "quality": ("Data quality", "数据质量"),
    "rp.clusters": ("K-means clusters", "K 均值聚类分层"),
    "rp.clusters.meta": ("{k} clusters over the standardised metrics {on} (seed {seed}), best "
                         "first by mean score; silhouette {silhouette} (-1 to 1, higher is "
                         "better apart). Centres in standard deviations from the mean.",
                         "按标准化后的指标 {on} 聚为 {k} 类（随机种子 {seed}），按平均得分从高到低"
                         "排列；轮廓系数 {silhouette}（-1 到 1，越高越分明）。"
                         "类中心以距均值的标准差表示。"),
    "rp.cluster": ("Cluster", "类别"),
    "quality.none": ("No data-quality report (the data were given in memory).",
                     "无数据质量报告（数据直接来自内存）。"),
    "quality.clean": ("No issue found.", "未发现问题。"),
    "model": ("The model", "模型"),
    "model.tiers": ("Tiers", "等级"),
    # crindex export: the headers of the CRM import files
    "export.customer_id": ("Customer ID", "客户编号"),
    "export.score": ("Relationship score", "关系指数得分"),
    "export.tier": ("Tier", "客户等级"),
    "export.tier_label": ("Tier name", "等级名称"),
    "export.segment": ("Segment", "客户细分"),
    "export.strategy": ("Strategy", "维护策略"),
    "export.owner": ("Owner", "负责人"),
    "export.as_of": ("Scored on", "评分日期"),
    "all": ("all", "全部"),
    "footer": ("Generated by crindex {version}. Self-contained: no network needed to view.",
               "由 crindex {version} 生成。本文件自包含，无需联网即可查看。"),
}


def translator(lang: str) -> Callable[..., str]:
    """A function ``t(key, **fields)`` returning the text of ``key`` in ``lang``."""
    if lang not in LANGS:
        raise DataError.single(Reason.BAD_PARAMETER, f"language {lang!r} is not available",
                               "--lang", "use en or zh")
    index = LANGS.index(lang)

    def t(key: str, **fields: object) -> str:
        text = STRINGS[key][index]
        return text.format(**fields) if fields else text

    return t


#: the shipped tiers' names (crindex.model.spec.DEFAULT_TIERS and the example models)
TIER_WORDS: dict[str, tuple[str, str]] = {
    "core": ("Core", "核心客户"),
    "potential": ("Potential", "潜力客户"),
    "ordinary": ("Ordinary", "普通客户"),
    "at_risk": ("At risk", "风险客户"),
}


def tier_word(tier: str | None, label: str | None, lang: str) -> str:
    """A tier's name on a page in ``lang``.

    A model's own label is kept, except a shipped tier's default name, which is written in the
    page's language (``at_risk`` labelled "At risk" reads 风险客户 on a zh page). Never the id
    when a name is known.
    """
    if tier is None:
        return "-"
    words = TIER_WORDS.get(tier)
    if words is not None and (label is None or label in words or label == tier):
        return words[LANGS.index(lang)]
    return label or tier


#: how a normaliser is described, by method: (English, Chinese) with ``{field}`` slots
NORMALISER_WORDS: dict[str, tuple[str, str]] = {
    "range": ("linear from {min} (0 points) to {max} (100 points)",
              "线性：{min}（0 分）至 {max}（100 分）"),
    "range.lower": ("linear from {max} (0 points) down to {min} (100 points); lower is better",
                    "线性：{max}（0 分）至 {min}（100 分），越低越好"),
    "log_range": ("logarithmic from {min} (0 points) to {max} (100 points)",
                  "对数：{min}（0 分）至 {max}（100 分）"),
    "log_range.lower": ("logarithmic from {max} (0 points) down to {min} (100 points); lower "
                        "is better", "对数：{max}（0 分）至 {min}（100 分），越低越好"),
    "percentile": ("percentile rank among the customers", "在全部客户中的百分位排名"),
    "percentile.lower": ("percentile rank among the customers; lower is better",
                         "在全部客户中的百分位排名，越低越好"),
    "zscore": ("standard score, clipped at ±{clip}", "标准分（截断于 ±{clip}）"),
    "zscore.lower": ("standard score, clipped at ±{clip}; lower is better",
                     "标准分（截断于 ±{clip}），越低越好"),
    "points": ("{points} points per {per} from a base of {base}, at most {cap}",
               "每 {per} 得 {points} 分，基础分 {base}，最高 {cap}"),
    "identity": ("the raw value as the score (0-100)", "原始值直接作为得分（0-100）"),
    "bins": ("bins", "分档"),
    "bin": ("{range}: {points} points", "{range}：{points} 分"),
    "bin.out_of": ("points out of {out_of}", "满分 {out_of}"),
    "map": ("points by value", "按取值计分"),
    "default": ("otherwise {default}", "其他取值 {default}"),
    "below": ("< {value}", "< {value}"),
    "at_least": ("≥ {value}", "≥ {value}"),
    "between": ("{low} to < {high}", "{low} 至 < {high}"),
    "any": ("any value", "任意值"),
    "top": ("top {value}%", "前 {value}%"),
    "bottom": ("bottom {value}%", "后 {value}%"),
    "rest": ("the rest", "其余"),
    "at_most": ("≤ {value}", "≤ {value}"),
    "above": ("> {value}", "> {value}"),
    "list": ("{what}: {items}", "{what}：{items}"),
    "sep": ("; ", "；"),
}


def _n(value: object) -> str:
    """A number as written in a description: 1,000,000; 2.5; never 1000000.0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.6g}"


def describe_normaliser(norm: object, lang: str) -> str:
    """A normaliser's settings in words (``norm`` as dumped: a dict with ``method``).

    Every method the engine ships is described in ``lang``; a plug-in's method is written as
    its name with its settings as ``key value`` pairs, never as a Python dict.
    """
    i = LANGS.index(lang)
    if not isinstance(norm, dict):
        return str(norm)
    method = str(norm.get("method"))
    lower = "." + "lower" if norm.get("direction") == "lower" else ""
    fields = {k: _n(v) for k, v in norm.items() if not isinstance(v, list | dict)}
    if method == "bins":
        parts = []
        for b in norm.get("bins") or []:
            lo, hi = b.get("min"), b.get("max")
            if lo is not None and hi is not None:
                span = NORMALISER_WORDS["between"][i].format(low=_n(lo), high=_n(hi))
            elif lo is not None:
                span = NORMALISER_WORDS["at_least"][i].format(value=_n(lo))
            elif hi is not None:
                span = NORMALISER_WORDS["below"][i].format(value=_n(hi))
            else:
                span = NORMALISER_WORDS["any"][i]
            parts.append(NORMALISER_WORDS["bin"][i].format(range=span, points=_n(b.get("points"))))
        if norm.get("out_of") not in (None, 100, 100.0):
            parts.append(NORMALISER_WORDS["bin.out_of"][i].format(out_of=_n(norm["out_of"])))
        if norm.get("default") is not None:
            parts.append(NORMALISER_WORDS["default"][i].format(default=_n(norm["default"])))
        return NORMALISER_WORDS["list"][i].format(what=NORMALISER_WORDS["bins"][i],
                                                  items=NORMALISER_WORDS["sep"][i].join(parts))
    if method == "map":
        values = norm.get("values") or {}
        parts = [f"{k} = {_n(v)}" for k, v in values.items()]
        if norm.get("default") is not None:
            parts.append(NORMALISER_WORDS["default"][i].format(default=_n(norm["default"])))
        return NORMALISER_WORDS["list"][i].format(what=NORMALISER_WORDS["map"][i],
                                                  items=NORMALISER_WORDS["sep"][i].join(parts))
    if method == "points":
        fields = {"points": "1", "per": "1", "base": "0", "cap": "100", **fields}
    if method == "zscore":
        fields.setdefault("clip", "3")
    key = method + lower if method + lower in NORMALISER_WORDS else method
    if key in NORMALISER_WORDS:
        try:
            return NORMALISER_WORDS[key][i].format(**fields)
        except (KeyError, IndexError):
            pass
    settings = ", ".join(f"{k} {v}" for k, v in fields.items() if k != "method")
    return f"{method} ({settings})" if settings else method


def tier_rules(levels: list[dict[str, object]], lang: str) -> dict[str, str]:
    """Each tier's rule in words: ``≥ 90``, ``> 80``, ``top 10%``; the catch-all ``< 50``.

    ``levels`` as dumped (``id`` and the bound keys ``min``, ``above``, ``top``, ``bottom``).
    The catch-all of score tiers takes every score below the lowest bound.
    """
    i = LANGS.index(lang)
    out: dict[str, str] = {}
    lowest: tuple[float, str] | None = None
    for lv in levels:
        tid = str(lv["id"])
        for key, word in (("min", "at_least"), ("above", "above"), ("top", "top"),
                          ("bottom", "bottom")):
            value = lv.get(key)
            if isinstance(value, int | float):
                out[tid] = NORMALISER_WORDS[word][i].format(value=_n(value))
                if key in ("min", "above") and (lowest is None or value < lowest[0]):
                    lowest = (float(value), key)
                break
    for lv in levels:
        tid = str(lv["id"])
        if tid not in out:
            if lowest is None:
                out[tid] = NORMALISER_WORDS["rest"][i]
            else:
                word = "below" if lowest[1] == "min" else "at_most"
                out[tid] = NORMALISER_WORDS[word][i].format(value=_n(lowest[0]))
    return out
