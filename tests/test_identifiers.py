"""The USCC check: scalar and vectorised forms agree with each other and with python-stdnum."""
from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from ingestion.identifiers import (
    USCC_ALPHABET, is_valid_org_code, normalise_code, is_valid_uscc, org_code_check_char, uscc_check_char, uscc_check_ok_expr,
)

BODY_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@st.composite
def valid_usccs(draw):
    head = draw(st.text(alphabet="0123456789", min_size=2, max_size=2))  # stdnum insists on digits here
    division = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    body = draw(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8))
    org = body + org_code_check_char(body)
    if org[-1] not in USCC_ALPHABET:  # an org check char outside the USCC alphabet cannot occur
        org = body + "0"
    first17 = head + division + org
    return first17 + uscc_check_char(first17)


def test_the_gb_worked_example():
    assert is_valid_uscc("91350100M000100Y43")
    assert not is_valid_uscc("91350100M000100Y4Z")  # the GB text's invalid example
    assert is_valid_uscc(" ９１３５０１００ｍ０００１００ｙ４３ ")  # full-width, lower case, spaces
    assert is_valid_org_code("M000100Y4") and not is_valid_org_code("M000100Y5")


@settings(max_examples=300, deadline=None)
@given(valid_usccs())
def test_generated_codes_are_valid_for_us_and_for_stdnum(code):
    if is_valid_org_code(code[8:17]):
        assert is_valid_uscc(code) and stdnum_uscc.is_valid(code)


@settings(max_examples=300, deadline=None)
@given(valid_usccs(), st.integers(min_value=0, max_value=17), st.sampled_from(list(BODY_CHARS)))
def test_any_single_character_change_is_caught_by_both(code, position, char):
    changed = code[:position] + char + code[position + 1:]
    if changed != code:
        assert not (is_valid_uscc(changed) and stdnum_uscc.is_valid(changed))
        # the USCC check digit alone catches every single substitution: stdnum agrees
        assert not stdnum_uscc.is_valid(changed)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(valid_usccs(), st.text(alphabet=BODY_CHARS + "IOSVZ- ", max_size=20), st.none()),
                min_size=1, max_size=40))
def test_vectorised_check_equals_the_scalar_one(codes):
    codes = [None if c is None else normalise_code(c) for c in codes]  # the pipeline normalises first
    frame = pl.DataFrame({"uscc": codes}, schema={"uscc": pl.String}).with_columns(
        ok=uscc_check_ok_expr("uscc"))
    for code, ok in frame.iter_rows():
        assert ok == (None if code is None else is_valid_uscc(code))
