"""Incremental builds give exactly the rows of a full build (docs/warehouse.md, "Incremental builds").

The fixture landing (tests/fixtures/landing.py) arrives in two ingestion runs. Warehouse A is built after run 1 and
again, incrementally, after run 2; warehouse B is built once with --full-refresh after both. Run 2 carries new
records (the ecology bureau's first file, a new licence, two new registry entities), corrected versions of
earlier records (the penalty with the corrected fine, the court case now removed, a licence whose validity was
corrected, a blasting licence now suspended) and, through the registry, a change of identity resolution of rows
landed in run 1 that run 2 does not re-send (a licence of an entity the registry did not know yet, one sent with
only a registration number). Every incremental model, fct_credit_event and fct_entity_credit_index must be equal row
for row (EXCEPT ALL both ways). A third build of A with nothing new landed must change no row.

The builds select only what the ledger and the index need, models and seeds (no data tests: tests/test_warehouse.py
runs them), to keep the module short.
"""
from __future__ import annotations

import json
from copy import deepcopy
from datetime import date
from pathlib import Path

import duckdb
import pytest

from creditwh.warehouse import WarehouseBuildError, build, open_read_only
from tests.fixtures import landing as fixture
from tests.fixtures.landing import AS_OF, RUN_1, RUN_2, SCHEMA_RUN_ID, write_feed

SELECT = " ".join(f"+{model},resource_type:{kind}"
                  for model in ("fct_credit_event", "fct_entity_credit_index", "fct_entity_credit_index_monthly",
                                "fct_licence", "fct_penalty")
                  for kind in ("model", "seed"))
ALWAYS_COMPARED = ("fct_credit_event", "fct_entity_credit_index")

NEW_ENTITY = fixture.Entity(fixture.make_uscc("91370200", "00000120"), "370200000000120", "青岛新港贸易有限公司")
NEW_BY_NUMBER = fixture.Entity(fixture.make_uscc("91370200", "00000121"), "370200000000121", "青岛旧城五金有限公司")
NEW_LICENCE_NO = "青市监许〔2026〕5号"
LICENCE_SQL = ("select entity_uscc, entity_resolved_by, entity_known, _run_id from int_licences__resolved "
               "where decision_no = '青市监许〔2026〕3号'")
PENALTY_SQL = ("select entity_uscc, entity_resolved_by, entity_known, _run_id from int_penalties__resolved "
               "where decision_no = '青市监处罚〔2026〕15号'")


def _licence(entity: fixture.Entity, decision_no: str) -> dict:
    record = deepcopy(fixture._licences(RUN_1)[0])
    return record | {"subject_name": entity.name, "uscc": entity.uscc, "decision_no": decision_no,
                     "licence_no": f"JY1370203{entity.registration_no[-5:]}"}


def _registry_row(entity: fixture.Entity) -> dict:
    row = deepcopy(fixture._registry(RUN_1)[0])
    return row | {"uscc": entity.uscc, "registration_no": entity.registration_no, "entity_name": entity.name,
                  "park": None}


def records(feed: str, run: str) -> list[dict]:
    """The fixture's records of `feed` in `run`, plus this module's licences and registry entities."""
    made = fixture.FEEDS[feed][1](run)
    if feed == "samr_licences":
        if run == RUN_1:
            made = made + [_licence(NEW_ENTITY, "青市监许〔2026〕3号")]
        else:  # E01's licence re-sent with its validity corrected, and a new licence
            corrected = fixture._licences(RUN_1)[0] | {"valid_to": date(2027, 4, 30)}
            made = [corrected, _licence(fixture.ENTITIES["E02"], NEW_LICENCE_NO)]
    if feed == "samr_penalties" and run == RUN_1:  # sent with only the registration number of an entity
        made = made + [fixture._penalty(15, None, date(2026, 4, 1), "罚款", 0.2, uscc_value="",
                                        registration_no=NEW_BY_NUMBER.registration_no,
                                        issues="uscc_was_registration_no")]
    if feed == "samr_entity_registry" and run == RUN_2:
        made = made + [_registry_row(NEW_ENTITY), _registry_row(NEW_BY_NUMBER)]
    return made


def land(landing: Path, run: str) -> None:
    for feed, (stem, _) in fixture.FEEDS.items():
        rows = records(feed, run)
        if rows:
            write_feed(landing, feed, run, rows, f"{stem}_{run[:8]}.csv")
        elif run == RUN_1:  # as ingestion does for a feed that has not sent anything yet
            write_feed(landing, feed, SCHEMA_RUN_ID, [])


