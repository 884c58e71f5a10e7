"""Downstream of the feeds, all on Assets: build the warehouse when any feed lands, gate it, publish it.

warehouse_build  <- any creditwh://landing/<feed>   (DuckDB: the single writer, pool `warehouse_writer`, one slot;
                                                     CREDITWH_ENGINE=spark: on Spark, no writer pool)
quality_gate     <- creditwh://warehouse/published  (read-only on the published copy)
publication      <- creditwh://quality/gate         (only a gate that passed updates that Asset)
Wiring only; the work is in creditwh.stages.
"""
from __future__ import annotations

from datetime import datetime
from functools import reduce
from operator import or_

from airflow.sdk import Asset, dag, get_current_context, task

from creditwh.orchestration import (EXPORT_ASSET_URI, GATE_ASSET_URI, WAREHOUSE_ASSET_URI, _home,
                                    build_pool, default_args, landing_asset_uri, log_dbt_nodes, run_as_of,
                                    warehouse_engine)
from ingestion.contracts import load_contracts

FEED_ASSETS = [Asset(landing_asset_uri(feed)) for feed in load_contracts()]
ENGINE = warehouse_engine()


@dag(
    dag_id="warehouse_build",
    description="dbt build of the warehouse and credit index when any department feed has landed.",
    schedule=reduce(or_, FEED_ASSETS),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["credit-warehouse", "warehouse"],
)
def warehouse_build():
    # Either engine ends by publishing the warehouse readers open (after Spark: a DuckDB catalog of views over its
    # Parquet, docs/scale-out.md), so the gate follows a build on either.
    @task(pool=build_pool(ENGINE), outlets=[Asset(WAREHOUSE_ASSET_URI)])
    def build() -> dict:
        from creditwh import stages

        result = stages.build(_home(), as_of=run_as_of(get_current_context()), engine=ENGINE)
        log_dbt_nodes(result)
        return {"as_of": result["as_of"], "totals": result["totals"]}

    build()


@dag(
    dag_id="quality_gate",
    description="Great Expectations gate on the published warehouse: holds back records, may block the batch.",
    schedule=[Asset(WAREHOUSE_ASSET_URI)],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["credit-warehouse", "quality"],
)
def quality_gate():
    @task(outlets=[Asset(GATE_ASSET_URI)])
    def validate() -> dict:
        from creditwh import stages

        context = get_current_context()
        result = stages.validate(_home(), as_of=run_as_of(context), run_id=stages.safe_run_id(context["run_id"]))
        stages.fail_if_blocked(result)  # a blocked batch fails the task: alert, and no publication run
        return {k: result[k] for k in ("run_id", "as_of", "records", "held_back_records", "decision")}

    validate()


@dag(
    dag_id="publication",
    description="Export the publishable records to the national disclosure system after a passed gate.",
    schedule=[Asset(GATE_ASSET_URI)],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["credit-warehouse", "publication"],
)
def publication():
    @task(outlets=[Asset(EXPORT_ASSET_URI)])
    def publish() -> dict:
        from creditwh import stages

        result = stages.publish(_home(), as_of=run_as_of(get_current_context()))
        return {k: result.get(k) for k in ("batch_id", "records", "as_of")}

    publish()


warehouse_build()
quality_gate()
publication()
