"""The single-writer rule: while dbt rebuilds the warehouse, analysts' queries and ingestion keep working."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from creditwh import stages
from creditwh.settings import Home
from synthetic import generate


def cli(home: Home, *args: str, **kwargs) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {"CREDITWH_HOME": str(home.root)}
    return subprocess.Popen([sys.executable, "-m", "creditwh.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def dag_run(home: Home, dag_id: str, logical: datetime, metadata_db) -> subprocess.Popen:
    """One dag.test() run in its own interpreter and its own SQLite metadata DB (SQLite takes one writer too)."""
    script = ("import json, sys\nfrom datetime import datetime\nfrom creditwh.airflow_runner import run_dags\n"
              "from creditwh.settings import Home\n"
              "out = run_dags(Home.from_env(), [sys.argv[1]], [datetime.fromisoformat(sys.argv[2])])\n"
              "print('RESULT ' + json.dumps(out, default=str))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {
        "CREDITWH_HOME": str(home.root), "CREDITWH_AIRFLOW_DB_URL": f"sqlite:///{metadata_db}"}
    # output to files, not pipes: the test polls the build while it runs, and a build that logs more than a pipe
    # holds (every dbt node) would block on a full pipe nobody reads
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, "-c", script, dag_id, logical.isoformat()], env=env, stdout=out,
                            stderr=err, text=True)
    proc.output_files = (out, err)
    return proc


def outcome(proc: subprocess.Popen) -> dict:
    proc.wait(timeout=600)
    out, err = (f.seek(0) or f.read() for f in proc.output_files)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, err[-3000:]
    return json.loads(lines[-1][len("RESULT "):])[0]


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> tuple[Home, dict]:
    home = Home(tmp_path_factory.mktemp("single-writer") / "home").ensure()
    generate("tiny", 3, home.inbox)
    later = tmp_path_factory.mktemp("later")
    held = {}  # files that arrive during the rebuild below, by feed
    for feed in ("court_dishonest_debtors", "env_credit_grades"):
        first = sorted((home.inbox / feed).iterdir())[0]
        held[feed] = later / first.name
        first.rename(held[feed])
    stages.ingest(home)
    stages.build(home, as_of=date(2026, 11, 25))
    return home, held


def test_ingestion_dags_and_reads_run_while_the_build_dag_rewrites_the_warehouse(built_home, tmp_path):
    home, later_files = built_home
    noon = datetime(2026, 11, 25, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
    build = dag_run(home, "warehouse_build", noon, tmp_path / "build.db")
    for feed, path in later_files.items():  # the departments deliver while the build runs
        path.rename(home.inbox / feed / path.name)
    runs_before = {feed: len(list(home.landing.glob(f"{feed}/run=2*"))) for feed in later_files}
    ingests = {feed: dag_run(home, f"ingest__{feed}", noon, tmp_path / f"{feed}.db") for feed in later_files}
    answers = []
    while build.poll() is None:
        query = cli(home, "sql", "select count(*) as n from dim_entity", "--json")
        out, err = query.communicate(timeout=120)
        assert query.returncode == 0, err  # never "Could not set lock on file"
        answers.append(json.loads(out)[0]["n"])
        time.sleep(0.2)
    built = outcome(build)
    assert built["state"] == "success" and built["tasks"] == {"build": "success"}, built
    for feed, proc in ingests.items():
        ingested = outcome(proc)
        assert ingested["state"] == "success" and ingested["tasks"]["ingest"] == "success", (feed, ingested)
        assert len(list(home.landing.glob(f"{feed}/run=2*"))) == runs_before[feed] + 1  # this DAG's run landed
    assert len(answers) >= 2 and len(set(answers)) == 1 and answers[0] > 1500
