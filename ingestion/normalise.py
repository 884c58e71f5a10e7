"""Vectorised normalisation of raw feed strings into typed canonical values (polars expressions, no row loops).

Each `*_value` function maps a raw string column to its typed value (NULL when the raw value is empty or cannot
be read); the conformance step compares raw and value to tell "empty" from "unreadable".

Every reading starts from `clean_text`, the costliest step (Unicode normalisation and two regex passes). The
`*_of_clean` forms take text that is already clean, so the ingestion hot path cleans each cell once and derives
the value, its presence and its notes from that one result; the raw forms are the same functions composed with
`clean_text`, for callers that read a single column.
"""
from __future__ import annotations

import polars as pl

# Zero-width characters, BOM, non-breaking and ideographic spaces: invisible in a spreadsheet, poison in a key.
INVISIBLE = r"[\u200b\u200c\u200d\u2060\ufeff]"
EXCEL_EPOCH = pl.date(1899, 12, 30)  # Excel's day 0, taking its 1900 leap-year bug into account
NO_END_FROM = pl.date(2099, 12, 31)  # 双公示: 2099/12/31 (or later) means "long-term", i.e. no end date


def clean_text(raw: pl.Expr) -> pl.Expr:
    """Full-width to half-width (NFKC), drop invisible characters, collapse whitespace, empty to NULL."""
    text = (
        raw.str.normalize("NFKC")
        .str.replace_all(INVISIBLE, "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    return pl.when(text == "").then(None).otherwise(text)


def is_fullwidth(raw: pl.Expr) -> pl.Expr:
    return raw.str.contains(r"[\uff01-\uff5e\u3000]")


def has_invisible(raw: pl.Expr) -> pl.Expr:
    return raw.str.contains(r"[\u200b\u200c\u200d\u2060\ufeff\u00a0]|^\s|\s$")


def code_of_clean(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all(r"[\s\-]", "").str.to_uppercase()


def code_value(raw: pl.Expr) -> pl.Expr:
    """An identifier: clean text, no inner spaces or dashes, upper case."""
    return code_of_clean(clean_text(raw))


def is_registration_no(code: pl.Expr) -> pl.Expr:
    """A legacy 15-digit business registration number (what old systems still put in the USCC field)."""
    return code.str.contains(r"^[0-9]{15}$")


def date_of_clean(text: pl.Expr) -> pl.Expr:
    unified = (
        text.str.replace_all(r"[年月./]", "-").str.replace_all("日", "")
        .str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "")  # a datetime from a spreadsheet cell
    )
    serial = text.str.replace(r"\.0+$", "")
    parsed = pl.coalesce(
        unified.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        pl.when(text.str.contains(r"^\d{8}$")).then(text.str.strptime(pl.Date, "%Y%m%d", strict=False)),
        pl.when(serial.str.contains(r"^\d{5}$") & serial.cast(pl.Int64, strict=False).is_between(10000, 80000))
        .then(EXCEL_EPOCH + pl.duration(days=serial.cast(pl.Int64, strict=False))),
    )
    return pl.when(parsed >= NO_END_FROM).then(None).otherwise(parsed)


def date_value(raw: pl.Expr) -> pl.Expr:
    """Dates as departments write them; Excel serials; 2099-12-31 and later = no end (NULL)."""
    return date_of_clean(clean_text(raw))


def is_excel_serial_clean(text: pl.Expr) -> pl.Expr:
    return text.str.contains(r"^\d{5}(\.0+)?$")


def is_excel_serial(raw: pl.Expr) -> pl.Expr:
    return is_excel_serial_clean(clean_text(raw))


def is_no_end_date_clean(text: pl.Expr) -> pl.Expr:
    text = text.str.replace_all(r"[年月./]", "-").str.replace_all("日", "")
    return text.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False) >= NO_END_FROM


def is_no_end_date(raw: pl.Expr) -> pl.Expr:
    return is_no_end_date_clean(clean_text(raw))


def amount_wan_of_clean(text: pl.Expr) -> pl.Expr:
    text = text.str.replace_all(r"[,\s]", "").str.replace(r"^[¥￥]", "")
    number = text.str.replace(r"(万元|万|元)$", "").cast(pl.Float64, strict=False)
    in_yuan = text.str.ends_with("元") & ~text.str.ends_with("万元")
    return pl.when(in_yuan).then(number / 10_000).otherwise(number)


def amount_wan_value(raw: pl.Expr) -> pl.Expr:
    """An amount in 万元. A value that states its unit (`12000元`, `1.2万元`) is converted; a bare number is 万元."""
    return amount_wan_of_clean(clean_text(raw))


def has_yuan_unit_clean(text: pl.Expr) -> pl.Expr:
    text = text.str.replace_all(r"\s", "")
    return text.str.ends_with("元") & ~text.str.ends_with("万元")


def has_yuan_unit(raw: pl.Expr) -> pl.Expr:
    return has_yuan_unit_clean(clean_text(raw))


def integer_of_clean(text: pl.Expr) -> pl.Expr:
    return text.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)


def integer_value(raw: pl.Expr) -> pl.Expr:
    return integer_of_clean(clean_text(raw))


def mapped_code_of_clean(text: pl.Expr, codes: dict[str, str]) -> pl.Expr:
    return text.replace_strict(codes, default=None, return_dtype=pl.String)


def mapped_code(raw: pl.Expr, codes: dict[str, str]) -> pl.Expr:
    return mapped_code_of_clean(clean_text(raw), codes)