def incremental_models(result) -> list[str]:
    manifest = json.loads((result.target_dir / "manifest.json").read_text(encoding="utf-8"))
    return sorted(node["name"] for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental")


def table_rows(warehouse: Path, tables: list[str]) -> dict[str, list[tuple]]:
    with open_read_only(warehouse) as con:
        return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in tables}


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    landing = root / "landing"
    land(landing, RUN_1)
    a = root / "a" / "warehouse.duckdb"
    first = build(landing, a, as_of=AS_OF, select=SELECT)
    with open_read_only(a) as con:
        after_run_1 = [con.execute(sql).fetchall() for sql in (LICENCE_SQL, PENALTY_SQL)]
    land(landing, RUN_2)
    second = build(landing, a, as_of=AS_OF, select=SELECT)
    models = incremental_models(second)
    compared = models + list(ALWAYS_COMPARED)
    before_third = table_rows(a, compared)
    third = build(landing, a, as_of=AS_OF, select=SELECT)
    b = root / "b" / "warehouse.duckdb"
    full = build(landing, b, as_of=AS_OF, select=SELECT, full_refresh=True)
    return {"a": a, "b": b, "models": models, "compared": compared, "first": first, "second": second,
            "third": third, "full": full, "before_third": before_third, "after_run_1": after_run_1}


def copy_of(warehouse: Path, folder: Path) -> Path:
    """A copy of a built warehouse file in a folder of its own (its dbt target and logs go beside it)."""
    folder.mkdir(parents=True)
    copy = folder / warehouse.name
    copy.write_bytes(warehouse.read_bytes())
    return copy


SERIES = "fct_entity_credit_index_monthly"
NEXT_MONTH_END = date(2026, 7, 31)


@pytest.fixture(scope="module")
def series_builds(builds, tmp_path_factory) -> dict:
    """C, a copy of A after run 2, tampered with and rebuilt as of AS_OF (nothing new landed), then as of the next
    month-end; D, a full build as of that month-end."""
    root = tmp_path_factory.mktemp("series")
    landing = builds["a"].parent.parent / "landing"
    c = copy_of(builds["a"], root / "c")
    with duckdb.connect(str(c)) as con:
        oldest, newest = con.execute(f"select min(month_end), max(month_end) from {SERIES}").fetchone()
        kept, recomputed = [r[0] for r in con.execute(
            f"select entity_uscc from {SERIES} where month_end = ? order by entity_uscc limit 2", [newest]).fetchall()]
        true_score = con.execute(f"select score from {SERIES} where entity_uscc = ? and month_end = ?",
                                 [recomputed, newest]).fetchone()[0]
        # an unchanged entity's rows are not recomputed: this one keeps the tampered score until its month leaves
        con.execute(f"update {SERIES} set score = -1 where entity_uscc = ? and month_end = ?", [kept, oldest])
        # a fingerprint that is not the entity's current one means its inputs changed: all its rows are recomputed
        con.execute(f"update {SERIES} set score = -1, _inputs_fingerprint = 0 where entity_uscc = ?", [recomputed])
    build(landing, c, as_of=AS_OF, select=SELECT)
    with open_read_only(c) as con:
        after = dict(con.execute(f"select entity_uscc || '@' || month_end, score from {SERIES} where score = -1 "
                                 f"or entity_uscc = ? and month_end = ?", [recomputed, newest]).fetchall())
    build(landing, c, as_of=NEXT_MONTH_END, select=SELECT)
    d = root / "d" / "warehouse.duckdb"
    build(landing, d, as_of=NEXT_MONTH_END, select=SELECT, full_refresh=True)
    return {"c": c, "d": d, "oldest": oldest, "kept": kept, "recomputed": recomputed, "newest": newest,
            "true_score": true_score, "after_same_day": after, "c_log": c.parent / "dbt" / "logs" / "dbt.log"}


LEDGER = "fct_credit_event"


