"""The dashboard in real headless Chromium (Debian's, driven by Playwright; no browser download).

Each page is loaded through the login form, its charts are checked drawn (SVG marks whose
titles carry the engine's figures, and non-white pixels in the chart's screenshot), a filter
and an adjustment are made with clicks, and every page's screenshot is kept in
tests/artifacts/dashboard-*.png. Needs /usr/bin/chromium (``make browser``): skipped without
it, failed without it when CI=true.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.support.service import AS_OF, PREVIOUS, Server, build_world

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def chromium_path() -> str:
    found = shutil.which("chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        found = None
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium or playwright is missing but CI=true: `make browser` installs "
                        "chromium, `pip install -e .[dev]` playwright")
        pytest.skip("chromium not installed (`make browser` installs Debian's chromium)")
    return found


@pytest.fixture(scope="module")
def world():
    return build_world()


@pytest.fixture(scope="module")
def model_file(world, tmp_path_factory):
    """The served model, a copy: the editor's test saves over it."""
    path = tmp_path_factory.mktemp("dashboard-model") / "b2b.yaml"
    shutil.copyfile(world.model, path)
    return path


@pytest.fixture(scope="module")
def owner(world):
    """The owner of the customer whose score fell most (the owner token's name)."""
    before = {r["customer_id"]: r["score"] for r in world.results[PREVIOUS].table.to_pylist()}
    latest = world.results[AS_OF].table.to_pylist()
    fell = min((r for r in latest if r["customer_id"] in before),
               key=lambda r: (r["score"] - before[r["customer_id"]], r["customer_id"]))
    return fell["owner"]


@pytest.fixture(scope="module")
def server(world, model_file, owner):
    chromium_path()
    from crindex.service.auth import create_token
    from crindex.store import open_store

    srv = Server(world, "dashboard", model=model_file)
    with open_store(srv.store) as store:  # a person whose token names them as an owner
        srv.tokens = {**world.tokens, "owner": create_token(store, owner, ["read"])[0]}
    yield srv
    srv.stop()
    assert "Traceback" not in srv.output()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


CONSOLE_ERRORS: dict[int, list[str]] = {}


def sign_in(browser, server, scope: str, target: str = "/ui/"):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    # a CSP violation (an inline style or script the policy blocks) is a console error
    errors = CONSOLE_ERRORS.setdefault(id(page), [])
    # (a status the test provokes, such as the form's 422, is logged too: not counted)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not m.text
            .startswith("Failed to load resource: the server responded") else None)
    page.goto(server.url + target)
    assert "/ui/login" in page.url  # no cookie yet: the login page, keeping the target
    page.fill("#token", server.tokens[scope])
    page.click("#login")
    assert page.url == server.url + target
    return page


def shot(page, name: str) -> None:
    """Keep the page's screenshot; the page drew without any console (CSP) error and shows
    no raw Python value (a dict, a list, ``None``, ``nan``)."""
    assert CONSOLE_ERRORS.get(id(page)) == [], CONSOLE_ERRORS.get(id(page))
    text = page.locator("main").inner_text()
    assert not re.search(r"\{'|\['|\bNone\b|\bnan\b|\bNaN\b", text), text[:2000]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def inked(element) -> int:
    """Pixels of an element's screenshot that are clearly not background."""
    from PIL import Image

    image = Image.open(io.BytesIO(element.screenshot())).convert("L")
    return sum(image.histogram()[:200])


