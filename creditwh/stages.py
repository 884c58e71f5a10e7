"""The pipeline's stages as plain functions: the CLI commands and the Airflow tasks both call these.

Each stage reads what the previous one left in the home directory (docs/interfaces.md) and returns a small
JSON-able summary, so an Airflow task log and a terminal show the same facts.
"""
from __future__ import annotations

import functools
import json
import time
from datetime import date, datetime, timezone
from pathlib import Path

from creditwh.settings import Home


def recorded(stage):
    """Write each stage's outcome to <home>/stages/<name>.json, so a failure inside Airflow can be explained later."""

    @functools.wraps(stage)
    def wrapper(home: Home, *args, **kwargs):
        started = time.perf_counter()
        record = {"stage": stage.__name__, "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        try:
            result = stage(home, *args, **kwargs)
        except Exception as exc:
            record |= {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            raise
        else:
            record |= {"status": "success", "result": result}
            return result
        finally:
            record["seconds"] = round(time.perf_counter() - started, 2)
            folder = home.root / "stages"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{stage.__name__}.json").write_text(
                json.dumps(record, ensure_ascii=False, indent=2, default=str), encoding="utf-8")

    return wrapper


@recorded
def ingest(home: Home, feed: str | None = None, files: list[Path] | None = None, on_file=None) -> dict:
    from ingestion.contracts import load_contracts
    from ingestion.run import ingest as run_ingest

    contracts = load_contracts()
    selected = None
    if feed is not None:
        contract = _contract(contracts, feed)
        if files:
            selected = [(contract, Path(f)) for f in files]
        else:  # that feed's waiting inbox files only (one Airflow DAG per feed)
            contracts = {feed: contract}
    report = run_ingest(home, files=selected, contracts=contracts, on_file=on_file)
    return report.to_json()


def _contract(contracts: dict, feed: str):
    if feed not in contracts:
        from creditwh.errors import CreditwhError
        raise CreditwhError(f"unknown feed {feed!r}; known feeds: {', '.join(contracts)}")
    return contracts[feed]


def waiting_files(home: Home, feed: str) -> list[Path]:
    """The feed's inbox files whose content was never loaded (files stay in the inbox after ingestion; the
    register of SHA-256 says which contents were already loaded)."""
    from ingestion.contracts import load_contracts
    from ingestion.landing import FileRegister
    from ingestion.run import sha256_of
    from ingestion.run import waiting_files as in_inbox

    contracts = load_contracts()
    register = FileRegister(home.ingest_runs)
    return [path for _, path in in_inbox(home, {feed: _contract(contracts, feed)})
            if register.seen(sha256_of(path)) is None]


def pull(home: Home, feed: str, url: str | None = None) -> dict:
    """Fetch a feed an HTTP API serves into its inbox folder (pages already there are not fetched again)."""
    import os

    from creditwh.errors import CreditwhError
    from ingestion.contracts import load_contracts
    from ingestion.http_pull import pull_pages

    contracts = load_contracts()
    contract = _contract(contracts, feed)
    if not contract.pull:
        pullable = ", ".join(c.id for c in contracts.values() if c.pull)
        raise CreditwhError(f"{feed!r} is not a feed served by an API (those are: {pullable})")
    url = url or os.environ.get(contract.pull["url_env"])
    if not url:
        raise CreditwhError(f"no URL for {feed}: set {contract.pull['url_env']} or pass --url")
    result = pull_pages(url, home.inbox / contract.id, prefix=f"{date.today():%Y%m%d}-",
                        page_size=contract.pull.get("page_size", 500), records_path=contract.records_path)
    return {"feed": feed, "pages_fetched": result.pages_fetched, "pages_skipped": result.pages_skipped,
            "records": result.records, "retries": result.retries, "inbox": str(home.inbox / contract.id)}


def check_feed_arrival(home: Home, feed: str, due_at: datetime) -> dict:
    """Late-feed check at a due time; a late feed raises an alert (and is not an error of the pipeline)."""
    from creditwh.alerts import Alert, raise_alert
    from creditwh.deadlines import check_arrival
    from ingestion.contracts import load_contracts

    contract = _contract(load_contracts(), feed)
    arrival = check_arrival(home, feed, contract.schedule, due_at, waiting_files=len(waiting_files(home, feed)))
    if arrival.late:
        raise_alert(home, Alert(kind="feed_late", message=arrival.message, feed=feed,
                                details={"department": contract.department, "owner": contract.owner,
                                         "schedule": contract.schedule} | arrival.to_json()))
    return arrival.to_json()


def link(home: Home, full: bool = False) -> dict:
    """Decide the landed records whose identifier does not resolve (ingestion/linkage.py) before dbt reads them.

    Incremental (only landed files not examined yet) unless `full` or an input of the decisions changed."""
    from ingestion.contracts import load_contracts
    from ingestion.linkage import run_linkage

    run = run_linkage(home.landing, load_contracts(), home.linkage, full=full)
    return {"linkage_run": run.run_id, "unresolved_rows": run.rows, "keys": run.keys, "decisions": run.decisions,
            "incremental": run.incremental, "files_read": run.files_read, "keys_scored": run.keys_scored}


@recorded
def build(home: Home, as_of: date, engine: str = "duckdb", full_refresh: bool = False) -> dict:
    from creditwh.warehouse import build as dbt_build

    linkage = link(home, full=full_refresh)

    if engine == "spark":
        # Spark's tables live in its own warehouse directory and metastore; the build ends by writing the file
        # readers open as a catalog of views over them (creditwh/spark_catalog.py), and there is no single-writer
        # file to protect (docs/scale-out.md).
        return dbt_build(home.landing, spark_warehouse(home), as_of=as_of, engine="spark",
                         full_refresh=full_refresh).to_json() | {
            "linkage": linkage}
    result = dbt_build(home.landing, home.warehouse_build, as_of=as_of, full_refresh=full_refresh)
    publish_warehouse(home.warehouse_build, home.warehouse)
    return result.to_json() | {"linkage": linkage}


@recorded
def report(home: Home) -> dict:
    """The city credit report (composite index, one dashboard per credit park) from the published warehouse."""
    from analytics.city_report import render

    out = render(home.warehouse, home.root / "reports" / "city_credit_report.html")
    return {"report": str(out.path), "city_code": out.city_code, "month_end": str(out.latest_month),
            "composite_index": out.composite_index, "parks": out.parks}


def spark_warehouse(home: Home) -> Path:
    """Where `build --engine spark` keeps the Spark warehouse directory and its Derby metastore (local session)."""
    return home.warehouse_dir / "spark"


def publish_warehouse(built: Path, published: Path) -> None:
    """Swap the fresh build in for readers: copy beside the published file, then rename over it atomically.

    A reader that already has the old file open keeps reading it (POSIX keeps the old inode alive); the next
    reader opens the new one. A failed build never gets here, so readers keep the last good warehouse.
    """
    import os
    import shutil

    tmp = published.with_name(f".{published.name}.tmp")
    shutil.copyfile(built, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, published)


@recorded
def validate(home: Home, as_of: date, run_id: str) -> dict:
    from quality import validate_penalties

    return validate_penalties(home.warehouse, home.quality, run_id=run_id, as_of=as_of).to_json()


@recorded
def publish(home: Home, as_of: date, dry_run: bool = False) -> dict:
    from publication import publish_penalties

    return publish_penalties(home.warehouse, home.quality, home.exports, as_of=as_of, dry_run=dry_run).to_json()


@recorded
def snapshot_index(home: Home, as_of: date) -> dict:
    """The credit index as of one day, kept as index_history/as_of=<day>/entity_credit_index.parquet.

    Built by dbt into a scratch DuckDB file of its own (never the warehouse, whose writer is `build`), from the
    same landing. Re-running a day replaces that day's folder in one rename, so a backfill is idempotent.
    """
    import os
    import shutil

    import duckdb

    from creditwh.warehouse import build as dbt_build

    day = f"as_of={as_of.isoformat()}"
    scratch = home.index_history / ".scratch" / day
    shutil.rmtree(scratch, ignore_errors=True)
    result = dbt_build(home.landing, scratch / "warehouse.duckdb", as_of=as_of, select="+fct_entity_credit_index",
                      indirect_selection="cautious")
    staged = home.index_history / f".tmp-{day}"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    target = staged / "entity_credit_index.parquet"
    with duckdb.connect(str(scratch / "warehouse.duckdb"), read_only=True) as con:
        rows = con.sql("select count(*) from fct_entity_credit_index").fetchall()[0][0]
        con.sql("select * from fct_entity_credit_index order by entity_uscc").write_parquet(str(target))
    final, old = home.index_history / day, home.index_history / f".old-{day}"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.rename(final, old)
    os.rename(staged, final)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return {"as_of": as_of.isoformat(), "entities": rows, "path": str(target.parent.parent / day),
            "dbt_seconds": round(result.seconds, 1)}


def fail_if_blocked(gate: dict) -> None:
    if gate.get("blocked"):
        from creditwh.errors import CreditwhError

        raise CreditwhError(f"the quality gate blocked publication: {gate.get('reason')}")


def safe_run_id(airflow_run_id: str) -> str:
    """An Airflow run id as a file-name-safe gate run id (Airflow's contain ':' and '+')."""
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", airflow_run_id)
