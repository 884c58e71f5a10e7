"""The quality gate on a hand-made penalty table: known bad rows are exactly the held-back set."""
from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from fixtures.penalties import make_warehouse, penalty

from quality import validate_penalties
from quality.rules import load_rules

AS_OF = date(2026, 11, 25)


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


def test_docs_list_every_rule_with_its_severity():
    from creditwh.settings import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "quality.md").read_text(encoding="utf-8")
    for rule in load_rules("penalties").rules:
        assert f"| `{rule.id}` | {rule.severity} |" in doc, rule.id


def test_the_uscc_expectation_normalises_like_ingestion(tmp_path):
    rows = [penalty("p1", uscc="９１３５０１００Ｍ０００１００Ｙ４３"), penalty("p2", uscc="91350100m000100y43 "),
            penalty("p3", uscc="91350100M000100Y4Z"), penalty("p4", uscc=None)]
    warehouse = make_warehouse(tmp_path / "wh.duckdb", rows)
    validate_penalties(warehouse, tmp_path / "q", run_id="n", as_of=AS_OF)
    held = pl.read_parquet(tmp_path / "q" / "held_back.parquet").filter(pl.col("rule") == "uscc_check_digit")
    assert held["penalty_id"].to_list() == ["p3"]
