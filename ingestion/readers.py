"""Readers turn one department file into a table of raw strings, one column per source header.

Every reader returns all values as strings (typing is normalisation's job, so a bad value becomes a quarantined
row with a reason instead of a reader crash) plus `_source_row`: the 1-based ordinal of the record in its file,
not counting header or title rows. A file that cannot be read at all raises UnreadableFile with a message that
names the file and what is wrong with it.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from ingestion.contracts import Contract

SOURCE_ROW = "_source_row"


class UnreadableFile(Exception):
    """The whole file is rejected; the message is meant for a person."""


def read_raw(contract: Contract, path: Path) -> pl.DataFrame:
    if path.stat().st_size == 0:
        raise UnreadableFile(f"{path.name}: the file is empty")
    reader = {"csv": _read_csv, "xlsx": _read_xlsx, "json_pages": _read_json_page}[contract.format]
    frame = reader(contract, path)
    missing = [s for s in contract.source_names if s not in frame.columns]
    if missing:
        raise UnreadableFile(
            f"{path.name}: columns required by contract {contract.id} are missing: {', '.join(missing)}"
            f" (found: {', '.join(c for c in frame.columns if c != SOURCE_ROW)})"
        )
    return frame.select([*contract.source_names, SOURCE_ROW])


def _decode(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableFile(
            f"{path.name}: not valid {encoding} (as its contract declares) at byte {exc.start}, line {line}"
        ) from None


def _read_csv(contract: Contract, path: Path) -> pl.DataFrame:
    text = _decode(path, contract.encoding).lstrip("\ufeff")
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")), infer_schema=False,
            truncate_ragged_lines=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFile(f"{path.name}: not a readable CSV file: {first}") from None
    return frame.with_row_index(SOURCE_ROW, offset=1).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def _read_xlsx(contract: Contract, path: Path) -> pl.DataFrame:
    import fastexcel

    try:
        reader = fastexcel.read_excel(path)
        sheet = reader.load_sheet(contract.sheet, header_row=contract.header_row, dtypes="string")
        frame = sheet.to_polars()
    except Exception as exc:  # fastexcel raises several unrelated types for a broken or non-xlsx file
        raise UnreadableFile(f"{path.name}: not a readable XLSX workbook: {str(exc).splitlines()[0]}") from None
    frame = frame.with_columns(pl.all().cast(pl.String))
    return frame.with_row_index(SOURCE_ROW, offset=1).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def _read_json_page(contract: Contract, path: Path) -> pl.DataFrame:
    try:
        page = json.loads(_decode(path, contract.encoding))
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"{path.name}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    records = page
    for part in contract.records_path.split("."):
        if not isinstance(records, dict) or part not in records:
            raise UnreadableFile(f"{path.name}: no '{contract.records_path}' list in this JSON page")
        records = records[part]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise UnreadableFile(f"{path.name}: '{contract.records_path}' is not a list of records")
    columns = {
        s: [None if r.get(s) is None else str(r[s]) for r in records] for s in contract.source_names
    }
    frame = pl.DataFrame(columns, schema={s: pl.String for s in contract.source_names})
    return frame.with_row_index(SOURCE_ROW, offset=1).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
