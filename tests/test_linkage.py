"""Entity linkage: records whose identifier does not resolve are matched by name and code, decisions are data,
a person's review overrides the model, and the warehouse takes a match as the record's entity."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingestion import linkage as lk
from ingestion.contracts import load_contracts
from tests.fixtures.landing import AS_OF, ENTITIES, UNKNOWN_USCC, spoil, uscc, write_landing

RULES = lk.rules_for(date(2026, 6, 30))


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    return write_landing(tmp_path_factory.mktemp("linkage") / "landing")


def decisions_by_code(frame: pl.DataFrame) -> dict[str, dict]:
    return {r["code_sent"]: r for r in frame.unique("link_key").iter_rows(named=True)}


def test_a_mistyped_check_digit_is_linked_and_an_unknown_entity_is_not(landing, tmp_path):
    run = lk.run_linkage(landing, load_contracts(), tmp_path / "linkage", on=AS_OF)
    by_code = decisions_by_code(lk.current_decisions(landing))
    e08 = by_code[spoil(uscc("E08"))]
    assert (e08["decision"], e08["candidate_uscc"], e08["decided_by"]) == ("match", uscc("E08"), "model:lk1")
    assert e08["match_probability"] >= RULES.match_probability
    unknown = by_code[UNKNOWN_USCC]
    assert unknown["decision"] == "non_match" and unknown["candidate_uscc"] is None
    # E10's bad check digit comes with a registration number the registry knows: resolved before linkage
    assert spoil(uscc("E10")) not in by_code
    assert run.run_id is not None and run.decisions["match"] == 1
    # every unresolved landed row has exactly one decision row, keyed by its lineage
    current = lk.current_decisions(landing)
    assert current.select("_file_sha256", "_source_row").is_duplicated().sum() == 0
    assert current.height == run.rows


def test_an_unchanged_landing_writes_no_new_run(landing, tmp_path):
    first = lk.run_linkage(landing, load_contracts(), tmp_path / "linkage", on=AS_OF)
    again = lk.run_linkage(landing, load_contracts(), tmp_path / "linkage", on=AS_OF)
    assert again.run_id is None and again.decisions == first.decisions


def test_a_reviewers_decision_overrides_the_model_and_is_kept_as_data(landing, tmp_path):
    linkage_dir = tmp_path / "linkage"
    lk.run_linkage(landing, load_contracts(), linkage_dir, on=AS_OF)
    key = decisions_by_code(lk.current_decisions(landing))[spoil(uscc("E08"))]["link_key"]
    lk.record_review(linkage_dir, key, "non_match", None, "wang", "a namesake in another district")
    run = lk.run_linkage(landing, load_contracts(), linkage_dir, on=AS_OF)
    e08 = decisions_by_code(lk.current_decisions(landing))[spoil(uscc("E08"))]
    assert (e08["decision"], e08["decided_by"], e08["candidate_uscc"]) == ("non_match", "reviewer:wang", None)
    assert run.run_id is not None and (linkage_dir / "runs" / f"{run.run_id}.parquet").exists()
    # the review replays: back to the model's decision only by a new review, never by rerunning the model
    lk.record_review(linkage_dir, key, "match", uscc("E08"), "li")
    lk.run_linkage(landing, load_contracts(), linkage_dir, on=AS_OF)
    e08 = decisions_by_code(lk.current_decisions(landing))[spoil(uscc("E08"))]
    assert (e08["decision"], e08["decided_by"], e08["candidate_uscc"]) == ("match", "reviewer:li", uscc("E08"))


def test_a_bad_review_line_names_the_file_and_line(tmp_path):
    (tmp_path / lk.REVIEWS_FILE).write_text('{"link_key": "k", "decision": "maybe"}\n', encoding="utf-8")
    with pytest.raises(lk.LinkageError, match=r"reviews.jsonl: line 1: decision 'maybe'"):
        lk.read_reviews(tmp_path)
    with pytest.raises(lk.LinkageError, match="needs the registry entity's USCC"):
        lk.record_review(tmp_path, "k", "match", None, "wang")


def _registry(*entities: tuple[str, str, str | None]) -> pl.DataFrame:
    return pl.DataFrame([{"uscc": u, "registration_no": None, "entity_name": n, "legal_rep_name": r}
                         for u, n, r in entities])


def _records(code: str, name: str, rep: str | None = None) -> pl.DataFrame:
    frame = pl.DataFrame([{"_feed": "samr_penalties", "_file_sha256": "f", "_source_row": 1, "code_sent": code,
                           "name_sent": name, "legal_rep_sent": rep}])
    return frame.with_columns(lk.link_key(pl.col("code_sent"), pl.col("name_sent")).alias("link_key"))


def _decide(records: pl.DataFrame, registry: pl.DataFrame) -> dict:
    model = lk.load_model(RULES.model_file)
    pairs = lk.score(records, registry, model)
    return lk.decide(records, pairs, registry, RULES, lk.read_reviews(Path("/nonexistent"))).row(0, named=True)


def test_a_near_code_under_another_name_is_not_a_match():
    real = ENTITIES["E02"].uscc
    registry = _registry((real, ENTITIES["E02"].name, None), (uscc("E03"), ENTITIES["E03"].name, None))
    decided = _decide(_records(spoil(real), "某某完全无关餐饮店"), registry)
    # with two entities the prior is generous and the code alone convinces the model; the names rule does not let it
    assert decided["match_probability"] >= RULES.match_probability
    assert decided["decision"] == "unsure" and decided["candidate_uscc"] == real


def test_two_equally_good_candidates_go_to_a_person():
    # the same name registered twice and a code one character away from both: the model cannot tell them apart
    a, b = uscc("E02")[:17] + "A", uscc("E02")[:17] + "B"
    registry = _registry((a, "青岛同名商贸有限公司", None), (b, "青岛同名商贸有限公司", None))
    decided = _decide(_records(uscc("E02")[:17] + "C", "青岛同名商贸有限公司"), registry)
    assert decided["match_probability"] >= RULES.match_probability
    assert decided["decision"] == "unsure"


def test_the_model_file_is_checked():
    model = json.loads(RULES.model_file.read_text(encoding="utf-8"))
    model["comparisons"][0]["u"] = model["comparisons"][0]["u"][:-1]
    broken = RULES.model_file.parent / "broken-model.json"
    try:
        broken.write_text(json.dumps(model), encoding="utf-8")
        with pytest.raises(lk.LinkageError, match="comparison name: m and u need one probability"):
            lk.load_model(broken)
    finally:
        broken.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------ in the warehouse
@pytest.fixture(scope="module")
def warehouse(landing, tmp_path_factory) -> Path:
    from creditwh.warehouse import build

    lk.run_linkage(landing, load_contracts(), tmp_path_factory.mktemp("linkage-dir"), on=AS_OF)
    path = tmp_path_factory.mktemp("linkage-warehouse") / "warehouse.duckdb"
    build(landing, path, as_of=AS_OF)
    return path


def test_the_warehouse_takes_a_match_as_the_records_entity(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        resolved = con.execute(
            "select entity_uscc, entity_known, entity_resolved_by from int_penalties__resolved where uscc = ?",
            [spoil(uscc("E08"))]).fetchall()
        unknown = con.execute(
            "select entity_uscc, entity_known, entity_resolved_by from int_penalties__resolved where uscc = ?",
            [UNKNOWN_USCC]).fetchall()
        events = con.execute("select count(*) from fct_credit_event where entity_uscc = ? and event_type = 'penalty'",
                             [uscc("E08")]).fetchone()[0]
    assert resolved == [(uscc("E08"), True, "linkage")]
    assert unknown == [(UNKNOWN_USCC, False, "uscc")]
    assert events == 1
