"""The publication ledger: the state of every record ever sent to the receiver, kept beside the batches.

Outside the warehouse on purpose (dbt is the warehouse's only writer). Layout under exports/:

    _ledger/CURRENT               one line: the id of the committed ledger version (the commit point)
    _ledger/<commit_id>/          one version: ledger.parquet (one row per record), history.parquet (every
                                  event: sent / accepted / rejected), commit.json (batches and receipts so far)

A version is written under _ledger/.tmp-<commit_id>/, renamed, and only counts once CURRENT names it. A batch
commits in this order: batch files under exports/.tmp-<batch_id>/, the new ledger version, CURRENT (the commit
point), then the batch folder renamed into place and LATEST. `recover` (run under the publisher lock before
anything else) rolls a committed batch forward if a crash stopped after the commit point, and removes whatever an
uncommitted run left; so a crash leaves either the previous ledger and no batch, or the new ledger and its batch.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError

LEDGER_DIR = "_ledger"
KEEP_VERSIONS = 5          # committed versions kept for forensics besides the current one
PAUSE_ENV = "CREDITWH_PUBLICATION_PAUSE_AT"      # test hook: stop the writer at a named point (kill tests)
PAUSE_FILE_ENV = "CREDITWH_PUBLICATION_PAUSE_FILE"

LEDGER_SCHEMA = {
    "record_id": pl.String,
    "record_type": pl.String,
    "content_hash": pl.String,       # SHA-256 of the last content sent (fields without operation/withdraw_reason)
    "record_json": pl.String,        # that content, as sent
    "provenance_json": pl.String,    # feed, run, file, hash, row it came from
    "last_operation": pl.String,     # add / update / withdraw
    "withdraw_reason": pl.String,    # for a withdraw
    "batch_id": pl.String,           # the batch that carried the last operation
    "status": pl.String,             # pending / accepted / rejected: the receiver's answer to the last operation
    "reason_code": pl.String,        # for rejected: the receiver's code
    "reason_message": pl.String,
    "transient": pl.Boolean,         # for rejected: re-send unchanged (true) or wait for a correction (false)
    "receiver_holds": pl.Boolean,    # per the latest acknowledged operation, the receiver shows the record
    "acknowledged_batch_id": pl.String,  # batch of that acknowledged operation
}
HISTORY_SCHEMA = {
    "commit_id": pl.String,
    "at": pl.String,
    "batch_id": pl.String,
    "record_id": pl.String,
    "event": pl.String,              # sent / accepted / rejected
    "operation": pl.String,
    "content_hash": pl.String,
    "withdraw_reason": pl.String,
    "reason_code": pl.String,
    "message": pl.String,
    "receipt_file": pl.String,
}


class LedgerError(CreditwhError):
    """The ledger on disk is not consistent with the batches (named in the message)."""


@dataclass
class LedgerState:
    commit_id: str | None = None
    batches: list[str] = field(default_factory=list)       # committed batches, oldest first
    receipts: list[dict] = field(default_factory=list)     # applied receipt files: file, sha256, batch_id, at
    schema_sha256: str | None = None    # the record schema every record of the ledger was validated against
    ledger: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LEDGER_SCHEMA))
    history: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=HISTORY_SCHEMA))

    def rows(self) -> dict[str, dict]:
        return {row["record_id"]: row for row in self.ledger.iter_rows(named=True)}

    def unacknowledged(self) -> dict[str, int]:
        """batch id -> records sent in it that have no receipt yet (batches with none left are not listed)."""
        sent = self.history.filter(pl.col("event") == "sent").select("batch_id", "record_id")
        answered = self.history.filter(pl.col("event") != "sent").select("batch_id", "record_id").unique()
        open_ = sent.join(answered, on=["batch_id", "record_id"], how="anti")
        counts = dict(open_.group_by("batch_id").len().iter_rows())
        return {b: counts[b] for b in self.batches if counts.get(b)}

    def last_acknowledged_batch(self) -> str | None:
        """The newest batch every record of which has a receipt."""
        waiting = self.unacknowledged()
        done = [b for b in self.batches if b not in waiting]
        return done[-1] if done else None


def content_hash(record: dict) -> str:
    content = {k: v for k, v in record.items() if k not in ("operation", "withdraw_reason")}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                                     allow_nan=False).encode("utf-8")).hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------------------ reading
def _dir(exports: Path) -> Path:
    return Path(exports) / LEDGER_DIR


def load(exports: Path) -> LedgerState:
    """The committed ledger (empty before the first incremental batch)."""
    folder = _dir(exports)
    current = folder / "CURRENT"
    if not current.exists():
        return LedgerState()
    commit_id = current.read_text(encoding="utf-8").strip()
    version = folder / commit_id
    try:
        meta = json.loads((version / "commit.json").read_text(encoding="utf-8"))
        ledger = pl.read_parquet(version / "ledger.parquet")
        history = pl.read_parquet(version / "history.parquet")
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        raise LedgerError(f"{current} names ledger version {commit_id}, which cannot be read ({exc}): restore "
                          f"{version} from backup; do not publish until then (records would be sent twice)") from None
    return LedgerState(commit_id=commit_id, batches=list(meta["batches"]), receipts=list(meta["receipts"]),
                       schema_sha256=meta.get("schema_sha256"),
                       ledger=ledger.select(list(LEDGER_SCHEMA)).cast(LEDGER_SCHEMA),
                       history=history.select(list(HISTORY_SCHEMA)).cast(HISTORY_SCHEMA))


# ------------------------------------------------------------------------------------------------ writing
def pause_point(name: str) -> None:
    """Test hook for kill tests: with CREDITWH_PUBLICATION_PAUSE_AT=name the writer announces it reached `name`
    (touching CREDITWH_PUBLICATION_PAUSE_FILE) and waits to be killed. Does nothing otherwise."""
    if os.environ.get(PAUSE_ENV) != name:
        return
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        Path(marker).write_text(name, encoding="utf-8")
    time.sleep(600)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def stage(exports: Path, state: LedgerState, commit_id: str, kind: str) -> Path:
    """Write `state` as ledger version `commit_id` (not yet committed: CURRENT still names the previous one)."""
    folder = _dir(exports)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{commit_id}"
    tmp.mkdir()
    ledger = state.ledger.select(list(LEDGER_SCHEMA)).cast(LEDGER_SCHEMA).sort("record_id")
    _write_file(tmp / "ledger.parquet", _parquet_bytes(ledger))
    _write_file(tmp / "history.parquet", _parquet_bytes(state.history.select(list(HISTORY_SCHEMA))))
    current = folder / "CURRENT"
    previous = current.read_text(encoding="utf-8").strip() if current.exists() else None
    meta = {"commit_id": commit_id, "kind": kind, "previous_commit_id": previous, "written_at": now_iso(),
            "schema_sha256": state.schema_sha256, "batches": state.batches, "receipts": state.receipts}
    _write_file(tmp / "commit.json", json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8"))
    fsync_dir(tmp)
    final = folder / commit_id
    os.rename(tmp, final)
    fsync_dir(folder)
    return final


def commit(exports: Path, commit_id: str) -> None:
    """The commit point: CURRENT names the staged version `commit_id`."""
    folder = _dir(exports)
    pointer = folder / ".CURRENT.tmp"
    _write_file(pointer, (commit_id + "\n").encode("utf-8"))
    os.replace(pointer, folder / "CURRENT")
    fsync_dir(folder)


def replace_latest(exports: Path, batch_id: str) -> None:
    pointer = Path(exports) / ".LATEST.tmp"
    _write_file(pointer, (batch_id + "\n").encode("utf-8"))
    os.replace(pointer, Path(exports) / "LATEST")
    fsync_dir(Path(exports))


def recover(exports: Path) -> tuple[LedgerState, list[str]]:
    """Make the folder agree with the committed ledger (call under the publisher lock). Returns the state and what
    was repaired, for the run's log."""
    exports = Path(exports)
    state = load(exports)
    done: list[str] = []
    if state.batches:
        last = state.batches[-1]
        final, tmp = exports / last, exports / f".tmp-{last}"
        if not final.exists():
            if not tmp.is_dir():
                raise LedgerError(f"the ledger ({_dir(exports) / 'CURRENT'}) records batch {last} as sent but "
                                  f"neither {final} nor {tmp} exists: restore the batch folder before publishing")
            os.rename(tmp, final)  # the run crashed after its commit point: finish it
            fsync_dir(exports)
            done.append(f"completed batch {last} (a run stopped after committing it)")
        latest = exports / "LATEST"
        if not latest.exists() or latest.read_text(encoding="utf-8").strip() != last:
            replace_latest(exports, last)
            done.append(f"LATEST set to {last}")
    for stale in exports.glob(".tmp-*"):  # batches of runs that stopped before their commit point
        shutil.rmtree(stale, ignore_errors=True)
        done.append(f"removed the uncommitted {stale.name}")
    folder = _dir(exports)
    if folder.exists():
        for stale in folder.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        versions = sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                          key=lambda p: p.stat().st_mtime_ns)
        committed = [v for v in versions if v.name == state.commit_id]
        if state.commit_id is None or not committed:
            for v in versions:      # staged versions of runs that never committed
                shutil.rmtree(v, ignore_errors=True)
        else:
            upto = versions.index(committed[0])
            for v in versions[upto + 1:]:   # staged after the current one: never committed
                shutil.rmtree(v, ignore_errors=True)
            for v in versions[:max(0, upto - KEEP_VERSIONS)]:
                shutil.rmtree(v, ignore_errors=True)
    return state, done
