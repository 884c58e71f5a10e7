"""The quality gate on hand-made fct_penalty tables: known bad rows are exactly the held-back set.

The fixture builders here (`penalty`, `make_warehouse`) are also used by tests/test_publication.py. The table has
exactly the columns of docs/interfaces.md §3, typed as the warehouse types them: penalty_id, the canonical
columns of the samr_penalties contract (read from the contract, typed by interfaces.md §2), the resolution and
publicity columns, and the lineage columns.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from creditwh.settings import CONTRACTS_DIR, REPO_ROOT
from ingestion.contracts import load_contract
from ingestion.identifiers import is_valid_uscc
from quality import GateError, validate_penalties
from quality.rules import load_rules

AS_OF = date(2026, 11, 25)
GOOD_USCC = "91350100M000100Y43"        # GB 32100's worked example
BAD_USCC = "91350100M000100Y4Z"         # the GB text's invalid example
AUTHORITY_USCC = "11370900MB2857235Q"   # valid check digit and org code
SOURCE_UNIT_USCC = "12370900MB1234562M"

_DUCKDB_TYPE = {"string": "VARCHAR", "uscc": "VARCHAR", "registration_no": "VARCHAR", "code": "VARCHAR",
                "date": "DATE", "amount_wan": "DOUBLE", "integer": "BIGINT"}  # interfaces.md §2
_DERIVED = {"entity_uscc": "VARCHAR", "entity_known": "BOOLEAN", "uscc_check_ok": "BOOLEAN", "severity": "VARCHAR",
            "publicity_rule_id": "VARCHAR", "publicity_start": "DATE", "publicity_end": "DATE",
            "is_published_type": "BOOLEAN", "_feed": "VARCHAR", "_run_id": "VARCHAR", "_file_name": "VARCHAR",
            "_file_sha256": "VARCHAR", "_source_row": "BIGINT"}


def fct_penalty_columns() -> dict[str, str]:
    """interfaces.md §3: penalty_id, every canonical column of samr_penalties, the derived and lineage columns."""
    contract = load_contract(CONTRACTS_DIR / "samr_penalties.yaml")
    return {"penalty_id": "VARCHAR", **{c.name: _DUCKDB_TYPE[c.type] for c in contract.columns}, **_DERIVED}


def pid(name: str) -> str:
    return hashlib.md5(name.encode()).hexdigest()


def penalty(name: str, **over) -> dict:
    """A clean, publishable penalty of a legal person (a moderate fine, in its publicity period on AS_OF)."""
    row = {
        "penalty_id": pid(name), "subject_name": "泰安市示例贸易有限公司", "subject_category": "legal_person",
        "uscc": GOOD_USCC, "registration_no": None, "legal_rep_name": "张三",
        "decision_no": f"泰市监处罚〔2026〕{name}号", "violation_type": "虚假宣传", "violation_facts": "发布虚假广告",
        "legal_basis": "《中华人民共和国广告法》第五十五条", "penalty_categories": "罚款", "penalty_content": "罚款1.5万元",
        "fine_amount_wan": 1.5, "confiscated_amount_wan": None, "decision_date": date(2026, 3, 1),
        "valid_until": date(2026, 9, 1), "authority_name": "泰安市市场监督管理局", "authority_uscc": AUTHORITY_USCC,
        "source_unit_name": "泰安市市场监督管理局", "source_unit_uscc": SOURCE_UNIT_USCC,
        "entity_uscc": GOOD_USCC, "entity_known": True, "uscc_check_ok": True, "severity": "moderate",
        "publicity_rule_id": "samr_order_107_moderate", "publicity_start": date(2026, 3, 1),
        "publicity_end": date(2027, 3, 1), "is_published_type": True, "_feed": "samr_penalties",
        "_run_id": "20261124T020000-0a1b2c3d", "_file_name": "penalties_20261124.csv", "_file_sha256": "ab" * 32,
        "_source_row": int("".join(ch for ch in name if ch.isdigit()) or 0),
    }
    unknown = set(over) - set(row)
    assert not unknown, f"not a fct_penalty column: {unknown}"
    return row | over


def make_warehouse(path: Path, rows: list[dict]) -> Path:
    """A DuckDB file whose fct_penalty holds `rows`, typed like the warehouse's."""
    columns = fct_penalty_columns()
    with duckdb.connect(str(path)) as con:
        con.execute(f"create or replace table fct_penalty ({', '.join(f'{c} {t}' for c, t in columns.items())})")
        if rows:
            con.executemany(f"insert into fct_penalty values ({', '.join('?' * len(columns))})",
                            [[row[c] for c in columns] for row in rows])
    return path


