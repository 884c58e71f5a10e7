"""The data-quality gate: rules as data, validated with Great Expectations, deciding what may be published."""
import logging
import os


def quiet_great_expectations() -> None:
    """Keep GE silent: no analytics, and no INFO logs (under Airflow's structlog, GE's import alone prints
    hundreds of `[info] Skipping registering function …` lines). Must run before `import great_expectations`;
    progress bars are switched off on the data context (quality.gate)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


from quality.gate import GateError, GateResult, validate_penalties  # noqa: E402

__all__ = ["GateError", "GateResult", "quiet_great_expectations", "validate_penalties"]
