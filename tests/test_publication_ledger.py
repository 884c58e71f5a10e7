"""The publication ledger: the plan of operations, receipts, status, masking and leaks.

The planning rules are tested on hand-made ledger rows (a pure function); receipts and status on a real batch of a
hand-made warehouse that passed the real quality gate (built once for the module; each test copies the exports).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date

import duckdb
import jsonschema
import pytest
from test_quality import AS_OF, make_warehouse, penalty, pid

from creditwh.cli import main
from creditwh.settings import PUBLICATION_SCHEMAS_DIR, REPO_ROOT
from publication import ledger, publish_penalties
from publication.export import WITHDRAW_REASONS, Operation, plan_operations
from publication.masking import mask_free_text, mask_id_number, mask_record
from publication.receipts import ReceiptError, apply_receipt
from publication.status import record_history, summary
from quality import validate_penalties

SCHEMA = json.loads((PUBLICATION_SCHEMAS_DIR / "administrative_penalty.schema.json").read_text(encoding="utf-8"))
RECEIPT_SCHEMA = json.loads((PUBLICATION_SCHEMAS_DIR / "receipt.schema.json").read_text(encoding="utf-8"))
PERSON_ID = "37090219900101123X"          # an 18-character resident ID number (birth date 1990-01-01)
MASKED_ID = "370902********123X"


# ------------------------------------------------------------------------------------------- planning (pure)
def row(rid, **over):
    record = {"record_id": rid, "CF_WSH": f"文号{rid}"}
    base = {"record_id": rid, "record_type": "administrative_penalty", "content_hash": ledger.content_hash(record),
            "record_json": json.dumps(record, ensure_ascii=False), "provenance_json": "{}", "last_operation": "add",
            "withdraw_reason": None, "batch_id": "b1", "status": "accepted", "reason_code": None,
            "reason_message": None, "transient": None, "receiver_holds": True, "acknowledged_batch_id": "b1"}
    return base | over


def want(rid, wsh=None):
    return {"record_id": rid, "CF_WSH": wsh or f"文号{rid}"}, {"_source_row": 1}


def ops_of(ops: list[Operation]):
    return [(o.record_id, o.operation, o.record["withdraw_reason"]) for o in ops]


def test_the_plan_sends_only_what_changed_since_what_was_sent():
    rows = {"same": row("same"), "changed": row("changed"), "gone": row("gone"), "ended": row("ended"),
            "pending": row("pending", status="pending", receiver_holds=False, acknowledged_batch_id=None),
            "withdrawn": row("withdrawn", last_operation="withdraw", receiver_holds=False),
            "back": row("back", last_operation="withdraw", receiver_holds=False)}
    desired = {"new": want("new"), "same": want("same"), "changed": want("changed", "更正后的文号"),
               "pending": want("pending"), "back": want("back")}
    ops, unchanged, waiting = plan_operations(rows, desired, {"ended": "publicity_period_ended",
                                                              "withdrawn": "held_back_by_quality_gate"})
    assert ops_of(ops) == [("back", "add", None), ("changed", "update", None), ("ended", "withdraw",
                           "publicity_period_ended"), ("gone", "withdraw", "removed_from_warehouse"),
                           ("new", "add", None)]
    assert (unchanged, waiting) == (2, 0)           # "same", and "pending" (sent, not answered: not sent twice)
    gone = next(o for o in ops if o.record_id == "gone")
    assert gone.record == {"record_id": "gone", "CF_WSH": "文号gone", "operation": "withdraw",
                           "withdraw_reason": "removed_from_warehouse"}   # the content last sent, and why
    assert gone.content_hash == rows["gone"]["content_hash"]


def test_a_rejected_record_is_resent_when_transient_or_corrected_else_it_waits():
    rejected = dict(status="rejected", reason_code="E_FIELD_INVALID", transient=False)
    rows = {"permanent": row("permanent", **rejected, receiver_holds=False, acknowledged_batch_id=None),
            "corrected": row("corrected", **rejected, receiver_holds=False, acknowledged_batch_id=None),
            "transient": row("transient", **(rejected | {"transient": True, "reason_code": "E_TIMEOUT"}),
                             receiver_holds=False, acknowledged_batch_id=None),
            "upd_rejected": row("upd_rejected", **rejected, last_operation="update"),      # receiver keeps the old
            "upd_unknown": row("upd_unknown", **(rejected | {"reason_code": "E_RECORD_UNKNOWN"}),
                               last_operation="update", receiver_holds=False),             # add was never taken
            "wd_permanent": row("wd_permanent", **rejected, last_operation="withdraw"),
            "wd_transient": row("wd_transient", **(rejected | {"transient": True}), last_operation="withdraw"),
            "never_shown_now_gone": row("never_shown_now_gone", **rejected, receiver_holds=False)}
    desired = {"permanent": want("permanent"), "corrected": want("corrected", "更正"), "transient": want("transient"),
               "upd_rejected": want("upd_rejected"), "upd_unknown": want("upd_unknown")}
    ops, unchanged, waiting = plan_operations(rows, desired, {})
    assert ops_of(ops) == [("corrected", "add", None), ("transient", "add", None), ("upd_unknown", "add", None),
                           ("wd_transient", "withdraw", "removed_from_warehouse")]
    assert (unchanged, waiting) == (0, 3)      # permanent, upd_rejected (unchanged), wd_permanent


def test_withdraw_reasons_are_the_schemas_code_list():
    assert set(SCHEMA["properties"]["withdraw_reason"]["enum"]) == set(WITHDRAW_REASONS) | {None}


# ------------------------------------------------------------------------------------------------- masking
def test_id_numbers_keep_the_first_6_and_last_4():
    assert mask_id_number(PERSON_ID) == MASKED_ID
    assert mask_id_number("12345") == "*****"                   # too short to keep anything: all hidden
    text = f"当事人李四（身份证号：{PERSON_ID}），另案370902198512310015。"
    assert mask_free_text(text) == "当事人李四（身份证号：370902********123X），另案370902********0015。"
    for kept in ("91350100M000100Y43", "泰市监处罚〔2026〕12号", "370900000012345", "3709021990010112345",
                 "罚款1.5万元", "370902199013011234"):   # USCC, decision no, reg. no, 19 digits, text, month 13
        assert mask_free_text(f"见{kept}号") == f"见{kept}号"
    assert mask_record({"CF_FR_ZJHM": "A1234567890", "CF_SY": PERSON_ID, "CF_WSH": PERSON_ID}) == \
        {"CF_FR_ZJHM": "A12345*7890", "CF_SY": MASKED_ID, "CF_WSH": PERSON_ID}   # an ID field masked whole


# ------------------------------------------------------------------------------------ a real batch, receipts
@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    """24 penalties through the real gate; one with an ID number in its facts and legal representative; a batch
    sent into a template exports folder."""
    root = tmp_path_factory.mktemp("ledger")
    rows = [penalty(f"p{i}") for i in range(1, 25)]
    rows[0] |= {"violation_facts": f"当事人法定代表人王五（身份证号{PERSON_ID}）销售假冒商品",
                "legal_rep_name": f"王五 {PERSON_ID}"}
    rows[1] |= {"penalty_categories": "警告", "severity": "warning_only", "is_published_type": False,
                "fine_amount_wan": None, "publicity_end": date(2026, 3, 1)}
    warehouse = make_warehouse(root / "wh.duckdb", rows)
    quality_dir = root / "quality"
    assert not validate_penalties(warehouse, quality_dir, run_id="r1", as_of=AS_OF).blocked
    result = publish_penalties(warehouse, quality_dir, root / "exports", as_of=AS_OF)
    assert result.records == 23 and result.operations == {"add": 23, "update": 0, "withdraw": 0}
    return warehouse, quality_dir, root / "exports", result.batch_id


@pytest.fixture()
def world(sent, tmp_path):
    warehouse, quality_dir, template, batch_id = sent
    exports = tmp_path / "exports"
    shutil.copytree(template, exports)
    return warehouse, quality_dir, exports, batch_id


def jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def receipt(tmp_path, batch_id, records, name="receipt.json", **over):
    body = {"receipt_version": 1, "batch_id": batch_id, "received_at": "2026-11-26T09:00:00+08:00",
            "records": records} | over
    jsonschema.Draft202012Validator.check_schema(RECEIPT_SCHEMA)
    path = tmp_path / name
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


def all_ids(exports, batch_id):
    return [r["record_id"] for r in jsonl(exports / batch_id / "penalties.jsonl")]


def test_published_files_mask_id_numbers_and_carry_only_schema_fields(world):
    warehouse, _, exports, batch_id = world
    batch = exports / batch_id
    records = {r["record_id"]: r for r in jsonl(batch / "penalties.jsonl")}
    masked = records[pid("p1")]
    assert masked["CF_SY"] == f"当事人法定代表人王五（身份证号{MASKED_ID}）销售假冒商品"
    assert masked["CF_FRDB"] == f"王五 {MASKED_ID}"
    for name in ("penalties.jsonl", "manifest.json"):
        assert PERSON_ID not in (batch / name).read_text(encoding="utf-8")
    assert PERSON_ID not in (batch / "penalties.csv").read_bytes().decode("gb18030")
    rows = list(csv.DictReader(io.StringIO((batch / "penalties.csv").read_bytes().decode("gb18030"))))
    assert next(r for r in rows if r["record_id"] == pid("p1"))["CF_FRDB"] == f"王五 {MASKED_ID}"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        internal = {r[0] for r in con.execute("describe fct_penalty").fetchall()}
    for record in records.values():
        assert list(record) == list(SCHEMA["properties"])           # exactly the schema's keys, in its order
        assert not set(record) & internal                            # no warehouse column leaks under its name
    assert pid("p2") not in records                                  # warning only: never published


def test_accepted_receipt_acknowledges_the_batch(world, tmp_path):
    warehouse, quality_dir, exports, batch_id = world
    ids = all_ids(exports, batch_id)
    before = summary(exports)
    assert before["by_status"] == {"pending": 23, "accepted": 0, "rejected": 0}
    assert before["last_batch"] == batch_id and before["last_acknowledged_batch"] is None
    assert before["unacknowledged_batches"] == {batch_id: 23}

    first = apply_receipt(exports, receipt(tmp_path, batch_id, [{"record_id": i, "status": "accepted"}
                                                                 for i in ids[:10]], "part1.json"))
    assert (first.accepted, first.still_pending) == (10, 13)
    rest = apply_receipt(exports, receipt(tmp_path, batch_id, [{"record_id": i, "status": "accepted",
                                                                "operation": "add"} for i in ids[5:]], "part2.json"))
    assert (rest.accepted, rest.repeated, rest.still_pending) == (13, 5, 0)
    after = summary(exports)
    assert after["by_status_and_operation"]["accepted"] == {"add": 23, "update": 0, "withdraw": 0}
    assert after["receiver_shows"] == 23 and after["last_acknowledged_batch"] == batch_id
    assert after["unacknowledged_batches"] == {} and after["receipts_applied"] == 2
    again = apply_receipt(exports, tmp_path / "part2.json")
    assert again.already_applied and summary(exports)["receipts_applied"] == 2
    nothing = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert nothing.batch_id is None and nothing.unchanged == 23
    copies = {c.read_bytes() for c in (exports / "_receipts").iterdir()}
    assert copies == {(tmp_path / n).read_bytes() for n in ("part1.json", "part2.json")}


def test_rejected_records_are_requeued_transient_at_once_lasting_after_a_correction(world, tmp_path):
    warehouse, quality_dir, exports, batch_id = world
    ids = all_ids(exports, batch_id)
    answers = [{"record_id": i, "status": "accepted"} for i in ids[2:]]
    answers += [{"record_id": ids[0], "status": "rejected", "reason_code": "E_TIMEOUT", "message": "超时"},
                {"record_id": ids[1], "status": "rejected", "reason_code": "E_FIELD_INVALID",
                 "message": "CF_XDR_MC: 与登记名称不一致"}]
    result = apply_receipt(exports, receipt(tmp_path, batch_id, answers))
    assert (result.accepted, result.rejected, result.resend_next_run, result.waiting_for_correction) == (21, 2, 1, 1)
    assert result.reasons == {"E_TIMEOUT": 1, "E_FIELD_INVALID": 1}
    status = summary(exports)
    assert status["rejected"] == {"resend_next_run": 1, "waiting_for_correction": 1,
                                  "by_reason": {"E_FIELD_INVALID": 1, "E_TIMEOUT": 1}}

    dry = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF, dry_run=True)
    assert dry.message == "would send 1 add" and dry.batch_id is None and _batches(exports) == [batch_id]
    resend = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert resend.operations == {"add": 1, "update": 0, "withdraw": 0} and resend.waiting_for_correction == 1
    assert all_ids(exports, resend.batch_id) == [ids[0]]
    original = next(r for r in jsonl(exports / batch_id / "penalties.jsonl") if r["record_id"] == ids[0])
    assert jsonl(exports / resend.batch_id / "penalties.jsonl") == [original]     # as it was: the reason was transient
    manifest = json.loads((exports / resend.batch_id / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["previous_batch_id"] == batch_id and manifest["last_acknowledged_batch_id"] == batch_id
    assert manifest["counts"]["waiting_for_correction"] == 1

    history = record_history(exports, ids[0])
    assert [(e["batch_id"], e["event"], e["operation"], e["reason_code"]) for e in history["events"]] == [
        (batch_id, "sent", "add", None), (batch_id, "rejected", "add", "E_TIMEOUT"),
        (resend.batch_id, "sent", "add", None)]
    assert history["current"]["status"] == "pending" and history["events"][1]["receipt_file"].endswith("receipt.json")
    waiting = record_history(exports, ids[1])["current"]
    assert (waiting["status"], waiting["reason_code"], waiting["transient"]) == ("rejected", "E_FIELD_INVALID", False)


def test_a_wrong_receipt_names_the_file_and_record_and_changes_nothing(world, tmp_path):
    _, _, exports, batch_id = world
    ids = all_ids(exports, batch_id)
    current = (exports / "_ledger" / "CURRENT").read_text(encoding="utf-8")
    stranger = pid("not-sent")
    cases = [
        (receipt(tmp_path, "20990101T000000Z-abcdef", [{"record_id": ids[0], "status": "accepted"}], "a.json"),
         rf"receipt .*a\.json: batch 20990101T000000Z-abcdef is not a batch sent from .*"
         rf"\(the last one sent is {batch_id}\)"),
        (receipt(tmp_path, batch_id, [{"record_id": ids[0], "status": "accepted"},
                                      {"record_id": stranger, "status": "accepted"}], "b.json"),
         rf"receipt .*b\.json cannot be applied, nothing was changed: records\[1\] \(record_id {stranger}\): record "
         rf"{stranger} is not in batch {batch_id}"),
        (receipt(tmp_path, batch_id, [{"record_id": ids[0], "status": "ok"}], "c.json"),
         rf"receipt .*c\.json does not follow receipt\.schema\.json: records\[0\] \(record_id {ids[0]}\) field "
         r"status: 'ok' is not one of \['accepted', 'rejected'\]"),
        (receipt(tmp_path, batch_id, [{"record_id": ids[0], "status": "rejected", "reason_code": "E_NEW",
                                       "message": "?"}], "d.json"),
         rf"d\.json cannot be applied.*records\[0\] \(record_id {ids[0]}\): reason_code E_NEW is not in "
         r"publication/receiver\.yaml"),
        (receipt(tmp_path, batch_id, [{"record_id": ids[0], "status": "accepted", "operation": "withdraw"}], "e.json"),
         r"e\.json cannot be applied.*operation withdraw answered, batch .* sent add"),
        (receipt(tmp_path, batch_id, [{"record_id": ids[0], "status": "rejected"}], "f.json"),
         r"f\.json does not follow.*records\[0\].*'reason_code' is a required property"),
    ]
    for path, message in cases:
        with pytest.raises(ReceiptError, match=message):
            apply_receipt(exports, path)
    bad_json = tmp_path / "g.json"
    bad_json.write_text('{"batch_id": "x",\n "records": [}', encoding="utf-8")
    with pytest.raises(ReceiptError, match=r"receipt .*g\.json: not JSON: .* at line 2, column 14"):
        apply_receipt(exports, bad_json)
    assert (exports / "_ledger" / "CURRENT").read_text(encoding="utf-8") == current     # nothing changed

    apply_receipt(exports, receipt(tmp_path, batch_id, [{"record_id": ids[0], "status": "accepted"}], "h.json"))
    with pytest.raises(ReceiptError, match=rf"answered rejected E_TIMEOUT, but receipt .*h\.json already answered "
                                           r"accepted"):
        apply_receipt(exports, receipt(tmp_path, batch_id, [{"record_id": ids[0], "status": "rejected",
                                                             "reason_code": "E_TIMEOUT", "message": "x"}], "i.json"))


def test_cli_receive_and_status(world, tmp_path, capsys):
    _, _, exports, batch_id = world
    home = tmp_path / "home"
    home.mkdir()
    shutil.move(str(exports), str(home / "exports"))
    ids = all_ids(home / "exports", batch_id)
    path = receipt(tmp_path, batch_id, [{"record_id": ids[0], "status": "rejected", "reason_code": "E_SUBJECT_UNKNOWN",
                                         "message": "未找到该统一社会信用代码"}])
    assert main(["publication", "receive", str(path), "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert f"Receipt for batch {batch_id}: 0 accepted, 1 rejected (E_SUBJECT_UNKNOWN 1)." in out
    assert "22 records still without an answer" in out and "1 waiting for a correction" in out

    assert main(["publication", "--home", str(home), "status"]) == 0
    out = capsys.readouterr().out
    assert "23 records in the ledger; the receiver shows 0." in out
    assert "pending           22         0         0        22" in out
    assert "rejected           1         0         0         1" in out
    assert f"Batches: 1; last {batch_id}; last acknowledged none." in out

    assert main(["publication", "status", "--record", ids[0], "--home", str(home), "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [e["event"] for e in history["events"]] == ["sent", "rejected"]
    assert history["events"][1]["message"] == "未找到该统一社会信用代码"

    assert main(["publication", "status", "--record", "nope", "--home", str(home)]) == 1
    assert capsys.readouterr().err.startswith("error: record nope was never sent from")
    assert main(["publication", "receive", str(tmp_path / "missing.json"), "--home", str(home)]) == 1
    assert capsys.readouterr().err.startswith(f"error: receipt {tmp_path / 'missing.json'}: cannot be read")


def test_status_of_a_folder_that_never_sent_anything(tmp_path, capsys):
    assert summary(tmp_path)["batches"] == 0
    assert main(["publication", "status", "--home", str(tmp_path)]) == 0
    assert "Nothing sent yet" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------- killed while writing
def _ledger_files(exports):
    current = (exports / "_ledger" / "CURRENT").read_text(encoding="utf-8").strip()
    return current, {p.name: p.read_bytes() for p in (exports / "_ledger" / current).iterdir()}


def _batches(exports):
    return sorted(p.name for p in exports.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


@pytest.mark.parametrize("point", ["batch_written", "ledger_staged", "ledger_committed"])
def test_a_publisher_killed_mid_batch_leaves_the_previous_ledger_and_no_partial_batch(world, tmp_path, point):
    """A real publishing process, stopped by SIGKILL at `point` of the writer (the test hook in ledger.pause_point
    only waits there): before the commit point nothing changed; after it the next run finishes the batch."""
    warehouse, quality_dir, exports, batch_id = world
    ids = all_ids(exports, batch_id)
    apply_receipt(exports, receipt(tmp_path, batch_id, [{"record_id": ids[0], "status": "rejected",
                                                         "reason_code": "E_UNAVAILABLE", "message": "维护中"}]))
    before = _ledger_files(exports)
    marker = tmp_path / "paused"
    code = ("import sys; from datetime import date; from publication import publish_penalties; "
            "publish_penalties(sys.argv[1], sys.argv[2], sys.argv[3], date.fromisoformat(sys.argv[4]))")
    env = os.environ | {ledger.PAUSE_ENV: point, ledger.PAUSE_FILE_ENV: str(marker)}
    proc = subprocess.Popen([sys.executable, "-c", code, str(warehouse), str(quality_dir), str(exports),
                             AS_OF.isoformat()], cwd=REPO_ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, f"the publisher exited ({proc.returncode}) before reaching {point}"
            assert time.monotonic() < deadline, f"the publisher did not reach {point}"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert (exports / "LATEST").read_text(encoding="utf-8").strip() == batch_id   # receivers see nothing new
    assert _batches(exports) == [batch_id] and len(list(exports.glob(".tmp-*"))) == 1
    committed = point == "ledger_committed"
    if committed:
        current, _ = _ledger_files(exports)
        assert current != before[0] and summary(exports)["interrupted_run"].startswith(f"batch {current} is committed")
    else:
        assert _ledger_files(exports) == before       # the previous ledger, byte for byte

    after = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert not list(exports.glob(".tmp-*"))
    if committed:   # finished the killed run's batch, and had nothing left to send
        assert after.batch_id is None and after.recovered == [f"completed batch {current} (a run stopped after "
                                                              "committing it)", f"LATEST set to {current}"]
        resent = current
    else:
        assert after.operations == {"add": 1, "update": 0, "withdraw": 0} and after.recovered[0].startswith(
            "removed the uncommitted .tmp-")
        resent = after.batch_id
    assert _batches(exports) == sorted([batch_id, resent])
    assert (exports / "LATEST").read_text(encoding="utf-8").strip() == resent
    assert all_ids(exports, resent) == [ids[0]]
    manifest = json.loads((exports / resent / "manifest.json").read_text(encoding="utf-8"))
    for f in manifest["files"]:
        assert hashlib.sha256((exports / resent / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    assert summary(exports)["by_status"]["pending"] == 23 and summary(exports)["interrupted_run"] is None
    staged = sorted(p.name for p in (exports / "_ledger").iterdir() if p.is_dir())
    assert _ledger_files(exports)[0] in staged and not [s for s in staged if s.startswith(".tmp-")]
