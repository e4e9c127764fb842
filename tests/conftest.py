"""Shared fixtures: a five-customer CRM world small enough to compute by hand."""

from __future__ import annotations

import datetime as dt
import difflib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

# the store_url fixture (DuckDB, then PostgreSQL) for every module that asks for it
pytest_plugins = ["tests.support.store_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
AS_OF = dt.date(2025, 6, 30)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The bad-input corpus's count per category, at the end of a run that ran it.

    Under pytest-xdist the controller collects nothing itself: the corpus module is imported
    here when any of its tests was reported.
    """
    corpus = sys.modules.get("tests.test_bad_input_corpus")
    if corpus is None:
        ran = any(getattr(report, "nodeid", "").startswith("tests/test_bad_input_corpus.py")
                  for reports in terminalreporter.stats.values() for report in reports)
        if not ran:
            return
        import importlib

        corpus = importlib.import_module("tests.test_bad_input_corpus")
    terminalreporter.write_line(corpus.category_counts())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``), every Spark test goes to one worker.

    The Spark session is session-scoped: one worker starts it once and runs the Spark tests
    while the other worker runs the rest, instead of two JVMs fighting over two cores.
    """
    for item in items:
        if item.get_closest_marker("spark") is not None or "spark_con" in getattr(
                item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("spark"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-snapshots", action="store_true", default=False,
                     help="rewrite the files under tests/snapshots/ from what the code gives "
                          "now; review them in the diff before committing")


@pytest.fixture
def snapshot(request: pytest.FixtureRequest) -> Callable[[Path, str], None]:
    """Compare text with a file under tests/snapshots/; a mismatch fails with a unified diff.

    ``pytest --update-snapshots`` writes the file instead (the change is then reviewed in the
    diff). A missing snapshot fails: it is never created silently.
    """
    update = request.config.getoption("--update-snapshots")

    def check(path: Path, text: str) -> None:
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        name = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        if not path.exists():
            pytest.fail(f"no snapshot {name}: run pytest --update-snapshots and review the new "
                        "file", pytrace=False)
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(difflib.unified_diff(
                expected.splitlines(keepends=True), text.splitlines(keepends=True),
                fromfile=name, tofile="now"))
            pytest.fail(f"{name} differs from what the code gives now (pytest "
                        "--update-snapshots rewrites it; review the diff):\n" + diff,
                        pytrace=False)

    return check


def require_shared_data() -> Path:
    """../shared/data, or a skip (only where it is absent and CI is not set)."""
    if not SHARED_DATA.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SHARED_DATA} is missing but CI=true: the shared data must be there")
        pytest.skip(f"{SHARED_DATA} not present (real CDNOW data lives beside the project)")
    return SHARED_DATA


def ts(*values: str | None) -> list[pd.Timestamp | None]:
    return [pd.Timestamp(v) if v else None for v in values]


@pytest.fixture
def five() -> dict[str, pd.DataFrame]:
    """Five scored customers (c1..c5) plus c6 (created after as_of) and c7 (churned before)."""
    return five_frames()


def five_frames() -> dict[str, pd.DataFrame]:
    """The five-customer world as plain frames (see :func:`five`)."""
    customers = pd.DataFrame({
        "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7"],
        "created_at": ts("2020-01-01", "2023-06-30", "2025-01-01", "2024-06-30", "2022-01-01",
                         "2025-07-15", "2021-01-01"),
        "churned_at": ts(None, None, None, None, None, None, "2025-05-01"),
        "owner": ["A", "B", "A", "B", "A", "A", "B"],
        "size_band": ["large", "medium", "small", None, "large", "small", "small"],
        "employees": [500.0, 120.0, 10.0, None, 2000.0, 5.0, 50.0],
    })
    orders = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(1, 12)],
        "customer_id": ["c1", "c1", "c1", "c1", "c1", "c2", "c2", "c3", "c5", "c7", "c6"],
        "ordered_at": ts("2025-06-20", "2025-01-10", "2024-03-01", "2025-07-05", "2025-05-01",
                         "2025-04-01", "2025-03-01", "2025-06-30", "2024-07-01", "2025-04-01",
                         "2025-07-20"),
        "amount": [1000.0, 500.0, 2000.0, 9999.0, -300.0, 200.0, 100.0, 50.0, 400.0, 80.0, 60.0],
        "cost": [600.0, 200.0, 1000.0, 0.0, 0.0, 150.0, None, None, 100.0, 0.0, 0.0],
        "product_line": ["A", "B", "A", "A", "A", "C", "C", "A", "B", "A", "A"],
        "status": ["paid", "paid", "paid", "paid", "refunded", "paid", None, "paid", "paid",
                   "paid", "paid"],
    })
    inter = []

    def add(cid: str, day: str, kind: str, channel: str = "email", sat: float | None = None):
        inter.append({"customer_id": cid, "occurred_at": pd.Timestamp(day), "kind": kind,
                      "channel": channel, "satisfaction": sat})

    for d in ("2025-06-01", "2025-06-08", "2025-06-15", "2025-06-22"):
        add("c1", d, "email_sent")
    for d in ("2025-06-02", "2025-06-09", "2025-06-16"):
        add("c1", d, "email_opened")
    add("c1", "2025-05-01", "ticket_resolved", "support", 4.0)
    add("c1", "2025-02-01", "ticket_resolved", "support", 5.0)
    add("c2", "2025-05-10", "email_sent")
    add("c2", "2025-05-20", "email_sent")
    add("c2", "2025-03-01", "ticket_resolved", "support", 2.0)
    add("c4", "2025-03-01", "email_sent")
    add("c4", "2025-03-02", "email_opened")
    add("c5", "2025-06-10", "email_sent")
    add("c5", "2025-06-11", "email_sent")
    add("c5", "2025-06-12", "email_opened")
    add("c5", "2025-08-01", "email_opened")  # after as_of: never used
    surveys = pd.DataFrame({
        "customer_id": ["c1", "c1", "c1", "c2", "c2", "c2", "c3", "c5", "c5"],
        "answered_at": ts("2025-05-01", "2024-12-01", "2025-05-01", "2025-01-01", "2025-02-01",
                          "2025-02-01", "2025-03-01", "2024-01-01", "2025-03-01"),
        "kind": ["nps", "nps", "csat", "nps", "nps", "csat", "nps", "nps", "csat"],
        "score": [10.0, 9.0, 5.0, 3.0, 8.0, 2.0, 7.0, 10.0, 4.0],
    })
    return {"customers": customers, "orders": orders, "interactions": pd.DataFrame(inter),
            "surveys": surveys}


