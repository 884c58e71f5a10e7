"""The credit index as of every day, for trend analysis: index_history/as_of=<day>/ (one run per day).

Backfill a range with `airflow backfill create --dag-id credit_index_daily --from-date ... --to-date ...`:
each day is rebuilt by dbt into a scratch file from the same landing and replaces that day's folder, so
re-running a day is idempotent. It runs dbt, so it takes the warehouse writer pool's slot (one dbt at a time).
Wiring only; the work is creditwh.stages.snapshot_index.
"""
from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

from creditwh.deadlines import FEED_TIMEZONE
from creditwh.orchestration import WAREHOUSE_WRITER_POOL, _home, default_args, run_as_of


@dag(
    dag_id="credit_index_daily",
    description="Snapshot the credit index as of each day (idempotent per day; backfill-able).",
    schedule=CronTriggerTimetable("30 23 * * *", timezone=FEED_TIMEZONE),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["credit-warehouse", "warehouse", "history"],
)
def credit_index_daily():
    @task(pool=WAREHOUSE_WRITER_POOL)
    def snapshot_index() -> dict:
        from creditwh import stages

        return stages.snapshot_index(_home(), as_of=run_as_of(get_current_context()))

    snapshot_index()


credit_index_daily()
