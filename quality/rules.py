"""Quality rules as data (quality/rules/<record_type>.yaml), loaded and checked before any validation runs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

from creditwh.errors import CreditwhError
from creditwh.settings import QUALITY_RULES_DIR

SEVERITIES = ("critical", "warning")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    dimension: str
    description: str
    rationale: str
    expectation: str
    kwargs: dict

    def resolved_kwargs(self, as_of: date) -> dict:
        """kwargs with `$as_of` replaced by the run's date (as a datetime, which GE compares with dates)."""
        as_of_dt = datetime(as_of.year, as_of.month, as_of.day)
        return {k: (as_of_dt if v == "$as_of" else v) for k, v in self.kwargs.items()}


@dataclass(frozen=True)
class RuleSet:
    record_type: str
    table: str
    id_column: str
    date_columns: tuple[str, ...]
    max_critical_failure_rate: float
    rules: tuple[Rule, ...]

    def by_severity(self, severity: str) -> list[Rule]:
        return [r for r in self.rules if r.severity == severity]


def load_rules(record_type: str = "penalties", directory: Path = QUALITY_RULES_DIR) -> RuleSet:
    path = directory / f"{record_type}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = []
    for item in raw["rules"]:
        if item.get("severity") not in SEVERITIES:
            raise CreditwhError(f"{path}: rule {item.get('id')!r}: severity must be one of {SEVERITIES}")
        rules.append(Rule(id=item["id"], severity=item["severity"], dimension=item["dimension"],
                          description=item["description"], rationale=item["rationale"],
                          expectation=item["expectation"], kwargs=dict(item["kwargs"])))
    if len({r.id for r in rules}) != len(rules):
        raise CreditwhError(f"{path}: rule ids must be unique")
    return RuleSet(record_type=raw["record_type"], table=raw["table"], id_column=raw["id_column"],
                   date_columns=tuple(raw.get("date_columns", [])),
                   max_critical_failure_rate=float(raw["gate"]["max_critical_failure_rate"]), rules=tuple(rules))
