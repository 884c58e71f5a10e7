"""What every DAG file shares: asset names, the writer pool, retry policy, alert callbacks, the run's date.

Light on purpose: the DAG processor imports this on every parse, so it imports Airflow's SDK and the standard
library only; the stages' heavy libraries load inside tasks.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from creditwh.deadlines import FEED_TIMEZONE

# The DuckDB warehouse has one writer. Every task that runs dbt takes this pool's only slot, so two builds never
# overlap even when several asset events arrive at once (`airflow pools set warehouse_writer 1 ...`).
WAREHOUSE_WRITER_POOL = "warehouse_writer"
WAREHOUSE_WRITER_POOL_DESCRIPTION = "One slot: the DuckDB warehouse allows a single writing process (dbt)."

WAREHOUSE_ASSET_URI = "creditwh://warehouse/published"
ENGINE_ENV = "CREDITWH_ENGINE"    # duckdb (default) | spark: which engine the warehouse_build DAG builds on
ENGINES = ("duckdb", "spark")
GATE_ASSET_URI = "creditwh://quality/gate"
EXPORT_ASSET_URI = "creditwh://exports/batches"


def warehouse_engine() -> str:
    """The deployment's engine, read when the DAG file is parsed (docs/scale-out.md, "Topology")."""
    import os

    engine = os.environ.get(ENGINE_ENV, "duckdb").strip().lower() or "duckdb"
    if engine not in ENGINES:
        raise ValueError(f"{ENGINE_ENV}={engine!r}: choose one of {', '.join(ENGINES)}")
    return engine


def build_pool(engine: str) -> str:
    """DuckDB: the one-slot writer pool. Spark: no file to lock, each model replaces its table in the metastore, so
    builds only need a worker slot like any task."""
    return WAREHOUSE_WRITER_POOL if engine == "duckdb" else "default_pool"


def landing_asset_uri(feed: str) -> str:
    return f"creditwh://landing/{feed}"


def _home():
    from creditwh.settings import Home

    return Home.from_env().ensure()


def run_as_of(context) -> date:
    """The business date of a run: its logical date in the city's time zone, or today for an asset-triggered
    run (Airflow 3 gives those no logical date)."""
    logical = context.get("logical_date")
    moment = logical if logical is not None else datetime.now(ZoneInfo(FEED_TIMEZONE))
    return moment.astimezone(ZoneInfo(FEED_TIMEZONE)).date()


def alert_on_failure(context) -> None:
    """on_failure_callback: one alert line naming the DAG, task, run, try and the error."""
    from creditwh.alerts import Alert, raise_alert

    ti = context.get("task_instance") or context.get("ti")
    error = context.get("exception")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None)
    task_id = getattr(ti, "task_id", None)
    run_id = context.get("run_id") or getattr(ti, "run_id", None)
    message = f"{dag_id}.{task_id} failed"
    if error is not None:
        first_line = (str(error).strip().splitlines() or [""])[0]
        message += f": {type(error).__name__}: {first_line}"
    raise_alert(_home(), Alert(kind="task_failed", message=message, dag_id=dag_id, task_id=task_id, run_id=run_id,
                               details={"try_number": getattr(ti, "try_number", None),
                                        "log_url": getattr(ti, "log_url", None)}))


# Transient failures (an API that times out, a file still being copied) deserve a few spaced retries; a broken
# contract or a failed data test does not, and retrying it only delays the alert.
RETRY_TRANSIENT = {"retries": 4, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True,
                   "max_retry_delay": timedelta(minutes=30)}
NO_RETRY = {"retries": 0}


def default_args(**extra) -> dict:
    return {"owner": "credit-warehouse", "on_failure_callback": alert_on_failure, **NO_RETRY, **extra}


def log_dbt_nodes(build_result: dict) -> None:
    """Every dbt node's outcome in the task log (the Airflow UI shows one build task; this is its per-model view)."""
    nodes = sorted(build_result.get("nodes", []), key=lambda n: (n["resource_type"], n["name"]))
    for n in nodes:
        print(f"dbt {n['resource_type']:<9} {n['status']:<8} {n['seconds']:>8.2f} s  {n['name']}"
              + (f"  ({n['failures']} failing rows)" if n.get("failures") else ""))
