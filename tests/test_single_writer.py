"""The single-writer rule: while dbt rebuilds the warehouse, analysts' queries and ingestion keep working."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date

import pytest

from creditwh import stages
from creditwh.settings import Home
from synthetic import generate


def cli(home: Home, *args: str, **kwargs) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {"CREDITWH_HOME": str(home.root)}
    return subprocess.Popen([sys.executable, "-m", "creditwh.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> tuple[Home, object]:
    home = Home(tmp_path_factory.mktemp("single-writer") / "home").ensure()
    generate("tiny", 3, home.inbox)
    court = home.inbox / "court_dishonest_debtors"
    held = tmp_path_factory.mktemp("later") / "page_0001.json"
    (court / "page_0001.json").rename(held)  # arrives during the rebuild below
    stages.ingest(home)
    stages.build(home, as_of=date(2026, 11, 25))
    return home, held


def test_reads_and_ingestion_run_while_the_warehouse_is_rebuilt(built_home):
    home, later_court_page = built_home
    build = cli(home, "build", "--as-of", "2026-11-25")
    ingest = cli(home, "ingest", "--feed", "court_dishonest_debtors", str(later_court_page), "--json")
    answers = []
    while build.poll() is None:
        query = cli(home, "sql", "select count(*) as n from dim_entity", "--json")
        out, err = query.communicate(timeout=120)
        assert query.returncode == 0, err  # never "Could not set lock on file"
        answers.append(json.loads(out)[0]["n"])
        time.sleep(0.2)
    _, build_err = build.communicate()
    ingest_out, ingest_err = ingest.communicate(timeout=120)
    assert build.returncode == 0, build_err
    assert ingest.returncode == 0 and json.loads(ingest_out)[0]["status"] == "loaded", ingest_err
    assert len(answers) >= 2 and len(set(answers)) == 1 and answers[0] > 1500
