"""One ingestion DAG per feed contract (ingestion/contracts/*.yaml): adding a contract adds a DAG, no Python.

Each DAG runs at its contract's due time (cron in the city's time zone). A feed served by an HTTP API is pulled
first, with spaced retries; then the waiting inbox files are ingested into the Parquet landing, and the DAG
updates the feed's Asset, which schedules the warehouse build. Nothing waiting and nothing landed since the
previous due time means the department is late: an alert is raised and the run ends skipped (no Asset update).
Wiring only; the work is in creditwh.stages.
"""
from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

from creditwh.deadlines import FEED_TIMEZONE
from creditwh.orchestration import RETRY_TRANSIENT, _home, default_args, landing_asset_uri
from ingestion.contracts import load_contracts


def feed_dag(contract):
    @dag(
        dag_id=f"ingest__{contract.id}",
        description=f"{contract.title} — {contract.department_name or contract.department}",
        schedule=CronTriggerTimetable(contract.schedule, timezone=FEED_TIMEZONE),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(),
        tags=["credit-warehouse", "ingestion", contract.department],
        doc_md=f"Contract: `{contract.path.name}` · owner: {contract.owner} · due: `{contract.schedule}` "
               f"({FEED_TIMEZONE}) · format: {contract.format}",
    )
    def ingest_feed():
        if contract.pull:
            @task(**RETRY_TRANSIENT)
            def pull() -> dict:
                import os

                from airflow.sdk.exceptions import AirflowSkipException

                from creditwh import stages

                if not os.environ.get(contract.pull["url_env"]):
                    raise AirflowSkipException(f"{contract.pull['url_env']} is not set: files are expected in "
                                               f"the inbox instead")
                return stages.pull(_home(), contract.id)

        @task(outlets=[Asset(landing_asset_uri(contract.id))], trigger_rule="none_failed")
        def ingest() -> dict:
            from airflow.sdk.exceptions import AirflowSkipException

            from creditwh import stages

            home = _home()
            new_files = stages.waiting_files(home, contract.id)
            if not new_files:
                due = get_current_context().get("logical_date") or datetime.now().astimezone()
                arrival = stages.check_feed_arrival(home, contract.id, due_at=due)
                raise AirflowSkipException(arrival["message"] + " (nothing new to ingest)")
            report = stages.ingest(home, feed=contract.id, files=new_files)
            if not any(f["status"] == "loaded" for f in report["files"]):
                raise AirflowSkipException(f"{contract.id}: every new file was rejected (see the ingest run "
                                           f"{report['run_id']})")
            return {"run_id": report["run_id"], "feeds": report["feeds"]}

        if contract.pull:
            pull() >> ingest()
        else:
            ingest()

    return ingest_feed()


for _contract in load_contracts().values():
    feed_dag(_contract)