# --- synthetic worlds ---------------------------------------------------------------------------

#: the settings every shared synthetic world is generated with (``crindex demo``'s, at 2,000
#: customers): 36 months from 2023-01-01, seed 7, Parquet
WORLD = {"customers": 2000, "start": dt.date(2023, 1, 1), "months": 36, "seed": 7}
#: the day after a shared world's last day, the as_of ``generate`` reports
WORLD_AS_OF = "2026-01-01"


def _world(factory: pytest.TempPathFactory, profile: str) -> Path:
    from crindex.synth import generate

    folder = factory.mktemp(f"world-{profile}")
    info = generate(profile=profile, **WORLD, out=folder, fmt="parquet", progress=False)
    assert str(info["as_of"]) == WORLD_AS_OF
    return folder


# One session-scoped fixture per world: each is generated once for the whole run and shared by
# every test file. They are read-only: a test that changes data copies the folder first.

@pytest.fixture(scope="session")
def ecommerce_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``ecommerce`` world (see :data:`WORLD`), a folder of Parquet tables."""
    return _world(tmp_path_factory, "ecommerce")


@pytest.fixture(scope="session")
def b2b_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``b2b`` world (see :data:`WORLD`), a folder of Parquet tables."""
    return _world(tmp_path_factory, "b2b")


