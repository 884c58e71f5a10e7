"""Identifiers of market entities: the USCC (GB 32100-2015) and the organisation code inside it (GB 11714-1997).

One implementation of each check, in two forms: a scalar function for people and tests, and a vectorised polars
expression for the ingestion hot path. tests/test_identifiers.py proves the two agree with each other and with
python-stdnum.
"""
from __future__ import annotations

import re
import unicodedata

import polars as pl

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 chars: no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^(i-1) mod 31
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Positions 1-2 accept any alphabet char (authority letters beyond 1/5/9 are not settled, domain.md §1 [U]);
# 3-8 are the GB/T 2260 division; 9-18 the organisation code and the check char.
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
SOLE_TRADER_PLACEHOLDER = "00000000000000000X"  # 双公示: a sole trader without a USCC
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_ORG_VALUE = {**{str(d): d for d in range(10)}, **{chr(ord("A") + i): 10 + i for i in range(26)}}
_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\u00a0\u3000]+")


def normalise_code(raw: str | None) -> str:
    """Full-width to half-width (NFKC), drop spaces and invisible characters, upper-case."""
    if raw is None:
        return ""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", str(raw))).upper()


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    remainder = 11 - sum(_ORG_VALUE[c] * w for c, w in zip(body8, ORG_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def is_valid_org_code(code: str) -> bool:
    code = normalise_code(code).replace("-", "")
    if not re.fullmatch(r"[0-9A-Z]{8}[0-9X]", code):
        return False
    return org_code_check_char(code[:8]) == code[8]


def is_valid_uscc(code: str) -> bool:
    """True if `code` is a USCC whose GB 32100 check char and embedded GB 11714 org-code check both hold.

    Spaces, case and full-width characters are normalised first. Known pilot codes that fail the checksum are
    not valid here; the pilot whitelist is a separate, data-driven decision of the quality rules.
    """
    code = normalise_code(code)
    if not re.fullmatch(USCC_PATTERN, code):
        return False
    return uscc_check_char(code[:17]) == code[17] and is_valid_org_code(code[8:17])


def uscc_check_ok_expr(column: str) -> pl.Expr:
    """Vectorised is_valid_uscc over an already-normalised string column; NULL stays NULL."""
    col = pl.col(column)

    def char_values(positions: range, mapping: dict[str, int]) -> list[pl.Expr]:
        return [
            col.str.slice(i, 1).replace_strict(mapping, default=None, return_dtype=pl.Int64) for i in positions
        ]

    uscc_vals = char_values(range(17), _USCC_VALUE)
    uscc_sum = pl.sum_horizontal([v * w for v, w in zip(uscc_vals, USCC_WEIGHTS)])
    expected_check = ((31 - uscc_sum % 31) % 31).replace_strict(
        dict(enumerate(USCC_ALPHABET)), default=None, return_dtype=pl.String
    )
    org_vals = char_values(range(8, 16), _ORG_VALUE)
    org_rem = 11 - pl.sum_horizontal([v * w for v, w in zip(org_vals, ORG_WEIGHTS)]) % 11
    expected_org = (
        pl.when(org_rem == 10).then(pl.lit("X")).when(org_rem == 11).then(pl.lit("0"))
        .otherwise(org_rem.cast(pl.String))
    )
    ok = (
        col.str.contains(USCC_PATTERN)
        & (col.str.slice(17, 1) == expected_check)
        & (col.str.slice(16, 1) == expected_org)
    )
    return pl.when(col.is_null()).then(None).otherwise(ok.fill_null(False))
