"""Tests of the synthetic feed generator (synthetic/), on the `tiny` scale.

The files are read back the way a department's receiver would see them (raw CSV text in the declared encoding, the
worksheet XML of an XLSX, JSON pages), then checked against the contracts and the ground truth: every planted
defect must really be in the file, and every row *not* in the ground truth must be clean.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from stdnum.cn import uscc as std_uscc
from stdnum.iso7064 import mod_11_10

import synthetic
from synthetic.config import CONTRACTS_DIR, REGISTRY_DEFECTS, load_contracts
from synthetic.defects import Planted, arrange
from synthetic.identifiers import (USCC_ALPHABET, build_uscc, make_uscc, random_chars, rows_to_str,
                                   uscc_is_valid)

REF = date(2026, 11, 20)
CONTRACTS = load_contracts()
REGISTRY = "samr_entity_registry"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
INVISIBLE = "\u200b\u200c\u200d\ufeff"
EDGE_SPACES = " \u00a0\u3000"


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("tiny_a")
    return out, synthetic.generate("tiny", 7, out)


@pytest.fixture(scope="module")
def feeds(tiny):
    """feed_id -> file name -> list of rows (dict source -> (text or None, cell kind))."""
    out, manifest = tiny
    return {fid: {f["name"]: read_file(out / fid / f["name"], CONTRACTS[fid]) for f in m["files"]}
            for fid, m in manifest["feeds"].items()}


@pytest.fixture(scope="module")
def truth(tiny) -> pl.DataFrame:
    return pl.read_parquet(tiny[0] / "_ground_truth.parquet")


# ------------------------------------------------------------------------------------------------ readers
def _col_index(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def read_xlsx_raw(path: Path, header_row: int) -> tuple[list[str], list[list[tuple]]]:
    """(header, rows) from the first worksheet; a cell is (text, kind): kind 's' string, 'd' date cell
    (text = ISO date), 'n' number cell, None empty."""
    with zipfile.ZipFile(path) as zf:
        root = ET.fromstring(zf.read("xl/worksheets/sheet1.xml"))
        styles = ET.fromstring(zf.read("xl/styles.xml"))
    date_fmts = {n.get("numFmtId") for n in styles.iterfind(".//m:numFmt", NS) if "yy" in n.get("formatCode")}
    date_xfs = {str(i) for i, xf in enumerate(styles.find("m:cellXfs", NS)) if xf.get("numFmtId") in date_fmts}
    grid = []
    for row in root.iterfind(".//m:sheetData/m:row", NS):
        cells = {}
        for c in row.iterfind("m:c", NS):
            i = _col_index(c.get("r"))
            if c.get("t") == "inlineStr":
                cells[i] = ("".join(t.text or "" for t in c.iterfind(".//m:t", NS)), "s")
            else:
                v = c.find("m:v", NS).text
                if c.get("s") in date_xfs:
                    cells[i] = ((date(1899, 12, 30) + timedelta(days=int(float(v)))).isoformat(), "d")
                else:
                    cells[i] = (v, "n")
        width = max(cells) + 1 if cells else 0
        grid.append([cells.get(i, (None, None)) for i in range(width)])
    header = [t for t, _ in grid[header_row]]
    return header, grid[header_row + 1:]


def read_file(path: Path, contract) -> list[dict]:
    if contract.format == "csv":
        text = path.read_bytes().decode(contract.encoding)
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header, body = rows[0], rows[1:]
        assert header == contract.sources, path
        return [{h: ((v if v != "" else None), "s") for h, v in zip(header, r)} for r in body]
    if contract.format == "xlsx":
        header, body = read_xlsx_raw(path, contract.header_row)
        assert header == contract.sources, path
        return [{h: (r[i] if i < len(r) else (None, None)) for i, h in enumerate(header)} for r in body]
    if contract.format == "jsonl":
        lines = path.read_bytes().decode(contract.encoding).splitlines()
        records = [json.loads(line) for line in lines]
        for rec in records:
            assert list(rec) == contract.sources, path  # every key, in contract order, null where empty
        return [{k: (v, "s") for k, v in rec.items()} for rec in records]
    page = json.loads(path.read_text(encoding="utf-8"))
    for rec in page["data"]:
        assert set(rec) == set(contract.sources), path
    return [{k: (v, "s") for k, v in rec.items()} for rec in page["data"]]


def sha256_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def parse_any_date(s: str) -> str:
    """The date forms the date_format defect uses, back to ISO."""
    for pattern, order in ((r"(\d{4})年(\d{1,2})月(\d{1,2})日", "ymd"), (r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})", "ymd"),
                           (r"(\d{4})(\d{2})(\d{2})", "ymd")):
        m = re.fullmatch(pattern, s)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    if re.fullmatch(r"\d{5}", s):
        return (date(1899, 12, 30) + timedelta(days=int(s))).isoformat()
    raise ValueError(s)


# ------------------------------------------------------------------------------------------------ identifiers
def test_uscc_generation_matches_stdnum():
    assert make_uscc("91", "350100", "M000100Y") == "91350100M000100Y43"  # GB 32100 worked example
    rng = np.random.default_rng(0)
    n = 5000
    body = random_chars(rng, n, 8, USCC_ALPHABET.encode())
    prefix = np.tile(np.frombuffer(b"92", np.uint8), (n, 1))
    div = np.tile(np.frombuffer(b"370983", np.uint8), (n, 1))
    codes = rows_to_str(build_uscc(prefix, div, body))
    assert all(std_uscc.is_valid(c) for c in codes)
    assert all(uscc_is_valid(c) for c in codes)


# ------------------------------------------------------------------------------------------------ determinism
def test_same_inputs_same_bytes(tiny, tmp_path):
    out_a, manifest_a = tiny
    manifest_b = synthetic.generate("tiny", 7, tmp_path)
    assert sha256_tree(out_a) == sha256_tree(tmp_path)
    assert manifest_a == manifest_b


def test_manifest_describes_the_files(tiny):
    out, m = tiny
    assert (m["scale"], m["seed"], m["reference_date"]) == ("tiny", 7, REF.isoformat())
    assert m["defect_rates"] == dict(sorted(synthetic.DEFAULT_DEFECT_RATES.items()))
    assert set(m["feeds"]) == set(CONTRACTS)
    assert json.loads((out / "_manifest.json").read_text(encoding="utf-8")) == m
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    listed = {f"{fid}/{f['name']}" for fid, fm in m["feeds"].items() for f in fm["files"]}
    assert on_disk == listed | {"_manifest.json", "_ground_truth.parquet"}
    for fid, fm in m["feeds"].items():
        for f in fm["files"]:
            assert hashlib.sha256((out / fid / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    assert m["totals"]["rows"] == sum(f["rows"] for f in m["feeds"].values())
    assert m["totals"]["defects"] == pl.read_parquet(out / "_ground_truth.parquet").height


def test_xlsx_workbook_properties_are_fixed(tiny):
    out, m = tiny
    for name in [f["name"] for f in m["feeds"]["samr_licences"]["files"]][:1]:
        with zipfile.ZipFile(out / "samr_licences" / name) as zf:
            assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            assert "2026-11-20T00:00:00Z" in zf.read("docProps/core.xml").decode()


# ------------------------------------------------------------------------------------------------ formats
def test_headers_equal_contract_sources(tiny, feeds):
    # read_file asserts header == contract order for CSV/XLSX and key sets for JSON; here: the YAMLs themselves
    for path in CONTRACTS_DIR.glob("*.yaml"):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        files = feeds[raw["id"]]
        assert files, raw["id"]
        expected = {c["source"] for c in raw["columns"]}
        for rows in files.values():
            assert rows and set(rows[0]) == expected


def test_encodings_as_declared(tiny):
    out, m = tiny

    def first(fid):
        return (out / fid / m["feeds"][fid]["files"][0]["name"]).read_bytes()

    pen = first("samr_penalties")
    pen.decode("gbk")
    with pytest.raises(UnicodeDecodeError):
        pen.decode("utf-8")  # really GBK, not UTF-8 that happens to be GBK-compatible
    assert first("samr_abnormal_list").startswith(b"\xef\xbb\xbf")
    env = first("env_credit_grades")
    env.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        env.decode("utf-8")
    reg = first(REGISTRY)
    assert not reg.startswith(b"\xef\xbb\xbf") and reg.decode("utf-8")
    for fid, encoding in (("medical_device_penalties", "gbk"), ("psb_blasting_units", "gbk"),
                          ("hrss_wage_arrears_dishonest", "gb18030")):
        first(fid).decode(encoding)
        with pytest.raises(UnicodeDecodeError):
            first(fid).decode("utf-8")
    assert first("food_safety_sampling").startswith(b"\xef\xbb\xbf")
    assert not first("honours_contract_credit").startswith(b"\xef\xbb\xbf")
    lines = first("special_equipment_inspections").decode("utf-8").splitlines()
    assert len(lines) == m["feeds"]["special_equipment_inspections"]["files"][0]["rows"]
    assert all(json.loads(line)["reportNo"] for line in lines)
    page = json.loads(first("court_dishonest_debtors").decode("utf-8"))
    assert (page["page"], page["page_size"], page["total_pages"]) == (1, 500, len(m["feeds"]["court_dishonest_debtors"]["files"]))
    assert page["total"] == m["feeds"]["court_dishonest_debtors"]["rows"]


def test_tax_workbook_has_title_row(tiny):
    out, m = tiny
    name = m["feeds"]["tax_credit_grades"]["files"][0]["name"]
    header, rows = read_xlsx_raw(out / "tax_credit_grades" / name, header_row=0)
    assert re.fullmatch(r"\d{4}年度纳税信用等级评价结果", header[0])
    with zipfile.ZipFile(out / "tax_credit_grades" / name) as zf:
        assert '<mergeCell ref="A1:E1"/>' in zf.read("xl/worksheets/sheet1.xml").decode()


@pytest.mark.parametrize("fid, title", [
    ("housing_construction_penalties", r"泰安市住房和城乡建设局行政处罚信息公示（(\d{4})年）"),
    ("education_training_institutions", r"泰安市校外培训机构黑白名单（(\d{4})年第[12]批）"),
])
def test_department_workbooks_have_a_merged_title_row(tiny, fid, title):
    out, m = tiny
    for f in m["feeds"][fid]["files"]:
        header, rows = read_xlsx_raw(out / fid / f["name"], header_row=0)
        found = re.fullmatch(title, header[0])
        assert found and found[1] in f["name"], (f["name"], header[0])
        assert [t for t, _ in rows[0]] == CONTRACTS[fid].sources
        with zipfile.ZipFile(out / fid / f["name"]) as zf:
            assert '<mergeCell ref="A1:' in zf.read("xl/worksheets/sheet1.xml").decode()


def test_xlsx_engines_agree(tiny, tmp_path):
    """The vectorised writer must read back exactly like xlsxwriter's workbook (through a real reader)."""
    import fastexcel

    out, _ = tiny
    synthetic.generate("tiny", 7, tmp_path, xlsx_engine="xlsxwriter")
    for fid in ("samr_licences", "tax_credit_grades"):
        hr = CONTRACTS[fid].header_row
        for p in sorted((out / fid).glob("*.xlsx")):
            a = fastexcel.read_excel(p).load_sheet(0, header_row=hr, dtypes="string").to_polars()
            b = fastexcel.read_excel(tmp_path / fid / p.name).load_sheet(0, header_row=hr, dtypes="string").to_polars()
            assert a.equals(b), p.name


