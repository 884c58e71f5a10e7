"""Publication batches for the national disclosure system: publishable penalties, validated, written atomically.

A batch is exports/<batch_id>/ with penalties.jsonl (one record per line, sorted by record_id), provenance.jsonl
(record_id -> feed, file, file hash, row) and manifest.json (counts, SHA-256 of every file, previous batch id).
It is written under exports/.tmp-<batch_id>/ and renamed into place, then exports/LATEST is replaced
atomically: a crash leaves either no batch or a whole one.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError
from creditwh.settings import PUBLICATION_SCHEMAS_DIR

RECORD_TYPE = "administrative_penalty"
RECEIVER_SETTINGS = Path(__file__).with_name("receiver.yaml")
LINEAGE = ["_feed", "_file_name", "_file_sha256", "_source_row"]


class PublicationBlocked(CreditwhError):
    """Publishing is refused (gate blocked, missing or stale); nothing was written."""


@dataclass
class PublishResult:
    batch_id: str | None
    batch_dir: str | None
    as_of: str
    records: int
    candidates: int
    excluded: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    def to_json(self) -> dict:
        return asdict(self)


def _schema() -> dict:
    return json.loads((PUBLICATION_SCHEMAS_DIR / f"{RECORD_TYPE}.schema.json").read_text(encoding="utf-8"))


def _field_codes() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """canonical name -> 双公示 field code, and canonical code -> the standard's wording, from the feed contract."""
    from ingestion.contracts import load_contracts

    contract = load_contracts()["samr_penalties"]
    codes_back = {}
    for c in contract.columns:
        if c.codes:
            back: dict[str, str] = {}
            for raw, canonical in c.codes.items():
                back.setdefault(canonical, raw)  # the first spelling in the contract is the standard's
            codes_back[c.name] = back
    return {c.name: c.source for c in contract.columns}, codes_back


def _receiver() -> dict:
    import yaml

    return yaml.safe_load(RECEIVER_SETTINGS.read_text(encoding="utf-8"))


def csv_bytes(records: list[dict], columns: list[str], encoding: str, formula_prefixes: list[str]) -> bytes:
    """The records as CSV in the receiver's encoding, text cells that a spreadsheet would execute neutralised."""
    def cell(value):
        if value is None:
            return ""
        if isinstance(value, str) and value.startswith(tuple(formula_prefixes)):
            return "'" + value
        return value

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([cell(record.get(c)) for c in columns])
    return buffer.getvalue().encode(encoding)


