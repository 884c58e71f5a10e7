"""A publication timeline, 2024-2027: one hand-made warehouse per run day, the real quality gate, the real publisher
and receipts, checking every day's batch, the manifests and the ledger.

Publicity windows are not typed in: they come from the dated rules of the seed publicity_rules.csv (the rule in force
on the decision date), with the month arithmetic of the dbt macro add_months, so the test follows the rule change of
SAMR Order 107 (2025-12-25) the way the warehouse does.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date

import duckdb
import jsonschema
import polars as pl
import pytest
from test_quality import make_warehouse, penalty, pid

from creditwh.settings import PUBLICATION_SCHEMAS_DIR, REPO_ROOT
from publication import ledger, publish_penalties
from publication.receipts import apply_receipt
from publication.status import record_history, summary
from quality import validate_penalties

SCHEMA = json.loads((PUBLICATION_SCHEMAS_DIR / "administrative_penalty.schema.json").read_text(encoding="utf-8"))
RULES = pl.read_csv(REPO_ROOT / "dbt_project" / "seeds" / "publicity_rules.csv", try_parse_dates=True)
BAD_USCC = "91350100M000100Y4Z"
CATEGORIES = {"warning_only": ("警告", None), "minor": ("通报批评", None), "moderate": ("罚款", 1.5),
              "serious": ("吊销许可证件", None)}


def publicity(decision: date, severity: str) -> dict:
    """fct_penalty's publicity columns for a decision, from the seed rule in force on the decision date."""
    rule = RULES.filter((pl.col("severity") == severity)
                        & (pl.col("effective_from").is_null() | (pl.col("effective_from") <= decision))
                        & (pl.col("effective_to").is_null() | (pl.col("effective_to") >= decision))).to_dicts()
    assert len(rule) == 1, (decision, severity)
    with duckdb.connect() as con:   # the warehouse's add_months (dbt_project/macros/portability.sql)
        end = con.execute("select cast(?::date + to_months(?::integer) as date)",
                          [decision, rule[0]["publicity_months"]]).fetchone()[0]
    return {"publicity_rule_id": rule[0]["rule_id"], "publicity_start": decision, "publicity_end": end,
            "is_published_type": rule[0]["is_published_type"]}


def case(name: str, decided: date, severity: str, **over) -> dict:
    category, fine = CATEGORIES[severity]
    return penalty(name, decision_date=decided, severity=severity, penalty_categories=category,
                   fine_amount_wan=fine, valid_until=None, decision_no=f"泰市监处罚〔{decided.year}〕{name}号",
                   penalty_content=f"{category}（{name}）", **publicity(decided, severity)) | over


FILLERS = [case(f"f{i}", date(2024, 1, 10), "moderate") for i in range(1, 23)]   # shown until 2027-01-10: the
# gate blocks a batch with more than 5% held back, so the days with one held-back record need 20+ others
NAMES = {pid(n): n for n in [f"f{i}" for i in range(1, 23)] + ["w", "rej", "gone", "upd", "hb", "min_old",
                                                                 "mod_old", "mod_new", "ser_new", "held"]}


