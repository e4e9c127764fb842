"""The dashboard: server-rendered pages (Jinja2, inline SVG charts, no script, no CDN), en/zh.

Pages live under ``/ui``: This week (the landing page: drops, rises, tier moves, new alerts),
the portfolio overview, the customer list (search, filter, sort by score or change, export to
CSV or Excel), the alerts (filters, paging, bulk acknowledge or resolve), a customer's page
(evaluation table, score history, alerts, adjustment form), the model's dimensions, weights,
normalisers and tiers, and the model editor (what-if before saving; saving needs admin).
A snapshot date picker in the header chooses the snapshot This week and the list show.
People sign in with an API token; the cookie then holds a server-side
session (table ``service_sessions``: revocable, expiring after 12 hours, ended by signing out,
HttpOnly, SameSite=Strict, Secure over TLS), never the token. Each page checks the token's
scope like the API does (read to look, write to adjust or acknowledge).

Every form carries a CSRF token (the session's; on the login form, one signed for a pre-session
cookie), and every POST must come from this site (``Origin``, else ``Referer``): a page of
another origin, even on the same host, cannot post for a signed-in user nor sign them in.

The language is ``?lang=en|zh`` (remembered in a cookie), else the browser's
``Accept-Language``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from crindex.report.palette import NO_TIER, css_class, tier_css
from crindex.report.svg import as_date, bar_chart, line_chart
from crindex.service.auth import TokenInfo

SESSION_COOKIE = "crindex_session"
LOGIN_COOKIE = "crindex_login"
LANG_COOKIE = "crindex_lang"
LANGS = ("en", "zh")
PER_PAGE = 50

#: key -> (English, Chinese)
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Customer Relationship Index", "客户关系指数"),
    "portfolio": ("Portfolio", "客户组合"),
    "customers": ("Customers", "客户"),
    "model": ("Model", "模型"),
    "login": ("Sign in", "登录"),
    "logout": ("Sign out", "退出"),
    "token": ("API token", "API 令牌"),
    "login_hint": ("Paste a token made by `crindex token create`.",
                   "粘贴由 `crindex token create` 生成的令牌。"),
    "bad_token": ("This token is not valid (unknown or revoked).", "令牌无效（不存在或已撤销）。"),
    "bad_form": ("This form is out of date or came from another site; reload the page and "
                 "try again.", "表单已过期或来自其他站点，请刷新页面后重试。"),
    "as_of": ("as of", "评估日"),
    "no_snapshot": ("The store holds no snapshot of this model yet.", "存储中还没有该模型的快照。"),
    "customers_n": ("Customers", "客户数"),
    "mean_score": ("Mean CRI", "平均指数"),
    "change": ("Change", "变化"),
    "upgraded": ("Moved up a tier", "等级上升"),
    "downgraded": ("Moved down a tier", "等级下降"),
    "open_alerts": ("Open alerts", "未处理预警"),
    "tier_distribution": ("Customers per tier", "各等级客户数"),
    "mean_trend": ("Average CRI over time", "平均指数走势"),
    "share_trend": ("Tier shares over time (%)", "各等级占比走势（%）"),
    "alerts": ("Alerts", "预警"),
    "no_alerts": ("No open alerts.", "没有未处理的预警。"),
    "severity": ("Severity", "级别"),
    "status": ("Status", "状态"),
    "message": ("Message", "内容"),
    "customer": ("Customer", "客户"),
    "owner": ("Owner", "负责人"),
    "segment": ("Segment", "细分"),
    "rfm_segment": ("RFM segment", "RFM 细分"),
    "flags": ("Flags", "标记"),
    "flags_note": ("Shown beside the score, never part of it.", "显示在分数旁，不计入分数。"),
    "ack": ("Acknowledge", "确认"),
    "search": ("Search id", "搜索编号"),
    "tier": ("Tier", "等级"),
    "all": ("All", "全部"),
    "min_score": ("Min score", "最低分"),
    "max_score": ("Max score", "最高分"),
    "sort": ("Sort", "排序"),
    "sort_-score": ("Score, high to low", "得分从高到低"),
    "sort_score": ("Score, low to high", "得分从低到高"),
    "sort_customer_id": ("Id", "编号"),
    "sort_-customer_id": ("Id, descending", "编号倒序"),
    "apply": ("Apply", "筛选"),
    "score": ("Score", "得分"),
    "adjusted": ("Adjusted", "调整后"),
    "coverage": ("Coverage", "数据覆盖"),
    "found": ("{n} customers", "共 {n} 位客户"),
    "page": ("Page {page} of {pages}", "第 {page} / {pages} 页"),
    "previous": ("Previous", "上一页"),
    "next": ("Next", "下一页"),
    "strategy": ("Strategy", "策略"),
    "dimensions": ("Dimensions", "维度"),
    "evaluation": ("Evaluation table", "评价表"),
    "dimension": ("Dimension", "维度"),
    "metric": ("Metric", "指标"),
    "source": ("Data source", "数据来源"),
    "raw": ("Raw value", "原始值"),
    "weight": ("Weight", "权重"),
    "weighted": ("Weighted score", "加权得分"),
    "since_last": ("Since last snapshot", "较上期"),
    "total": ("Total", "合计"),
    "missing": ("missing", "缺失"),
    "history": ("Score history", "得分历史"),
    "adjustments": ("Adjustments", "人工调整"),
    "no_adjustments": ("No adjustments.", "没有人工调整。"),
    "points": ("Points", "分数"),
    "reason": ("Reason", "原因"),
    "expires": ("Expires", "失效日"),
    "made_by": ("By", "操作人"),
    "made_at": ("When", "时间"),
    "in_force": ("In force", "生效中"),
    "revoked": ("revoked", "已撤销"),
    "revoke": ("Revoke", "撤销"),
    "add_adjustment": ("Adjust this score", "调整该客户得分"),
    "keep_tier": ("(keep)", "（不变）"),
    "save": ("Save", "保存"),
    "saved": ("Saved.", "已保存。"),
    "need_write": ("Adjusting needs a token with the write scope.",
                   "调整需要具有 write 权限的令牌。"),
    "not_found": ("Not found", "未找到"),
    "model_page": ("Dimensions and weights", "维度与权重"),
    "normalise": ("Normalisation", "标准化"),
    "window": ("Window", "时间窗"),
    "tiers": ("Tiers", "等级"),
    "bound": ("From score", "分数线"),
    "weights_chart": ("Weight of each metric in the total (%)", "各指标在总分中的权重（%）"),
    "error": ("Something went wrong", "出错了"),
    "next_tier": ("Path to the next tier", "升级路径"),
    "next_tier_to": ("To reach {tier} (score {op} {bound}): {gap} points to go",
                     "升到 {tier}（得分 {op} {bound}）还差 {gap} 分"),
    "change_points": ("Adds", "加分"),
    "change_to": ("Change", "调整"),
    "why_changed": ("Why the score changed", "得分变化原因"),
    "why_since": ("Since {as_of}: {change} points", "自 {as_of} 起：{change} 分"),
    "why_kind": ("Kind", "类别"),
    "why_what": ("What", "内容"),
    "kind_data": ("data", "数据"),
    "kind_model": ("model", "模型"),
    "kind_adjustment": ("adjustment", "人工调整"),
    "kind_rest": ("rest", "其余"),
    "this_week": ("This week", "本周"),
    "since": ("Since the snapshot of {date}", "与 {date} 的快照相比"),
    "no_previous": ("There is no earlier snapshot to compare with.", "没有更早的快照可供对比。"),
    "mine": ("My accounts ({owner})", "我的客户（{owner}）"),
    "everyone": ("All accounts", "全部客户"),
    "show_all": ("Show all accounts", "查看全部客户"),
    "show_mine": ("Show my accounts", "只看我的客户"),
    "drops": ("Biggest drops", "下降最多"),
    "rises": ("Biggest rises", "上升最多"),
    "no_drops": ("No score fell.", "没有客户得分下降。"),
    "no_rises": ("No score rose.", "没有客户得分上升。"),
    "why": ("Why", "原因"),
    "new_alerts": ("New alerts", "新预警"),
    "no_new_alerts": ("No alert opened on this snapshot.", "本期没有新预警。"),
    "tier_moves": ("Tier moves", "等级变动"),
    "no_moves": ("No customer changed tier.", "没有客户变动等级。"),
    "from_tier": ("From", "原等级"),
    "to_tier": ("To", "新等级"),
    "move_up": ("up", "上升"),
    "move_down": ("down", "下降"),
    "compared": ("{n} customers compared", "共对比 {n} 位客户"),
    "name": ("Name", "名称"),
    "previous_score": ("Previous", "上期得分"),
    "sort_change": ("Change, biggest drop first", "变化：下降最多在前"),
    "sort_-change": ("Change, biggest rise first", "变化：上升最多在前"),
    "alert_status": ("Alerts", "预警"),
    "with_alerts": ("With open alerts", "有未处理预警"),
    "without_alerts": ("Without open alerts", "无未处理预警"),
    "export_csv": ("Export CSV", "导出 CSV"),
    "export_xlsx": ("Export Excel", "导出 Excel"),
    "snapshot": ("Snapshot", "快照"),
    "go": ("Show", "查看"),
    "latest": ("latest", "最新"),
    "past_snapshot": ("An earlier snapshot: computed scores and tiers (adjustments apply to the "
                      "latest only).",
                      "较早的快照：显示计算得分与等级（人工调整仅作用于最新快照）。"),
    "rule": ("Rule", "规则"),
    "resolve": ("Resolve", "解决"),
    "selected": ("Selected alerts", "所选预警"),
    "bulk_reason": ("Reason (kept with each alert)", "原因（随每条预警保存）"),
    "bulk_done": ("{n} alerts {status}.", "已处理 {n} 条预警（{status}）。"),
    "bulk_none": ("Tick at least one alert.", "请至少勾选一条预警。"),
    "bulk_reason_needed": ("Give a reason.", "请填写原因。"),
    "status_open": ("open", "未处理"),
    "status_acknowledged": ("acknowledged", "已确认"),
    "status_resolved": ("resolved", "已解决"),
    "severity_high": ("high", "高"),
    "severity_critical": ("critical", "严重"),
    "severity_medium": ("medium", "中"),
    "severity_warning": ("warning", "警告"),
    "severity_low": ("low", "低"),
    "severity_info": ("info", "提示"),
    "alerts_total": ("{n} alerts", "共 {n} 条预警"),
    "unscored": ("(unscored)", "（未评分）"),
    "edit_model": ("Edit the model", "编辑模型"),
    "versions": ("Versions saved here", "在此保存的版本"),
    "model_hash": ("Model hash", "模型哈希"),
    "weights": ("Weights and normalisation", "权重与标准化"),
    "lower_bound": ("0 points at", "0 分对应"),
    "upper_bound": ("100 points at", "100 分对应"),
    "from": ("From", "自"),
    "below_word": ("Below", "低于"),
    "catch_all": ("every other score", "其余得分"),
    "preview": ("Preview the effect", "预览效果"),
    "save_model": ("Save the model", "保存模型"),
    "need_admin": ("You can try changes here; saving the model needs a token with the admin "
                   "scope.", "可在此试算修改；保存模型需要具有 admin 权限的令牌。"),
    "what_if": ("What this change does", "修改效果"),
    "what_if_on": ("On the {n} customers of the snapshot of {date}.",
                   "基于 {date} 快照的 {n} 位客户。"),
    "sampled": ("(an even sample of the {of})", "（从 {of} 位中均匀抽样）"),
    "changed_scores": ("{n} scores change", "{n} 位客户得分变化"),
    "before": ("Now", "当前"),
    "after": ("Edited", "修改后"),
    "yaml_diff": ("Changes to the model file", "模型文件的改动"),
    "no_change": ("Nothing changed yet.", "尚无改动。"),
    "churn_auc": ("Churn AUC (static label)", "流失 AUC（静态标签）"),
    "model_saved": ("Saved as version {version} of {path}; it scores the next run.",
                    "已保存为 {path} 的第 {version} 版；下次评分时生效。"),
}


def translator(lang: str) -> Any:
    index = LANGS.index(lang)

    def t(key: str, **fields: Any) -> str:
        text = WORDS[key][index]
        return text.format(**fields) if fields else text

    return t


def fmt(value: Any, digits: int = 1) -> str:
    """A number for people: ``-`` when missing, thousands separated, fixed decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"
    return str(value)


