"""Apply a feed contract to a raw table: typed canonical rows to land, and the rest quarantined with a reason.

Every raw row ends in exactly one of the two outputs. A row's reason is the first problem found, in column
order, so the message a department reads points at one field it can fix.
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


def _value(column, raw: pl.Expr) -> pl.Expr:
    if column.type == "date":
        return n.date_value(raw)
    if column.type == "amount_wan":
        return n.amount_wan_value(raw)
    if column.type == "integer":
        return n.integer_value(raw)
    if column.type == "code":
        return n.mapped_code(raw, column.codes)
    if column.type in ("uscc", "registration_no"):
        return n.code_value(raw)
    return n.clean_text(raw)


def _notes(column, raw: pl.Expr, date_format: str = "%Y-%m-%d") -> pl.Expr:
    """What normalisation changed in this column, as a list of notes (for `_issues`)."""
    flags = [
        pl.when(n.is_fullwidth(raw)).then(pl.lit(f"fullwidth:{column.name}")),
        pl.when(n.has_invisible(raw)).then(pl.lit(f"invisible_chars:{column.name}")),
    ]
    if column.type == "date":
        agreed = pl.any_horizontal(  # fill_null: a null in an OR would leave the note unset
            n.clean_text(raw).str.strptime(pl.Date, date_format, strict=False).is_not_null(),
            n.clean_text(raw).is_null(), n.is_excel_serial(raw).fill_null(False),
            n.is_no_end_date(raw).fill_null(False))
        flags += [pl.when(n.is_excel_serial(raw)).then(pl.lit(f"excel_serial_date:{column.name}")),
                  pl.when(n.is_no_end_date(raw)).then(pl.lit(f"no_end_date:{column.name}")),
                  # read all the same (normalise knows the departments' spellings), but not as agreed
                  pl.when(~agreed).then(pl.lit(f"date_format:{column.name}"))]
    if column.type == "amount_wan":
        flags.append(pl.when(n.has_yuan_unit(raw)).then(pl.lit(f"amount_unit_converted:{column.name}")))
    if column.type == "string":  # kept as text; flagged so no export hands it to a spreadsheet as a formula
        flags.append(pl.when(raw.str.contains(r"^[=+@]|^-[^0-9]")).then(pl.lit(f"formula_like:{column.name}")))
    return pl.concat_list(flags).list.drop_nulls()


def _normalised(column, raw: pl.Expr, date_format: str = "%Y-%m-%d") -> list[pl.Expr]:
    """The typed value, whether the raw cell held anything, and the notes: three columns per source column."""
    return [
        _value(column, raw).alias(column.name),
        n.clean_text(raw).is_not_null().alias(f"__present_{column.name}"),
        _notes(column, raw, date_format).alias(f"__notes_{column.name}"),
    ]


def _normalise_all(contract: Contract, raw: pl.DataFrame) -> pl.DataFrame:
    """Normalise every column. Most columns repeat a lot (dates, amounts, codes, authorities, categories), so a
    column with few distinct values is normalised once per value and joined back; the others cell by cell."""
    repetitive = {c.name for c in contract.columns
                  if c.type in _DISTINCT_TYPES or raw[c.source].n_unique() * 2 < max(raw.height, 1)}
    per_row = [e for c in contract.columns if c.name not in repetitive for e in _normalised(c, pl.col(c.source), contract.date_format)]
    frame = raw.with_columns(per_row)
    for c in contract.columns:
        if c.name in repetitive:
            lookup = raw.select(pl.col(c.source).unique()).with_columns(_normalised(c, pl.col(c.source), contract.date_format))
            frame = frame.join(lookup, on=c.source, how="left", nulls_equal=True, maintain_order="left")
    return frame


def conform(contract: Contract, raw: pl.DataFrame, file_name: str) -> Conformed:
    names = {c.name: c for c in contract.columns}
    typed = _normalise_all(contract, raw)

    # An old system's 15-digit registration number in the USCC field is an identifier, just in the wrong place.
    moved_regno = pl.lit(False)
    if contract.has_uscc:
        typed = typed.with_columns(n.is_registration_no(pl.col("uscc")).fill_null(False).alias("_moved_regno"))
        if "registration_no" not in names:
            typed = typed.with_columns(pl.lit(None, dtype=pl.String).alias("registration_no"))
        moved_regno = pl.col("_moved_regno")
        typed = typed.with_columns(
            pl.when(moved_regno).then(None).otherwise(pl.col("uscc")).alias("uscc"),
            pl.when(moved_regno & pl.col("registration_no").is_null()).then(pl.col("uscc"))
            .otherwise(pl.col("registration_no")).alias("registration_no"),
        )

    problems: list[tuple[pl.Expr, str, str, pl.Expr]] = []  # (condition, reason, field, detail)
    for c in contract.columns:
        raw_col, value, raw_present = pl.col(c.source), pl.col(c.name), pl.col(f"__present_{c.name}")
        problems.append((raw_col.str.len_chars() > MAX_FIELD_CHARS, "field_too_long", c.name,
                         pl.format("{} characters, over the {} limit", raw_col.str.len_chars(),
                                   pl.lit(MAX_FIELD_CHARS))))
        if c.required:
            problems.append((~raw_present, "missing_required", c.name, pl.lit("a required value is empty")))
        unreadable = raw_present & value.is_null()
        if c.type == "date":
            no_end = pl.col(f"__notes_{c.name}").list.contains(f"no_end_date:{c.name}")
            problems.append((unreadable & ~no_end, "bad_date", c.name, pl.format("cannot read '{}' as a date", raw_col)))
        elif c.type == "amount_wan":
            problems.append((unreadable, "bad_amount", c.name, pl.format("cannot read '{}' as an amount", raw_col)))
        elif c.type == "integer":
            problems.append((unreadable, "bad_integer", c.name, pl.format("cannot read '{}' as a whole number", raw_col)))
        elif c.type == "code":
            allowed = ", ".join(sorted(c.codes))
            problems.append((unreadable, "unknown_code", c.name,
                             pl.format("'{}' is not in the code list ({})", raw_col, pl.lit(allowed))))
    identifiers = list(contract.identifier_required_one_of)
    if identifiers and contract.has_uscc and "registration_no" not in identifiers:
        identifiers.append("registration_no")  # a legacy number moved out of the USCC field still identifies
    if identifiers:
        none = pl.all_horizontal([pl.col(f).is_null() for f in identifiers])
        problems.append((none, "missing_identifier", "/".join(identifiers),
                         pl.lit("no usable identifier (" + " or ".join(identifiers) + ")")))

    def first_problem(part: int) -> pl.Expr:
        return pl.coalesce([
            pl.when(cond.fill_null(False)).then(pl.lit(reason) if part == 0 else pl.lit(field) if part == 1 else detail)
            for cond, reason, field, detail in problems
        ])

    typed = typed.with_columns(
        first_problem(0).alias(REASON), first_problem(1).alias(FIELD), first_problem(2).alias("_detail")
    )

    # Within one file, a second row with the same key is a duplicate, whether an exact copy or a conflicting one.
    key_cols = list(contract.key)
    # A key with an empty part (e.g. a USCC moved out as a registration number) identifies nothing yet.
    valid = pl.col(REASON).is_null() & pl.all_horizontal([pl.col(k).is_not_null() for k in key_cols])
    first_row_of_key = pl.when(valid).then(pl.col(SOURCE_ROW)).min().over(key_cols)
    is_dup = valid & (pl.col(SOURCE_ROW) != first_row_of_key)
    typed = typed.with_columns(
        pl.when(is_dup).then(pl.lit("duplicate_key")).otherwise(pl.col(REASON)).alias(REASON),
        pl.when(is_dup).then(pl.lit("/".join(key_cols))).otherwise(pl.col(FIELD)).alias(FIELD),
        pl.when(is_dup).then(pl.format("same key as row {}", first_row_of_key)).otherwise(pl.col("_detail"))
        .alias("_detail"),
    )

    source_of = {c.name: c.source for c in contract.columns}
    field_source = pl.col(FIELD).replace_strict(source_of, default=pl.col(FIELD))
    quarantined = typed.filter(pl.col(REASON).is_not_null()).with_columns(
        pl.format("{}: row {}: field {} ({}): {}", pl.lit(file_name), pl.col(SOURCE_ROW), pl.col(FIELD),
                  field_source, pl.col("_detail")).alias(MESSAGE)
    ).select([*contract.source_names, SOURCE_ROW, REASON, FIELD, MESSAGE])
    good = typed.filter(pl.col(REASON).is_null())
    issue_flags = [pl.when(moved_regno).then(pl.lit(["uscc_was_registration_no"])).otherwise(pl.lit([], dtype=pl.List(pl.String)))]
    issue_flags += [pl.col(f"__notes_{c.name}") for c in contract.columns]
    issues = pl.concat_list(issue_flags).list.join(";")
    extra = [pl.when(issues == "").then(None).otherwise(issues).alias(ISSUES)]
    if contract.has_uscc:
        extra.append(uscc_check_ok_expr("uscc").alias("uscc_check_ok"))
    loaded = good.with_columns(extra)
    schema = landed_schema(contract)
    loaded = loaded.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
    return Conformed(loaded=loaded, quarantined=quarantined)
