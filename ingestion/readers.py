"""Readers turn one department file into a table of raw strings, one column per contract `source` header.

Every reader returns all values as strings (typing is normalisation's job, so a bad value becomes a quarantined
row with a reason instead of a reader crash) plus `_source_row`: the 1-based ordinal of the record in its file,
not counting header or title rows. Headers are matched through the contract's aliases (legacy column codes,
Chinese names), and how the file's columns differ from the contract is reported as schema drift. A file that
cannot be read at all raises UnreadableFile with a message that names the file and what is wrong with it.
"""
from __future__ import annotations

import codecs
import json
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingestion.contracts import Contract

SOURCE_ROW = "_source_row"
MAX_FILE_BYTES = 2 * 1024**3          # larger files are refused: split them at the source
MAX_XLSX_UNCOMPRESSED = 4 * 1024**3   # a zip that inflates beyond this is treated as a decompression bomb
MAX_XLSX_RATIO = 200                  # ... as is one whose parts inflate more than 200-fold
ENCODINGS_TO_TRY = ("utf-8", "gb18030")  # gb18030 is a superset of gbk; a BOM is stripped later


class UnreadableFile(Exception):
    """The whole file is rejected; the message is meant for a person."""


@dataclass
class RawFile:
    frame: pl.DataFrame                 # contract source headers (all strings) + _source_row
    encoding: str | None = None         # what the bytes really were, for text formats
    drift: dict = field(default_factory=dict)  # unexpected / missing_optional / renamed columns
    warnings: list[str] = field(default_factory=list)


def header_key(header: str) -> str:
    """Compare headers the way a person would: ignore width, spaces and case."""
    return "".join(unicodedata.normalize("NFKC", str(header)).split()).lstrip("\ufeff").upper()


def read_raw(contract: Contract, path: Path) -> RawFile:
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFile(f"{path.name}: the file is empty")
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(f"{path.name}: {size / 1024**3:.1f} GB is over the {MAX_FILE_BYTES / 1024**3:.0f} GB limit")
    reader = {"csv": _read_csv, "xlsx": _read_xlsx, "json_pages": _read_json_page,
              "jsonl": _read_json_lines}[contract.format]
    raw = reader(contract, path)
    raw.frame, raw.drift = _match_columns(contract, path, raw.frame)
    return raw


