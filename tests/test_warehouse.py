"""The warehouse built by dbt on a hand-made landing (tests/fixtures/landing.py): concrete answers, not smoke.

The landing is the fixture's plus a third registry run (RUN_3, 2026-06-01) that changes two entities, for the
type-2 history. One module fixture builds the warehouse three times over the same file, as the daily build does:
as of a past date PAST, as of AS_OF (the build the tests read), and as of PAST again — a past date rebuilt after a
later one must give identical rows. With one failing build of a single model the module takes about 2 minutes with
the 2 cores shared by four agents (load average 4); dbt's per-node overhead (279 nodes a build) is most of it.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from creditwh.settings import CONTRACTS_DIR, DBT_PROJECT_DIR
from creditwh.warehouse import BuildResult, WarehouseBuildError, build, open_read_only
from tests.fixtures import landing as fixture_landing
from tests.fixtures.landing import AS_OF, ENTITIES, RUN_2, UNKNOWN_USCC, uscc, write_feed, write_landing

LINEAGE = ["_issues", "_feed", "_run_id", "_file_name", "_file_sha256", "_source_row", "_loaded_at"]


REPRODUCED = {"fct_entity_credit_index": "entity_uscc", "fct_entity_credit_contribution": "entity_uscc, contribution_id",
              "fct_entity_credit_dimension_score": "entity_uscc, dimension", "fct_credit_event": "event_id",
              "fct_penalty": "penalty_id", "dim_entity": "uscc", "dim_entity_history": "uscc, valid_from"}
PAST = date(2026, 3, 31)  # a month-end before the first ingestion run, under methodology v1
RUN_3 = "20260601T020000-9c0d1e2f"  # a registry run that changes E02 and E03 (type-2 history)


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    with open_read_only(warehouse) as c:
        return {t: c.execute(f"select * from {t} order by {key}").fetchall() for t, key in REPRODUCED.items()}


def write_registry_run_3(landing: Path) -> None:
    fixture_landing.LOADED_AT.setdefault(RUN_3, fixture_landing.LOADED_AT[RUN_2].replace(month=6, day=1))
    records = fixture_landing._registry(RUN_2)
    for rec in records:
        if rec["uscc"] == uscc("E02"):
            rec.update(legal_rep_name="李02", park=None)
        if rec["uscc"] == uscc("E03"):
            rec.update(industry_code="C3011")
    write_feed(landing, "samr_entity_registry", RUN_3, records, "registry_20260601.csv")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("warehouse")
    landing = write_landing(root / "landing")
    write_registry_run_3(landing)
    warehouse = root / "build" / "warehouse.duckdb"
    past = build(landing, warehouse, as_of=PAST)
    past_tables = snapshot(warehouse)
    second = build(landing, warehouse, as_of=AS_OF)  # the same file rebuilt (dbt reuses its parse: faster)
    second_tables = snapshot(warehouse)
    copy = root / "as_of" / "warehouse.duckdb"
    copy.parent.mkdir()
    copy.write_bytes(warehouse.read_bytes())  # what the tests read; the build file is rebuilt as of PAST below
    past_again = build(landing, warehouse, as_of=PAST)
    return {"root": root, "landing": landing, "first": past, "past_tables": past_tables, "second": second,
            "second_tables": second_tables, "published": copy, "past_again": past_again,
            "past_again_tables": snapshot(warehouse)}


@pytest.fixture(scope="module")
def con(built):
    with open_read_only(built["published"]) as connection:
        yield connection


def rows(con, sql: str, *params) -> list[dict]:
    rel = con.execute(sql, list(params))
    names = [d[0] for d in rel.description]
    return [dict(zip(names, r)) for r in rel.fetchall()]


def penalty(con, number: int, year: int) -> dict:
    found = rows(con, "select * from fct_penalty where decision_no = ?", f"青市监处罚〔{year}〕{number}号")
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------------------------------------ the build
def test_the_build_runs_every_node_and_reports_it(built):
    result: BuildResult = built["first"]
    totals = result.totals
    assert totals["failed"] == 0 and totals["skipped"] == 0 and totals["warned"] == 0, result.failed_nodes
    # every model, seed and unit test of the project ran: counted from the project's files, not pinned, so a new
    # model that dbt silently skipped (a disabled config, a bad path) fails here
    project = DBT_PROJECT_DIR
    unit_tests = sum(len((yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("unit_tests") or [])
                     for f in (project / "models").rglob("*.yml"))
    assert totals["models"] == len(list((project / "models").rglob("*.sql")))
    assert totals["seeds"] == len(list((project / "seeds").glob("*.csv")))
    assert totals["unit_tests"] == unit_tests
    assert totals["data_tests"] > 200
    assert totals["nodes"] == totals["passed"]
    names = {n.name for n in result.nodes}
    assert {"dim_entity", "dim_entity_history", "fct_credit_event", "fct_penalty", "fct_entity_credit_index",
            "fct_entity_credit_contribution", "fct_entity_credit_dimension_score", "fct_entity_credit_index_monthly",
            "agg_credit_index_monthly", "agg_city_credit_indicators_monthly", "meta_credit_index_query",
            "publicity_rules", "methodology_dimensions", "methodology_attribute_rules",
            "int_credit_index__scores::credit_index_arithmetic_v1",
            "int_credit_index__scores::credit_index_arithmetic_v0",
            "int_credit_index__contributions::contributions_are_events_known_and_in_force_and_attribute_bands",
            "int_credit_index__requests::version_in_force_on_each_date",
            "int_penalties__classified::penalty_severity_and_publicity_on_each_side_of_2025_12_25",
            "no_overlapping_intervals_dim_entity_history_uscc"} <= names
    # dbt's target and logs live beside the warehouse file, not in the repository
    assert result.target_dir.parent == result.warehouse.parent / "dbt"
    assert (result.target_dir / "run_results.json").is_file() and (result.log_dir / "dbt.log").is_file()
    assert result.to_json()["totals"] == totals and result.to_json()["as_of"] == PAST.isoformat()


def test_a_failed_build_names_the_node_and_what_dbt_said(tmp_path):
    # an empty landing no longer fails (build() writes the empty typed file of a feed that sent nothing), so the
    # failure is a landed file that is not Parquet
    broken = tmp_path / "landing" / "samr_entity_registry" / f"run={RUN_2}" / "part-0.parquet"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a parquet file")
    with pytest.raises(WarehouseBuildError) as info:
        build(tmp_path / "landing", tmp_path / "wh" / "warehouse.duckdb", as_of=AS_OF, select="stg_samr__registry")
    message = str(info.value)
    assert "model stg_samr__registry [error]" in message and "1 of " in message
    assert "samr_entity_registry" in message  # dbt's own error line names the file of that feed
    assert "Traceback" not in message
    assert info.value.result.failed_nodes[0].resource_type == "model"


# ------------------------------------------------------------------------------------------------ staging
@pytest.mark.parametrize("feed, model", [
    ("samr_entity_registry", "stg_samr__registry"), ("samr_penalties", "stg_samr__penalties"),
    ("samr_licences", "stg_samr__licences"), ("samr_abnormal_list", "stg_samr__abnormal_list"),
    ("samr_serious_dishonest", "stg_samr__serious_dishonest"),
    ("samr_inspection_results", "stg_samr__inspection_results"),
    ("court_dishonest_debtors", "stg_court__dishonest_debtors"), ("tax_credit_grades", "stg_tax__credit_grades"),
    ("env_credit_grades", "stg_env__credit_grades"),
    ("hrss_wage_arrears_dishonest", "stg_hrss__wage_arrears_dishonest"),
    ("housing_construction_penalties", "stg_housing__penalties"),
    ("medical_device_penalties", "stg_medical__device_penalties"),
    ("special_equipment_inspections", "stg_special_equipment__inspections"),
    ("food_safety_sampling", "stg_food_safety__sampling_results"),
    ("education_training_institutions", "stg_education__training_institutions"),
    ("psb_blasting_units", "stg_psb__blasting_units"), ("honours_contract_credit", "stg_honours__contract_credit"),
])
def test_staging_has_exactly_the_contract_columns(con, feed, model):
    from ingestion.conform import landed_schema
    from ingestion.contracts import load_contracts

    expected = set(landed_schema(load_contracts()[feed])) | set(LINEAGE)  # what ingestion lands
    actual = [r[0] for r in con.execute(f"select * from {model} limit 0").description]
    assert sorted(actual) == sorted(expected)


def test_fct_penalty_has_the_columns_the_gate_and_publication_rely_on(con):
    contract = yaml.safe_load((CONTRACTS_DIR / "samr_penalties.yaml").read_text(encoding="utf-8"))
    actual = {r[0] for r in con.execute("select * from fct_penalty limit 0").description}
    binding = {"penalty_id", "entity_uscc", "entity_known", "uscc_check_ok", "severity", "publicity_rule_id",
               "publicity_start", "publicity_end", "is_published_type", *LINEAGE}
    assert binding | {c["name"] for c in contract["columns"]} <= actual


# ------------------------------------------------------------------------------------------------ identity, versions
def test_dim_entity_is_the_registry_with_a_uscc_latest_version(con):
    dim = {r["uscc"]: r for r in rows(con, "select * from dim_entity")}
    assert set(dim) == {e.uscc for code, e in ENTITIES.items() if code != "R13"}  # R13 has no USCC
    assert dim[uscc("E12")]["registration_status"] == "deregistered" and not dim[uscc("E12")]["is_active"]
    assert dim[uscc("E12")]["_run_id"] == RUN_3  # the latest registry run that sent it
    assert dim[uscc("E07")]["entity_type"] == "sole_trader"


def test_identities_resolve_through_the_registration_number(con):
    regno_only = penalty(con, 11, 2026)
    assert regno_only["uscc"] is None and regno_only["registration_no"] == ENTITIES["E09"].registration_no
    assert (regno_only["entity_uscc"], regno_only["entity_known"], regno_only["entity_resolved_by"]) == (
        uscc("E09"), True, "registration_no")

    bad_with_regno = penalty(con, 12, 2026)
    assert bad_with_regno["uscc_check_ok"] is False
    assert (bad_with_regno["entity_uscc"], bad_with_regno["entity_known"]) == (uscc("E10"), True)

    bad_alone = penalty(con, 10, 2026)
    assert bad_alone["uscc_check_ok"] is False
    assert (bad_alone["entity_uscc"], bad_alone["entity_known"], bad_alone["entity_resolved_by"]) == (
        None, False, None)

    unknown = penalty(con, 14, 2026)
    assert (unknown["entity_uscc"], unknown["entity_known"], unknown["entity_resolved_by"]) == (
        UNKNOWN_USCC, False, "uscc")


def test_a_record_sent_again_keeps_only_its_latest_version(con):
    assert con.execute("select count(*) from stg_samr__penalties where decision_no = '青市监处罚〔2025〕13号'"
                       ).fetchone()[0] == 2
    corrected = penalty(con, 13, 2025)
    assert corrected["_run_id"] == RUN_2 and corrected["fine_amount_wan"] == pytest.approx(0.1)
    assert (corrected["severity"], corrected["publicity_end"]) == ("minor", date(2025, 11, 1))
    assert con.execute("select count(*) from fct_penalty").fetchone()[0] == 14


def test_penalty_id_is_the_md5_of_authority_and_decision_number(con):
    row = penalty(con, 3, 2025)
    expected = con.execute("select md5(? || '|' || ?)", [row["authority_uscc"], row["decision_no"]]).fetchone()[0]
    assert row["penalty_id"] == expected


# ------------------------------------------------------------------------------------------------ severity, publicity
@pytest.mark.parametrize("number, year, severity, rule, end, published", [
    (1, 2025, "minor", "order45_minor", date(2026, 3, 24), True),            # 0.3 万元 < 5 on 2025-12-24
    (2, 2025, "minor", "order107_minor", date(2026, 3, 25), True),           # 通报批评 on 2025-12-25
    (3, 2025, "moderate", "order45_moderate", date(2028, 12, 24), True),     # Order 45: 3 years
    (4, 2025, "moderate", "order107_moderate", date(2026, 12, 25), True),    # Order 107: 1 year
    (5, 2024, "serious", "order45_serious", date(2027, 5, 10), True),        # 吊销许可证件
    (6, 2026, "serious", "order107_serious", date(2029, 2, 1), True),        # 责令停产停业
    (7, 2026, "warning_only", "order107_warning_only", date(2026, 3, 1), False),
    (8, 2026, "minor", "order107_minor", date(2026, 7, 1), True),            # sole trader 0.3 < 0.5
    (9, 2026, "moderate", "order107_moderate", date(2027, 5, 1), True),      # sole trader 0.8 >= 0.5
    (10, 2026, "minor", "order107_minor", date(2026, 6, 10), True),          # 警告;罚款 0.2: the warning does not count
    (12, 2026, "serious", "order107_serious", date(2029, 6, 1), True),       # 责令关闭
])
def test_severity_and_publicity_follow_the_rule_of_the_decision_date(con, number, year, severity, rule, end,
                                                                     published):
    p = penalty(con, number, year)
    assert (p["severity"], p["publicity_rule_id"], p["publicity_start"], p["publicity_end"],
            p["is_published_type"]) == (severity, rule, p["decision_date"], end, published)


# ------------------------------------------------------------------------------------------------ events
def test_every_feed_becomes_credit_events_with_windows(con):
    counts = dict(con.execute("select event_type, count(*) from fct_credit_event group by 1").fetchall())
    assert counts == {"penalty": 14 + 3, "licence": 1, "abnormal_list_listing": 2, "abnormal_list_removal": 1,
                      "serious_dishonest_listing": 2, "serious_dishonest_early_removal": 1,
                      "dishonest_debtor_listing": 2, "dishonest_debtor_removal": 1, "tax_credit_grade": 6,
                      "environmental_credit_grade": 3, "inspection_result": 4,
                      # the department feeds (fixture: E12 and U01 only)
                      "wage_arrears_dishonest_listing": 2, "wage_arrears_dishonest_removal": 1,
                      "special_equipment_inspection": 3, "food_sampling_result": 2,
                      "training_institution_blacklist": 2, "training_institution_whitelist": 2,
                      "blasting_licence": 3, "blasting_licence_suspended": 1, "blasting_licence_revoked": 1,
                      "contract_credit_honour": 2}
    window = {(r["event_type"], r["entity_uscc"], r["event_date"]): (r["in_force_from"], r["in_force_until"])
              for r in rows(con, "select * from fct_credit_event")}
    # a listing is in force until the later removal of the same entity (court: of the same case)
    assert window["abnormal_list_listing", uscc("E04"), date(2024, 7, 15)] == (date(2024, 7, 15), date(2024, 9, 1))
    assert window["abnormal_list_listing", uscc("E09"), date(2025, 7, 10)] == (date(2025, 7, 10), None)
    assert window["serious_dishonest_listing", uscc("E04"), date(2022, 1, 10)][1] == date(2023, 3, 1)
    # the court sends a status, not a date: the removal is dated by the run that first saw it (run 2)
    assert window["dishonest_debtor_listing", uscc("E06"), date(2024, 12, 1)][1] == date(2026, 5, 2)
    # a grade lasts until the next grade of the same kind; an inspection one year; a licence to valid_to
    assert window["tax_credit_grade", uscc("E01"), date(2025, 4, 20)][1] == date(2026, 4, 20)
    assert window["tax_credit_grade", uscc("E01"), date(2026, 4, 20)][1] is None
    assert window["inspection_result", uscc("E06"), date(2025, 5, 1)][1] == date(2026, 5, 1)
    assert window["licence", uscc("E01"), date(2023, 5, 1)] == (date(2023, 5, 1), date(2028, 5, 1))
    # penalties: the publicity window
    assert window["penalty", uscc("E03"), date(2025, 12, 25)] == (date(2025, 12, 25), date(2026, 12, 25))
    lineage = rows(con, "select source_feed, source_row, source_file_sha256 from fct_credit_event "
                        "where event_type = 'licence'")[0]
    assert lineage["source_feed"] == "samr_licences" and lineage["source_row"] == 1
    assert len(lineage["source_file_sha256"]) == 64


# ------------------------------------------------------------------------------------------------ department feeds
def events_of(con, feed: str) -> dict[tuple, dict]:
    """The events of one feed by (event_type, severity, subject, event_date); subject = fixture code."""
    codes = {e.uscc: code for code, e in ENTITIES.items() if e.uscc} | {UNKNOWN_USCC: "U01"}
    found = {}
    for r in rows(con, "select * from fct_credit_event where source_feed = ?", feed):
        key = (r["event_type"], r["severity"], codes.get(r["entity_uscc"]), r["event_date"])
        assert key not in found, key
        found[key] = r
    return found


def taxonomy_of(event: dict) -> tuple:
    return (event["polarity"], event["domain"], event["department"], event["in_force_rule"],
            event["in_force_from"], event["in_force_until"])


def test_wage_arrears_listings_are_negative_until_removed(con):
    ev = events_of(con, "hrss_wage_arrears_dishonest")
    assert set(ev) == {("wage_arrears_dishonest_listing", None, "E12", date(2025, 3, 1)),
                       ("wage_arrears_dishonest_removal", None, "E12", date(2026, 3, 1)),
                       ("wage_arrears_dishonest_listing", None, "U01", date(2026, 2, 1))}
    listed = ev["wage_arrears_dishonest_listing", None, "E12", date(2025, 3, 1)]
    assert taxonomy_of(listed) == ("negative", "wage_arrears_dishonest_list", "human_resources", "until_removal",
                                   date(2025, 3, 1), date(2026, 3, 1))
    removal = ev["wage_arrears_dishonest_removal", None, "E12", date(2026, 3, 1)]
    assert taxonomy_of(removal)[0] == "neutral" and removal["in_force_from"] == removal["in_force_until"]
    still = ev["wage_arrears_dishonest_listing", None, "U01", date(2026, 2, 1)]
    assert (still["in_force_until"], still["entity_known"]) == (None, False)  # no removal; unknown entity


def test_special_equipment_inspections_are_in_force_a_year(con):
    ev = events_of(con, "special_equipment_inspections")
    assert {k: taxonomy_of(v) for k, v in ev.items()} == {
        ("special_equipment_inspection", "fail", "E12", date(2026, 2, 10)):
            ("negative", "special_equipment_safety", "special_equipment", "fixed_months",
             date(2026, 2, 10), date(2027, 2, 10)),
        ("special_equipment_inspection", "pass", "E12", date(2025, 1, 5)):
            ("neutral", "special_equipment_safety", "special_equipment", "fixed_months",
             date(2025, 1, 5), date(2026, 1, 5)),
        ("special_equipment_inspection", "pass_after_reinspection", "U01", date(2025, 9, 1)):
            ("neutral", "special_equipment_safety", "special_equipment", "fixed_months",
             date(2025, 9, 1), date(2026, 9, 1)),
    }


def test_food_sampling_results_are_dated_by_publication(con):
    ev = events_of(con, "food_safety_sampling")
    # sampled 2026-01-05, published 2026-02-10: the event (and its year) starts on publication
    assert {k: taxonomy_of(v) for k, v in ev.items()} == {
        ("food_sampling_result", "fail", "E12", date(2026, 2, 10)):
            ("negative", "food_safety", "food_safety", "fixed_months", date(2026, 2, 10), date(2027, 2, 10)),
        ("food_sampling_result", "pass", "U01", date(2025, 11, 12)):
            ("neutral", "food_safety", "food_safety", "fixed_months", date(2025, 11, 12), date(2026, 11, 12)),
    }


def test_training_lists_last_until_the_next_batch_at_most_a_year(con):
    ev = events_of(con, "education_training_institutions")
    assert {k: (v["polarity"], v["department"], v["in_force_from"], v["in_force_until"]) for k, v in ev.items()} == {
        # the next batch (2025-09-10) came 18 months later: capped at 12
        ("training_institution_blacklist", None, "U01", date(2024, 3, 15)):
            ("negative", "education", date(2024, 3, 15), date(2025, 3, 15)),
        # replaced by the next batch, whether or not it names the institution again
        ("training_institution_blacklist", None, "U01", date(2025, 9, 10)):
            ("negative", "education", date(2025, 9, 10), date(2026, 3, 15)),
        ("training_institution_whitelist", None, "E12", date(2025, 9, 10)):
            ("positive", "education", date(2025, 9, 10), date(2026, 3, 15)),
        # the latest batch: 12 months
        ("training_institution_whitelist", None, "E12", date(2026, 3, 15)):
            ("positive", "education", date(2026, 3, 15), date(2027, 3, 15)),
    }
    assert {v["domain"] for v in ev.values()} == {"off_campus_training"}


def test_blasting_licences_and_their_suspension_and_revocation(con):
    ev = events_of(con, "psb_blasting_units")
    assert {k: (v["polarity"], v["in_force_rule"], v["in_force_from"], v["in_force_until"])
            for k, v in ev.items()} == {
        ("blasting_licence", None, "E12", date(2020, 6, 1)): ("neutral", "own_window", date(2020, 6, 1),
                                                              date(2023, 6, 1)),
        # revoked, first seen in run 1 (2026-04-15): the licence ends then; the revocation counts 36 months
        ("blasting_licence", None, "E12", date(2023, 6, 1)): ("neutral", "own_window", date(2023, 6, 1),
                                                              date(2026, 4, 15)),
        ("blasting_licence_revoked", "serious", "E12", date(2026, 4, 15)): ("negative", "fixed_months",
                                                                          date(2026, 4, 15), date(2029, 4, 15)),
        # valid in run 1, suspended in run 2 (2026-05-02): suspended until the licence's last day
        ("blasting_licence", None, "U01", date(2024, 5, 1)): ("neutral", "own_window", date(2024, 5, 1),
                                                              date(2026, 5, 2)),
        ("blasting_licence_suspended", "moderate", "U01", date(2026, 5, 2)): ("negative", "own_window",
                                                                            date(2026, 5, 2), date(2027, 5, 1)),
    }
    assert {(v["domain"], v["department"]) for v in ev.values()} == {("public_safety_licensing", "public_security")}
    # E12 is listed by its registration number only: resolved through the registry
    e12 = ev["blasting_licence_revoked", "serious", "E12", date(2026, 4, 15)]
    assert (e12["subject_uscc"], e12["entity_known"]) == (None, True)


def test_contract_credit_honours_are_positive_until_valid_to(con):
    ev = events_of(con, "honours_contract_credit")
    assert {k: taxonomy_of(v) for k, v in ev.items()} == {
        ("contract_credit_honour", None, "E12", date(2024, 6, 10)):
            ("positive", "honours", "honours", "own_window", date(2024, 6, 10), date(2026, 6, 10)),
        ("contract_credit_honour", None, "U01", date(2026, 6, 10)):
            ("positive", "honours", "honours", "own_window", date(2026, 6, 10), date(2028, 6, 10)),
    }


def test_other_departments_penalties_are_penalty_events_of_their_department_not_in_fct_penalty(con):
    events = rows(con, "select * from fct_credit_event where event_type = 'penalty'")
    for event in events:  # the department is the feed contract's, whatever the taxonomy says
        contract = yaml.safe_load((CONTRACTS_DIR / f"{event['source_feed']}.yaml").read_text(encoding="utf-8"))
        assert event["department"] == contract["department"], event
    other = {(e["source_feed"], e["severity"], e["in_force_from"], e["in_force_until"]) for e in events
             if e["source_feed"] != "samr_penalties"}
    assert other == {
        ("housing_construction_penalties", "moderate", date(2025, 8, 1), date(2028, 8, 1)),   # Order 45: 3 years
        ("medical_device_penalties", "minor", date(2026, 1, 20), date(2026, 4, 20)),          # Order 107: 3 months
        ("medical_device_penalties", "warning_only", date(2026, 2, 3), date(2026, 2, 3)),     # never in force
    }
    # the same decision number as a SAMR decision, from another authority: two penalties, two events
    assert con.execute("select count(*) from fct_credit_event where event_type = 'penalty' "
                       "and description like '%青市监处罚〔2026〕6号%'").fetchone()[0] == 2
    # the gate and publication read SAMR's penalties only
    assert {r[0] for r in con.execute("select distinct _feed from fct_penalty").fetchall()} == {"samr_penalties"}


def test_department_events_are_weighted_in_the_past_index(built):
    with open_read_only(built["root"] / "build" / "warehouse.duckdb") as past:  # rebuilt as of PAST
        contributions = [(r["dimension"], r["event_type"], r["severity"], r["points"], r["department"]) for r in rows(
            past, "select * from fct_entity_credit_contribution where entity_uscc = ? order by contribution_rank",
            uscc("E12"))]
        score = past.execute("select score from fct_entity_credit_index where entity_uscc = ?",
                             [uscc("E12")]).fetchone()[0]
    # E12 was active on 2026-03-31; its wage-arrears listing had been removed (2026-03-01) and its licence was
    # revoked only later (seen 2026-04-15)
    assert contributions == [
        ("supervision_record", "penalty", "moderate", -30.0, "housing_construction"),
        ("supervision_record", "special_equipment_inspection", "fail", -15.0, "special_equipment"),
        ("supervision_record", "food_sampling_result", "fail", -15.0, "food_safety"),
        ("supervision_record", "penalty", "minor", -10.0, "medical_products"),
        ("social_evaluation", "contract_credit_honour", None, 10.0, "honours"),
        ("social_evaluation", "training_institution_whitelist", None, 5.0, "education"),
        ("basic_attributes", "entity_age_years", None, 10.0, None),
    ]
    # 90 - 0.4 x (30 + 15 + 15 + 10) + 0.3 x (10 + 5)
    assert score == pytest.approx(90.0 - 28.0 + 4.5)


# ------------------------------------------------------------------------------------------------ the index
EXPECTED_INDEX = {  # code: (score, risk_class, colour) as of 2026-06-30, methodology v1 (docs/methodology.md)
    # base: basic_attributes 80 + 10 (established 2012: 10 years or more) = 90 -> 9; operating_dynamics 100 -> 20;
    # supervision_record 100 -> 40; social_evaluation 70 -> 21; composite 90. A >= 85, B >= 75, C >= 60.
    "E01": (99.0, "A", "green"),    # social 70 + 20 (tax A) + 10 (green) = 100: + 9
    "E02": (93.0, "A", "green"),    # both minor penalties expired; social + 10 (tax B): + 3
    "E03": (45.0, "D", "red"),      # supervision 100 - 30 - 30 - 15 = 25: - 30; social - 50 (tax D): - 15
    "E04": (67.5, "C", "yellow"),   # supervision - 60 (serious): - 24; social + 5 (blue): + 1.5
    "E05": (59.0, "D", "red"),      # supervision - 100 (listing, forces D): - 40; social + 30: + 9
    "E06": (90.0, "A", "green"),    # warning never in force; court listing removed; inspection expired
    "E07": (74.0, "C", "yellow"),   # supervision - 10 (minor, until 2026-07-01) - 30 (moderate): - 16
    "E08": (90.0, "A", "green"),    # its penalty has a bad check digit and is not resolved
    "E09": (70.0, "C", "yellow"),   # supervision - 30 (regno-only moderate): - 12; operating - 40 (open listing): - 8
    "E10": (51.0, "D", "red"),      # supervision - 60: - 24; social - 50 (open court listing, forces C): - 15
    "E11": (66.0, "C", "yellow"),   # corrected penalty is minor and expired; supervision - 60 (serious): - 24
}


def test_the_index_scores_and_classes_named_entities(con):
    index = {r["entity_uscc"]: r for r in rows(con, "select * from fct_entity_credit_index")}
    assert set(index) == {uscc(code) for code in EXPECTED_INDEX}  # E12 is deregistered; U01 is unknown
    got = {code: (index[uscc(code)]["score"], index[uscc(code)]["risk_class"],
                  index[uscc(code)]["credit_code_colour"]) for code in EXPECTED_INDEX}
    assert got == EXPECTED_INDEX
    assert {r["as_of_date"] for r in index.values()} == {AS_OF}
    assert {r["methodology_version"] for r in index.values()} == {"v1"}
    assert {r["base_score"] for r in index.values()} == {89.0}  # 8 + 20 + 40 + 0 + 21 before attribute rules


def test_an_active_serious_dishonest_listing_forces_class_d_and_a_court_listing_c(con):
    e05 = rows(con, "select * from fct_entity_credit_index where entity_uscc = ?", uscc("E05"))[0]
    assert (e05["score_risk_class"], e05["forced_risk_class"], e05["risk_class"]) == ("D", "D", "D")
    listing = rows(con, "select event_id from fct_credit_event where event_type = 'serious_dishonest_listing' "
                        "and entity_uscc = ?", uscc("E05"))[0]["event_id"]
    assert (e05["top_contribution_1_event_id"], e05["top_contribution_1_points"]) == (listing, -40.0)
    assert (e05["negative_events"], e05["positive_events"]) == (1, 2)
    e10 = rows(con, "select * from fct_entity_credit_index where entity_uscc = ?", uscc("E10"))[0]
    assert (e10["score_risk_class"], e10["forced_risk_class"], e10["risk_class"]) == ("D", "C", "D")


def test_top_contributions_are_ordered_and_tie_broken(con):
    e03 = rows(con, "select * from fct_entity_credit_index where entity_uscc = ?", uscc("E03"))[0]
    events = {(r["event_type"], r["event_date"]): r["event_id"] for r in rows(
        con, "select * from fct_credit_event where entity_uscc = ?", uscc("E03"))}
    # -15 (tax D: -50 x 30%), then the two -12 penalties (-30 x 40%), the later decision first
    assert [(e03[f"top_contribution_{i}_event_id"], e03[f"top_contribution_{i}_points"]) for i in (1, 2, 3)] == [
        (events["tax_credit_grade", date(2026, 4, 20)], -15.0),
        (events["penalty", date(2025, 12, 25)], -12.0),
        (events["penalty", date(2025, 12, 24)], -12.0),
    ]
    e08 = rows(con, "select * from fct_entity_credit_index where entity_uscc = ?", uscc("E08"))[0]
    assert e08["top_contribution_1_event_id"] is None and e08["events_in_force"] == 0


def test_the_explanation_adds_up_to_the_score(con):
    e03 = uscc("E03")
    dims = {r["dimension"]: r for r in rows(con, "select * from fct_entity_credit_dimension_score "
                                                 "where entity_uscc = ?", e03)}
    assert {d: (r["weight_pct"], r["sub_score"]) for d, r in dims.items()} == {
        "basic_attributes": (10, 90.0), "operating_dynamics": (20, 100.0), "supervision_record": (40, 25.0),
        "related_parties": (0, 100.0), "social_evaluation": (30, 20.0)}
    assert sum(r["weighted_score"] for r in dims.values()) == pytest.approx(45.0)
    contributions = rows(con, "select * from fct_entity_credit_contribution where entity_uscc = ? "
                              "order by contribution_rank", e03)
    assert [(c["dimension"], c["event_type"], c["severity"], c["points"], c["composite_points"])
            for c in contributions] == [
        ("social_evaluation", "tax_credit_grade", "D", -50.0, -15.0),
        ("supervision_record", "penalty", "moderate", -30.0, -12.0),
        ("supervision_record", "penalty", "moderate", -30.0, -12.0),
        ("supervision_record", "inspection_result", "disclosure_failure", -15.0, -6.0),
        ("basic_attributes", "entity_age_years", None, 10.0, 1.0),
    ]
    assert contributions[-1]["rule_id"] == "v1_age_10_plus" and contributions[0]["department"] == "tax"


# ------------------------------------------------------------------------------------------------ as of the past
def test_a_past_date_rebuilt_after_a_later_one_gives_identical_rows(built):
    for table in REPRODUCED:
        assert built["past_tables"][table] == built["past_again_tables"][table], table
    assert built["past_again"].as_of == PAST
    # the index of PAST differs from AS_OF's (the comparison would be empty otherwise)
    assert built["past_tables"]["fct_entity_credit_index"] != built["second_tables"]["fct_entity_credit_index"]


def test_the_past_index_counts_only_what_was_known_and_in_force_then(built, con):
    with open_read_only(built["root"] / "build" / "warehouse.duckdb") as past:  # rebuilt as of PAST
        index = {r["entity_uscc"]: r for r in rows(past, "select * from fct_entity_credit_index")}
    # E12 was deregistered in run 2 (2026-05-02): active, so graded, on 2026-03-31
    assert uscc("E12") in index and index[uscc("E12")]["as_of_date"] == PAST
    # E07's penalties (2026-04-01, 2026-05-01) and E03's tax D (2026-04-20) were not known yet
    assert index[uscc("E07")]["score"] == 90.0
    assert index[uscc("E03")]["score"] == 90.0 - 24.0  # only the two moderate penalties (supervision 40)
    # E05's listing (2026-03-15) was: forced D
    assert index[uscc("E05")]["risk_class"] == "D"
    # the month-end series of the AS_OF build computed the same rows for PAST
    monthly = {r[0]: (r[1], r[2]) for r in con.execute(
        "select entity_uscc, score, risk_class from fct_entity_credit_index_monthly where month_end = ?",
        [PAST]).fetchall()}
    assert monthly == {u: (r["score"], r["risk_class"]) for u, r in index.items()}


# ------------------------------------------------------------------------------------------------ history
def test_entity_history_has_a_version_per_change_of_the_registry(con):
    history = {}
    for r in rows(con, "select * from dim_entity_history order by uscc, valid_from"):
        history.setdefault(r["uscc"], []).append(r)
    assert set(history) == {e.uscc for code, e in ENTITIES.items() if code != "R13"}
    e02 = history[uscc("E02")]
    assert [(h["valid_from"], h["valid_to"], h["legal_rep_name"], h["park"], h["is_current"]) for h in e02] == [
        (date(2012, 3, 1), date(2026, 6, 1), "王02", "青岛信用示范园", False),
        (date(2026, 6, 1), None, "李02", None, True)]
    assert [h["recorded_on"] for h in e02] == [date(2026, 4, 15), date(2026, 6, 1)]
    e12 = history[uscc("E12")]
    assert [(h["valid_from"], h["valid_to"], h["registration_status"]) for h in e12] == [
        (date(2012, 3, 1), date(2026, 5, 2), "active"), (date(2026, 5, 2), None, "deregistered")]
    # runs 1-3 said the same about E01: one version
    assert [(h["valid_from"], h["valid_to"]) for h in history[uscc("E01")]] == [(date(2012, 3, 1), None)]
    # dim_entity is the current version
    current = rows(con, "select * from dim_entity where uscc = ?", uscc("E03"))[0]
    assert current["industry_code"] == "C3011" and history[uscc("E03")][-1]["industry_code"] == "C3011"


@pytest.mark.parametrize("day, legal_rep, status", [
    (date(2026, 5, 31), "王02", "active"), (date(2026, 6, 1), "李02", "active"), (date(2011, 1, 1), None, None)])
def test_what_we_knew_about_an_entity_on_a_date_is_one_query(con, day, legal_rep, status):
    known = rows(con, "select legal_rep_name, registration_status from dim_entity_history "
                      "where uscc = ? and valid_from <= ? and (valid_to is null or ? < valid_to)",
                 uscc("E02"), day, day)
    assert known == ([{"legal_rep_name": legal_rep, "registration_status": status}] if legal_rep else [])


# ------------------------------------------------------------------------------------------------ aggregates
def test_monthly_aggregates_by_area_add_up(con):
    months = [r[0] for r in con.execute("select distinct month_end from fct_entity_credit_index_monthly "
                                        "order by 1").fetchall()]
    assert len(months) == 24 and months[-1] == date(2026, 6, 30) and months[0] == date(2024, 7, 31)
    versions = dict(con.execute("select month_end, max(methodology_version) from fct_entity_credit_index_monthly "
                                "group by 1").fetchall())
    assert versions[date(2025, 12, 31)] == "v0" and versions[date(2026, 1, 31)] == "v1"
    june = {(r["level"], r["area_code"]): r for r in rows(
        con, "select * from agg_credit_index_monthly where month_end = ?", date(2026, 6, 30))}
    assert june["city", "370200"]["entities"] == 11  # E12 deregistered on 2026-05-02
    assert (june["city", "370200"]["class_a"], june["city", "370200"]["class_c"],
            june["city", "370200"]["class_d"]) == (4, 4, 3)
    assert june["division", "370203"]["entities"] == 11
    assert june["industry_section", "F"]["entities"] == 10 and june["industry_section", "C"]["entities"] == 1
    assert june["park", "青岛信用示范园"]["entities"] == 1  # E02 left the park on 2026-06-01; E01 stays
    may = {(r["level"], r["area_code"]): r for r in rows(
        con, "select * from agg_credit_index_monthly where month_end = ?", date(2026, 5, 31))}
    assert may["park", "青岛信用示范园"]["entities"] == 2  # E02 was still in the park
    assert may["industry_section", "F"]["entities"] == 11 and ("industry_section", "C") not in may


def test_city_indicators(con):
    june = rows(con, "select * from agg_city_credit_indicators_monthly where month_end = ?", date(2026, 6, 30))[0]
    # on a list at 2026-06-30: E05 (serious dishonest), E09 (abnormal), E10 (court)
    assert (june["serious_dishonest_listed"], june["abnormal_listed"], june["dishonest_debtor_listed"],
            june["entities_on_a_list"]) == (1, 1, 1, 3)
    assert june["red_list_entities"] == 2  # tax A in force: E01, E05
    assert june["penalties_in_month"] == 1 and june["serious_penalties_in_month"] == 1  # E10, 2026-06-01
    assert june["listed_per_10k_entities"] == pytest.approx(3 * 10000 / 11)
    may = rows(con, "select * from agg_city_credit_indicators_monthly where month_end = ?", date(2026, 5, 31))[0]
    assert may["list_removals_in_month"] == 1  # the court removal seen in run 2 (2026-05-02)
    assert may["penalties_in_month"] == 1  # E07's 2026-05-01 fine


def test_readers_cannot_write(built):
    import duckdb

    with open_read_only(built["first"].warehouse) as c:
        with pytest.raises(duckdb.Error):
            c.execute("create table nope as select 1")


def test_open_read_only_says_when_there_is_no_warehouse(tmp_path):
    from creditwh.errors import CreditwhError

    with pytest.raises(CreditwhError, match="no warehouse"):
        open_read_only(Path(tmp_path) / "missing.duckdb")
