"""Joint punishment and incentives on a constructed scenario (tests/fixtures/joint.py) with hand-worked answers:
the serious-dishonest listings' removal dates, the court linkage triggers, the measures per department and their
effective dates, and the feedback file for the court — real dbt on a real DuckDB file, the real CLI."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from datetime import date

import pytest

from supervision import joint
from tests.fixtures import joint as scenario
from tests.fixtures.landing import uscc

AS_OF = scenario.AS_OF  # 2026-06-30


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from creditwh.warehouse import build

    root = tmp_path_factory.mktemp("joint")
    landing = scenario.write_joint_landing(root / "landing")
    # the joint marts and everything they read (the credit index included), with their tests and unit tests
    build(landing, root / "warehouse.duckdb", as_of=AS_OF, select="+path:models/marts/supervision/joint_punishment")
    return root / "warehouse.duckdb"


def rows(warehouse, sql):
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rel = con.sql(sql)
        return [dict(zip(rel.columns, r)) for r in rel.fetchall()]


def cli(*args, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return subprocess.run([sys.executable, "-m", "creditwh.cli", "joint", *args, "--home", str(home)],
                          capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def home(warehouse, tmp_path_factory):
    home = tmp_path_factory.mktemp("joint-home")
    (home / "warehouse").mkdir()
    (home / "warehouse" / "warehouse.duckdb").write_bytes(warehouse.read_bytes())
    return home


def test_listings_13_months_old_are_eligible_for_early_removal_and_37_months_old_due_for_removal(warehouse):
    got = {r["listing_decision_no"]: r for r in joint.listings(warehouse)}
    expected = {  # listed_on + 12 months, + 36 months, removed_on, status on 2026-06-30, ground, rule row
        "青市监严列〔2025〕2号": (date(2026, 5, 30), date(2028, 5, 30), None, "early_removal_eligible", "food_safety"),
        "青市监严列〔2023〕5号": (date(2024, 5, 30), date(2026, 5, 30), None, "removal_due", "abnormal_list_3_years"),
        "青市监严列〔2022〕1号": (date(2023, 1, 10), date(2025, 1, 10), date(2023, 3, 1), "removed_early",
                              "drugs_devices_cosmetics"),
        "青市监严列〔2026〕3号": (date(2027, 3, 15), date(2029, 3, 15), None, "listed", "obstructing_inspection"),
        "青工商严列〔2020〕1号": (date(2021, 5, 1), date(2023, 5, 1), date(2023, 5, 10), "removed", "fair_competition"),
    }
    assert {k: (r["early_removal_eligible_from"], r["removal_due_on"], r["removed_on"], r["status"],
                r["grounds_code"]) for k, r in got.items()} == expected
    assert got["青市监严列〔2025〕2号"]["entity_uscc"] == uscc("E02")
    assert [r["listing_decision_no"] for r in joint.listings(warehouse, due_only=True)] == [
        "青市监严列〔2023〕5号", "青市监严列〔2025〕2号"]
    # a listing before SAMR Order 44 (2021-09-01) gets the assumed pre-Order-44 rule row
    rule_ids = {r["listing_decision_no"]: r["grounds_rule_id"]
                for r in rows(warehouse, "select * from fct_serious_dishonest_listing")}
    assert rule_ids["青工商严列〔2020〕1号"] == "pre44_fair_competition"
    assert rule_ids["青市监严列〔2025〕2号"] == "o44_food_safety"


def test_a_court_status_change_after_listing_triggers_a_review(warehouse):
    got = {(r["entity_uscc"], r["list_name"], r["case_no"], r["court_status_change"], r["changed_on"],
            r["review_reason"]) for r in joint.triggers(warehouse)}
    assert got == {
        # E05 listed 2026-03-15; its court case (published 2025-01-05) was first seen removed on 2026-05-02
        (uscc("E05"), "serious_dishonest", "(2025)鲁02执200号", "removed", date(2026, 5, 2),
         "early_removal_to_consider"),
        # E05's tax A grade (from 2026-04-20) is reviewed on the same change
        (uscc("E05"), "tax_a_grade", "(2025)鲁02执200号", "removed", date(2026, 5, 2), "incentives_to_restore"),
        # E11 on the red list since 2025-06-10, court-listed 2026-02-01
        (uscc("E11"), "red_list", "(2026)鲁02执31号", "listed", date(2026, 2, 1), "incentives_to_suspend"),
    }
    # E02's court case was published before E02 was listed; E06 and E10 are on no reviewed list
    assert not {uscc("E02"), uscc("E06"), uscc("E10")} & {t[0] for t in got}


def _mart(warehouse, department, entity):
    return {(r["list_name"], r["measure_code"], r["kind"], r["in_force_from"], r["in_force_until"],
             r["in_force_on_as_of"])
            for r in rows(warehouse, f"select * from mart_joint_measures__{department} "
                                     f"where entity_uscc = '{uscc(entity)}'")}


def test_listed_entities_get_each_departments_restrictions_and_red_listed_ones_its_incentives(warehouse):
    listed, open_ = date(2026, 3, 15), None
    court_case = (date(2025, 1, 5), date(2026, 5, 2), False)  # E05's court case: published .. removal first seen
    assert _mart(warehouse, "market_regulation", "E05") == {
        ("serious_dishonest", f"MR-SD-0{n}", "restriction", listed, open_, True) for n in (1, 2, 3, 4)
    } | {("court_dishonest_debtor", "MR-DD-01", "restriction", *court_case),
         ("risk_class_d", "MR-RD-01", "restriction", AS_OF, open_, True)}
    assert _mart(warehouse, "public_finance", "E05") == {
        ("serious_dishonest", "PF-SD-01", "restriction", listed, open_, True),
        ("court_dishonest_debtor", "PF-DD-01", "restriction", *court_case)}
    assert _mart(warehouse, "housing_construction", "E05") == {
        ("serious_dishonest", "HC-SD-01", "restriction", listed, open_, True),
        ("court_dishonest_debtor", "HC-DD-01", "restriction", *court_case),
        ("court_dishonest_debtor", "HC-DD-02", "restriction", *court_case)}
    honour = (date(2025, 6, 10), date(2027, 6, 10), True)  # 守合同重信用 2025-06-10 .. valid_to 2027-06-09
    assert {m for m in _mart(warehouse, "market_regulation", "E11") if m[0] == "red_list"} == {
        ("red_list", "MR-RL-01", "incentive", *honour), ("red_list", "MR-RL-02", "incentive", *honour)}
    assert {m for m in _mart(warehouse, "financial_regulation", "E11") if m[0] == "red_list"} == {
        ("red_list", "FR-RL-01", "incentive", *honour)}
    # E01: tax A, green environmental grade, class A
    assert _mart(warehouse, "market_regulation", "E01") == {("risk_class_a", "MR-RA-01", "incentive", AS_OF, None, True)}
    assert _mart(warehouse, "ecology_environment", "E01") == {
        ("env_green_grade", "EE-EG-01", "incentive", date(2026, 3, 1), None, True)}
    # each department mart holds its own department only, and a punishment list never gives an incentive
    for department in joint.departments(warehouse):
        kinds = rows(warehouse, f"select distinct department, list_kind, kind from mart_joint_measures__{department}")
        assert {k["department"] for k in kinds} <= {department}
        assert all((k["list_kind"] == "punishment") == (k["kind"] == "restriction") for k in kinds)
    assert len(joint.departments(warehouse)) == 7


def test_measures_follow_their_effective_dates(warehouse):
    # E01's tax A grades: 2024 grade 2025-04-20 .. 2026-04-20, 2025 grade from 2026-04-20. TX-TA-02's wording
    # changes on 2025-07-01 (the 2025 measures replace the trial measures), so the first grade has both wordings.
    got = {(r["measure_rule_id"], r["in_force_from"], r["in_force_until"], r["in_force_on_as_of"])
           for r in rows(warehouse, f"select * from mart_joint_measures__tax where entity_uscc = '{uscc('E01')}'")}
    assert got == {
        ("TX-TA-01", date(2025, 4, 20), date(2026, 4, 20), False),
        ("TX-TA-02-2014", date(2025, 4, 20), date(2025, 7, 1), False),
        ("TX-TA-02-2025", date(2025, 7, 1), date(2026, 4, 20), False),
        ("TX-TA-01", date(2026, 4, 20), None, True),
        ("TX-TA-02-2025", date(2026, 4, 20), None, True),
    }


def test_commands_write_the_court_feedback_and_a_department_csv(home, tmp_path):
    out = tmp_path / "feedback"
    first = cli("court-feedback", "--out", str(out), "--json", home=home)
    assert first.returncode == 0, first.stderr
    manifest = json.loads(first.stdout)
    folder = out / "court-feedback-2026-06-30"
    data = (folder / "court_feedback.jsonl").read_bytes()
    records = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    # five court cases (E02, E05, E06, E10, E11) x seven measures of six departments
    assert manifest["records"] == len(records) == 35 and manifest["cases"] == 5
    assert manifest["by_department"] == {"court": 5, "financial_regulation": 5, "housing_construction": 10,
                                         "market_regulation": 5, "public_finance": 5, "tax": 5}
    assert manifest["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["records"] == 35
    # the two cases removed on 2026-05-02 (E05, E06): their 14 measures ended then
    assert manifest["in_force_on_as_of"] == 21
    assert {r["in_force_until"] for r in records if not r["in_force_on_as_of"]} == {"2026-05-02"}
    assert {r["kind"] for r in records} == {"restriction"}
    again = cli("court-feedback", "--out", str(out), home=home)
    assert again.returncode == 0 and "Already written" in again.stdout
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp")]

    csv_out = tmp_path / "tax.csv"
    done = cli("measures", "--department", "tax", "--in-force", "--out", str(csv_out), home=home)
    assert done.returncode == 0, done.stderr
    with csv_out.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.DictReader(fh))
    # in force on 2026-06-30: E01 and E05 two A-grade incentives each; E02, E10, E11 the court-list restriction
    assert len(table) == 7 and {r["kind"] for r in table} == {"incentive", "restriction"}

    due = cli("listings", "--due", "--json", home=home)
    assert due.returncode == 0 and [r["status"] for r in json.loads(due.stdout)] == [
        "removal_due", "early_removal_eligible"]
    bad = cli("measures", "--department", "weather", home=home)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "market_regulation" in bad.stderr
    missing = cli("triggers", home=tmp_path / "empty-home")
    assert missing.returncode == 1 and "no warehouse" in missing.stderr
