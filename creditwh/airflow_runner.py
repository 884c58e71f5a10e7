"""Run the pipeline DAG through real Airflow in this process with dag.test(): no server, no scheduler.

Airflow reads its configuration when it is first imported, so the environment is prepared before the import and
the demo calls this module as a subprocess (`python -m creditwh.airflow_runner`). The metadata DB is a throwaway
SQLite file under the home's airflow/ directory.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from creditwh.settings import DAGS_DIR, Home

DAG_ID = "credit_pipeline"


def airflow_env(home: Home) -> dict[str, str]:
    """Environment for an embedded Airflow whose state lives under the home directory."""
    return {
        "CREDITWH_HOME": str(home.root),
        "AIRFLOW_HOME": str(home.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home.airflow_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
    }


def run_dag(home: Home, as_of: date, result_file: Path) -> int:
    """Migrate the metadata DB, load the DAG folder, dag.test() one run; write the outcome as JSON."""
    home.airflow_home.mkdir(parents=True, exist_ok=True)
    os.environ.update(airflow_env(home))
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.initdb()
    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        outcome = {"state": "import_error", "errors": {k: v.strip().splitlines()[-1] for k, v in bag.import_errors.items()}}
    else:
        logical = datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc)
        dag_run = bag.dags[DAG_ID].test(logical_date=logical)
        tasks = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
        outcome = {"state": str(dag_run.state), "run_id": dag_run.run_id, "tasks": tasks}
    result_file.write_text(json.dumps(outcome, ensure_ascii=False, default=str, indent=2), encoding="utf-8")
    return 0 if outcome["state"] == "success" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m creditwh.airflow_runner")
    parser.add_argument("--home", required=True)
    parser.add_argument("--as-of", required=True, type=date.fromisoformat)
    parser.add_argument("--result", required=True, type=Path)
    args = parser.parse_args(argv)
    return run_dag(Home.from_env(args.home), args.as_of, args.result)


if __name__ == "__main__":
    sys.exit(main())
