"""Receipts: the receiver's answer to a batch, per record accepted or rejected, applied to the ledger.

A receipt is checked whole before anything changes (schema, batch known, every record in that batch, reason codes
known, no answer contradicting an earlier one); then one new ledger version records it (same commit protocol as a
batch, under the same lock). Accepted: the record is marked, and the receiver is taken to show it (add/update) or
not (withdraw). Rejected: the record is re-queued with the reason; the next run re-sends it as it is if the reason
is transient (publication/receiver.yaml), otherwise once its published content changes.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError
from creditwh.settings import PUBLICATION_SCHEMAS_DIR
from publication import ledger as ledger_mod

RECEIPT_SCHEMA_FILE = "receipt.schema.json"
MAX_ERRORS_SHOWN = 20


class ReceiptError(CreditwhError):
    """The receipt cannot be applied (the message names the file, and the record when one is the cause)."""


@dataclass
class ReceiptResult:
    receipt: str
    batch_id: str
    accepted: int = 0
    rejected: int = 0
    repeated: int = 0                  # answers this ledger already had (same answer): ignored
    superseded: int = 0                # answers about an operation a later batch replaced: history only
    still_pending: int = 0             # records of the batch with no answer yet
    resend_next_run: int = 0           # rejected for a transient reason: re-sent as they are
    waiting_for_correction: int = 0    # rejected for a lasting reason: re-sent once their content changes
    already_applied: bool = False
    reasons: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def reason_codes() -> dict[str, dict]:
    from publication.export import _receiver

    return dict(_receiver()["receipts"]["reasons"])


def receipt_schema() -> dict:
    return json.loads((PUBLICATION_SCHEMAS_DIR / RECEIPT_SCHEMA_FILE).read_text(encoding="utf-8"))


def read_receipt(path: Path) -> tuple[dict, str]:
    """The receipt's content and SHA-256, or ReceiptError naming the file and what is wrong where."""
    import jsonschema

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReceiptError(f"receipt {path}: cannot be read ({exc.strerror})") from None
    try:
        receipt = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ReceiptError(f"receipt {path}: not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ReceiptError(f"receipt {path}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    validator = jsonschema.Draft202012Validator(receipt_schema())
    errors = sorted(validator.iter_errors(receipt), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        shown = [f"{_where(receipt, list(e.absolute_path))}: {e.message}" for e in errors[:MAX_ERRORS_SHOWN]]
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise ReceiptError(f"receipt {path} does not follow {RECEIPT_SCHEMA_FILE}: " + "; ".join(shown) + more)
    return receipt, hashlib.sha256(data).hexdigest()


def _where(receipt: dict, path: list) -> str:
    """A JSON path as a person finds it: records[3] (record_id …).field"""
    if len(path) >= 2 and path[0] == "records" and isinstance(path[1], int):
        item = receipt["records"][path[1]]
        rid = item.get("record_id") if isinstance(item, dict) else None
        rest = "/".join(map(str, path[2:]))
        return f"records[{path[1]}]" + (f" (record_id {rid})" if rid else "") + (f" field {rest}" if rest else "")
    return "/".join(map(str, path)) or "(file)"


def apply_receipt(exports: Path, receipt_path: Path) -> ReceiptResult:
    """Apply the receipt file to the ledger under `exports` (all or nothing)."""
    from publication.export import _publisher_lock

    exports, receipt_path = Path(exports), Path(receipt_path)
    receipt, digest = read_receipt(receipt_path)
    name = str(receipt_path)
    batch_id = receipt["batch_id"]
    if not (exports / ledger_mod.LEDGER_DIR / "CURRENT").exists():
        raise ReceiptError(f"receipt {name}: no batch has been sent from {exports} yet, so batch {batch_id} is "
                           "unknown")
    with _publisher_lock(exports):
        state, _repaired = ledger_mod.recover(exports)
        result = ReceiptResult(receipt=name, batch_id=batch_id)
        if any(r["sha256"] == digest for r in state.receipts):
            result.already_applied = True
            return _count_open(result, state)
        if batch_id not in state.batches:
            known = f"the last one sent is {state.batches[-1]}" if state.batches else "none was sent"
            raise ReceiptError(f"receipt {name}: batch {batch_id} is not a batch sent from {exports} ({known})")
        commit_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-receipt-{secrets.token_hex(3)}"
        new_state = _applied(state, receipt, name, digest, result, commit_id)
        copies = exports / "_receipts"
        copies.mkdir(exist_ok=True)
        shutil.copyfile(receipt_path, copies / f"{commit_id}.json")  # the answer as received, for audits
        ledger_mod.stage(exports, new_state, commit_id, kind="receipt")
        ledger_mod.commit(exports, commit_id)
    return _count_open(result, new_state)


def _applied(state: ledger_mod.LedgerState, receipt: dict, name: str, digest: str, result: ReceiptResult,
             commit_id: str) -> ledger_mod.LedgerState:
    batch_id = receipt["batch_id"]
    order = {b: i for i, b in enumerate(state.batches)}
    codes = reason_codes()
    history = state.history
    sent = {r["record_id"]: r for r in history.filter((pl.col("batch_id") == batch_id) & (pl.col("event") == "sent"))
            .iter_rows(named=True)}
    answered = {r["record_id"]: r for r in history.filter((pl.col("batch_id") == batch_id)
                                                          & (pl.col("event") != "sent")).iter_rows(named=True)}
    problems, seen, answers = [], set(), []
    for i, item in enumerate(receipt["records"]):
        rid, where = item["record_id"], f"records[{i}] (record_id {item['record_id']})"
        if rid in seen:
            problems.append(f"{where}: answered twice in this receipt")
            continue
        seen.add(rid)
        if rid not in sent:
            problems.append(f"{where}: record {rid} is not in batch {batch_id}")
            continue
        if item.get("operation") and item["operation"] != sent[rid]["operation"]:
            problems.append(f"{where}: operation {item['operation']} answered, batch {batch_id} sent "
                            f"{sent[rid]['operation']}")
            continue
        code = item.get("reason_code")
        if code is not None and code not in codes:
            problems.append(f"{where}: reason_code {code} is not in publication/receiver.yaml (receipts.reasons): "
                            "add it there, saying whether re-sending unchanged can help (transient)")
            continue
        before = answered.get(rid)
        if before is not None:
            if (before["event"], before["reason_code"]) != (item["status"], code):
                problems.append(f"{where}: answered {item['status']}"
                                f"{' ' + code if code else ''}, but receipt {before['receipt_file']} already answered "
                                f"{before['event']}{' ' + before['reason_code'] if before['reason_code'] else ''}")
            else:
                result.repeated += 1
            continue
        answers.append(item)
    if problems:
        more = f" (and {len(problems) - MAX_ERRORS_SHOWN} more)" if len(problems) > MAX_ERRORS_SHOWN else ""
        raise ReceiptError(f"receipt {name} cannot be applied, nothing was changed: "
                           + "; ".join(problems[:MAX_ERRORS_SHOWN]) + more)

    rows = state.rows()
    at = ledger_mod.now_iso()
    events = []
    for item in answers:
        rid, status, code = item["record_id"], item["status"], item.get("reason_code")
        op = sent[rid]["operation"]
        events.append({"commit_id": commit_id, "at": at, "batch_id": batch_id, "record_id": rid, "event": status,
                       "operation": op, "content_hash": sent[rid]["content_hash"], "withdraw_reason": None,
                       "reason_code": code, "message": item.get("message"), "receipt_file": name})
        row = rows[rid]
        if status == "accepted":
            result.accepted += 1
            acked = row["acknowledged_batch_id"]
            if acked is None or order.get(acked, -1) <= order[batch_id]:  # receipts may come out of order
                row["receiver_holds"] = op != "withdraw"
                row["acknowledged_batch_id"] = batch_id
        else:
            result.rejected += 1
            result.reasons[code] = result.reasons.get(code, 0) + 1
        if row["batch_id"] != batch_id:
            result.superseded += 1     # a later batch carries a newer operation: its own receipt decides
            continue
        row["status"] = status
        row["reason_code"] = code
        row["reason_message"] = item.get("message")
        row["transient"] = bool(codes[code]["transient"]) if code else None
    new_events = pl.DataFrame(events, schema=ledger_mod.HISTORY_SCHEMA)
    return ledger_mod.LedgerState(
        commit_id=commit_id, batches=state.batches, schema_sha256=state.schema_sha256,
        receipts=state.receipts + [{"file": name, "sha256": digest, "batch_id": batch_id, "applied_at": at,
                                    "accepted": result.accepted, "rejected": result.rejected}],
        ledger=pl.DataFrame(list(rows.values()), schema=ledger_mod.LEDGER_SCHEMA),
        history=pl.concat([history, new_events]))


def _count_open(result: ReceiptResult, state: ledger_mod.LedgerState) -> ReceiptResult:
    result.still_pending = state.unacknowledged().get(result.batch_id, 0)
    rejected = state.ledger.filter((pl.col("status") == "rejected") & (pl.col("batch_id") == result.batch_id))
    result.resend_next_run = rejected.filter(pl.col("transient")).height
    result.waiting_for_correction = rejected.height - result.resend_next_run
    return result
