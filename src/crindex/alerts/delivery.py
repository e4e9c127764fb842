"""Delivering alerts: JSON/CSV files per owner, and a signed webhook with retries.

Every attempt is logged in the store (table ``deliveries``) in its own transaction, so a crash
in the middle of a delivery keeps the attempts made so far, and an alert delivered once to a
target is never sent to that target again.

Webhook: one HTTP POST per alert, body ``{"event": "crindex.alert", "alert": {...}}`` (the
same bytes on every attempt), headers ``X-Signature: sha256=<hex HMAC-SHA256 of the body with
the shared secret>``, ``X-Crindex-Alert`` (the alert id, for receivers that deduplicate) and
``X-Crindex-Attempt``. A connection error, a timeout, HTTP 408, 429 or 5xx is retried after
``backoff`` x 2^(attempt - 1) seconds (capped at ``max_backoff``) up to ``attempts`` times;
another 4xx is not retried (the receiver refused the alert).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa

from crindex.store.base import Store, store_error
from crindex.util import atomic_path, atomic_write_text

RETRY_STATUS = frozenset({408, 429})


def sign(secret: str | bytes, body: bytes) -> str:
    """The ``X-Signature`` header value: ``sha256=`` and the HMAC-SHA256 of ``body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(secret: str | bytes, body: bytes, signature: str | None) -> bool:
    """True when ``signature`` is the one :func:`sign` gives (constant-time comparison)."""
    return signature is not None and hmac.compare_digest(sign(secret, body), signature)


def alert_record(row: Any) -> dict[str, Any]:
    """One alert as the JSON object files and webhooks carry."""
    details = row.details
    return {
        "alert_id": int(row.alert_id), "model": row.model_name, "rule": row.rule_id,
        "label": row.label, "severity": row.severity, "customer_id": row.customer_id,
        "owner": row.owner, "status": row.status, "message": row.message,
        "details": json.loads(details) if isinstance(details, str) else details,
        "as_of": str(row.as_of), "run_id": row.run_id, "raised_at": str(row.raised_at),
    }