class Office:
    """The publishing office on one exports folder; the receiver is played by the test (receipts)."""

    def __init__(self, root):
        self.root, self.exports, self.quality = root, root / "exports", root / "quality"
        self.batches: list[str] = []
        self.acknowledged: str | None = None

    def run(self, day: date, rows: list[dict]):
        warehouse = make_warehouse(self.root / "wh.duckdb", rows)
        gate = validate_penalties(warehouse, self.quality, run_id=f"d{day:%Y%m%d}", as_of=day)
        assert not gate.blocked, gate.reason
        self.gate = gate
        result = publish_penalties(warehouse, self.quality, self.exports, as_of=day)
        if result.batch_id is None:
            assert result.records == 0 and result.message.startswith("no batch written: nothing changed since batch")
            return {}
        batch = self.exports / result.batch_id
        manifest = json.loads((batch / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["previous_batch_id"] == (self.batches[-1] if self.batches else None)
        assert manifest["last_acknowledged_batch_id"] == self.acknowledged
        assert manifest["as_of"] == day.isoformat() and manifest["quality_gate"]["run_id"] == f"d{day:%Y%m%d}"
        for f in manifest["files"]:
            data = (batch / f["name"]).read_bytes()
            assert (hashlib.sha256(data).hexdigest(), len(data)) == (f["sha256"], f["bytes"])
        records = [json.loads(line) for line in (batch / "penalties.jsonl").read_text(encoding="utf-8").splitlines()]
        validator = jsonschema.Draft202012Validator(SCHEMA)
        for record in records:
            validator.validate(record)
            assert list(record) == list(SCHEMA["properties"])
        assert [r["record_id"] for r in records] == sorted(r["record_id"] for r in records)
        counted = {op: sum(r["operation"] == op for r in records) for op in ("add", "update", "withdraw")}
        assert manifest["record_types"]["administrative_penalty"]["operations"] == counted == result.operations
        assert (exports_latest := (self.exports / "LATEST").read_text(encoding="utf-8").strip()) == result.batch_id
        self.batches.append(exports_latest)
        self.last = {NAMES[r["record_id"]]: r for r in records}
        return {name: (r["operation"], r["withdraw_reason"]) for name, r in self.last.items()}

    def answer(self, batch_id: str, rejected: dict[str, str] | None = None, name: str = "receipt"):
        rejected = rejected or {}
        ids = [json.loads(line)["record_id"] for line in
               (self.exports / batch_id / "penalties.jsonl").read_text(encoding="utf-8").splitlines()]
        items = [{"record_id": i, "status": "accepted"} if NAMES[i] not in rejected else
                 {"record_id": i, "status": "rejected", "reason_code": rejected[NAMES[i]],
                  "message": "CF_XDR_MC: 与登记机关的名称不一致"} for i in ids]
        path = self.root / f"{name}-{batch_id}.json"
        path.write_text(json.dumps({"receipt_version": 1, "batch_id": batch_id, "received_at": "2026-01-01T00:00:00Z",
                                    "records": items}, ensure_ascii=False), encoding="utf-8")
        return apply_receipt(self.exports, path)


def adds(*names):
    return {n: ("add", None) for n in names}


def test_publication_timeline_2024_to_2027(tmp_path):
    walk(Office(tmp_path))


@pytest.mark.slow
def test_publication_timeline_continues(tmp_path):
    """The same walk, then one more day (one more gate run: slow)."""
    office, rows = walk(Office(tmp_path))
    assert office.run(date(2027, 2, 10), rows) == {"upd": ("withdraw", "publicity_period_ended")}
    office.answer(office.batches[-1])
    assert summary(office.exports)["receiver_shows"] == len({"rej", "hb", "mod_old", "held"})


def walk(office: Office):
    warning = case("w", date(2024, 2, 1), "warning_only")
    rej = case("rej", date(2024, 3, 1), "moderate", subject_name="泰安市示例贸易有限公司（旧名）")
    gone = case("gone", date(2024, 1, 20), "moderate")
    upd = case("upd", date(2024, 2, 10), "moderate")
    hb = case("hb", date(2024, 2, 15), "moderate")
    base = FILLERS + [warning, rej, gone, upd, hb]
    assert warning["is_published_type"] is False and gone["publicity_end"] == date(2027, 1, 20)

    # 2024-03-01: the first batch: every publishable record as add; never the warning-only one
    day1 = office.run(date(2024, 3, 1), base)
    assert day1 == adds(*(f"f{i}" for i in range(1, 23)), "rej", "gone", "upd", "hb")
    assert office.answer(office.batches[-1], {"rej": "E_FIELD_INVALID"}).waiting_for_correction == 1
    office.acknowledged = office.batches[-1]
    assert summary(office.exports)["receiver_shows"] == 25

    # 2025-12-26: a new minor penalty (decided under Order 45: 3 months); two moderate ones six days apart, on
    # either side of SAMR Order 107 (in force 2025-12-25); a corrected decision; a decision gone upstream; the
    # rejected record is not sent again as long as it is unchanged
    min_old = case("min_old", date(2025, 10, 1), "minor")
    mod_old = case("mod_old", date(2025, 12, 20), "moderate")
    mod_new = case("mod_new", date(2025, 12, 26), "moderate")
    upd2 = upd | {"penalty_content": "罚款1.5万元（复议后更正）"}
    rows = FILLERS + [warning, rej, upd2, hb, min_old, mod_old, mod_new]
    assert office.run(date(2025, 12, 26), rows) == adds("min_old", "mod_old", "mod_new") | {
        "upd": ("update", None), "gone": ("withdraw", "removed_from_warehouse")}
    assert office.last["upd"]["CF_NR"] == "罚款1.5万元（复议后更正）"
    assert office.last["gone"]["CF_WSH"] == "泰市监处罚〔2024〕gone号"     # the withdraw repeats what was shown
    assert office.last["min_old"]["CF_GSJZQ"] == "2026/01/01"
    assert (office.last["mod_old"]["CF_GSJZQ"], office.last["mod_new"]["CF_GSJZQ"]) == ("2028/12/20", "2026/12/26")
    unanswered = office.batches[-1]                # the receiver does not answer this batch before the next run

    # 2026-01-01: the minor penalty's 3 months are over; the rejected record was corrected; a new record arrives
    # with a bad check digit and is held back by the gate; the unanswered batch's records are not sent twice
    rej2 = rej | {"subject_name": "泰安市示例贸易有限公司"}
    held = case("held", date(2025, 12, 30), "serious", uscc=BAD_USCC, uscc_check_ok=False, entity_uscc=None)
    # with the rule change, mod_old's content is corrected while its add is still unanswered: an update follows
    mod_old2 = mod_old | {"penalty_content": "罚款1.5万元（更正）"}
    rows = FILLERS + [warning, rej2, upd2, hb, min_old, mod_old2, mod_new, held]
    day = office.run(date(2026, 1, 1), rows)
    assert day == {"min_old": ("withdraw", "publicity_period_ended"), "rej": ("add", None),
                   "mod_old": ("update", None)}
    assert office.gate.held_back_records == 1
    assert office.last["rej"]["CF_XDR_MC"] == "泰安市示例贸易有限公司"
    status = summary(office.exports)
    assert status["unacknowledged_batches"] == {unanswered: 5, office.batches[-1]: 3}
    assert status["last_acknowledged_batch"] == office.acknowledged
    office.answer(office.batches[-1])              # receipts arrive out of order
    late = office.answer(unanswered)
    assert (late.accepted, late.superseded) == (5, 2)    # the adds of mod_old and min_old: their update and
    for name, op, shown in (("mod_old", "update", True), ("min_old", "withdraw", False)):   # withdraw came first
        current = record_history(office.exports, pid(name))["current"]
        assert (current["last_operation"], current["status"], current["receiver_holds"]) == (op, "accepted", shown)
    office.acknowledged = office.batches[-1]
    assert summary(office.exports)["unacknowledged_batches"] == {}

    # 2026-01-02: the held-back record is corrected and published; a published one becomes held back (a
    # correction upstream gave it a negative fine) and is withdrawn
    held2 = held | {"uscc": penalty("x")["uscc"], "uscc_check_ok": True, "entity_uscc": penalty("x")["entity_uscc"]}
    hb_bad = hb | {"fine_amount_wan": -1.5}
    rows = FILLERS + [warning, rej2, upd2, hb_bad, min_old, mod_old2, mod_new, held2]
    assert office.run(date(2026, 1, 2), rows) == {"held": ("add", None),
                                                  "hb": ("withdraw", "held_back_by_quality_gate")}
    assert office.last["held"]["CF_GSJZQ"] == "2028/12/30"         # serious under Order 107: 3 years
    office.answer(office.batches[-1])
    office.acknowledged = office.batches[-1]

    # 2026-12-25: corrected again, it is published again; mod_new is in the last day of its year under Order 107
    rows = FILLERS + [warning, rej2, upd2, hb, min_old, mod_old2, mod_new, held2]
    assert office.run(date(2026, 12, 25), rows) == adds("hb")
    office.answer(office.batches[-1])
    office.acknowledged = office.batches[-1]

    # 2026-12-26: withdrawn on the right day; mod_old, decided under Order 45, stays until 2028-12-20
    assert office.run(date(2026, 12, 26), rows) == {"mod_new": ("withdraw", "publicity_period_ended")}
    office.answer(office.batches[-1])
    office.acknowledged = office.batches[-1]

    # 2027-01-10: the 2024 decisions of 2024-01-10 reach their 3 years under Order 45
    assert office.run(date(2027, 1, 10), rows) == {f"f{i}": ("withdraw", "publicity_period_ended")
                                                   for i in range(1, 23)}
    office.answer(office.batches[-1])
    office.acknowledged = office.batches[-1]

    final = summary(office.exports)
    assert final["batches"] == len(office.batches) == 7 and final["unacknowledged_batches"] == {}
    assert final["last_acknowledged_batch"] == final["last_batch"] == office.batches[-1]
    assert final["receiver_shows"] == len({"rej", "upd", "hb", "mod_old", "held"})
    assert final["by_status_and_operation"]["accepted"] == {"add": 3, "update": 2, "withdraw": 22 + 3}
    assert final["by_status"] == {"pending": 0, "accepted": 30, "rejected": 0}
    history = record_history(office.exports, pid("rej"))["events"]
    assert [(e["event"], e["operation"], e["reason_code"]) for e in history] == [
        ("sent", "add", None), ("rejected", "add", "E_FIELD_INVALID"), ("sent", "add", None), ("accepted", "add", None)]
    assert [e["batch_number"] for e in history] == [1, 1, 3, 3]
    hb_events = record_history(office.exports, pid("hb"))["events"]
    assert [(e["event"], e["operation"], e["withdraw_reason"]) for e in hb_events if e["event"] == "sent"] == [
        ("sent", "add", None), ("sent", "withdraw", "held_back_by_quality_gate"), ("sent", "add", None)]
    assert pid("w") not in ledger.load(office.exports).rows()          # the warning-only one was never sent
    return office, rows
