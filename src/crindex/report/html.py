"""Self-contained HTML pages: the backtest report and the scoring report.

One file each, styles inline and charts as inline SVG (:mod:`crindex.report.svg`): no script,
no font or stylesheet fetched, so a page opens the same offline, from an e-mail attachment or a
file share. Both pages are rendered from the same plain dicts that are written as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from crindex.report import svg
from crindex.report.i18n import describe_normaliser, tier_rules, tier_word, translator
from crindex.report.palette import tier_colors

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",
"Noto Sans CJK SC",sans-serif;margin:24px auto;max-width:1140px;color:#111827;padding:0 16px}
h1{font-size:26px;margin:0 0 6px}h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid
#e5e7eb;padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}p.meta{color:#4b5563;margin:2px 0}
table{border-collapse:collapse;margin:8px 0 12px;font-size:13px}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f3f4f6}td.l,th.l{text-align:left}tr.flag td{background:#fee2e2}
.grid{display:flex;flex-wrap:wrap;gap:16px}.card{border:1px solid #e5e7eb;border-radius:6px;
padding:8px}.card h4{margin:0 0 4px;font-size:13px;color:#374151}
.ok{color:#166534}.warn{color:#92400e}.fail{color:#991b1b;font-weight:600}
.badge{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px}
.badge.ok{background:#dcfce7}.badge.warn{background:#fef3c7}.badge.fail{background:#fee2e2}
footer{margin-top:40px;color:#6b7280;font-size:12px}
"""

T = Callable[..., str]


def pct(value: float | None, digits: int = 1) -> str:
    """``0.1234`` -> ``12.3%``; ``None`` -> ``-``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.{digits}f}%"


def num(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def money(value: float | None) -> str:
    return num(value, 0) if value is None or abs(value) >= 100 else num(value, 2)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, left: int = 1,
          text: Sequence[int] = (), flagged: Sequence[bool] | None = None) -> str:
    """An HTML table, cells escaped.

    The first ``left`` columns and the columns listed in ``text`` are left-aligned (text);
    the others are right-aligned (numbers). Rows whose ``flagged`` entry is true are shaded.
    """
    lefts = set(range(left)) | set(text)
    out = ["<table><thead><tr>"]
    out += [f'<th class="{"l" if i in lefts else ""}">{escape(h)}</th>'
            for i, h in enumerate(headers)]
    out.append("</tr></thead><tbody>")
    for r, row in enumerate(rows):
        cls = ' class="flag"' if flagged and flagged[r] else ""
        out.append(f"<tr{cls}>")
        out += [f'<td class="{"l" if i in lefts else ""}">{escape(str(c))}</td>'
                for i, c in enumerate(row)]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def card(title: str, chart: str) -> str:
    return f'<div class="card"><h4>{escape(title)}</h4>{chart}</div>'


def page(title: str, body: Sequence[str], lang: str, t: T) -> str:
    from crindex import __version__

    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1>{''.join(body)}"
            f"<footer>{escape(t('footer', version=__version__))}</footer></body></html>\n")


def finding_text(check: dict[str, Any], t: T) -> str:
    """A backtest finding in the page's language (the JSON keeps the English message)."""
    key = f"check.{check['code']}"
    try:
        return t(key, **check["params"])
    except (KeyError, ValueError, TypeError):
        return str(check["message"])


def model_section(model: dict[str, Any], t: T, lang: str = "en") -> str:
    """The model as a table of dimensions, metrics and weights, then its tiers."""
    rows = []
    for d in model["dimensions"]:
        for m in d["metrics"]:
            rows.append([d["label"], m["label"], m["aggregate"], m["window"] or t("all"),
                         num(m["effective_weight"], 1),
                         describe_normaliser(m["normalise"], lang)])
    parts = [f"<h2>{escape(t('model'))}: {escape(model['name'])}</h2>"]
    if model.get("description"):
        parts.append(f'<p class="meta">{escape(model["description"])}</p>')
    parts.append(table([t("col.dimension"), t("col.metric"), t("col.aggregate"),
                        t("col.window"), t("col.weight"), t("col.normalise")], rows, left=4,
                       text=(5,)))
    weights = [m["effective_weight"] for d in model["dimensions"] for m in d["metrics"]]
    labels = [m["label"] for d in model["dimensions"] for m in d["metrics"]]
    parts.append(card(t("col.weight"), svg.bar_chart(labels, weights, title=t("col.weight"),
                                                     fmt=lambda v: f"{v:g}")))
    rules = tier_rules(model["tiers"], lang)
    tier_rows = [[tier_word(lv["id"], lv["label"], lang), rules[lv["id"]],
                  lv.get("strategy") or ""] for lv in model["tiers"]]
    parts.append(f"<h3>{escape(t('model.tiers'))}</h3>")
    parts.append(table([t("col.tier"), t("col.rule"), t("col.strategy")], tier_rows, left=3))
    return "".join(parts)


