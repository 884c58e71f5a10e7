"""Publication batches for the national disclosure system: incremental, validated, written atomically.

A batch holds the operations (add / update / withdraw) that bring the receiver from what it was sent to what may be
shown on the as-of date, decided against the publication ledger (publication/ledger.py), for every record type of
publication/record_types.py. It is exports/<batch_id>/ with, per type, <stem>.jsonl (one record per line, sorted by
record_id; penalties.jsonl, licences.jsonl, ...), <stem>.csv (the same records in the receiver's encoding) and its
schema; provenance.jsonl (record_id -> record type, feed, run, file, file hash, row); and manifest.json (counts per
type and operation, SHA-256 and size of every file, previous batch id). The files are written under
exports/.tmp-<batch_id>/, the ledger version that records them is committed, then the folder is renamed into place
and exports/LATEST replaced: a crash leaves either the previous ledger and no batch, or both new. No change, no
batch. One publisher at a time (exports/.publish.lock).
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError
from creditwh.settings import CONTRACTS_DIR, PUBLICATION_SCHEMAS_DIR
from publication import ledger as ledger_mod
from publication.masking import mask_record
from publication.record_types import PENALTY, RECORD_TYPES, RecordType

RECORD_TYPE = PENALTY.name
CONTRACT = PENALTY.contract
SCHEMA_FILE = PENALTY.schema_file
RECEIVER_SETTINGS = Path(__file__).with_name("receiver.yaml")
LINEAGE = ["_feed", "_run_id", "_file_name", "_file_sha256", "_source_row"]
LONG_TERM = "2099/12/31"  # how the 双公示 standard writes "no end"; the warehouse stores it as NULL
MAX_REJECTED_LISTED = 100
OPERATIONS = ("add", "update", "withdraw")
# Why a penalty the receiver shows is withdrawn: the exclusion reasons of select_candidates, with "outside the
# publicity period" told apart by side (and a period ended early by a granted credit repair), and a record gone
# from the warehouse. Every type's list is in publication/record_types.py.
WITHDRAW_REASONS = PENALTY.withdraw_reasons


class PublicationBlocked(CreditwhError):
    """Publishing is refused (gate blocked, missing or not about this warehouse); no batch was written."""


@dataclass
class PublishResult:
    batch_id: str | None
    batch_dir: str | None
    as_of: str
    records: int                   # published (operations in the batch, every record type)
    candidates: int                # warehouse rows considered, every record type
    excluded: dict[str, int] = field(default_factory=dict)   # reason -> count (first reason that applies)
    rejected: list[dict] = field(default_factory=list)       # failed the schema: record_id, errors (first 100)
    gate_run_id: str | None = None
    dry_run: bool = False
    operations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPERATIONS, 0))  # in this batch
    withdraw_reasons: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0                 # publishable, and the receiver was already sent exactly this
    waiting_for_correction: int = 0    # rejected by the receiver for a lasting reason, not changed since
    previous_batch_id: str | None = None
    message: str | None = None         # what happened, for a person (e.g. why no batch was written)
    recovered: list[str] = field(default_factory=list)      # what this run repaired after a crashed one
    record_types: dict[str, dict] = field(default_factory=dict)  # per type: the counts above, for that type

    def to_json(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------------------- the record format
def _read_schema(record_type: str) -> str:
    return (PUBLICATION_SCHEMAS_DIR / f"{record_type}.schema.json").read_text(encoding="utf-8")


def schema_text() -> str:
    """The penalty schema."""
    return _read_schema(RECORD_TYPE)


def _schema_text_of(rt: RecordType) -> str:
    # penalties through schema_text() itself: the one a test (or a receiver switch) may replace
    return schema_text() if rt.name == RECORD_TYPE else _read_schema(rt.name)


def schema_sha256() -> str:
    """One hash over every type's schema: a change to any of them revalidates what was sent."""
    digest = hashlib.sha256()
    for rt in RECORD_TYPES:
        digest.update(f"{rt.name}\n{_schema_text_of(rt)}\n".encode("utf-8"))
    return digest.hexdigest()


def _contract_columns(contract: str = CONTRACT):
    from ingestion.contracts import load_contract

    return load_contract(CONTRACTS_DIR / f"{contract}.yaml").columns