# ------------------------------------------------------------------------------------------------ content
def _defect_rows(truth: pl.DataFrame) -> set[tuple]:
    return set(truth.select("feed", "file_name", "source_row").iter_rows())


def _registry_usccs(feeds) -> tuple[set[str], dict[str, str]]:
    """USCCs the registry knows (full-width ones folded, as ingestion would) and registration no. -> USCC."""
    clean, by_regno = set(), {}
    for rows in feeds[REGISTRY].values():
        for r in rows:
            u, reg = r["统一社会信用代码"][0], r["注册号"][0]
            u = unicodedata.normalize("NFKC", u) if u else u
            if u and uscc_is_valid(u):
                clean.add(u)
                if reg:
                    by_regno[reg] = u
    return clean, by_regno


def test_rows_outside_ground_truth_are_clean(feeds, truth):
    """Completeness of the ground truth: a row it does not list passes every contract rule."""
    flagged = _defect_rows(truth)
    known, by_regno = _registry_usccs(feeds)
    for fid, files in feeds.items():
        c = CONTRACTS[fid]
        xlsx = c.format == "xlsx"
        for name, rows in files.items():
            for i, row in enumerate(rows, start=1):
                if (fid, name, i) in flagged:
                    continue
                for col in c.columns:
                    v, kind = row[col.source]
                    where = f"{fid}/{name} row {i} {col.source}={v!r}"
                    if v is None:
                        assert not col.required, where
                        continue
                    assert v == v.strip(EDGE_SPACES) and not any(ch in v for ch in INVISIBLE), where
                    if col.type == "uscc":
                        assert std_uscc.is_valid(v) and uscc_is_valid(v), where
                    elif col.type == "date":
                        ok = kind == "d" if xlsx else re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)
                        assert ok or v == "2099/12/31", where
                    elif col.type == "code":
                        assert v in col.codes, where
                    elif col.type == "amount_wan":
                        assert re.fullmatch(r"\d+(\.\d+)?", v), where
                if fid != REGISTRY:  # every clean record is about a registered entity (old units: by 注册号)
                    uscc = row[c.col("uscc").source][0]
                    if uscc is None and c.has("registration_no"):
                        assert row[c.col("registration_no").source][0] in by_regno, f"{fid}/{name} row {i}"
                    else:
                        assert uscc in known, f"{fid}/{name} row {i}"