def _match_columns(contract: Contract, path: Path, frame: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    by_key = {header_key(h): h for h in frame.columns if h != SOURCE_ROW}
    rename, renamed, missing_required, missing_optional = {}, {}, [], []
    for col in contract.columns:
        found = next((by_key[header_key(h)] for h in (col.source, *col.aliases) if header_key(h) in by_key), None)
        if found is None:
            (missing_required if col.required else missing_optional).append(col.source)
            continue
        rename[found] = col.source
        if found != col.source:
            renamed[found] = col.source
    if missing_required:
        raise UnreadableFile(
            f"{path.name}: columns required by contract {contract.id} are missing: {', '.join(missing_required)}"
            f" (found: {', '.join(by_key.values())})"
        )
    unexpected = sorted(h for h in by_key.values() if h not in rename)
    frame = frame.rename(rename).with_columns([pl.lit(None, dtype=pl.String).alias(s) for s in missing_optional])
    drift = {k: v for k, v in (("unexpected", unexpected), ("missing_optional", missing_optional),
                               ("renamed", renamed)) if v}
    return frame.select([*contract.source_names, SOURCE_ROW]), drift


def _decode(path: Path, declared: str) -> tuple[str, str, list[str]]:
    """Decode as the contract declares; if the bytes say otherwise, decode as what they are and say so."""
    return _decode_bytes(path, path.read_bytes(), declared)


def _decode_bytes(path: Path, data: bytes, declared: str) -> tuple[str, str, list[str]]:
    try:
        return data.decode(declared), declared, []
    except UnicodeDecodeError as exc:
        first_error = exc
    for candidate in ENCODINGS_TO_TRY:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return text, candidate, [f"{path.name}: declared {declared} but the file is {candidate}; read as {candidate}"]
    line = data[: first_error.start].count(b"\n") + 1
    raise UnreadableFile(
        f"{path.name}: not valid {declared} (as its contract declares) at byte {first_error.start}, line {line}, "
        f"and not {' or '.join(ENCODINGS_TO_TRY)} either"
    )


def _with_row_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index(SOURCE_ROW, offset=1).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


UTF8_BOM = "\ufeff".encode("utf-8")


def _csv_utf8(path: Path, declared: str) -> tuple[bytes, str, list[str]]:
    """The file as UTF-8 bytes without a leading BOM, for polars. Bytes that already are UTF-8 are passed on as
    they are (decoded only to prove it); only another encoding is re-encoded."""
    data = path.read_bytes()
    text, encoding, warnings = _decode_bytes(path, data, declared)
    if codecs.lookup(encoding).name == "utf-8":
        del text
        while data.startswith(UTF8_BOM):
            data = data[len(UTF8_BOM):]
        return data, encoding, warnings
    return text.lstrip("\ufeff").encode("utf-8"), encoding, warnings


def _read_csv(contract: Contract, path: Path) -> RawFile:
    data, encoding, warnings = _csv_utf8(path, contract.encoding)
    try:
        frame = pl.read_csv(data, infer_schema=False, truncate_ragged_lines=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFile(f"{path.name}: not a readable CSV file: {first}") from None
    return RawFile(_with_row_numbers(frame), encoding=encoding, warnings=warnings)


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except zipfile.BadZipFile:
        raise UnreadableFile(f"{path.name}: not an XLSX workbook (an .xlsx file is a zip archive; this is not one, "
                             "or it is truncated)") from None
    inflated = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    if inflated > MAX_XLSX_UNCOMPRESSED or inflated / packed > MAX_XLSX_RATIO:
        raise UnreadableFile(f"{path.name}: refused: it would inflate to {inflated / 1024**2:,.0f} MB "
                             f"({inflated / packed:,.0f}× its size), which looks like a decompression bomb")


def _read_xlsx(contract: Contract, path: Path) -> RawFile:
    import fastexcel

    _check_zip(path)
    try:
        reader = fastexcel.read_excel(path)
        if contract.sheet >= len(reader.sheet_names):
            raise UnreadableFile(f"{path.name}: has {len(reader.sheet_names)} sheet(s); the contract reads sheet "
                                 f"{contract.sheet}")
        sheet = reader.load_sheet(contract.sheet, header_row=contract.header_row, dtypes="string")
        frame = sheet.to_polars()
    except UnreadableFile:
        raise
    except Exception as exc:  # fastexcel raises several unrelated types for a broken workbook
        raise UnreadableFile(f"{path.name}: not a readable XLSX workbook: {str(exc).splitlines()[0]}") from None
    return RawFile(_with_row_numbers(frame.with_columns(pl.all().cast(pl.String))))


def _read_json_page(contract: Contract, path: Path) -> RawFile:
    text, encoding, warnings = _decode(path, contract.encoding)
    try:
        page = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"{path.name}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    records = page
    for part in contract.records_path.split("."):
        if not isinstance(records, dict) or part not in records:
            raise UnreadableFile(f"{path.name}: no '{contract.records_path}' list in this JSON page")
        records = records[part]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise UnreadableFile(f"{path.name}: '{contract.records_path}' is not a list of records")
    return RawFile(_with_row_numbers(_records_frame(records)), encoding=encoding, warnings=warnings)


def _records_frame(records: list[dict]) -> pl.DataFrame:
    keys = sorted({k for r in records for k in r})
    columns = {k: [None if r.get(k) is None else str(r[k]) for r in records] for k in keys}
    return pl.DataFrame(columns, schema={k: pl.String for k in keys}) if keys else pl.DataFrame()


def _read_json_lines(contract: Contract, path: Path) -> RawFile:
    """JSON Lines: one object per line; blank lines are skipped, so _source_row counts records, not lines. A line
    that is not a JSON object rejects the file: the export is broken, and its line number tells the sender where."""
    text, encoding, warnings = _decode(path, contract.encoding)
    records = []
    for line_no, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UnreadableFile(f"{path.name}: line {line_no} is not valid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(record, dict):
            raise UnreadableFile(f"{path.name}: line {line_no} is not a JSON object")
        records.append(record)
    if not records:
        raise UnreadableFile(f"{path.name}: no JSON records in this file")
    return RawFile(_with_row_numbers(_records_frame(records)), encoding=encoding, warnings=warnings)
