"""The publication gate: Great Expectations validates a batch of penalties with the rules of quality/rules/.

Path chosen (see docs/quality.md): the batch is read from the published warehouse (read-only) into pandas via
Arrow and validated with a pandas datasource, because GE's SQL path on DuckDB evaluates nothing without patches
of private GE names. Critical and warning rules are two suites of one checkpoint; result_format COMPLETE with
the record id as index column makes GE itself name the records each rule fails, and those are the records held
back. Nothing here re-implements a rule.

Files (under quality_dir): held_back.parquet, gate_<run_id>.json, then gate_latest.json, each replaced
atomically and in that order, so gate_latest.json (what publication reads) never names a held-back list that is
not on disk. Data Docs: gx/uncommitted/data_docs/local_site/ (a file-backed GE context under quality_dir).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError
from quality.rules import Rule, RuleSet, load_rules

HELD_BACK_SCHEMA = {"penalty_id": pl.String, "rule": pl.String, "severity": pl.String, "message": pl.String}
_RUN_ID = re.compile(r"^[A-Za-z0-9_.:+-]{1,200}$")


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
    decision: str             # "passed" or "blocked"
    blocked: bool
    reason: str | None
    critical_failure_rate: float
    max_critical_failure_rate: float
    held_back_records: int
    expectations_passed: int
    expectations_failed: int
    rules: list[RuleOutcome] = field(default_factory=list)
    warehouse: dict = field(default_factory=dict)   # path, bytes, mtime_ns of the file validated
    held_back_sha256: str | None = None
    data_docs: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def warehouse_fingerprint(path: Path) -> dict:
    """Which warehouse file a gate result is about (publication refuses a result about another file)."""
    st = Path(path).stat()
    return {"path": str(Path(path).resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def read_batch(warehouse: Path, rules: RuleSet):
    """The columns of the table the rules name, as pandas (via Arrow: several times faster than DuckDB's .df()).
    The mart's other columns (long texts, lineage) are not read: memory follows what the rules check."""
    import duckdb
    import pandas as pd

    if not Path(warehouse).is_file():
        raise GateError(f"no warehouse at {warehouse}: build it first (`creditwh build`)")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        table_columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
            [rules.table]).fetchall()]
        columns = ", ".join(f'"{c}"' for c in rules.columns_read(table_columns)) or "*"
        frame = con.sql(f"select {columns} from {rules.table} order by {rules.id_column}").to_arrow_table().to_pandas()
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
        suite.add_expectation(cls(**rule.resolved_kwargs(as_of), meta={"rule_id": rule.id},
                                  description=f"{rule.id} ({rule.severity}): {rule.description}"))
    return suite


