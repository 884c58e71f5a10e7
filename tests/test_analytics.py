"""Analyst commands on a real published warehouse (tests/fixtures/landing.py built by dbt, then published as
`creditwh build` does): `creditwh entity <USCC>` and `creditwh index what-if`. One build: 20-40 s on 2 cores."""
from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest

from creditwh import stages
from creditwh.settings import Home
from creditwh.warehouse import open_read_only
from tests.fixtures.cli import run
from tests.fixtures.landing import AS_OF, UNKNOWN_USCC, uscc, write_landing


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("analytics") / "home").ensure()
    write_landing(home.landing)
    stages.build(home, AS_OF)
    return home


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------------ entity
def test_entity_profile_json_explains_the_class(capsys, home):
    code, out, _ = run(capsys, "entity", uscc("E05").lower(), "--json", "--home", str(home.root))
    assert code == 0
    profile = json.loads(out)
    assert profile["uscc"] == uscc("E05") and profile["identity"]["entity_name"] == "青岛金港化工有限公司"
    index = profile["index"]
    assert (index["score"], index["risk_class"], index["forced_risk_class"], index["methodology_version"]) == (
        59.0, "D", "D", "v1")
    first = profile["contributions"][0]
    assert (first["contribution_rank"], first["dimension"], first["event_type"], first["points"],
            first["composite_points"], first["forced_risk_class"]) == (
        1, "supervision_record", "serious_dishonest_listing", -100.0, -40.0, "D")
    weighted = sum(d["weighted_score"] for d in profile["dimensions"])
    assert weighted == pytest.approx(index["score"])
    # the class history: A under v0 and v1 until the listing of 2026-03-15, D from the 2026-03-31 month-end
    assert [(c["date"], c["from"], c["to"]) for c in profile["class_changes"]] == [
        ("2024-07-31", None, "A"), ("2026-03-31", "A", "D")]


def test_entity_events_carry_their_publicity_status(capsys, home):
    code, out, _ = run(capsys, "entity", uscc("E02"), "--json", "--home", str(home.root))
    assert code == 0
    statuses = {(e["event_type"], e["event_date"]): e["status"] for e in json.loads(out)["events"]}
    assert statuses["penalty", "2025-12-24"] == "publicity ended 2026-03-24"   # minor, Order 45: 3 months
    assert statuses["penalty", "2025-12-25"] == "publicity ended 2026-03-25"
    assert statuses["tax_credit_grade", "2026-04-20"] == "in force"
    code, out, _ = run(capsys, "entity", uscc("E06"), "--json", "--home", str(home.root))
    statuses = {(e["event_type"], e["event_date"]): e["status"] for e in json.loads(out)["events"]}
    assert statuses["penalty", "2026-03-01"] == "not shown (warning only)"
    assert statuses["dishonest_debtor_listing", "2024-12-01"] == "ended 2026-05-02"
    assert statuses["dishonest_debtor_removal", "2026-05-02"] == "recorded"


def test_entity_profile_as_tables(capsys, home):
    code, out, _ = run(capsys, "entity", uscc("E03"), "--home", str(home.root))
    assert code == 0
    assert "青岛恒信建材有限公司" in out and "class D" in out and "What moved the score" in out
    assert "supervision_record" in out and "tax_credit_grade" in out


def test_a_deregistered_entity_has_a_profile_without_an_index(capsys, home):
    code, out, _ = run(capsys, "entity", uscc("E12"), "--json", "--home", str(home.root))
    profile = json.loads(out)
    assert code == 0 and profile["index"] is None and profile["identity"]["registration_status"] == "deregistered"
    assert [h["registration_status"] for h in profile["history"]] == ["active", "deregistered"]


@pytest.mark.parametrize("value, message", [
    ("123", "is not a unified social credit code"),
    ("91370200MA3C0000SO", "is not a unified social credit code"),   # S and O are not in the character set
    (UNKNOWN_USCC, f"no entity with USCC {UNKNOWN_USCC}"),
    (uscc("E01")[:17] + ("1" if uscc("E01")[17] != "1" else "2"), "check character does not hold"),
])
def test_unknown_or_malformed_uscc_is_a_clear_error(capsys, home, value, message):
    code, out, err = run(capsys, "entity", value, "--home", str(home.root))
    assert code == 1 and message in err and out == ""


# ------------------------------------------------------------------------------------------------ what-if
def test_what_if_counts_class_changes_both_ways_by_industry_without_writing(capsys, home):
    before = sha256(home.warehouse)
    code, out, _ = run(capsys, "index", "what-if", "--candidate", "v0", "--json", "--home", str(home.root))
    assert code == 0
    result = json.loads(out)
    # v1 -> v0 as of 2026-06-30: only E07 (sole trader, a minor and a moderate fine) moves, from C (74) to B (65)
    assert (result["base"], result["candidate"], result["as_of"]) == ("v1", "v0", AS_OF.isoformat())
    assert (result["entities"], result["better"], result["worse"], result["unchanged"]) == (11, 1, 0, 10)
    assert result["transitions"] == [{"from": "C", "to": "B", "entities": 1}]
    assert result["by_industry"] == [{"industry_section": "F", "entities": 11, "better": 1, "worse": 0,
                                      "unchanged": 10}]
    code, out, _ = run(capsys, "index", "what-if", "--candidate", "v1", "--base", "v0", "--json",
                       "--home", str(home.root))
    reverse = json.loads(out)
    assert (reverse["better"], reverse["worse"]) == (0, 1)
    assert sha256(home.warehouse) == before  # read-only


def test_what_if_runs_the_same_arithmetic_as_the_build(home):
    from analytics.whatif import run as what_if

    with open_read_only(home.warehouse) as con:
        sql = con.execute("select sql_text from meta_credit_index_query").fetchone()[0]
        stored = con.execute(f"select entity_uscc, score, risk_class, top_contribution_1_event_id from ({sql}) "
                             "where methodology_version = 'v1' order by 1",
                             {"as_of": AS_OF.isoformat(), "base_version": "v1", "candidate_version": "v1"}
                             ).fetchall()
        built = con.execute("select entity_uscc, score, risk_class, top_contribution_1_event_id "
                            "from fct_entity_credit_index order by 1").fetchall()
    assert stored == built and len(built) == 11
    same = what_if(home.warehouse, candidate="v1")
    assert (same.entities, same.better, same.worse) == (11, 0, 0)


def test_what_if_on_another_date(capsys, home):
    code, out, _ = run(capsys, "index", "what-if", "--candidate", "v0", "--as-of", "2026-03-31", "--json",
                       "--home", str(home.root))
    result = json.loads(out)
    assert code == 0 and result["as_of"] == "2026-03-31"
    assert result["entities"] == 12  # E12 was deregistered on 2026-05-02: active then
    assert sum(result["candidate_classes"].values()) == sum(result["base_classes"].values()) == 12


def test_what_if_errors_are_clear(capsys, home, tmp_path):
    code, _, err = run(capsys, "index", "what-if", "--candidate", "v7", "--home", str(home.root))
    assert code == 1 and "unknown candidate methodology version 'v7'" in err and "v0, v1" in err
    code, _, err = run(capsys, "index", "what-if", "--home", str(home.root))
    assert code == 2 and "--candidate" in err
    code, _, err = run(capsys, "index", "what-if", "--candidate", "v0", "--as-of", "2026-02-30",
                       "--home", str(home.root))
    assert code == 2 and "not a date" in err
    code, _, err = run(capsys, "index", "what-if", "--candidate", "v0", "--home", str(tmp_path / "empty"))
    assert code == 1 and "no warehouse" in err
