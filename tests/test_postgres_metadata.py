"""The production metadata path: `airflow db migrate` and a DAG run against a real PostgreSQL server, started
here from Debian's packages (what docker/compose.yaml runs as its `postgres` service)."""
from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from creditwh.settings import Home
from synthetic import generate

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
pytestmark = pytest.mark.skipif(not PG_BIN, reason="PostgreSQL server binaries (Debian package postgresql) absent")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root; CI and sessions here run as root, a developer's laptop usually not.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres():
    bin_dir = Path(PG_BIN[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="creditwh-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        os.chmod(root, 0o755)
    subprocess.run(_as_postgres_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                      "--encoding=UTF8", "--no-instructions"]), check=True, capture_output=True)
    port = _free_port()
    log = root / "server.log"
    subprocess.run(_as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start",
                                      "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1"]),
                   check=True, capture_output=True)
    try:
        for _ in range(50):
            ready = subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                                   capture_output=True)
            if ready.returncode == 0:
                break
            time.sleep(0.2)
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c",
                        "create database airflow"], check=True, capture_output=True)
        yield {"url": f"postgresql+psycopg2://postgres@127.0.0.1:{port}/airflow", "port": port}
    finally:
        subprocess.run(_as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_airflow_migrates_and_runs_a_generated_dag_on_postgresql(postgres, tmp_path):
    home = Home(tmp_path / "home").ensure()
    generate("tiny", 5, home.inbox)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {
        "CREDITWH_HOME": str(home.root), "CREDITWH_AIRFLOW_DB_URL": postgres["url"],
        "AIRFLOW_HOME": str(home.airflow_home), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres["url"],
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    home.airflow_home.mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).parent / "airflow")
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stderr[-3000:]

    due = datetime(2026, 11, 25, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
    script = ("import json, sys\nfrom datetime import datetime\nfrom creditwh.airflow_runner import run_dags\n"
              "from creditwh.settings import Home\n"
              "out = run_dags(Home.from_env(), ['ingest__samr_penalties'], [datetime.fromisoformat(sys.argv[1])])\n"
              "from airflow.settings import engine\n"
              "print('RESULT ' + json.dumps({'runs': out, 'dialect': engine.dialect.name}, default=str))\n")
    proc = subprocess.run([sys.executable, "-c", script, due.isoformat()], env=env, capture_output=True, text=True,
                          timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["dialect"] == "postgresql"
    assert result["runs"][0]["state"] == "success" and result["runs"][0]["tasks"] == {"ingest": "success"}

    # The run and its Asset event are rows of the PostgreSQL metadata DB.
    query = ("select dr.state, (select count(*) from asset_event ae join asset a on a.id = ae.asset_id "
             "where a.uri = 'creditwh://landing/samr_penalties') from dag_run dr where dr.dag_id = 'ingest__samr_penalties'")
    psql = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(postgres["port"]), "-U", "postgres", "-d", "airflow",
                           "-At", "-c", query], capture_output=True, text=True, check=True)
    assert psql.stdout.strip() == "success|1"
    assert list(home.landing.glob("samr_penalties/run=*/part-*.parquet"))