def _shown(value) -> str:
    """A failing value as a person reads it: dates without midnight, nothing for missing."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "empty"
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return repr(value)


def _held(rule: Rule, id_column: str, rows: list[dict]) -> list[dict]:
    return [{"penalty_id": row[id_column], "rule": rule.id, "severity": rule.severity,
             "message": f"expected: {rule.description}; found {rule.column} {_shown(row.get(rule.column))}"}
            for row in rows]


def validate_penalties(warehouse_path: Path, quality_dir: Path, run_id: str, as_of: date,
                       rules: RuleSet | None = None) -> GateResult:
    """Validate fct_penalty of the warehouse at `warehouse_path` as of `as_of`; write the verdict, the held-back
    records and Data Docs under `quality_dir`. Raises GateError if the gate cannot decide."""
    from quality import quiet_great_expectations

    quiet_great_expectations()
    import great_expectations as gx

    if not _RUN_ID.match(run_id):
        raise GateError(f"run id {run_id!r}: use letters, digits and _.:+- only (it names a file)")
    warehouse_path, quality_dir = Path(warehouse_path), Path(quality_dir)
    rules = rules or load_rules("penalties")
    if not warehouse_path.is_file():
        raise GateError(f"no warehouse at {warehouse_path}: build it first (`creditwh build`)")
    fingerprint = warehouse_fingerprint(warehouse_path)
    frame = read_batch(warehouse_path, rules)
    if warehouse_fingerprint(warehouse_path) != fingerprint:
        raise GateError(f"the warehouse {warehouse_path} was replaced while the gate read it: run the gate again")
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
    outcomes, held, seen = [], [], set()
    for validation in result.run_results.values():
        for r in validation.results:
            rule = by_id[r.expectation_config.meta["rule_id"]]
            seen.add(rule.id)
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise GateError(f"rule {rule.id} could not be evaluated: {r.exception_info.get('exception_message')}")
            evaluated = r.result.get("element_count")
            # GE can report success with no observed value ("Observed: N/A") while evaluating nothing: never accept it.
            if evaluated is None or (not rule.conditional and evaluated != len(frame)):
                raise GateError(f"rule {rule.id} evaluated {evaluated} of {len(frame)} records: GE did not really "
                                "run it, so the gate cannot decide")
            unexpected = int(r.result.get("unexpected_count") or 0)
            rows = r.result.get("unexpected_index_list") or []
            if len(rows) != unexpected:
                raise GateError(f"rule {rule.id}: GE counted {unexpected} failing records but named {len(rows)}")
            outcomes.append(RuleOutcome(rule.id, rule.severity, rule.dimension, bool(r.success), int(evaluated),
                                        unexpected, rule.description))
            if rule.severity == "critical":
                held.extend(_held(rule, rules.id_column, rows))
    if missing := set(by_id) - seen:
        raise GateError(f"rules without a GE result: {sorted(missing)}")
    order = {r.id: i for i, r in enumerate(rules.rules)}
    outcomes.sort(key=lambda o: order[o.rule])
    held_frame = (pl.DataFrame(held, schema=HELD_BACK_SCHEMA).unique(["penalty_id", "rule"], keep="first")
                  .sort(["penalty_id", pl.col("rule").replace_strict(order, return_dtype=pl.Int64)]))
    held_ids = held_frame["penalty_id"].n_unique()
    rate = held_ids / len(frame) if len(frame) else 0.0
    reason = None
    if len(frame) < rules.min_records:
        reason = (f"{rules.table} holds {len(frame)} records, fewer than the {rules.min_records} a batch needs: "
                  "the warehouse build is probably broken")
    elif rate > rules.max_critical_failure_rate:
        worst = sorted((o for o in outcomes if o.severity == "critical" and o.unexpected),
                       key=lambda o: (-o.unexpected, order[o.rule]))
        reason = (f"{rate:.1%} of {len(frame):,} penalty records fail a critical rule, above the "
                  f"{rules.max_critical_failure_rate:.1%} threshold; worst: "
                  + ", ".join(f"{o.rule} ({o.unexpected:,})" for o in worst[:3]))
    docs = context.get_docs_sites_urls()
    gate = GateResult(
        run_id=run_id, as_of=as_of.isoformat(), records=len(frame),
        decision="blocked" if reason else "passed", blocked=reason is not None, reason=reason,
        critical_failure_rate=round(rate, 6), max_critical_failure_rate=rules.max_critical_failure_rate,
        held_back_records=held_ids,
        expectations_passed=sum(o.success for o in outcomes), expectations_failed=sum(not o.success for o in outcomes),
        rules=outcomes, warehouse=fingerprint, data_docs=docs[0]["site_url"] if docs else None,
    )
    _write(quality_dir, gate, held_frame)
    return gate


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write(quality_dir: Path, gate: GateResult, held: pl.DataFrame) -> None:
    """held_back.parquet first, then the verdict naming its hash, gate_latest.json last (the commit point)."""
    import io

    buffer = io.BytesIO()
    held.write_parquet(buffer)
    data = buffer.getvalue()
    _replace(quality_dir / "held_back.parquet", data)
    gate.held_back_sha256 = hashlib.sha256(data).hexdigest()
    payload = json.dumps(gate.to_json() | {"written_at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
                         ensure_ascii=False, indent=2).encode("utf-8")
    _replace(quality_dir / f"gate_{gate.run_id}.json", payload)
    _replace(quality_dir / "gate_latest.json", payload)