_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True,
                   lstrip_blocks=True)
_ENV.filters["num"] = fmt
# an id as one path segment: `/` encoded too, so that `a/../b` is not resolved by the browser
_ENV.filters["segment"] = lambda v: quote(str(v), safe="")
_ENV.filters["signed"] = lambda v, d=2: "-" if v is None else f"{v:+.{d}f}"
_ENV.filters["tier_class"] = css_class
# a number as typed in a form: 150000, 2.5 (never 150000.0)
_ENV.filters["plain"] = lambda v: v if not isinstance(v, float) else (
    str(int(v)) if v.is_integer() else f"{v:.10g}")
_ENV.filters["date"] = lambda v: "" if v is None else as_date(v)
_ENV.filters["moment"] = lambda v: "" if v is None else str(v).replace("T", " ")[:19]


def language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in LANGS:
        return str(asked)
    accept = request.headers.get("accept-language", "")
    return "zh" if accept.lower().startswith("zh") else "en"


def word(t: Any, lang: str, prefix: str, value: Any) -> str:
    """A value of a closed vocabulary (a status, a severity) in the page's language."""
    key = f"{prefix}_{value}"
    return t(key) if key in WORDS else ("-" if value is None else str(value))


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    from crindex.report.i18n import tier_word

    lang = language(request)
    t = translator(lang)
    other = "en" if lang == "zh" else "zh"
    params = dict(request.query_params)
    params["lang"] = other
    cache = request.app.state.cache
    context.setdefault("csrf", getattr(request.state, "csrf", ""))
    labels = cache.tier_labels
    body = _ENV.get_template(template).render(
        t=t, lang=lang, other_lang=other, other_url=f"{request.url.path}?{urlencode(params)}",
        cache=cache, path=request.url.path,
        tl=lambda tier: tier_word(tier, labels.get(tier), lang),
        w=lambda prefix, value: word(t, lang, prefix, value),
        dates=cache.snapshot_dates(), picked=request.query_params.get("as_of", ""),
        keep={k: v for k, v in request.query_params.items()
              if k not in ("as_of", "page", "lang")}, **context)
    response = HTMLResponse(body, status_code=status)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict",
                            secure=over_tls(request))
    return response


