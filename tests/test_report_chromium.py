"""Both HTML reports render in headless Chromium with the network cut off, charts drawn.

Chromium is Debian's (``make browser`` installs it). Screenshots are kept in tests/artifacts/
(gitignored) for a human to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from crindex.api import score
from crindex.backtest.run import run_backtest
from crindex.data import open_dataset
from crindex.examples import example_path
from crindex.model.loader import load_model
from crindex.report import svg
from crindex.report.html import write_backtest
from crindex.report.palette import tier_colors
from crindex.report.scoring import report_figures, write_report

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SIZE = (1200, 2000)


def chromium() -> str:
    """The chromium binary, or a skip (a failure when CI=true)."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing but CI=true: `make browser` installs it")
        pytest.skip("chromium not installed (`make browser` installs Debian's chromium)")
    return found


def offline_prefix() -> list[str]:
    """Run in a fresh network namespace (no interface but loopback) where that is allowed."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def render(page: Path, shot: Path) -> str:
    """Screenshot ``page`` into ``shot``; return the DOM Chromium built from it."""
    cmd = [*offline_prefix(), chromium(), "--headless", "--no-sandbox", "--disable-gpu",
           # and, even where the namespace is not available, no name resolves and every
           # connection goes to a closed port
           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
           "--disable-background-networking", "--hide-scrollbars",
           f"--screenshot={shot}", "--dump-dom", f"--window-size={SIZE[0]},{SIZE[1]}",
           page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.exists(), proc.stderr[-2000:]
    return proc.stdout


def colour_counts(shot: Path) -> dict[str, int]:
    """Pixels of each chart colour (exact RGB) in the screenshot."""
    from PIL import Image

    with Image.open(shot) as img:
        assert img.size == SIZE
        counts = {f"#{r:02x}{g:02x}{b:02x}": n
                  for n, (r, g, b) in img.convert("RGB").getcolors(maxcolors=SIZE[0] * SIZE[1])}
    return counts


@pytest.fixture(scope="module")
def pages(tmp_path_factory, ecommerce_world) -> dict[str, Path]:
    chromium()
    out = tmp_path_factory.mktemp("pages")
    model = load_model(example_path("ecommerce"))
    data = open_dataset(ecommerce_world, model=model)
    report = run_backtest(model, data, ["2025-03-31", "2025-06-30"], "90d", n_boot=100)
    backtest_html = write_backtest(report, out / "backtest", "en")[1]
    figures = report_figures(score(model, data, "2025-06-30"))
    report_html = write_report(figures, out / "report.html", "zh")[0]
    return {"backtest": backtest_html, "report": report_html}


def test_backtest_page_renders_its_charts_offline(pages):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "backtest_en.png"
    shot.unlink(missing_ok=True)
    dom = render(pages["backtest"], shot)
    # 4 charts over time + 4 for each of the 2 dates + the model's weights
    assert len(re.findall(r'<svg class="chart"', dom)) == 4 + 2 * 4 + 1
    assert len(re.findall(r'<polyline class="line"', dom)) == 1 + 1 + 4 + 4
    colours = colour_counts(shot)
    # the first screen holds the lines over time and the first date's bar charts: the main
    # colour (lines, decile and band bars) and each tier's colour (its lines, its bar) painted
    assert colours.get(svg.PALETTE[0], 0) > 3000
    model = load_model(example_path("ecommerce"))
    for tier_colour in tier_colors(model.tiers.order).values():
        assert colours.get(tier_colour, 0) > 100
    assert max(colours.values()) < 0.95 * SIZE[0] * SIZE[1]  # not a blank page


def test_scoring_report_renders_its_charts_offline(pages):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report_zh.png"
    shot.unlink(missing_ok=True)
    dom = render(pages["report"], shot)
    assert len(re.findall(r'<svg class="chart"', dom)) == 4
    assert len(re.findall(r'<rect class="bar"', dom)) == 4 + 20 + 3 + 5
    colours = colour_counts(shot)
    # histogram bars (main colour) and dimension bars (second colour) fill whole areas
    assert colours.get(svg.PALETTE[0], 0) > 10000
    assert colours.get(svg.PALETTE[1], 0) > 10000
    assert max(colours.values()) < 0.95 * SIZE[0] * SIZE[1]
