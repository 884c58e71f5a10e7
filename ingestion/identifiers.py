"""Identifiers of market entities: the USCC (GB 32100-2015) and the organisation code inside it (GB 11714-1997).

One implementation of each check, in two forms: a scalar function for people and tests, and a vectorised one (a
polars expression over a whole column) for the ingestion hot path. tests/test_identifiers.py proves the two agree
with each other and with python-stdnum.
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache

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
    return org_code_check_char_of_remainder(sum(_ORG_VALUE[c] * w for c, w in zip(body8, ORG_WEIGHTS)) % 11)


def org_code_check_char_of_remainder(weighted_sum_mod_11: int) -> str:
    check = 11 - weighted_sum_mod_11
    return {10: "X", 11: "0"}.get(check, str(check))


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
    return pl.col(column).map_batches(uscc_check_ok, return_dtype=pl.Boolean, is_elementwise=True)


def uscc_check_ok(codes: pl.Series) -> pl.Series:
    """is_valid_uscc for a whole column of normalised codes at once (NULL stays NULL).

    A well-formed code is 18 ASCII characters, so the well-formed ones are read as an 18-byte matrix and both check
    characters are table look-ups and integer arithmetic on it. (Slicing each code into one-character strings, as
    this once did, made the check a third of the ingestion hot path.)
    """
    import numpy as np  # here, not at the top: 0.2 s of import that only this check needs

    uscc_byte_value, org_byte_value, org_check_byte = _byte_tables()
    well_formed = codes.str.contains(USCC_PATTERN).fill_null(False)
    chars = (codes.filter(well_formed).cast(pl.Binary).bin.reinterpret(dtype=pl.Array(pl.UInt8, 18))
             .to_numpy().reshape(-1, 18))
    uscc_value, org_value = uscc_byte_value[chars], org_byte_value[chars[:, 8:16]]
    uscc_ok = uscc_value[:, 17] == (31 - (uscc_value[:, :17] @ np.array(USCC_WEIGHTS)) % 31) % 31
    org_ok = chars[:, 16] == org_check_byte[(org_value @ np.array(ORG_WEIGHTS)) % 11]
    ok = np.zeros(len(codes), dtype=bool)
    ok[well_formed.to_numpy()] = uscc_ok & org_ok
    return pl.Series(codes.name, ok).set(codes.is_null(), None)


@cache
def _byte_tables():
    """Byte -> USCC character value, byte -> GB 11714 character value (uint8, so a look-up moves little memory),
    and the org-code check character (as a byte) for each weighted sum mod 11."""
    import numpy as np

    def table(values: dict[str, int]):
        by_byte = np.zeros(256, dtype=np.uint8)
        by_byte[[ord(c) for c in values]] = list(values.values())
        return by_byte

    org_check = np.array([ord(org_code_check_char_of_remainder(r)) for r in range(11)], dtype=np.uint8)
    return table(_USCC_VALUE), table(_ORG_VALUE), org_check
