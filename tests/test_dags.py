"""The DAG folder: generated from the feed contracts, linked by Assets, light to parse, safe to operate."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from creditwh.orchestration import (WAREHOUSE_ASSET_URI, WAREHOUSE_WRITER_POOL,
                                    alert_on_failure, landing_asset_uri)
from creditwh.settings import CONTRACTS_DIR, DAGS_DIR
from ingestion.contracts import load_contracts

DOWNSTREAM = {"warehouse_build", "quality_gate", "publication", "credit_index_daily", "credit_pipeline"}


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert not bag.import_errors, bag.import_errors
    return bag


def test_one_ingestion_dag_per_contract_on_its_due_time(bag):
    contracts = load_contracts()
    assert set(bag.dags) == {f"ingest__{feed}" for feed in contracts} | DOWNSTREAM
    for feed, contract in contracts.items():
        dag = bag.dags[f"ingest__{feed}"]
        assert dag.timetable._expression == contract.schedule
        assert str(dag.timetable._timezone) == "Asia/Shanghai"
        ingest = dag.get_task("ingest")
        assert [a.uri for a in ingest.outlets] == [landing_asset_uri(feed)]
        if contract.pull:  # an API feed is pulled first, with spaced retries
            pull = dag.get_task("pull")
            assert pull.retries >= 3 and pull.retry_exponential_backoff
            assert ingest.upstream_task_ids == {"pull"} and ingest.trigger_rule == "none_failed"


def test_the_build_follows_any_feed_and_the_gate_and_publication_follow_the_build(bag):
    build_condition = bag.dags["warehouse_build"].timetable.asset_condition
    assert type(build_condition).__name__ == "AssetAny"
    assert {a.uri for a in build_condition.objects} == {landing_asset_uri(f) for f in load_contracts()}
    gate = bag.dags["quality_gate"].timetable.asset_condition
    assert [a.uri for a in gate.objects] == [a.uri for a in bag.dags["warehouse_build"].get_task("build").outlets]
    publication = bag.dags["publication"].timetable.asset_condition
    assert [a.uri for a in publication.objects] == [a.uri for a in bag.dags["quality_gate"].get_task("validate").outlets]


def test_every_dbt_task_takes_the_single_writer_pool_and_every_task_alerts_on_failure(bag):
    dbt_tasks = {("warehouse_build", "build"), ("credit_pipeline", "build"), ("credit_index_daily", "snapshot_index")}
    for dag in bag.dags.values():
        assert dag.catchup is False and dag.max_active_runs == 1, dag.dag_id
        for t in dag.tasks:
            assert t.on_failure_callback == [alert_on_failure] or t.on_failure_callback == alert_on_failure, \
                (dag.dag_id, t.task_id)
            assert (t.pool == WAREHOUSE_WRITER_POOL) == ((dag.dag_id, t.task_id) in dbt_tasks), (dag.dag_id, t.task_id)


def test_the_demo_pipeline_runs_the_stages_in_order(bag):
    dag = bag.dags["credit_pipeline"]
    upstream = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
    assert upstream == {"ingest": set(), "build": {"ingest"}, "validate": {"build"}, "publish": {"validate"},
                        "report": {"build"}}


def _parse_in_subprocess(env: dict) -> dict:
    probe = (
        "import sys, json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(DAGS_DIR)!r})\n"
        "heavy = ['duckdb', 'polars', 'pandas', 'great_expectations', 'dbt', 'ingestion.run', 'ingestion.readers',\n"
        "         'quality', 'publication', 'synthetic']\n"
        "build = bag.dags.get('warehouse_build')\n"
        "print(json.dumps({'dags': sorted(bag.dags), 'errors': {k: v[-300:] for k, v in bag.import_errors.items()},\n"
        "                  'build_assets': sorted(a.uri for a in build.timetable.asset_condition.objects) if build else [],\n"
        "                  'build_task': {'pool': build.get_task('build').pool,\n"
        "                                 'outlets': [a.uri for a in build.get_task('build').outlets]} if build else {},\n"
        "                  'loaded': [m for m in heavy if m in sys.modules]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_parsing_the_dag_folder_imports_no_stage_code():
    """The scheduler parses DAG files often: the heavy libraries load in tasks, never at parse time."""
    result = _parse_in_subprocess(os.environ.copy())
    assert result["errors"] == {} and result["loaded"] == []
    assert len(result["dags"]) == len(load_contracts()) + len(DOWNSTREAM)


def test_adding_a_contract_adds_a_dag_and_a_build_trigger(tmp_path):
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, contracts)
    text = (CONTRACTS_DIR / "samr_penalties.yaml").read_text(encoding="utf-8")
    (contracts / "housing_penalties.yaml").write_text(
        text.replace("id: samr_penalties", "id: housing_penalties")
            .replace("department: market_regulation", "department: housing_construction")
            .replace('schedule: "0 2 * * *"', 'schedule: "30 8 * * 1-5"'), encoding="utf-8")
    result = _parse_in_subprocess(os.environ.copy() | {"CREDITWH_CONTRACTS_DIR": str(contracts)})
    assert result["errors"] == {}
    assert "ingest__housing_penalties" in result["dags"]
    assert landing_asset_uri("housing_penalties") in result["build_assets"]


def test_the_engine_decides_the_writer_pool_and_what_a_build_triggers():
    """DuckDB keeps its single writer; Spark has no file to lock. Both publish the warehouse the gate reads."""
    duckdb = _parse_in_subprocess(os.environ.copy() | {"CREDITWH_ENGINE": "duckdb"})
    assert duckdb["build_task"] == {"pool": WAREHOUSE_WRITER_POOL, "outlets": [WAREHOUSE_ASSET_URI]}
    spark = _parse_in_subprocess(os.environ.copy() | {"CREDITWH_ENGINE": "spark"})
    assert spark["errors"] == {}
    assert spark["build_task"] == {"pool": "default_pool", "outlets": [WAREHOUSE_ASSET_URI]}
    wrong = _parse_in_subprocess(os.environ.copy() | {"CREDITWH_ENGINE": "oracle"})
    assert "CREDITWH_ENGINE='oracle': choose one of duckdb, spark" in " ".join(wrong["errors"].values())
