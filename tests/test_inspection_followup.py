"""Random-inspection follow-up surveys (抽查回访) end to end on a constructed city with known answers: the tiny fixture
city (tests/fixtures/landing.py) plus, through real ingestion, one more inspection result and the follow-up feed
(with bad rows). Built once as of 2026-06-30 with methodology v1 (docs/inspections.md, docs/methodology.md).

Hand-computed answers (supervision_record weighs 40 %, so a sub-score point is 0.4 composite points):
  E03  inspected 2026-05-20 (disclosure failure, -15); follow-up HF01 2026-06-20 NOT rectified: -15 more.
       Without it E03 scores 45.0 (tests/test_warehouse.py: supervision 25, social 20); with it supervision
       25 - 15 = 10, so 45.0 - 6.0 = 39.0, still class D. In force 2026-06-20 .. 2027-06-20.
  E07  a corrected inspection 2026-03-05 (-5, ingested here) and follow-up HF02 2026-04-10 rectified (+5):
       supervision 100 - 10 - 30 - 5 + 5 = 60, the same 74.0 as without either; the corrected result alone
       would give 72.0.
  E01  follow-up HF03 of its clean inspection: nothing to rectify (0 points), stays 99.0 (supervision at 100).
  E02  follow-up HF04 by a partner department (public security) of a task with no landed inspection: neutral,
       counted, and warned about by the dbt test assert_inspection_followups_name_an_inspection.
  HF05 (unknown rectification code), HF06 (unreadable date) and HF07 (no task id) are quarantined.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.fixtures.feed_files import write_csv
from tests.fixtures.landing import AUTHORITY_NAME, ENTITIES, uscc, write_landing

AS_OF = date(2026, 6, 30)
FEED = "samr_inspection_followup"
BUILT = ("fct_entity_credit_index", "fct_entity_credit_contribution", "fct_entity_credit_dimension_score",
         "fct_credit_event")


def survey(no: int, code: str, task: str, day: str, rectification: str, satisfaction: str = "满意",
           department: str = "市场监督管理局", authority: str = AUTHORITY_NAME, **extra) -> dict:
    return {"survey_no": f"HF2026{no:06d}", "task_id": task, "uscc": uscc(code), "entity_name": ENTITIES[code].name,
            "follow_up_date": day, "rectification": rectification, "satisfaction": satisfaction,
            "department": department, "authority_name": authority} | extra


SURVEYS = [
    survey(1, "E03", "SSJ-370200-2026-02", "2026-06-20", "未整改", "不满意"),
    survey(2, "E07", "SSJ-370200-2026-03", "2026-04-10", "已整改"),
    survey(3, "E01", "SSJ-370200-2026-01", "2026-02-20", "无需整改"),
    survey(4, "E02", "SSJ-370200-2026-09", "2026-05-10", "无需整改", "", "公安局", "青岛市公安局"),
    # rows ingestion must quarantine
    survey(5, "E03", "SSJ-370200-2026-02", "2026-06-21", "整改中"),
    survey(6, "E03", "SSJ-370200-2026-02", "六月中旬", "未整改"),
    survey(7, "E03", "", "2026-06-22", "未整改"),
]
EXTRA_INSPECTION = [{"task_id": "SSJ-370200-2026-03", "entity_name": ENTITIES["E07"].name, "uscc": uscc("E07"),
                     "inspection_date": "2026-03-05", "result": "发现问题已责令改正", "authority_name": AUTHORITY_NAME}]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    from creditwh.settings import Home
    from creditwh.warehouse import build
    from ingestion.contracts import load_contracts
    from ingestion.run import ingest

    home = Home(tmp_path_factory.mktemp("followup") / "home").ensure()
    write_landing(home.landing)
    contracts = load_contracts()
    files = [(contracts["samr_inspection_results"],
              write_csv(home.inbox / "samr_inspection_results" / "inspections_extra.csv", "samr_inspection_results",
                        EXTRA_INSPECTION)),
             (contracts[FEED], write_csv(home.inbox / FEED / "inspection_followups_2026.csv", FEED, SURVEYS))]
    report = ingest(home, files=files)
    result = build(home.landing, home.warehouse, as_of=AS_OF, select=" ".join(f"+{m}" for m in BUILT))
    return home, report, result


def query(home, sql: str, *params) -> list[dict]:
    import duckdb

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        result = con.execute(sql, list(params))
        names = [d[0] for d in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def events(home) -> dict[str, dict]:
    return {r["sort_key"]: r for r in query(
        home, "select e.*, u.sort_key from fct_credit_event e join int_credit_events__unioned u using (event_id) "
              "where e.event_type = 'inspection_follow_up'")}


def test_every_follow_up_is_an_event_with_its_rectification_as_severity(city):
    home, _, _ = city
    got = {no: (r["entity_uscc"], r["severity"], r["polarity"], r["department"], r["event_date"],
                r["in_force_until"]) for no, r in events(home).items()}
    assert got == {
        "HF2026000001": (uscc("E03"), "not_rectified", "negative", "market_regulation", date(2026, 6, 20),
                         date(2027, 6, 20)),
        "HF2026000002": (uscc("E07"), "rectified", "positive", "market_regulation", date(2026, 4, 10),
                         date(2027, 4, 10)),
        "HF2026000003": (uscc("E01"), "not_required", "neutral", "market_regulation", date(2026, 2, 20),
                         date(2027, 2, 20)),
        "HF2026000004": (uscc("E02"), "not_required", "neutral", "public_security", date(2026, 5, 10),
                         date(2027, 5, 10)),
    }
    hf01 = events(home)["HF2026000001"]
    # the description names the inspection followed up and its result
    assert hf01["description"] == f"SSJ-370200-2026-02；disclosure_failure；HF2026000001；{AUTHORITY_NAME}"
    assert (hf01["source_feed"], hf01["source_row"]) == (FEED, 1)


def test_a_not_rectified_follow_up_lowers_the_score(city):
    home, _, _ = city
    index = {r["entity_uscc"]: r for r in query(home, "select * from fct_entity_credit_index")}
    e03 = index[uscc("E03")]
    assert (e03["score"], e03["risk_class"]) == (45.0 - 6.0, "D")  # 45.0 without the follow-up
    dims = {r["dimension"]: r["sub_score"] for r in query(
        home, "select * from fct_entity_credit_dimension_score where entity_uscc = ?", uscc("E03"))}
    assert dims["supervision_record"] == 10.0  # 100 - 30 - 30 - 15 (inspection) - 15 (not rectified)
    contributions = [(c["event_type"], c["severity"], c["points"], c["composite_points"]) for c in query(
        home, "select * from fct_entity_credit_contribution where entity_uscc = ? and dimension = "
              "'supervision_record' order by contribution_rank", uscc("E03"))]
    assert contributions == [("penalty", "moderate", -30.0, -12.0), ("penalty", "moderate", -30.0, -12.0),
                             ("inspection_follow_up", "not_rectified", -15.0, -6.0),
                             ("inspection_result", "disclosure_failure", -15.0, -6.0)]


def test_a_rectified_follow_up_lifts_the_supervision_record_back(city):
    home, _, _ = city
    index = {r["entity_uscc"]: r for r in query(home, "select * from fct_entity_credit_index")}
    assert index[uscc("E07")]["score"] == 74.0  # 72.0 with the corrected inspection alone
    points = sorted((c["event_type"], c["severity"], c["points"]) for c in query(
        home, "select * from fct_entity_credit_contribution where entity_uscc = ? and event_type like 'inspection%'",
        uscc("E07")))
    assert points == [("inspection_follow_up", "rectified", 5.0), ("inspection_result", "corrected", -5.0)]
    # a survey with nothing to rectify is no contribution; E01's supervision record is full anyway
    assert index[uscc("E01")]["score"] == 99.0
    assert index[uscc("E02")]["score"] == 93.0


def test_bad_rows_are_quarantined_with_file_row_and_field(city):
    import polars as pl

    home, report, _ = city
    (result,) = [f for f in report.files if f.feed == FEED]
    assert (result.rows_in, result.loaded, result.quarantined) == (7, 4, 3)
    assert result.quarantine_reasons == {"bad_date": 1, "missing_required": 1, "unknown_code": 1}
    quarantine = pl.concat([pl.read_parquet(f) for f in sorted(home.quarantine.glob(f"{FEED}/run=*/*.parquet"))])
    got = {(r["_source_row"], r["_reason"], r["_field"]) for r in quarantine.iter_rows(named=True)}
    assert got == {(5, "unknown_code", "rectification"), (6, "bad_date", "follow_up_date"),
                   (7, "missing_required", "task_id")}
    message = quarantine.filter(pl.col("_source_row") == 5)["_message"][0]
    assert message.startswith("inspection_followups_2026.csv: row 5: field rectification (整改落实情况): '整改中'")


def test_a_follow_up_of_an_unknown_inspection_is_counted_and_warned_about(city):
    _, _, result = city
    (warned,) = [n for n in result.nodes if n.name.startswith("assert_inspection_followups_name_an_inspection")]
    assert (warned.status, warned.failures) == ("warn", 1)  # HF04: task SSJ-370200-2026-09 was never inspected


def test_every_rectification_has_a_weight_in_both_methodology_versions():
    import polars as pl

    from creditwh.settings import DBT_PROJECT_DIR

    from ingestion.contracts import load_contracts

    codes = set(load_contracts()[FEED].column("rectification").codes.values())
    seeds = DBT_PROJECT_DIR / "seeds"
    taxonomy = pl.read_csv(seeds / "event_taxonomy.csv").filter(pl.col("event_type") == "inspection_follow_up")
    weights = pl.read_csv(seeds / "methodology_weights.csv").filter(pl.col("event_type") == "inspection_follow_up")
    assert set(taxonomy["severity"]) == codes
    assert {(r["methodology_version"], r["severity"]) for r in weights.iter_rows(named=True)} == {
        (v, c) for v in ("v0", "v1") for c in codes}
    signs = {r["severity"]: r["points"] for r in weights.filter(pl.col("methodology_version") == "v1").iter_rows(
        named=True)}
    assert signs["not_rectified"] < signs["partially_rectified"] < signs["not_required"] == 0 < signs["rectified"]
    # every [U] assumption says so in its rationale
    assert all("[U]" in r for r in weights.filter(pl.col("points") != 0)["rationale"])