@pytest.fixture(scope="module")
def ledger_builds(builds, tmp_path_factory) -> dict:
    """E, a copy of A after run 2, tampered with and rebuilt with nothing new landed: a row of an untouched
    match_key group, a group with an event whose inputs hash says it changed, and an event that no longer exists."""
    root = tmp_path_factory.mktemp("ledger")
    landing = builds["a"].parent.parent / "landing"
    e = copy_of(builds["a"], root / "e")
    with duckdb.connect(str(e)) as con:
        true_rows = dict(con.execute(f"select event_id, description from {LEDGER}").fetchall())
        changed_key, changed, sibling = con.execute(
            f"select match_key, min(event_id), max(event_id) from {LEDGER} where match_key is not null "
            f"group by match_key having count(*) >= 2 order by match_key limit 1").fetchone()
        untouched = con.execute(f"select min(event_id) from {LEDGER} where match_key <> ?", [changed_key]).fetchone()[0]
        # an untouched group is not recomputed: the tampered description stays
        con.execute(f"update {LEDGER} set description = 'tampered' where event_id in (?, ?)", [untouched, sibling])
        con.execute(f"update {LEDGER} set description = 'tampered', _inputs_hash = 0 where event_id = ?", [changed])
        con.execute(f"insert into {LEDGER} select * replace ('gone' as event_id, 'gone-key' as match_key) "
                    f"from {LEDGER} where event_id = ?", [untouched])
        # a version no landed registry row gives (as when a same-day run withdraws one): its entity is rewritten
        history_entity = con.execute("select min(uscc) from dim_entity_history").fetchone()[0]
        con.execute("insert into dim_entity_history select * replace (date '1999-01-01' as valid_from) "
                    "from dim_entity_history where uscc = ? and is_current", [history_entity])
    build(landing, e, as_of=AS_OF, select=SELECT)
    with open_read_only(e) as con:
        after = dict(con.execute(f"select event_id, description from {LEDGER} where event_id in (?, ?, ?, 'gone')",
                                 [untouched, changed, sibling]).fetchall())
        bogus_versions = con.execute("select count(*) from dim_entity_history where valid_from = date '1999-01-01'"
                                     ).fetchone()[0]
    return {"e": e, "after": after, "bogus_versions": bogus_versions, "untouched": untouched, "changed": changed, "sibling": sibling,
            "true_rows": true_rows}


def test_the_ledger_recomputes_only_the_match_key_groups_that_changed(ledger_builds):
    r = ledger_builds
    # the changed event and the other event of its group are recomputed; the untouched group keeps its tampered row
    assert r["after"] == {r["untouched"]: "tampered", r["changed"]: r["true_rows"][r["changed"]],
                          r["sibling"]: r["true_rows"][r["sibling"]]}


def test_the_ledger_deletes_an_event_that_is_gone(ledger_builds):
    assert "gone" not in ledger_builds["after"]
    with open_read_only(ledger_builds["e"]) as con:
        assert con.execute(f"select count(*) from {LEDGER} where _inputs_hash is null").fetchone()[0] == 0


def test_an_entity_history_version_no_longer_derived_goes_with_its_entity(ledger_builds):
    assert ledger_builds["bogus_versions"] == 0


def test_a_ledger_built_before_it_was_incremental_asks_for_a_full_refresh(builds, tmp_path):
    """A build file from before this version (the ledger as a table without its _inputs_hash) fails with the
    remedy, not with a bare binder error."""
    old = copy_of(builds["a"], tmp_path / "old")
    with duckdb.connect(str(old)) as con:
        con.execute(f"alter table {LEDGER} drop column _inputs_hash")
    with pytest.raises(WarehouseBuildError) as failed:
        build(builds["a"].parent.parent / "landing", old, as_of=AS_OF, select=SELECT)
    assert "creditwh build --full-refresh" in str(failed.value)


def difference(a: Path, b: Path, table: str) -> tuple[int, int]:
    """(rows of A not in B, rows of B not in A), as multisets."""
    with duckdb.connect(str(a), read_only=True) as con:
        con.execute(f"attach '{b}' as full_build (read_only)")
        only_a = con.execute(f"select count(*) from (select * from main.{table} "
                             f"except all select * from full_build.main.{table})").fetchone()[0]
        only_b = con.execute(f"select count(*) from (select * from full_build.main.{table} "
                             f"except all select * from main.{table})").fetchone()[0]
    return only_a, only_b


def test_the_records_of_history_are_incremental(builds):
    assert {"int_licences__resolved", "int_penalties__resolved", "int_tax_grades__resolved",
            "int_env_grades__resolved"} <= set(builds["models"])
    # the ledger recomputes the match_key groups that changed; the index (as-of date) is rebuilt every time
    assert "fct_credit_event" in builds["models"] and "fct_entity_credit_index" not in builds["models"]


@pytest.mark.parametrize("table", ["int_licences__resolved", "int_penalties__resolved", "int_env_grades__resolved",
                                   "fct_credit_event", "fct_entity_credit_index"])