def test_login_refuses_a_bad_token_and_keeps_the_cookie_httponly(browser, server):
    page = browser.new_page()
    page.goto(server.url + "/ui/customers")
    page.fill("#token", "cri_00000000_not-a-token")
    page.click("#login")
    assert page.locator("#login-error").is_visible()
    page.fill("#token", server.world.tokens["read"])
    page.click("#login")
    assert page.url == server.url + "/ui/customers"
    [cookie] = [c for c in page.context.cookies() if c["name"] == "crindex_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # plain HTTP here (Secure over TLS: tests/test_service.py)
    assert server.world.tokens["read"] not in cookie["value"]  # a session, not the token
    page.close()


def test_portfolio_draws_its_charts_from_the_engines_figures(browser, server, world):
    page = sign_in(browser, server, "read", "/ui/portfolio")
    counts = world.results[AS_OF].tier_counts()
    from crindex.report.i18n import tier_word

    # an English page names the shipped tiers in English (the model labels them in Chinese)
    labels = {lv.id: tier_word(lv.id, lv.display, "en")
              for lv in world.results[AS_OF].model.tiers.levels}
    assert labels["at_risk"] == "At risk"
    bars = page.locator("#chart-tiers rect.bar title").all_text_contents()
    assert bars == [f"{labels[t]}: {n:,}" for t, n in counts.items() if n]
    points = page.locator("#chart-trend circle.point")
    assert points.count() == 2  # one per snapshot
    scores = world.results[AS_OF].table.column("score").to_pylist()
    assert points.nth(1).locator("title").text_content().endswith(
        f"{sum(scores) / len(scores):.1f}")
    for chart in ("#chart-tiers", "#chart-trend", "#chart-shares"):
        box = page.locator(f"{chart} svg").bounding_box()
        assert box and box["width"] > 300 and box["height"] > 150
        assert inked(page.locator(f"{chart} svg")) > 500
    assert page.locator("#kpis .big").first.text_content() == f"{len(scores):,}"
    assert page.locator("#alerts tr.alert").count() == 3
    # the open alerts: one count on the card, the list's heading and the alerts page
    assert page.locator("#kpis .card").last.locator(".big").text_content() == "3"
    assert page.locator("#alerts-link").text_content().endswith("(3)")
    assert page.locator("button.ack").count() == 0  # a read token cannot acknowledge
    # each tier's bar in its tier's colour (one palette: tests/test_palette.py)
    from crindex.report.palette import tier_colors

    colors = tier_colors(world.results[AS_OF].model.tiers.order)
    fills = page.locator("#chart-tiers rect.bar").evaluate_all(
        "bars => bars.map(b => b.getAttribute('fill'))")
    assert fills == [colors[t] for t, n in counts.items() if n]
    shot(page, "portfolio")
    page.close()


def test_customer_filter_narrows_the_list(browser, server, world):
    page = sign_in(browser, server, "read", "/ui/customers")
    latest = world.results[AS_OF].table.to_pylist()
    owner = next(r["owner"] for r in latest if r["tier"] == "ordinary")
    expected = sorted((r for r in latest if r["tier"] == "ordinary" and r["owner"] == owner),
                      key=lambda r: -r["score"])
    page.select_option("#f-tier", "ordinary")
    page.select_option("#f-owner", owner)
    page.click("#apply")
    assert "tier=ordinary" in page.url
    rows = page.locator("#customers tr.customer")
    assert rows.count() == len(expected) > 0
    assert [rows.nth(i).get_attribute("data-tier") for i in range(rows.count())] == \
        ["ordinary"] * len(expected)
    ids = page.locator("#customers tr.customer td:first-child a").all_text_contents()
    assert ids == [r["customer_id"] for r in expected]
    assert page.locator("#found").text_content() == f"{len(expected)} customers"
    shot(page, "customers-filtered")
    page.fill("#filters input[name=q]", ids[0])
    page.click("#apply")
    assert page.locator("#customers tr.customer td:first-child a").all_text_contents() == \
        [ids[0]]
    page.close()


def test_customer_page_evaluation_table_and_history_chart(browser, server, world):
    both = {r["customer_id"] for r in world.results[PREVIOUS].table.to_pylist()}
    cid = next(r["customer_id"] for r in world.results[AS_OF].table.to_pylist()
               if r["customer_id"] in both)
    page = sign_in(browser, server, "read", f"/ui/customers/{cid}")
    ex = world.results[AS_OF].explain(cid)
    rows = page.locator("#evaluation tr.metric")
    assert rows.count() == len(ex.rows) == 8
    assert page.locator("#evaluation tr.total td").nth(2).text_content() == f"{ex.score:,.2f}"
    assert page.locator("#score").text_content() == f"{ex.score:,.1f}"
    # two snapshots, two series (score and adjusted): four points
    assert page.locator("#chart-history circle.point").count() == 4
    assert inked(page.locator("#chart-history svg")) > 500
    assert page.locator("#adjust").count() == 0  # read token: no form
    shot(page, "customer-read")
    page.close()


def test_an_adjustment_made_in_the_form_shows_and_reaches_the_api(browser, server, world):
    latest = {r["customer_id"]: r for r in world.results[AS_OF].table.to_pylist()}
    cid = next(k for k, v in sorted(latest.items()) if 40 <= v["score"] < 45)
    page = sign_in(browser, server, "write", f"/ui/customers/{cid}")
    page.fill("#a-points", "7.5")
    page.click("#a-save")  # no reason: refused with the field named, the input kept
    assert page.locator("#form-error").is_visible()
    assert "reason" in page.locator("#form-error").text_content()
    assert page.input_value("#a-points") == "7.5"
    page.fill("#a-reason", "won the regional framework tender")
    page.click("#a-save")
    assert page.locator("#saved").is_visible()
    want = latest[cid]["score"] + 7.5
    assert page.locator("#adjusted-score").text_content() == f"{want:,.1f}"
    assert page.locator("#adjustments tr.adjustment").count() == 1
    shot(page, "customer-adjusted")
    doc = server.client("read").get(f"/v1/customers/{cid}").json()
    assert doc["adjusted_score"] == pytest.approx(want)
    assert doc["adjustments"][0]["made_by"] == "token:test-write"
    page.click("button.revoke")
    assert page.locator("#adjusted-score").text_content() == f"{latest[cid]['score']:,.1f}"
    page.close()


def test_a_read_token_cannot_post_an_adjustment(browser, server):
    page = sign_in(browser, server, "read")
    assert CONSOLE_ERRORS[id(page)] == []
    # the CSP is in force (and its violations reach the console errors that shot() checks)
    assert page.evaluate("fetch('/healthz').then(() => 'sent', () => 'blocked')") == "blocked"
    assert any("Content Security Policy" in e for e in CONSOLE_ERRORS[id(page)])
    # the page itself cannot run fetch (the CSP allows no script nor connection): post with the
    # browser context's cookies, from this site, with the session's form token
    csrf = page.locator("header input[name=csrf]").input_value()
    r = page.request.post(server.url + "/ui/customers/C0000198/adjust",
                          headers={"Origin": server.url},
                          form={"points": "5", "reason": "sneaky", "csrf": csrf})
    assert r.status == 403 and "needs the `write` scope" in r.text()
    page.close()


def test_acknowledge_an_alert_from_the_overview(browser, server, world):
    page = sign_in(browser, server, "write", "/ui/portfolio")
    before = page.locator("#alerts tr.alert").count()
    first = page.locator("#alerts tr.alert").first
    alert_id = first.get_attribute("data-alert")
    first.locator("button.ack").click()
    assert page.url == server.url + "/ui/portfolio"
    # the overview lists the open alerts: the acknowledged one leaves it, the counts follow
    assert page.locator(f"#alerts tr.alert[data-alert='{alert_id}']").count() == 0
    assert page.locator("#alerts tr.alert").count() == before - 1
    page.goto(server.url + "/ui/alerts?status=acknowledged")
    row = page.locator(f"#alerts tr.alert[data-alert='{alert_id}']")
    assert row.locator("td.status").text_content() == "acknowledged"
    assert server.client("read").get("/v1/alerts", params={"status": "acknowledged"}) \
        .json()["total"] >= 1
    page.close()


def test_chinese_pages_and_the_model_page(browser, server, world):
    page = sign_in(browser, server, "read", "/ui/model")
    page.click("#lang")
    assert page.locator("h1").text_content().startswith("维度与权重")
    page.goto(server.url + "/ui/")  # the choice is remembered
    assert page.locator("nav a").first.text_content() == "本周"
    assert page.locator("nav a").nth(1).text_content() == "客户组合"
    page.goto(server.url + "/ui/model")
    model = world.results[AS_OF].model
    weights = [float(x) for x in page.locator("#weights tr.metric td:nth-child(5)")
               .all_text_contents()]
    assert weights == [model.effective_weight(d, m) for d, m in model.metrics]
    assert sum(weights) == pytest.approx(100)
    assert page.locator("#chart-weights rect.bar").count() == len(weights)
    shot(page, "model-zh")
    page.goto(server.url + "/ui/customers/C0000198")
    shot(page, "customer-zh")
    assert page.locator("#evaluation th").first.text_content() == "维度"
    page.close()


def changes(world) -> dict[str, float]:
    """Each customer's score change between the two snapshots (scored in both), by the engine."""
    before = {r["customer_id"]: r["score"] for r in world.results[PREVIOUS].table.to_pylist()}
    return {r["customer_id"]: r["score"] - before[r["customer_id"]]
            for r in world.results[AS_OF].table.to_pylist()
            if r["customer_id"] in before and r["score"] is not None
            and before[r["customer_id"]] is not None}


def test_this_week_shows_the_biggest_drops_rises_tier_moves_and_new_alerts(browser, server,
                                                                          world):
    moved = changes(world)
    drops = sorted((c for c in moved if moved[c] < 0), key=lambda c: (moved[c], c))[:10]
    rises = sorted((c for c in moved if moved[c] > 0), key=lambda c: (-moved[c], c))[:10]
    page = sign_in(browser, server, "read")  # the landing page
    assert page.locator("h1").text_content().startswith("This week")
    assert page.locator("#drops tr.mover").evaluate_all(
        "rows => rows.map(r => r.dataset.customer)") == drops
    assert page.locator("#rises tr.mover").evaluate_all(
        "rows => rows.map(r => r.dataset.customer)") == rises
    first = page.locator("#drops tr.mover").first.locator("td").nth(2).text_content()
    assert first == f"{moved[drops[0]]:+.1f}"
    # tier moves: from the engine's tiers on both dates
    before = {r["customer_id"]: r["tier"] for r in world.results[PREVIOUS].table.to_pylist()}
    pairs: dict[tuple[str, str], int] = {}
    for r in world.results[AS_OF].table.to_pylist():
        old = before.get(r["customer_id"])
        if r["customer_id"] in moved and old and r["tier"] and old != r["tier"]:
            pairs[(old, r["tier"])] = pairs.get((old, r["tier"]), 0) + 1
    shown = {(row.get_attribute("data-from"), row.get_attribute("data-to")):
             int(row.locator("td").nth(3).text_content())
             for row in page.locator("#moves tr.move").all()}
    assert shown == pairs and pairs
    # the three alerts opened on the latest snapshot
    assert page.locator("#alerts tr.alert").count() == 3
    assert f"{len(moved):,} customers compared" in page.locator("#scope").text_content()
    shot(page, "week-en")
    page.goto(server.url + "/ui/?lang=zh")
    assert page.locator("h1").text_content().startswith("本周")
    assert "风险客户" in page.locator("main").inner_text()
    assert "at_risk" not in page.locator("main").inner_text()
    shot(page, "week-zh")
    page.goto(server.url + "/ui/?lang=en")
    page.close()


def test_this_week_shows_an_owner_their_own_accounts_first(browser, server, world, owner):
    latest = {r["customer_id"]: r["owner"] for r in world.results[AS_OF].table.to_pylist()}
    moved = {c: v for c, v in changes(world).items() if latest[c] == owner}
    drops = sorted((c for c in moved if moved[c] < 0), key=lambda c: (moved[c], c))[:10]
    page = sign_in(browser, server, "owner")
    assert owner in page.locator("#scope").text_content()
    assert page.locator("#drops tr.mover").evaluate_all(
        "rows => rows.map(r => r.dataset.customer)") == drops
    assert {latest[c] for c in page.locator("#rises tr.mover").evaluate_all(
        "rows => rows.map(r => r.dataset.customer)")} <= {owner}
    page.click("#show-all")
    assert "mine=0" in page.url
    assert page.locator("#drops tr.mover").count() == 10
    page.close()


def test_customer_list_change_sort_segment_and_alert_filters_in_the_url_and_exports(
        browser, server, world):
    from openpyxl import load_workbook

    moved = changes(world)
    latest = world.results[AS_OF].table.to_pylist()
    segment = "Enterprise"
    want = sorted((r for r in latest if r["segment"] == segment and r["customer_id"] in moved),
                  key=lambda r: (moved[r["customer_id"]], r["customer_id"]))
    page = sign_in(browser, server, "read", "/ui/customers")
    page.select_option("#f-segment", segment)
    page.select_option("#f-sort", "change")
    page.click("#apply")
    assert "segment=Enterprise" in page.url and "sort=change" in page.url
    rows = page.locator("#customers tr.customer")
    ids = page.locator("#customers tr.customer td:first-child a").all_text_contents()
    assert ids == [r["customer_id"] for r in want][:50]
    assert {rows.nth(i).get_attribute("data-segment") for i in range(rows.count())} == {segment}
    # the filters live in the URL: reloading it gives the same list
    page.goto(page.url)
    assert page.input_value("#f-sort") == "change"
    assert page.locator("#customers tr.customer td:first-child a").all_text_contents() == ids
    shot(page, "customers-en")
    # only customers with an open alert: the three of the world (one maybe acknowledged)
    page.goto(server.url + "/ui/customers?alerts=yes&sort=score")
    flagged = page.locator("#customers tr.customer td:first-child a").all_text_contents()
    assert set(flagged) <= set(world.alert_customers) and flagged
    # the exports hold exactly the rows and columns shown (every matching row, same order)
    page.goto(server.url + f"/ui/customers?segment={segment}&sort=change&max_score=40")
    heads = page.locator("#customers tr").first.locator("th").all_text_contents()
    shown = [[td.strip() for td in row.locator("td").all_text_contents()]
             for row in page.locator("#customers tr.customer").all()]
    assert 0 < len(shown) < 50  # one page: what the export holds is all on screen
    with page.expect_download() as got:
        page.click("#export-csv")
    assert got.value.suggested_filename.startswith("customers-b2b-")
    text = Path(got.value.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == heads
    assert [r[0] for r in table[1:]] == [r[0] for r in shown]

    def as_shown(cell: str, col: str) -> str:
        if cell == "":
            return ""
        if col == "Change":
            return f"{float(cell):+.1f}"
        if col == "Coverage":
            return f"{float(cell):.0f}%"
        if col in ("Score", "Adjusted"):
            return f"{float(cell):,.1f}"
        if col == "Open alerts":
            return cell if cell != "0" else ""
        return cell

    assert [[as_shown(c, h) for c, h in zip(r, heads, strict=True)] for r in table[1:]] == \
        [[c if c != "-" else "" for c in r] for r in shown]
    with page.expect_download() as got:
        page.click("#export-xlsx")
    assert got.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()), read_only=True).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0] == heads
    assert [r[0] for r in cells[1:]] == [r[0] for r in shown]
    # numbers as numbers: the score, the adjusted score (empty where none is in force)
    assert [r[1] for r in cells[1:]] == [float(r[1]) for r in table[1:]]
    assert [r[2] for r in cells[1:]] == [float(r[2]) if r[2] else None for r in table[1:]]
    # the snapshot picker: the earlier snapshot's computed scores
    page.goto(server.url + "/ui/customers")
    page.select_option("#as-of", PREVIOUS.isoformat())
    page.click("#as-of-go")
    assert f"as_of={PREVIOUS.isoformat()}" in page.url
    assert page.locator("#past").is_visible()
    early = sorted((r for r in world.results[PREVIOUS].table.to_pylist()
                    if r["customer_id"] in {x["customer_id"] for x in latest}
                    and r["score"] is not None), key=lambda r: (-r["score"], r["customer_id"]))
    assert page.locator("#customers tr.customer td:first-child a").first.text_content() == \
        early[0]["customer_id"]
    page.goto(server.url + "/ui/customers?lang=zh")
    assert page.locator("#customers th").first.text_content() == "客户"
    shot(page, "customers-zh")
    page.goto(server.url + "/ui/customers?lang=en")
    page.close()