def quality_section(quality: dict[str, Any] | None, t: T) -> str:
    """The data-quality report: rows read, used and set aside per table, and each issue."""
    parts = [f"<h2>{escape(t('quality'))}</h2>"]
    if not quality:
        parts.append(f"<p>{escape(t('quality.none'))}</p>")
        return "".join(parts)
    tables = quality.get("tables", [])
    parts.append(table(
        [t("col.table"), t("col.source"), t("col.rows_read"), t("col.rows_used"),
         t("col.rows_quarantined")],
        [[q["table"], q.get("source") or "", num(q.get("rows_read")), num(q.get("rows_used")),
          num(q.get("rows_quarantined"))] for q in tables], left=2))
    issues = [i for q in tables for i in q.get("issues", [])]
    if issues:
        parts.append(table([t("col.table"), t("col.issue"), t("col.count")],
                           [[i["table"], i.get("meaning") or i["reason"], num(i["count"])]
                            for i in issues], left=2))
    else:
        parts.append(f"<p>{escape(t('quality.clean'))}</p>")
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# backtest


def render_backtest(report: dict[str, Any], lang: str = "en") -> str:
    """The backtest page from the dict of :func:`crindex.backtest.run.run_backtest`."""
    t = translator(lang)
    report = _tier_names(report, lang)
    model = report["model"]
    periods = report["periods"]
    rule = report["churn_rule"]
    split = report.get("holdout")
    intro = t("bt.intro.label", as_of=periods[0]["as_of"], **split) if split else \
        t("bt.intro", horizon=report["horizon"])
    body = [f'<p class="meta">{escape(intro)}</p>',
            f'<p class="meta">{escape(_rule_text(rule, t))}</p>']
    body.append(f"<h2>{escape(t('bt.findings'))}</h2><ul>")
    for c in sorted(report["checks"], key=lambda c: ("fail", "warn", "ok").index(c["level"])):
        body.append(f'<li><span class="badge {c["level"]}">{escape(t("level." + c["level"]))}'
                    f'</span> {escape(c["as_of"] or "")} {escape(finding_text(c, t))}</li>')
    body.append("</ul>")
    body.append(_summary(report, t))
    body.append(_over_time(report, t))
    for p in periods:
        body.append(_period(p, t, static=bool(split)))
    body.append(quality_section(report.get("quality"), t))
    body.append(model_section(model, t, lang))
    return page(t("bt.title", model=model["name"]), body, lang, t)


def _tier_names(report: dict[str, Any], lang: str) -> dict[str, Any]:
    """A copy of the backtest with every tier named in the page's language, never by its id.

    The tables, the charts, the tier order's words and the findings' ``tier`` / ``next``.
    """
    import copy

    report = copy.deepcopy(report)
    names = {lv["id"]: tier_word(lv["id"], lv["label"], lang) for lv in report["model"]["tiers"]}
    for rows in [p["tiers"] for p in report["periods"]] + [report["rolling"]["tiers"]]:
        for r in rows:
            r["label"] = names.get(r["tier"], r["label"])
    for p in report["periods"]:
        order = p["tier_order"]
        order["flagged_names"] = [names.get(x, x) for x in order["flagged"]]
        order["zero_ties"] = [[names.get(x, x) for x in pair] for pair in order["zero_ties"]]
    for c in report["checks"]:
        params = c.get("params") or {}
        for key in ("tier", "next"):
            if isinstance(params.get(key), str):
                params[key] = names.get(params[key], params[key])
    return report


def _rule_text(rule: dict[str, Any], t: T) -> str:
    if rule["kind"] == "label":
        return t("bt.rule.label", column=rule["column"])
    if rule["kind"] == "inactivity":
        key = "bt.rule.inactivity_end" if rule.get("lapse") == "at_horizon_end" else \
            "bt.rule.inactivity"
        return t(key, days=rule["days"])
    return t("bt.rule.churned_at")