def held_pairs(quality_dir: Path) -> set[tuple[str, str]]:
    held = pl.read_parquet(quality_dir / "held_back.parquet")
    return set(zip(held["penalty_id"], held["rule"]))


# ------------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture()
def batch(tmp_path):
    """101 records: 5 with critical failures (4.95%, under the 5% threshold), warnings on 3 more."""
    rows = [penalty(f"p{i}") for i in range(1, 101)]
    rows[1] |= {"uscc": BAD_USCC, "uscc_check_ok": False, "entity_uscc": None}       # p2: bad digit, unresolved
    rows[2] |= {"decision_no": None}                                                  # p3: missing CF_WSH
    rows[3] |= {"decision_date": date(2027, 1, 1)}                                    # p4: in the future
    rows[4] |= {"fine_amount_wan": -1.0}                                              # p5: negative fine
    rows.append(penalty("p6", decision_no="另一文号"))                                 # p6: duplicate id
    rows[6] |= {"entity_known": False}                                                # p7: warning only
    rows[7] |= {"legal_rep_name": None}                                               # p8: warning only
    rows[8] |= {"legal_rep_name": None, "subject_category": "sole_trader"}            # p9: fine (not a legal person)
    rows[9] |= {"fine_amount_wan": None}                                              # p10: warning: 罚款, no amount
    return make_warehouse(tmp_path / "wh.duckdb", rows), tmp_path / "quality"


# ------------------------------------------------------------------------------------------------------ tests
def test_the_fixture_has_exactly_the_interface_columns(batch):
    warehouse, _ = batch
    with duckdb.connect(str(warehouse), read_only=True) as con:
        described = {r[0]: r[1] for r in con.execute("describe fct_penalty").fetchall()}
    assert described == fct_penalty_columns()
    assert {"penalty_id", "uscc", "decision_date", "entity_uscc", "publicity_end", "_source_row"} <= set(described)


def test_planted_critical_failures_are_exactly_the_held_back_set(batch):
    warehouse, quality_dir = batch
    gate = validate_penalties(warehouse, quality_dir, run_id="t1", as_of=AS_OF)
    assert held_pairs(quality_dir) == {
        (pid("p2"), "uscc_check_digit"), (pid("p2"), "subject_identified"), (pid("p3"), "decision_no_present"),
        (pid("p4"), "decision_date_not_in_future"), (pid("p5"), "fine_not_negative"), (pid("p6"), "penalty_id_unique")}
    assert gate.records == 101 and gate.held_back_records == 5
    assert not gate.blocked and gate.decision == "passed" and gate.reason is None   # 4.95% <= 5%
    assert gate.critical_failure_rate == round(5 / 101, 6)

    held = pl.read_parquet(quality_dir / "held_back.parquet")
    assert held.columns == ["penalty_id", "rule", "severity", "message"] and set(held["severity"]) == {"critical"}
    messages = dict(zip(zip(held["penalty_id"], held["rule"]), held["message"]))
    assert "decision_date 2027-01-01" in messages[(pid("p4"), "decision_date_not_in_future")]
    assert BAD_USCC in messages[(pid("p2"), "uscc_check_digit")]
    assert "decision_no empty" in messages[(pid("p3"), "decision_no_present")]