def field_codes(contract: str = CONTRACT) -> dict[str, str]:
    """canonical column name -> field code, as the feed contract pairs them (`name` / `source`)."""
    return {c.name: c.source for c in _contract_columns(contract)}


def published_records(candidates: pl.DataFrame, rt: RecordType = PENALTY) -> pl.DataFrame:
    """Warehouse rows -> published records: the field codes of the contract, values as the standard writes them,
    in the schema's field order, nothing internal."""
    exprs = [pl.col(rt.id_column).alias("record_id"), pl.lit("add").alias("operation"),
             pl.lit(None, dtype=pl.String).alias("withdraw_reason")]
    for c in _contract_columns(rt.contract):
        if c.name == "uscc":
            value = pl.col("entity_uscc")  # the resolved, checked USCC (also for a registration number sent)
        elif c.type == "code":
            back: dict[str, str] = {}
            for raw, canonical in (c.codes or {}).items():
                back.setdefault(canonical, raw)  # the first spelling in the contract is the standard's
            value = pl.col(c.name).replace_strict(back, default=None, return_dtype=pl.String)
        elif c.type == "date":
            value = pl.col(c.name).dt.strftime("%Y/%m/%d")
            if c.name == rt.long_term_column:
                value = value.fill_null(pl.lit(LONG_TERM))
        elif c.type == "amount_wan":
            value = pl.col(c.name).cast(pl.Float64).round(6, mode="half_away_from_zero")
        else:
            value = pl.col(c.name)
        exprs.append(value.alias(c.source))
    if rt.publicity_end_field:
        exprs.append(pl.col("publicity_end").dt.strftime("%Y/%m/%d").alias(rt.publicity_end_field))
    order = list(json.loads(_schema_text_of(rt))["properties"])
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
    """Every row of fct_penalty sorted by penalty_id, with `_excluded` = the first reason it may not be shown on
    `as_of` (null = publishable); the excluded rows counted by reason; the rows read."""
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
    penalties = penalties.with_columns(reason.alias("_excluded")).sort("penalty_id")
    excluded = dict(penalties.filter(pl.col("_excluded").is_not_null()).group_by("_excluded").len().iter_rows())
    return penalties, excluded, penalties.height


def _withdraw_reasons(penalties: pl.DataFrame, as_of: date) -> dict[str, str]:
    """penalty_id -> why the receiver must stop showing it, for every row that may not be shown."""
    # a repair granted on or before as_of ended the period on its grant date (docs/credit-repair.md)
    repaired = pl.col("repair_granted_on").is_not_null() & (pl.col("repair_granted_on") <= as_of)
    if "repair_granted_on" not in penalties.columns:  # a warehouse built before credit repair existed
        repaired = pl.lit(False)
    side = (pl.when((pl.col("publicity_end") <= as_of) & repaired).then(pl.lit("credit_repair_granted"))
            .when(pl.col("publicity_end") <= as_of).then(pl.lit("publicity_period_ended"))
            .when(pl.col("publicity_start") > as_of).then(pl.lit("publicity_not_started"))
            .otherwise(pl.lit("outside_publicity_period")))
    why = (pl.when(pl.col("_excluded") == "outside_publicity_period").then(side)
           .otherwise(pl.col("_excluded")))
    rows = penalties.filter(pl.col("_excluded").is_not_null()).select("penalty_id", why.alias("why"))
    return dict(rows.iter_rows())