def _order_text(order: dict[str, Any], t: T) -> str:
    flagged = order.get("flagged_names", order["flagged"])
    return t("ordered") if order["ordered"] else t("flagged", tiers=", ".join(flagged))


def _summary(report: dict[str, Any], t: T) -> str:
    psi_to = {p["to"]: p for p in report["rolling"]["psi"]}
    rows, flags = [], []
    for p in report["periods"]:
        a = p["auc"]
        psi = psi_to.get(p["as_of"])
        rows.append([p["as_of"], num(p["customers"]), num(p["churned"]), pct(p["churn_rate"]),
                     num(a["auc"]), f"{num(a['low'])} - {num(a['high'])}",
                     num(p["lift_10"], 2), num(psi["psi"]) if psi else "-",
                     _order_text(p["tier_order"], t)])
        flags.append(not p["tier_order"]["ordered"])
    return (f"<h2>{escape(t('bt.summary'))}</h2>"
            + table([t("col.as_of"), t("col.customers"), t("col.churned"), t("col.churn_rate"),
                     t("col.auc"), t("col.ci"), t("col.lift"), t("col.psi"),
                     t("col.tier_order")], rows, text=(8,), flagged=flags))


def _over_time(report: dict[str, Any], t: T) -> str:
    roll = report["rolling"]
    parts = [f"<h2>{escape(t('bt.over_time'))}</h2>"]
    if len(roll["as_of"]) < 2:
        parts.append(f"<p>{escape(t('bt.no_periods'))}</p>")
        return "".join(parts)
    dates = roll["as_of"]
    tiers = roll["tiers"]
    colors = tier_colors([s["tier"] for s in tiers])
    tier_colours = [colors[s["tier"]] for s in tiers]
    charts = [
        card(t("bt.auc_over_time"), svg.line_chart(
            dates, [("AUC", roll["auc"])], title=t("bt.auc_over_time"), fmt=lambda v: f"{v:.2f}")),
        card(t("bt.core_share"), svg.line_chart(
            dates, [(tiers[0]["label"], roll["core_share"])], title=t("bt.core_share"),
            fmt=pct, colors=tier_colours[:1])),
        card(t("bt.churn_by_tier_time"), svg.line_chart(
            dates, [(s["label"], s["churn_rate"]) for s in tiers],
            title=t("bt.churn_by_tier_time"), fmt=pct, colors=tier_colours)),
        card(t("bt.revenue_by_tier_time"), svg.line_chart(
            dates, [(s["label"], s["revenue_per_customer"]) for s in tiers],
            title=t("bt.revenue_by_tier_time"), fmt=money, colors=tier_colours)),
    ]
    parts.append(f'<div class="grid">{"".join(charts)}</div>')
    parts.append(f"<h3>{escape(t('bt.psi'))}</h3>")
    parts.append(table([t("col.from"), t("col.to"), t("col.psi"), t("col.verdict")],
                       [[p["from"], p["to"], num(p["psi"]), t("psi." + p["label"])]
                        for p in roll["psi"]], left=2, text=(3,),
                       flagged=[p["label"] != "stable" for p in roll["psi"]]))
    return "".join(parts)


