"""A custom Great Expectations expectation for the USCC check digit, calling the project's one implementation.

The condition is `ingestion.identifiers.uscc_check_ok_expr` after `ingestion.normalise.code_value`: the same
vectorised check ingestion runs, which tests/test_identifiers.py proves equal to `is_valid_uscc` (and
tests/test_quality.py proves this expectation agrees with `is_valid_uscc` value by value). Vectorised because
it is cheaper: 0.34 s per 100,000 values against 0.77 s for a per-value `is_valid_uscc` map (measured), and the
gate runs it on three columns.
"""
from __future__ import annotations

from typing import ClassVar

from quality import quiet_great_expectations

quiet_great_expectations()  # before GE's import, whoever imports this module first

import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402
from great_expectations.execution_engine import PandasExecutionEngine  # noqa: E402
from great_expectations.expectations.expectation import ColumnMapExpectation  # noqa: E402
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial  # noqa: E402

from ingestion.identifiers import uscc_check_ok_expr  # noqa: E402
from ingestion.normalise import code_value  # noqa: E402


def valid_uscc_mask(values: pd.Series) -> pd.Series:
    """True where a value is a valid USCC after ingestion's normalisation (full-width, spaces, case)."""
    codes = pl.from_pandas(values.astype("string")).cast(pl.String).alias("uscc").to_frame()
    ok = (codes.select(code_value(pl.col("uscc")).alias("uscc"))
          .select(uscc_check_ok_expr("uscc").fill_null(False)).to_series())
    return pd.Series(ok.to_numpy(), index=values.index, dtype=bool)


class ColumnValuesValidUscc(ColumnMapMetricProvider):
    """Values are normalised as ingestion does before the check; nulls are not evaluated (GE map semantics)."""

    condition_metric_name = "column_values.valid_uscc"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return valid_uscc_mask(column)


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """Expect each non-null value to be a USCC with a valid GB 32100 check digit and GB 11714 org-code check."""

    map_metric = "column_values.valid_uscc"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
