"""How many of the synthetic city's planted defects the platform finds (ingestion's quarantine or a landing flag),
and whether any critical flag falls on a row the ground truth calls clean. Used by tests/test_quality_recall.py
and to measure the figures in docs/quality.md; it reads only the ground-truth file, never feeds it back."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from creditwh.settings import Home
from quality.landing import all_flags

ROW = ["feed", "file_name", "source_row"]


def quarantined(home: Home) -> pl.DataFrame:
    files = sorted(home.quarantine.glob("*/run=*/*.parquet"))
    if not files:
        return pl.DataFrame(schema={"feed": pl.String, "file_name": pl.String, "source_row": pl.Int64,
                                    "reason": pl.String, "q_field": pl.String})
    return pl.concat([pl.read_parquet(f, columns=["_feed", "_file_name", "_source_row", "_reason", "_field"])
                      for f in files]).rename({"_feed": "feed", "_file_name": "file_name",
                                               "_source_row": "source_row", "_reason": "reason",
                                               "_field": "q_field"})


def evaluate(home: Home, ground_truth: Path | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(per feed and defect kind: planted, quarantined, flagged, found, recall; critical flags on clean rows)."""
    truth = pl.read_parquet(ground_truth or home.ground_truth)
    q = quarantined(home).select(*ROW, pl.lit(True).alias("in_quarantine")).unique(ROW)
    flags = all_flags(home)
    # A flag finds a planted defect when it names the defect's field (a late-record flag on the same row does
    # not find a mistyped check digit); a duplicate has no field, any flag on the copy finds it.
    named = (flags.filter(pl.col("dimension") != "timeliness")
             .select(*ROW, pl.col("field").str.split(",").alias("fields")).explode("fields")
             .with_columns(pl.col("fields").str.split("/")).explode("fields"))
    flagged = (truth.select(*ROW, "field").join(named, on=ROW, how="inner")
               .filter(pl.col("field").is_null() | (pl.col("field") == pl.col("fields")))
               .select(*ROW, "field", pl.lit(True).alias("in_flags")).unique([*ROW, "field"]))
    found = (truth.join(q, on=ROW, how="left").join(flagged, on=[*ROW, "field"], how="left", nulls_equal=True)
             .with_columns(pl.col("in_quarantine").fill_null(False), pl.col("in_flags").fill_null(False)))
    per_kind = (found.group_by("feed", "defect")
                .agg(pl.len().alias("planted"), pl.col("in_quarantine").sum().alias("quarantined"),
                     (pl.col("in_flags") & ~pl.col("in_quarantine")).sum().alias("flagged"),
                     (pl.col("in_quarantine") | pl.col("in_flags")).sum().alias("found"))
                .with_columns((pl.col("found") / pl.col("planted")).alias("recall")).sort("feed", "defect"))
    critical = flags.filter(pl.col("severity") == "critical")
    false_critical = critical.join(truth.select(ROW).unique(), on=ROW, how="anti")
    return per_kind, false_critical


def by_kind(per_feed: pl.DataFrame) -> pl.DataFrame:
    return (per_feed.group_by("defect").agg(pl.col("planted", "quarantined", "flagged", "found").sum())
            .with_columns((pl.col("found") / pl.col("planted")).alias("recall")).sort("defect"))
