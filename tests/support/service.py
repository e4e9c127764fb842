"""Test helpers: a small scored store and a real server (``crindex serve`` in a subprocess).

The world (500 synthetic B2B customers, scored on two dates, three alerts, one token per
scope) is built once per test session and shared by the API and dashboard tests; each test
module starts its own server on a free loopback port on a copy of the store.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

AS_OF = dt.date(2025, 6, 30)
PREVIOUS = dt.date(2025, 3, 31)


@dataclass
class World:
    """A scored store and what the tests need to know about it."""

    folder: Path
    data: Path
    store: Path
    model: Path
    tokens: dict[str, str]  # scope -> token
    alert_ids: list[int]
    alert_customers: list[str]
    results: dict[dt.date, Any]  # as_of -> ScoreResult


_WORLD: World | None = None

ALERT_RULE = """
alerts:
  - id: below_25
    label: Score below 25
    rule: score_below
    threshold: 25
    severity: high
# the data ends on 2025-06-30 and POST /v1/runs scores 2025-09-30, 92 days later: more than
# the stale-data guardrail's default 60 days allow (see docs/data.md, Guardrails)
guardrails: {max_age_days: 100}
"""


def build_world() -> World:
    """Generate, score (2025-03-31 and 2025-06-30), store, raise alerts, make tokens (once)."""
    global _WORLD
    if _WORLD is not None:
        return _WORLD
    from crindex.alerts.evaluate import import_alerts
    from crindex.api import score
    from crindex.examples import example_path
    from crindex.service.auth import create_token
    from crindex.store import fingerprint, open_store
    from crindex.synth import generate

    folder = Path(tempfile.mkdtemp(prefix="crindex-service-"))
    atexit.register(shutil.rmtree, folder, True)
    data = folder / "data"
    generate("b2b", customers=500, start="2024-01-01", months=18, seed=7, out=data,
             progress=False)
    # the shipped b2b model plus one alert rule, so that POST /v1/runs has rules to evaluate
    # (alerts are not part of the model's hash: snapshots of both read as the same model)
    model = folder / "b2b.yaml"
    model.write_text(example_path("b2b").read_text(encoding="utf-8") + ALERT_RULE,
                     encoding="utf-8")
    store_path = folder / "history.duckdb"
    store = open_store(store_path)
    results = {}
    for day in (PREVIOUS, AS_OF):
        results[day] = score(model, str(data), day)
        store.write_snapshot(results[day], fingerprint(str(data)))
    run = store.latest_run()
    latest = results[AS_OF].table.sort_by([("score", "ascending")]).to_pylist()
    hits = [{"rule_id": "low_score", "label": "Low score", "severity": sev,
             "customer_id": row["customer_id"], "owner": row["owner"],
             "message": f"score {row['score']:.1f} is below 30",
             "details": {"score": row["score"]}}
            for row, sev in zip(latest[:3], ("high", "medium", "medium"), strict=True)]
    new_ids = import_alerts(store, run, hits)
    tokens = {scope: create_token(store, f"test-{scope}", [scope])[0]
              for scope in ("read", "write", "admin")}
    _WORLD = World(folder, data, store_path, model, tokens, new_ids,
                   [h["customer_id"] for h in hits], results)
    return _WORLD


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``crindex serve`` in a subprocess on a copy of the world's store (or of ``source``)."""

    def __init__(self, world: World, name: str, data: bool = True,
                 refresh: float = 0.5, source: Path | None = None,
                 model: Path | None = None, location: str | None = None,
                 tokens: dict[str, str] | None = None) -> None:
        """``location`` serves that store as it is (e.g. a PostgreSQL URL), with ``tokens``."""
        self.world = world
        self.name = name
        self.tokens = tokens or world.tokens
        if location is not None:
            self.store: Path | str = location
        else:
            self.store = world.folder / f"{name}.duckdb"
            shutil.copyfile(source or world.store, self.store)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-c", "from crindex.cli import main; main()", "serve",
                "--store", str(self.store), "--model", str(model or world.model),
                "--port", str(self.port), "--refresh", str(refresh)]
        if data:
            args += ["--data", str(world.data)]
        self.log = open(world.folder / f"{name}.log", "w+b")  # noqa: SIM115
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + self.output())
            time.sleep(0.1)

    def output(self) -> str:
        if self.log.closed:
            return (self.world.folder / f"{self.name}.log").read_text("utf-8", "replace")
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def client(self, scope: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[scope]}"} if scope else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def form_token(html: str) -> str:
    """The CSRF token of the first form of a dashboard page."""
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def sign_in(server: Server, token: str, **headers: str) -> tuple[httpx.Client, str]:
    """Sign in through the login form as a browser would; returns (client, the form token).

    The client keeps the session cookie and sends this site's ``Origin``.
    """
    client = httpx.Client(base_url=server.url, timeout=30,
                          headers={"Origin": server.url, **headers})
    login = client.get("/ui/login")
    assert login.status_code == 200
    done = client.post("/ui/login", data={"token": token, "next": "/ui/",
                                          "csrf": form_token(login.text)})
    assert done.status_code == 303, done.text
    home = client.get("/ui/")
    assert home.status_code == 200
    return client, form_token(home.text)
