"""Every problem a department sent, in one shape: the landing flags (quality/landing.py) and ingestion's
quarantined rows (a row that could not be loaded at all counts as a critical problem of the dimension its
reason maps to in quality/rules/scorecard.yaml). Used by the scorecard and the issues export."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl
import yaml

from creditwh.settings import CONTRACTS_DIR, QUALITY_RULES_DIR, Home
from ingestion import normalise
from ingestion.contracts import Contract, load_contracts
from quality.landing import FLAG_SCHEMA, all_flags, china_date, landed_at
from quality.landing_rules import generation_settings


@cache
def scorecard_settings(directory: Path = QUALITY_RULES_DIR) -> dict:
    return yaml.safe_load((Path(directory) / "scorecard.yaml").read_text(encoding="utf-8"))


def _typed(column, raw: pl.Expr) -> pl.Expr:
    """A raw quarantined value as ingestion would have typed it (ingestion's own normalisers)."""
    if column.type == "date":
        return normalise.date_value(raw)
    if column.type in ("uscc", "registration_no"):
        return normalise.code_value(raw)
    if column.type == "code":
        return normalise.mapped_code(raw, column.codes)
    return normalise.clean_text(raw)


def record_key_from_raw(contract: Contract) -> pl.Expr:
    """The record key of a quarantined (raw, source-named) row, spelled as landing flags spell it."""
    parts = []
    for k in contract.key:
        column = contract.column(k)
        parts.append(pl.format("{}={}", pl.lit(k), _typed(column, pl.col(column.source)).cast(pl.String).fill_null("")))
    return pl.concat_str(parts, separator="|")


def quarantine_problems(home: Home, contracts: dict[str, Contract] | None = None) -> pl.DataFrame:
    contracts = contracts or load_contracts(CONTRACTS_DIR)
    months = generation_settings(QUALITY_RULES_DIR)["month_column"]
    to_dimension = scorecard_settings()["quarantine_dimension"]
    frames = []
    for feed, contract in contracts.items():
        for run in sorted((home.quarantine / feed).glob("run=*")):
            run_id = run.name.removeprefix("run=")
            fallback = china_date(landed_at(home, run_id)).strftime("%Y-%m")
            raw = pl.concat([pl.read_parquet(p) for p in sorted(run.glob("*.parquet"))], how="diagonal_relaxed")
            month_col = contract.column(months[feed]) if months.get(feed) else None
            month = (_typed(month_col, pl.col(month_col.source)).dt.strftime("%Y-%m").fill_null(fallback)
                     if month_col else pl.lit(fallback))
            source_of = {c.name: c.source for c in contract.columns}
            value = pl.coalesce([pl.when(pl.col("_field") == name).then(pl.col(src).cast(pl.String))
                                 for name, src in source_of.items()] + [pl.lit(None, dtype=pl.String)])
            frames.append(raw.select(
                pl.lit(contract.department).alias("department"), pl.lit(feed).alias("feed"),
                pl.lit(run_id).alias("run_id"), pl.col("_file_name").alias("file_name"),
                pl.col("_source_row").cast(pl.Int64).alias("source_row"),
                record_key_from_raw(contract).alias("record_key"),
                pl.format("quarantine.{}", pl.col("_reason")).alias("rule"), pl.lit("critical").alias("severity"),
                pl.col("_reason").replace_strict(to_dimension, default="validity").alias("dimension"),
                pl.col("_field").alias("field"), value.fill_null("").alias("value"),
                pl.col("_message").alias("message"), month.alias("month")))
    if not frames:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    return pl.concat(frames, how="vertical_relaxed").select(list(FLAG_SCHEMA)).cast(FLAG_SCHEMA)


def all_problems(home: Home, contracts: dict[str, Contract] | None = None) -> pl.DataFrame:
    """Landing flags and quarantined rows, one row per row and rule."""
    return pl.concat([all_flags(home).cast(FLAG_SCHEMA), quarantine_problems(home, contracts)])


def latest_landed_runs(home: Home, contract: Contract) -> pl.DataFrame:
    """record_key -> the latest run that landed it (dbt keeps that version): what decides if a problem is open."""
    files = [p for p in (home.landing / contract.id).glob("run=*/*.parquet") if "-schema" not in p.parent.name]
    if not files:
        return pl.DataFrame(schema={"record_key": pl.String, "latest_run": pl.String})
    keys = [pl.format("{}={}", pl.lit(k), pl.col(k).cast(pl.String).fill_null("")) for k in contract.key]
    return (pl.scan_parquet(files).select(pl.concat_str(keys, separator="|").alias("record_key"),
                                          pl.col("_run_id").alias("latest_run"))
            .group_by("record_key").agg(pl.col("latest_run").max()).collect())


def open_problems(home: Home, department: str | None = None,
                  contracts: dict[str, Contract] | None = None) -> pl.DataFrame:
    """Problems not yet corrected. A flag is open while the flagged version is the latest landed version of its
    record (a correction lands a newer version, which carries its own flags if still wrong). A quarantined row
    is open until its record lands in a later run (a duplicate copy too: its first copy landed, but the export
    that sent it twice is the department's to fix)."""
    contracts = contracts or load_contracts(CONTRACTS_DIR)
    chosen = {f: c for f, c in contracts.items() if department is None or c.department == department}
    problems = all_problems(home, chosen).filter(pl.col("feed").is_in(list(chosen)))
    if not problems.height:
        return problems
    latest = pl.concat([latest_landed_runs(home, c).with_columns(pl.lit(f).alias("feed")) for f, c in chosen.items()],
                       how="vertical_relaxed")
    joined = problems.join(latest, on=["feed", "record_key"], how="left")
    is_quarantine = pl.col("rule").str.starts_with("quarantine.")
    still_open = (pl.when(is_quarantine).then(pl.col("latest_run").is_null() | (pl.col("latest_run") <= pl.col("run_id")))
                  .otherwise(pl.col("latest_run").is_null() | (pl.col("latest_run") == pl.col("run_id"))))
    return (joined.filter(still_open).drop("latest_run")
            .sort(["feed", "run_id", "file_name", "source_row", "rule"]))
