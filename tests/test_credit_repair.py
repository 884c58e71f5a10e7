"""Credit repair (信用修复) on a constructed city with known answers: the tiny fixture city (tests/fixtures/landing.py)
plus, ingested through real ingestion, two serious penalties on each side of 2025-12-25, the repair feed (with bad
rows) and one notice. Built once as of 2026-06-30 (docs/credit-repair.md has the rules).

Hand-computed answers (decision date -> rule in force -> dates):
  E02 #1  2025-12-24 minor     order45_minor      no early repair   auto end 2026-03-24
  E02 #2  2025-12-25 minor     order107_minor     no early repair   auto end 2026-03-25
  E03 #3  2025-12-24 moderate  order45_moderate   eligible 2026-06-24 (+6 months)  auto end 2028-12-24  refused
  E03 #4  2025-12-25 moderate  order107_moderate  eligible 2026-03-25 (+3 months)  auto end 2026-12-25  granted
                                                   2026-04-10 -> publicity ends 2026-04-10
  E05 #21 2025-12-24 serious   order45_serious    no early repair   auto end 2028-12-24
  E05 #22 2025-12-25 serious   order107_serious   eligible 2026-12-25 (+12 months) auto end 2028-12-25
E03's score as of 2026-06-30 was 45.0 (tests/test_warehouse.py: two moderate penalties at -12 each, tax D -15,
inspection -6); the grant takes one -12 away: 57.0.
Records that became repairable under a notice duty by 2026-06-30: E03 #4 (2026-03-25, notified 2026-03-26),
E09 #11 (2026-04-20), U01 #14 (2026-05-15, no registry entity), E03 #3 (2026-06-24): rate 1/4, and after
`repair notify --as-of 2026-06-30` (E03 #3 only: E09's application is pending, U01 has no entity) 2/4.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.fixtures.feed_files import write_csv
from tests.fixtures.landing import AUTHORITY, AUTHORITY_NAME, MEDICAL_AUTHORITY, UNKNOWN_USCC, uscc, write_landing

AS_OF = date(2026, 6, 30)


def penalty_no(year: int, no: int) -> str:
    return f"青市监处罚〔{year}〕{no}号"


def extra_penalties() -> list[dict]:
    return [{"subject_name": "青岛金港化工有限公司", "subject_category": "法人及非法人组织", "uscc": uscc("E05"),
             "decision_no": penalty_no(2025, no), "violation_type": "无证经营", "penalty_categories": "罚款;吊销许可证件",
             "fine_amount_wan": "3", "decision_date": day, "authority_name": AUTHORITY_NAME,
             "authority_uscc": AUTHORITY} for no, day in ((21, "2025-12-24"), (22, "2025-12-25"))]


def application(no: str, code: str | None, decision_no: str, applied: str, decision: str, decided: str = "",
                authority: str = AUTHORITY, **extra) -> dict:
    return {"application_no": no, "uscc": uscc(code) if code else "", "entity_name": f"申请人{code}",
            "record_type": "行政处罚", "record_decision_no": decision_no, "applied_on": applied, "decision": decision,
            "decided_on": decided, "authority_name": AUTHORITY_NAME, "authority_uscc": authority,
            "reason": "已履行法定义务"} | extra


APPLICATIONS = [
    application("XF01", "E03", penalty_no(2025, 4), "2026-04-01", "准予修复", "2026-04-10"),   # 9 days
    application("XF02", "E03", penalty_no(2025, 3), "2026-06-25", "不予修复", "2026-06-29"),   # 4 days
    application("XF03", "E09", penalty_no(2026, 11), "2026-06-28", "审核中"),
    application("XF04", "E02", penalty_no(2025, 99), "2026-05-01", "准予修复", "2026-05-06"),  # no such decision
    application("XF05", "E07", penalty_no(2026, 9), "2026-06-20", "准予修复", "2026-06-10"),   # decided first
    # the medical-products bureau's decision with the same number as SAMR's #6 (E11): only that one is repaired
    application("XF06", "E12", penalty_no(2026, 6), "2026-03-01", "准予修复", "2026-03-05", authority=MEDICAL_AUTHORITY),
    # rows ingestion must quarantine
    application("XF07", "E03", penalty_no(2025, 4), "2026-04-01", "同意", "2026-04-10"),
    application("XF08", "E03", penalty_no(2025, 4), "四月一日左右", "准予修复", "2026-04-10"),
    application("XF09", "E03", "", "2026-04-01", "准予修复", "2026-04-10"),
]
PRIOR_NOTICE = [{"notice_no": "TZ20260326-0001", "uscc": uscc("E03"), "entity_name": "青岛恒信建材有限公司",
                 "record_type": "行政处罚", "record_decision_no": penalty_no(2025, 4), "authority_uscc": AUTHORITY,
                 "repair_eligible_from": "2026-03-25", "notified_on": "2026-03-26", "channel": "短信"}]


BUILT = ("fct_credit_repair_notification", "fct_abnormal_list_removal", "fct_entity_credit_index", "fct_credit_event")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    from creditwh.settings import Home
    from creditwh.warehouse import build
    from ingestion.contracts import load_contracts
    from ingestion.run import ingest

    home = Home(tmp_path_factory.mktemp("repair") / "home").ensure()
    write_landing(home.landing)
    contracts = load_contracts()
    files = [(contracts["samr_penalties"], write_csv(home.inbox / "samr_penalties" / "extra.csv", "samr_penalties",
                                                     extra_penalties())),
             (contracts["samr_credit_repair"], write_csv(home.inbox / "samr_credit_repair" / "repair.csv",
                                                         "samr_credit_repair", APPLICATIONS)),
             (contracts["samr_credit_repair_notices"], write_csv(
                 home.inbox / "samr_credit_repair_notices" / "notices.csv", "samr_credit_repair_notices",
                 PRIOR_NOTICE))]
    report = ingest(home, files=files)
    # what the tests read, and everything upstream (not the monthly series nor the other applications' marts)
    build(home.landing, home.warehouse, as_of=AS_OF, select=" ".join(f"+{m}" for m in BUILT))
    return home, report


def query(home, sql: str, *params) -> list[dict]:
    import duckdb

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        result = con.execute(sql, list(params))
        names = [d[0] for d in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def cli(home, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return subprocess.run([sys.executable, "-m", "creditwh.cli", *args, "--home", str(home.root)],
                          capture_output=True, text=True, env=env)


# ------------------------------------------------------------------------------------------------ the dates
ELIGIBILITY = {  # decision no: (rule, repair_eligible_from, publicity_auto_ends_on, publicity_ends_on, status)
    penalty_no(2025, 1): ("order45_minor", None, date(2026, 3, 24), date(2026, 3, 24), "not_repairable_early"),
    penalty_no(2025, 2): ("order107_minor", None, date(2026, 3, 25), date(2026, 3, 25), "not_repairable_early"),
    penalty_no(2025, 3): ("order45_moderate", date(2026, 6, 24), date(2028, 12, 24), date(2028, 12, 24), "refused"),
    penalty_no(2025, 4): ("order107_moderate", date(2026, 3, 25), date(2026, 12, 25), date(2026, 4, 10), "granted"),
    penalty_no(2025, 21): ("order45_serious", None, date(2028, 12, 24), date(2028, 12, 24), "not_repairable_early"),
    penalty_no(2025, 22): ("order107_serious", date(2026, 12, 25), date(2028, 12, 25), date(2028, 12, 25),
                           "not_applied"),
}


def test_eligibility_and_publicity_end_on_each_side_of_2025_12_25(city):
    home, _ = city
    rows = {r["decision_no"]: r for r in query(home, "select * from fct_credit_repair_eligibility")}
    for number, expected in ELIGIBILITY.items():
        r = rows[number]
        assert (r["repair_rule_id"], r["repair_eligible_from"], r["publicity_auto_ends_on"], r["publicity_ends_on"],
                r["repair_status"]) == expected, number
    assert rows[penalty_no(2025, 4)]["decided_on"] == date(2026, 4, 10)
    assert rows[penalty_no(2025, 3)]["decided_on"] == date(2026, 6, 29)
    # the defective grant (decided before applied) leaves E07's moderate penalty alone
    assert rows[penalty_no(2026, 9)]["publicity_ends_on"] == date(2027, 5, 1)
    assert rows[penalty_no(2026, 9)]["repair_status"] == "not_applied"


def test_a_granted_repair_ends_the_event_and_raises_the_score_a_refused_one_changes_nothing(city):
    home, _ = city
    e03 = query(home, "select * from fct_entity_credit_index where entity_uscc = ?", uscc("E03"))[0]
    assert (e03["score"], e03["risk_class"]) == (57.0, "D")  # 45.0 + 12: one -30 x 40% penalty less
    windows = {r["event_date"]: r for r in query(
        home, "select * from fct_credit_event where entity_uscc = ? and event_type = 'penalty'", uscc("E03"))}
    assert windows[date(2025, 12, 25)]["in_force_until"] == date(2026, 4, 10)   # granted
    assert windows[date(2025, 12, 24)]["in_force_until"] == date(2028, 12, 24)  # refused: unchanged
    # E07 (defective grant) and E09 (pending) keep their scores of tests/test_warehouse.py
    index = {r["entity_uscc"]: r["score"] for r in query(home, "select * from fct_entity_credit_index")}
    assert (index[uscc("E07")], index[uscc("E09")]) == (74.0, 70.0)
    # 谁认定、谁修复: the medical bureau's decision 〔2026〕6号 is repaired, SAMR's decision of that number is not
    penalties = {(r["source_feed"], r["entity_uscc"]): r for r in query(
        home, "select * from fct_credit_event where description like ?", f"%{penalty_no(2026, 6)}")}
    assert penalties["medical_device_penalties", uscc("E12")]["in_force_until"] == date(2026, 3, 5)
    assert penalties["samr_penalties", uscc("E11")]["in_force_until"] == date(2029, 2, 1)


def test_bad_repair_rows_are_quarantined_or_flagged_with_their_reason(city):
    home, report = city
    repair = next(f for f in report.files if f.feed == "samr_credit_repair")
    assert (repair.rows_in, repair.loaded, repair.quarantined) == (9, 6, 3)
    assert repair.quarantine_reasons == {"bad_date": 1, "missing_required": 1, "unknown_code": 1}
    decisions = {r["application_no"]: r for r in query(home, "select * from int_credit_repair__decisions")}
    assert {k: r["defect"] for k, r in decisions.items()} == {
        "XF01": None, "XF02": None, "XF03": None, "XF04": "unknown_record", "XF05": "decided_before_applied",
        "XF06": None}
    assert decisions["XF01"]["days_to_decision"] == 9 and decisions["XF03"]["decided_on"] is None


def test_a_granted_repair_is_withdrawn_from_the_next_publication(city, tmp_path):
    import dataclasses

    from publication import publish_penalties
    from quality import validate_penalties
    from quality.rules import load_rules

    home, _ = city
    # the fixture city fails critical rules on purpose (bad check digits, ...): hold those back, never the batch
    rules = dataclasses.replace(load_rules("penalties"), max_critical_failure_rate=1.0)
    repaired = query(home, "select penalty_id from fct_penalty where decision_no = ?", penalty_no(2025, 4))[0]
    exports, quality_dir = tmp_path / "exports", tmp_path / "quality"
    validate_penalties(home.warehouse, quality_dir, run_id="before", as_of=date(2026, 4, 1), rules=rules)
    first = publish_penalties(home.warehouse, quality_dir, exports, as_of=date(2026, 4, 1))
    sent = [json.loads(line) for line in (Path(first.batch_dir) / "penalties.jsonl").read_text("utf-8").splitlines()]
    assert repaired["penalty_id"] in {r["record_id"] for r in sent}
    validate_penalties(home.warehouse, quality_dir, run_id="after", as_of=AS_OF, rules=rules)
    second = publish_penalties(home.warehouse, quality_dir, exports, as_of=AS_OF)
    ops = {r["record_id"]: r for r in (json.loads(line) for line in
                                       (Path(second.batch_dir) / "penalties.jsonl").read_text("utf-8").splitlines())}
    assert ops[repaired["penalty_id"]]["operation"] == "withdraw"
    assert ops[repaired["penalty_id"]]["withdraw_reason"] == "credit_repair_granted"
    assert second.withdraw_reasons["credit_repair_granted"] == 1


# ------------------------------------------------------------------------------------------------ notices
def test_the_notice_rate_is_measured_from_the_notices_sent(city):
    from creditwh.warehouse import build
    from supervision import repair

    home, _ = city
    before = repair.indicators(home.warehouse)["proactive_notice"]
    assert (before["eligible"], before["notified"], before["rate"], before["median_days_to_notice"]) == (4, 1, 0.25, 1)
    run = repair.notify(home, AS_OF)
    assert (run.notices, run.unidentified, run.already_notified) == (1, 1, 0)
    again = repair.notify(home, AS_OF)  # recorded at once: the same day again sends nothing twice
    assert (again.notices, again.already_notified) == (0, 1)
    with open(run.file, encoding="utf-8") as fh:
        sent = list(csv.DictReader(fh))
    assert [(n["原决定书文号"], n["可申请修复日期"], n["告知编号"]) for n in sent] == [
        (penalty_no(2025, 3), "2026-06-24", "TZ20260630-0001")]
    build(home.landing, home.warehouse, as_of=AS_OF,
          select="stg_samr__credit_repair_notices int_credit_repair__notices fct_credit_repair_notification")
    after = repair.indicators(home.warehouse)["proactive_notice"]
    assert (after["eligible"], after["notified"], after["rate"]) == (4, 2, 0.5)


def test_indicators_count_applications_decisions_and_abnormal_list_removals(city):
    from supervision import repair

    home, _ = city
    result = repair.indicators(home.warehouse)
    assert result["applications"] == {
        "received": 6, "valid": 4, "defective": {"decided_before_applied": 1, "unknown_record": 1},
        "granted": 2, "refused": 1, "pending": 1, "median_days_to_decision": 4}   # 9, 4, 4 days
    assert result["abnormal_list_removals"]["by_reason"] == [
        {"reason": "已补报年度报告并公示", "removals": 1, "median_days_listed": 48}]   # 2024-07-15 .. 09-01
    assert repair.indicators(home.warehouse, date(2026, 4, 1), date(2026, 4, 30))["applications"]["received"] == 1


# ------------------------------------------------------------------------------------------------ the commands
def test_the_commands_answer_and_refuse_bad_input_without_a_traceback(city):
    home, _ = city
    status = cli(home, "repair", "status", uscc("E03"), "--json")
    assert status.returncode == 0, status.stderr
    records = {r["decision_no"]: r["repair_status"] for r in json.loads(status.stdout)["records"]}
    assert records == {penalty_no(2025, 3): "refused", penalty_no(2025, 4): "granted"}
    eligible = cli(home, "repair", "eligible", "--as-of", "2026-04-01", "--json")
    assert eligible.returncode == 0, eligible.stderr
    assert {(r["decision_no"], r["entity_uscc"]) for r in json.loads(eligible.stdout)["records"]} == {
        (penalty_no(2025, 4), uscc("E03"))}
    table = cli(home, "repair", "indicators")
    assert table.returncode == 0 and "proactive-notice rate" in table.stdout, table.stderr
    bad = cli(home, "repair", "status", "91370200XXXXXXXXX0")
    assert bad.returncode == 1 and "not a valid unified social credit code" in bad.stderr
    assert "Traceback" not in bad.stderr
    unknown = cli(home, "repair", "status", UNKNOWN_USCC, "--json")  # not in the registry, yet its penalty is
    assert unknown.returncode == 0, unknown.stderr
    assert [r["decision_no"] for r in json.loads(unknown.stdout)["records"]] == [penalty_no(2026, 14)]
