"""Apply a feed contract to a raw table: typed canonical rows to land, and the rest quarantined with a reason.

Every raw row ends in exactly one of the two outputs. A row's reason is the first problem found, in column
order, so the message a department reads points at one field it can fix.

Why it is fast (docs/feeds.md, Throughput): each cell is cleaned once and its typed value, notes and a small
problem code are all derived from that clean text; a column with few distinct values (dates, amounts, codes,
authorities) is normalised once per distinct value and joined back; the whole file is one lazy query collected
once; and the reason, field and message texts are built only for the rows that are quarantined.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ingestion import normalise as n
from ingestion.contracts import Contract
from ingestion.identifiers import uscc_check_ok_expr
from ingestion.readers import SOURCE_ROW

REASON, FIELD, MESSAGE, ISSUES = "_reason", "_field", "_message", "_issues"
MAX_FIELD_CHARS = 10_000  # no 双公示 field comes near this; a longer cell is a broken export or an attack
POLARS_TYPE = {
    "string": pl.String, "uscc": pl.String, "registration_no": pl.String, "code": pl.String,
    "date": pl.Date, "amount_wan": pl.Float64, "integer": pl.Int64,
}
# A column's problem code; 0 is "none". A row's reason is the first non-zero code in column order.
TOO_LONG, MISSING_REQUIRED, UNREADABLE = 1, 2, 3
_PROBLEM, _FIRST_ROW, _DETAIL, _MOVED_REGNO = "__problem", "__first_row", "__detail", "__moved_regno"
# polars 2.1 collects on its streaming engine by default: 2-4x slower than in-memory on these wide, short queries,
# and it panics on the quarantine message of the entity registry (a string built from a coalesced when/then).
ENGINE = "in-memory"


@dataclass
class Conformed:
    loaded: pl.DataFrame       # canonical columns (+ uscc_check_ok, _issues, _source_row)
    quarantined: pl.DataFrame  # raw source columns (+ _reason, _field, _message, _source_row)


def landed_schema(contract: Contract) -> dict[str, pl.DataType]:
    """The typed columns of a landed row, before lineage columns are added."""
    schema = {c.name: POLARS_TYPE[c.type] for c in contract.columns}
    if contract.has_uscc:
        schema.setdefault("registration_no", pl.String)  # where a legacy number found in the USCC field goes
        schema["uscc_check_ok"] = pl.Boolean
    schema[ISSUES] = pl.String
    schema[SOURCE_ROW] = pl.Int64
    return schema


_DISTINCT_TYPES = {"date", "amount_wan", "integer", "code"}  # few distinct values: normalise each once


def _raw(column) -> str:  # internal name: a source header may equal a canonical name (court feed: `duty`)
    return f"__raw_{column.name}"


def _clean(column) -> str:
    return f"__clean_{column.name}"


def _notes(column) -> str:
    return f"__notes_{column.name}"


def _problem(column) -> str:
    return f"__problem_{column.name}"


def _value(column, text: pl.Expr) -> pl.Expr:
    if column.type == "date":
        return n.date_of_clean(text)
    if column.type == "amount_wan":
        return n.amount_wan_of_clean(text)
    if column.type == "integer":
        return n.integer_of_clean(text)
    if column.type == "code":
        return n.mapped_code_of_clean(text, column.codes)
    if column.type in ("uscc", "registration_no"):
        return n.code_of_clean(text)
    return text


def _derived(column, date_format: str) -> list[pl.Expr]:
    """From a column's raw and clean text: its typed value, what normalisation changed (notes, `;`-joined, NULL
    when nothing) and its problem code. Every expression here is per cell, so it may run on distinct values."""
    raw, text = pl.col(_raw(column)), pl.col(_clean(column))
    value = _value(column, text)
    present = text.is_not_null()
    flags = [
        pl.when(n.is_fullwidth(raw)).then(pl.lit(f"fullwidth:{column.name}")),
        pl.when(n.has_invisible(raw)).then(pl.lit(f"invisible_chars:{column.name}")),
    ]
    no_end = pl.lit(False)
    if column.type == "date":
        excel_serial, no_end = n.is_excel_serial_clean(text), n.is_no_end_date_clean(text)
        agreed = pl.any_horizontal(  # fill_null: a null in an OR would leave the note unset
            text.str.strptime(pl.Date, date_format, strict=False).is_not_null(),
            text.is_null(), excel_serial.fill_null(False), no_end.fill_null(False))
        flags += [pl.when(excel_serial).then(pl.lit(f"excel_serial_date:{column.name}")),
                  pl.when(no_end).then(pl.lit(f"no_end_date:{column.name}")),
                  # read all the same (normalise knows the departments' spellings), but not as agreed
                  pl.when(~agreed).then(pl.lit(f"date_format:{column.name}"))]
    if column.type == "amount_wan":
        flags.append(pl.when(n.has_yuan_unit_clean(text)).then(pl.lit(f"amount_unit_converted:{column.name}")))
    if column.type == "string":  # kept as text; flagged so no export hands it to a spreadsheet as a formula
        flags.append(pl.when(raw.str.contains(r"^[=+@]|^-[^0-9]")).then(pl.lit(f"formula_like:{column.name}")))
    notes = pl.concat_str(flags, separator=";", ignore_nulls=True)

    problem = pl.when((raw.str.len_chars() > MAX_FIELD_CHARS).fill_null(False)).then(TOO_LONG)
    if column.required:
        problem = problem.when(~present).then(MISSING_REQUIRED)
    if column.type in _UNREADABLE:
        unreadable = present & value.is_null()
        if column.type == "date":  # 2099-12-31 and later is read as "no end", not as a bad date
            unreadable = unreadable & ~no_end.fill_null(False)
        problem = problem.when(unreadable).then(UNREADABLE)
    return [value.alias(column.name), pl.when(notes == "").then(None).otherwise(notes).alias(_notes(column)),
            problem.otherwise(0).cast(pl.UInt8).alias(_problem(column))]


# What an unreadable value of each type is called, and the detail a department reads (`{}` is the raw value).
_UNREADABLE = {
    "date": ("bad_date", "cannot read '{}' as a date"),
    "amount_wan": ("bad_amount", "cannot read '{}' as an amount"),
    "integer": ("bad_integer", "cannot read '{}' as a whole number"),
    "code": ("unknown_code", "'{}' is not in the code list ({})"),
}


class _Plan:
    """The expressions of one contract, built once per process: building them costs more than running them on a
    small file, and a run reads many files of each feed."""

    def __init__(self, contract: Contract):
        self.contract = contract
        columns = contract.columns
        self.rename = [*(pl.col(c.source).alias(_raw(c)) for c in columns), pl.col(SOURCE_ROW)]
        self.clean = {c.name: n.clean_text(pl.col(_raw(c))).alias(_clean(c)) for c in columns}
        self.derived = {c.name: _derived(c, contract.date_format) for c in columns}

        # The catalogue of problems, in the order they are looked for: (reason, field, detail).
        catalogue: list[tuple[str, str, pl.Expr]] = []
        first_in_column = []
        for c in columns:
            raw_col = pl.col(_raw(c))
            found = {TOO_LONG: ("field_too_long", pl.format("{} characters, over the {} limit",
                                                            raw_col.str.len_chars(), pl.lit(MAX_FIELD_CHARS)))}
            if c.required:
                found[MISSING_REQUIRED] = ("missing_required", pl.lit("a required value is empty"))
            if c.type in _UNREADABLE:
                reason, text = _UNREADABLE[c.type]
                extra = [pl.lit(", ".join(sorted(c.codes)))] if c.type == "code" else []
                found[UNREADABLE] = (reason, pl.format(text, raw_col, *extra))
            ids = {}
            for kind, (reason, detail) in found.items():
                ids[kind] = len(catalogue)
                catalogue.append((reason, c.name, detail))
            first_in_column.append(pl.col(_problem(c)).replace_strict(ids, default=None, return_dtype=pl.UInt16))

        # An old system's 15-digit registration number in the USCC field is an identifier, just in the wrong place.
        self.moved_regno: list[list[pl.Expr]] = []
        moved = pl.lit(False)
        if contract.has_uscc:
            moved = pl.col(_MOVED_REGNO)
            self.moved_regno.append([n.is_registration_no(pl.col("uscc")).fill_null(False).alias(_MOVED_REGNO)])
            if "registration_no" not in contract.canonical_names:
                self.moved_regno.append([pl.lit(None, dtype=pl.String).alias("registration_no")])
            self.moved_regno.append([
                pl.when(moved).then(None).otherwise(pl.col("uscc")).alias("uscc"),
                pl.when(moved & pl.col("registration_no").is_null()).then(pl.col("uscc"))
                .otherwise(pl.col("registration_no")).alias("registration_no"),
            ])

        identifiers = list(contract.identifier_required_one_of)
        if identifiers and contract.has_uscc and "registration_no" not in identifiers:
            identifiers.append("registration_no")  # a legacy number moved out of the USCC field still identifies
        if identifiers:
            none = pl.all_horizontal([pl.col(f).is_null() for f in identifiers])
            first_in_column.append(pl.when(none).then(pl.lit(len(catalogue), dtype=pl.UInt16)))
            catalogue.append(("missing_identifier", "/".join(identifiers),
                              pl.lit("no usable identifier (" + " or ".join(identifiers) + ")")))
        self.problem = pl.coalesce(first_in_column).alias(_PROBLEM)

        # Within one file, a second row with the same key is a duplicate, whether an exact copy or a conflicting
        # one. A key with an empty part (e.g. a USCC moved out as a registration number) identifies nothing yet.
        key_cols = list(contract.key)
        duplicate = len(catalogue)
        catalogue.append(("duplicate_key", "/".join(key_cols), pl.format("same key as row {}", pl.col(_FIRST_ROW))))
        valid = pl.col(_PROBLEM).is_null() & pl.all_horizontal([pl.col(k).is_not_null() for k in key_cols])
        self.first_row = pl.when(valid).then(pl.col(SOURCE_ROW)).min().over(key_cols).alias(_FIRST_ROW)
        self.duplicate = (pl.when(valid & (pl.col(SOURCE_ROW) != pl.col(_FIRST_ROW)))
                          .then(pl.lit(duplicate, dtype=pl.UInt16)).otherwise(pl.col(_PROBLEM)).alias(_PROBLEM))

        problem_id = pl.col(_PROBLEM)
        self.reason_field_detail = [
            problem_id.replace_strict({i: r for i, (r, _, _) in enumerate(catalogue)}, return_dtype=pl.String)
            .alias(REASON),
            problem_id.replace_strict({i: f for i, (_, f, _) in enumerate(catalogue)}, return_dtype=pl.String)
            .alias(FIELD),
            pl.coalesce([pl.when(problem_id == i).then(d) for i, (_, _, d) in enumerate(catalogue)]).alias(_DETAIL),
        ]
        self.field_source = pl.col(FIELD).replace_strict({c.name: c.source for c in columns}, default=pl.col(FIELD))
        self.quarantine_columns = [*(pl.col(_raw(c)).alias(c.source) for c in columns), SOURCE_ROW, REASON, FIELD,
                                   MESSAGE]

        notes = pl.concat_str([pl.when(moved).then(pl.lit("uscc_was_registration_no")),
                               *(pl.col(_notes(c)) for c in columns)], separator=";", ignore_nulls=True)
        self.landed = [pl.when(notes == "").then(None).otherwise(notes).alias(ISSUES)]
        if contract.has_uscc:
            self.landed.append(uscc_check_ok_expr("uscc").alias("uscc_check_ok"))
        self.landed_columns = [pl.col(name).cast(dtype) for name, dtype in landed_schema(contract).items()]


_plans: dict[int, _Plan] = {}
_MAX_PLANS = 256  # each run loads its contracts anew: a long-lived process (an Airflow worker) must not keep them all


def _plan(contract: Contract) -> _Plan:
    # Keyed by identity (a contract holds dicts, so it is not hashable); the plan keeps its contract alive, so an
    # id is never reused for another contract while its plan is cached.
    plan = _plans.get(id(contract))
    if plan is None or plan.contract is not contract:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        plan = _plans[id(contract)] = _Plan(contract)
    return plan


def _repetitive(contract: Contract, raw: pl.DataFrame) -> set[str]:
    """Columns worth normalising once per distinct value: typed ones, and text repeated on most rows."""
    text = [c for c in contract.columns if c.type not in _DISTINCT_TYPES]
    distinct = raw.select([pl.col(c.source).n_unique().alias(c.name) for c in text]).row(0, named=True) if text else {}
    return ({c.name for c in contract.columns if c.type in _DISTINCT_TYPES}
            | {name for name, count in distinct.items() if count * 2 < max(raw.height, 1)})


def _typed(contract: Contract, plan: _Plan, raw: pl.DataFrame) -> pl.LazyFrame:
    repetitive = _repetitive(contract, raw)
    per_row = [c for c in contract.columns if c.name not in repetitive]
    source = raw.lazy().select(plan.rename)
    frame = (source.with_columns([plan.clean[c.name] for c in per_row])
             .with_columns([e for c in per_row for e in plan.derived[c.name]])
             .drop([_clean(c) for c in per_row]))
    for c in contract.columns:
        if c.name in repetitive:
            lookup = (source.select(pl.col(_raw(c)).unique())
                      .with_columns(plan.clean[c.name]).with_columns(plan.derived[c.name]).drop(_clean(c)))
            frame = frame.join(lookup, on=_raw(c), how="left", nulls_equal=True, maintain_order="left")
    return frame


def conform(contract: Contract, raw: pl.DataFrame, file_name: str) -> Conformed:
    plan = _plan(contract)
    typed = _typed(contract, plan, raw)
    for step in plan.moved_regno:
        typed = typed.with_columns(step)
    typed = (typed.with_columns(plan.problem).with_columns(plan.first_row).with_columns(plan.duplicate)
             .collect(engine=ENGINE))

    quarantined = (typed.lazy().filter(pl.col(_PROBLEM).is_not_null())
                   .with_columns(plan.reason_field_detail)
                   .with_columns(pl.format("{}: row {}: field {} ({}): {}", pl.lit(file_name), pl.col(SOURCE_ROW),
                                           pl.col(FIELD), plan.field_source, pl.col(_DETAIL)).alias(MESSAGE))
                   .select(plan.quarantine_columns))
    loaded = (typed.lazy().filter(pl.col(_PROBLEM).is_null())
              .with_columns(plan.landed).select(plan.landed_columns))
    loaded, quarantined = pl.collect_all([loaded, quarantined], engine=ENGINE)
    return Conformed(loaded=loaded, quarantined=quarantined)