def _target(url: str) -> str:
    """A URL as logged: without credentials or query (tokens live there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc, query="", fragment=""))


def _delivered(store: Store, target: str) -> tuple[set[int], dict[int, int]]:
    """Alert ids delivered to ``target``, and the attempts made so far per alert."""
    log = store.deliveries(target=target)
    done = {int(a) for a in log.loc[log.ok.astype(bool), "alert_id"]} if len(log) else set()
    tries = log.groupby("alert_id").attempt.max().astype(int).to_dict() if len(log) else {}
    return done, {int(k): v for k, v in tries.items()}


@dataclass
class DeliveryReport:
    """What a delivery did: alerts delivered, alerts that failed, attempts made."""

    target: str
    delivered: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    attempts: int = 0


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float
          ) -> tuple[int | None, str | None]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), None
    except urllib.error.HTTPError as exc:
        return int(exc.code), f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"


def check_webhook(url: str, secret: str | bytes, what: str = "its alerts") -> None:
    """Refuse a webhook without a signing secret or with a URL that is not http(s)."""
    if not secret:
        raise store_error(f"a webhook needs a shared secret to sign {what}",
                          "set it in the environment variable named by --secret-env",
                          "--secret-env")
    if urlsplit(url).scheme not in ("http", "https"):
        raise store_error(f"webhook URL `{url}` is not http(s)",
                          "e.g. https://crm.example.com/hooks/crindex", "--webhook")


def post_signed(url: str, secret: str | bytes, body: bytes, headers: dict[str, str], *,
                first: int = 1, attempts: int = 5, backoff: float = 1.0,
                max_backoff: float = 60.0, timeout: float = 10.0,
                sleep: Callable[[float], None] = time.sleep,
                on_attempt: Callable[[int, bool, int | None, str | None], None] | None = None,
                ) -> tuple[bool, int]:
    """POST ``body`` to ``url``, signed (``X-Signature``), retrying as the module says.

    ``headers`` are added to the signature, content type and ``X-Crindex-Attempt`` (numbered
    from ``first``); ``on_attempt(attempt, ok, status, error)`` sees every attempt (the
    delivery log). Returns (delivered, attempts made).
    """
    signature = sign(secret, body)
    for n in range(max(1, attempts)):
        attempt = first + n
        status, error = _post(url, body, {
            "Content-Type": "application/json; charset=utf-8", "X-Signature": signature,
            "X-Crindex-Attempt": str(attempt), **headers}, timeout)
        ok = status is not None and 200 <= status < 300
        if on_attempt is not None:
            on_attempt(attempt, ok, status, error)
        if ok:
            return True, n + 1
        retry = status is None or status >= 500 or status in RETRY_STATUS
        if not retry or n == attempts - 1:
            return False, n + 1
        sleep(min(max_backoff, backoff * 2 ** n))
    return False, max(1, attempts)


def deliver_webhook(store: Store, url: str, secret: str | bytes, *,
                    model_name: str | None = None, attempts: int = 5, backoff: float = 1.0,
                    max_backoff: float = 60.0, timeout: float = 10.0,
                    sleep: Callable[[float], None] = time.sleep) -> DeliveryReport:
    """POST every open alert not yet delivered to ``url``, signed, with retries.

    Parameters
    ----------
    secret
        The shared secret of the HMAC-SHA256 signature (``X-Signature``).
    attempts
        Tries per alert in this call (at least 1).
    backoff, max_backoff
        The pause before retry n is ``backoff * 2 ** (n - 1)`` seconds, at most ``max_backoff``.
    """
    check_webhook(url, secret)
    target = _target(url)
    report = DeliveryReport(target)
    done, tries = _delivered(store, target)
    pending = store.alerts(status="open", model_name=model_name)
    for row in pending.sort_values("alert_id").itertuples(index=False):
        alert_id = int(row.alert_id)
        if alert_id in done:
            continue
        body = json.dumps({"event": "crindex.alert", "alert": alert_record(row)},
                          ensure_ascii=False, sort_keys=True).encode("utf-8")

        def log(attempt: int, ok: bool, status: int | None, error: str | None,
                alert_id: int = alert_id) -> None:
            store.log_delivery(alert_id, "webhook", target, attempt, ok, status, error)

        ok, made = post_signed(url, secret, body, {"X-Crindex-Alert": str(alert_id),
                                                   "User-Agent": "crindex-alerts"},
                               first=tries.get(alert_id, 0) + 1, attempts=attempts,
                               backoff=backoff, max_backoff=max_backoff, timeout=timeout,
                               sleep=sleep, on_attempt=log)
        report.attempts += made
        (report.delivered if ok else report.failed).append(alert_id)
    return report


_SAFE = re.compile(r"[^\w.-]+", re.UNICODE)


def _write_set(frame: pd.DataFrame, base: Path, formats: tuple[str, ...]) -> list[Path]:
    from crindex.output import dumps, write_csv_bom

    written = []
    records = [alert_record(r) for r in frame.itertuples(index=False)]
    if "json" in formats:
        path = base.with_suffix(".json")
        atomic_write_text(path, dumps(records) + "\n")
        written.append(path)
    if "csv" in formats:
        path = base.with_suffix(".csv")
        flat = [dict(r, details=json.dumps(r["details"], ensure_ascii=False, default=str))
                for r in records]
        table = pa.Table.from_pylist(flat) if flat else pa.table(
            {k: pa.array([], pa.string()) for k in ("alert_id", "model", "rule", "severity",
                                                    "customer_id", "owner", "message")})
        with atomic_path(path) as tmp:
            write_csv_bom(table, tmp)
        written.append(path)
    return written


def deliver_files(store: Store, out_dir: str | Path, formats: tuple[str, ...] = ("json", "csv"),
                  model_name: str | None = None) -> list[Path]:
    """Write the open and acknowledged alerts: all of them and one set per owner.

    ``out_dir/alerts.json|csv`` holds every alert, ``out_dir/owners/<owner>.json|csv`` each
    owner's (files of owners without alerts are removed). Each file lands whole (written
    under a temporary name, then renamed). Alerts written for the first time are logged as
    delivered to the folder.
    """
    bad = [f for f in formats if f not in ("json", "csv")]
    if bad:
        raise store_error(f"unknown alert file format {', '.join(bad)}", "use json and/or csv",
                          "--format")
    out = Path(out_dir)
    alerts = store.alerts(model_name=model_name)
    inbox = alerts[alerts.status.isin(["open", "acknowledged"])]
    written = _write_set(inbox, out / "alerts", formats)
    owners_dir = out / "owners"
    owners_dir.mkdir(parents=True, exist_ok=True)
    kept = set()
    for owner, group in inbox.groupby(inbox.owner.fillna("(unassigned)")):
        paths = _write_set(group, owners_dir / (_SAFE.sub("_", str(owner)) or "_"), formats)
        kept.update(paths)
        written += paths
    for stale in owners_dir.iterdir():
        if stale.is_file() and stale.suffix in (".json", ".csv") and stale not in kept:
            stale.unlink()
    target = str(out.resolve())
    done, _ = _delivered(store, target)
    store.log_deliveries([(int(a), "file", target, 1, True, None, None)
                          for a in inbox.alert_id if int(a) not in done])
    return written
