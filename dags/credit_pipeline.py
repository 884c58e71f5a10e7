"""The whole chain in one run, on demand: ingest every waiting feed -> build -> gate -> publish (and the city report).

Production runs the same stages as separate DAGs linked by Assets (feed_ingestion.py, warehouse_build.py); this
one is for the demo (`creditwh demo` runs it with dag.test()) and for a manual catch-up from the UI. Its build
task takes the same one-slot writer pool, so it never overlaps warehouse_build. Wiring only.
"""
from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, get_current_context, task

from creditwh.orchestration import WAREHOUSE_WRITER_POOL, _home, default_args, log_dbt_nodes, run_as_of


@dag(
    dag_id="credit_pipeline",
    description="Ingest department feeds, build the warehouse and credit index, gate on quality, publish.",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["credit-warehouse"],
)
def credit_pipeline():
    @task
    def ingest() -> dict:
        from creditwh import stages

        report = stages.ingest(_home())
        return {"run_id": report["run_id"], "feeds": report["feeds"]}

    @task(pool=WAREHOUSE_WRITER_POOL)
    def build(_ingested: dict) -> dict:
        from creditwh import stages

        result = stages.build(_home(), as_of=run_as_of(get_current_context()))
        log_dbt_nodes(result)
        return {"as_of": result["as_of"], "totals": result["totals"]}

    @task
    def validate(_built: dict) -> dict:
        from creditwh import stages

        context = get_current_context()
        return stages.validate(_home(), as_of=run_as_of(context), run_id=stages.safe_run_id(context["run_id"]))

    @task
    def publish(_gate: dict) -> dict:
        from creditwh import stages

        return stages.publish(_home(), as_of=run_as_of(get_current_context()))

    @task
    def report(_built: dict) -> dict:
        from creditwh import stages

        return stages.report(_home())

    built = build(ingest())
    publish(validate(built))
    report(built)


credit_pipeline()
