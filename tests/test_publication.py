"""Publication batches on a hand-made warehouse: what is exported, schema validity, hashes, atomicity."""
from __future__ import annotations

import hashlib
import json
from datetime import date

import jsonschema
import pytest
from fixtures.penalties import make_warehouse, penalty

import publication.export as export
from creditwh.settings import PUBLICATION_SCHEMAS_DIR
from publication import PublicationBlocked, publish_penalties
from quality import validate_penalties

AS_OF = date(2026, 11, 25)


def pid(name: str) -> str:
    return hashlib.md5(name.encode()).hexdigest()


@pytest.fixture()
def world(tmp_path):
    rows = [penalty(f"p{i}", penalty_id=pid(f"p{i}")) for i in range(1, 41)]
    rows[0] |= {"penalty_categories": "警告", "severity": "warning_only", "is_published_type": False}
    rows[1] |= {"publicity_end": date(2026, 6, 1), "severity": "minor"}            # publicity over
    rows[2] |= {"uscc": "91350100M000100Y4Z", "uscc_check_ok": False, "entity_uscc": None}  # held back
    rows[3] |= {"subject_category": "sole_trader", "legal_rep_name": None, "fine_amount_wan": 0.123456789,
                "violation_facts": '=HYPERLINK("http://evil","点我")'}
    warehouse = make_warehouse(tmp_path / "wh.duckdb", rows)
    quality_dir, exports = tmp_path / "quality", tmp_path / "exports"
    validate_penalties(warehouse, quality_dir, run_id="r1", as_of=AS_OF)
    return warehouse, quality_dir, exports


def read_batch(exports):
    batch = exports / (exports / "LATEST").read_text().strip()
    return batch, json.loads((batch / "manifest.json").read_text(encoding="utf-8"))


def test_only_publishable_records_are_exported_and_every_line_is_valid(world):
    warehouse, quality_dir, exports = world
    result = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert result.records == 37 and result.excluded == {
        "held_back_by_quality_gate": 1, "outside_publicity_period": 1, "warning_only_not_published": 1}
    batch, manifest = read_batch(exports)
    records = [json.loads(l) for l in (batch / "penalties.jsonl").read_text(encoding="utf-8").splitlines()]
    schema = json.loads((PUBLICATION_SCHEMAS_DIR / "administrative_penalty.schema.json").read_text(encoding="utf-8"))
    for record in records:
        jsonschema.validate(record, schema)
    ids = [r["record_id"] for r in records]
    assert ids == sorted(ids) and not {pid("p1"), pid("p2"), pid("p3")} & set(ids)
    sole = next(r for r in records if r["record_id"] == pid("p4"))
    assert sole["CF_XDR_LB"] == "个体工商户" and sole["CF_NR_FK"] == 0.123457 and sole["CF_JDRQ"] == "2026/03/01"
    assert sole["CF_GSJZQ"] == "2027/03/01" and "entity_known" not in sole and "_file_name" not in sole
    for f in manifest["files"]:
        assert hashlib.sha256((batch / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    provenance = [json.loads(l) for l in (batch / "provenance.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {p["record_id"] for p in provenance} == set(ids) and provenance[0]["_file_name"] == "p.csv"
    assert manifest["previous_batch_id"] is None and manifest["counts"]["records"] == 37


def test_the_csv_is_in_the_receivers_encoding_and_formula_cells_are_neutralised(world):
    import csv
    import io

    warehouse, quality_dir, exports = world
    publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    batch, manifest = read_batch(exports)
    entry = next(f for f in manifest["files"] if f["name"] == "penalties.csv")
    assert entry["encoding"] == "gb18030"
    rows = list(csv.DictReader(io.StringIO((batch / "penalties.csv").read_bytes().decode("gb18030"))))
    assert len(rows) == 37 and rows[0]["CF_XDR_MC"] == "泰安市示例贸易有限公司"
    sole = next(r for r in rows if r["record_id"] == pid("p4"))
    assert sole["CF_SY"] == "'=HYPERLINK(\"http://evil\",\"点我\")" and sole["CF_NR_FK"] == "0.123457"
    jsonl = [json.loads(l) for l in (batch / "penalties.jsonl").read_text(encoding="utf-8").splitlines()]
    assert next(r for r in jsonl if r["record_id"] == pid("p4"))["CF_SY"].startswith("=HYPERLINK")


def test_same_input_gives_identical_records_and_batches_chain(world):
    warehouse, quality_dir, exports = world
    first = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    second = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    a = (exports / first.batch_id / "penalties.jsonl").read_bytes()
    b = (exports / second.batch_id / "penalties.jsonl").read_bytes()
    assert a == b and first.batch_id != second.batch_id
    _, manifest = read_batch(exports)
    assert manifest["previous_batch_id"] == first.batch_id


def test_a_crash_while_writing_leaves_no_batch(world, monkeypatch):
    warehouse, quality_dir, exports = world
    publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    before = (exports / "LATEST").read_text()
    real = export._fsync_write

    def crash_on_manifest(path, data):
        if path.name == "manifest.json":
            raise OSError("disk full")
        return real(path, data)

    monkeypatch.setattr(export, "_fsync_write", crash_on_manifest)
    with pytest.raises(OSError):
        publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)
    assert (exports / "LATEST").read_text() == before
    assert len([p for p in exports.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))]) == 1
    monkeypatch.setattr(export, "_fsync_write", real)
    publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF)  # the next run cleans the half batch
    assert not list(exports.glob(".tmp-*"))


def test_a_blocked_or_missing_gate_publishes_nothing_and_records_why(tmp_path):
    rows = [penalty(f"p{i}", penalty_id=pid(f"p{i}"), uscc="91350100M000100Y4Z", uscc_check_ok=False)
            for i in range(1, 6)]
    warehouse = make_warehouse(tmp_path / "wh.duckdb", rows)
    exports = tmp_path / "exports"
    with pytest.raises(PublicationBlocked, match="no quality gate result"):
        publish_penalties(warehouse, tmp_path / "q", exports, as_of=AS_OF)
    validate_penalties(warehouse, tmp_path / "q", run_id="r1", as_of=AS_OF)
    with pytest.raises(PublicationBlocked, match="blocked this batch: 100.0% of 5"):
        publish_penalties(warehouse, tmp_path / "q", exports, as_of=AS_OF)
    assert not (exports / "LATEST").exists() and len(list((exports / "_failures").glob("*.json"))) == 2


def test_dry_run_counts_without_writing(world):
    warehouse, quality_dir, exports = world
    result = publish_penalties(warehouse, quality_dir, exports, as_of=AS_OF, dry_run=True)
    assert result.records == 37 and result.batch_id is None and not (exports / "LATEST").exists()