def test_ground_truth_rows_show_their_defect(feeds, truth):
    known, by_regno = _registry_usccs(feeds)
    assert truth.select("feed", "file_name", "source_row").is_unique().all()  # at most one defect per row
    assert truth.schema["source_row"] == pl.Int64
    for g in truth.iter_rows(named=True):
        c = CONTRACTS[g["feed"]]
        rows = feeds[g["feed"]][g["file_name"]]
        assert 1 <= g["source_row"] <= len(rows), g
        row = rows[g["source_row"] - 1]
        d = g["defect"]
        if d == "duplicate":
            orig = int(g["detail"])
            assert orig < g["source_row"] and rows[orig - 1] == row, g
            continue
        raw, kind = row[c.col(g["field"]).source]
        exp = g["expected"]
        if d == "bad_check_digit":
            assert raw[:17] == exp[:17] and raw != exp and not std_uscc.is_valid(raw) and std_uscc.is_valid(exp)
        elif d == "fullwidth":
            assert any(0xFF01 <= ord(ch) <= 0xFF5E for ch in raw) and unicodedata.normalize("NFKC", raw) == exp
        elif d == "invisible_chars":
            cleaned = "".join(ch for ch in raw if ch not in INVISIBLE).strip(EDGE_SPACES)
            assert raw != exp and cleaned == exp, g
        elif d == "date_format":
            assert raw != exp and parse_any_date(raw) == exp, g
            if c.format == "xlsx":  # serials are plain number cells, other styles text cells
                assert kind == ("n" if re.fullmatch(r"\d{5}", raw) else "s"), g
        elif d == "amount_unit_yuan":
            assert raw.endswith("元") and Decimal(raw[:-1].replace(",", "")) / 10000 == Decimal(exp), g
        elif d == "missing_required":
            assert raw is None and c.col(g["field"]).required and exp == "", g
        elif d == "legacy_regno":
            assert re.fullmatch(r"\d{15}", raw) and mod_11_10.is_valid(raw) and by_regno[raw] == exp, g
        elif d == "unknown_entity":
            assert raw == exp and std_uscc.is_valid(raw) and raw not in known, g
        elif d == "unknown_code":
            assert raw is not None and raw not in c.col(g["field"]).codes, g
        else:
            pytest.fail(f"unexpected defect {d}")