def _period(p: dict[str, Any], t: T, static: bool = False) -> str:
    head = t("bt.period.label", as_of=p["as_of"]) if static else \
        t("bt.period", as_of=p["as_of"], end=p["end"])
    parts = [f"<h2>{escape(head)}</h2>"]
    order = p["tier_order"]
    flagged = set(order["flagged"])
    tiers = p["tiers"]
    palette = tier_colors([r["tier"] for r in tiers])
    colors = [palette[r["tier"]] for r in tiers]  # flagged tiers: shaded rows in the table
    parts.append(table(
        [t("col.tier"), t("col.customers"), t("col.share"), t("col.churned"),
         t("col.churn_rate"), t("col.mean_score"), t("col.revenue"), t("col.revenue_share"),
         t("col.revenue_per_customer")],
        [[r["label"], num(r["customers"]), pct(r["share_customers"]), num(r["churned"]),
          pct(r["churn_rate"]) if r["customers"] else t("empty"), num(r.get("mean_score"), 1),
          money(r["revenue"]), pct(r["share_revenue"]), money(r["revenue_per_customer"])]
         for r in tiers], flagged=[r["tier"] in flagged for r in tiers]))
    if order["zero_ties"]:
        ties = "; ".join(" = ".join(pair) for pair in order["zero_ties"])
        parts.append(f'<p class="meta">{escape(t("bt.zero_ties", tiers=ties))}</p>')
    deciles = p["deciles"]
    calib = p["calibration"]
    metrics = p["metrics"]
    charts = [
        card(t("bt.churn_by_tier"), svg.bar_chart(
            [r["label"] for r in tiers], [r["churn_rate"] for r in tiers],
            title=t("bt.churn_by_tier"), fmt=pct, colors=colors)),
        card(t("bt.deciles"), svg.bar_chart(
            [str(r["decile"]) for r in deciles], [r["churn_rate"] for r in deciles],
            title=t("bt.deciles"), fmt=pct)),
        card(t("bt.calibration"), svg.bar_chart(
            [r["band"] for r in calib], [r["churn_rate"] for r in calib],
            title=t("bt.calibration"), fmt=pct)),
        card(t("bt.signal"), svg.bar_chart(
            [m["id"] for m in metrics], [m["auc"] for m in metrics], title=t("bt.signal"),
            fmt=lambda v: f"{v:.2f}",
            colors=[svg.FLAG if (m["auc"] or 0.5) < 0.5 else svg.PALETTE[1] for m in metrics])),
    ]
    parts.append(f'<div class="grid">{"".join(charts)}</div>')
    parts.append(f"<h3>{escape(t('bt.deciles'))}</h3>")
    parts.append(table(
        [t("col.decile"), t("col.score_range"), t("col.customers"), t("col.churned"),
         t("col.churn_rate"), "lift", t("col.revenue_per_customer")],
        [[r["decile"], f"{num(r['min_score'], 1)} - {num(r['max_score'], 1)}",
          num(r["customers"]), num(r["churned"]), pct(r["churn_rate"]), num(r["lift"], 2),
          money(r["revenue_per_customer"])] for r in deciles]))
    parts.append(f"<h3>{escape(t('bt.calibration'))}</h3>")
    parts.append(table(
        [t("col.band"), t("col.customers"), t("col.mean_score"), t("col.churn_rate"),
         t("col.revenue_per_customer")],
        [[r["band"], num(r["customers"]), num(r["mean_score"], 1), pct(r["churn_rate"]),
          money(r["revenue_per_customer"])] for r in calib]))
    parts.append(f"<h3>{escape(t('bt.signal'))}</h3>")
    parts.append(table(
        [t("col.metric"), t("col.dimension"), t("col.weight"), t("col.auc"),
         t("col.coverage")],
        [[m["label"], m["dimension"], num(m["weight"], 1), num(m["auc"]), pct(m["coverage"])]
         for m in metrics] + [[d["label"], "", "", num(d["auc"]), ""] for d in p["dimensions"]],
        left=2, flagged=[(m["auc"] or 0.5) < 0.5 for m in metrics] + [False] * len(
            p["dimensions"])))
    parts.append(f"<h3>{escape(t('bt.metric_deciles'))}</h3>")
    parts.append(table(
        [t("col.metric"), *[str(i) for i in range(1, 11)]],
        [[m["label"], *[pct(r["churn_rate"]) if r["customers"] else "" for r in
                        m.get("deciles") or []]] for m in metrics if m.get("deciles")],
        left=1))
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# scoring report


