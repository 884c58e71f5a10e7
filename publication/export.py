"""Publication batches for the national disclosure system: publishable penalties, validated, written atomically.

A batch is exports/<batch_id>/ with penalties.jsonl (one record per line, sorted by record_id), penalties.csv (the
same records in the receiver's encoding), provenance.jsonl (record_id -> feed, run, file, file hash, row), the
record schema, and manifest.json (counts, SHA-256 and size of every file, previous batch id). It is written under
exports/.tmp-<batch_id>/ and renamed into place, then exports/LATEST is replaced atomically: a crash leaves
either no batch or a whole one. One publisher at a time (exports/.publish.lock).
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError
from creditwh.settings import CONTRACTS_DIR, PUBLICATION_SCHEMAS_DIR

RECORD_TYPE = "administrative_penalty"
CONTRACT = "samr_penalties"
SCHEMA_FILE = f"{RECORD_TYPE}.schema.json"
RECEIVER_SETTINGS = Path(__file__).with_name("receiver.yaml")
LINEAGE = ["_feed", "_run_id", "_file_name", "_file_sha256", "_source_row"]
LONG_TERM = "2099/12/31"  # how the 双公示 standard writes "no end"; the warehouse stores it as NULL
MAX_REJECTED_LISTED = 100


class PublicationBlocked(CreditwhError):
    """Publishing is refused (gate blocked, missing or not about this warehouse); no batch was written."""


@dataclass
class PublishResult:
    batch_id: str | None
    batch_dir: str | None
    as_of: str
    records: int                   # published
    candidates: int                # rows of fct_penalty considered
    excluded: dict[str, int] = field(default_factory=dict)   # reason -> count (first reason that applies)
    rejected: list[dict] = field(default_factory=list)       # failed the schema: record_id, errors (first 100)
    gate_run_id: str | None = None
    dry_run: bool = False

    def to_json(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------------------- the record format
def schema_text() -> str:
    return (PUBLICATION_SCHEMAS_DIR / SCHEMA_FILE).read_text(encoding="utf-8")


def _contract_columns():
    from ingestion.contracts import load_contract

    return load_contract(CONTRACTS_DIR / f"{CONTRACT}.yaml").columns


def field_codes() -> dict[str, str]:
    """canonical column name -> 双公示 field code, as the feed contract pairs them (`name` / `source`)."""
    return {c.name: c.source for c in _contract_columns()}


def published_records(candidates: pl.DataFrame) -> pl.DataFrame:
    """Warehouse rows -> published records: the field codes of the contract, values as the standard writes them,
    in the schema's field order, nothing internal."""
    exprs = [pl.col("penalty_id").alias("record_id"), pl.lit("add").alias("operation")]
    for c in _contract_columns():
        if c.name == "uscc":
            value = pl.col("entity_uscc")  # the resolved, checked USCC (also for a registration number sent)
        elif c.type == "code":
            back: dict[str, str] = {}
            for raw, canonical in (c.codes or {}).items():
                back.setdefault(canonical, raw)  # the first spelling in the contract is the standard's
            value = pl.col(c.name).replace_strict(back, default=None, return_dtype=pl.String)
        elif c.type == "date":
            value = pl.col(c.name).dt.strftime("%Y/%m/%d")
            if c.name == "valid_until":
                value = value.fill_null(pl.lit(LONG_TERM))
        elif c.type == "amount_wan":
            value = pl.col(c.name).cast(pl.Float64).round(6, mode="half_away_from_zero")
        else:
            value = pl.col(c.name)
        exprs.append(value.alias(c.source))
    exprs.append(pl.col("publicity_end").dt.strftime("%Y/%m/%d").alias("CF_GSJZQ"))
    order = list(json.loads(schema_text())["properties"])
    return candidates.select(exprs).select(order)


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


