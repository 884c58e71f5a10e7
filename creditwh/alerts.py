"""Alerts an on-call engineer reads: one JSON line per event in <home>/alerts/alerts.jsonl, and optionally a webhook.

Airflow's failure callbacks and the late-feed check (the feeds' deadlines) both come here, so there is one place
to look (`creditwh alerts`) whatever raised it. Sending an alert never fails the caller: a webhook that does not
answer is noted in the alert line itself.
"""
from __future__ import annotations

import fcntl
import json
import os
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from creditwh.settings import Home

WEBHOOK_ENV = "CREDITWH_ALERT_WEBHOOK"
WEBHOOK_TIMEOUT_SECONDS = 5
KINDS = ("task_failed", "feed_late")


@dataclass
class Alert:
    kind: str                 # one of KINDS
    message: str              # one sentence a person can act on
    dag_id: str | None = None
    task_id: str | None = None
    run_id: str | None = None
    feed: str | None = None
    details: dict = field(default_factory=dict)
    raised_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    webhook: str | None = None  # "sent", "failed: <why>" or None when no webhook is configured


def alerts_file(home: Home):
    return home.alerts / "alerts.jsonl"


def raise_alert(home: Home, alert: Alert) -> Alert:
    if alert.kind not in KINDS:
        raise ValueError(f"alert kind must be one of {KINDS}, not {alert.kind!r}")
    url = os.environ.get(WEBHOOK_ENV)
    if url:
        alert.webhook = _post(url, alert)
    path = alerts_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(alert), ensure_ascii=False, default=str) + "\n"
    with open(path, "a", encoding="utf-8") as fh:  # parallel tasks append whole lines, never interleaved
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        fh.write(line)
        fh.flush()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return alert


def _post(url: str, alert: Alert) -> str:
    body = json.dumps({"text": f"[credit-warehouse] {alert.kind}: {alert.message}", "alert": asdict(alert)},
                      ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return "sent" if 200 <= response.status < 300 else f"failed: HTTP {response.status}"
    except Exception as exc:  # the alert itself must still be written
        return f"failed: {type(exc).__name__}: {exc}"


def read_alerts(home: Home, limit: int | None = None, kind: str | None = None) -> list[dict]:
    path = alerts_file(home)
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if kind:
        rows = [r for r in rows if r["kind"] == kind]
    return rows[-limit:] if limit else rows
