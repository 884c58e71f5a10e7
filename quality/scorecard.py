"""Department scorecards: per department, feed and month, a score per quality dimension and an overall score
(formula: quality/rules/scorecard.yaml and docs/quality.md), from the landing flags and ingestion's quarantine.

Stored under <home>/quality/scorecard/: department_scorecard.parquet and scorecard.duckdb (tables
department_scorecard, problems, rule_counts), a file of its own: the warehouse file has a single writer (dbt).
Both are written to a temporary name and renamed. The HTML report goes to <home>/quality/report/.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError
from creditwh.settings import CONTRACTS_DIR, Home
from ingestion.contracts import load_contracts
from quality.landing import all_summaries
from quality.landing_rules import DIMENSIONS
from quality.problems import all_problems, scorecard_settings

KEYS = ["department", "feed", "month"]


class ScorecardError(CreditwhError):
    """The scorecard cannot be built (nothing validated yet)."""


@dataclass
class ScorecardResult:
    table: Path
    database: Path
    report: Path
    rows: int
    departments: list[str]

    def to_json(self) -> dict:
        return {"table": str(self.table), "database": str(self.database), "report": str(self.report),
                "rows": self.rows, "departments": self.departments}


def scorecard_dir(home: Home) -> Path:
    return home.quality / "scorecard"


def weights_for(month: str, settings: dict) -> dict[str, float]:
    """The weight set in force for a month (YYYY-MM): the last one whose effective_from is on or before it."""
    day = date.fromisoformat(f"{month}-01")
    chosen = None
    for entry in sorted(settings["weights"], key=lambda e: e["effective_from"]):
        if entry["effective_from"] <= day:
            chosen = entry
    if chosen is None:
        raise ScorecardError(f"quality/rules/scorecard.yaml: no weights in force for {month}")
    return {d: float(chosen[d]) for d in DIMENSIONS}


def _rows_sent(summaries: list[dict], problems: pl.DataFrame, contracts) -> pl.DataFrame:
    landed = [{"department": s["department"], "feed": s["feed"], "month": m, "rows_landed": n,
               "rows_timed": s.get("timeliness_rows_by_month", {}).get(m, 0)}
              for s in summaries for m, n in s["rows_by_month"].items()]
    schema = {"department": pl.String, "feed": pl.String, "month": pl.String, "rows_landed": pl.Int64,
              "rows_timed": pl.Int64}
    landed = pl.DataFrame(landed, schema=schema).group_by(KEYS).agg(pl.col("rows_landed", "rows_timed").sum())
    quarantined = (problems.filter(pl.col("rule").str.starts_with("quarantine."))
                   .group_by(KEYS).agg(pl.len().cast(pl.Int64).alias("rows_quarantined")))
    return (landed.join(quarantined, on=KEYS, how="full", coalesce=True)
            .with_columns(pl.col("rows_landed", "rows_timed", "rows_quarantined").fill_null(0))
            .with_columns((pl.col("rows_landed") + pl.col("rows_quarantined")).alias("rows_sent")))


def compute(home: Home, contracts=None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(department_scorecard, problems) from what is on disk; no writing."""
    contracts = contracts or load_contracts(CONTRACTS_DIR)
    settings = scorecard_settings()
    summaries = all_summaries(home)
    if not summaries:
        raise ScorecardError(f"no validated landing runs under {home.quality / 'landing'}: ingest feeds first "
                             "(`creditwh ingest`), then run `creditwh quality scorecard`")
    problems = all_problems(home, contracts)
    sent = _rows_sent(summaries, problems, contracts)
    # one defect per row and dimension, however many rules of that dimension the row fails
    defects = (problems.select(*KEYS, "dimension", "run_id", "file_name", "source_row").unique()
               .group_by(*KEYS, "dimension").agg(pl.len().cast(pl.Int64).alias("rows"))
               .pivot(on="dimension", index=KEYS, values="rows"))
    for d in DIMENSIONS:
        if d not in defects.columns:
            defects = defects.with_columns(pl.lit(None, dtype=pl.Int64).alias(d))
    defects = defects.select(*KEYS, *[pl.col(d).alias(f"defects_{d}") for d in DIMENSIONS])
    counts = problems.group_by(KEYS).agg((pl.col("severity") == "critical").sum().cast(pl.Int64).alias("critical_problems"),
                                         (pl.col("severity") == "warning").sum().cast(pl.Int64).alias("warning_problems"))
    table = (sent.join(defects, on=KEYS, how="left").join(counts, on=KEYS, how="left")
             .with_columns(pl.col([f"defects_{d}" for d in DIMENSIONS] + ["critical_problems", "warning_problems"])
                           .fill_null(0)))
    scores = []
    for d in DIMENSIONS:
        base = pl.col("rows_timed") if d == "timeliness" else pl.col("rows_sent")
        scores.append(pl.when(base > 0).then(100 * (1 - pl.col(f"defects_{d}") / base)).otherwise(None)
                      .clip(0, 100).round(2).alias(d))
    table = table.with_columns(scores)
    overall = []
    for row in table.select("month", *DIMENSIONS).iter_rows(named=True):
        w = weights_for(row["month"], settings)
        present = {d: row[d] for d in DIMENSIONS if row[d] is not None}
        total = sum(w[d] for d in present)
        overall.append(round(sum(w[d] * v for d, v in present.items()) / total, 2) if total else None)
    table = table.with_columns(pl.Series("overall", overall, dtype=pl.Float64))
    table = table.select(*KEYS, "rows_sent", "rows_landed", "rows_quarantined", "rows_timed",
                         *DIMENSIONS, "overall", *[f"defects_{d}" for d in DIMENSIONS],
                         "critical_problems", "warning_problems").sort(KEYS)
    return table, problems


