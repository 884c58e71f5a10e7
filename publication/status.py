"""What the ledger says: counts per status and operation, the batches, and one record's history."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError
from publication import ledger as ledger_mod

STATUSES = ("pending", "accepted", "rejected")
OPERATIONS = ("add", "update", "withdraw")


def summary(exports: Path) -> dict:
    """Counts per status x last operation, what the receiver shows, the re-queue, and the batches."""
    exports = Path(exports)
    state = ledger_mod.load(exports)
    led = state.ledger
    table = {s: dict.fromkeys(OPERATIONS, 0) for s in STATUSES}
    for status, op, n in led.group_by("status", "last_operation").len().iter_rows():
        table[status][op] = n
    rejected = led.filter(pl.col("status") == "rejected")
    unacknowledged = state.unacknowledged()
    last = state.batches[-1] if state.batches else None
    interrupted = bool(last) and not (exports / last).exists()
    return {
        "exports": str(exports),
        "ledger_version": state.commit_id,
        "records": led.height,
        "by_status": {s: sum(table[s].values()) for s in STATUSES},
        "by_status_and_operation": table,
        "receiver_shows": led.filter(pl.col("receiver_holds")).height,
        "rejected": {
            "resend_next_run": rejected.filter(pl.col("transient")).height,
            "waiting_for_correction": rejected.filter(~pl.col("transient")).height,
            "by_reason": dict(sorted(rejected.group_by("reason_code").len().iter_rows())),
        },
        "batches": len(state.batches),
        "last_batch": last,
        "last_acknowledged_batch": state.last_acknowledged_batch(),
        "unacknowledged_batches": unacknowledged,
        "receipts_applied": len(state.receipts),
        "interrupted_run": None if not interrupted else (
            f"batch {last} is committed but its folder is not in place yet: the next `creditwh publish` or "
            "`creditwh publication receive` completes it"),
    }


def record_history(exports: Path, record_id: str) -> dict:
    """The ledger row of one record and every event about it, oldest first."""
    state = ledger_mod.load(Path(exports))
    row = state.rows().get(record_id)
    if row is None:
        raise CreditwhError(f"record {record_id} was never sent from {exports} (record ids are the warehouse's "
                            "ids: penalty_id, licence_id, ...: 32 hex characters)")
    events = (state.history.with_row_index("_seq").filter(pl.col("record_id") == record_id)
              .sort("_seq").drop("_seq", "record_id"))
    order = {b: i + 1 for i, b in enumerate(state.batches)}
    current = {k: v for k, v in row.items() if k not in ("record_json", "provenance_json")}
    return {"record_id": record_id, "current": current,
            "events": [e | {"batch_number": order.get(e["batch_id"])} for e in events.iter_rows(named=True)]}
