"""The DAG folder imports cleanly, the pipeline DAG is wired in stage order, and parsing stays light."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from creditwh.settings import DAGS_DIR


def test_dagbag_has_no_import_errors_and_the_pipeline_runs_in_stage_order():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["credit_pipeline"]
    assert dag.catchup is False and dag.max_active_runs == 1
    assert [t.task_id for t in dag.topological_sort()] == ["ingest", "build", "validate", "publish"]


def test_parsing_the_dag_folder_imports_no_stage_code():
    """DAG files are wiring only: the scheduler parses them often, so the heavy libraries load in tasks."""
    probe = (
        "import sys, json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(DAGS_DIR)!r})\n"
        "heavy = ['duckdb', 'polars', 'great_expectations', 'dbt', 'ingestion', 'quality', 'publication']\n"
        "print(json.dumps({'dags': sorted(bag.dags), 'loaded': [m for m in heavy if m in sys.modules]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ.copy(),
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"dags": ["credit_pipeline"], "loaded": []}
