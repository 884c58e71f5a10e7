"""Small vectorised helpers shared by the entity and feed builders: weighted choices, dates and amounts as text."""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

EPOCH = date(1970, 1, 1)
EXCEL_EPOCH_OFFSET = 25569  # Excel serial of 1970-01-01 (serials count from 1899-12-30)


def days(d: date) -> int:
    """Days since 1970-01-01: the integer representation of dates inside the generator."""
    return (d - EPOCH).days


def weighted_index(rng: np.random.Generator, weights, n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(w), size=n, p=w / w.sum())


def pick(values: list[str], idx: np.ndarray) -> pl.Series:
    """values[idx] as a polars String series (gather is a vectorised copy, no Python loop)."""
    return pl.Series(values, dtype=pl.String).gather(idx)


def chars(pool: str, rng: np.random.Generator, n: int) -> pl.Series:
    """n characters drawn uniformly from pool."""
    return pick(list(pool), rng.integers(0, len(pool), n))


def date_str(day_numbers) -> pl.Series:
    """Days since epoch -> canonical 'YYYY-MM-DD' strings."""
    return pl.Series(np.asarray(day_numbers, dtype=np.int32)).cast(pl.Date).cast(pl.String)


def year_of(day_numbers) -> np.ndarray:
    return pl.Series(np.asarray(day_numbers, dtype=np.int32)).cast(pl.Date).dt.year().to_numpy()


def amount_str(values, decimals: int = 2) -> pl.Series:
    """Amounts -> shortest decimal text at the given precision ('20', '0.5', '1.25'); NaN -> null."""
    v = pl.Series(np.asarray(values, dtype=np.float64)).fill_nan(None)
    scale = 10 ** decimals
    units = (v * scale).round(0).cast(pl.Int64)
    whole = (units // scale).cast(pl.String)
    frac = (units % scale).cast(pl.String).str.zfill(decimals).str.strip_chars_end("0")
    out = pl.DataFrame({"w": whole, "f": frac}).select(
        pl.when(pl.col("f") == "").then(pl.col("w")).otherwise(pl.col("w") + "." + pl.col("f"))
    ).to_series()
    return out.alias("amount")


def uniform_days(rng: np.random.Generator, lo, hi) -> np.ndarray:
    """A uniform day in [lo, hi] per element (lo and hi arrays or scalars; hi < lo is clamped to lo)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
    n = max(lo.size, hi.size)
    return (lo + np.floor(rng.random(n) * (hi - lo + 1))).astype(np.int64)
