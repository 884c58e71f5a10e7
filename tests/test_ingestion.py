"""Ingestion on small files made here: every row loaded or quarantined with a reason, nothing lost."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from creditwh.settings import Home
from ingestion.contracts import ContractError, load_contract, load_contracts
from ingestion.run import ingest

GOOD = "91350100M000100Y43"  # the GB 32100 worked example
BAD_CHECK = "91350100M000100Y4Z"
PENALTY_HEADER = [c.source for c in load_contracts()["samr_penalties"].columns]


def penalty_row(**over):
    row = {s: "" for s in PENALTY_HEADER}
    row.update({"CF_XDR_MC": "泰安市示例贸易有限公司", "CF_XDR_LB": "法人及非法人组织", "CF_XDR_SHXYM": GOOD,
                "CF_FRDB": "张三", "CF_WSH": "泰市监处罚〔2024〕1号", "CF_WFXW": "虚假宣传", "CF_CFLB": "罚款",
                "CF_NR_FK": "1.5", "CF_JDRQ": "2024-03-05", "CF_CFJG": "泰安市市场监督管理局",
                "CF_CFJGDM": "11370900MB2857231K"})
    row.update(over)
    return row


def write_csv(path: Path, rows: list[dict], encoding: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(PENALTY_HEADER)] + [",".join(r[h] for h in PENALTY_HEADER) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.fixture()
def home(tmp_path) -> Home:
    return Home(tmp_path / "home").ensure()


def landed(home: Home, feed: str) -> pl.DataFrame:
    return pl.read_parquet(sorted(home.landing.glob(f"{feed}/run=2*/*.parquet")))


def test_gbk_penalties_are_normalised_and_bad_rows_quarantined(home):
    rows = [
        penalty_row(),
        penalty_row(CF_WSH="泰市监处罚〔2024〕2号", CF_XDR_SHXYM="９１３５０１００Ｍ０００１００Ｙ４３",
                    CF_JDRQ="2024年3月5日", CF_NR_FK="12000元"),
        penalty_row(CF_WSH="泰市监处罚〔2024〕3号", CF_JDRQ="45356", CF_XDR_MC="泰安市\u3000示例 商行 "),
        penalty_row(CF_WSH="泰市监处罚〔2024〕4号", CF_XDR_SHXYM="370902000012345", CF_XDR_GSZC=""),
        penalty_row(CF_WSH="泰市监处罚〔2024〕5号", CF_XDR_SHXYM=BAD_CHECK),
        penalty_row(CF_WSH=""),                                      # missing required
        penalty_row(CF_WSH="泰市监处罚〔2024〕7号", CF_JDRQ="2024-13-45"),  # bad date
        penalty_row(CF_WSH="泰市监处罚〔2024〕8号", CF_XDR_LB="其它组织"),  # unknown code
        penalty_row(),                                               # duplicate of row 1
        penalty_row(CF_WSH="泰市监处罚〔2024〕10号", CF_XDR_SHXYM=""),      # no identifier at all
    ]
    write_csv(home.inbox / "samr_penalties" / "penalties.csv", rows, "gbk")
    report = ingest(home)
    (result,) = report.files
    assert (result.rows_in, result.loaded, result.quarantined) == (10, 5, 5)
    assert result.quarantine_reasons == {"bad_date": 1, "duplicate_key": 1, "missing_identifier": 1,
                                         "missing_required": 1, "unknown_code": 1}
    df = landed(home, "samr_penalties").sort("_source_row")
    by_row = {r["_source_row"]: r for r in df.to_dicts()}
    assert by_row[2]["uscc"] == GOOD and by_row[2]["decision_date"] == date(2024, 3, 5)
    assert by_row[2]["fine_amount_wan"] == pytest.approx(1.2)
    assert "amount_unit_converted:fine_amount_wan" in by_row[2]["_issues"]
    assert by_row[3]["decision_date"] == date(2024, 3, 5) and by_row[3]["subject_name"] == "泰安市 示例 商行"
    assert by_row[4]["uscc"] is None and by_row[4]["registration_no"] == "370902000012345"
    assert by_row[4]["_issues"] == "uscc_was_registration_no"
    assert by_row[5]["uscc_check_ok"] is False and by_row[1]["uscc_check_ok"] is True
    assert set(df["_file_name"]) == {"penalties.csv"} and df["_file_sha256"].n_unique() == 1
    q = pl.read_parquet(sorted(home.quarantine.glob("samr_penalties/run=*/*.parquet"))).sort("_source_row")
    assert q["_source_row"].to_list() == [6, 7, 8, 9, 10]
    msg = dict(zip(q["_source_row"], q["_message"]))
    assert msg[6] == "penalties.csv: row 6: field decision_no (CF_WSH): a required value is empty"
    assert "cannot read '2024-13-45' as a date" in msg[7]
    assert "'其它组织' is not in the code list" in msg[8]
    assert "same key as row 1" in msg[9]


def test_a_file_smaller_than_the_contract_expects_is_loaded_with_a_warning(home):
    write_csv(home.inbox / "samr_penalties" / "small.csv", [penalty_row()], "gbk")  # contract: min_rows 10
    (result,) = ingest(home).files
    assert result.status == "loaded" and result.warnings == [
        "small.csv: 1 rows, fewer than the 10 that contract samr_penalties expects"]


def test_same_file_twice_loads_once_and_accounting_is_recorded(home):
    write_csv(home.inbox / "samr_penalties" / "a.csv", [penalty_row()], "gbk")
    first = ingest(home)
    second = ingest(home)
    assert first.files[0].status == "loaded" and second.files[0].status == "duplicate"
    assert "already ingested" in second.files[0].error
    assert landed(home, "samr_penalties").height == 1
    saved = json.loads((home.ingest_runs / f"{first.run_id}.json").read_text(encoding="utf-8"))
    assert saved["feeds"][0] | {} == {"feed": "samr_penalties", "files": 1, "rows_in": 1, "loaded": 1,
                                      "quarantined": 0, "rejected_files": 0, "duplicate_files": 0}


def test_wrong_encoding_is_detected_and_unreadable_files_are_rejected_whole(home):
    folder = home.inbox / "samr_penalties"
    write_csv(folder / "a_utf8.csv", [penalty_row()], "utf-8")  # the contract says GBK
    (folder / "b_empty.csv").write_bytes(b"")
    (folder / "c_binary.csv").write_bytes(b"CF_XDR_MC\n\xff\xfe\x00\x81")
    write_csv(folder / "d_good.csv", [penalty_row(CF_WSH="X-1")], "gbk")
    report = ingest(home)
    by_file = {f.file: f for f in report.files}
    assert by_file["a_utf8.csv"].status == "loaded" and by_file["a_utf8.csv"].encoding == "utf-8"
    assert "declared gbk but the file is utf-8" in by_file["a_utf8.csv"].warnings[0]
    assert (by_file["b_empty.csv"].status, by_file["b_empty.csv"].error) == ("rejected", "b_empty.csv: the file is empty")
    assert by_file["c_binary.csv"].status == "rejected"
    assert "c_binary.csv: not valid gbk" in by_file["c_binary.csv"].error and "line 2" in by_file["c_binary.csv"].error
    assert by_file["d_good.csv"].status == "loaded" and by_file["d_good.csv"].loaded == 1


def test_chinese_headers_and_legacy_codes_map_to_the_same_record_and_drift_is_reported(home):
    contract = load_contracts()["samr_penalties"]
    chinese = {c.source: c.aliases[0] for c in contract.columns}
    chinese["CF_NR_FK"] = "罚款金额（万元）"  # full-width parentheses, as typed in Excel
    row = penalty_row()
    header = [chinese[h] for h in PENALTY_HEADER] + ["备注"]
    path = home.inbox / "samr_penalties" / "chinese.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(("\n".join([",".join(header), ",".join([row[h] for h in PENALTY_HEADER] + ["无"])]) + "\n")
                     .encode("gbk"))
    (result,) = ingest(home).files
    assert result.loaded == 1 and result.schema_drift["unexpected"] == ["备注"]
    assert result.schema_drift["renamed"]["处罚决定日期"] == "CF_JDRQ"
    record = landed(home, "samr_penalties").to_dicts()[0]
    assert record["decision_no"] == "泰市监处罚〔2024〕1号" and record["fine_amount_wan"] == 1.5


def test_optional_columns_may_be_absent(home):
    keep = [h for h in PENALTY_HEADER if h not in ("CF_SY", "CF_YJ", "CF_SJLY", "CF_SJLYDM")]
    path = home.inbox / "samr_penalties" / "slim.csv"
    path.parent.mkdir(parents=True)
    row = penalty_row()
    path.write_bytes(("\n".join([",".join(keep), ",".join(row[h] for h in keep)]) + "\n").encode("gbk"))
    (result,) = ingest(home).files
    assert result.loaded == 1 and result.schema_drift == {"missing_optional": ["CF_SY", "CF_YJ", "CF_SJLY", "CF_SJLYDM"]}


def test_huge_fields_are_quarantined_and_formula_like_text_is_flagged(home):
    rows = [penalty_row(CF_SY="x" * 20_000), penalty_row(CF_WSH="W-2", CF_SY="=HYPERLINK(\"http://evil\")")]
    write_csv(home.inbox / "samr_penalties" / "hostile.csv", rows, "gbk")
    (result,) = ingest(home).files
    assert (result.loaded, result.quarantine_reasons) == (1, {"field_too_long": 1})
    row = landed(home, "samr_penalties").to_dicts()[0]
    assert row["violation_facts"].startswith("=HYPERLINK") and "formula_like:violation_facts" in row["_issues"]


def test_hostile_workbooks_are_refused(home):
    folder = home.inbox / "samr_licences"
    folder.mkdir(parents=True)
    (folder / "not_a_workbook.xlsx").write_text("<html>login expired</html>", encoding="utf-8")
    import zipfile
    with zipfile.ZipFile(folder / "bomb.xlsx", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (50 * 1024 * 1024))
    report = ingest(home)
    errors = {f.file: f.error for f in report.files}
    assert all(f.status == "rejected" for f in report.files)
    assert "not an XLSX workbook" in errors["not_a_workbook.xlsx"]
    assert "decompression bomb" in errors["bomb.xlsx"]


def test_missing_column_rejects_the_file_naming_the_column(home):
    path = home.inbox / "samr_penalties" / "drift.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes("CF_XDR_MC,CF_WSH\n某公司,1\n".encode("gbk"))
    (result,) = ingest(home).files
    assert result.status == "rejected" and "CF_XDR_LB" in result.error and "drift.csv" in result.error


def test_xlsx_with_title_row_and_excel_dates(home):
    contract = load_contracts()["tax_credit_grades"]
    path = home.inbox / "tax_credit_grades" / "grades.xlsx"
    path.parent.mkdir(parents=True)
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet()
    ws.merge_range(0, 0, 0, 4, "2025年度纳税信用等级评价结果")
    for j, col in enumerate(contract.source_names):
        ws.write(1, j, col)
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(2, 0, [GOOD, "泰安市示例贸易有限公司", 2025, "A"])
    ws.write_datetime(2, 4, __import__("datetime").datetime(2026, 4, 15), date_fmt)
    ws.write_row(3, 0, [BAD_CHECK, "泰安市另一家有限公司", 2025, "Z", 46127])
    wb.close()
    (result,) = ingest(home).files
    assert (result.rows_in, result.loaded, result.quarantined) == (2, 1, 1)
    row = landed(home, "tax_credit_grades").to_dicts()[0]
    assert row["assessment_year"] == 2025 and row["tax_grade"] == "A" and row["assessment_date"] == date(2026, 4, 15)
    assert row["_source_row"] == 1


def test_json_pages_from_the_court(home):
    folder = home.inbox / "court_dishonest_debtors"
    folder.mkdir(parents=True)
    page = {"page": 1, "page_size": 2, "total": 2, "total_pages": 1, "data": [
        {"iname": "泰安市示例贸易有限公司", "cardNum": GOOD, "caseCode": "(2024)鲁0902执1号", "courtName": "泰山区人民法院",
         "regDate": "2024-01-02", "publishDate": "2024年2月1日", "status": 1},
        {"iname": "无名公司", "cardNum": None, "caseCode": "(2024)鲁0902执2号", "courtName": "泰山区人民法院",
         "regDate": "2024-01-02", "publishDate": "2024-02-01", "status": 1},
    ]}
    (folder / "page_0001.json").write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
    (result,) = ingest(home).files
    assert (result.loaded, result.quarantined) == (1, 1)
    row = landed(home, "court_dishonest_debtors").to_dicts()[0]
    assert row["listing_status"] == "listed" and row["publish_date"] == date(2024, 2, 1)


def test_every_feed_gets_a_typed_schema_file_before_it_sends_anything(home):
    ingest(home)
    for feed in load_contracts():
        files = list(home.landing.glob(f"{feed}/run=*/*.parquet"))
        assert files, feed
        assert pl.read_parquet(files[0]).height == 0


def test_a_contract_with_a_typo_is_an_error_naming_the_file(tmp_path):
    bad = tmp_path / "x_feed.yaml"
    bad.write_text("id: x_feed\ntitle: t\ndepartment: d\nowner: o\nformat: csv\nencoding: utf-8\nschedule: '@daily'\n"
                   "file_pattern: '*.csv'\nrecord_type: r\nkey: [a]\ncolumns:\n  - {source: A, name: a, typ: string}\n",
                   encoding="utf-8")
    with pytest.raises(ContractError, match="x_feed.yaml: columns/0"):
        load_contract(bad)


def test_the_warehouse_fixture_lands_the_same_schema_as_ingestion():
    """tests/fixtures/landing.py hand-makes landed files; its schema must be the one ingestion writes."""
    from fixtures.landing import landed_schema as fixture_schema

    from ingestion.conform import landed_schema
    for feed, contract in load_contracts().items():
        assert set(fixture_schema(feed).names) - {"_feed", "_run_id", "_file_name", "_file_sha256", "_loaded_at"} \
            == set(landed_schema(contract)), feed


def test_dates_in_another_spelling_than_the_agreed_one_are_read_and_noted(tmp_path):
    """A department that agreed on YYYY/MM/DD (the 双公示 spelling) is not noted for it; ISO, Chinese and compact
    spellings are read into the same date and noted `date_format:<column>` for the department to fix."""
    import dataclasses
    from datetime import date

    from ingestion.conform import conform
    from ingestion.contracts import load_contracts

    contract = dataclasses.replace(load_contracts()["samr_abnormal_list"], date_format="%Y/%m/%d")
    sent = ["2024/03/05", "2024-03-05", "2024年3月5日", "20240305"]
    raw = pl.DataFrame({
        "统一社会信用代码": ["91370983MAE0W5NX7H"] * len(sent), "企业名称": ["甲公司"] * len(sent), "类型": ["列入"] * len(sent),
        "原因": ["未按规定公示年度报告"] * len(sent), "决定日期": sent, "决定机关": ["某市市场监督管理局"] * len(sent),
        "决定书文号": [f"市监异〔2024〕{i}号" for i in range(len(sent))], "_source_row": list(range(1, len(sent) + 1)),
    })
    loaded = conform(contract, raw, "abnormal.csv").loaded.sort("_source_row")
    assert loaded["decision_date"].to_list() == [date(2024, 3, 5)] * 4
    noted = ["date_format:decision_date" in (issues or "") for issues in loaded["_issues"].to_list()]
    assert noted == [False, True, True, True]
