"""Immutable Parquet landing, the quarantine beside it, and the register of files already ingested.

Layout (docs/interfaces.md §2): landing/<feed>/run=<run_id>/part-<n>.parquet; quarantine likewise.
Nothing here ever overwrites or deletes a landed file: a new run writes a new partition, and dbt keeps the latest
version of each record.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from ingestion.conform import landed_schema
from ingestion.contracts import Contract

SCHEMA_RUN_ID = "00000000T000000-schema"  # a zero-row file per feed so the warehouse can read feeds never sent


def lineage(feed: str, run_id: str, file_name: str, sha256: str, loaded_at: datetime) -> list[pl.Expr]:
    return [
        pl.lit(feed).alias("_feed"), pl.lit(run_id).alias("_run_id"), pl.lit(file_name).alias("_file_name"),
        pl.lit(sha256).alias("_file_sha256"),
        pl.lit(loaded_at.replace(tzinfo=None), dtype=pl.Datetime("us")).alias("_loaded_at"),
    ]


def _write_once(frame: pl.DataFrame, target: Path) -> Path:
    """Write via a temporary name and rename, so a reader never sees half a file; refuse to overwrite."""
    if target.exists():
        raise FileExistsError(f"landing is immutable and {target} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    frame.write_parquet(tmp, compression="zstd")
    os.replace(tmp, target)
    return target


def write_landed(root: Path, contract: Contract, run_id: str, part: int, frame: pl.DataFrame) -> Path:
    return _write_once(frame, root / contract.id / f"run={run_id}" / f"part-{part}.parquet")


def ensure_schema_files(landing_root: Path, contracts: dict[str, Contract]) -> None:
    """Give every feed at least one (empty, typed) Parquet file, so the warehouse builds before a feed arrives."""
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    for contract in contracts.values():
        if any((landing_root / contract.id).glob("run=*/*.parquet")):
            continue
        empty = pl.DataFrame(schema=landed_schema(contract)).with_columns(
            lineage(contract.id, SCHEMA_RUN_ID, "", "", epoch)
        )
        _write_once(empty, landing_root / contract.id / f"run={SCHEMA_RUN_ID}" / "part-0.parquet")


class FileRegister:
    """Which file contents were already ingested, keyed by SHA-256: the same bytes are loaded once."""

    def __init__(self, directory: Path):
        self.directory = directory / "files"
        self.directory.mkdir(parents=True, exist_ok=True)

    def seen(self, sha256: str) -> dict | None:
        entry = self.directory / f"{sha256}.json"
        return json.loads(entry.read_text(encoding="utf-8")) if entry.exists() else None

    def record(self, sha256: str, info: dict) -> None:
        entry = self.directory / f"{sha256}.json"
        tmp = entry.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        os.replace(tmp, entry)