def _receiver() -> dict:
    import yaml

    return yaml.safe_load(RECEIVER_SETTINGS.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------ what may be published
def check_gate(quality_dir: Path, warehouse: Path, as_of: date) -> tuple[dict, set[str]]:
    """The latest gate verdict and its held-back ids, if they allow publishing this warehouse as of `as_of`."""
    from quality.gate import warehouse_fingerprint

    gate_file = quality_dir / "gate_latest.json"
    if not gate_file.exists():
        raise PublicationBlocked("no quality gate result: run `creditwh validate` before publishing")
    gate = json.loads(gate_file.read_text(encoding="utf-8"))
    if gate.get("blocked", True):
        raise PublicationBlocked(f"the quality gate blocked this batch: {gate.get('reason')}")
    if gate.get("warehouse") != warehouse_fingerprint(warehouse):
        raise PublicationBlocked(f"the latest quality gate result (run {gate.get('run_id')}) is about another "
                                 "warehouse file than the one to publish: run `creditwh validate` again")
    if gate.get("as_of") != as_of.isoformat():
        raise PublicationBlocked(f"the quality gate validated as of {gate.get('as_of')}, publication is as of "
                                 f"{as_of.isoformat()}: run `creditwh validate` as of the same date")
    held_file = quality_dir / "held_back.parquet"
    if not held_file.exists() or hashlib.sha256(held_file.read_bytes()).hexdigest() != gate.get("held_back_sha256"):
        raise PublicationBlocked(f"{held_file} is missing or is not the one gate run {gate.get('run_id')} wrote: "
                                 "run `creditwh validate` again")
    return gate, set(pl.read_parquet(held_file)["penalty_id"].drop_nulls().to_list())


def select_candidates(warehouse: Path, held_ids: set[str], as_of: date) -> tuple[pl.DataFrame, dict[str, int], int]:
    """The publishable rows (sorted by penalty_id), the excluded ones counted by reason, and the rows read."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        penalties = pl.from_arrow(con.sql("select * from fct_penalty").to_arrow_table())
    in_window = (pl.col("publicity_start") <= as_of) & (pl.col("publicity_end") > as_of)
    reasons = [  # each record is counted under the first reason that excludes it
        ("warning_only_not_published", ~pl.col("is_published_type").fill_null(False)),
        ("held_back_by_quality_gate", pl.col("penalty_id").is_in(list(held_ids))),
        ("subject_not_identified", pl.col("entity_uscc").is_null()),
        ("outside_publicity_period", ~in_window.fill_null(False)),
    ]
    reason = pl.coalesce([pl.when(cond).then(pl.lit(name)) for name, cond in reasons])
    penalties = penalties.with_columns(reason.alias("_excluded"))
    excluded = dict(penalties.filter(pl.col("_excluded").is_not_null()).group_by("_excluded").len().iter_rows())
    return penalties.filter(pl.col("_excluded").is_null()).sort("penalty_id"), excluded, penalties.height


# ------------------------------------------------------------------------------------------------------ the run
def publish_penalties(warehouse_path: Path, quality_dir: Path, exports_dir: Path, as_of: date,
                      dry_run: bool = False) -> PublishResult:
    """Publish the penalties of `warehouse_path` that the gate in `quality_dir` lets through, as one batch under
    `exports_dir`. Raises PublicationBlocked (recorded in exports/_failures/) if the gate does not allow it.
    `dry_run`: check, select and validate, write nothing."""
    warehouse, quality_dir, exports = Path(warehouse_path), Path(quality_dir), Path(exports_dir)
    if dry_run:
        return _prepare(warehouse, quality_dir, as_of, dry_run=True)[0]
    exports.mkdir(parents=True, exist_ok=True)
    try:
        with _publisher_lock(exports):
            for stale in exports.glob(".tmp-*"):  # a batch a crashed run left half-written
                shutil.rmtree(stale, ignore_errors=True)
            result, records, lines, provenance, gate = _prepare(warehouse, quality_dir, as_of, dry_run=False)
            receiver = _receiver()["csv"]
            order = list(json.loads(schema_text())["properties"])
            table = csv_bytes(records, order, receiver["encoding"], receiver["formula_prefixes"])
            batch_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
            batch_dir = write_batch(exports, batch_id, as_of, lines, provenance, result, gate,
                                    csv_table=(table, receiver["encoding"]))
    except PublicationBlocked as exc:
        _record_failure(exports, as_of, str(exc))
        raise
    result.batch_id, result.batch_dir = batch_id, str(batch_dir)
    return result


def _prepare(warehouse: Path, quality_dir: Path, as_of: date, dry_run: bool):
    import jsonschema

    gate, held_ids = check_gate(quality_dir, warehouse, as_of)
    candidates, excluded, read = select_candidates(warehouse, held_ids, as_of)
    validator = jsonschema.Draft202012Validator(json.loads(schema_text()))
    records, lines, provenance, rejected = [], [], [], []
    origins = candidates.select(LINEAGE).iter_rows(named=True)
    for record, origin in zip(published_records(candidates).iter_rows(named=True), origins):
        errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
        if errors:  # never send what the receiver's contract rejects; list it, publish the rest
            rejected.append({"record_id": record["record_id"],
                             "errors": [f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}"
                                        for e in errors]})
            continue
        records.append(record)
        lines.append(json.dumps(record, ensure_ascii=False, allow_nan=False))
        provenance.append(json.dumps({"record_id": record["record_id"], **origin}, ensure_ascii=False))
    if rejected:
        excluded["fails_publication_schema"] = len(rejected)
    result = PublishResult(batch_id=None, batch_dir=None, as_of=as_of.isoformat(), records=len(lines),
                           candidates=read, excluded=dict(sorted(excluded.items())), rejected=rejected[:MAX_REJECTED_LISTED],
                           gate_run_id=gate.get("run_id"), dry_run=dry_run)
    return result, records, lines, provenance, gate


@contextmanager
def _publisher_lock(exports: Path):
    with open(exports / ".publish.lock", "a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PublicationBlocked(f"another publication run is writing to {exports}") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _record_failure(exports: Path, as_of: date, error: str) -> Path:
    folder = exports / "_failures"
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    path = folder / f"{now:%Y%m%dT%H%M%S%fZ}.json"
    path.write_text(json.dumps({"failed_at": now.isoformat(timespec="seconds"), "as_of": as_of.isoformat(),
                                "error": error}, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ the batch files
def _fsync_write(path: Path, data: bytes) -> dict:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return {"name": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_batch(exports: Path, batch_id: str, as_of: date, lines: list[str], provenance: list[str],
                result: PublishResult, gate: dict, csv_table: tuple[bytes, str]) -> Path:
    latest = exports / "LATEST"
    previous = latest.read_text(encoding="utf-8").strip() if latest.exists() else None
    tmp = exports / f".tmp-{batch_id}"
    tmp.mkdir()
    files = [
        _fsync_write(tmp / "penalties.jsonl", "".join(line + "\n" for line in lines).encode("utf-8")),
        _fsync_write(tmp / "penalties.csv", csv_table[0]) | {"encoding": csv_table[1]},
        _fsync_write(tmp / "provenance.jsonl", "".join(line + "\n" for line in provenance).encode("utf-8")),
        _fsync_write(tmp / SCHEMA_FILE, schema_text().encode("utf-8")),
    ]
    manifest = {
        "batch_id": batch_id,
        "previous_batch_id": previous,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "as_of": as_of.isoformat(),
        "record_types": {RECORD_TYPE: {"file": "penalties.jsonl", "csv": "penalties.csv", "schema": SCHEMA_FILE,
                                       "records": len(lines), "operations": {"add": len(lines)}}},
        "counts": {"records": len(lines), "candidates": result.candidates, "excluded": result.excluded},
        "quality_gate": {k: gate.get(k) for k in ("run_id", "as_of", "records", "held_back_records",
                                                  "critical_failure_rate")},
        "rejected": result.rejected,  # the first MAX_REJECTED_LISTED; the count is counts.excluded
        "files": files,
    }
    _fsync_write(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    _fsync_dir(tmp)
    final = exports / batch_id
    os.rename(tmp, final)
    _fsync_dir(exports)
    pointer = exports / ".LATEST.tmp"
    _fsync_write(pointer, (batch_id + "\n").encode("utf-8"))
    os.replace(pointer, latest)
    _fsync_dir(exports)
    return final