def test_incremental_equals_full_refresh_on_the_tables_run_2_changes(builds, table):
    with open_read_only(builds["b"]) as con:
        assert con.execute(f"select count(*) from {table}").fetchone()[0] > 0
    assert difference(builds["a"], builds["b"], table) == (0, 0)


def test_incremental_equals_full_refresh_on_every_incremental_model(builds):
    differing = {t: d for t in builds["compared"] if (d := difference(builds["a"], builds["b"], t)) != (0, 0)}
    assert differing == {}


def test_a_corrected_version_replaces_the_earlier_one(builds):
    with open_read_only(builds["a"]) as con:
        e01 = con.execute("select valid_to, _run_id from int_licences__resolved where decision_no = ?",
                          ["青市监许〔2023〕88号"]).fetchall()
        fine = con.execute("select fine_amount_wan, _run_id from int_penalties__resolved where uscc = ? "
                           "and _run_id = ?", [fixture.uscc("E11"), RUN_2]).fetchall()
        event = con.execute("select in_force_until from fct_credit_event where event_type = 'licence' "
                            "and subject_uscc = ? and description like '%88号'", [fixture.uscc("E01")]).fetchall()
    assert e01 == [(date(2027, 4, 30), RUN_2)]  # one row: the run-2 version, not both
    assert fine == [(0.1, RUN_2)]
    assert event == [(date(2027, 5, 1),)]  # valid_to is the last valid day; windows end exclusively


def test_rows_not_resent_are_re_resolved_against_the_new_registry(builds):
    # after run 1: a valid USCC the registry did not know; a registration number it did not know
    assert builds["after_run_1"] == [[(NEW_ENTITY.uscc, "uscc", False, RUN_1)], [(None, None, False, RUN_1)]]
    # after run 2, which re-sends neither: both resolve to the entities the registry's run 2 added
    with open_read_only(builds["a"]) as con:
        licence, penalty = con.execute(LICENCE_SQL).fetchall(), con.execute(PENALTY_SQL).fetchall()
    assert licence == [(NEW_ENTITY.uscc, "uscc", True, RUN_1)]
    assert penalty == [(NEW_BY_NUMBER.uscc, "registration_no", True, RUN_1)]


def test_a_build_with_nothing_new_landed_changes_no_row(builds):
    after = table_rows(builds["a"], builds["compared"])
    assert after == builds["before_third"]


def test_the_incremental_build_read_only_the_runs_after_its_watermark(builds):
    """The SQL dbt compiled for a record model: after run 2, A read only run 2's unbuilt files and later runs; B read
    every run."""
    executed = "models/intermediate/int_licences__resolved.sql"
    incremental_sql = next(builds["third"].target_dir.glob(f"compiled/*/{executed}")).read_text(encoding="utf-8")
    full_sql = next(builds["full"].target_dir.glob(f"compiled/*/{executed}")).read_text(encoding="utf-8")
    assert f"where _run_id >= '{RUN_2}'" in incremental_sql
    assert "_run_id >" not in full_sql


def test_the_series_recomputes_only_entities_whose_inputs_changed(series_builds):
    r = series_builds
    assert r["after_same_day"] == {f"{r['kept']}@{r['oldest']}": -1,
                                   f"{r['recomputed']}@{r['newest']}": r["true_score"]}


def test_a_month_later_the_series_gains_a_month_end_loses_its_oldest_and_equals_a_full_build(series_builds):
    r = series_builds
    with open_read_only(r["c"]) as con:
        months = [m for (m,) in con.execute(f"select distinct month_end from {SERIES} order by 1").fetchall()]
        tampered = con.execute(f"select count(*) from {SERIES} where score = -1").fetchone()[0]
    assert r["oldest"] not in months and months[-1] == NEXT_MONTH_END and len(months) == 24
    assert tampered == 0   # the kept row left with its month
    for table in (SERIES, "fct_entity_credit_index", "int_credit_index__entity_inputs"):
        assert difference(r["c"], r["d"], table) == (0, 0), table


def test_a_new_as_of_date_does_not_make_dbt_parse_the_whole_project_again(series_builds):
    """C was built as of AS_OF, then as of the next month-end: the date reaches dbt as CREDITWH_AS_OF, which
    re-parses only what reads it (a changed --vars made every build parse everything)."""
    log = series_builds["c_log"].read_text(encoding="utf-8")
    assert log.count("Running with dbt=") == 2
    # only the first build parses in full: it has no saved manifest yet
    assert log.count("Unable to do partial parsing") == 1
    assert "Unable to do partial parsing because saved manifest not found" in log
