"""Every generated DAG really runs (dag.test() on a throwaway SQLite metadata DB), in the order the Assets chain
them; late feeds and failed tasks raise alerts; a day of the index history re-runs idempotently."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from creditwh.alerts import read_alerts
from creditwh.deadlines import check_arrival, previous_due
from creditwh.settings import Home
from ingestion.contracts import load_contracts
from synthetic import generate

CITY = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 11, 25)


def run_dags(home: Home, runs: list[tuple[str, datetime | None]]) -> dict:
    """dag.test() the runs in a fresh interpreter (Airflow reads its configuration at import) and report each
    run's state and tasks, plus the asset events the metadata DB recorded."""
    script = (
        "import json, sys\n"
        "from datetime import datetime\n"
        "from creditwh.airflow_runner import run_dags\n"
        "from creditwh.settings import Home\n"
        "runs = json.loads(sys.argv[2])\n"
        "out = run_dags(Home.from_env(sys.argv[1]), [d for d, _ in runs],\n"
        "               [datetime.fromisoformat(t) if t else None for _, t in runs])\n"
        "from airflow.models.asset import AssetEvent, AssetModel\n"
        "from airflow.utils.session import create_session\n"
        "with create_session() as s:\n"
        "    events = [uri for (uri,) in s.query(AssetModel.uri).join(AssetEvent, AssetEvent.asset_id == AssetModel.id)]\n"
        "print('RESULT ' + json.dumps({'runs': out, 'asset_events': sorted(events)}, default=str))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | {"CREDITWH_HOME": str(home.root)}
    env.pop("CREDITWH_COURT_API_URL", None)
    proc = subprocess.run([sys.executable, "-c", script, str(home.root),
                           json.dumps([(d, t.isoformat() if t else None) for d, t in runs])],
                          capture_output=True, text=True, env=env, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (proc.stdout[-2000:], proc.stderr[-4000:])
    return json.loads(lines[-1][len("RESULT "):])


def due(feed: str, day: date) -> datetime:
    """The feed's due time on `day` (its contract's cron, city time)."""
    from croniter import croniter

    schedule = load_contracts()[feed].schedule
    return croniter(schedule, datetime(day.year, day.month, day.day, tzinfo=CITY) - timedelta(seconds=1)).get_next(datetime)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("orchestration") / "home").ensure()
    generate("tiny", 11, home.inbox)
    feeds = sorted(load_contracts())
    runs = [(f"ingest__{feed}", due(feed, AS_OF)) for feed in feeds]
    noon = datetime(2026, 11, 25, 12, tzinfo=CITY)
    runs += [("warehouse_build", noon), ("quality_gate", noon), ("publication", noon),
             ("credit_index_daily", datetime(2026, 11, 24, 23, 30, tzinfo=CITY)),
             ("credit_index_daily", datetime(2026, 11, 24, 23, 30, tzinfo=CITY)),
             # nothing new since: on time, skipped, no alert
             ("ingest__samr_penalties", due("samr_penalties", AS_OF)),
             # the next weeks' due times with no file: late, alert, skipped
             ("ingest__samr_penalties", due("samr_penalties", AS_OF + timedelta(days=30)))]
    return home, feeds, run_dags(home, runs)


def test_every_generated_dag_runs_and_updates_its_asset(pipeline):
    home, feeds, result = pipeline
    by_run = result["runs"]
    ingests = by_run[:len(feeds)]
    for feed, run in zip(feeds, ingests):
        assert run["state"] == "success", run
        assert run["tasks"]["ingest"] == "success", run
        if "pull" in run["tasks"]:  # no API address in the test: the files are in the inbox
            assert run["tasks"]["pull"] == "skipped"
    downstream = by_run[len(feeds):len(feeds) + 4]
    assert [(r["dag_id"], r["state"]) for r in downstream] == [
        ("warehouse_build", "success"), ("quality_gate", "success"), ("publication", "success"),
        ("credit_index_daily", "success")]
    events = set(result["asset_events"])
    assert {f"creditwh://landing/{f}" for f in feeds} <= events
    assert {"creditwh://warehouse/published", "creditwh://quality/gate", "creditwh://exports/batches"} <= events
    assert len(list(home.landing.glob("*/run=2*"))) == len(feeds)  # one landed run per feed DAG (not the schema runs)
    assert (home.root / "exports" / "LATEST").exists()


def test_a_day_of_the_index_history_is_replaced_not_duplicated(pipeline):
    home, _, result = pipeline
    runs = [r for r in result["runs"] if r["dag_id"] == "credit_index_daily"]
    assert [r["state"] for r in runs] == ["success", "success"]
    days = sorted(p.name for p in home.index_history.iterdir() if not p.name.startswith("."))
    assert days == ["as_of=2026-11-24"]
    snapshot = pl.read_parquet(home.index_history / "as_of=2026-11-24" / "entity_credit_index.parquet")
    import duckdb

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        active = con.sql("select count(*) from dim_entity where is_active").fetchall()[0][0]
    assert snapshot.height == active > 1000
    assert snapshot["entity_uscc"].is_unique().all()
    assert not list(home.index_history.glob(".*")) or all(p.name == ".scratch" for p in home.index_history.glob(".*"))


def test_a_fed_feed_is_on_time_and_a_missing_one_raises_a_late_alert(pipeline):
    home, _, result = pipeline
    on_time, late = [r for r in result["runs"] if r["dag_id"] == "ingest__samr_penalties"][1:]
    assert on_time["state"] == "success" and on_time["tasks"]["ingest"] == "skipped"
    assert late["state"] == "success" and late["tasks"]["ingest"] == "skipped"
    alerts = read_alerts(home, kind="feed_late")
    assert len(alerts) == 1, alerts
    assert alerts[0]["feed"] == "samr_penalties" and "is late" in alerts[0]["message"]
    assert alerts[0]["details"]["department"] == "market_regulation"


def test_a_failed_task_writes_an_alert_naming_the_dag_task_and_error(tmp_path):
    home = Home(tmp_path / "empty").ensure()  # no warehouse: the gate cannot run
    result = run_dags(home, [("quality_gate", datetime(2026, 11, 25, 12, tzinfo=CITY))])
    assert result["runs"][0]["state"] == "failed"
    alerts = read_alerts(home, kind="task_failed")
    assert len(alerts) == 1
    assert alerts[0]["dag_id"] == "quality_gate" and alerts[0]["task_id"] == "validate"
    assert "no warehouse" in alerts[0]["message"]
    assert "creditwh://quality/gate" not in result["asset_events"]


def test_lateness_is_judged_against_the_previous_due_time(tmp_path):
    home = Home(tmp_path / "h").ensure()
    schedule = "0 2 * * *"
    at = datetime(2026, 11, 25, 2, tzinfo=CITY)
    assert previous_due(schedule, at) == datetime(2026, 11, 24, 2, tzinfo=CITY)
    assert check_arrival(home, "f", schedule, at, waiting_files=0).late  # never landed
    assert not check_arrival(home, "f", schedule, at, waiting_files=1).late  # a file is waiting
    landed = datetime(2026, 11, 24, 10, tzinfo=timezone.utc)  # after the previous due time: this period's file
    (home.landing / "f" / f"run={landed:%Y%m%dT%H%M%S}-0a1b2c3d").mkdir(parents=True)
    assert not check_arrival(home, "f", schedule, at, waiting_files=0).late
    a_day_later = check_arrival(home, "f", schedule, at + timedelta(days=1), waiting_files=0)
    assert a_day_later.late and "last landed 2026-11-24T18:00:00+08:00" in a_day_later.message
    with pytest.raises(ValueError):
        check_arrival(home, "f", schedule, datetime(2026, 11, 25, 2), waiting_files=0)


def test_a_month_backfill_of_the_index_history_is_accepted_by_airflow(pipeline):
    """The runbook's backfill command, as a dry run against the metadata DB the runs above used."""
    home, *_ = pipeline
    from creditwh.airflow_runner import airflow_env

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")} | airflow_env(home)
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    proc = subprocess.run([airflow, "backfill", "create", "--dag-id", "credit_index_daily", "--from-date",
                           "2026-10-01", "--to-date", "2026-10-31", "--reprocess-behavior", "completed",
                           "--max-active-runs", "1", "--dry-run"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    days = set(re.findall(r"2026-10-(\d\d)", proc.stdout))
    assert len(days) >= 30, proc.stdout[-2000:]


def test_a_bad_batch_is_blocked_end_to_end_and_nothing_is_published(tmp_path):
    """A department sends 15% of penalties under a mistyped USCC: the whole chain runs in Airflow, the gate blocks
    the batch with the reason, publication refuses and records why, an alert names the run, no batch exists."""
    home = Home(tmp_path / "bad").ensure()
    generate("tiny", 13, home.inbox, defect_rates={"bad_check_digit": 0.15})
    result = run_dags(home, [("credit_pipeline", datetime(2026, 11, 25, 12, tzinfo=CITY))])
    run = result["runs"][0]
    assert run["state"] == "failed"
    assert run["tasks"] == {"ingest": "success", "build": "success", "validate": "success", "publish": "failed",
                            "report": "success"}
    gate = json.loads((home.quality / "gate_latest.json").read_text(encoding="utf-8"))
    assert gate["blocked"] and gate["critical_failure_rate"] > gate["max_critical_failure_rate"]
    assert "uscc_check_digit" in gate["reason"]
    assert not (home.exports / "LATEST").exists()
    assert not [p for p in home.exports.iterdir() if p.name[0].isdigit()]
    failures = list((home.exports / "_failures").glob("*.json"))
    assert len(failures) == 1 and "blocked" in failures[0].read_text(encoding="utf-8")
    alerts = read_alerts(home, kind="task_failed")
    assert [(a["dag_id"], a["task_id"]) for a in alerts] == [("credit_pipeline", "publish")]
    assert "blocked" in alerts[0]["message"]