def test_defect_counts_track_rates(tiny, truth):
    _, m = tiny
    rates = m["defect_rates"]
    counts = Counter(truth["defect"].to_list())
    expected = Counter()
    for fid, fm in m["feeds"].items():
        c = CONTRACTS[fid]
        n = fm["rows"]  # includes the duplicate copies: well inside the bounds below
        allowed = REGISTRY_DEFECTS if fid == REGISTRY else tuple(rates)
        for d in allowed:
            applies = {
                "bad_check_digit": c.has("uscc"), "legacy_regno": c.has("uscc"), "unknown_entity": c.has("uscc"),
                "amount_unit_yuan": bool(c.of_type("amount_wan")), "unknown_code": bool(c.code_fields),
            }.get(d, True)
            if applies:
                expected[d] += rates[d] * n
    for d, rate in rates.items():
        assert 0.75 * expected[d] - 3 <= counts[d] <= 1.05 * expected[d] + 3, (d, counts[d], expected[d])
    assert counts["date_format"] > 5 * counts["duplicate"] > 0  # the 5% default dominates


def test_rate_overrides(tmp_path):
    m = synthetic.generate("tiny", 7, tmp_path, defect_rates={d: 0.0 for d in synthetic.DEFECTS} | {"duplicate": 0.02})
    gt = pl.read_parquet(tmp_path / "_ground_truth.parquet")
    assert set(gt["defect"]) == {"duplicate"}
    assert abs(gt.height - 0.02 * (m["totals"]["rows"] - gt.height)) <= 10
    with pytest.raises(ValueError):
        synthetic.generate("tiny", 7, tmp_path, defect_rates={"typo": 0.1})