def test_alerts_page_pages_filters_and_bulk_acknowledges_with_counts_that_agree(
        browser, server, world):
    api = server.client("read")
    open_before = api.get("/v1/alerts", params={"status": "open"}).json()["total"]
    assert open_before >= 2
    page = sign_in(browser, server, "read", "/ui/alerts")
    assert page.locator("#bulk").count() == 0  # a read token cannot acknowledge
    page.close()
    page = sign_in(browser, server, "write", "/ui/alerts?status=all&per_page=2")
    total = api.get("/v1/alerts").json()["total"]
    assert page.locator("#page-of").text_content() == f"Page 1 of {-(-total // 2)}"
    page.click("#next")
    assert "page=2" in page.url and page.locator("#alerts tr.alert").count() == total - 2
    page.goto(server.url + "/ui/alerts?status=open")
    assert page.locator("#tab-open .count").text_content() == str(open_before)
    page.select_option("#f-severity", "medium")
    page.click("#apply")
    mediums = [a for a in api.get("/v1/alerts", params={"status": "open",
                                                       "severity": "medium"}).json()["items"]]
    assert page.locator("#alerts tr.alert").count() == len(mediums)
    page.goto(server.url + "/ui/alerts?status=open")
    picks = page.locator("#alerts input.pick")
    chosen = [picks.nth(i).get_attribute("value") for i in range(2)]
    picks.nth(0).check()
    picks.nth(1).check()
    page.click("#bulk-ack")  # no reason: refused, nothing changed
    assert page.locator("#bulk-error").is_visible()
    assert api.get("/v1/alerts", params={"status": "open"}).json()["total"] == open_before
    page.goto(server.url + "/ui/alerts?status=open")
    for value in chosen:
        page.locator(f"#alerts input.pick[value='{value}']").check()
    page.fill("#bulk-reason", "called both on Monday")
    page.click("#bulk-ack")
    assert page.locator("#bulk-done").is_visible()
    # one count everywhere: the tabs, the API, the overview's card
    open_now = api.get("/v1/alerts", params={"status": "open"}).json()["total"]
    assert open_now == open_before - 2
    assert page.locator("#tab-open .count").text_content() == str(open_now)
    for value in chosen:
        alert = next(a for a in api.get("/v1/alerts").json()["items"]
                     if str(a["alert_id"]) == value)
        assert alert["status"] == "acknowledged"
    page.goto(server.url + "/ui/portfolio")
    assert page.locator("#kpis .card").last.locator(".big").text_content() == str(open_now)
    assert page.locator("#alerts tr.alert").count() == open_now
    page.goto(server.url + "/ui/alerts?status=all")
    shot(page, "alerts-en")
    page.goto(server.url + "/ui/alerts?status=all&lang=zh")
    assert page.locator("#tab-acknowledged").text_content().startswith("已确认")
    shot(page, "alerts-zh")
    page.goto(server.url + "/ui/alerts?lang=en")
    page.close()


