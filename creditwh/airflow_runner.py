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
        # Embedded default: a SQLite file under the home. CREDITWH_AIRFLOW_DB_URL points the same runner at a
        # production metadata DB (PostgreSQL: postgresql+psycopg2://user@host/db).
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": os.environ.get("CREDITWH_AIRFLOW_DB_URL")
        or f"sqlite:///{home.airflow_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
    }


def prepare_metadata() -> None:
    """Create or upgrade the metadata DB and the pools the DAGs use (what `airflow db migrate` and
    `airflow pools set` do in a deployment)."""
    from airflow.models.pool import Pool
    from airflow.utils import db

    from creditwh.orchestration import WAREHOUSE_WRITER_POOL, WAREHOUSE_WRITER_POOL_DESCRIPTION

    db.initdb()
    Pool.create_or_update_pool(WAREHOUSE_WRITER_POOL, slots=1, description=WAREHOUSE_WRITER_POOL_DESCRIPTION,
                               include_deferred=False)


def run_dags(home: Home, dag_ids: list[str], logical_dates: list[datetime | None]) -> list[dict]:
    """dag.test() each DAG in turn (one run each, at its logical date); the outcome of every run.

    A run's logical date None stands for an asset-triggered run (Airflow 3 gives those none)."""
    home.airflow_home.mkdir(parents=True, exist_ok=True)
    os.environ.update(airflow_env(home))
    from airflow.dag_processing.dagbag import DagBag

    prepare_metadata()
    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        return [{"state": "import_error",
                 "errors": {k: v.strip().splitlines()[-1] for k, v in bag.import_errors.items()}}]
    outcomes = []
    for dag_id, logical in zip(dag_ids, logical_dates):
        if dag_id not in bag.dags:
            outcomes.append({"dag_id": dag_id, "state": "unknown_dag", "known": sorted(bag.dags)})
            continue
        dag_run = bag.dags[dag_id].test(logical_date=logical)
        tasks = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
        outcomes.append({"dag_id": dag_id, "state": str(dag_run.state), "run_id": dag_run.run_id, "tasks": tasks})
    return outcomes


def run_dag(home: Home, as_of: date, result_file: Path, dag_id: str = DAG_ID) -> int:
    """dag.test() one run of `dag_id` as of a date; write the outcome as JSON."""
    logical = datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc)
    outcome = run_dags(home, [dag_id], [logical])[0]
    result_file.write_text(json.dumps(outcome, ensure_ascii=False, default=str, indent=2), encoding="utf-8")
    return 0 if outcome["state"] == "success" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m creditwh.airflow_runner")
    parser.add_argument("--home", required=True)
    parser.add_argument("--as-of", type=date.fromisoformat)
    parser.add_argument("--result", type=Path)
    parser.add_argument("--dag-id", default=DAG_ID)
    parser.add_argument("--prepare-only", action="store_true", help="migrate the metadata DB and create the pools")
    args = parser.parse_args(argv)
    home = Home.from_env(args.home)
    if args.prepare_only:
        home.airflow_home.mkdir(parents=True, exist_ok=True)
        os.environ.update(airflow_env(home))
        prepare_metadata()
        return 0
    if args.as_of is None or args.result is None:
        parser.error("--as-of and --result are needed to run a DAG")
    return run_dag(home, args.as_of, args.result, dag_id=args.dag_id)


if __name__ == "__main__":
    sys.exit(main())