def test_tiny_volumes(tiny):
    _, m = tiny
    rows = {fid: f["rows"] for fid, f in m["feeds"].items()}
    ranges = {
        REGISTRY: (2000, 2100), "samr_penalties": (1000, 1400), "samr_licences": (2500, 3500),
        "samr_abnormal_list": (450, 750), "samr_serious_dishonest": (4, 30), "samr_inspection_results": (450, 700),
        "court_dishonest_debtors": (40, 90), "tax_credit_grades": (700, 1400), "env_credit_grades": (30, 120),
        "hrss_wage_arrears_dishonest": (8, 40), "housing_construction_penalties": (80, 130),
        "medical_device_penalties": (20, 45), "special_equipment_inspections": (420, 600),
        "food_safety_sampling": (250, 360), "education_training_institutions": (100, 320),
        "psb_blasting_units": (30, 100), "honours_contract_credit": (30, 90),
    }
    for fid, (lo, hi) in ranges.items():
        assert lo <= rows[fid] <= hi, (fid, rows[fid])
    assert 8500 <= m["totals"]["rows"] <= 14500
    assert m["entities"]["registry"] == synthetic.SCALES["tiny"]["entities"] == 2000


def test_registry_entities_are_plausible(feeds, truth):
    rows = next(iter(feeds[REGISTRY].values()))
    flagged = {r for f, _, r in _defect_rows(truth) if f == REGISTRY}
    clean = [r for i, r in enumerate(rows, start=1) if i not in flagged]
    names = [r["企业名称"][0] for r in clean]
    assert len(set(names)) == len(names)
    types = Counter(r["主体类型"][0] for r in clean)
    assert 0.28 < types["企业"] / len(clean) < 0.42 and 0.52 < types["个体工商户"] / len(clean) < 0.68
    for r in clean:
        u, regno, est = r["统一社会信用代码"][0], r["注册号"][0], r["成立日期"][0]
        assert u[:2] == {"企业": "91", "个体工商户": "92", "农民专业合作社": "93"}[r["主体类型"][0]]
        assert u[2:6] == "3709" and r["行政区划代码"][0] in {"370902", "370911", "370921", "370923", "370982", "370983"}
        assert (regno is not None) == (est < "2016-10-01"), r
        if regno:
            assert mod_11_10.is_valid(regno) and len(regno) == 15
        assert "1995-01-01" <= est <= REF.isoformat()
        if r["主体类型"][0] == "企业":
            assert names and r["企业名称"][0].startswith("泰安市") and r["企业名称"][0].endswith("公司")
            assert 10 <= float(r["注册资本（万元）"][0]) <= 5000
    parks = Counter(r["所属园区"][0] for r in clean)
    assert 0.06 < (len(clean) - parks[None]) / len(clean) < 0.14 and len(parks) == 5