def test_model_editor_previews_saves_with_the_diff_and_refuses_a_non_admin(
        browser, server, world, model_file):
    from crindex.model.loader import load_model
    from crindex.service.versions import model_versions
    from crindex.store import open_store
    from crindex.store.snapshot import model_hash

    original = model_file.read_text(encoding="utf-8")
    # a reader can try changes but has no save button, and a forged save is refused
    page = sign_in(browser, server, "write", "/ui/model/edit")
    assert page.locator("#save").count() == 0 and page.locator("#need-admin").is_visible()
    csrf = page.locator("#editor input[name=csrf]").input_value()
    r = page.request.post(server.url + "/ui/model/edit", headers={"Origin": server.url},
                          form={"w.annual_purchases": "70", "w.annual_profit": "30",
                                "csrf": csrf})
    assert r.status == 403 and "needs the `admin` scope" in r.text()
    assert model_file.read_text(encoding="utf-8") == original
    page.close()

    page = sign_in(browser, server, "admin", "/ui/model/edit")
    shot(page, "editor-en")
    # the value dimension up from 35 to 65, activity and satisfaction down to 10 each
    page.fill("#dw-value", "65")
    page.fill("#dw-depth", "15")
    page.fill("#dw-activity", "10")
    page.fill("#dw-satisfaction", "10")
    page.click("#preview")
    assert page.locator(".edit-error").count() == 0, page.locator(".edit-error").all_text_contents()
    before = {row.get_attribute("data-tier"): int(row.locator("td.before").text_content()
                                                   .replace(",", ""))
              for row in page.locator("#mix tr.mix").all()}
    after = {row.get_attribute("data-tier"): int(row.locator("td.after").text_content()
                                                  .replace(",", ""))
             for row in page.locator("#mix tr.mix").all()}
    counts = world.results[AS_OF].tier_counts()
    assert before == {t: counts.get(t, 0) for t in before}  # the snapshot as it is
    assert after != before  # the edit moves customers between tiers
    diff = page.locator("#diff").inner_text()
    assert re.search(r"^-\s+weight: 35$", diff, re.M) and re.search(r"^\+\s+weight: 65$", diff,
                                                                     re.M)
    assert model_file.read_text(encoding="utf-8") == original  # a preview writes nothing
    shot(page, "editor-preview-en")
    page.click("#save")
    assert page.locator("#saved").is_visible()
    assert "version 1" in page.locator("#saved").text_content()
    assert page.locator("#diff").inner_text() == diff
    # the file: valid, comments kept, the new weights in
    text = model_file.read_text(encoding="utf-8")
    model = load_model(model_file)
    assert [d.weight for d in model.dimensions] == [65, 15, 10, 10]
    assert [line for line in original.splitlines() if line.lstrip().startswith("#")] == \
        [line for line in text.splitlines() if line.lstrip().startswith("#")]
    # (that the what-if is what the engine scores for an edit: tests/test_whatif.py)
    with open_store(server.store) as store:
        [version] = model_versions(store, model.name)
    assert version["version"] == 1 and version["model_hash"] == model_hash(model)
    assert version["saved_by"] == "token:test-admin"
    page.goto(server.url + "/ui/model")
    assert page.locator("#versions tr").count() == 2
    assert [float(x) for x in page.locator("#weights tr.metric td:nth-child(5)")
            .all_text_contents()][0] == pytest.approx(65 * 0.6)
    # the catch-all reads "< " and the lowest threshold (the shipped b2b model's ordinary: 52)
    assert page.locator("#tiers tr[data-tier='at_risk'] td.rule").text_content() == "< 52"
    shot(page, "model-en")
    page.goto(server.url + "/ui/model/edit?lang=zh")
    assert page.locator("h1").text_content().startswith("编辑模型")
    shot(page, "editor-zh")
    page.goto(server.url + "/ui/model?lang=en")
    page.close()