def test_warnings_are_reported_and_never_hold_back(batch):
    warehouse, quality_dir = batch
    gate = validate_penalties(warehouse, quality_dir, run_id="t1", as_of=AS_OF)
    outcomes = {o.rule: o for o in gate.rules}
    assert (outcomes["entity_known"].unexpected, outcomes["entity_known"].success) == (1, False)
    assert outcomes["legal_rep_for_legal_persons"].unexpected == 1     # p9 is a sole trader
    assert outcomes["fine_amount_when_fined"].unexpected == 1
    assert not {pid("p7"), pid("p8"), pid("p10")} & {p for p, _ in held_pairs(quality_dir)}

    rows = [penalty(f"w{i}", entity_known=False, legal_rep_name=None, violation_facts=None) for i in range(10)]
    warehouse = make_warehouse(warehouse.with_name("warnings.duckdb"), rows)
    gate = validate_penalties(warehouse, quality_dir, run_id="t1w", as_of=AS_OF)
    assert gate.decision == "passed" and gate.held_back_records == 0 and gate.expectations_failed == 3


def test_the_gate_files_record_every_expectation(batch):
    warehouse, quality_dir = batch
    gate = validate_penalties(warehouse, quality_dir, run_id="t2", as_of=AS_OF)
    saved = json.loads((quality_dir / "gate_t2.json").read_text(encoding="utf-8"))
    assert saved == json.loads((quality_dir / "gate_latest.json").read_text(encoding="utf-8"))
    assert saved["decision"] == "passed" and saved["held_back_records"] == 5
    assert [r["rule"] for r in saved["rules"]] == [r.id for r in load_rules("penalties").rules]
    assert saved["expectations_passed"] + saved["expectations_failed"] == len(saved["rules"])
    assert saved["held_back_sha256"] == hashlib.sha256((quality_dir / "held_back.parquet").read_bytes()).hexdigest()
    assert saved["warehouse"]["bytes"] == warehouse.stat().st_size
    assert gate.data_docs and (quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()


def test_every_expectation_really_evaluated_rows(batch):
    """GE on DuckDB is known to report 'Observed: N/A' while evaluating nothing: this must never pass silently."""
    warehouse, quality_dir = batch
    rules = {r.id: r for r in load_rules("penalties").rules}
    gate = validate_penalties(warehouse, quality_dir, run_id="t3", as_of=AS_OF)
    assert {o.rule for o in gate.rules} == set(rules)
    for outcome in gate.rules:
        assert outcome.evaluated > 0, outcome
        if not rules[outcome.rule].conditional:
            assert outcome.evaluated == gate.records, outcome


def test_a_result_without_a_row_count_stops_the_gate(batch, tmp_path):
    """An expectation whose result says nothing about the rows it saw cannot pass the gate."""
    warehouse, quality_dir = batch
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    raw = (REPO_ROOT / "quality" / "rules" / "penalties.yaml").read_text(encoding="utf-8")
    (rules_dir / "penalties.yaml").write_text(raw + """  - id: fine_max
    severity: warning
    dimension: validity
    description: aggregate expectation (no element_count)
    rationale: test
    expectation: expect_column_max_to_be_between
    kwargs: {column: fine_amount_wan, max_value: 100000}
""", encoding="utf-8")
    with pytest.raises(GateError, match="fine_max evaluated None of 101"):
        validate_penalties(warehouse, quality_dir, run_id="t4", as_of=AS_OF, rules=load_rules("penalties", rules_dir))


def test_a_batch_over_the_threshold_is_blocked_with_the_reason(tmp_path):
    rows = [penalty(f"p{i}") for i in range(1, 21)]
    for r in rows[:3]:
        r |= {"uscc": BAD_USCC, "uscc_check_ok": False}
    rows[3] |= {"authority_name": None}
    warehouse = make_warehouse(tmp_path / "wh.duckdb", rows)
    gate = validate_penalties(warehouse, tmp_path / "q", run_id="t5", as_of=AS_OF)
    assert gate.blocked and gate.decision == "blocked" and gate.held_back_records == 4
    assert gate.reason == ("20.0% of 20 penalty records fail a critical rule, above the 5.0% threshold; "
                           "worst: uscc_check_digit (3), authority_present (1)")
    saved = json.loads((tmp_path / "q" / "gate_latest.json").read_text(encoding="utf-8"))
    assert saved["blocked"] and saved["reason"] == gate.reason
    assert len(pl.read_parquet(tmp_path / "q" / "held_back.parquet")) == 4


def test_an_empty_table_is_blocked(tmp_path):
    warehouse = make_warehouse(tmp_path / "wh.duckdb", [])
    gate = validate_penalties(warehouse, tmp_path / "q", run_id="t6", as_of=AS_OF)
    assert gate.blocked and "fct_penalty holds 0 records" in gate.reason


def test_the_uscc_expectation_agrees_with_is_valid_uscc(tmp_path):
    values = {
        "fullwidth": "９１３５０１００Ｍ０００１００Ｙ４３", "lower_and_space": "91350100m000100y43 ",
        "bad_check": BAD_USCC, "pilot_code": "91350100M0001TGQXM", "excluded_letter": "91350100M000100I43",
        "legacy_regno": "370900000012345", "placeholder": "00000000000000000X", "short": "9135010",
        "authority": AUTHORITY_USCC, "missing": None,
    }
    rows = [penalty(name, uscc=value) for name, value in values.items()]
    warehouse = make_warehouse(tmp_path / "wh.duckdb", rows)
    validate_penalties(warehouse, tmp_path / "q", run_id="u", as_of=AS_OF)
    flagged = {p for p, rule in held_pairs(tmp_path / "q") if rule == "uscc_check_digit"}
    expected = {pid(name) for name, value in values.items() if value is not None and not is_valid_uscc(value)}
    assert flagged == expected and len(expected) == 6


def test_conditional_rules_survive_a_missing_category(tmp_path):
    rows = [penalty(f"p{i}") for i in range(1, 30)]
    rows[0] |= {"subject_category": None, "legal_rep_name": None}
    rows[1] |= {"subject_category": "natural_person", "uscc": None, "entity_uscc": None, "legal_rep_name": None,
                "entity_known": False}
    warehouse = make_warehouse(tmp_path / "wh.duckdb", rows)
    gate = validate_penalties(warehouse, tmp_path / "q", run_id="c", as_of=AS_OF)
    assert held_pairs(tmp_path / "q") == {(pid("p1"), "subject_category_present")}  # a natural person has no USCC
    assert {o.rule: o.unexpected for o in gate.rules}["legal_rep_for_legal_persons"] == 0


def test_the_gate_is_quiet_even_with_info_logging(batch):
    """Under Airflow (structlog at INFO) GE's import alone prints hundreds of lines; the gate must stay silent."""
    warehouse, quality_dir = batch
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stdout)\n"
        "from datetime import date\n"
        "from pathlib import Path\n"
        "from quality import validate_penalties\n"
        f"validate_penalties(Path({str(warehouse)!r}), Path({str(quality_dir)!r}), 'quiet', date(2026, 11, 25))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""


