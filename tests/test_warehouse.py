"""The warehouse built by dbt on a hand-made landing (tests/fixtures/landing.py): concrete answers, not smoke.

One module fixture builds the warehouse twice with the same landing and as-of date — the second time over the
same file, as the daily build does — and keeps what the first build produced for the reproducibility test. With
one failing build of a single model the module takes 45-60 s on a 2-core machine.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from creditwh.settings import CONTRACTS_DIR
from creditwh.warehouse import BuildResult, WarehouseBuildError, build, open_read_only
from tests.fixtures.landing import AS_OF, ENTITIES, RUN_2, UNKNOWN_USCC, uscc, write_landing

LINEAGE = ["_issues", "_feed", "_run_id", "_file_name", "_file_sha256", "_source_row", "_loaded_at"]


REPRODUCED = {"fct_entity_credit_index": "entity_uscc", "fct_credit_event": "event_id", "fct_penalty": "penalty_id",
              "dim_entity": "uscc"}


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    with open_read_only(warehouse) as c:
        return {t: c.execute(f"select * from {t} order by {key}").fetchall() for t, key in REPRODUCED.items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("warehouse")
    landing = write_landing(root / "landing")
    warehouse = root / "build" / "warehouse.duckdb"
    first = build(landing, warehouse, as_of=AS_OF)
    first_tables = snapshot(warehouse)
    second = build(landing, warehouse, as_of=AS_OF)  # the same file rebuilt (dbt reuses its parse: faster)
    return {"root": root, "landing": landing, "first": first, "first_tables": first_tables, "second": second}


@pytest.fixture(scope="module")
def con(built):
    with open_read_only(built["second"].warehouse) as connection:
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
    assert totals["models"] == 25 and totals["seeds"] == 6 and totals["unit_tests"] == 2
    assert totals["data_tests"] > 100
    assert totals["nodes"] == totals["passed"]
    names = {n.name for n in result.nodes}
    assert {"dim_entity", "fct_credit_event", "fct_penalty", "fct_entity_credit_index", "publicity_rules",
            "fct_entity_credit_index::credit_index_arithmetic_v0",
            "int_penalties__classified::penalty_severity_and_publicity_on_each_side_of_2025_12_25"} <= names
    # dbt's target and logs live beside the warehouse file, not in the repository
    assert result.target_dir.parent == result.warehouse.parent / "dbt"
    assert (result.target_dir / "run_results.json").is_file() and (result.log_dir / "dbt.log").is_file()
    assert result.to_json()["totals"] == totals and result.to_json()["as_of"] == AS_OF.isoformat()


def test_a_failed_build_names_the_node_and_what_dbt_said(tmp_path):
    empty = tmp_path / "landing"
    empty.mkdir()
    with pytest.raises(WarehouseBuildError) as info:
        build(empty, tmp_path / "wh" / "warehouse.duckdb", as_of=AS_OF, select="stg_samr__registry")
    message = str(info.value)
    assert "model stg_samr__registry [error]" in message and "1 of " in message
    assert "samr_entity_registry" in message  # dbt's own error line: no files under that feed's glob
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
    assert dim[uscc("E12")]["_run_id"] == RUN_2
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
    assert counts == {"penalty": 14, "licence": 1, "abnormal_list_listing": 2, "abnormal_list_removal": 1,
                      "serious_dishonest_listing": 2, "serious_dishonest_early_removal": 1,
                      "dishonest_debtor_listing": 2, "dishonest_debtor_removal": 1, "tax_credit_grade": 6,
                      "environmental_credit_grade": 3, "inspection_result": 4}
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


# ------------------------------------------------------------------------------------------------ the index
EXPECTED_INDEX = {  # code: (score, risk_class, colour) as of 2026-06-30, methodology v0 (base 85)
    "E01": (100.0, "A", "green"),   # 85 + 10 (tax A) + 5 (green) + 2 (inspection) = 102, clamped
    "E02": (92.0, "A", "green"),    # both minor penalties expired; + 5 (tax B) + 2
    "E03": (25.0, "D", "red"),      # - 15 - 15 (moderate) - 25 (tax D) - 5 (disclosure failure)
    "E04": (57.0, "C", "yellow"),   # - 30 (serious) + 2 (blue); its listings were removed
    "E05": (60.0, "D", "red"),      # - 40 + 10 + 5 = 60 is band C, the serious-dishonest listing forces D
    "E06": (85.0, "A", "green"),    # warning never in force; court listing removed; inspection expired
    "E07": (65.0, "B", "blue"),     # - 5 (minor, in force until 2026-07-01) - 15 (moderate)
    "E08": (85.0, "A", "green"),    # its penalty has a bad check digit and is not resolved
    "E09": (50.0, "C", "yellow"),   # - 15 (regno-only penalty) - 20 (open abnormal listing)
    "E10": (25.0, "D", "red"),      # - 30 (serious, bad check digit + regno) - 30 (court listing)
    "E11": (55.0, "C", "yellow"),   # corrected penalty is minor and expired; - 30 (serious)
}


def test_the_index_scores_and_classes_named_entities(con):
    index = {r["entity_uscc"]: r for r in rows(con, "select * from fct_entity_credit_index")}
    assert set(index) == {uscc(code) for code in EXPECTED_INDEX}  # E12 is deregistered; U01 is unknown
    got = {code: (index[uscc(code)]["score"], index[uscc(code)]["risk_class"],
                  index[uscc(code)]["credit_code_colour"]) for code in EXPECTED_INDEX}
    assert got == EXPECTED_INDEX
    assert {r["as_of_date"] for r in index.values()} == {AS_OF}
    assert {r["methodology_version"] for r in index.values()} == {"v0"}


def test_an_active_serious_dishonest_listing_forces_class_d(con):
    e05 = rows(con, "select * from fct_entity_credit_index where entity_uscc = ?", uscc("E05"))[0]
    assert (e05["score_risk_class"], e05["forced_risk_class"], e05["risk_class"]) == ("C", "D", "D")
    listing = rows(con, "select event_id from fct_credit_event where event_type = 'serious_dishonest_listing' "
                        "and entity_uscc = ?", uscc("E05"))[0]["event_id"]
    assert (e05["top_contribution_1_event_id"], e05["top_contribution_1_points"]) == (listing, -40.0)
    assert (e05["negative_events"], e05["positive_events"]) == (1, 2)


def test_top_contributions_are_ordered_and_tie_broken(con):
    e03 = rows(con, "select * from fct_entity_credit_index where entity_uscc = ?", uscc("E03"))[0]
    events = {(r["event_type"], r["event_date"]): r["event_id"] for r in rows(
        con, "select * from fct_credit_event where entity_uscc = ?", uscc("E03"))}
    # -25 (tax D), then the two -15 penalties, the later decision first
    assert [(e03[f"top_contribution_{i}_event_id"], e03[f"top_contribution_{i}_points"]) for i in (1, 2, 3)] == [
        (events["tax_credit_grade", date(2026, 4, 20)], -25.0),
        (events["penalty", date(2025, 12, 25)], -15.0),
        (events["penalty", date(2025, 12, 24)], -15.0),
    ]
    e08 = rows(con, "select * from fct_entity_credit_index where entity_uscc = ?", uscc("E08"))[0]
    assert e08["top_contribution_1_event_id"] is None and e08["events_in_force"] == 0


def test_the_same_as_of_gives_identical_index_rows(built):
    again = snapshot(built["second"].warehouse)
    for table in REPRODUCED:
        assert built["first_tables"][table] == again[table], table
    assert len(again["fct_entity_credit_index"]) == len(EXPECTED_INDEX)


def test_readers_cannot_write(built):
    import duckdb

    with open_read_only(built["first"].warehouse) as c:
        with pytest.raises(duckdb.Error):
            c.execute("create table nope as select 1")


def test_open_read_only_says_when_there_is_no_warehouse(tmp_path):
    from creditwh.errors import CreditwhError

    with pytest.raises(CreditwhError, match="no warehouse"):
        open_read_only(Path(tmp_path) / "missing.duckdb")
