"""Airflow DAG: the credit-warehouse pipeline, feed files to the national disclosure export.

Wiring only: every task calls a stage in creditwh.stages (unit-tested without Airflow). Stages meet through the
home directory (CREDITWH_HOME, read when a task runs, never at parse time), so this file imports nothing heavy.
Ingestion writes Parquet only; the build task is the single writer of the DuckDB warehouse; the gate and the
publication open it read-only.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task

DEFAULT_ARGS = {"retries": 0, "retry_delay": timedelta(minutes=5)}


def _as_of():
    from datetime import date

    logical = get_current_context().get("logical_date")
    return logical.date() if logical else date.today()


def _home():
    from creditwh.settings import Home

    return Home.from_env().ensure()


@dag(
    dag_id="credit_pipeline",
    description="Ingest department feeds, build the warehouse and credit index, gate on quality, publish.",
    schedule="0 7 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["credit-warehouse"],
)
def credit_pipeline():
    @task
    def ingest() -> dict:
        from creditwh import stages

        report = stages.ingest(_home())
        return {"run_id": report["run_id"], "feeds": report["feeds"]}

    @task
    def build(_ingested: dict) -> dict:
        from creditwh import stages

        return stages.build(_home(), as_of=_as_of())

    @task
    def validate(_built: dict) -> dict:
        from creditwh import stages

        run_id = re.sub(r"[^A-Za-z0-9_.-]", "_", get_current_context()["run_id"])
        return stages.validate(_home(), as_of=_as_of(), run_id=run_id)

    @task
    def publish(_gate: dict) -> dict:
        from creditwh import stages

        return stages.publish(_home(), as_of=_as_of())

    publish(validate(build(ingest())))


credit_pipeline()
