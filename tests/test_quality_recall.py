"""Recall on the synthetic city: generate `tiny` (seed 7), ingest it, run the landing suites (and, in the slow
test, the warehouse build and the publication gate), and compare with the generator's ground truth."""
from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from creditwh.settings import Home
from ingestion.run import ingest
from quality.landing import LandingValidator, all_flags
from quality.recall import by_kind, evaluate
from synthetic import generate

# Dates in another spelling than the contract's date_format: ingestion reads them into the right date and notes
# `date_format:<column>`, which the landing rule date_not_in_agreed_format reports.
REPAIRED_DATES = "date_format"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("recall") / "home").ensure()
    generate("tiny", 7, home.inbox)
    ingest(home)
    LandingValidator(home, data_docs=False).validate_pending()
    per_feed, false_critical = evaluate(home)
    return home, per_feed, false_critical


def test_every_defect_kind_is_found(city):
    home, per_feed, _ = city
    kinds = by_kind(per_feed)
    truth = pl.read_parquet(home.ground_truth)
    assert set(kinds["defect"]) == set(truth["defect"]) and len(kinds) >= 10
    for row in kinds.iter_rows(named=True):
        assert row["recall"] >= 0.99, row
    assert kinds["found"].sum() / kinds["planted"].sum() >= 0.99


def test_date_formats_are_flagged_or_repaired(city):
    """Excel serials are flagged; the other spellings are read into the date the generator meant."""
    home, _, _ = city
    truth = pl.read_parquet(home.ground_truth).filter(pl.col("defect") == REPAIRED_DATES)
    flags = all_flags(home).filter(pl.col("rule").str.ends_with(".excel_serial_date"))
    serial = truth.filter(pl.col("detail") == "style=excel_serial")
    flagged = serial.join(flags.select(pl.col("feed"), pl.col("file_name"), pl.col("source_row")).unique(),
                          on=["feed", "file_name", "source_row"], how="inner")
    assert serial.height > 0 and flagged.height == serial.height
    others = truth.filter(pl.col("detail") != "style=excel_serial")
    repaired = 0
    for feed in others["feed"].unique().to_list():
        landed = pl.read_parquet(sorted(home.landing.glob(f"{feed}/run=2*/*.parquet")))
        mine = others.filter(pl.col("feed") == feed)
        for row in mine.iter_rows(named=True):
            hit = landed.filter((pl.col("_file_name") == row["file_name"]) & (pl.col("_source_row") == row["source_row"]))
            if hit.height and str(hit[row["field"]][0]) == row["expected"]:
                repaired += 1
    assert repaired / others.height >= 0.99


def test_no_critical_flag_on_a_clean_record(city):
    _, _, false_critical = city
    assert false_critical.height == 0, false_critical.head(5)


@pytest.mark.slow
def test_the_gate_holds_back_only_planted_defects(city):
    """The publication gate on the warehouse built from the same city: no held-back record is clean."""
    from creditwh import stages
    from quality import validate_penalties

    home, _, _ = city
    stages.build(home, date(2026, 11, 25))
    gate = validate_penalties(home.warehouse, home.quality, run_id="recall", as_of=date(2026, 11, 25))
    held = pl.read_parquet(home.quality / "held_back.parquet")
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        lineage = pl.from_arrow(con.sql("select penalty_id, _file_name as file_name, _source_row as source_row "
                                        "from fct_penalty").to_arrow_table())
    truth = pl.read_parquet(home.ground_truth).filter(pl.col("feed") == "samr_penalties")
    held_rows = held.join(lineage, on="penalty_id").join(truth, on=["file_name", "source_row"], how="left")
    assert held_rows.filter(pl.col("defect").is_null()).height == 0, held_rows.head()
    assert not gate.blocked
