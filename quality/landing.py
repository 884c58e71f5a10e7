"""Landing suites: every landed ingestion run of a feed is validated with Great Expectations, one run = one batch.

The rules come from quality/landing_rules.py (contract-generated + the feed's own file). The batch is the run's
Parquet parts read into pandas (the path of docs/quality.md "Why the pandas path"), so memory is bounded by one
run, never by the feed's history. GE names the failing rows itself (`result_format` COMPLETE with the row's
lineage, file name + source row, as index columns); those become the row-level flags. An expectation whose
result does not say it looked at the batch's rows stops the validation (GE can report success having evaluated
nothing).

Written under <home>/quality/landing/<feed>/run=<run_id>/: flags.parquet first, then summary.json (the commit
point: a run is validated when its summary exists). Data Docs: the same GE site as the gate.
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from creditwh.errors import CreditwhError
from creditwh.settings import CONTRACTS_DIR, QUALITY_RULES_DIR, Home
from ingestion.contracts import Contract, load_contracts
from ingestion.landing import SCHEMA_RUN_ID
from quality.landing_rules import DERIVED, LandingRule, generation_settings, landing_rules, registry_feed_id
from quality.working_days import covered_years, working_days_expr

# GE names failing rows by this pandas index: the row's position in the run. As the frame's named index, with
# exclude_unexpected_values, GE returns the failing ids as one list instead of building a dict per failing row
# (which took ~80 s for a backfill of 300,000 late licences).
ROW_ID = "_row_id"
CHINA = timedelta(hours=8)  # the deadline is counted in China's calendar days, not UTC's
FLAG_SCHEMA = {
    "department": pl.String, "feed": pl.String, "run_id": pl.String, "file_name": pl.String,
    "source_row": pl.Int64, "record_key": pl.String, "rule": pl.String, "severity": pl.String,
    "dimension": pl.String, "field": pl.String, "value": pl.String, "message": pl.String, "month": pl.String,
}


class LandingValidationError(CreditwhError):
    """A landed run could not be validated (missing run, or an expectation that evaluated nothing)."""


@dataclass
class RuleResult:
    rule: str
    severity: str
    dimension: str
    evaluated: int
    unexpected: int
    success: bool


@dataclass
class RunSummary:
    feed: str
    department: str
    run_id: str
    landed_at: str
    rows: int
    files: list[str]
    quarantined: int
    quarantine_reasons: dict[str, int]
    flags: dict[str, int]
    flagged_rows: int
    rules: list[RuleResult] = field(default_factory=list)
    rows_by_month: dict[str, int] = field(default_factory=dict)
    timeliness_rows_by_month: dict[str, int] = field(default_factory=dict)   # rows a timeliness rule measured
    warnings: list[str] = field(default_factory=list)
    data_docs: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def run_dir(home: Home, feed: str, run_id: str) -> Path:
    return home.quality / "landing" / feed / f"run={run_id}"


def landed_at(home: Home, run_id: str) -> datetime:
    """When a run landed (UTC): its run record's `started_at`; the sortable run id if the record is missing."""
    record = home.ingest_runs / f"{run_id}.json"
    if record.is_file():
        started = json.loads(record.read_text(encoding="utf-8")).get("started_at")
        if started:
            return datetime.fromisoformat(started).astimezone(timezone.utc)
    try:
        return datetime.strptime(run_id[:15], "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        raise LandingValidationError(f"run {run_id}: no run record {record} and no timestamp in the id") from None


def china_date(moment: datetime) -> date:
    return (moment.astimezone(timezone.utc) + CHINA).date()


def _quarantine_counts(home: Home, feed: str, run_id: str) -> tuple[int, dict[str, int]]:
    record = home.ingest_runs / f"{run_id}.json"
    if not record.is_file():
        return 0, {}
    total, reasons = 0, {}
    for f in json.loads(record.read_text(encoding="utf-8")).get("files", []):
        if f.get("feed") == feed:
            total += f.get("quarantined", 0)
            for reason, n in (f.get("quarantine_reasons") or {}).items():
                reasons[reason] = reasons.get(reason, 0) + n
    return total, reasons


def read_run(home: Home, feed: str, run_id: str) -> pl.DataFrame:
    parts = sorted((home.landing / feed / f"run={run_id}").glob("part-*.parquet"))
    if not parts:
        raise LandingValidationError(f"no landed parts under {home.landing / feed / f'run={run_id}'}")
    return pl.concat([pl.read_parquet(p) for p in parts], how="vertical_relaxed")


def registry_identifiers(home: Home, registry_feed: str) -> tuple[set[str], set[str]]:
    """USCCs and registration numbers the registry knows (every landed registry run)."""
    files = [p for p in (home.landing / registry_feed).glob("run=*/*.parquet") if SCHEMA_RUN_ID not in str(p)]
    if not files:
        return set(), set()
    reg = pl.scan_parquet(files).select("uscc", "registration_no").collect()
    return set(reg["uscc"].drop_nulls().to_list()), set(reg["registration_no"].drop_nulls().to_list())


def _in_window(rule: LandingRule) -> pl.Expr:
    col = pl.col(rule.applies_to)
    ok = col.is_not_null()
    if rule.effective_from:
        ok &= col >= rule.effective_from
    if rule.effective_to:
        ok &= col <= rule.effective_to
    return ok


def prepare(frame: pl.DataFrame, rules: list[LandingRule], landed_day: date,
            registry: tuple[set[str], set[str]] | None) -> pl.DataFrame:
    """Add the derived columns the rules check (working days to landing, calendar coverage, entity known)."""
    frame = frame.with_columns(pl.lit(landed_day).alias("__landed_day"))
    first, last = covered_years()
    for rule in rules:
        if not rule.derive:
            continue
        (kind, source), = rule.derive.items()
        window = _in_window(rule) if rule.applies_to else pl.lit(True)
        if kind == "working_days":
            frame = working_days_expr(frame, source, "__landed_day", DERIVED[kind])
            frame = frame.with_columns(pl.when(window).then(pl.col(DERIVED[kind])).alias(DERIVED[kind]))
        elif kind == "calendar_covered":
            covered = (pl.col(source).dt.year().is_between(first, last) & (first <= landed_day.year <= last))
            frame = frame.with_columns(pl.when(window & pl.col(source).is_not_null()).then(covered)
                                       .alias(DERIVED[kind]))
    if any(r.kwargs.get("column") == "_entity_known" for r in rules):
        usccs, regnos = registry or (set(), set())
        frame = frame.with_columns(
            (pl.col("uscc").is_in(list(usccs)).fill_null(False)
             | pl.col("registration_no").is_in(list(regnos)).fill_null(False)).alias("_entity_known"))
    return frame.drop("__landed_day")


def _to_pandas(frame: pl.DataFrame):
    import pandas as pd

    pdf = frame.to_arrow().to_pandas()
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:  # GE compares datetimes, not python dates
            pdf[name] = pd.to_datetime(pdf[name])
    return pdf


def _suite(gx, name: str, rules: list[LandingRule], run_date: datetime):
    import great_expectations.expectations as gxe

    import quality.expectations as custom

    expectations = []
    for rule in rules:
        class_name = "".join(part.title() for part in rule.expectation.split("_"))
        cls = getattr(gxe, class_name, None) or getattr(custom, class_name, None)
        if cls is None:
            raise LandingValidationError(f"rule {rule.id}: unknown expectation {rule.expectation}")
        expectations.append(cls(**rule.resolved_kwargs(run_date), meta={"rule_id": rule.id},
                                description=f"{rule.id} ({rule.severity}): {rule.description}"))
    # all at once: adding one by one to a suite the file-backed store knows rewrites it per expectation
    return gx.ExpectationSuite(name=name, expectations=expectations)


def _record_key(contract: Contract) -> pl.Expr:
    return pl.concat_str([pl.format("{}={}", pl.lit(k), pl.col(k).cast(pl.String).fill_null("")) for k in contract.key],
                         separator="|")


def _month(contract: Contract, landed_day: date) -> pl.Expr:
    column = generation_settings(QUALITY_RULES_DIR)["month_column"].get(contract.id)
    fallback = pl.lit(landed_day.strftime("%Y-%m"))
    if not column:
        return fallback
    return pl.col(column).dt.strftime("%Y-%m").fill_null(fallback)


def _shown(frame: pl.DataFrame, column: str) -> pl.Expr:
    """A value as a person reads it: dates without midnight, whole amounts without .0, `empty` for missing."""
    c, dtype = pl.col(column), frame.schema[column]
    if dtype == pl.Float64:
        text = pl.when(c == c.round(0)).then(c.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(c.cast(pl.String))
    elif dtype == pl.Boolean:
        text = pl.when(c).then(pl.lit("True")).otherwise(pl.lit("False"))
    elif isinstance(dtype, pl.Datetime):
        text = c.dt.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = c.cast(pl.String)
    return text.fill_null("empty")


def _rule_flags(rule: LandingRule, failing: pl.DataFrame, landed_day: date) -> pl.DataFrame:
    """field, value and what was found, for the failing rows of one rule (vectorised: a run may fail a rule on
    hundreds of thousands of rows, e.g. a backfill that is all late)."""
    if rule.note:
        allowed = rule.extra["columns"]
        if rule.note == "uscc_was_registration_no":
            fld, value = pl.lit("uscc"), _shown(failing, "registration_no")
            found = pl.format("the registration number {} in the USCC field", value)
        else:
            hit = {c: pl.col("_issues").str.contains(f"(?:^|;){rule.note}:{c}(?:;|$)") for c in allowed}
            fld = pl.concat_list([pl.when(h).then(pl.lit(c)) for c, h in hit.items()]).list.drop_nulls().list.join(",")
            value = pl.coalesce([pl.when(h).then(_shown(failing, c)) for c, h in hit.items()] + [pl.lit("empty")])
            found = pl.format("{} in {} (stored after repair as {})", pl.lit(rule.note), fld, value)
        return failing.with_columns(fld.alias("field"), value.alias("value"), found.alias("__found"))
    columns = rule.columns
    if len(columns) == 1:
        value = _shown(failing, columns[0])
        found = pl.format("{} {}", pl.lit(columns[0]), value)
    else:
        value = pl.concat_str([pl.format("{}={}", pl.lit(c), _shown(failing, c)) for c in columns], separator=", ")
        found = value
    if rule.derive:
        (kind, source), = rule.derive.items()
        first, last = covered_years()
        start = pl.format("{} {}, landed on {} (China time)", pl.lit(source), _shown(failing, source),
                          pl.lit(landed_day.isoformat()))
        found = (pl.format("{}: {} working days later", start, value) if kind == "working_days"
                 else pl.format("{}: a year outside the holiday calendar's {}–{}", start, pl.lit(first), pl.lit(last)))
    return failing.with_columns(pl.lit(rule.field).alias("field"), value.alias("value"), found.alias("__found"))


def _flags(contract: Contract, run_id: str, frame: pl.DataFrame, hits: list[tuple[LandingRule, list[dict]]],
           landed_day: date) -> pl.DataFrame:
    """One flag per failing row and rule; the message names file, row and field."""
    keyed = frame.with_columns(pl.col("_file_name").alias("file_name"), pl.col("_source_row").alias("source_row"),
                               _record_key(contract).alias("record_key"), _month(contract, landed_day).alias("month"))
    parts = []
    for rule, index_rows in hits:
        if not index_rows:
            continue
        ids = pl.DataFrame({ROW_ID: index_rows}, schema={ROW_ID: pl.Int64})
        failing = _rule_flags(rule, ids.join(keyed, on=ROW_ID, how="left", maintain_order="left"), landed_day)
        parts.append(failing.select(
            pl.lit(contract.department).alias("department"), pl.lit(contract.id).alias("feed"),
            pl.lit(run_id).alias("run_id"), "file_name", "source_row", "record_key", pl.lit(rule.id).alias("rule"),
            pl.lit(rule.severity).alias("severity"), pl.lit(rule.dimension).alias("dimension"), "field", "value",
            pl.format("{}: row {}: field {}: expected: {}; found {}", "file_name", "source_row", "field",
                      pl.lit(rule.description), "__found").alias("message"),
            "month"))
    if not parts:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    return pl.concat(parts).cast(FLAG_SCHEMA).sort(["file_name", "source_row", "rule"])


class LandingValidator:
    """Validates landed runs; holds one GE context so several runs share its start-up cost."""

    def __init__(self, home: Home, contracts: dict[str, Contract] | None = None,
                 rules_dir: Path = QUALITY_RULES_DIR, data_docs: bool = True):
        self.home, self.rules_dir, self.data_docs = home, Path(rules_dir), data_docs
        self.contracts = contracts or load_contracts(CONTRACTS_DIR)
        self.registry_feed = registry_feed_id(self.contracts)
        self._context = None
        self._registry = None

    def context(self):
        if self._context is None:
            from quality import quiet_great_expectations
            from quality.gate import _context

            quiet_great_expectations()
            if self.data_docs:
                self.home.quality.mkdir(parents=True, exist_ok=True)
                self._context = _context(self.home.quality)
            else:  # nothing to publish: an in-memory context skips writing suites and results to disk
                import logging

                import great_expectations as gx
                from great_expectations.data_context.types.base import ProgressBarsConfig

                # this module sets its own logger to INFO and announces the ephemeral docs folder
                logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

                self._context = gx.get_context(mode="ephemeral")
                self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        return self._context

    def registry(self):
        if self._registry is None and self.registry_feed:
            self._registry = registry_identifiers(self.home, self.registry_feed)
        return self._registry

    def rules(self, feed: str) -> list[LandingRule]:
        return landing_rules(self.contracts[feed], self.registry_feed, self.rules_dir)

    def validate_run(self, feed: str, run_id: str) -> RunSummary:
        from quality import quiet_great_expectations

        quiet_great_expectations()  # before GE's import: under Airflow its import alone logs hundreds of lines
        import great_expectations as gx

        if feed not in self.contracts:
            raise LandingValidationError(f"unknown feed {feed!r}; known: {', '.join(sorted(self.contracts))}")
        contract = self.contracts[feed]
        moment = landed_at(self.home, run_id)
        landed_day = china_date(moment)
        run_date = datetime(landed_day.year, landed_day.month, landed_day.day)
        frame = read_run(self.home, feed, run_id)
        rules = self.rules(feed)
        warnings = []
        registry = self.registry()
        if any(r.kwargs.get("column") == "_entity_known" for r in rules) and not (registry and registry[0]):
            rules = [r for r in rules if r.kwargs.get("column") != "_entity_known"]
            warnings.append(f"{feed} run {run_id}: no registry rows landed yet, so whether subjects are known "
                            "entities was not checked")
        first, last = covered_years()
        if not first <= landed_day.year <= last and any(r.derive for r in rules):
            warnings.append(f"{feed} run {run_id}: landed {landed_day}, outside the Chinese holiday calendar's "
                            f"years ({first}–{last}): timeliness not measured, every dated record is flagged by "
                            "the timeliness_computable rule; update chinese-calendar")
        frame = prepare(frame, rules, landed_day, registry).with_row_index(ROW_ID).with_columns(pl.col(ROW_ID).cast(pl.Int64))
        quarantined, reasons = _quarantine_counts(self.home, feed, run_id)
        hits: list[tuple[LandingRule, list[dict]]] = []
        results: list[RuleResult] = []
        docs = None
        if frame.height:
            pdf = _to_pandas(frame).set_index(ROW_ID)
            context = self.context()
            name = f"landing_{feed}"
            batch = (context.data_sources.add_or_update_pandas("landing")
                     .add_dataframe_asset(name).add_batch_definition_whole_dataframe("run"))
            suite = context.suites.add_or_update(_suite(gx, name, rules, run_date))
            definition = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=name, data=batch, suite=suite))
            actions = [gx.checkpoint.actions.UpdateDataDocsAction(name="data_docs")] if self.data_docs else []
            checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
                name=f"{name}_checkpoint", validation_definitions=[definition], actions=actions,
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_ID],
                               "exclude_unexpected_values": True}))
            result = checkpoint.run(batch_parameters={"dataframe": pdf},
                                    run_id=gx.RunIdentifier(run_name=f"{feed}:{run_id}"))
            by_id = {r.id: r for r in rules}
            seen = set()
            for validation in result.run_results.values():
                for r in validation.results:
                    rule = by_id[r.expectation_config.meta["rule_id"]]
                    seen.add(rule.id)
                    if r.exception_info and r.exception_info.get("raised_exception"):
                        raise LandingValidationError(
                            f"{feed} run {run_id}: rule {rule.id} could not be evaluated: "
                            f"{r.exception_info.get('exception_message')}")
                    evaluated = r.result.get("element_count")
                    if evaluated is None or (not rule.conditional and evaluated != frame.height):
                        raise LandingValidationError(
                            f"{feed} run {run_id}: rule {rule.id} evaluated {evaluated} of {frame.height} rows: "
                            "GE did not really run it")
                    unexpected = int(r.result.get("unexpected_count") or 0)
                    listed = r.result.get("unexpected_index_list") or []
                    index_rows = [int(i) for i in listed[0][ROW_ID]] if listed else []
                    if len(index_rows) != unexpected:
                        raise LandingValidationError(f"{feed} run {run_id}: rule {rule.id}: GE counted "
                                                     f"{unexpected} failing rows but named {len(index_rows)}")
                    results.append(RuleResult(rule.id, rule.severity, rule.dimension, int(evaluated), unexpected,
                                              bool(r.success)))
                    hits.append((rule, index_rows))
            if missing := set(by_id) - seen:
                raise LandingValidationError(f"{feed} run {run_id}: rules without a GE result: {sorted(missing)}")
            if self.data_docs:
                sites = context.get_docs_sites_urls()
                docs = sites[0]["site_url"] if sites else None
        order = {r.id: i for i, r in enumerate(rules)}
        results.sort(key=lambda x: order[x.rule])
        flags = _flags(contract, run_id, frame, hits, landed_day)
        months = frame.select(_month(contract, landed_day).alias("month")).group_by("month").len().sort("month")
        measured = {}
        derived = [c for c in DERIVED.values() if c in frame.columns]
        if derived:  # a row a timeliness rule looked at: its working days, or that they cannot be counted
            timed = (frame.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in derived]))
                     .select(_month(contract, landed_day).alias("month")).group_by("month").len().sort("month"))
            measured = dict(zip(timed["month"].to_list(), timed["len"].to_list()))
        summary = RunSummary(
            feed=feed, department=contract.department, run_id=run_id, landed_at=moment.isoformat(timespec="seconds"),
            rows=frame.height, files=sorted(set(frame["_file_name"].to_list())), quarantined=quarantined,
            quarantine_reasons=reasons,
            flags={s: int((flags["severity"] == s).sum()) for s in ("critical", "warning")},
            flagged_rows=flags.select("file_name", "source_row").n_unique() if flags.height else 0,
            rules=results, rows_by_month=dict(zip(months["month"].to_list(), months["len"].to_list())),
            timeliness_rows_by_month=measured,
            warnings=warnings, data_docs=docs)
        _write(run_dir(self.home, feed, run_id), flags, summary)
        return summary

    def pending_runs(self) -> list[tuple[str, str]]:
        """(feed, run_id) of landed runs without a landing summary yet, oldest first."""
        todo = []
        for feed in sorted(self.contracts):
            for d in sorted((self.home.landing / feed).glob("run=*")):
                run_id = d.name.removeprefix("run=")
                if run_id != SCHEMA_RUN_ID and not (run_dir(self.home, feed, run_id) / "summary.json").is_file():
                    todo.append((feed, run_id))
        return sorted(todo, key=lambda t: (t[1], t[0]))

    def validate_pending(self) -> list[RunSummary]:
        return [self.validate_run(feed, run_id) for feed, run_id in self.pending_runs()]


def validate_run(home: Home, feed: str, run_id: str, data_docs: bool = True) -> RunSummary:
    """Validate one landed run of one feed; write its flags and summary under <home>/quality/landing/."""
    return LandingValidator(home, data_docs=data_docs).validate_run(feed, run_id)


def validate_pending(home: Home, data_docs: bool = True) -> list[RunSummary]:
    """Validate every landed run that has no landing summary yet (what a scheduler calls after ingestion)."""
    return LandingValidator(home, data_docs=data_docs).validate_pending()


def _write(folder: Path, flags: pl.DataFrame, summary: RunSummary) -> None:
    from quality.gate import _replace

    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    flags.write_parquet(buffer)
    _replace(folder / "flags.parquet", buffer.getvalue())
    payload = summary.to_json() | {"validated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    _replace(folder / "summary.json", json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8"))


def all_flags(home: Home) -> pl.DataFrame:
    files = sorted((home.quality / "landing").glob("*/run=*/flags.parquet"))
    if not files:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    return pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")


def all_summaries(home: Home) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((home.quality / "landing").glob("*/run=*/summary.json"))]
