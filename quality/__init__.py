"""The data-quality gate: rules as data, validated with Great Expectations, deciding what may be published."""
from quality.gate import GateError, GateResult, validate_penalties

__all__ = ["GateError", "GateResult", "validate_penalties"]