def over_tls(request: Request) -> bool:
    """True when the browser talks TLS to us (directly, or to a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def own_origin(request: Request) -> str:
    scheme = "https" if over_tls(request) else request.url.scheme
    return f"{scheme}://{request.headers.get('host', '')}"


def same_origin(request: Request) -> bool:
    """True when the request comes from a page of this site (``Origin``, else ``Referer``).

    A request with neither is refused: every browser sends ``Origin`` with a form POST.
    """
    mine = own_origin(request)
    origin = request.headers.get("origin")
    if origin is not None:
        return hmac.compare_digest(origin, mine)
    referer = request.headers.get("referer", "")
    return referer == mine or referer.startswith(mine + "/")


def refused_form(request: Request) -> Response:
    t = translator(language(request))
    return render(request, "error.html", 403, message=t("bad_form"), hint="")


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                        secure=over_tls(request), path="/ui")


async def signed_in(request: Request, scope: str = "read") -> TokenInfo | Response:
    """The token of the session cookie (with ``scope``), or the response to send instead.

    The session's CSRF token is left in ``request.state.csrf`` for the page's forms.
    """
    from starlette.concurrency import run_in_threadpool

    from crindex.service.app import ApiError
    app = request.app
    cookie = request.cookies.get(SESSION_COOKIE)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    session = await run_in_threadpool(app.state.sessions.find, app.state.cache.store, cookie) \
        if cookie else None
    info = app.state.auth.by_id(session.token_id) if session else None
    if session is None or info is None:  # no, ended or expired session, or revoked token
        return RedirectResponse(f"/ui/login?next={quote(target)}", status_code=303)
    request.state.csrf = session.csrf
    try:
        return app.state.auth.allow(info, scope)
    except ApiError as exc:
        return render(request, "error.html", exc.status, message=exc.message, hint=exc.hint)


async def posted(request: Request, scope: str) -> tuple[TokenInfo, dict[str, str]] | Response:
    """A dashboard POST: signed in with ``scope``, from this site, with the session's token."""
    who = await signed_in(request, scope)
    if isinstance(who, Response):
        return who
    fields = await form(request)
    if not same_origin(request) or not hmac.compare_digest(
            fields.get("csrf", ""), request.state.csrf):
        return refused_form(request)
    return who, fields


