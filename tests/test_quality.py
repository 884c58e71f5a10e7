"""The quality gate on a hand-made penalty table: known bad rows are exactly the held-back set."""
from __future__ import annotations

import json
from datetime import date

import duckdb
import polars as pl
import pytest

from quality import validate_penalties
from quality.rules import load_rules

GOOD_USCC = "91350100M000100Y43"
AS_OF = date(2026, 11, 25)


def penalty(pid: str, **over) -> dict:
    row = {
        "penalty_id": pid, "subject_name": "泰安市示例贸易有限公司", "subject_category": "legal_person",
        "uscc": GOOD_USCC, "registration_no": None, "legal_rep_name": "张三", "decision_no": f"泰市监处罚〔2026〕{pid}号",
        "violation_type": "虚假宣传", "violation_facts": None, "legal_basis": None, "penalty_categories": "罚款",
        "penalty_content": None, "fine_amount_wan": 1.5, "confiscated_amount_wan": None,
        "decision_date": date(2026, 3, 1), "valid_until": None, "authority_name": "泰安市市场监督管理局",
        "authority_uscc": "11370900MB2857231K", "source_unit_name": None, "source_unit_uscc": None,
        "entity_uscc": GOOD_USCC, "entity_known": True, "uscc_check_ok": True, "severity": "moderate",
        "publicity_rule_id": "samr_order_107", "publicity_start": date(2026, 3, 1), "publicity_end": date(2027, 3, 1),
        "is_published_type": True, "_feed": "samr_penalties", "_run_id": "r1", "_file_name": "p.csv",
        "_file_sha256": "ab" * 32, "_source_row": int(pid.lstrip("p") or 0),
    }
    row.update(over)
    return row


def make_warehouse(path, rows):
    frame = pl.DataFrame(rows, infer_schema_length=None)
    with duckdb.connect(str(path)) as con:
        con.register("rows", frame.to_arrow())
        con.execute("create table fct_penalty as select * from rows")
    return path


@pytest.fixture()
def batch(tmp_path):
    rows = [penalty(f"p{i}") for i in range(1, 101)]
    rows[1] |= {"uscc": "91350100M000100Y4Z", "uscc_check_ok": False, "entity_uscc": None}   # bad check digit
    rows[2] |= {"decision_no": None}                                                          # missing required
    rows[3] |= {"decision_date": date(2027, 1, 1)}                                            # future
    rows[4] |= {"fine_amount_wan": -1.0}                                                      # negative
    rows[5] |= {"entity_known": False}                                                        # warning only
    rows[6] |= {"legal_rep_name": None}                                                       # warning only
    rows[7] |= {"legal_rep_name": None, "subject_category": "sole_trader"}                    # fine: not a legal person
    rows[8] |= {"fine_amount_wan": None}                                                      # warning: 罚款 without amount
    return make_warehouse(tmp_path / "wh.duckdb", rows), tmp_path / "quality"


def test_critical_failures_are_held_back_and_warnings_are_not(batch):
    warehouse, quality_dir = batch
    gate = validate_penalties(warehouse, quality_dir, run_id="t1", as_of=AS_OF)
    held = pl.read_parquet(quality_dir / "held_back.parquet")
    assert set(zip(held["penalty_id"], held["rule"])) == {
        ("p2", "uscc_check_digit"), ("p2", "subject_identified"), ("p3", "decision_no_present"),
        ("p4", "decision_date_not_in_future"), ("p5", "fine_not_negative")}
    outcomes = {o.rule: o for o in gate.rules}
    assert outcomes["entity_known"].unexpected == 1 and not outcomes["entity_known"].success
    assert outcomes["legal_rep_for_legal_persons"].unexpected == 1  # p8 is a sole trader
    assert outcomes["fine_amount_when_fined"].unexpected == 1
    assert gate.held_back_records == 4 and not gate.blocked  # 4% <= 5%
    saved = json.loads((quality_dir / "gate_latest.json").read_text(encoding="utf-8"))
    assert saved["run_id"] == "t1" and saved["held_back_records"] == 4


def test_every_expectation_really_evaluated_rows(batch):
    """GE on DuckDB is known to report 'Observed: N/A' while evaluating nothing: this must never pass silently."""
    warehouse, quality_dir = batch
    gate = validate_penalties(warehouse, quality_dir, run_id="t2", as_of=AS_OF)
    assert len(gate.rules) == len(load_rules("penalties").rules)
    for outcome in gate.rules:
        assert outcome.evaluated > 0, outcome
    assert gate.data_docs and (quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()


def test_a_batch_over_the_threshold_is_blocked_with_the_reason(tmp_path):
    rows = [penalty(f"p{i}") for i in range(1, 21)]
    for r in rows[:3]:
        r |= {"uscc": "91350100M000100Y4Z", "uscc_check_ok": False}
    warehouse = make_warehouse(tmp_path / "wh.duckdb", rows)
    gate = validate_penalties(warehouse, tmp_path / "q", run_id="t3", as_of=AS_OF)
    assert gate.blocked and "15.0% of 20 penalty records" in gate.reason and "uscc_check_digit (3)" in gate.reason