def render_report(data: dict[str, Any], lang: str = "en") -> str:
    """The scoring report page from the dict of :func:`crindex.report.scoring.report_figures`."""
    t = translator(lang)
    model = data["model"]
    meta = t("rp.meta", as_of=data["as_of"], customers=f"{data['customers']:,}",
             mean=num(data["mean_score"], 1), coverage=num(data["mean_coverage"], 1))
    body = [f'<p class="meta">{escape(meta)}</p>']
    tiers = data["tiers"]
    body.append(f"<h2>{escape(t('rp.tiers'))}</h2>")
    body.append(table(
        [t("col.tier"), t("col.customers"), t("col.share"), t("col.mean_score"),
         t("col.strategy")],
        [[tier_word(r["tier"], r["label"], lang), num(r["customers"]), pct(r["share"]),
          num(r["mean_score"], 1), r["strategy"] or ""] for r in tiers], left=1, text=(4,)))
    hist = data["histogram"]
    dims = data["dimensions"]
    charts = [
        card(t("rp.tiers"), svg.bar_chart(
            [tier_word(r["tier"], r["label"], lang) for r in tiers],
            [r["customers"] for r in tiers], title=t("rp.tiers"),
            colors=list(tier_colors([r["tier"] for r in tiers]).values()))),
        card(t("rp.histogram"), svg.bar_chart(
            [f"{b['low']:g}" for b in hist], [b["customers"] for b in hist],
            title=t("rp.histogram"))),
        card(t("rp.dimensions"), svg.bar_chart(
            [d["label"] for d in dims], [d["mean"] for d in dims], title=t("rp.dimensions"),
            fmt=lambda v: f"{v:.1f}", colors=[svg.PALETTE[1]] * len(dims))),
    ]
    body.append(f'<div class="grid">{"".join(charts)}</div>')
    body.append(f"<h2>{escape(t('rp.metrics'))}</h2>")
    body.append(table(
        [t("col.dimension"), t("col.metric"), t("col.weight"), t("col.mean_score"),
         t("rp.missing")],
        [[m["dimension"], m["label"], num(m["weight"], 1), num(m["mean_score"], 1),
          pct(m["missing_share"])] for m in data["metrics"]], left=2))
    body.append(_clusters(data.get("clusters"), t))
    body.append(_movers(data.get("movers"), t, lang, {r["tier"]: r["label"] for r in tiers}))
    body.append(quality_section(data.get("quality"), t))
    body.append(model_section(model, t, lang))
    return page(t("rp.title", model=model["name"]), body, lang, t)


def _clusters(clusters: dict[str, Any] | None, t: T) -> str:
    """The k-means clusters, best first, and their silhouette (none without ``clusters:``)."""
    if not clusters:
        return ""
    on = clusters["on"]
    meta = t("rp.clusters.meta", k=clusters["k"], on=", ".join(on), seed=clusters["seed"],
             silhouette=num(clusters["silhouette"], 3))
    parts = [f"<h2>{escape(t('rp.clusters'))}</h2>", f'<p class="meta">{escape(meta)}</p>']
    parts.append(table(
        [t("rp.cluster"), t("col.customers"), t("col.mean_score"), *on],
        [[c["name"], num(c["customers"]), num(c["mean_score"], 1),
          *[num(c["center"][m], 2) for m in on]] for c in clusters["clusters"]], left=1))
    return "".join(parts)


def _movers(movers: dict[str, Any] | None, t: T, lang: str, labels: dict[str, str]) -> str:
    parts = [f"<h2>{escape(t('rp.movers'))}</h2>"]
    if not movers or not movers.get("available"):
        if (movers or {}).get("code") == "no_store":
            parts.append(f"<p>{escape(t('rp.movers.no_store'))}</p>")
            return "".join(parts)
        reason = (movers or {}).get("reason") or "-"
        parts.append(f"<p>{escape(t('rp.movers.none', reason=reason))}</p>")
        return "".join(parts)
    parts.append(f'<p class="meta">{escape(t("rp.movers.since", as_of=movers["previous_as_of"]))}'
                 "</p>")
    heads = [t("col.customer"), t("col.score"), t("col.previous"), t("col.change"),
             t("col.tier"), t("col.previous_tier"), t("col.why")]
    for key, title in (("risers", "rp.risers"), ("fallers", "rp.fallers")):
        parts.append(f"<h3>{escape(t(title))}</h3>")
        parts.append(table(heads, [[m["customer_id"], num(m["score"], 1),
                                    num(m["previous_score"], 1), f"{m['change']:+.1f}",
                                    tier_word(m["tier"], labels.get(m["tier"]), lang),
                                    tier_word(m["previous_tier"], labels.get(m["previous_tier"]),
                                              lang),
                                    m.get("why", "")]
                                   for m in movers[key]], text=(6,)))
    return "".join(parts)


def write_backtest(report: dict[str, Any], out_dir: str | Path, lang: str = "en") -> list[Path]:
    """Write ``backtest.json`` and the self-contained ``backtest.html`` into ``out_dir``."""
    from crindex.output import dumps
    from crindex.util import atomic_write_text

    out = Path(out_dir)
    html = render_backtest(report, lang)
    paths = [out / "backtest.json", out / "backtest.html"]
    atomic_write_text(paths[0], dumps(report) + "\n")
    atomic_write_text(paths[1], html)
    return paths
