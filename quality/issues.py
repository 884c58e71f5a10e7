"""The row-level correction list of one department: its open problems as CSV (UTF-8 with BOM, so Excel opens
the Chinese text right) or XLSX, one row per problem: feed, file, row, field, rule, severity, message, value."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError
from creditwh.settings import CONTRACTS_DIR, Home
from ingestion.contracts import load_contracts
from quality.problems import open_problems

EXPORT_COLUMNS = ["feed", "file", "row", "field", "rule", "severity", "dimension", "message", "value", "record_key",
                  "run_id"]
FORMATS = ("csv", "xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class IssuesError(CreditwhError):
    """The export cannot be made as asked (unknown department, unknown format)."""


def departments(contracts=None) -> list[str]:
    contracts = contracts or load_contracts(CONTRACTS_DIR)
    return sorted({c.department for c in contracts.values()})


def department_issues(home: Home, department: str) -> pl.DataFrame:
    """Open problems of one department, in the export's columns, in file and row order."""
    contracts = load_contracts(CONTRACTS_DIR)
    known = departments(contracts)
    if department not in known:
        raise IssuesError(f"unknown department {department!r}; known departments: {', '.join(known)}")
    problems = open_problems(home, department, contracts)
    return problems.select(
        "feed", pl.col("file_name").alias("file"), pl.col("source_row").alias("row"), "field", "rule", "severity",
        "dimension", "message", "value", "record_key", "run_id",
    ).sort(["feed", "file", "row", "rule"])


def _cell(value) -> str:
    """Text as a spreadsheet must show it: a value starting like a formula is prefixed with ' (never executed)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(frame: pl.DataFrame) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(frame.columns)
    for row in frame.iter_rows():
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(frame: pl.DataFrame, department: str) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    # strings_to_formulas off: a department's value is data, never a formula to run
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    sheet = book.add_worksheet("open issues")
    bold = book.add_format({"bold": True, "bg_color": "#F3F3F3"})
    sheet.write_row(0, 0, frame.columns, bold)
    for r, row in enumerate(frame.iter_rows(), start=1):
        for c, value in enumerate(row):
            if isinstance(value, int):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, "" if value is None else str(value))
    widths = {"feed": 22, "file": 24, "row": 7, "field": 20, "rule": 40, "severity": 9, "dimension": 13,
              "message": 80, "value": 24, "record_key": 50, "run_id": 26}
    for c, name in enumerate(frame.columns):
        sheet.set_column(c, c, widths.get(name, 16))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(frame.height, 1), len(frame.columns) - 1)
    book.set_properties({"title": f"Open data-quality issues: {department}"})
    book.close()
    return buffer.getvalue()


def export(home: Home, department: str, fmt: str = "csv", out: Path | None = None) -> tuple[Path, int]:
    """Write the department's open problems; return the file and the number of problems."""
    if fmt not in FORMATS:
        raise IssuesError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    frame = department_issues(home, department)
    out = Path(out) if out else home.quality / "issues" / f"{department}_open_issues.{fmt}"
    data = to_csv(frame) if fmt == "csv" else to_xlsx(frame, department)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out, frame.height
