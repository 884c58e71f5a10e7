"""Chinese working days (weekends, public holidays and the adjusted working days), from chinese-calendar.

chinese-calendar publishes each year's State Council holiday arrangement as data; version 1.11 covers 2004–2026.
A date outside the covered years is never guessed (a weekday may be a holiday, a Sunday may be a working day):
`working_days_between` raises CalendarNotCovered, and the vectorised form returns NULL for such rows so the
landing suite flags them with a rule of their own (`<feed>.timeliness_computable`).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

import polars as pl

from creditwh.errors import CreditwhError


class CalendarNotCovered(CreditwhError):
    """A date lies outside the years the installed Chinese holiday calendar knows."""


@cache
def covered_years() -> tuple[int, int]:
    """First and last year the installed chinese-calendar has holiday arrangements for."""
    from chinese_calendar import constants

    years = {d.year for d in (*constants.holidays, *constants.workdays)}
    return min(years), max(years)


def _check(day: date) -> None:
    first, last = covered_years()
    if not first <= day.year <= last:
        import chinese_calendar

        version = getattr(chinese_calendar, "__version__", "installed")
        raise CalendarNotCovered(
            f"{day.isoformat()}: the Chinese holiday calendar (chinese-calendar {version}) covers {first}–{last} "
            "only; update the package once the State Council publishes the next year's arrangement")


def is_working_day(day: date) -> bool:
    from chinese_calendar import is_workday

    _check(day)
    return bool(is_workday(day))


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 if `end` is on or before `start`'s day).

    A decision on a Friday that lands the next Monday took 1 working day; on the same day, 0. The day of the
    decision itself is not counted, as a deadline of "within 7 working days" counts from the day after.
    """
    if isinstance(start, datetime):
        start = start.date()
    if isinstance(end, datetime):
        end = end.date()
    _check(start)
    _check(end)
    if end <= start:
        return 0
    return sum(is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


@cache
def _working_day_ordinals() -> pl.DataFrame:
    """Per covered day: the number of working days from the start of the calendar up to and including it."""
    first, last = covered_years()
    days = pl.date_range(date(first, 1, 1), date(last, 12, 31), "1d", eager=True)
    from chinese_calendar import is_workday

    flags = [bool(is_workday(d)) for d in days.to_list()]
    return pl.DataFrame({"day": days, "ordinal": pl.Series(flags, dtype=pl.Int64).cum_sum()})


def working_days_expr(frame: pl.DataFrame, start: str, end: str, alias: str) -> pl.DataFrame:
    """Add `alias` = working_days_between(start, end) per row; NULL where a date is missing or outside the
    calendar's years (never a guess). Vectorised: a join on a day → ordinal table, not a loop per row."""
    ordinals = _working_day_ordinals()
    keyed = frame.with_columns(pl.col(start).cast(pl.Date).alias("__start"), pl.col(end).cast(pl.Date).alias("__end"))
    keyed = (keyed.join(ordinals.rename({"day": "__start", "ordinal": "__o_start"}), on="__start", how="left",
                        maintain_order="left")
             .join(ordinals.rename({"day": "__end", "ordinal": "__o_end"}), on="__end", how="left", maintain_order="left"))
    days = pl.when(pl.col("__end") <= pl.col("__start")).then(0).otherwise(pl.col("__o_end") - pl.col("__o_start"))
    days = pl.when(pl.col("__o_start").is_null() | pl.col("__o_end").is_null()).then(None).otherwise(days)
    return keyed.with_columns(days.cast(pl.Int64).alias(alias)).drop("__start", "__end", "__o_start", "__o_end")


def outside_calendar_expr(column: str) -> pl.Expr:
    """True where a (non-null) date lies outside the calendar's covered years."""
    first, last = covered_years()
    year = pl.col(column).cast(pl.Date).dt.year()
    return pl.when(pl.col(column).is_null()).then(None).otherwise(~year.is_between(first, last))