def test_docs_list_every_rule_with_its_severity():
    doc = (REPO_ROOT / "docs" / "quality.md").read_text(encoding="utf-8")
    for rule in load_rules("penalties").rules:
        assert f"| `{rule.id}` | {rule.severity} |" in doc, rule.id


def test_the_gate_reads_only_the_columns_its_rules_name():
    from pathlib import Path

    from quality.rules import Rule, RuleSet

    def rule(rule_id, expectation, **kwargs):
        return Rule(rule_id, "critical", "validity", "d", "r", expectation, kwargs)

    rules = RuleSet("penalty", "fct_penalty", "penalty_id", ("decision_date",), 0.05, 1, (
        rule("fine_if_fined", "expect_column_values_to_not_be_null", column="fine_amount_wan",
             row_condition='penalty_categories.str.contains("罚款", na=False)', condition_parser="pandas"),
        rule("pair_unique", "expect_compound_columns_to_be_unique", column="decision_no",
             column_list=["decision_no", "authority_uscc"]),
        rule("past", "expect_column_values_to_be_between", column="decision_date", max_value="$as_of"),
    ), Path("rules.yaml"))
    table = ["_loaded_at", "penalty_id", "decision_no", "authority_uscc", "penalty_categories", "fine_amount_wan",
             "decision_date", "violation_facts", "severity"]
    # in table order: the id, the rules' columns, a list kwarg's columns, a row_condition's column; the word
    # "contains" or "na" in the condition is no column, and the unnamed columns are not read
    assert rules.columns_read(table) == ["penalty_id", "decision_no", "authority_uscc", "penalty_categories",
                                         "fine_amount_wan", "decision_date"]