def _slash_date(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime("%Y/%m/%d")


def published_records(candidates: pl.DataFrame) -> pl.DataFrame:
    """Map warehouse columns to the published field codes (the receiver's names, no internal fields)."""
    field_of, codes_back = _field_codes()
    exprs = [pl.col("penalty_id").alias("record_id"), pl.lit("add").alias("operation")]
    for name, code in field_of.items():
        if name == "uscc":
            value = pl.col("entity_uscc")  # the resolved, checked USCC
        elif name in codes_back:
            value = pl.col(name).replace_strict(codes_back[name], default=None)
        elif candidates.schema[name] == pl.Date:
            value = _slash_date(name)
        elif name.endswith("_amount_wan"):
            value = pl.col(name).cast(pl.Float64).round(6, mode="half_away_from_zero")
        else:
            value = pl.col(name)
        exprs.append(value.alias(code))
    exprs.append(_slash_date("publicity_end").alias("CF_GSJZQ"))
    return candidates.select(exprs)


def _check_gate(quality_dir: Path, warehouse: Path) -> dict:
    gate_file = quality_dir / "gate_latest.json"
    if not gate_file.exists():
        raise PublicationBlocked("no quality gate result: run `creditwh validate` before publishing")
    gate = json.loads(gate_file.read_text(encoding="utf-8"))
    if gate["blocked"]:
        raise PublicationBlocked(f"the quality gate blocked this batch: {gate['reason']}")
    if gate_file.stat().st_mtime < warehouse.stat().st_mtime:
        raise PublicationBlocked("the quality gate result is older than the warehouse: run `creditwh validate` again")
    return gate


def _record_failure(exports: Path, as_of: date, error: str) -> None:
    folder = exports / "_failures"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    (folder / f"{stamp}.json").write_text(json.dumps({"as_of": as_of.isoformat(), "error": error}, ensure_ascii=False),
                                          encoding="utf-8")


def select_candidates(warehouse: Path, held_ids: set[str], as_of: date) -> tuple[pl.DataFrame, dict[str, int]]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        penalties = pl.from_arrow(con.sql("select * from fct_penalty").to_arrow_table())
    in_window = (pl.col("publicity_start") <= as_of) & (pl.col("publicity_end") > as_of)
    held = pl.col("penalty_id").is_in(list(held_ids))
    reasons = [  # each record is counted under the first reason that excludes it
        ("warning_only_not_published", ~pl.col("is_published_type")),
        ("held_back_by_quality_gate", held),
        ("subject_not_identified", pl.col("entity_uscc").is_null()),
        ("outside_publicity_period", ~in_window.fill_null(False)),
    ]
    reason = pl.coalesce([pl.when(cond).then(pl.lit(name)) for name, cond in reasons])
    penalties = penalties.with_columns(reason.alias("_excluded"))
    excluded = dict(penalties.filter(pl.col("_excluded").is_not_null()).group_by("_excluded").len().iter_rows())
    return penalties.filter(pl.col("_excluded").is_null()).sort("penalty_id"), excluded


def publish_penalties(warehouse: Path, quality_dir: Path, exports: Path, as_of: date,
                      dry_run: bool = False) -> PublishResult:
    import jsonschema

    exports.mkdir(parents=True, exist_ok=True)
    for stale in exports.glob(".tmp-*"):  # a batch a crashed run left half-written
        shutil.rmtree(stale, ignore_errors=True)
    try:
        _check_gate(quality_dir, warehouse)
    except PublicationBlocked as exc:
        if not dry_run:
            _record_failure(exports, as_of, str(exc))
        raise
    held_file = quality_dir / "held_back.parquet"
    held_ids = set(pl.read_parquet(held_file)["penalty_id"].to_list()) if held_file.exists() else set()
    candidates, excluded = select_candidates(warehouse, held_ids, as_of)
    records = published_records(candidates)
    validator = jsonschema.Draft202012Validator(_schema())
    lines, provenance, valid, invalid = [], [], [], 0
    for record, origin in zip(records.iter_rows(named=True), candidates.select(LINEAGE).iter_rows(named=True)):
        errors = list(validator.iter_errors(record))
        if errors:  # never publish what the receiver's contract rejects; count it, keep going
            invalid += 1
            continue
        valid.append(record)
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
        provenance.append(json.dumps({"record_id": record["record_id"], **origin}, ensure_ascii=False, sort_keys=True))
    if invalid:
        excluded["fails_publication_schema"] = invalid
    result = PublishResult(batch_id=None, batch_dir=None, as_of=as_of.isoformat(), records=len(lines),
                           candidates=len(candidates) + sum(excluded.values()) - invalid,
                           excluded=dict(sorted(excluded.items())), dry_run=dry_run)
    if dry_run:
        return result
    batch_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    receiver = _receiver()["csv"]
    table = csv_bytes(valid, list(_schema()["properties"]), receiver["encoding"], receiver["formula_prefixes"])
    batch_dir = write_batch(exports, batch_id, as_of, lines, provenance, result.excluded,
                            csv_table=(table, receiver["encoding"]))
    result.batch_id, result.batch_dir = batch_id, str(batch_dir)
    return result


def _fsync_write(path: Path, data: bytes) -> dict:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return {"name": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def write_batch(exports: Path, batch_id: str, as_of: date, lines: list[str], provenance: list[str],
                excluded: dict[str, int], csv_table: tuple[bytes, str]) -> Path:
    latest = exports / "LATEST"
    previous = latest.read_text(encoding="utf-8").strip() if latest.exists() else None
    tmp = exports / f".tmp-{batch_id}"
    tmp.mkdir()
    files = [
        _fsync_write(tmp / "penalties.jsonl", "".join(line + "\n" for line in lines).encode("utf-8")),
        _fsync_write(tmp / "provenance.jsonl", "".join(line + "\n" for line in provenance).encode("utf-8")),
        _fsync_write(tmp / "penalties.csv", csv_table[0]) | {"encoding": csv_table[1]},
    ]
    manifest = {
        "batch_id": batch_id, "previous_batch_id": previous,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "as_of": as_of.isoformat(),
        "record_types": {RECORD_TYPE: {"file": "penalties.jsonl", "csv": "penalties.csv",
                                       "schema": f"{RECORD_TYPE}.schema.json",
                                       "operations": {"add": len(lines)}}},
        "counts": {"records": len(lines), "excluded": excluded},
        "files": files,
    }
    _fsync_write(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    final = exports / batch_id
    os.rename(tmp, final)
    pointer = exports / ".LATEST.tmp"
    pointer.write_text(batch_id + "\n", encoding="utf-8")
    os.replace(pointer, latest)
    return final
