"""``crindex serve --live``: events over HTTP, and a SIGKILL mid-stream loses no acknowledged one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from crindex.record import record_run
from crindex.service.auth import create_token
from crindex.store import open_store
from tests.support.service import free_port
from tests.test_live import AS_OF, batch_over, world


class LiveServer:
    """``crindex serve --live`` in a subprocess on a free port, ready to take events."""

    def __init__(self, store: Path, model: Path, data: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from crindex.cli import main; main()", "serve", "--live",
             "--store", str(store), "--model", str(model), "--data", str(data),
             "--port", str(self.port), "--refresh", "0.5"],
            stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.logfile = log

    def wait_ready(self, token: str) -> dict[str, Any]:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.logfile.read_text("utf-8", "replace")
            try:
                answer = httpx.get(self.url + "/v1/events/status", timeout=2,
                                   headers={"Authorization": f"Bearer {token}"})
                if answer.status_code == 200 and answer.json()["ready"]:
                    return dict(answer.json())
                if answer.status_code == 200 and answer.json()["error"]:
                    raise AssertionError(answer.json()["error"])
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("the live scorer did not get ready:\n"
                             + self.logfile.read_text("utf-8", "replace"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def order(customer: str, n: int) -> dict[str, Any]:
    return {"event": "order", "customer_id": customer, "order_id": f"KILL-{n}",
            "ordered_at": "2025-06-29T09:00:00", "amount": 10.0 + n}


def test_events_over_http_and_a_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    w = world()
    path = tmp_path / "history.duckdb"
    store = open_store(path)
    record_run(store, w.previous, "fp")
    write = create_token(store, "crm", ["write"])[0]
    read = create_token(store, "viewer", ["read"])[0]
    model = w.folder / "model.yaml"
    server = LiveServer(path, model, w.data, tmp_path / "serve.log")
    try:
        server.wait_ready(read)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            # a read token may not send events; bad events are 422 with where and why
            refused = client.post("/v1/events", json=order(w.ids[0], 0),
                                  headers={"Authorization": f"Bearer {read}"})
            assert refused.status_code == 403
            auth = {"Authorization": f"Bearer {write}"}
            bad = client.post("/v1/events", json={"events": [
                order(w.ids[0], 0), {"event": "order", "customer_id": w.ids[0]}]}, headers=auth)
            assert bad.status_code == 422
            wheres = [p["where"] for p in bad.json()["error"]["problems"]]
            assert wheres == ["events[1].ordered_at", "events[1].amount"]
            # one event, then a batch: each answer carries the rescored customers' rows
            single = client.post("/v1/events", json=order(w.ids[0], 1), headers=auth)
            assert single.status_code == 201, single.text
            assert [c["customer_id"] for c in single.json()["customers"]] == [w.ids[0]]
            batch = client.post("/v1/events", json=[order(w.ids[1], 2), order(w.ids[2], 3)],
                                headers=auth)
            assert batch.status_code == 201 and len(batch.json()["events"]) == 2
        acked: list[str] = ["KILL-1", "KILL-2", "KILL-3"]
        stop = threading.Event()

        def send() -> None:
            n = 4
            with httpx.Client(base_url=server.url, timeout=10,
                              headers={"Authorization": f"Bearer {write}"}) as client:
                while not stop.is_set():
                    try:
                        answer = client.post("/v1/events", json=order(w.ids[n % 10], n))
                    except httpx.HTTPError:
                        return              # the server is gone
                    if answer.status_code == 201:
                        acked.append(f"KILL-{n}")
                    n += 1

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 120
        while len(acked) < 15 and time.monotonic() < deadline and sender.is_alive():
            time.sleep(0.05)
        os.kill(server.proc.pid, signal.SIGKILL)    # mid-stream: requests are in flight
        server.proc.wait()
        stop.set()
        sender.join(30)
        assert len(acked) >= 15
    finally:
        server.stop()
    kept = [json.loads(t)["order_id"] for t in open_store(path).events()["row_json"]]
    assert set(acked) <= set(kept)                  # every acknowledged event was kept
    # a restart's full run takes every kept event in: the run equals a batch over them
    again = LiveServer(path, model, w.data, tmp_path / "serve2.log")
    try:
        status = again.wait_ready(read)
        assert status["last_event"] == len(kept)
        # POST /v1/runs at the live as_of is the live scorer's full run: events included
        admin = create_token(open_store(path), "ops", ["admin"])[0]
        rerun = httpx.post(again.url + "/v1/runs", json={"as_of": AS_OF.isoformat()},
                           headers={"Authorization": f"Bearer {admin}"}, timeout=300)
        assert rerun.status_code == 201, rerun.text
        run = open_store(path).run(rerun.json()["run_id"])
        assert run.data_fingerprint.endswith(f"+events:{len(kept)}")
    finally:
        again.stop()
    store = open_store(path)
    rows = [json.loads(t) for t in store.events()["row_json"]]
    expected = batch_over(w, rows).table.to_pandas().set_index("customer_id")
    got = store.scores(store.run(AS_OF.isoformat(), w.model.name).run_id) \
        .set_index("customer_id")
    assert (got["score"] - expected.loc[got.index, "score"]).abs().max() <= 1e-9
    assert got["tier"].tolist() == expected.loc[got.index, "tier"].tolist()
