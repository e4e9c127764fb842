"""The path to the next tier and why a score changed, through a real server and the store."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from crindex.act import MetricNow, next_tier_path
from crindex.model.arithmetic import combine
from crindex.store import open_store
from crindex.store.history import customer_change, customer_history
from tests.support.service import AS_OF, Server, build_world, sign_in


@pytest.fixture(scope="module")
def world():
    return build_world()


@pytest.fixture(scope="module")
def server(world):
    srv = Server(world, "act")
    yield srv
    srv.stop()
    assert "Traceback" not in srv.output()


def _below_top(world, n: int = 5) -> list[str]:
    """Customers scored in both snapshots and not in the top tier (a path exists to find)."""
    table = world.results[AS_OF].table.sort_by("customer_id")
    top = world.results[AS_OF].model.tiers.order[0]
    return [r["customer_id"] for r in table.to_pylist()
            if r["tier"] not in (None, top)][:n]


def test_api_path_reaches_the_next_tier_by_the_models_arithmetic(server, world):
    result = world.results[AS_OF]
    model = result.model
    order = model.tiers.order
    found = 0
    with server.client("read") as http:
        for customer_id in _below_top(world, 8):
            doc = http.get(f"/v1/customers/{customer_id}").json()
            path = doc["next_tier"]
            # the same answer as the Python API on the scoring result itself
            assert path == result.explain(customer_id).next_tier.to_dict()
            if not path["found"]:
                assert path["reason"]
                continue
            found += 1
            rows = {r["metric"]: r for r in doc["explanation"]}
            scores = {m: (None if r["missing"] else r["score"]) for m, r in rows.items()}
            for c in path["changes"]:
                assert model.metric(c["metric"]).actionable  # background metrics never move
                scores[c["metric"]] = model.metric(c["metric"]).normalise.value_score(
                    c["raw_to"])
            after = combine(model, scores).score
            assert after == pytest.approx(path["score_after"], abs=1e-9)
            assert order.index(model.tiers.tier_of(after)) <= order.index(path["next_tier"])
    assert found > 0


def test_api_why_changed_sums_to_the_history_change_and_matches_the_store(server, world):
    store = open_store(world.store)
    compared = 0
    with server.client("read") as http:
        for customer_id in _below_top(world, 6):
            doc = http.get(f"/v1/customers/{customer_id}").json()
            why = doc["why_changed"]
            history = [h for h in doc["history"] if h["adjusted_score"] is not None]
            if len(history) < 2 or why["change"] is None:
                continue
            compared += 1
            observed = history[-1]["adjusted_score"] - history[-2]["adjusted_score"]
            assert why["change"] == pytest.approx(observed, abs=1e-9)
            assert math.fsum(p["points"] for p in why["parts"]) == \
                pytest.approx(observed, abs=1e-9)
            # one rule: the service's split is the store's
            direct = customer_change(store, customer_id).to_dict()
            assert why["totals"] == pytest.approx(direct["totals"], abs=1e-12)
            assert why["model_changed"] is False  # both snapshots by the same model
            assert why["totals"]["model"] == 0.0
            frame = customer_history(store, customer_id)
            assert frame.why.iloc[-1] == customer_change(store, customer_id).summary()
    assert compared > 0


def test_customer_page_shows_the_path_and_the_parts(server, world):
    customer_id = _below_top(world, 1)[0]
    client, _ = sign_in(server, world.tokens["read"])
    try:
        page = client.get(f"/ui/customers/{customer_id}")
    finally:
        client.close()
    with server.client("read") as http:
        doc = http.get(f"/v1/customers/{customer_id}").json()
    assert page.status_code == 200
    html = page.text
    assert 'id="next-tier"' in html and 'id="why-changed"' in html
    path = doc["next_tier"]
    if path["found"]:
        assert html.count('class="path-change"') == len(path["changes"])
    else:
        assert path["reason"] in html
    if doc["why_changed"]["change"] is not None:
        assert html.count('class="why-part"') == len(doc["why_changed"]["parts"])


def test_path_golden_on_a_b2b_customer_by_hand():
    """The b2b model of tests/fixtures/b2b_hand_worked.yaml (the shipped one before its bins were
    calibrated; bins on 1-5 points, a score = points / 5 x 100).

    Shares of the total: purchases 35 x 60% = 21, profit 14, product lines 12.5, tenure
    12.5, recency 10, contacts 10, nps 10, csat 10. Every metric at 1 point (20) and csat at
    1 on its 1..5 range (0): 20 x 0.9 = 18, at_risk; ordinary needs 50, a gap of 32.
    Actionable at best (+80 points each): purchases +16.8, lines +10, recency, contacts,
    nps +8 each. Two metrics give at most 26.8: three are needed. Least distance: the
    heaviest per point first, purchases (80) and lines (80) at their best (26.8), the rest
    (5.2) on a 10% metric: contacts is continuous, 5.2 / 0.1 = 52 points, i.e. 20 + 10 x
    contacts = 72, 5.2 contacts a month (the bins of recency and nps would need 60).
    Distance 80 + 80 + 52 = 212; the new score 18 + 32 = 50.
    """
    from crindex.model.loader import load_model

    model = load_model(Path(__file__).parent / "fixtures" / "b2b_hand_worked.yaml")
    raws = {"annual_purchases": 10000.0, "annual_profit": 1000.0, "product_lines": 1.0,
            "tenure": 100.0, "recency": 400.0, "contacts": 0.0, "nps_answer": 2.0,
            "csat": 1.0}
    now = {m: MetricNow(v, model.metric(m).normalise.value_score(v)) for m, v in raws.items()}
    path = next_tier_path(model, now)
    assert (path.score, path.next_tier, path.gap) == (pytest.approx(18.0), "ordinary",
                                                     pytest.approx(32.0))
    assert [(c.metric, c.raw_to) for c in path.changes] == [
        ("annual_purchases", 1_000_000.0), ("product_lines", 5.0),
        ("contacts", pytest.approx(5.2, abs=1e-9))]
    assert [c.points for c in path.changes] == pytest.approx([16.8, 10.0, 5.2], abs=1e-9)
    assert path.distance == pytest.approx(212.0, abs=1e-9)
    assert path.score_after == pytest.approx(50.0, abs=1e-9)


def test_customer_page_sections_in_chromium(server, world):
    """The two sections draw in a real browser, without a console (CSP) error."""
    from playwright.sync_api import sync_playwright

    from tests.test_dashboard import chromium_path

    path = chromium_path()
    customer_id = _below_top(world, 1)[0]
    with server.client("read") as http:
        doc = http.get(f"/v1/customers/{customer_id}").json()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            # (a resource the page does not ship, such as a favicon, is not counted)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not
                    m.text.startswith("Failed to load resource: the server responded")
                    else None)
            page.goto(f"{server.url}/ui/customers/{customer_id}")
            page.fill("#token", world.tokens["read"])
            page.click("#login")
            assert page.locator("#next-tier").is_visible()
            assert page.locator("#why-changed").is_visible()
            assert page.locator("#next-tier tr.path-change").count() == \
                len(doc["next_tier"].get("changes") or [])
            first = (doc["next_tier"].get("changes") or [{}])[0]
            if first:
                assert first["label"] in page.locator("#next-tier").inner_text()
            assert errors == []
        finally:
            browser.close()
