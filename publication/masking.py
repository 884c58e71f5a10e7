"""Masking of natural persons' ID numbers in published records (disclosure practice: keep the first 6 and last 4).

fct_penalty carries no ID-number column today (the samr_penalties contract has no CF_XDR_ZJHM / CF_FR_ZJHM), so the
published fields that can still carry one are the free-text ones: a department writing "当事人张三（身份证号…）" into
违法事实 or the legal representative field. Those are scanned for 18-character resident ID numbers (GB 11643) and
masked; a field the receiver settings declare as an ID field is masked whole, whatever it looks like.
"""
from __future__ import annotations

import re
from functools import lru_cache

# Birth date in positions 7-14 and a 3-digit sequence: what tells a resident ID from a USCC or a decision number.
# The check digit is deliberately not required: a mistyped ID number is still a person's ID number. First-generation
# 15-digit IDs (withdrawn 2013) are not looked for: they cannot be told from 15-digit registration numbers.
RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
    r"(?![0-9A-Za-z])")


@lru_cache(maxsize=1)
def settings() -> dict:
    from publication.export import _receiver

    masking = _receiver()["masking"]
    return {"keep_first": int(masking["keep_first"]), "keep_last": int(masking["keep_last"]),
            "mask_char": str(masking["mask_char"]), "id_fields": list(masking.get("id_fields") or []),
            "free_text_fields": list(masking.get("free_text_fields") or [])}


def mask_id_number(value: str | None, keep_first: int | None = None, keep_last: int | None = None,
                   mask_char: str | None = None) -> str | None:
    """An ID number with everything but its first and last characters replaced; too short to keep any: all masked."""
    if value is None:
        return None
    s = settings()
    first = s["keep_first"] if keep_first is None else keep_first
    last = s["keep_last"] if keep_last is None else keep_last
    char = s["mask_char"] if mask_char is None else mask_char
    value = value.strip()
    if len(value) <= first + last:  # nothing would be hidden: hide all of it
        return char * len(value)
    return value[:first] + char * (len(value) - first - last) + value[len(value) - last:]


def mask_free_text(value: str | None) -> str | None:
    """Free text with every resident ID number in it masked; the rest untouched."""
    if value is None:
        return None
    return RESIDENT_ID.sub(lambda m: mask_id_number(m.group(0)), value)


def mask_record(record: dict) -> dict:
    """A published record with ID fields masked whole and ID numbers inside free-text fields masked."""
    s = settings()
    out = dict(record)
    for name in s["id_fields"]:
        if out.get(name) is not None:
            out[name] = mask_id_number(str(out[name]))
    for name in s["free_text_fields"]:
        if isinstance(out.get(name), str):
            out[name] = mask_free_text(out[name])
    return out
