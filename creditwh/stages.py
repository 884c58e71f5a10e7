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
        if feed not in contracts:
            from creditwh.errors import CreditwhError
            raise CreditwhError(f"unknown feed {feed!r}; known feeds: {', '.join(contracts)}")
        selected = [(contracts[feed], Path(f)) for f in (files or [])]
    report = run_ingest(home, files=selected, contracts=contracts, on_file=on_file)
    return report.to_json()


@recorded
def build(home: Home, as_of: date) -> dict:
    from creditwh.warehouse import build as dbt_build

    result = dbt_build(home.landing, home.warehouse_build, as_of=as_of)
    publish_warehouse(home.warehouse_build, home.warehouse)
    return result.to_json()


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
