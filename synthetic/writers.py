"""Write feed files exactly as the contracts describe them: CSV in the declared encoding, XLSX, JSON pages.

All output is byte-for-byte reproducible: no wall-clock time, fixed ZIP timestamps and workbook properties,
sorted JSON keys.

XLSX: two engines that produce the same cells.
- "native" (default) renders the worksheet XML with vectorised polars string expressions: the same SpreadsheetML
  xlsxwriter writes in constant_memory mode (inline strings, one <row> per record, a yyyy-mm-dd date style).
  Measured here, xlsxwriter's per-cell Python calls cost ~9 us a cell (~100k cells/s): the city licence workbook
  (~4.5M cells) alone would take ~45 s; the native engine needs about 1-2 s.
- "xlsxwriter" writes the same workbook with xlsxwriter (constant_memory); slow, kept as the reference that the
  tests compare the native engine against.
Cell types follow the contract: a `date` column holds a real date cell when the text is an ISO date, a plain number
cell when it is an Excel serial (the date_format defect) and a string otherwise (2024/3/5, 2099/12/31);
`integer` and `amount_wan` columns hold number cells when the text is a plain number.
"""
from __future__ import annotations

import json
import zipfile
from datetime import date, datetime
from pathlib import Path

import polars as pl

from .common import EXCEL_EPOCH_OFFSET
from .config import Contract

XLSX_MAX_ROWS = 1_048_576
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SERIAL_RE = r"^\d{1,5}$"
NUMBER_RE = r"^-?\d+(\.\d+)?$"


# ------------------------------------------------------------------------------------------------ CSV
def write_csv(path: Path, frame: pl.DataFrame, encoding: str) -> None:
    """Header = the contract's source names; nulls as empty fields; encoded strictly (a character the encoding
    cannot hold is a generator bug, not something to replace silently)."""
    text = frame.write_csv(quote_style="necessary", null_value="")
    path.write_bytes(text.encode(encoding, errors="strict"))


# ------------------------------------------------------------------------------------------------ JSON pages
def write_json_page(path: Path, records: list[dict], page: int, page_size: int, total: int, total_pages: int) -> None:
    body = {"page": page, "page_size": page_size, "total": total, "total_pages": total_pages, "data": records}
    path.write_text(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n",
                    encoding="utf-8")


# ------------------------------------------------------------------------------------------------ JSON Lines
def write_json_lines(path: Path, frame: pl.DataFrame, encoding: str) -> None:
    """One object per record with every contract key (null where empty), keys in contract order, as the source
    systems' exporters write them; polars serialises the whole frame at once (no per-row Python)."""
    text = frame.write_ndjson()
    path.write_bytes(text.encode(encoding, errors="strict"))


