"""How to run dbt inside Airflow, decided by measurement: one `dbt build` task against astronomer-cosmos rendering
every model and test as its own task. Both run under dag.test() on the same landed data, each into its own DuckDB
file, one after the other; the script prints the wall times and writes them into docs/benchmarks.md.

Cosmos is not a dependency of the project (this measurement is why), so run it with uv's overlay:

    .tools/bin/uv run --with astronomer-cosmos==1.15.1 python benchmarks/dbt_in_airflow.py --scale city

It generates and ingests the synthetic city into a scratch home first (or reuses --home if it has a landing).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from creditwh.bench import landed_synthetic_city, replace_marked_section  # noqa: E402
from creditwh.settings import DBT_PROJECT_DIR, Home  # noqa: E402

MARK = "dbt-in-airflow"


def _airflow_env(home: Home) -> None:
    from creditwh.airflow_runner import airflow_env

    os.environ.update(airflow_env(home) | {"AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
                                           "AIRFLOW__COSMOS__CACHE_DIR": str(home.root / "cosmos-cache")})


def one_build(home: Home, as_of: date) -> dict:
    from creditwh.airflow_runner import run_dags

    started = time.perf_counter()
    run = run_dags(home, ["warehouse_build"], [datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc)])[0]
    return {"variant": "one `dbt build` task (warehouse_build)", "seconds": round(time.perf_counter() - started, 1),
            "state": run["state"], "tasks": len(run["tasks"])}


COSMOS_DAG_FILE = """# airflow dag: the warehouse build rendered by astronomer-cosmos (benchmark only)
import os, sys
from datetime import datetime
from pathlib import Path
from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode

PROJECT = Path(os.environ["BENCH_DBT_PROJECT"])
dag = DbtDag(
    dag_id="cosmos_warehouse_build",
    project_config=ProjectConfig(dbt_project_path=PROJECT, manifest_path=Path(os.environ["BENCH_MANIFEST"])),
    profile_config=ProfileConfig(profile_name="credit_warehouse", target_name="dev",
                                 profiles_yml_filepath=PROJECT / "profiles.yml"),
    execution_config=ExecutionConfig(execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER,
                                     dbt_executable_path=str(Path(sys.executable).parent / "dbt")),
    render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST),
    operator_args={"install_deps": False, "vars": {"as_of_date": os.environ["BENCH_AS_OF"]}},
    schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
)
"""


def cosmos_dag(home: Home, as_of: date) -> dict:
    """The Cosmos DAG must live in a DAG folder (dag.test() syncs the folder's bundle), so it runs in a child
    interpreter whose Airflow reads a scratch DAG folder holding only it."""
    warehouse = home.root / "cosmos" / "warehouse.duckdb"
    dags = home.root / "cosmos" / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "cosmos_warehouse_build.py").write_text(COSMOS_DAG_FILE, encoding="utf-8")
    target = home.root / "cosmos" / "target"
    dbt = str(Path(sys.executable).parent / "dbt")
    env = os.environ | {"CREDITWH_LANDING": str(home.landing), "CREDITWH_WAREHOUSE": str(warehouse),
                        "BENCH_DBT_PROJECT": str(DBT_PROJECT_DIR), "BENCH_MANIFEST": str(target / "manifest.json"),
                        "BENCH_AS_OF": as_of.isoformat(), "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home.root / 'cosmos' / 'airflow.db'}"}
    subprocess.run([dbt, "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                    "--target-path", str(target)], check=True, capture_output=True, cwd=DBT_PROJECT_DIR, env=env)
    child = ("import json, sys, time\nfrom datetime import datetime, timezone\n"
             "from airflow.utils import db\nfrom airflow.dag_processing.dagbag import DagBag\n"
             "db.initdb()\nbag = DagBag(dag_folder=sys.argv[1])\nassert not bag.import_errors, bag.import_errors\n"
             "day = datetime.fromisoformat(sys.argv[2]).replace(tzinfo=timezone.utc)\n"
             "started = time.perf_counter()\nrun = bag.dags['cosmos_warehouse_build'].test(logical_date=day)\n"
             "states = [str(ti.state) for ti in run.get_task_instances()]\n"
             "print('RESULT ' + json.dumps({'seconds': round(time.perf_counter() - started, 1), 'state': str(run.state),"
             " 'tasks': len(states), 'failed_tasks': sum(s == 'failed' for s in states)}))\n")
    proc = subprocess.run([sys.executable, "-c", child, str(dags), as_of.isoformat()], env=env, capture_output=True,
                          text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"the Cosmos run failed:\n{proc.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    return {"variant": "astronomer-cosmos 1.15.1 DbtDag (LOCAL, DBT_RUNNER, one task per model/test/seed)"} | result


def write_docs(scale: str, rows: list[dict]) -> None:
    body = [f"### dbt inside Airflow, `{scale}` scale ({datetime.now(timezone.utc):%Y-%m-%d}, "
            f"{platform.machine()}, {os.cpu_count()} cores; `benchmarks/dbt_in_airflow.py`)", "",
            "| variant | Airflow tasks | wall time (dag.test) | state |", "|---|---|---|---|"]
    body += [f"| {r['variant']} | {r['tasks']} | {r['seconds']} s | {r['state']} |" for r in rows]
    body += [""]
    replace_marked_section(MARK, body)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="city", choices=("tiny", "city"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 25))
    args = parser.parse_args()
    home = Home(Path(args.home or tempfile.mkdtemp(prefix="creditwh-cosmos-bench-"))).ensure()
    landed_synthetic_city(home, args.scale, args.seed)
    _airflow_env(home)
    rows = [one_build(home, args.as_of), cosmos_dag(home, args.as_of)]
    print(json.dumps(rows, indent=2))
    write_docs(args.scale, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
