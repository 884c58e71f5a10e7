"""Every record type in one batch: licences, abnormal-list and serious-dishonest listings, inspection results beside
the penalties, on a hand-made warehouse (the marts of dbt_project/models/marts/publication/, typed like dbt builds
them), with the real quality gate, publisher and receipts. A timeline 2024-2025 checks each day's batch: a listing
published and withdrawn on the day of its removal, a licence withdrawn the day after it expires, an inspection
result withdrawn when its year is over, a rejected-then-corrected licence, an idempotent rerun, a crash mid-batch.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date

import duckdb
import jsonschema
import pytest
from test_publication_timeline import FILLERS
from test_quality import AUTHORITY_USCC, BAD_USCC, GOOD_USCC, make_warehouse, pid

import publication.export as export
from creditwh.settings import CONTRACTS_DIR, PUBLICATION_SCHEMAS_DIR
from ingestion.contracts import load_contract
from publication import publish
from publication.receipts import apply_receipt
from publication.record_types import RECORD_TYPES
from publication.status import record_history, summary
from quality import validate_penalties

TYPES = {"string": "VARCHAR", "uscc": "VARCHAR", "code": "VARCHAR", "date": "DATE"}
DERIVED = {"entity_uscc": "VARCHAR", "entity_known": "BOOLEAN", "uscc_check_ok": "BOOLEAN", "publicity_start": "DATE",
           "publicity_end": "DATE", "publicity_end_reason": "VARCHAR", "not_published_reason": "VARCHAR",
           "_feed": "VARCHAR", "_run_id": "VARCHAR", "_file_name": "VARCHAR", "_file_sha256": "VARCHAR",
           "_source_row": "BIGINT"}
SCHEMAS = {rt.name: json.loads((PUBLICATION_SCHEMAS_DIR / rt.schema_file).read_text(encoding="utf-8"))
           for rt in RECORD_TYPES}
OTHER_USCC = "91110000600037341L"   # a second valid code (GB 32100 check digit)
LINEAGE = {"_run_id": "r", "_file_name": "f.csv", "_file_sha256": "cd" * 32, "_source_row": 1}


def columns(rt) -> dict[str, str]:
    contract = load_contract(CONTRACTS_DIR / f"{rt.contract}.yaml")
    extra = {"registration_no": "VARCHAR"} if rt.name == "inspection_result" else {}
    return {rt.id_column: "VARCHAR", **{c.name: TYPES[c.type] for c in contract.columns}, **extra, **DERIVED}


def licence(name, valid_from, valid_to, **over):
    return {"licence_id": pid(name), "subject_name": "泰安市示例贸易有限公司", "subject_category": "legal_person",
            "uscc": GOOD_USCC, "legal_rep_name": "张三", "licence_document_name": "食品经营许可决定书",
            "decision_no": f"泰市监许〔2024〕{name}号", "licence_category": "ordinary", "certificate_name": "食品经营许可证",
            "licence_no": f"JY{name}", "licence_content": "预包装食品销售", "decision_date": valid_from,
            "valid_from": valid_from, "valid_to": valid_to, "authority_name": "泰安市市场监督管理局",
            "authority_uscc": AUTHORITY_USCC, "licence_status": "valid", "entity_uscc": GOOD_USCC,
            "entity_known": True, "uscc_check_ok": True, "publicity_start": valid_from,
            "publicity_end": None if valid_to is None else date.fromordinal(valid_to.toordinal() + 1),
            "publicity_end_reason": "licence_expired", "not_published_reason": None, "_feed": "samr_licences",
            **LINEAGE} | over


def list_event(rt_id, feed, name, action, decided, removed_on=None, **over):
    return {rt_id: pid(name), "uscc": OTHER_USCC, "entity_name": "泰安市另一贸易有限公司", "action": action,
            "reason": "通过登记的住所无法联系", "decision_date": decided, "authority_name": "泰安市市场监督管理局",
            "decision_no": f"泰市监异〔{decided.year}〕{name}号", "entity_uscc": OTHER_USCC, "entity_known": True,
            "uscc_check_ok": True, "publicity_start": decided,
            "publicity_end": removed_on if action == "listing" else decided, "publicity_end_reason": "listing_removed",
            "not_published_reason": None if action == "listing" else "removal_ends_the_listing", "_feed": feed,
            **LINEAGE} | over


def abnormal(name, action, decided, removed_on=None):
    return list_event("abnormal_list_event_id", "samr_abnormal_list", name, action, decided, removed_on)


def serious(name, action, decided, removed_on=None):
    return list_event("serious_dishonest_event_id", "samr_serious_dishonest", name, action, decided, removed_on,
                      reason="提供虚假材料骗取登记，情节严重")


def inspection(name, inspected, **over):
    end = date(inspected.year + 1, inspected.month, inspected.day)   # event_taxonomy: 12 months
    return {"inspection_result_id": pid(name), "task_id": f"SJ2024-{name}", "entity_name": "泰安市示例贸易有限公司",
            "uscc": GOOD_USCC, "registration_no": None, "inspection_date": inspected, "result": "no_issue",
            "authority_name": "泰安市市场监督管理局", "entity_uscc": GOOD_USCC, "entity_known": True,
            "uscc_check_ok": True, "publicity_start": inspected, "publicity_end": end,
            "publicity_end_reason": "publicity_period_ended", "not_published_reason": None,
            "_feed": "samr_inspection_results", **LINEAGE} | over


class Office:
    """One exports folder; each run day writes a warehouse with the penalty fillers and the given mart rows."""

    def __init__(self, root):
        self.root, self.exports, self.quality = root, root / "exports", root / "quality"
        self.batches: list[str] = []

    def warehouse(self, day: date, marts: dict[str, list[dict]]):
        warehouse = make_warehouse(self.root / "wh.duckdb", FILLERS)
        with duckdb.connect(str(warehouse)) as con:
            for rt in RECORD_TYPES[1:]:
                cols = columns(rt)
                con.execute(f"create or replace table {rt.relation} "
                            f"({', '.join(f'{c} {t}' for c, t in cols.items())})")
                rows = marts.get(rt.name, [])
                if rows:
                    con.executemany(f"insert into {rt.relation} values ({', '.join('?' * len(cols))})",
                                    [[r[c] for c in cols] for r in rows])
        gate = validate_penalties(warehouse, self.quality, run_id=f"d{day:%Y%m%d}", as_of=day)
        assert not gate.blocked, gate.reason
        return warehouse

    def run(self, day: date, marts: dict[str, list[dict]]) -> dict[str, dict[str, tuple]]:
        """record type -> {record id: (operation, withdraw_reason)} of the day's batch (penalties left out)."""
        result = publish(self.warehouse(day, marts), self.quality, self.exports, as_of=day)
        if result.batch_id is None:
            return {}
        batch = self.exports / result.batch_id
        manifest = json.loads((batch / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["previous_batch_id"] == (self.batches[-1] if self.batches else None)
        assert set(manifest["record_types"]) == {rt.name for rt in RECORD_TYPES}
        for f in manifest["files"]:
            data = (batch / f["name"]).read_bytes()
            assert (hashlib.sha256(data).hexdigest(), len(data)) == (f["sha256"], f["bytes"])
        provenance = {json.loads(line)["record_id"]: json.loads(line) for line in
                      (batch / "provenance.jsonl").read_text(encoding="utf-8").splitlines()}
        out, total = {}, 0
        for rt in RECORD_TYPES:
            entry = manifest["record_types"][rt.name]
            assert (entry["file"], entry["csv"], entry["schema"]) == (rt.jsonl, rt.csv, rt.schema_file)
            records = [json.loads(line) for line in (batch / rt.jsonl).read_text(encoding="utf-8").splitlines()]
            validator = jsonschema.Draft202012Validator(SCHEMAS[rt.name])
            for record in records:       # every exported record of every type validates against its schema
                validator.validate(record)
                assert list(record) == list(SCHEMAS[rt.name]["properties"])
                assert provenance[record["record_id"]]["record_type"] == rt.name
            counted = {op: sum(r["operation"] == op for r in records) for op in ("add", "update", "withdraw")}
            assert entry["operations"] == counted and entry["records"] == len(records)
            reasons = {}
            for r in records:
                if r["withdraw_reason"]:
                    reasons[r["withdraw_reason"]] = reasons.get(r["withdraw_reason"], 0) + 1
            assert entry["withdraw_reasons"] == reasons
            csv_rows = (batch / rt.csv).read_bytes().decode("gb18030").splitlines()
            assert len(csv_rows) == len(records) + 1 and csv_rows[0] == ",".join(SCHEMAS[rt.name]["properties"])
            total += len(records)
            if rt.name != "administrative_penalty" and records:
                out[rt.name] = {r["record_id"]: (r["operation"], r["withdraw_reason"]) for r in records}
            setattr(self, rt.file_stem, {r["record_id"]: r for r in records})
        assert total == result.records == manifest["counts"]["records"] == len(provenance)
        self.batches.append(result.batch_id)
        return out

    def answer(self, rejected: dict[str, str] | None = None):
        rejected = rejected or {}
        batch = self.batches[-1]
        ids = [json.loads(line)["record_id"] for line in
               (self.exports / batch / "provenance.jsonl").read_text(encoding="utf-8").splitlines()]
        items = [{"record_id": i, "status": "rejected", "reason_code": rejected[i], "message": "XK_NR: 内容不完整"}
                 if i in rejected else {"record_id": i, "status": "accepted"} for i in ids]
        path = self.root / f"receipt-{batch}.json"
        path.write_text(json.dumps({"receipt_version": 1, "batch_id": batch, "received_at": "2025-01-01T00:00:00Z",
                                    "records": items}, ensure_ascii=False), encoding="utf-8")
        return apply_receipt(self.exports, path)


def add(*names):
    return {pid(n): ("add", None) for n in names}


def test_every_record_type_is_published_and_withdrawn_on_the_right_day(tmp_path):
    office = Office(tmp_path)
    l_exp = licence("l_exp", date(2024, 1, 1), date(2025, 6, 30))
    l_long = licence("l_long", date(2024, 2, 1), None)
    l_invalid = licence("l_invalid", date(2024, 2, 1), None, licence_status="invalid",
                        not_published_reason="licence_status_invalid")
    l_bad = licence("l_bad", date(2024, 2, 1), None, uscc=BAD_USCC, uscc_check_ok=False)   # linked, yet never sent
    a_listed = abnormal("a_listed", "listing", date(2024, 3, 1))
    i_2024 = inspection("i_2024", date(2024, 2, 1))
    marts = {"administrative_licence": [l_exp, l_long, l_invalid, l_bad], "abnormal_list_event": [a_listed],
             "inspection_result": [i_2024]}

    # 2024-03-01: the first batch carries every type; the invalid licence and the bad check digit never go
    assert office.run(date(2024, 3, 1), marts) == {"administrative_licence": add("l_exp", "l_long"),
                                                    "abnormal_list_event": add("a_listed"),
                                                    "inspection_result": add("i_2024")}
    assert office.licences[pid("l_long")]["XK_YXQZI"] == "2099/12/31"               # 长期
    assert office.licences[pid("l_exp")]["XK_YXQZI"] == "2025/06/30"
    assert (office.licences[pid("l_exp")]["XK_XKLB"], office.licences[pid("l_exp")]["XK_ZT"]) == ("普通", "1")
    assert office.abnormal_list_events[pid("a_listed")]["类型"] == "列入"
    assert office.inspection_results[pid("i_2024")]["检查结果"] == "未发现问题"
    office.answer({pid("l_long"): "E_FIELD_INVALID"})                                # receipts work for every type

    # 2024-06-01: a serious-dishonest listing; the rejected licence waits for a correction; then a rerun: no batch
    s_listed = serious("s_listed", "listing", date(2024, 6, 1))
    marts["serious_dishonest_event"] = [s_listed]
    assert office.run(date(2024, 6, 1), marts) == {"serious_dishonest_event": add("s_listed")}
    assert office.serious_dishonest_events[pid("s_listed")]["原因"] == "提供虚假材料骗取登记，情节严重"
    office.answer()
    assert office.run(date(2024, 6, 1), marts) == {} and len(office.batches) == 2

    # 2024-07-01: the licence is corrected upstream: sent again
    marts["administrative_licence"][1] = l_long | {"licence_content": "预包装食品销售（含冷藏冷冻食品）"}
    assert office.run(date(2024, 7, 1), marts) == {"administrative_licence": add("l_long")}
    office.answer()

    # 2025-02-01: the inspection result's 12 months are over
    assert office.run(date(2025, 2, 1), marts) == {
        "inspection_result": {pid("i_2024"): ("withdraw", "publicity_period_ended")}}
    office.answer()

    # 2025-05-10: the abnormal listing is removed: on the removal's date the listing is withdrawn, and the
    # removal itself is no record of its own
    marts["abnormal_list_event"] = [abnormal("a_listed", "listing", date(2024, 3, 1), removed_on=date(2025, 5, 10)),
                                    abnormal("a_removed", "removal", date(2025, 5, 10))]
    assert office.run(date(2025, 5, 9), marts) == {}            # the day before: still shown
    assert office.run(date(2025, 5, 10), marts) == {
        "abnormal_list_event": {pid("a_listed"): ("withdraw", "listing_removed")}}
    assert office.abnormal_list_events[pid("a_listed")]["决定日期"] == "2024/03/01"   # the content that was shown
    office.answer()

    # 2025-06-02: early removal from the serious list; 2025-07-01: the licence valid to 2025-06-30 is withdrawn
    marts["serious_dishonest_event"] = [serious("s_listed", "listing", date(2024, 6, 1), removed_on=date(2025, 6, 2)),
                                        serious("s_removed", "early_removal", date(2025, 6, 2))]
    assert office.run(date(2025, 6, 30), marts) == {
        "serious_dishonest_event": {pid("s_listed"): ("withdraw", "listing_removed")}}
    office.answer()
    assert office.run(date(2025, 7, 1), marts) == {
        "administrative_licence": {pid("l_exp"): ("withdraw", "licence_expired")}}
    office.answer()

    final = summary(office.exports)
    assert final["unacknowledged_batches"] == {} and final["by_status"]["rejected"] == 0
    shown = {r["record_id"] for r in export.ledger_mod.load(office.exports).ledger.filter(
        export.pl.col("receiver_holds") & (export.pl.col("record_type") != "administrative_penalty")).to_dicts()}
    assert shown == {pid("l_long")}
    events = record_history(office.exports, pid("l_long"))["events"]
    assert [(e["event"], e["operation"], e["reason_code"]) for e in events] == [
        ("sent", "add", None), ("rejected", "add", "E_FIELD_INVALID"), ("sent", "add", None), ("accepted", "add", None)]
    rows = export.ledger_mod.load(office.exports).rows()
    assert rows[pid("a_listed")]["record_type"] == "abnormal_list_event"
    assert pid("l_invalid") not in rows and pid("l_bad") not in rows and pid("a_removed") not in rows


def test_a_crash_while_writing_another_types_file_leaves_no_batch(tmp_path, monkeypatch):
    office = Office(tmp_path)
    marts = {"administrative_licence": [licence("l1", date(2024, 1, 1), None)]}
    real = export._fsync_write

    def crash_on_licences(path, data):
        if path.name == "licences.csv":
            raise OSError("disk full")
        return real(path, data)

    monkeypatch.setattr(export, "_fsync_write", crash_on_licences)
    with pytest.raises(OSError, match="disk full"):
        office.run(date(2024, 3, 1), marts)
    assert not (office.exports / "LATEST").exists() and not (office.exports / "_ledger" / "CURRENT").exists()
    monkeypatch.setattr(export, "_fsync_write", real)
    assert office.run(date(2024, 3, 1), marts)["administrative_licence"] == add("l1")   # the stale .tmp is removed
    assert not list(office.exports.glob(".tmp-*"))


def test_each_schema_has_the_contracts_field_codes_and_its_types_withdraw_reasons():
    for rt in RECORD_TYPES:
        schema = SCHEMAS[rt.name]
        codes = [c.source for c in load_contract(CONTRACTS_DIR / f"{rt.contract}.yaml").columns]
        assert set(codes) <= set(schema["properties"]), rt.name
        assert set(schema["properties"]["withdraw_reason"]["enum"]) == set(rt.withdraw_reasons) | {None}
        if rt.name != "administrative_penalty":   # every field always present (null where optional)
            assert schema["required"] == list(schema["properties"])