@pytest.fixture(scope="session")
def saas_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``saas`` world (see :data:`WORLD`), a folder of Parquet tables."""
    return _world(tmp_path_factory, "saas")


# --- the command line -------------------------------------------------------------------------

@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``crindex ARGS`` through ``crindex.cli.main()`` in this process.

    The console script's own code path (errors turned into one message and exit 2) without
    a second interpreter start. Returns (exit code, stdout + stderr).
    """
    import sys

    from crindex import cli as cli_module
    from crindex.cli import main

    # one width wherever the suite runs (a terminal, a pipe, a pytest-xdist worker): no line is
    # wrapped mid-path, whatever the length of the temporary folder's name
    monkeypatch.setenv("COLUMNS", "1000")

    def run(*args: str) -> tuple[int, str]:
        from rich.console import Console

        for console in (cli_module.out, cli_module.err):
            console.__dict__.pop("_console", None)  # made anew, under this COLUMNS
        # a command module's own consoles, made when an earlier test imported it
        for name, module in list(sys.modules.items()):
            if name.startswith("crindex.") and name.endswith(".commands"):
                for attr in ("out", "err"):
                    found = getattr(module, attr, None)
                    if isinstance(found, Console):
                        monkeypatch.setattr(module, attr, Console(stderr=found.stderr))
        monkeypatch.setattr(sys, "argv", ["crindex", *args])
        with pytest.raises(SystemExit) as done:
            main()
        captured = capsys.readouterr()
        return int(done.value.code or 0), captured.out + captured.err

    return run


def failed(code: int, text: str, *needles: str) -> None:
    """Assert a clean failure: exit 2, no traceback, and every needle in the message."""
    assert code == 2, text
    assert "Traceback" not in text
    flat = " ".join(text.split())  # rich may wrap a long message
    for needle in needles:
        assert needle in flat, (needle, text)


# --- engines -----------------------------------------------------------------------------------

def _spark_or_skip() -> object:
    """One Ibis PySpark backend on local[2] for the whole run, or a skip with a reason.

    Spark needs pyspark (the ``spark`` extra, in ``dev``) and a Java runtime; without them the
    Spark tests skip on a user's machine and fail when CI=true.
    """
    from crindex.engine import spark

    reason = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        reason = "pyspark is not installed (pip install 'crindex[spark]')"
    if reason is None and not spark.java_available():
        reason = "no Java runtime (Spark needs Java 17)"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Spark suite must run when CI=true: {reason}")
        pytest.skip(reason)
    from crindex.engine.connect import connect

    return connect("spark", master="local[2]")


@pytest.fixture(scope="session")
def spark_con() -> object:
    """A local[2] Spark session shared by every Spark test of the run (it takes ~10 s to start)."""
    return _spark_or_skip()


#: every engine a scoring test runs on through the ``con`` fixture
ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "not_on(engine, reason): a known gap: the test, run through the `con` "
                   "fixture, must fail on `engine` (strict xfail: a pass is reported as an error)")


@pytest.fixture(params=ENGINES)
def con(request: pytest.FixtureRequest) -> object:
    """The engine a scoring test runs on: ``None`` (embedded DuckDB) or the Spark backend.

    A test taking ``con`` runs once per engine. What an engine cannot do is declared on the
    test with ``@pytest.mark.not_on("spark", reason="...")``: there the test is a strict xfail,
    so the day the engine learns it, the suite says so.
    """
    engine = request.param
    for mark in request.node.iter_markers("not_on"):
        if engine in mark.args:
            request.applymarker(pytest.mark.xfail(
                strict=True, reason=f"not on {engine}: {mark.kwargs.get('reason', '')}"))
    if engine == "duckdb":
        return None
    return request.getfixturevalue("spark_con")
