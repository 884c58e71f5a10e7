"""The other departments' feeds (issue 3): their contracts, the synthetic city writing them, ingestion loading
them with nothing lost, and hand-written files in each new layout read as a person would read them."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

import synthetic
from creditwh.settings import Home
from ingestion.contracts import load_contracts
from ingestion.run import ingest

NEW_FEEDS = {
    "hrss_wage_arrears_dishonest": ("human_resources", "csv", "gb18030"),
    "housing_construction_penalties": ("housing_construction", "xlsx", None),
    "medical_device_penalties": ("medical_products", "csv", "gbk"),
    "special_equipment_inspections": ("special_equipment", "jsonl", "utf-8"),
    "food_safety_sampling": ("food_safety", "csv", "utf-8-sig"),
    "education_training_institutions": ("education", "xlsx", None),
    "psb_blasting_units": ("public_security", "csv", "gbk"),
    "honours_contract_credit": ("honours", "csv", "utf-8"),
}
# ground-truth defect -> the quarantine reason ingestion must give that row; other defects are repaired or flagged
QUARANTINING = {"missing_required": "missing_required", "duplicate": "duplicate_key", "unknown_code": "unknown_code"}
GOOD = "91350100M000100Y43"  # the GB 32100 worked example
GOOD_FULLWIDTH = "９１３５０１００Ｍ０００１００Ｙ４３"
REGNO = "370902018012345"


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """tiny city generated into a home's inbox, then only the new feeds ingested (the old ones have their own tests)."""
    home = Home(tmp_path_factory.mktemp("departments") / "home").ensure()
    manifest = synthetic.generate("tiny", 7, home.inbox)
    contracts = load_contracts()
    files = [(contracts[f], home.inbox / f / m["name"]) for f in NEW_FEEDS for m in manifest["feeds"][f]["files"]]
    report = ingest(home, files=files, contracts=contracts)
    return home, manifest, report


def test_every_new_contract_parses_and_says_how_the_department_sends(contracts):
    for feed, (department, fmt, encoding) in NEW_FEEDS.items():
        c = contracts[feed]
        assert (c.department, c.format) == (department, fmt), feed
        if encoding:
            assert c.encoding == encoding, feed
        assert c.owner and c.department_name and len(c.schedule.split()) == 5, feed
        assert c.assertions.get("min_rows", 0) >= 1, feed
        assert set(c.key) <= set(c.canonical_names) and c.identifier_required_one_of, feed
    formats = {(contracts[f].format, contracts[f].header_row) for f in NEW_FEEDS}
    assert ("xlsx", 1) in formats and ("jsonl", 0) in formats


def test_department_penalties_are_the_same_canonical_record_as_samr(contracts):
    samr = contracts["samr_penalties"]
    for feed in ("housing_construction_penalties", "medical_device_penalties"):
        c = contracts[feed]
        assert c.record_type == samr.record_type == "penalty"
        assert [(x.name, x.type, x.required) for x in c.columns] == [(x.name, x.type, x.required) for x in samr.columns]
        assert c.key == samr.key
    # housing sends the 2021 column codes, medical devices the standard's Chinese header names
    assert contracts["housing_construction_penalties"].column("decision_no").source == "CF_WSH"
    assert contracts["medical_device_penalties"].column("decision_no").source == "行政处罚决定书文号"


def test_the_generator_writes_every_new_feed_for_the_same_entities(city):
    home, manifest, _ = city
    registry = pl.read_csv(next((home.inbox / "samr_entity_registry").glob("*.csv")), infer_schema=False)
    known_uscc = set(registry["统一社会信用代码"].drop_nulls().str.strip_chars().to_list())
    known_regno = set(registry["注册号"].drop_nulls().to_list())
    for feed in NEW_FEEDS:
        assert manifest["feeds"][feed]["rows"] > 0 and manifest["feeds"][feed]["unfilled_columns"] == [], feed
        landed = pl.read_parquet(sorted(home.landing.glob(f"{feed}/run=2*/*.parquet")))
        linked = landed.filter(pl.col("uscc").is_in(known_uscc) | pl.col("registration_no").is_in(known_regno))
        assert linked.height >= 0.95 * landed.height, feed
    # the blasting register lists some old units by registration number only, and they still link
    blasting = pl.read_parquet(sorted(home.landing.glob("psb_blasting_units/run=2*/*.parquet")))
    by_regno = blasting.filter(pl.col("uscc").is_null())
    assert by_regno.height > 0 and set(by_regno["registration_no"].to_list()) <= known_regno


