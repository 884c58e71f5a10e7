"""The documented local UI command really serves Airflow's API with the project's DAGs loaded."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from creditwh.orchestration import WAREHOUSE_WRITER_POOL
from ingestion.contracts import load_contracts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, data: dict | None = None, token: str | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode())


def test_airflow_ui_answers_and_lists_the_pipeline_dag(tmp_path):
    port = free_port()
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    log = (tmp_path / "ui.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "creditwh.cli", "airflow-ui", "--home", str(home), "--port",
                             str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, health = time.monotonic() + 180, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = call(f"{base}/api/v2/monitor/health")
                break
            except OSError:
                time.sleep(2)
        assert health is not None, (tmp_path / "ui.log").read_text()[-3000:]
        assert health["metadatabase"]["status"] == "healthy"
        passwords = json.loads((home / "airflow" / "simple_auth_manager_passwords.json.generated").read_text())
        token = call(f"{base}/auth/token", {"username": "admin", "password": passwords["admin"]})["access_token"]
        expected = {"credit_pipeline", "warehouse_build", "quality_gate", "publication", "credit_index_daily"} | {
            f"ingest__{feed}" for feed in load_contracts()}
        dag_ids: set[str] = set()
        while time.monotonic() < deadline and not expected <= dag_ids:  # the dag-processor needs a moment
            dag_ids = {d["dag_id"] for d in call(f"{base}/api/v2/dags?limit=100", token=token)["dags"]}
            time.sleep(1)
        assert expected <= dag_ids, expected - dag_ids
        pools = {p["name"]: p["slots"] for p in call(f"{base}/api/v2/pools", token=token)["pools"]}
        assert pools.get(WAREHOUSE_WRITER_POOL) == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