def test_penalty_content_is_consistent(feeds, truth):
    flagged = _defect_rows(truth)
    art9 = {"警告", "通报批评", "罚款", "没收违法所得", "没收非法财物", "暂扣许可证件", "降低资质等级", "吊销许可证件",
            "限制开展生产经营活动", "责令停产停业", "责令关闭", "限制从业", "行政拘留", "其他"}
    cats = Counter()
    seen_decisions = set()
    for name, rows in feeds["samr_penalties"].items():
        for i, r in enumerate(rows, start=1):
            if ("samr_penalties", name, i) in flagged:
                continue
            c = r["CF_CFLB"][0].split(";")
            assert set(c) <= art9
            cats[r["CF_CFLB"][0]] += 1
            assert ("罚款" in c) == (r["CF_NR_FK"][0] is not None)
            if r["CF_NR_FK"][0]:
                assert 0.05 <= float(r["CF_NR_FK"][0]) <= 200
            assert (r["CF_XDR_LB"][0] == "个体工商户") == (r["CF_XDR_SHXYM"][0][:2] == "92")
            assert re.fullmatch(r"\S+处罚〔\d{4}〕\d{5}号", r["CF_WSH"][0])
            key = (r["CF_CFJGDM"][0], r["CF_WSH"][0])
            assert key not in seen_decisions
            seen_decisions.add(key)
    total = sum(cats.values())
    assert 0.10 < cats["警告"] / total < 0.20 and 0.06 < cats["通报批评"] / total < 0.14


def test_grade_shares(feeds):
    grades = Counter(r["信用等级"][0] for rows in feeds["tax_credit_grades"].values() for r in rows)
    total = sum(grades.values())
    for g, share in {"A": 0.20, "B": 0.50, "M": 0.15, "C": 0.10, "D": 0.05}.items():
        assert abs(grades[g] / total - share) < 0.06, (g, grades)
    env = Counter(r["评价等级"][0] for rows in feeds["env_credit_grades"].values() for r in rows)
    assert set(env) - {"白牌", "环保一般", "绿色", None} <= set(CONTRACTS["env_credit_grades"].col("env_grade").codes)
    assert {"绿牌", "蓝牌", "黄牌", "红牌"} <= set(env)


def test_json_pages_keep_copies_on_their_page():
    """Paging: exactly page_size records per page (last one shorter); a copy sits after its original, same page."""
    n = 2345
    frame = pl.DataFrame({"_rid": np.arange(n), "_file": [None] * n, "x": [str(i) for i in range(n)]},
                         schema_overrides={"_file": pl.String})
    orig = np.arange(3, n, 40)
    copies = frame[orig].with_columns(_orig=pl.col("_rid"), _rid=pl.int_range(n, n + len(orig)))
    truth = pl.DataFrame({"_rid": copies["_rid"], "defect": "duplicate", "field": None, "expected": "",
                          "detail": copies["_orig"].cast(pl.String)},
                         schema={"_rid": pl.Int64, "defect": pl.String, "field": pl.String, "expected": pl.String,
                                 "detail": pl.String})
    rows, gt = arrange(Planted(frame, copies, truth), np.random.default_rng(1), page_size=500)
    sizes = rows.group_by("_file", maintain_order=True).len()["len"].to_list()
    assert sizes[:-1] == [500] * (len(sizes) - 1) and sum(sizes) == n + gt.height
    for g in gt.iter_rows(named=True):
        page = rows.filter(pl.col("_file") == g["file_name"])
        assert page["x"][g["source_row"] - 1] == page["x"][int(g["detail"]) - 1]
        assert int(g["detail"]) < g["source_row"]


def test_contract_keys_unique_on_clean_rows(feeds, truth):
    """Only planted defects (duplicates) may collide on a contract's key: ingestion's duplicate_key must be rare."""
    flagged = _defect_rows(truth)
    for path in CONTRACTS_DIR.glob("*.yaml"):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        fid, c = raw["id"], CONTRACTS[raw["id"]]
        key_sources = [c.col(k).source for k in raw["key"]]
        seen = set()
        for name, rows in feeds[fid].items():
            for i, r in enumerate(rows, start=1):
                if (fid, name, i) in flagged:
                    continue
                key = tuple(r[s][0] for s in key_sources)
                assert key not in seen, (fid, name, i, key)
                seen.add(key)