def test_every_row_is_loaded_or_quarantined(city):
    _, manifest, report = city
    assert {f.feed for f in report.files} == set(NEW_FEEDS)
    for f in report.files:
        assert f.status == "loaded" and f.error is None, (f.file, f.error)
        assert f.rows_in == f.loaded + f.quarantined > 0, f
    for feed in NEW_FEEDS:
        files = {m["name"]: m["rows"] for m in manifest["feeds"][feed]["files"]}
        assert {f.file: f.rows_in for f in report.files if f.feed == feed} == files, feed


def test_quarantine_is_exactly_the_ground_truth_row_defects(city):
    home, _, report = city
    gt = pl.read_parquet(home.inbox / "_ground_truth.parquet").filter(pl.col("feed").is_in(list(NEW_FEEDS)))
    expected = (gt.filter(pl.col("defect").is_in(list(QUARANTINING)))
                .select("feed", "file_name", "source_row", pl.col("defect").replace_strict(QUARANTINING).alias("reason"))
                .sort("feed", "file_name", "source_row"))
    got = (pl.concat([pl.read_parquet(p, columns=["_feed", "_file_name", "_source_row", "_reason"])
                      for p in sorted(home.quarantine.glob(f"*/run={report.run_id}/*.parquet"))])
           .rename({"_feed": "feed", "_file_name": "file_name", "_source_row": "source_row", "_reason": "reason"})
           .sort("feed", "file_name", "source_row"))
    assert set(expected["reason"]) == set(QUARANTINING.values())
    assert got.to_dicts() == expected.to_dicts()
    assert sum(f.quarantined for f in report.files) == expected.height


def test_repairable_defects_are_repaired_on_landing(city):
    home, _, _ = city
    gt = pl.read_parquet(home.inbox / "_ground_truth.parquet").filter(
        pl.col("feed").is_in(list(NEW_FEEDS)) & pl.col("defect").is_in(["fullwidth", "date_format", "invisible_chars",
                                                                          "amount_unit_yuan", "legacy_regno"]))
    checked = 0
    for t in gt.to_dicts():
        rows = pl.read_parquet(sorted(home.landing.glob(f"{t['feed']}/run=2*/*.parquet"))).filter(
            (pl.col("_file_name") == t["file_name"]) & (pl.col("_source_row") == t["source_row"]))
        assert rows.height == 1, t
        if t["defect"] == "legacy_regno":  # moved out of the USCC field to where the registry can resolve it
            assert rows["uscc"][0] is None and rows["registration_no"][0] is not None, t
        elif isinstance(rows[t["field"]][0], float):
            assert rows[t["field"]][0] == pytest.approx(float(t["expected"])), t
        else:
            assert str(rows[t["field"]][0]) == t["expected"], t
        checked += 1
    assert checked > 30


def test_bad_check_digits_are_loaded_and_flagged(city):
    home, _, _ = city
    gt = pl.read_parquet(home.inbox / "_ground_truth.parquet").filter(
        pl.col("feed").is_in(list(NEW_FEEDS)) & (pl.col("defect") == "bad_check_digit"))
    assert gt.height > 0
    for t in gt.to_dicts():
        row = pl.read_parquet(sorted(home.landing.glob(f"{t['feed']}/run=2*/*.parquet"))).filter(
            (pl.col("_file_name") == t["file_name"]) & (pl.col("_source_row") == t["source_row"]))
        assert row["uscc_check_ok"].to_list() == [False], t


