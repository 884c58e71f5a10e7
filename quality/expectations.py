"""A custom Great Expectations expectation for the USCC check digit, calling the project's one implementation."""
from __future__ import annotations

from typing import ClassVar

import pandas as pd
import polars as pl
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial

from ingestion.identifiers import uscc_check_ok_expr
from ingestion.normalise import code_value


class ColumnValuesValidUscc(ColumnMapMetricProvider):
    """Values are normalised as ingestion does before the check (full-width, spaces, case)."""

    condition_metric_name = "column_values.valid_uscc"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        # The same vectorised check ingestion runs (normalise, then GB 32100 + GB 11714), through polars.
        codes = pl.from_pandas(column.astype("string")).cast(pl.String).alias("uscc").to_frame()
        ok = (codes.select(code_value(pl.col("uscc")).alias("uscc"))
              .select(uscc_check_ok_expr("uscc").fill_null(False)).to_series())
        return pd.Series(ok.to_numpy(), index=column.index, dtype=bool)


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """Expect each non-null value to be a USCC with a valid GB 32100 check digit and GB 11714 org-code check."""

    map_metric = "column_values.valid_uscc"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
