"""The fast paths of ingestion keep its promises: reading ahead never bypasses the register of loaded files, a value
normalised once per distinct value is the value normalised cell by cell, a UTF-8 file is passed to polars as it is,
and the array form of the USCC check answers as the scalar one does."""
from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from creditwh.settings import Home
from ingestion.conform import conform
from ingestion.contracts import load_contracts
from ingestion.identifiers import uscc_check_ok, uscc_check_ok_expr
from ingestion.run import ingest

GOOD = "91350100M000100Y43"  # the GB 32100 worked example
COURT = load_contracts()["court_dishonest_debtors"]


@pytest.fixture()
def home(tmp_path) -> Home:
    return Home(tmp_path / "home").ensure()


def court_record(case: int, **over) -> dict:
    record = {"iname": "泰安市示例贸易有限公司", "cardNum": GOOD, "caseCode": f"(2024)鲁0902执{case}号",
              "courtName": "泰山区人民法院", "regDate": "2024-01-02", "publishDate": "2024-02-01", "status": 1,
              "duty": "支付货款10万元"}
    return record | over


def court_frame(records: list[dict]) -> pl.DataFrame:
    """Records as the JSON-page reader hands them on: every value a string, numbered from 1."""
    frame = pl.DataFrame([{c.source: None if r.get(c.source) is None else str(r[c.source]) for c in COURT.columns}
                          for r in records], schema={c.source: pl.String for c in COURT.columns})
    return frame.with_row_index("_source_row", offset=1).with_columns(pl.col("_source_row").cast(pl.Int64))


def write_page(home: Home, name: str, records: list[dict]) -> None:
    folder = home.inbox / "court_dishonest_debtors"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"data": records}, ensure_ascii=False), encoding="utf-8")


def test_the_same_bytes_twice_in_one_run_load_once_although_the_next_file_is_read_ahead(home):
    write_page(home, "page_0001.json", [court_record(1), court_record(2)])
    write_page(home, "page_0002.json", [court_record(1), court_record(2)])  # a resend of page 1
    (home.inbox / "court_dishonest_debtors" / "page_0003.json").write_text("{not json", encoding="utf-8")
    report = ingest(home)
    statuses = [(f.file, f.status, f.loaded) for f in report.files]
    assert statuses == [("page_0001.json", "loaded", 2), ("page_0002.json", "duplicate", 0),
                        ("page_0003.json", "rejected", 0)]
    assert report.files[1].error == f"page_0002.json: already ingested in run {report.run_id} as page_0001.json"
    assert report.files[2].error == "page_0003.json: not valid JSON: Expecting property name enclosed in double " \
                                    "quotes at line 1"


@pytest.mark.parametrize("repeats", [1, 6])  # 6 copies: normalised once per distinct value; 1: cell by cell
def test_a_header_named_like_its_column_lands_the_clean_value_and_quarantines_the_raw_one(repeats):
    """The court's `duty` header is also its canonical name. The landed value is the clean text (with its notes);
    a quarantined row keeps what the court sent, spaces and all."""
    sent = " 支付货款\u3000 10万元 "
    records = [court_record(i, duty=sent) for i in range(repeats)]
    records += [court_record(100 + i, duty=f"第{i}项义务") for i in range(6 - repeats)]
    records.append(court_record(999, duty=sent, iname=""))  # quarantined: no subject name
    result = conform(COURT, court_frame(records), "page.json")
    loaded = result.loaded.filter(pl.col("_source_row") == 1).row(0, named=True)
    assert loaded["duty"] == "支付货款 10万元"
    assert loaded["_issues"] == "fullwidth:duty;invisible_chars:duty"
    assert result.quarantined["duty"].to_list() == [sent]
    assert result.quarantined["_message"].to_list() == [
        "page.json: row 7: field subject_name (iname): a required value is empty"]


def test_distinct_value_and_cell_by_cell_normalisation_agree():
    """The same cells in a column that repeats (normalised once per value) and in one that does not."""
    sent = ["２０２４年３月５日", "45356", "2099-12-31", "2024/13/45", None, " 2024-03-05\u200b"]
    expected_dates = [date(2024, 3, 5), date(2024, 3, 5), None, None, None, date(2024, 3, 5)]

    def frame(names: list[str]) -> pl.DataFrame:
        return court_frame([court_record(i, regDate=d, iname=name) for i, (d, name) in enumerate(zip(sent, names))])

    repeated = conform(COURT, frame(["\u3000甲公司 "] * len(sent)), "a.json")
    unique = conform(COURT, frame(["\u3000甲公司 ", *(f"公司{i}" for i in range(1, len(sent)))]), "b.json")
    for result in (repeated, unique):
        by_row = {r["_source_row"]: r for r in result.loaded.to_dicts()}
        assert {row: r["filing_date"] for row, r in by_row.items()} == {
            row: d for row, d in enumerate(expected_dates, start=1) if row not in (4, 5)}
        assert by_row[1]["subject_name"] == "甲公司"
        assert by_row[1]["_issues"] == ("fullwidth:subject_name;invisible_chars:subject_name;"
                                          "fullwidth:filing_date;date_format:filing_date")
        assert by_row[2]["_issues"].endswith("excel_serial_date:filing_date")
        assert by_row[3]["_issues"].endswith("no_end_date:filing_date")
        assert dict(zip(result.quarantined["_source_row"], result.quarantined["_reason"])) == {
            4: "bad_date", 5: "missing_required"}


def test_utf8_csv_with_a_byte_order_mark_is_read_as_sent(home):
    contract = load_contracts()["samr_entity_registry"]
    assert contract.encoding == "utf-8"
    header = [c.source for c in contract.columns]
    row = {c.source: "" for c in contract.columns} | {
        "统一社会信用代码": GOOD, "企业名称": "泰安市示例贸易有限公司", "成立日期": "2015-06-01", "注册资本（万元）": "50",
        "主体类型": next(iter(contract.column("entity_type").codes)),
        "登记状态": next(iter(contract.column("status").codes))}
    text = ",".join(header) + "\n" + ",".join(row[h] for h in header) + "\n"
    folder = home.inbox / "samr_entity_registry"
    folder.mkdir(parents=True)
    (folder / "registry_20260101.csv").write_bytes("\ufeff".encode() * 2 + text.encode("utf-8"))
    (result,) = ingest(home).files
    assert (result.status, result.encoding, result.loaded, result.schema_drift) == ("loaded", "utf-8", 1, {})
    landed = pl.read_parquet(sorted(home.landing.glob("samr_entity_registry/run=2*/*.parquet"))).row(0, named=True)
    assert (landed["uscc"], landed["entity_name"], landed["registered_capital_wan"]) == (
        GOOD, "泰安市示例贸易有限公司", 50.0)


def test_the_array_uscc_check_on_hand_picked_codes():
    codes = pl.Series("uscc", [
        GOOD,                      # valid
        "91350100M000100Y4Z",      # wrong USCC check character
        "91350100M000100Y53",      # org-code check character wrong (position 17)
        "9135010OM000100Y43",      # O is not in the alphabet
        "91350100m000100y43",      # lower case: the column is normalised before the check
        "９１３５０１００Ｍ０００１００Ｙ４３",  # full width: likewise
        f"{GOOD}\n", GOOD[:17], "",
        None,
    ])
    assert uscc_check_ok(codes).to_list() == [True, False, False, False, False, False, False, False, False, None]
    assert uscc_check_ok(codes.head(0)).to_list() == []
    assert pl.DataFrame({"uscc": [None, None]}, schema={"uscc": pl.String}).select(
        uscc_check_ok_expr("uscc"))["uscc"].to_list() == [None, None]
