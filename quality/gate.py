"""The publication gate: Great Expectations validates a batch of penalties with the rules of quality/rules/.

Path chosen (see docs/quality.md): the batch is read from the published warehouse (read-only) into pandas via
Arrow and validated with a pandas datasource, because GE's SQL path on DuckDB evaluates nothing without patches
of private GE names. Critical and warning rules are two suites of one checkpoint; result_format COMPLETE with
the record id as index column makes GE itself name the records each rule fails, and those are the records held
back. Nothing here re-implements a rule.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError
from quality.rules import RuleSet, load_rules


class GateError(CreditwhError):
    """The gate could not run (no warehouse, or an expectation that could not be evaluated)."""


@dataclass
class RuleOutcome:
    rule: str
    severity: str
    dimension: str
    success: bool
    evaluated: int            # rows GE looked at (element_count)
    unexpected: int           # rows failing
    description: str


@dataclass
class GateResult:
    run_id: str
    as_of: str
    records: int
    blocked: bool
    reason: str | None
    critical_failure_rate: float
    held_back_records: int
    expectations_passed: int
    expectations_failed: int
    rules: list[RuleOutcome] = field(default_factory=list)
    data_docs: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ("great_expectations", "great_expectations._docs_decorators"):
        logging.getLogger(name).setLevel(logging.WARNING)


def read_batch(warehouse: Path, rules: RuleSet):
    """The table to validate, as pandas (via Arrow: several times faster than DuckDB's .df())."""
    import duckdb

    if not warehouse.exists():
        raise GateError(f"no warehouse at {warehouse}: build it first (`creditwh build`)")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.sql(f"select * from {rules.table} order by {rules.id_column}").to_arrow_table().to_pandas()
    import pandas as pd

    for col in rules.date_columns:  # GE compares datetimes, not python dates
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col])
    return frame


def _context(quality_dir: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(quality_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _suite(gx, rules: RuleSet, severity: str, as_of: date):
    import great_expectations.expectations as gxe

    import quality.expectations as custom

    suite = gx.ExpectationSuite(name=f"{rules.record_type}_{severity}")
    for rule in rules.by_severity(severity):
        class_name = "".join(part.title() for part in rule.expectation.split("_"))
        cls = getattr(gxe, class_name, None) or getattr(custom, class_name, None)
        if cls is None:
            raise GateError(f"rule {rule.id}: unknown expectation {rule.expectation}")
        suite.add_expectation(cls(**rule.resolved_kwargs(as_of), meta={"rule_id": rule.id}))
    return suite


def validate_penalties(warehouse: Path, quality_dir: Path, run_id: str, as_of: date,
                       rules: RuleSet | None = None) -> GateResult:
    _quiet_gx()
    import great_expectations as gx

    rules = rules or load_rules("penalties")
    frame = read_batch(warehouse, rules)
    quality_dir.mkdir(parents=True, exist_ok=True)
    context = _context(quality_dir)
    batch = (context.data_sources.add_or_update_pandas("warehouse")
             .add_dataframe_asset(rules.table).add_batch_definition_whole_dataframe("batch"))
    definitions = []
    for severity in ("critical", "warning"):
        suite = context.suites.add_or_update(_suite(gx, rules, severity, as_of))
        definitions.append(context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{rules.record_type}_{severity}", data=batch, suite=suite)))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=f"{rules.record_type}_gate", validation_definitions=definitions,
        actions=[gx.checkpoint.actions.UpdateDataDocsAction(name="data_docs")],
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [rules.id_column]},
    ))
    result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=gx.RunIdentifier(run_name=run_id))

    by_id = {r.id: r for r in rules.rules}
    outcomes, held = [], []
    for validation in result.run_results.values():
        for r in validation.results:
            rule = by_id[r.expectation_config.meta["rule_id"]]
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise GateError(f"rule {rule.id} could not be evaluated: {r.exception_info.get('exception_message')}")
            evaluated = r.result.get("element_count")
            if evaluated is None and len(frame):
                raise GateError(f"rule {rule.id} evaluated nothing on {len(frame)} records (GE returned no count)")
            unexpected = int(r.result.get("unexpected_count") or 0)
            outcomes.append(RuleOutcome(rule.id, rule.severity, rule.dimension, bool(r.success), int(evaluated or 0),
                                        unexpected, rule.description))
            if rule.severity == "critical":
                for row in r.result.get("unexpected_index_list") or []:
                    held.append({"penalty_id": row[rules.id_column], "rule": rule.id, "severity": rule.severity,
                                 "message": rule.description})
    held_frame = pl.DataFrame(held, schema={"penalty_id": pl.String, "rule": pl.String, "severity": pl.String,
                                            "message": pl.String}).unique(maintain_order=True)
    held_ids = held_frame["penalty_id"].n_unique()
    rate = held_ids / len(frame) if len(frame) else 0.0
    blocked = rate > rules.max_critical_failure_rate
    reason = None
    if blocked:
        worst = sorted((o for o in outcomes if o.severity == "critical" and o.unexpected), key=lambda o: -o.unexpected)
        reason = (f"{rate:.1%} of {len(frame):,} penalty records fail a critical rule, above the "
                  f"{rules.max_critical_failure_rate:.1%} threshold; worst: "
                  + ", ".join(f"{o.rule} ({o.unexpected:,})" for o in worst[:3]))
    docs = context.get_docs_sites_urls()
    gate = GateResult(
        run_id=run_id, as_of=as_of.isoformat(), records=len(frame), blocked=blocked, reason=reason,
        critical_failure_rate=round(rate, 6), held_back_records=held_ids,
        expectations_passed=sum(o.success for o in outcomes), expectations_failed=sum(not o.success for o in outcomes),
        rules=outcomes, data_docs=docs[0]["site_url"] if docs else None,
    )
    _write(quality_dir, gate, held_frame)
    return gate


def _write(quality_dir: Path, gate: GateResult, held: pl.DataFrame) -> None:
    """The gate's verdict and held-back list, each replaced atomically; the latest verdict is gate_latest.json."""
    payload = json.dumps(gate.to_json() | {"written_at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
                         ensure_ascii=False, indent=2)
    for name in (f"gate_{gate.run_id}.json", "gate_latest.json"):
        tmp = quality_dir / f".{name}.tmp"
        tmp.write_text(payload, encoding="utf-8")
        os.replace(tmp, quality_dir / name)
    tmp = quality_dir / ".held_back.parquet.tmp"
    held.write_parquet(tmp)
    os.replace(tmp, quality_dir / "held_back.parquet")
