"""The walking skeleton end to end: `creditwh demo --scale tiny` runs the real DAG with dag.test(), then the
warehouse, the gate and the export are checked against the generator's ground truth."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import jsonschema
import polars as pl
import pytest

from creditwh.settings import PUBLICATION_SCHEMAS_DIR, Home

AS_OF = date(2026, 11, 25)
RESOLVED_MODELS = {
    "samr_penalties": "int_penalties__resolved", "samr_licences": "int_licences__resolved",
    "samr_abnormal_list": "int_abnormal_list__resolved", "samr_serious_dishonest": "int_serious_dishonest__resolved",
    "samr_inspection_results": "int_inspections__resolved", "tax_credit_grades": "int_tax_grades__resolved",
    "env_credit_grades": "int_env_grades__resolved", "court_dishonest_debtors": "int_dishonest_debtors__resolved",
    "hrss_wage_arrears_dishonest": "int_wage_arrears__resolved",
    "housing_construction_penalties": "int_housing_penalties__resolved",
    "medical_device_penalties": "int_medical_device_penalties__resolved",
    "special_equipment_inspections": "int_special_equipment_inspections__resolved",
    "food_safety_sampling": "int_food_sampling__resolved", "honours_contract_credit": "int_contract_credit__resolved",
    "education_training_institutions": "int_training_institutions__resolved",
    "psb_blasting_units": "int_blasting_licences__resolved",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("e2e") / "home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    proc = subprocess.run(
        [sys.executable, "-m", "creditwh.cli", "demo", "--scale", "tiny", "--seed", "7", "--home", str(home.root),
         "--as-of", AS_OF.isoformat(), "--json"],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return home, json.loads(proc.stdout)


def landed(home: Home, feed: str) -> pl.DataFrame:
    return pl.read_parquet(sorted(home.landing.glob(f"{feed}/run=2*/*.parquet")))


def quarantined(home: Home) -> pl.DataFrame:
    cols = ["_feed", "_file_name", "_source_row", "_reason", "_field"]
    return pl.concat([pl.read_parquet(f, columns=cols) for f in sorted(home.quarantine.glob("*/run=*/*.parquet"))])


def truth(home: Home, defect: str) -> pl.DataFrame:
    gt = pl.read_parquet(home.ground_truth)
    return gt.filter(pl.col("defect") == defect)


def test_the_airflow_run_succeeded_and_the_summary_has_every_key(demo):
    home, summary = demo
    assert summary["airflow"]["state"] == "success"
    assert set(summary["airflow"]["tasks"].values()) == {"success"}
    assert {"feeds", "entities", "grades", "expectations", "exported_records", "paths"} <= set(summary)
    assert set(summary["paths"]) >= {"warehouse", "exports", "data_docs", "airflow_home"}
    assert Path(summary["paths"]["warehouse"]).is_file()
    assert Path(summary["paths"]["data_docs"]).is_file()
    report = Path(summary["paths"]["city_report"])
    assert report.is_file() and "信用+旅游园区" in report.read_text(encoding="utf-8")


def test_every_row_is_loaded_or_quarantined(demo):
    home, summary = demo
    from ingestion.contracts import load_contracts

    assert len(summary["feeds"]) == len(load_contracts())
    for feed in summary["feeds"]:
        assert feed["rows_in"] == feed["loaded"] + feed["quarantined"] > 0, feed
    for feed in summary["feeds"]:
        assert landed(home, feed["feed"]).height == feed["loaded"]


def test_ingestion_finds_the_injected_row_defects(demo):
    home, _ = demo
    q = quarantined(home)
    for defect, reason in (("missing_required", "missing_required"), ("duplicate", "duplicate_key"),
                           ("unknown_code", "unknown_code")):
        expected = truth(home, defect).select("file_name", "source_row")
        assert expected.height > 0, defect
        hit = expected.join(q.filter(pl.col("_reason") == reason),
                            left_on=["file_name", "source_row"], right_on=["_file_name", "_source_row"])
        assert hit.height == expected.height, (defect, expected.height, hit.height)


def test_normalisation_repairs_what_can_be_repaired(demo):
    home, _ = demo
    gt = pl.read_parquet(home.ground_truth)
    checked = 0
    for feed in gt["feed"].unique().to_list():
        rows = landed(home, feed)
        for defect in ("fullwidth", "date_format", "amount_unit_yuan", "invisible_chars"):
            for t in gt.filter((pl.col("feed") == feed) & (pl.col("defect") == defect)).to_dicts():
                row = rows.filter((pl.col("_file_name") == t["file_name"]) & (pl.col("_source_row") == t["source_row"]))
                if row.height == 0:  # the same row was quarantined for another reason
                    continue
                value = row[t["field"]][0]
                if isinstance(value, float):
                    assert value == pytest.approx(float(t["expected"])), t
                else:
                    assert str(value) == t["expected"], t
                checked += 1
    assert checked > 20


def test_warehouse_resolves_identities_and_grades_entities(demo):
    home, summary = demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        entities = con.execute("select count(*) from dim_entity").fetchone()[0]
        assert entities == summary["entities"] > 1500
        graded = con.execute("select count(*) from fct_entity_credit_index").fetchone()[0]
        assert sum(summary["grades"].values()) == graded > 0
        assert set(summary["grades"]) <= {"A", "B", "C", "D"}
        resolved = {}
        for feed, model in RESOLVED_MODELS.items():
            for name, row, uscc in con.execute(f"select _file_name, _source_row, entity_uscc from {model}").fetchall():
                resolved[(feed, name, row)] = uscc
    # the feeds whose records the warehouse resolves to entities (RESOLVED_MODELS: every feed but the registry)
    legacy = truth(home, "legacy_regno").filter(pl.col("feed").is_in(list(RESOLVED_MODELS)))
    assert legacy["feed"].n_unique() >= 3
    checked = 0
    for t in legacy.to_dicts():  # a registration number in the USCC field resolves through the registry, any feed
        key = (t["feed"], t["file_name"], t["source_row"])
        if key in resolved:
            assert resolved[key] == t["expected"], t
            checked += 1
    assert checked >= legacy.height * 0.9
    # a USCC typed with a wrong check character is linked to its entity by name and code (docs/linkage.md)
    mistyped = truth(home, "bad_check_digit").filter(pl.col("feed").is_in(list(RESOLVED_MODELS)))
    linked = [resolved.get((t["feed"], t["file_name"], t["source_row"])) == t["expected"] for t in mistyped.to_dicts()
              if (t["feed"], t["file_name"], t["source_row"]) in resolved]
    assert len(linked) >= 10 and sum(linked) >= 0.9 * len(linked)


def test_the_gate_holds_back_bad_check_digits_and_the_export_is_valid(demo):
    home, summary = demo
    assert summary["expectations"]["passed"] > 0
    held = pl.read_parquet(home.quality / "held_back.parquet")
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        bad = con.execute("select penalty_id from fct_penalty where uscc_check_ok = false").fetchall()
    assert bad, "the tiny city has bad check digits in its penalties"
    assert {b[0] for b in bad} <= set(held["penalty_id"].to_list())

    batch = home.exports / (home.exports / "LATEST").read_text().strip()
    manifest = json.loads((batch / "manifest.json").read_text(encoding="utf-8"))
    lines = (batch / "penalties.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines
    every_type = 0
    for entry in manifest["record_types"].values():   # every record of every type validates against its schema
        other = json.loads((batch / entry["schema"]).read_text(encoding="utf-8"))
        records = [json.loads(x) for x in (batch / entry["file"]).read_text(encoding="utf-8").splitlines()]
        for record in records:
            jsonschema.validate(record, other)
        every_type += len(records)
    assert every_type == summary["exported_records"]
    assert manifest["record_types"]["administrative_licence"]["records"] > 0
    files = manifest["files"] if isinstance(manifest["files"], list) else [
        {"name": k, **v} for k, v in manifest["files"].items()]
    for f in files:
        assert hashlib.sha256((batch / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    schema = json.loads((PUBLICATION_SCHEMAS_DIR / "administrative_penalty.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    exported_ids = set()
    for line in lines:
        record = json.loads(line)
        validator.validate(record)
        exported_ids.add(record["record_id"])
    assert not exported_ids & set(held["penalty_id"].to_list())


def test_the_lineage_site_documents_every_model_with_its_columns_as_built(demo):
    home, _ = demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:  # open beside dbt's read-only connection
        built = {(t, c) for t, c in con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'main'").fetchall()}
        proc = subprocess.run([sys.executable, "-m", "creditwh.cli", "docs", "--home", str(home.root),
                               "--as-of", AS_OF.isoformat(), "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    site = json.loads(proc.stdout)
    page = Path(site["page"])
    assert page.is_file() and "fct_credit_event" in page.read_text(encoding="utf-8")
    target = home.root / "docs" / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))["nodes"]
    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert site["models"] == len(models) > 50
    for uid, node in models.items():
        assert uid in catalog, f"{node['name']} is not in the catalog"
        documented = {(node["alias"], c) for c in catalog[uid]["columns"]}
        assert documented == {(t, c) for t, c in built if t == node["alias"]}, node["name"]