def select_type_candidates(warehouse: Path, rt: RecordType, as_of: date) -> pl.DataFrame | None:
    """Every row of the type's mart sorted by its id, with `_excluded` as in select_candidates; None if the
    warehouse has no such table (built before the type was published)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        if rt.relation not in tables:
            return None
        rows = pl.from_arrow(con.sql(f"select * from {rt.relation}").to_arrow_table())
    in_window = (pl.col("publicity_start") <= as_of) & (pl.col("publicity_end").is_null()
                                                        | (pl.col("publicity_end") > as_of))
    reasons = [  # the critical rule of penalties: a USCC as sent must pass its check digit, whatever resolved it
        (pl.col("not_published_reason"), pl.col("not_published_reason").is_not_null()),
        (pl.lit("subject_uscc_fails_check"), pl.col("uscc").is_not_null() & ~pl.col("uscc_check_ok").fill_null(False)),
        (pl.lit("subject_not_identified"), pl.col("entity_uscc").is_null()),
        (pl.lit("outside_publicity_period"), ~in_window.fill_null(False)),
    ]
    reason = pl.coalesce([pl.when(cond).then(name) for name, cond in reasons])
    return rows.with_columns(reason.alias("_excluded")).sort(rt.id_column)


def _type_withdraw_reasons(rows: pl.DataFrame, rt: RecordType, as_of: date) -> dict[str, str]:
    """record id -> why the receiver must stop showing it; a window that ended says why it ended (the mart's
    publicity_end_reason: listing_removed, licence_expired, publicity_period_ended)."""
    side = (pl.when(pl.col("publicity_end") <= as_of).then(pl.col("publicity_end_reason"))
            .when(pl.col("publicity_start") > as_of).then(pl.lit("publicity_not_started"))
            .otherwise(pl.lit("outside_publicity_period")))
    why = pl.when(pl.col("_excluded") == "outside_publicity_period").then(side).otherwise(pl.col("_excluded"))
    return dict(rows.filter(pl.col("_excluded").is_not_null()).select(rt.id_column, why.alias("why")).iter_rows())


# ------------------------------------------------------------------------------------------------------ the plan
@dataclass
class Operation:
    record_id: str
    operation: str
    record: dict          # as published: every schema field, operation and withdraw_reason set
    content_hash: str
    provenance: dict
    record_type: str = RECORD_TYPE


def plan_operations(rows: dict[str, dict], desired: dict[str, tuple[dict, dict]], gone: dict[str, str],
                    hashes: dict[str, str] | None = None, record_type: str = RECORD_TYPE):
    """What the next batch must carry, from the ledger `rows` (record_id -> ledger row), the records that may be
    shown (record_id -> (record, provenance)) and why the others may not (record_id -> withdraw reason).

    Compared with what was last *sent* unless the receiver rejected it: a record waiting for its receipt is not
    sent again (nothing twice without need); a rejected one goes again when the reason is transient or its content
    changed. `hashes`: content hashes already computed (record_id -> hash). `rows`, `desired` and `gone` are about
    one `record_type`. Returns the operations sorted by
    record_id, the unchanged count and the waiting-for-correction count.
    """
    ops: list[Operation] = []
    unchanged = waiting = 0
    for rid in sorted(set(rows) | set(desired)):
        row = rows.get(rid)
        if rid in desired:
            record, origin = desired[rid]
            digest = (hashes or {}).get(rid) or ledger_mod.content_hash(record)
            if row is None:
                op = "add"
            elif row["status"] == "rejected":
                wrong_guess = row["last_operation"] == "update" and not row["receiver_holds"]
                if not (row["transient"] or digest != row["content_hash"] or wrong_guess
                        or row["last_operation"] == "withdraw"):
                    waiting += 1
                    continue
                op = "update" if row["receiver_holds"] else "add"
            elif row["last_operation"] == "withdraw":
                op = "add"
            elif digest == row["content_hash"]:
                unchanged += 1
                continue
            else:
                op = "update"
            ops.append(Operation(rid, op, record | {"operation": op, "withdraw_reason": None}, digest, origin,
                                 record_type))
            continue
        if row is None:
            continue
        reason = gone.get(rid, "removed_from_warehouse")
        if row["status"] == "rejected":
            if not row["receiver_holds"]:
                continue  # the receiver never showed it (or already took it down): nothing to take back
            if row["last_operation"] == "withdraw" and not row["transient"]:
                waiting += 1
                continue
        elif row["last_operation"] == "withdraw":
            continue
        record = json.loads(row["record_json"])
        ops.append(Operation(rid, "withdraw", record | {"operation": "withdraw", "withdraw_reason": reason},
                             row["content_hash"], json.loads(row["provenance_json"] or "{}"), record_type))
    return ops, unchanged, waiting


def _sent_state(state: ledger_mod.LedgerState, ops: list[Operation], batch_id: str) -> ledger_mod.LedgerState:
    """The ledger once `ops` are sent in `batch_id`: each record pending, the history one `sent` event longer."""
    rows = state.rows()
    at = ledger_mod.now_iso()
    events = []
    for op in ops:
        previous = rows.get(op.record_id)
        content = {k: v for k, v in op.record.items() if k not in ("operation", "withdraw_reason")}
        rows[op.record_id] = {
            "record_id": op.record_id, "record_type": op.record_type, "content_hash": op.content_hash,
            "record_json": json.dumps(content, ensure_ascii=False, allow_nan=False),
            "provenance_json": json.dumps(op.provenance, ensure_ascii=False, default=str),
            "last_operation": op.operation, "withdraw_reason": op.record["withdraw_reason"], "batch_id": batch_id,
            "status": "pending", "reason_code": None, "reason_message": None, "transient": None,
            "receiver_holds": bool(previous and previous["receiver_holds"]),
            "acknowledged_batch_id": previous["acknowledged_batch_id"] if previous else None,
        }
        events.append({"commit_id": batch_id, "at": at, "batch_id": batch_id, "record_id": op.record_id,
                       "event": "sent", "operation": op.operation, "content_hash": op.content_hash,
                       "withdraw_reason": op.record["withdraw_reason"], "reason_code": None, "message": None,
                       "receipt_file": None})
    ledger = pl.DataFrame(list(rows.values()), schema=ledger_mod.LEDGER_SCHEMA)
    history = pl.concat([state.history, pl.DataFrame(events, schema=ledger_mod.HISTORY_SCHEMA)])
    return ledger_mod.LedgerState(commit_id=batch_id, batches=state.batches + [batch_id], receipts=state.receipts,
                                  schema_sha256=schema_sha256(), ledger=ledger, history=history)


# ------------------------------------------------------------------------------------------------------ the run
def publish(warehouse_path: Path, quality_dir: Path, exports_dir: Path, as_of: date,
            dry_run: bool = False) -> PublishResult:
    """Publish what changed in every record type of `warehouse_path` (penalties: what the gate in `quality_dir`
    lets through), as one batch under `exports_dir`; no change, no batch (result.batch_id None, result.message says so). Raises
    PublicationBlocked (recorded in exports/_failures/) if the gate does not allow it. `dry_run`: check, select,
    validate and plan against the ledger, write nothing."""
    warehouse, quality_dir, exports = Path(warehouse_path), Path(quality_dir), Path(exports_dir)
    if dry_run:
        state = ledger_mod.load(exports)
        result, _ops, _gate = _prepare(warehouse, quality_dir, as_of, state, exports, dry_run=True)
        return result
    exports.mkdir(parents=True, exist_ok=True)
    try:
        with _publisher_lock(exports):
            state, recovered = ledger_mod.recover(exports)
            result, ops, gate = _prepare(warehouse, quality_dir, as_of, state, exports, dry_run=False)
            result.recovered = recovered
            if not ops:
                return result
            batch_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
            batch_dir = write_batch(exports, batch_id, as_of, ops, result, gate, state)
    except PublicationBlocked as exc:
        _record_failure(exports, as_of, str(exc))
        raise
    result.batch_id, result.batch_dir = batch_id, str(batch_dir)
    result.message = f"batch {batch_id}: {_describe(result)}; {result.unchanged} unchanged"
    return result


publish_penalties = publish  # the name callers used while penalties were the only type


@dataclass
class TypePlan:
    """What one record type contributes to the next batch."""
    record_type: RecordType
    ops: list[Operation]
    counts: dict          # the manifest's record_types entry, without the file names


def _prepare_type(rt: RecordType, frame: pl.DataFrame | None, gone: dict[str, str], excluded: dict[str, int],
                  rows: dict[str, dict], same_schema: bool) -> tuple[TypePlan, list[dict]]:
    """Validate and plan one type: `frame` its warehouse rows with `_excluded` (None: not in this warehouse, its
    ledger rows left as they are), `gone` why the excluded ones may not be shown. Returns the plan and the records
    the schema rejects."""
    import jsonschema

    if frame is None:
        plan = TypePlan(rt, [], {"in_warehouse": False, "records": 0, "candidates": 0, "excluded": {},
                                 "operations": dict.fromkeys(OPERATIONS, 0), "withdraw_reasons": {},
                                 "unchanged": 0, "waiting_for_correction": 0})
        return plan, []
    publishable = frame.filter(pl.col("_excluded").is_null())
    validator = jsonschema.Draft202012Validator(json.loads(_schema_text_of(rt)))
    # Validation is most of a run's time; a record sent before with this very content, under this very schema,
    # was validated then. Any other record (new, changed, or the schema changed) is validated now.
    desired, hashes, rejected = {}, {}, []
    origins = publishable.select(LINEAGE).iter_rows(named=True)
    for record, origin in zip(published_records(publishable, rt).iter_rows(named=True), origins):
        record = mask_record(record)
        rid = record["record_id"]
        hashes[rid] = ledger_mod.content_hash(record)
        sent = rows.get(rid)
        if (same_schema and sent is not None and sent["content_hash"] == hashes[rid]
                and sent["last_operation"] != "withdraw"):
            desired[rid] = (record, origin)
            continue
        errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
        if errors:  # never send what the receiver's contract rejects; list it, publish the rest
            rejected.append({"record_id": record["record_id"],
                             "errors": [f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}"
                                        for e in errors]})
            gone[record["record_id"]] = "fails_publication_schema"
            continue
        desired[record["record_id"]] = (record, origin)
    if rejected:
        excluded["fails_publication_schema"] = len(rejected)
    ops, unchanged, waiting = plan_operations(rows, desired, gone, hashes, record_type=rt.name)
    for op in ops:  # a withdraw repeats content validated when it was sent; the schema may have changed since
        errors = list(validator.iter_errors(op.record)) if op.operation == "withdraw" else []
        if errors:
            raise PublicationBlocked(f"the withdraw of {rt.name} record {op.record_id} does not validate against "
                                     f"{rt.schema_file} ({errors[0].message}): the schema changed incompatibly "
                                     "since the record was sent; fix the schema before publishing")
    operations = dict.fromkeys(OPERATIONS, 0)
    reasons: dict[str, int] = {}
    for op in ops:
        operations[op.operation] += 1
        if op.operation == "withdraw":
            reasons[op.record["withdraw_reason"]] = reasons.get(op.record["withdraw_reason"], 0) + 1
    counts = {"in_warehouse": True, "records": len(ops), "candidates": frame.height,
              "excluded": dict(sorted(excluded.items())), "operations": operations,
              "withdraw_reasons": dict(sorted(reasons.items())), "unchanged": unchanged,
              "waiting_for_correction": waiting}
    return TypePlan(rt, ops, counts), rejected


def _excluded_counts(frame: pl.DataFrame) -> dict[str, int]:
    return dict(frame.filter(pl.col("_excluded").is_not_null()).group_by("_excluded").len().iter_rows())


def _prepare(warehouse: Path, quality_dir: Path, as_of: date, state: ledger_mod.LedgerState, exports: Path,
             dry_run: bool):
    gate, held_ids = check_gate(quality_dir, warehouse, as_of)
    same_schema = state.schema_sha256 == schema_sha256()
    rows = state.rows()
    plans: list[TypePlan] = []
    rejected: list[dict] = []
    for rt in RECORD_TYPES:
        type_rows = {rid: row for rid, row in rows.items() if (row["record_type"] or RECORD_TYPE) == rt.name}
        if rt is PENALTY:
            frame, excluded, _read = select_candidates(warehouse, held_ids, as_of)
            gone = _withdraw_reasons(frame, as_of)
        else:
            frame = select_type_candidates(warehouse, rt, as_of)
            excluded = _excluded_counts(frame) if frame is not None else {}
            gone = _type_withdraw_reasons(frame, rt, as_of) if frame is not None else {}
        plan, type_rejected = _prepare_type(rt, frame, gone, excluded, type_rows, same_schema)
        plans.append(plan)
        rejected += type_rejected
    ops = [op for plan in plans for op in plan.ops]
    operations = dict.fromkeys(OPERATIONS, 0)
    reasons: dict[str, int] = {}
    excluded_total: dict[str, int] = {}
    for plan in plans:
        for op, n in plan.counts["operations"].items():
            operations[op] += n
        for why, n in plan.counts["withdraw_reasons"].items():
            reasons[why] = reasons.get(why, 0) + n
        for why, n in plan.counts["excluded"].items():
            excluded_total[why] = excluded_total.get(why, 0) + n
    previous = state.batches[-1] if state.batches else _latest(exports)
    result = PublishResult(batch_id=None, batch_dir=None, as_of=as_of.isoformat(), records=len(ops),
                           candidates=sum(p.counts["candidates"] for p in plans),
                           excluded=dict(sorted(excluded_total.items())),
                           rejected=rejected[:MAX_REJECTED_LISTED], gate_run_id=gate.get("run_id"), dry_run=dry_run,
                           operations=operations, withdraw_reasons=dict(sorted(reasons.items())),
                           unchanged=sum(p.counts["unchanged"] for p in plans),
                           waiting_for_correction=sum(p.counts["waiting_for_correction"] for p in plans),
                           previous_batch_id=previous,
                           record_types={p.record_type.name: p.counts for p in plans})
    if not ops:
        result.message = (f"no batch written: nothing changed since batch {previous}" if previous
                          else "no batch written: nothing to publish")
    elif dry_run:
        result.message = "would send " + _describe(result)
    return result, ops, gate


def _describe(result: PublishResult) -> str:
    """"34 add, 2 withdraw", and per type when more than one type has operations."""
    def ops(counts):
        return ", ".join(f"{n} {op}" for op, n in counts.items() if n)

    text = ops(result.operations)
    busy = {name: c["operations"] for name, c in result.record_types.items() if c["records"]}
    if len(busy) > 1:
        text += " (" + "; ".join(f"{name}: {ops(counts)}" for name, counts in busy.items()) + ")"
    return text


def _latest(exports: Path) -> str | None:
    latest = Path(exports) / "LATEST"
    return latest.read_text(encoding="utf-8").strip() if latest.exists() else None


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


def write_batch(exports: Path, batch_id: str, as_of: date, ops: list[Operation], result: PublishResult,
                gate: dict, state: ledger_mod.LedgerState) -> Path:
    """Write the batch, commit the ledger that records it, then show the batch (see the module docstring)."""
    receiver = _receiver()["csv"]
    tmp = exports / f".tmp-{batch_id}"
    tmp.mkdir()
    files, entries, provenance = [], {}, []
    for rt in RECORD_TYPES:  # every type's files in every batch, empty or not: one layout for the receiver
        text = _schema_text_of(rt)
        order = list(json.loads(text)["properties"])
        type_ops = [op for op in ops if op.record_type == rt.name]
        records = [{k: op.record[k] for k in order} for op in type_ops]
        lines = "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in records)
        provenance += [json.dumps({"record_id": op.record_id, "record_type": rt.name, "operation": op.operation,
                                   **op.provenance}, ensure_ascii=False, default=str) + "\n" for op in type_ops]
        table = csv_bytes(records, order, receiver["encoding"], receiver["formula_prefixes"])
        files += [
            _fsync_write(tmp / rt.jsonl, lines.encode("utf-8")),
            _fsync_write(tmp / rt.csv, table) | {"encoding": receiver["encoding"]},
            _fsync_write(tmp / rt.schema_file, text.encode("utf-8")),
        ]
        entries[rt.name] = {"file": rt.jsonl, "csv": rt.csv, "schema": rt.schema_file} | result.record_types[rt.name]
    files.append(_fsync_write(tmp / "provenance.jsonl", "".join(provenance).encode("utf-8")))
    manifest = {
        "batch_id": batch_id,
        "previous_batch_id": result.previous_batch_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "as_of": as_of.isoformat(),
        "record_types": entries,
        "counts": {"records": len(ops), "candidates": result.candidates, "excluded": result.excluded,
                   "unchanged": result.unchanged, "waiting_for_correction": result.waiting_for_correction},
        "last_acknowledged_batch_id": state.last_acknowledged_batch(),
        "quality_gate": {k: gate.get(k) for k in ("run_id", "as_of", "records", "held_back_records",
                                                  "critical_failure_rate")},
        "rejected": result.rejected,  # the first MAX_REJECTED_LISTED; the count is counts.excluded
        "files": files,
    }
    _fsync_write(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    ledger_mod.fsync_dir(tmp)
    ledger_mod.pause_point("batch_written")
    ledger_mod.stage(exports, _sent_state(state, ops, batch_id), batch_id, kind="batch")
    ledger_mod.pause_point("ledger_staged")
    ledger_mod.commit(exports, batch_id)
    ledger_mod.pause_point("ledger_committed")
    final = exports / batch_id
    os.rename(tmp, final)
    ledger_mod.fsync_dir(exports)
    ledger_mod.replace_latest(exports, batch_id)
    return final
