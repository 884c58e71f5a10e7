"""Chinese working days from chinese-calendar: real holiday arrangements, no guess beyond the covered years."""
from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl
import pytest

from quality.working_days import (CalendarNotCovered, covered_years, is_working_day, working_days_between,
                                  working_days_expr)


def test_2025_national_day_and_its_adjusted_working_days():
    assert not is_working_day(date(2025, 10, 1)) and not is_working_day(date(2025, 10, 8))  # holidays, weekdays
    assert is_working_day(date(2025, 9, 28))     # a Sunday, worked in lieu
    assert is_working_day(date(2025, 10, 11))    # a Saturday, worked in lieu
    # Decided Tue 2025-09-30: Oct 9, 10, 11 (Sat), 13, 14, 15, 16 are the 7 working days after it.
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 16)) == 7
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 17)) == 8
    # Fri 2025-09-26 to Sun 2025-09-28: the Saturday is off, the Sunday is a working day
    assert working_days_between(date(2025, 9, 26), date(2025, 9, 28)) == 1


def test_2025_spring_festival():
    # Holidays 2025-01-28 .. 02-04; Sun 01-26 and Sat 02-08 are working days.
    assert is_working_day(date(2025, 1, 26)) and is_working_day(date(2025, 2, 8))
    assert not is_working_day(date(2025, 1, 28)) and not is_working_day(date(2025, 2, 4))
    assert working_days_between(date(2025, 1, 27), date(2025, 2, 5)) == 1
    # after Fri 01-24: Sun 26, Mon 27, then Feb 5, 6, 7 and the working Saturday Feb 8
    assert working_days_between(date(2025, 1, 24), date(2025, 2, 8)) == 6


def test_same_day_and_earlier_count_zero():
    assert working_days_between(date(2025, 10, 9), date(2025, 10, 9)) == 0
    assert working_days_between(date(2025, 10, 9), date(2025, 10, 1)) == 0


def test_beyond_the_calendar_is_an_error_naming_the_years():
    first, last = covered_years()
    assert first <= 2004 and last >= 2026
    with pytest.raises(CalendarNotCovered, match=rf"{last + 1}-01-04: .* covers {first}–{last} only"):
        working_days_between(date(last, 12, 30), date(last + 1, 1, 4))
    with pytest.raises(CalendarNotCovered):
        is_working_day(date(first - 1, 6, 1))


def test_the_vectorised_count_agrees_with_the_scalar_one():
    rng = random.Random(5)
    first, last = covered_years()
    starts = [date(2024, 1, 1) + timedelta(days=rng.randrange(0, 1000)) for _ in range(300)]
    ends = [s + timedelta(days=rng.randrange(-5, 40)) for s in starts]
    ends = [min(e, date(last, 12, 31)) for e in ends]
    frame = working_days_expr(pl.DataFrame({"start": starts, "end": ends}), "start", "end", "days")
    assert frame["days"].to_list() == [working_days_between(s, e) for s, e in zip(starts, ends)]


def test_the_vectorised_count_is_null_outside_the_calendar():
    first, last = covered_years()
    frame = pl.DataFrame({"start": [date(2025, 9, 30), date(last, 12, 30), None],
                          "end": [date(2025, 10, 16), date(last + 1, 1, 4), date(2025, 10, 16)]})
    assert working_days_expr(frame, "start", "end", "days")["days"].to_list() == [7, None, None]