# ------------------------------------------------------------------------------------------------ fixtures by hand
def test_a_gbk_csv_from_the_public_security_bureau(tmp_path, contracts):
    home = Home(tmp_path / "home").ensure()
    header = "单位名称,统一社会信用代码,营业执照注册号,许可证编号,单位类别,资质等级,发证日期,有效期至,许可状态,发证机关"
    rows = [
        f"泰安市示例爆破工程有限公司,{GOOD_FULLWIDTH},,37090210000101,营业性,二级,2024年3月5日,2027/03/04,有效,泰安市公安局",
        f"肥城市老石料厂,,{REGNO},37098320000201,非营业性,,2016-05-01,2019-04-30,注销,泰安市公安局",
        "东平县某采石有限公司,91350100M000100Y4Z,,37092320000301,非营业性,,2023-01-01,2025-12-31,过期,泰安市公安局",
    ]
    path = home.inbox / "psb_blasting_units" / "blasting_units_202611.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("gbk"))
    (result,) = ingest(home).files
    assert (result.encoding, result.rows_in, result.loaded, result.quarantined) == ("gbk", 3, 2, 1)
    assert result.schema_drift == {"renamed": {"营业执照注册号": "工商注册号"}}
    landed = pl.read_parquet(sorted(home.landing.glob("psb_blasting_units/run=2*/*.parquet"))).sort("_source_row")
    first, second = landed.to_dicts()
    assert (first["uscc"], first["issue_date"], first["valid_to"], first["qualification_grade"]) == \
        (GOOD, date(2024, 3, 5), date(2027, 3, 4), "grade_2")
    assert set(first["_issues"].split(";")) == {"fullwidth:uscc", "date_format:issue_date", "date_format:valid_to"}
    assert (second["uscc"], second["registration_no"], second["qualification_grade"]) == (None, REGNO, None)
    assert second["unit_category"] == "non_commercial" and second["licence_status"] == "cancelled"
    q = pl.read_parquet(next(home.quarantine.glob("psb_blasting_units/run=*/*.parquet"))).to_dicts()[0]
    assert (q["_source_row"], q["_reason"], q["_field"]) == (3, "unknown_code", "licence_status")
    assert "blasting_units_202611.csv: row 3: field licence_status (许可状态)" in q["_message"]


def test_an_xlsx_with_a_title_row_from_housing_and_construction(tmp_path, contracts):
    home = Home(tmp_path / "home").ensure()
    c = contracts["housing_construction_penalties"]
    path = home.inbox / c.id / "housing_penalties_2024.xlsx"
    path.parent.mkdir(parents=True)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("处罚信息")
    ws.merge_range(0, 0, 0, len(c.columns) - 1, "泰安市住房和城乡建设局行政处罚信息公示（2024年）")
    ws.write_row(1, 0, c.source_names)
    values = {"CF_XDR_MC": " 泰安市示例建设工程有限公司", "CF_XDR_LB": "法人及非法人组织", "CF_XDR_SHXYM": GOOD,
              "CF_XDR_GSZC": REGNO, "CF_FRDB": "王五", "CF_WSH": "泰建罚〔2024〕00012号",
              "CF_WFXW": "未取得施工许可证擅自施工", "CF_CFLB": "罚款", "CF_NR": "罚款人民币12000元",
              "CF_NR_FK": "12000元", "CF_CFJG": "泰安市住房和城乡建设局", "CF_CFJGDM": "11370900MB2857231K"}
    for i, col in enumerate(c.columns):
        if col.name == "decision_date":
            ws.write_datetime(2, i, __import__("datetime").datetime(2024, 6, 3), wb.add_format({"num_format": "yyyy-mm-dd"}))
        elif col.name == "valid_until":
            ws.write_number(2, i, 46541)  # an Excel serial typed as a number: 2027-06-03
        elif col.source in values:
            ws.write_string(2, i, values[col.source])
    ws.write_row(3, 0, ["第二行缺文号的公司", "法人及非法人组织", GOOD])  # no 文号: quarantined, the rest goes on
    wb.close()
    (result,) = ingest(home).files
    assert (result.rows_in, result.loaded, result.quarantined) == (2, 1, 1)
    row = pl.read_parquet(sorted(home.landing.glob(f"{c.id}/run=2*/*.parquet"))).to_dicts()[0]
    assert row["subject_name"] == "泰安市示例建设工程有限公司" and row["subject_category"] == "legal_person"
    assert (row["decision_date"], row["valid_until"]) == (date(2024, 6, 3), date(2027, 6, 3))
    assert row["fine_amount_wan"] == pytest.approx(1.2) and row["registration_no"] == REGNO
    assert row["_source_row"] == 1 and "amount_unit_converted:fine_amount_wan" in row["_issues"]
    q = pl.read_parquet(next(home.quarantine.glob(f"{c.id}/run=*/*.parquet"))).to_dicts()[0]
    assert (q["_source_row"], q["_reason"], q["_field"]) == (2, "missing_required", "decision_no")