def rollup(table: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Scores over several months/feeds, recomputed from the summed counts (not an average of percentages)."""
    sums = table.group_by(by).agg(pl.col("rows_sent", "rows_timed", *[f"defects_{d}" for d in DIMENSIONS]).sum())
    out = sums.with_columns([
        pl.when((pl.col("rows_timed") if d == "timeliness" else pl.col("rows_sent")) > 0)
        .then(100 * (1 - pl.col(f"defects_{d}") / (pl.col("rows_timed") if d == "timeliness" else pl.col("rows_sent"))))
        .otherwise(None).clip(0, 100).round(2).alias(d) for d in DIMENSIONS])
    w = weights_for(datetime.now(timezone.utc).strftime("%Y-%m"), scorecard_settings())
    present = [pl.when(pl.col(d).is_not_null()).then(w[d]).otherwise(0.0) for d in DIMENSIONS]
    weighted = [pl.col(d).fill_null(0.0) * w[d] for d in DIMENSIONS]
    return out.with_columns((pl.sum_horizontal(weighted) / pl.sum_horizontal(present)).round(2).alias("overall")).sort(by)


def _write_duckdb(path: Path, tables: dict[str, pl.DataFrame]) -> None:
    import duckdb

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    with duckdb.connect(str(tmp)) as con:
        for name, frame in tables.items():
            con.register("incoming", frame.to_arrow())
            con.execute(f"create table {name} as select * from incoming")
            con.unregister("incoming")
    os.replace(tmp, path)


def build(home: Home, validate: bool = True, report: bool = True, data_docs: bool = True) -> ScorecardResult:
    """Validate any landed run not yet validated, compute the scorecard, store it and render the HTML report."""
    contracts = load_contracts(CONTRACTS_DIR)
    if validate:
        from quality.landing import LandingValidator

        LandingValidator(home, contracts, data_docs=data_docs).validate_pending()
    table, problems = compute(home, contracts)
    folder = scorecard_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    parquet = folder / "department_scorecard.parquet"
    tmp = parquet.with_name(f".{parquet.name}.tmp")
    table.write_parquet(tmp)
    os.replace(tmp, parquet)
    rule_counts = (problems.group_by("department", "feed", "rule", "severity", "dimension")
                   .agg(pl.len().alias("rows")).sort("rows", descending=True))
    database = folder / "scorecard.duckdb"
    _write_duckdb(database, {"department_scorecard": table, "problems": problems, "rule_counts": rule_counts})
    report_path = home.quality / "report" / "scorecard.html"
    if report:
        from quality.report import render

        render(home, table, problems, report_path)
    meta = {"built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rows": table.height,
            "runs": len(all_summaries(home))}
    (folder / "built.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return ScorecardResult(table=parquet, database=database, report=report_path, rows=table.height,
                           departments=sorted(set(table["department"].to_list())))