def login_token(secret: str, nonce: str) -> str:
    """The login form's CSRF token: the pre-session cookie's nonce signed with the server key."""
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form body (the only kind these pages send)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1].strip() for k, v in parse_qs(body, keep_blank_values=True).items()}


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/ui") and "//" not in target else "/ui/"


def portfolio_charts(data: dict[str, Any], t: Any, palette: dict[str, str]) -> dict[str, str]:
    """The overview's SVG charts: tier distribution, mean CRI trend, tier shares trend."""
    charts: dict[str, str] = {}
    tiers = [x for x in data["tiers"] if x["tier"] is not None]
    colors = [palette.get(x["tier"], NO_TIER) for x in tiers]
    if tiers:
        charts["tiers"] = bar_chart([x["label"] for x in tiers],
                                    [float(x["customers"]) for x in tiers],
                                    title=t("tier_distribution"), fmt=lambda v: f"{v:,.0f}",
                                    colors=colors)
    trend = data["trend"]
    if trend:
        dates = [p["as_of"] for p in trend]
        charts["mean"] = line_chart(dates, [(t("mean_score"), [p["mean_score"] for p in trend])],
                                    title=t("mean_trend"), fmt=lambda v: f"{v:.1f}")
        charts["shares"] = line_chart(
            dates, [(x["label"], [p.get(x["tier"]) for p in trend]) for x in tiers],
            title=t("share_trend"), fmt=lambda v: f"{v:.0f}", colors=colors)
    return charts


def score_thresholds(model: Any, labels: dict[str, str]) -> list[tuple[str, float]]:
    """The lines a score chart draws: each bounded score tier's lower bound (``≥ 90 Core``)."""
    if model is None or model.tiers.by != "score":
        return []
    return [(f"{'≥' if r.op == '>=' else '>'} {r.bound:g} {labels.get(r.tier, r.tier)}",
             r.bound) for r in model.tiers.score_rules()]