def test_json_lines_from_the_special_equipment_institute(tmp_path, contracts):
    home = Home(tmp_path / "home").ensure()
    folder = home.inbox / "special_equipment_inspections"
    folder.mkdir(parents=True)
    base = {"reportNo": "TATJ-DT-2024-000001", "useUnitName": "泰安市示例物业服务有限公司", "useUnitCreditCode": GOOD,
            "equipmentCode": "3000370902201500001", "equipmentCategory": "电梯", "inspectionType": "定期检验",
            "inspectionDate": "2024-05-06", "conclusion": "合格", "nextInspectionDate": "2025-05-06",
            "inspectionAgency": "泰安市特种设备检验研究院"}
    lines = [json.dumps(base, ensure_ascii=False), "",
             json.dumps(base | {"reportNo": "TATJ-DT-2024-000002", "conclusion": "不合格", "nextInspectionDate": None,
                                "inspectionDate": 45418}, ensure_ascii=False),
             json.dumps({k: v for k, v in base.items() if k != "equipmentCode"} | {"reportNo": "TATJ-DT-2024-000003"},
                        ensure_ascii=False)]
    (folder / "special_equipment_2024.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "broken.jsonl").write_text(json.dumps(base) + "\n{\"reportNo\": \"x\",\n", encoding="utf-8")
    results = {r.file: r for r in ingest(home).files}
    broken = results["broken.jsonl"]
    assert broken.status == "rejected" and "broken.jsonl: line 2 is not valid JSON" in broken.error
    good = results["special_equipment_2024.jsonl"]
    assert (good.status, good.rows_in, good.loaded, good.quarantined) == ("loaded", 3, 2, 1)
    landed = pl.read_parquet(sorted(home.landing.glob("special_equipment_inspections/run=2*/*.parquet")))
    first, second = landed.sort("_source_row").to_dicts()
    assert (first["equipment_category"], first["inspection_conclusion"], first["next_inspection_date"]) == \
        ("elevator", "pass", date(2025, 5, 6))
    assert (second["_source_row"], second["inspection_conclusion"], second["inspection_date"], second["next_inspection_date"]) \
        == (2, "fail", date(2024, 5, 6), None)  # a blank line is not a record; 45419 is an Excel serial
    q = pl.read_parquet(next(home.quarantine.glob("special_equipment_inspections/run=*/*.parquet"))).to_dicts()[0]
    assert (q["_source_row"], q["_reason"], q["_field"]) == (3, "missing_required", "equipment_code")


# ------------------------------------------------------------------------------------------------ staging
STAGING = {"hrss": "hrss_wage_arrears_dishonest", "housing": "housing_construction_penalties",
           "medical": "medical_device_penalties", "special_equipment": "special_equipment_inspections",
           "food_safety": "food_safety_sampling", "education": "education_training_institutions",
           "psb": "psb_blasting_units", "honours": "honours_contract_credit"}


def test_staging_models_build_and_their_tests_pass_on_the_tiny_landing(city, tmp_path):
    import duckdb

    from creditwh.warehouse import build

    home, _, report = city
    select = " ".join(f"path:models/staging/{folder}" for folder in STAGING)
    result = build(home.landing, tmp_path / "warehouse.duckdb", as_of=date(2026, 11, 25), select=select)
    models = {n.unique_id.split(".")[-1] for n in result.nodes if n.unique_id.startswith("model.")}
    assert len(models) == len(STAGING) and all(m.startswith("stg_") for m in models)
    assert sum(n.unique_id.startswith("test.") for n in result.nodes) >= 3 * len(STAGING)
    loaded = {}
    for f in report.files:
        loaded[f.feed] = loaded.get(f.feed, 0) + f.loaded
    with duckdb.connect(str(result.warehouse), read_only=True) as con:
        for model in sorted(models):
            feed = con.execute(f"select distinct _feed from {model} where _run_id = ?", [report.run_id]).fetchall()
            rows = con.execute(f"select count(*) from {model} where _run_id = ?", [report.run_id]).fetchone()[0]
            assert len(feed) == 1 and rows == loaded[feed[0][0]] > 0, model