# ------------------------------------------------------------------------------------------------ XLSX
def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _cell_kinds(frame: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Per cell: 'd' date (value = Excel serial), 'n' number, 's' string, null = empty. Vectorised."""
    exprs = []
    for c in contract.columns:
        v = pl.col(c.source)
        if c.type == "date":
            serial = (v.str.strptime(pl.Date, "%Y-%m-%d", strict=False).cast(pl.Int32) + EXCEL_EPOCH_OFFSET)
            iso = v.str.contains(r"^\d{4}-\d{2}-\d{2}$")
            kind = pl.when(v.is_null()).then(None).when(iso & serial.is_not_null()).then(pl.lit("d")) \
                .when(v.str.contains(SERIAL_RE)).then(pl.lit("n")).otherwise(pl.lit("s"))
            value = pl.when(kind == "d").then(serial.cast(pl.String)).otherwise(v)
        elif c.type in ("integer", "amount_wan"):
            kind = pl.when(v.is_null()).then(None).when(v.str.contains(NUMBER_RE)).then(pl.lit("n")) \
                .otherwise(pl.lit("s"))
            value = v
        else:
            kind = pl.when(v.is_null()).then(None).otherwise(pl.lit("s"))
            value = v
        exprs += [kind.alias(f"k{len(exprs) // 2}"), value.alias(f"v{len(exprs) // 2}")]
    return frame.select(exprs)


def _escape(v: pl.Expr) -> pl.Expr:
    return (v.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True))


_STYLE_DATE, _STYLE_HEADER, _STYLE_TITLE = 1, 2, 3


def _sheet_rows_xml(cells: pl.DataFrame, first_row: int) -> pl.Series:
    """One '<row …>…</row>' string per record (1-based sheet row numbers from first_row)."""
    ncol = cells.width // 2
    r = (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).cast(pl.String)
    parts = [pl.lit('<row r="'), r, pl.lit('">')]
    for i in range(ncol):
        k, v = pl.col(f"k{i}"), pl.col(f"v{i}")
        ref = pl.lit(f'<c r="{_col_letter(i)}') + r
        # xml:space="preserve" only where leading/trailing whitespace must survive (as xlsxwriter does)
        t_open = pl.when(v.str.contains(r"^[ \t\n]|[ \t\n]$")).then(pl.lit('<t xml:space="preserve">')) \
            .otherwise(pl.lit("<t>"))
        cell = (pl.when(k == "s").then(ref + '" t="inlineStr"><is>' + t_open + _escape(v) + "</t></is></c>")
                .when(k == "d").then(ref + f'" s="{_STYLE_DATE}"><v>' + v + "</v></c>")
                .when(k == "n").then(ref + '"><v>' + v + "</v></c>")
                .otherwise(pl.lit("")))
        parts.append(cell)
    parts.append(pl.lit("</row>"))
    return cells.select(pl.concat_str(parts)).to_series()


def _text_row_xml(row: int, values: list[str], style: int) -> str:
    cells = "".join(f'<c r="{_col_letter(i)}{row}" s="{style}" t="inlineStr"><is><t>{_xml_text(v)}</t></is></c>'
                    for i, v in enumerate(values))
    return f'<row r="{row}">{cells}</row>'


def _xml_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _workbook_xml(sheet_name: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{_xml_text(sheet_name)}" sheetId="1" r:id="rId1"/></sheets></workbook>')


def _core_xml(created: datetime, title: str) -> str:
    ts = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{_xml_text(title)}</dc:title><dc:creator>synthetic</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{ts}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{ts}</dcterms:modified></cp:coreProperties>')


_APP = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>Microsoft Excel</Application></Properties>")


def _zip_entry(zf: zipfile.ZipFile, name: str):
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 0  # same bytes whichever OS writes the file
    info.external_attr = 0
    return info


def write_xlsx(path: Path, frame: pl.DataFrame, contract: Contract, title: str | None, created: date,
               engine: str = "native", chunk_rows: int = 50_000) -> None:
    """frame holds the contract's source columns in order. header_row > 0 in the contract = that many title
    rows above the header (the first one carries `title`, merged across the columns)."""
    if frame.height + contract.header_row + 1 > XLSX_MAX_ROWS:
        raise ValueError(f"{path.name}: {frame.height} rows do not fit one worksheet; split the file")
    created_dt = datetime(created.year, created.month, created.day)
    if engine == "xlsxwriter":
        return _write_xlsx_xlsxwriter(path, frame, contract, title, created_dt)
    if engine != "native":
        raise ValueError(f"unknown xlsx engine {engine!r}")
    ncol = len(contract.columns)
    last = _col_letter(ncol - 1)
    n_top = contract.header_row  # title rows
    head = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<dimension ref="A1:{last}{n_top + 1 + frame.height}"/>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/><sheetData>']
    for t in range(n_top):
        head.append(_text_row_xml(t + 1, [title or ""] if t == 0 else [""], _STYLE_TITLE))
    head.append(_text_row_xml(n_top + 1, contract.sources, _STYLE_HEADER))
    tail = "</sheetData>"
    if n_top and ncol > 1:
        tail += f'<mergeCells count="1"><mergeCell ref="A1:{last}1"/></mergeCells>'
    tail += "</worksheet>"
    cells = _cell_kinds(frame, contract)
    # deflate level 1: the sheet XML is repetitive, level 1 already shrinks it ~8x at a third of level 6's time
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                           ("docProps/app.xml", _APP), ("docProps/core.xml", _core_xml(created_dt, title or "")),
                           ("xl/workbook.xml", _workbook_xml("Sheet1")),
                           ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS), ("xl/styles.xml", _STYLES)):
            zf.writestr(_zip_entry(zf, name), text)
        with zf.open(_zip_entry(zf, "xl/worksheets/sheet1.xml"), "w", force_zip64=True) as fh:
            fh.write("".join(head).encode("utf-8"))
            first = n_top + 2
            for start in range(0, frame.height, chunk_rows):
                rows = _sheet_rows_xml(cells.slice(start, chunk_rows), first + start)
                fh.write(rows.str.join("").item().encode("utf-8"))
            fh.write(tail.encode("utf-8"))


def _write_xlsx_xlsxwriter(path: Path, frame: pl.DataFrame, contract: Contract, title: str | None,
                           created: datetime) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"title": title or "", "author": "synthetic", "created": created})
    ws = wb.add_worksheet("Sheet1")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    bold = wb.add_format({"bold": True})
    title_fmt = wb.add_format({"bold": True, "align": "center"})
    n_top = contract.header_row
    if n_top:
        ncol = len(contract.columns)
        if ncol > 1:
            ws.merge_range(0, 0, 0, ncol - 1, title or "", title_fmt)
        else:
            ws.write_string(0, 0, title or "", title_fmt)
    ws.write_row(n_top, 0, contract.sources, bold)
    cells = _cell_kinds(frame, contract)
    ncol = cells.width // 2
    # a per-cell loop is what xlsxwriter requires (one call per cell)
    for r, row in enumerate(cells.iter_rows(), start=n_top + 1):
        for i in range(ncol):
            kind, value = row[2 * i], row[2 * i + 1]
            if kind == "s":
                ws.write_string(r, i, value)
            elif kind == "d":
                ws.write_number(r, i, float(value), date_fmt)
            elif kind == "n":
                ws.write_number(r, i, float(value))
    wb.close()