def install_pages(app: FastAPI) -> None:
    """Add the dashboard's routes to ``app`` (not in the OpenAPI description)."""
    from crindex.service.app import AdjustmentBody, ApiError, ack, adjust, set_statuses
    from crindex.service.versions import model_versions, save_model

    cache = app.state.cache

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/ui/", status_code=303)

    from starlette.concurrency import run_in_threadpool

    from crindex.service.app import client_of
    from crindex.service.auth import SESSION_HOURS, create_session, end_session

    def login_form(request: Request, status: int = 200, **context: Any) -> Response:
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = render(request, "login.html", status,
                          csrf=login_token(app.state.secret, nonce), **context)
        set_cookie(request, response, LOGIN_COOKIE, nonce, 3600)
        return response

    @app.get("/ui/tiers.css", include_in_schema=False)
    async def tiers_css() -> Response:
        return Response(tier_css(cache.tier_colors), media_type="text/css")

    @app.get("/ui/login", include_in_schema=False)
    async def login_page(request: Request) -> Response:
        return login_form(request, next=_safe_next(request.query_params.get("next")))

    @app.post("/ui/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        fields = await form(request)
        target = _safe_next(fields.get("next"))
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not same_origin(request) or not nonce or not hmac.compare_digest(
                fields.get("csrf", ""), login_token(app.state.secret, nonce)):
            return refused_form(request)  # login CSRF: signing someone in as someone else
        token = fields.get("token", "")
        try:
            info = await app.state.auth.check(token, "read", client_of(request))
        except ApiError as exc:
            if exc.status == 429:
                return render(request, "error.html", 429, message=exc.message, hint="")
            return login_form(request, 401, error=True, next=target)
        session_id, _ = await run_in_threadpool(create_session, cache.store, info.token_id)
        response = RedirectResponse(target, status_code=303)
        set_cookie(request, response, SESSION_COOKIE, session_id, int(SESSION_HOURS * 3600))
        response.delete_cookie(LOGIN_COOKIE, path="/ui")
        return response

    @app.post("/ui/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        done = await posted(request, "read")
        if isinstance(done, Response):
            return done
        app.state.sessions.forget(request.cookies[SESSION_COOKIE])
        await run_in_threadpool(end_session, cache.store, request.cookies[SESSION_COOKIE])
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/ui")
        return response

    def picked_date(request: Request) -> str | None:
        """The snapshot date asked for (``?as_of=``), when the store holds one of that date."""
        asked = request.query_params.get("as_of", "")
        return asked if asked in cache.snapshot_dates() else None

    def mine(request: Request, who: TokenInfo) -> list[str]:
        """The owners whose accounts a person sees first: their own, when they own any.

        A token is someone's when its name is an owner of the data (``crindex token create
        --name <owner>``); ``?mine=0`` shows everyone's.
        """
        snap = cache.snap
        if request.query_params.get("mine") == "0" or snap is None:
            return []
        return [who.name] if who.name in snap.owners else []

    def with_reasons(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each mover with the reason its score moved, when the customer's document has one."""
        for item in items:
            doc = cache.customer(item["customer_id"]) or {}
            why = doc.get("why_changed")
            if isinstance(why, dict):
                why = why.get("summary") or why.get("text")
            elif isinstance(why, list):
                why = "; ".join(str(w.get("text") or w.get("label") or w) if isinstance(
                    w, dict) else str(w) for w in why[:2])
            item["why"] = why or ""
        return items

    @app.get("/ui/", include_in_schema=False)
    async def this_week(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        owners = mine(request, who)
        data = cache.this_week(picked_date(request), owners)
        with_reasons(data["drops"])
        with_reasons(data["rises"])
        return render(request, "week.html", who=who, data=data, owners=owners,
                      can_own=cache.snap is not None and who.name in cache.snap.owners)

    @app.get("/ui/portfolio", include_in_schema=False)
    async def overview(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        data = cache.portfolio()
        lang = language(request)
        t = translator(lang)
        from crindex.report.i18n import tier_word

        for x in data["tiers"]:
            x["label"] = tier_word(x["tier"], x["label"], lang) if x["tier"] else t("unscored")
        open_alerts = cache.alert_list(statuses=("open",), per_page=20)
        return render(request, "portfolio.html", who=who, data=data,
                      charts=portfolio_charts(data, t, cache.tier_colors), alerts=open_alerts,
                      can_write=who.allows("write"))

    def list_filters(request: Request) -> dict[str, Any]:
        """The customer list's filters from the URL (unknown values dropped, never an error)."""
        qp = request.query_params
        snap = cache.snap
        tiers = snap.tiers if snap else []
        owners = snap.owners if snap else []
        segments = snap.segments if snap else []
        rfm_segments = snap.rfm_segments if snap else []
        from crindex.service.cache import CUSTOMER_SORTS

        def number(name: str) -> float | None:
            try:
                value = float(qp.get(name, ""))
            except ValueError:
                return None
            return value if 0 <= value <= 100 else None

        alerts = qp.get("alerts", "")
        return {"q": qp.get("q", "").strip()[:200],
                "tier": qp.get("tier") if qp.get("tier") in tiers else "",
                "owner": qp.get("owner") if qp.get("owner") in owners else "",
                "segment": qp.get("segment") if qp.get("segment") in segments else "",
                "rfm_segment": qp.get("rfm_segment") if qp.get("rfm_segment") in rfm_segments
                else "",
                "min_score": number("min_score"), "max_score": number("max_score"),
                "alerts": alerts if alerts in ("yes", "no") else "",
                "sort": qp.get("sort") if qp.get("sort") in CUSTOMER_SORTS else "-score",
                "as_of": picked_date(request) or ""}

    def selection(filters: dict[str, Any]) -> dict[str, Any]:
        """The arguments of :meth:`ServiceCache.select` for the list's filters."""
        return {"tiers": [filters["tier"]] if filters["tier"] else (),
                "owners": [filters["owner"]] if filters["owner"] else (),
                "segments": [filters["segment"]] if filters["segment"] else (),
                "rfm_segments": [filters["rfm_segment"]] if filters["rfm_segment"] else (),
                "min_score": filters["min_score"], "max_score": filters["max_score"],
                "q": filters["q"] or None,
                "with_alerts": {"yes": True, "no": False}.get(filters["alerts"]),
                "sort": filters["sort"], "as_of": filters["as_of"] or None}

    @app.get("/ui/customers", include_in_schema=False)
    async def customer_list(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        snap = cache.snap
        filters = list_filters(request)
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            page = 1
        result = cache.customers(**selection(filters), page=page, per_page=PER_PAGE)
        if result["pages"] and page > result["pages"]:
            page = result["pages"]
            result = cache.customers(**selection(filters), page=page, per_page=PER_PAGE)
        keep = {k: ("" if v is None else v) for k, v in filters.items()}
        query = urlencode(keep)

        def page_url(n: int) -> str:
            return "/ui/customers?" + urlencode({**keep, "page": n})

        return render(request, "customers.html", who=who, result=result, filters=filters,
                      tiers=snap.tiers if snap else [],
                      owners=sorted(snap.owners) if snap else [],
                      segments=sorted(snap.segments) if snap else [],
                      rfm_segments=sorted(snap.rfm_segments) if snap else [],
                      page_url=page_url, query=query,
                      names=snap is not None and snap.names() is not None)

    @app.get("/ui/customers.{kind}", include_in_schema=False)
    async def customer_export(request: Request, kind: str) -> Response:
        from crindex.service.export import MAX_ROWS, to_csv, to_xlsx

        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        if kind not in ("csv", "xlsx"):
            return render(request, "error.html", 404, message=f"{kind}: csv or xlsx", hint="")
        t = translator(language(request))
        state = cache.state
        found = cache.select(**selection(list_filters(request)), state=state, limit=MAX_ROWS)
        if found is None:
            columns: dict[str, list[Any]] = {"customer_id": []}
            day = "none"
        else:
            view, rows, _ = found
            columns = await run_in_threadpool(cache.columns, view, rows[:MAX_ROWS], state)
            day = view.run.as_of.isoformat()
            from crindex.report.i18n import tier_word

            lang = language(request)
            names = {tier: tier_word(tier, state.tier_labels.get(tier), lang)
                     for tier in set(columns["tier"]) if tier is not None}
            columns["tier"] = [names.get(tier) for tier in columns["tier"]]
        name = f"customers-{cache.model_name}-{day}.{kind}"
        if kind == "csv":
            body = await run_in_threadpool(to_csv, columns, t)
            media = "text/csv; charset=utf-8"
        else:
            body = await run_in_threadpool(to_xlsx, columns, t, t("customers"))
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(body, media_type=media, headers={
            "content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

    @app.get("/ui/alerts", include_in_schema=False)
    async def alerts_page(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        return alerts_view(request, who)

    def alerts_view(request: Request, who: TokenInfo, status_code: int = 200,
                    message: str = "", error: str = "") -> Response:
        from crindex.service.app import ALERT_STATUSES

        qp = request.query_params
        facets = cache.alert_facets()
        status = qp.get("status", "open")
        status = status if status in (*ALERT_STATUSES, "all") else "open"
        filters = {"status": status,
                   "rule": qp.get("rule") if qp.get("rule") in facets["rules"] else "",
                   "severity": qp.get("severity") if qp.get("severity") in
                   facets["severities"] else "",
                   "owner": qp.get("owner") if qp.get("owner") in facets["owners"] else ""}
        try:
            page = max(1, int(qp.get("page", "1")))
        except ValueError:
            page = 1
        try:
            per_page = min(500, max(1, int(qp.get("per_page", str(PER_PAGE)))))
        except ValueError:
            per_page = PER_PAGE
        if per_page != PER_PAGE:
            filters["per_page"] = str(per_page)

        def listing(n: int) -> dict[str, Any]:
            return cache.alert_list(
                statuses=() if status == "all" else (status,),
                severities=[filters["severity"]] if filters["severity"] else (),
                owners=[filters["owner"]] if filters["owner"] else (),
                rules=[filters["rule"]] if filters["rule"] else (), page=n, per_page=per_page)

        result = listing(page)
        if result["pages"] and page > result["pages"]:
            page = result["pages"]
            result = listing(page)
        keep = dict(filters)

        def url(**changes: Any) -> str:
            return "/ui/alerts?" + urlencode({**keep, **changes})

        t = translator(language(request))
        did = qp.get("did", "")
        done = t("bulk_done", n=qp.get("done", "0"), status=word(t, "", "status", did)) \
            if did in ALERT_STATUSES[1:] and qp.get("done", "").isdigit() else ""
        return render(request, "alerts.html", status_code, who=who, result=result,
                      filters=filters, facets=facets, url=url,
                      back=url(page=page), can_write=who.allows("write"),
                      request_done=message or done, error=error)

    @app.post("/ui/alerts/bulk", include_in_schema=False)
    async def alerts_bulk(request: Request) -> Response:
        done = await posted(request, "write")
        if isinstance(done, Response):
            return done
        who, _ = done
        body = (await request.body()).decode("utf-8", "replace")
        fields = parse_qs(body, keep_blank_values=True)
        t = translator(language(request))
        ids = []
        for value in fields.get("alert", []):
            try:
                ids.append(int(value))
            except ValueError:
                continue
        action = (fields.get("action") or [""])[-1]
        reason = (fields.get("reason") or [""])[-1].strip()
        target = _safe_next((fields.get("next") or [""])[-1])
        if action not in ("acknowledged", "resolved"):
            return alerts_view(request, who, 422, error=f"action: {action or '-'}")
        if not ids:
            return alerts_view(request, who, 422, error=t("bulk_none"))
        if not reason:
            return alerts_view(request, who, 422, error=t("bulk_reason_needed"))
        try:
            await run_in_threadpool(set_statuses, cache, ids, action, who, reason)
        except ApiError as exc:
            return alerts_view(request, who, exc.status, error=exc.message)
        sep = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{sep}done={len(ids)}&did={action}", status_code=303)

    @app.get("/ui/customers/{customer_id:path}", include_in_schema=False)
    async def customer_page(request: Request, customer_id: str) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        return customer_view(request, who, customer_id)

    def customer_view(request: Request, who: TokenInfo, customer_id: str, status: int = 200,
                      error: str | None = None, values: dict[str, str] | None = None) -> Response:
        doc = cache.customer(customer_id)
        t = translator(language(request))
        if doc is None:
            return render(request, "error.html", 404, message=f"{t('not_found')}: "
                          f"{customer_id}", hint="")
        history = doc["history"]
        chart = line_chart([h["as_of"] for h in history], [
            (t("score"), [h["score"] for h in history]),
            (t("adjusted"), [h["adjusted_score"] for h in history])],
            title=t("history"), fmt=lambda v: f"{v:.0f}", colors=["#2563eb", "#7c3aed"],
            thresholds=score_thresholds(app.state.model, cache.tier_labels), y_max=100)
        total = {k: sum(r[k] for r in doc["explanation"] if r[k] is not None)
                 for k in ("weight", "contribution")}
        return render(request, "customer.html", status, who=who, doc=doc, chart=chart,
                      total=total, tiers=cache.snap.tiers if cache.snap else [],
                      can_write=who.allows("write"), error=error, values=values or {},
                      saved=request.query_params.get("saved") == "1")

    @app.post("/ui/customers/{customer_id:path}/adjust", include_in_schema=False)
    async def adjust_form(request: Request, customer_id: str) -> Response:
        done = await posted(request, "write")
        if isinstance(done, Response):
            return done
        who, fields = done
        payload: dict[str, Any] = {"customer_id": customer_id, "reason": fields.get("reason")}
        if fields.get("revokes"):
            payload["revokes"] = fields["revokes"]
        else:
            for key in ("points", "tier", "expires"):
                if fields.get(key):
                    payload[key] = fields[key]
        from pydantic import ValidationError

        try:
            body = AdjustmentBody.model_validate(payload)
            await run_in_threadpool(adjust, cache, body, who)
        except ValidationError as exc:
            message = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: "
                                f"{str(e['msg']).removeprefix('Value error, ')}"
                                for e in exc.errors())
            return customer_view(request, who, customer_id, 422, message, fields)
        except ApiError as exc:
            return customer_view(request, who, customer_id, exc.status, exc.message, fields)
        return RedirectResponse(f"/ui/customers/{quote(customer_id, safe='')}?saved=1",
                                status_code=303)

    @app.post("/ui/alerts/{alert_id}/ack", include_in_schema=False)
    async def ack_form(request: Request, alert_id: int) -> Response:
        done = await posted(request, "write")
        if isinstance(done, Response):
            return done
        who, fields = done
        try:
            await run_in_threadpool(ack, cache, alert_id, who, fields.get("note") or None)
        except ApiError as exc:
            return render(request, "error.html", exc.status, message=exc.message,
                          hint=exc.hint)
        return RedirectResponse(_safe_next(fields.get("next")), status_code=303)

    @app.get("/ui/model", include_in_schema=False)
    async def model_page(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        from crindex.api import describe_source
        from crindex.report.i18n import describe_normaliser, tier_rules

        model = app.state.model
        lang = language(request)
        t = translator(lang)
        rows = []
        for d in model.dimensions:
            for m in d.metrics:
                rows.append({"dimension": d.display, "dimension_weight": d.weight,
                             "metric": m.display, "id": m.id, "weight": m.weight,
                             "effective": model.effective_weight(d, m),
                             "source": describe_source(m), "window": m.window or t("all"),
                             "normalise": describe_normaliser(
                                 m.normalise.model_dump(exclude_none=True), lang)})
        chart = bar_chart([r["metric"] for r in rows], [r["effective"] for r in rows],
                          title=t("weights_chart"), fmt=lambda v: f"{v:.3g}",
                          width=max(530, 90 * len(rows)))
        rules = tier_rules([lv.model_dump() for lv in model.tiers.levels], lang)
        return render(request, "model.html", who=who, model=model, rows=rows, chart=chart,
                      rules=rules, versions=await run_in_threadpool(
                          model_versions, cache.store, model.name),
                      can_admin=who.allows("admin"))

    def edit_from(fields: Mapping[str, str]) -> tuple[Any, list[str]]:
        """The editor's values as a ModelEdit, and each field that is not a number.

        A field left empty keeps the model's value; problems name the field as the form does.
        """
        from crindex.weights.edit import edit_of

        model = app.state.model
        edit = edit_of(model)
        problems: list[str] = []

        def number(key: str, current: float | None) -> float | None:
            text = fields.get(key, "").strip().replace(",", "")
            if not text:
                return current
            try:
                value = float(text)
            except ValueError:
                problems.append(f"{key}: `{text}` is not a number")
                return current
            if math.isnan(value) or math.isinf(value):
                problems.append(f"{key}: `{text}` is not a number")
                return current
            return value

        for mid, w in list(edit.weights.items()):
            edit.weights[mid] = number(f"w.{mid}", w) or 0.0
        for did, w in list(edit.dimension_weights.items()):
            edit.dimension_weights[did] = number(f"dw.{did}", w) or 0.0
        for mid, bounds in edit.bounds.items():
            for key in ("min", "max"):
                got = number(f"{key}.{mid}", bounds[key])
                if got is not None:
                    bounds[key] = got
        for mid, bins in edit.bins.items():
            for i, b in enumerate(bins):
                for key in ("min", "max", "points"):
                    if b.get(key) is not None:
                        b[key] = number(f"bin.{mid}.{i}.{key}", b[key])
        for tid, bound in list(edit.thresholds.items()):
            got = number(f"tier.{tid}", bound)
            edit.thresholds[tid] = bound if got is None else got
        return edit, problems

    def editor(request: Request, who: TokenInfo, fields: Mapping[str, str],
               status: int = 200, saved: dict[str, Any] | None = None,
               error: str = "") -> Response:
        from crindex.errors import CrindexError
        from crindex.weights.edit import edit_of, edited_text, text_diff

        model = app.state.model
        edit, problems = edit_from(fields)
        preview = bool(fields) and not saved
        result = diff = None
        if preview and not problems:
            try:
                text, after = edited_text(model, edit)
                diff = text_diff(model.text, text, Path(model.path).name)
                snap = cache.snap
                if snap is not None:
                    from crindex.service.whatif import what_if

                    result = what_if(snap, model, after, labels_of(snap))
            except CrindexError as exc:
                problems += [f"{p.where}: {p.message}" if p.where else p.message
                             for p in exc.problems] or [str(exc)]
        from crindex.report.i18n import describe_normaliser

        said = {m.id: describe_normaliser(m.normalise.model_dump(exclude_none=True),
                                          language(request)) for _, m in model.metrics}
        return render(request, "edit.html", status, who=who, model=model, edit=edit_of(model),
                      said=said,
                      values=edit, fields=fields, result=result, diff=diff if not saved else
                      saved["diff"], problems=problems or ([error] if error else []),
                      saved=saved, can_admin=who.allows("admin"),
                      labels=cache.tier_labels)

    def labels_of(snap: Any) -> Any:
        """The churn labels of the served data for the snapshot, read once per snapshot."""
        from crindex.service.whatif import churn_labels

        data = app.state.settings.data
        key = (snap.run.run_id, data, model_key())
        found = getattr(app.state, "churn_labels", None)
        if found is not None and found[0] == key:
            return found[1]
        labels = churn_labels(data, app.state.model, snap) if data else None
        app.state.churn_labels = (key, labels)
        return labels

    def model_key() -> str:
        churn = app.state.model.churn
        return churn.model_dump_json()

    @app.get("/ui/model/edit", include_in_schema=False)
    async def edit_page(request: Request) -> Response:
        who = await signed_in(request)
        if isinstance(who, Response):
            return who
        fields = {k: v for k, v in request.query_params.items() if k not in ("lang",)}
        return await run_in_threadpool(editor, request, who, fields)

    @app.post("/ui/model/edit", include_in_schema=False)
    async def edit_save(request: Request) -> Response:
        done = await posted(request, "admin")
        if isinstance(done, Response):
            return done
        who, fields = done
        fields = {k: v for k, v in fields.items() if k != "csrf"}
        edit, problems = edit_from(fields)
        if problems:
            return await run_in_threadpool(editor, request, who, fields, 422)
        from crindex.errors import CrindexError

        try:
            saved = await run_in_threadpool(save_model, app, edit, who)
        except CrindexError as exc:
            message = "; ".join(f"{p.where}: {p.message}" if p.where else p.message
                                for p in exc.problems) or str(exc)
            return await run_in_threadpool(editor, request, who, fields, 422, None, message)
        except ApiError as exc:
            return await run_in_threadpool(editor, request, who, fields, exc.status, None,
                                           exc.message)
        return await run_in_threadpool(editor, request, who, {}, 200, saved)
