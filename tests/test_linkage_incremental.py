"""Incremental entity linkage: a run that finds only new landed files reads those files and scores only their new
or changed link keys, and its decisions equal a full run's; a changed registry or a new review forces a full run.

Each test lands run 1, links it (a full run: there is no state yet), lands run 2 and links again. Run 1 sends
  E08 with a mistyped check digit              -> key K08, a match
  E03 with a mistyped check digit, no legal rep -> key K03, a match
  U01, a valid USCC the registry does not know -> key KU1, no candidate: non_match
  E02, clean                                   -> resolves, not linkage's business
plus a schema-only file of a feed that has sent nothing (as ingestion writes one). Run 2 sends
  E08 again, unchanged                         -> K08 is decided already: reused
  E03 again, now with its legal representative -> K03's smallest non-empty legal rep changes: scored again, and its
                                                  run-1 row takes the new decision too
  E04 with a mistyped check digit              -> new key, a match
  another unknown USCC                         -> new key, non_match
plus a schema-only file of another feed: 2 new files, 3 keys to score.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ingestion import linkage as lk
from ingestion.contracts import load_contracts
from tests.fixtures.cli import run as cli
from tests.fixtures.landing import (AS_OF, ENTITIES, RUN_1, RUN_2, SCHEMA_RUN_ID, UNKNOWN_USCC, _penalty, _registry,
                                    make_uscc, spoil, uscc, write_feed)

OTHER_UNKNOWN = make_uscc("91370100", "00000299")
PENALTIES = "samr_penalties"


def _sent(no: int, code: str, *, rep: str | None = None, uscc_value: str | None = None) -> dict:
    return _penalty(no, code, AS_OF, "警告", uscc_value=uscc_value or spoil(uscc(code))) | {"legal_rep_name": rep}


def land_run_1(landing: Path) -> None:
    write_feed(landing, lk.REGISTRY_FEED, RUN_1, _registry(RUN_1), "registry_1.csv")
    write_feed(landing, PENALTIES, RUN_1, [
        _sent(1, "E08"), _sent(2, "E03"), _penalty(3, None, AS_OF, "罚款", 1.0, uscc_value=UNKNOWN_USCC),
        _penalty(4, "E02", AS_OF, "警告")], "penalties_1.csv")
    write_feed(landing, "samr_abnormal_list", SCHEMA_RUN_ID, [])


def land_run_2(landing: Path) -> None:
    unknown = _penalty(24, None, AS_OF, "罚款", 2.0, uscc_value=OTHER_UNKNOWN) | {"subject_name": "青岛无名氏商行"}
    write_feed(landing, PENALTIES, RUN_2, [
        _sent(21, "E08"), _sent(22, "E03", rep="王03"), _sent(23, "E04"), unknown], "penalties_2.csv")
    write_feed(landing, "court_dishonest_debtors", SCHEMA_RUN_ID, [])


def link(landing: Path, linkage_dir: Path, full: bool = False) -> lk.LinkageRun:
    return lk.run_linkage(landing, load_contracts(), linkage_dir, on=AS_OF, full=full)


def decisions(landing: Path) -> pl.DataFrame:
    return lk.current_decisions(landing).drop("_run_id").sort(["_file_sha256", "_source_row"])


def by_code(frame: pl.DataFrame) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for r in frame.iter_rows(named=True):
        rows.setdefault(r["code_sent"], []).append(r)
    return rows


def assert_equals_a_full_run(landing: Path, linkage_dir: Path) -> pl.DataFrame:
    """The current decisions, after checking a full run over the same landing writes exactly them again."""
    got = decisions(landing)
    full = link(landing, linkage_dir, full=True)
    assert not full.incremental
    assert full.run_id is None, "a full run decided differently"
    assert decisions(landing).equals(got)
    return got


def test_new_files_are_read_alone_and_decide_as_a_full_run_does(tmp_path):
    landing, linkage_dir = tmp_path / "landing", tmp_path / "linkage"
    land_run_1(landing)
    first = link(landing, linkage_dir)
    assert (first.incremental, first.files_read, first.keys_scored, first.rows) == (False, 2, 3, 3)
    e03_alone = by_code(decisions(landing))[spoil(uscc("E03"))][0]["match_probability"]
    assert lk.state_path(landing).exists()

    land_run_2(landing)
    second = link(landing, linkage_dir)
    assert (second.incremental, second.files_read, second.keys_scored) == (True, 2, 3)
    assert (second.rows, second.keys, second.decisions) == (7, 5, {"match": 3, "unsure": 0, "non_match": 2})
    assert second.run_id is not None and (linkage_dir / "runs" / f"{second.run_id}.parquet").exists()

    got = assert_equals_a_full_run(landing, linkage_dir)
    sent = by_code(got)
    e08, e03, e04 = sent[spoil(uscc("E08"))], sent[spoil(uscc("E03"))], sent[spoil(uscc("E04"))]
    assert [(r["decision"], r["candidate_uscc"]) for r in e08] == [("match", uscc("E08"))] * 2
    assert [(r["decision"], r["candidate_uscc"]) for r in e04] == [("match", uscc("E04"))]
    # the legal representative run 2 brought agrees with the registry: the key is likelier, on both of its rows
    assert e03[0]["match_probability"] == e03[1]["match_probability"] > e03_alone
    assert [r["decision"] for r in sent[OTHER_UNKNOWN]] == ["non_match"]


def test_an_unchanged_landing_reads_no_file_and_writes_no_run(tmp_path):
    landing, linkage_dir = tmp_path / "landing", tmp_path / "linkage"
    land_run_1(landing)
    first = link(landing, linkage_dir)
    again = link(landing, linkage_dir)
    assert (again.run_id, again.incremental, again.files_read, again.keys_scored) == (None, True, 0, 0)
    assert again.decisions == first.decisions and again.rows == first.rows
    assert [p.stem for p in (linkage_dir / "runs").glob("*.parquet")] == [first.run_id]


def test_a_new_file_without_unresolved_rows_extends_the_state_and_writes_no_run(tmp_path):
    landing, linkage_dir = tmp_path / "landing", tmp_path / "linkage"
    land_run_1(landing)
    link(landing, linkage_dir)
    write_feed(landing, "court_dishonest_debtors", SCHEMA_RUN_ID, [])
    schema_only = link(landing, linkage_dir)
    assert (schema_only.run_id, schema_only.incremental, schema_only.files_read) == (None, True, 1)
    assert link(landing, linkage_dir).files_read == 0  # examined once, not again


def test_a_registry_change_forces_a_full_run(tmp_path):
    landing, linkage_dir = tmp_path / "landing", tmp_path / "linkage"
    land_run_1(landing)
    link(landing, linkage_dir)
    land_run_2(landing)
    # the registry learns U01: run 1's row about it now resolves by its USCC and leaves linkage
    registry_2 = _registry(RUN_2) + [{**_registry(RUN_2)[0], "uscc": UNKNOWN_USCC, "registration_no": None,
                                      "entity_name": "青岛未登记贸易有限公司"}]
    write_feed(landing, lk.REGISTRY_FEED, RUN_2, registry_2, "registry_2.csv")
    run = link(landing, linkage_dir)
    assert (run.incremental, run.files_read, run.keys_scored) == (False, 4, 4)
    got = assert_equals_a_full_run(landing, linkage_dir)
    assert UNKNOWN_USCC not in by_code(got) and run.rows == got.height == 6


def test_a_new_review_forces_a_full_run_that_applies_it_to_every_row_of_its_key(tmp_path):
    landing, linkage_dir = tmp_path / "landing", tmp_path / "linkage"
    land_run_1(landing)
    link(landing, linkage_dir)
    key = by_code(decisions(landing))[spoil(uscc("E08"))][0]["link_key"]
    lk.record_review(linkage_dir, key, "non_match", None, "wang", "a namesake")
    land_run_2(landing)
    run = link(landing, linkage_dir)
    assert (run.incremental, run.files_read) == (False, 4)
    e08 = by_code(assert_equals_a_full_run(landing, linkage_dir))[spoil(uscc("E08"))]
    assert [(r["decision"], r["decided_by"], r["candidate_uscc"]) for r in e08] == [
        ("non_match", "reviewer:wang", None)] * 2


def test_a_state_that_does_not_describe_the_decisions_is_not_trusted(tmp_path):
    landing, linkage_dir = tmp_path / "landing", tmp_path / "linkage"
    land_run_1(landing)
    link(landing, linkage_dir)
    # another writer (a second build of the same landing) replaced the decisions after this state was written
    lk.decisions_path(landing).unlink()
    lk.ensure_decisions_file(landing)
    run = link(landing, linkage_dir)
    assert (run.incremental, run.files_read, run.rows) == (False, 2, 3) and run.run_id is not None


@pytest.mark.parametrize("flag", [(), ("--full",)])
def test_the_cli_says_how_it_ran(capsys, tmp_path, flag):
    land_run_1(tmp_path / "landing")
    assert cli(capsys, "linkage", "run", "--home", str(tmp_path))[0] == 0  # the first run is full: no state yet
    code, out, _ = cli(capsys, "linkage", "run", "--home", str(tmp_path), *flag)
    expected = "full run: read 2 landed files, scored 3 keys" if flag else "incremental: read 0 landed files"
    assert code == 0 and expected in out and "unchanged since the last run" in out
