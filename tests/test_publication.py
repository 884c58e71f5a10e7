"""Publication batches on a hand-made warehouse: what is exported, schema validity, hashes, atomicity, refusals.

The warehouse builders come from tests/test_quality.py (one fixture for the gate and the export). The warehouse and
the gate's result are built once for the module (publication only reads them); each test gets its own exports/.
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import time
from datetime import date

import jsonschema
import polars as pl
import pytest
from test_quality import AS_OF, BAD_USCC, GOOD_USCC, make_warehouse, penalty, pid

import publication.export as export
from creditwh.settings import CONTRACTS_DIR, PUBLICATION_SCHEMAS_DIR
from ingestion.contracts import load_contract
from publication import PublicationBlocked, publish_penalties
from quality import validate_penalties

SCHEMA = json.loads((PUBLICATION_SCHEMAS_DIR / "administrative_penalty.schema.json").read_text(encoding="utf-8"))
EXCLUDED = {"p1", "p2", "p3", "p5", "p6", "p8"}


def make_world(tmp_path):
    """40 penalties: 34 publishable on AS_OF, one of each reason not to publish, and some edge cases."""
    rows = [penalty(f"p{i}") for i in range(1, 41)]
    rows[0] |= {"penalty_categories": "警告", "severity": "warning_only", "is_published_type": False,
                "fine_amount_wan": None}                                                      # p1: warning only
    rows[1] |= {"publicity_end": date(2026, 6, 1), "severity": "minor"}                       # p2: publicity over
    rows[2] |= {"uscc": BAD_USCC, "uscc_check_ok": False, "entity_uscc": None}                # p3: held back
    rows[3] |= {"subject_category": "sole_trader", "legal_rep_name": None, "fine_amount_wan": 0.123456789,
                "violation_facts": '=HYPERLINK("http://evil","点我")'}                          # p4: edge values
    rows[4] |= {"decision_date": date(2026, 11, 20), "publicity_start": date(2026, 11, 27)}   # p5: not yet shown
    rows[5] |= {"publicity_end": AS_OF}                                                       # p6: ended today
    rows[6] |= {"publicity_start": AS_OF, "decision_date": date(2026, 11, 18)}                # p7: starts today
    rows[7] |= {"subject_category": "natural_person", "subject_name": "李四", "uscc": None,   # p8: no USCC
                "entity_uscc": None, "legal_rep_name": None, "entity_known": False}
    rows[8] |= {"valid_until": None}                                                          # p9: long-term
    rows[9] |= {"entity_known": False, "legal_basis": None}                                   # p10: warnings only
    rows[10] |= {"uscc": None, "registration_no": "370900000012345"}                          # p11: resolved regno
    warehouse = make_warehouse(tmp_path / "wh.duckdb", rows)
    quality_dir, exports = tmp_path / "quality", tmp_path / "exports"
    gate = validate_penalties(warehouse, quality_dir, run_id="r1", as_of=AS_OF)
    assert not gate.blocked and gate.held_back_records == 1
    return warehouse, quality_dir, exports


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    warehouse, quality_dir, _ = make_world(tmp_path_factory.mktemp("world"))
    return warehouse, quality_dir


@pytest.fixture()
def world(gated, tmp_path):
    return (*gated, tmp_path / "exports")


def latest(exports):
    batch = exports / (exports / "LATEST").read_text(encoding="utf-8").strip()
    return batch, json.loads((batch / "manifest.json").read_text(encoding="utf-8"))


def jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def batch_dirs(exports):
    return sorted(p.name for p in exports.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


# ------------------------------------------------------------------------------------------- what is published
def test_exactly_the_publishable_records_are_exported(world):
    warehouse, quality_dir, exports = world
    result = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert result.records == 34 and result.candidates == 40 and result.gate_run_id == "r1"
    assert result.excluded == {"held_back_by_quality_gate": 1, "outside_publicity_period": 3,
                               "subject_not_identified": 1, "warning_only_not_published": 1}
    batch, manifest = latest(exports)
    records = jsonl(batch / "penalties.jsonl")
    ids = [r["record_id"] for r in records]
    assert ids == sorted(ids)
    assert set(ids) == {pid(f"p{i}") for i in range(1, 41)} - {pid(p) for p in EXCLUDED}


def test_every_line_is_valid_and_maps_the_contract_fields(world):
    warehouse, quality_dir, exports = world
    publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    batch, _ = latest(exports)
    records = {r["record_id"]: r for r in jsonl(batch / "penalties.jsonl")}
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for record in records.values():
        validator.validate(record)
        assert list(record) == list(SCHEMA["properties"])       # every field, always, in the schema's order
    contract_codes = {c.source for c in load_contract(CONTRACTS_DIR / "samr_penalties.yaml").columns}
    assert set(SCHEMA["properties"]) == contract_codes | {"record_id", "operation", "withdraw_reason", "CF_GSJZQ"}

    clean = records[pid("p12")]
    assert clean | {"record_id": None} == {
        "record_id": None, "operation": "add", "withdraw_reason": None, "CF_XDR_MC": "泰安市示例贸易有限公司", "CF_XDR_LB": "法人及非法人组织",
        "CF_XDR_SHXYM": GOOD_USCC, "CF_XDR_GSZC": None, "CF_FRDB": "张三", "CF_WSH": "泰市监处罚〔2026〕p12号",
        "CF_WFXW": "虚假宣传", "CF_SY": "发布虚假广告", "CF_YJ": "《中华人民共和国广告法》第五十五条", "CF_CFLB": "罚款",
        "CF_NR": "罚款1.5万元", "CF_NR_FK": 1.5, "CF_NR_WFFF": None, "CF_JDRQ": "2026/03/01", "CF_YXQ": "2026/09/01",
        "CF_GSJZQ": "2027/03/01", "CF_CFJG": "泰安市市场监督管理局", "CF_CFJGDM": "11370900MB2857235Q",
        "CF_SJLY": "泰安市市场监督管理局", "CF_SJLYDM": "12370900MB1234562M"}
    sole = records[pid("p4")]
    assert sole["CF_XDR_LB"] == "个体工商户" and sole["CF_NR_FK"] == 0.123457 and sole["CF_FRDB"] is None
    assert records[pid("p7")]["CF_JDRQ"] == "2026/11/18"                       # publicity starts on as_of
    assert records[pid("p9")]["CF_YXQ"] == "2099/12/31"                        # no end given = long-term
    assert records[pid("p10")]["CF_YJ"] is None                                # a warning: published as null
    assert (records[pid("p11")]["CF_XDR_SHXYM"], records[pid("p11")]["CF_XDR_GSZC"]) == (GOOD_USCC, "370900000012345")


def test_manifest_hashes_counts_and_provenance_match_the_files(world):
    warehouse, quality_dir, exports = world
    result = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    batch, manifest = latest(exports)
    assert manifest["batch_id"] == result.batch_id == batch.name and manifest["previous_batch_id"] is None
    assert manifest["as_of"] == "2026-11-25" and manifest["quality_gate"]["run_id"] == "r1"
    assert manifest["record_types"]["administrative_penalty"]["operations"] == {"add": 34, "update": 0, "withdraw": 0}
    assert manifest["counts"] == {"records": 34, "candidates": 40, "excluded": result.excluded, "unchanged": 0,
                                  "waiting_for_correction": 0}
    assert manifest["rejected"] == []
    assert {f["name"] for f in manifest["files"]} == {p.name for p in batch.iterdir()} - {"manifest.json"}
    for f in manifest["files"]:
        data = (batch / f["name"]).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (f["sha256"], f["bytes"])
    assert (batch / "administrative_penalty.schema.json").read_bytes() == \
        (PUBLICATION_SCHEMAS_DIR / "administrative_penalty.schema.json").read_bytes()
    provenance = jsonl(batch / "provenance.jsonl")
    assert [p["record_id"] for p in provenance] == [r["record_id"] for r in jsonl(batch / "penalties.jsonl")]
    assert provenance[0].keys() == {"record_id", "record_type", "operation", "_feed", "_run_id", "_file_name", "_file_sha256",
                                    "_source_row"}
    by_id = {p["record_id"]: p for p in provenance}
    assert by_id[pid("p12")]["_source_row"] == 12 and by_id[pid("p12")]["_file_name"] == "penalties_20261124.csv"


def test_the_csv_is_in_the_receivers_encoding_and_formula_cells_are_neutralised(world):
    warehouse, quality_dir, exports = world
    publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    batch, manifest = latest(exports)
    entry = next(f for f in manifest["files"] if f["name"] == "penalties.csv")
    assert entry["encoding"] == "gb18030"
    rows = list(csv.DictReader(io.StringIO((batch / "penalties.csv").read_bytes().decode("gb18030"))))
    assert len(rows) == 34 and list(rows[0]) == list(SCHEMA["properties"])
    sole = next(r for r in rows if r["record_id"] == pid("p4"))
    assert sole["CF_SY"] == "'=HYPERLINK(\"http://evil\",\"点我\")" and sole["CF_NR_FK"] == "0.123457"
    record = next(r for r in jsonl(batch / "penalties.jsonl") if r["record_id"] == pid("p4"))
    assert record["CF_SY"].startswith("=HYPERLINK")  # the JSON keeps the value as sent


def test_same_input_gives_identical_files_and_a_second_run_writes_no_batch(world, tmp_path):
    warehouse, quality_dir, exports = world
    first = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    elsewhere = publish_penalties(warehouse, quality_dir, tmp_path / "other_exports", as_of=AS_OF)
    assert first.batch_id != elsewhere.batch_id
    for name in ("penalties.jsonl", "penalties.csv", "provenance.jsonl"):
        assert (exports / first.batch_id / name).read_bytes() == \
            (tmp_path / "other_exports" / elsewhere.batch_id / name).read_bytes()

    again = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert again.batch_id is None and again.records == 0 and again.unchanged == 34
    assert again.message == f"no batch written: nothing changed since batch {first.batch_id}"
    assert batch_dirs(exports) == [first.batch_id]
    assert (exports / "LATEST").read_text(encoding="utf-8") == first.batch_id + "\n"


def test_a_record_the_schema_rejects_is_listed_not_published(world, monkeypatch):
    warehouse, quality_dir, exports = world
    strict = json.loads(export.schema_text())
    strict["properties"]["CF_XDR_LB"] = {"enum": ["法人及非法人组织"]}   # as if the receiver stopped taking sole traders
    monkeypatch.setattr(export, "schema_text", lambda: json.dumps(strict, ensure_ascii=False))
    result = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert result.records == 33 and result.excluded["fails_publication_schema"] == 1
    assert result.rejected == [{"record_id": pid("p4"), "errors": [
        "CF_XDR_LB: '个体工商户' is not one of ['法人及非法人组织']"]}]
    _, manifest = latest(exports)
    assert manifest["rejected"] == result.rejected


# ----------------------------------------------------------------------------------------------------- atomicity
def test_a_crash_while_writing_leaves_no_batch(world, monkeypatch):
    warehouse, quality_dir, exports = world
    real = export._fsync_write

    def crash_on_manifest(path, data):
        if path.name == "manifest.json":
            raise OSError("disk full")
        return real(path, data)

    monkeypatch.setattr(export, "_fsync_write", crash_on_manifest)
    with pytest.raises(OSError, match="disk full"):                     # first run: nothing before it
        publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert batch_dirs(exports) == [] and not (exports / "LATEST").exists()

    assert len(list(exports.glob(".tmp-*"))) == 1 and not (exports / "_ledger" / "CURRENT").exists()

    monkeypatch.setattr(export, "_fsync_write", real)
    good = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)   # cleans the half-written batch
    assert not list(exports.glob(".tmp-*")) and batch_dirs(exports) == [good.batch_id]
    assert good.records == 34 and good.operations["add"] == 34   # nothing was taken as sent by the crashed run


def test_one_publisher_at_a_time(world):
    warehouse, quality_dir, exports = world
    exports.mkdir()
    with open(exports / ".publish.lock", "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(PublicationBlocked, match="another publication run"):
            publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert not (exports / "LATEST").exists()
    publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)


def test_dry_run_counts_and_validates_without_writing(world):
    warehouse, quality_dir, exports = world
    result = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF, dry_run=True)
    assert result.records == 34 and result.dry_run and result.batch_id is None and not exports.exists()
    assert result.operations == {"add": 34, "update": 0, "withdraw": 0} and result.message == "would send 34 add"


# ------------------------------------------------------------------------------------------------------ refusals
def test_a_blocked_or_missing_gate_publishes_nothing_and_records_why(tmp_path):
    rows = [penalty(f"p{i}", uscc=BAD_USCC, uscc_check_ok=False) for i in range(1, 6)]
    warehouse = make_warehouse(tmp_path / "wh.duckdb", rows)
    quality_dir, exports = tmp_path / "q", tmp_path / "exports"
    with pytest.raises(PublicationBlocked, match="no quality gate result"):
        publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    validate_penalties(warehouse, quality_dir, run_id="r1", as_of=AS_OF)
    with pytest.raises(PublicationBlocked, match=r"blocked this batch: 100\.0% of 5 .*uscc_check_digit \(5\)"):
        publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    with pytest.raises(PublicationBlocked):
        publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF, dry_run=True)   # refused, not recorded
    assert batch_dirs(exports) == [] and not (exports / "LATEST").exists()
    failures = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((exports / "_failures").glob("*.json"))]
    assert [f["error"][:30] for f in failures] == ["no quality gate result: run `c", "the quality gate blocked this "]
    assert all(f["as_of"] == "2026-11-25" for f in failures)


def test_a_gate_result_about_other_data_is_refused(tmp_path):
    warehouse, quality_dir, exports = make_world(tmp_path)   # this test spoils the gate's files: its own world
    with pytest.raises(PublicationBlocked, match="validated as of 2026-11-25, publication is as of 2026-11-24"):
        publish_penalties(warehouse, quality_dir, exports, as_of=date(2026, 11, 24))

    held = quality_dir / "held_back.parquet"
    original = held.read_bytes()
    pl.DataFrame(schema=dict(pl.read_parquet(held).schema)).write_parquet(held)   # someone emptied the list
    with pytest.raises(PublicationBlocked, match="held_back.parquet is missing or is not the one gate run r1"):
        publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    held.write_bytes(original)

    time.sleep(0.01)
    make_warehouse(warehouse, [penalty(f"n{i}") for i in range(5)])               # a rebuild after the gate ran
    os.utime(warehouse)
    with pytest.raises(PublicationBlocked, match="about another warehouse file"):
        publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert batch_dirs(exports) == [] and len(list((exports / "_failures").glob("*.json"))) == 3
