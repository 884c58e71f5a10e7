"""One ingestion run: read each waiting file against its contract, land it, quarantine the rest, account for all.

Accounting is the promise of this module: for every file, rows_in == loaded + quarantined, or the whole file is
rejected with a message and the run goes on with the next file.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatch
from pathlib import Path

import polars as pl

from creditwh.settings import Home
from ingestion.conform import conform
from ingestion.contracts import Contract, load_contracts
from ingestion.landing import FileRegister, ensure_schema_files, lineage, write_landed
from ingestion.readers import RawFile, UnreadableFile, read_raw


@dataclass
class FileResult:
    file: str
    feed: str
    sha256: str = ""
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    status: str = "loaded"  # loaded | duplicate | rejected
    error: str | None = None
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    encoding: str | None = None
    schema_drift: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    run_id: str
    started_at: str
    files: list[FileResult]

    def by_feed(self) -> list[dict]:
        feeds: dict[str, dict] = {}
        for f in self.files:
            row = feeds.setdefault(f.feed, {"feed": f.feed, "files": 0, "rows_in": 0, "loaded": 0,
                                            "quarantined": 0, "rejected_files": 0, "duplicate_files": 0})
            row["files"] += 1
            row["rows_in"] += f.rows_in
            row["loaded"] += f.loaded
            row["quarantined"] += f.quarantined
            row["rejected_files"] += f.status == "rejected"
            row["duplicate_files"] += f.status == "duplicate"
        return [feeds[k] for k in sorted(feeds)]

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "started_at": self.started_at, "feeds": self.by_feed(),
                "files": [asdict(f) for f in self.files]}


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def contract_assertion_warnings(contract: Contract, file_name: str, rows: int) -> list[str]:
    """A file far smaller or larger than the department usually sends is loaded, but someone should look."""
    low, high = contract.assertions.get("min_rows"), contract.assertions.get("max_rows")
    if low is not None and rows < low:
        return [f"{file_name}: {rows} rows, fewer than the {low} that contract {contract.id} expects"]
    if high is not None and rows > high:
        return [f"{file_name}: {rows} rows, more than the {high} that contract {contract.id} expects"]
    return []


@dataclass
class _Read:
    """What can be done with a file before its turn: hashing and reading it. Whether it is a duplicate of this run's
    files, and landing it, wait for its turn."""
    sha256: str
    raw: RawFile | None = None
    error: UnreadableFile | None = None


def _read(contract: Contract, path: Path, register: FileRegister) -> _Read:
    read = _Read(sha256_of(path))
    if register.seen(read.sha256):  # loaded by an earlier run: not worth reading (this run's own are checked later)
        return read
    try:
        read.raw = read_raw(contract, path)
    except UnreadableFile as exc:
        read.error = exc
    return read


def ingest_file(home: Home, contract: Contract, path: Path, run_id: str, part: int,
                register: FileRegister, read: _Read | None = None) -> FileResult:
    """Land one file. `read` is the file already hashed and read (ahead of its turn, by `ingest`)."""
    result = FileResult(file=path.name, feed=contract.id)
    read = read or _read(contract, path, register)
    result.sha256 = read.sha256
    earlier = register.seen(result.sha256)
    if earlier:
        result.status = "duplicate"
        result.error = f"{path.name}: already ingested in run {earlier['run_id']} as {earlier['file']}"
        return result
    if read.error is not None:
        result.status, result.error = "rejected", str(read.error)
        return result
    raw_file = read.raw
    raw = raw_file.frame
    result.encoding, result.schema_drift, result.warnings = raw_file.encoding, raw_file.drift, raw_file.warnings
    if raw_file.drift:
        result.warnings.append(f"{path.name}: columns differ from contract {contract.id}: {raw_file.drift}")
    result.rows_in = raw.height
    result.warnings += contract_assertion_warnings(contract, path.name, raw.height)
    conformed = conform(contract, raw, path.name)
    stamp = lineage(contract.id, run_id, path.name, result.sha256, datetime.now(timezone.utc))
    if conformed.loaded.height or not conformed.quarantined.height:
        write_landed(home.landing, contract, run_id, part, conformed.loaded.with_columns(stamp))
    if conformed.quarantined.height:
        write_landed(home.quarantine, contract, run_id, part, conformed.quarantined.with_columns(stamp[:-1]))
        counts = conformed.quarantined.group_by("_reason").len().sort("_reason")
        result.quarantine_reasons = dict(zip(counts["_reason"].to_list(), counts["len"].to_list()))
    result.loaded, result.quarantined = conformed.loaded.height, conformed.quarantined.height
    if result.loaded + result.quarantined != result.rows_in:  # the promise; never expected to fire
        raise AssertionError(f"{path.name}: {result.rows_in} rows in but {result.loaded} + {result.quarantined} out")
    register.record(result.sha256, {"run_id": run_id, "file": path.name, "feed": contract.id})
    return result


def waiting_files(home: Home, contracts: dict[str, Contract]) -> list[tuple[Contract, Path]]:
    found = []
    for feed_id, contract in contracts.items():
        folder = home.inbox / feed_id
        if folder.is_dir():
            found += [(contract, p) for p in sorted(folder.iterdir())
                      if p.is_file() and not p.is_symlink() and not p.name.startswith(".") and fnmatch(p.name, contract.file_pattern)]
    return found


def ingest(home: Home, files: list[tuple[Contract, Path]] | None = None, run_id: str | None = None,
           contracts: dict[str, Contract] | None = None, on_file=None) -> RunReport:
    """Ingest the given files (default: everything waiting in the inbox) as one run, and record its accounting.

    `on_file(done, total, path)` is called before each file (the CLI draws a progress bar with it).
    """
    home.ensure()
    contracts = contracts or load_contracts()
    run_id = run_id or new_run_id()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    register = FileRegister(home.ingest_runs)
    todo = files if files is not None else waiting_files(home, contracts)
    parts: dict[str, int] = {}
    results = []
    # The next file is hashed and read (XLSX parsing and CSV decoding release the GIL) while this one is
    # normalised and written: one file ahead, so at most two raw files are held at once, whatever the run's size.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-read") as reader:
        ahead = reader.submit(_read, *todo[0], register) if todo else None
        for done, (contract, path) in enumerate(todo):
            if on_file:
                on_file(done, len(todo), path)
            read = ahead.result()
            ahead = reader.submit(_read, *todo[done + 1], register) if done + 1 < len(todo) else None
            part = parts[contract.id] = parts.get(contract.id, -1) + 1
            results.append(ingest_file(home, contract, path, run_id, part, register, read))
            del read  # free this raw file before waiting for the next one
    ensure_schema_files(home.landing, contracts)
    report = RunReport(run_id=run_id, started_at=started, files=results)
    (home.ingest_runs / f"{run_id}.json").write_text(
        json.dumps(report.to_json(), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return report


def quarantined_rows(home: Home, run_id: str | None = None) -> pl.DataFrame:
    """Quarantined rows of one run (or all runs), with reasons: what a department must fix."""
    pattern = f"run={run_id}" if run_id else "run=*"
    files = sorted(home.quarantine.glob(f"*/{pattern}/*.parquet"))
    if not files:
        return pl.DataFrame(schema={"_feed": pl.String, "_source_row": pl.Int64, "_reason": pl.String,
                                    "_field": pl.String, "_message": pl.String})
    return pl.concat([pl.read_parquet(f, columns=["_feed", "_file_name", "_source_row", "_reason", "_field",
                                                  "_message"]) for f in files])
