"""Quality rules as data (quality/rules/<record_type>.yaml), loaded and checked before any validation runs."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

from creditwh.errors import CreditwhError
from creditwh.settings import QUALITY_RULES_DIR

SEVERITIES = ("critical", "warning")
RULE_KEYS = {"id", "severity", "dimension", "description", "rationale", "expectation", "kwargs"}
# Names in a pandas row_condition; only those that are columns of the table count (columns_read).
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    dimension: str
    description: str
    rationale: str
    expectation: str   # GE expectation type in snake case, e.g. expect_column_values_to_not_be_null
    kwargs: dict       # the expectation's arguments; `column` is always one of them

    @property
    def column(self) -> str:
        return self.kwargs["column"]

    @property
    def conditional(self) -> bool:
        """True if the rule looks only at some rows (a row_condition), so it may legitimately evaluate none."""
        return bool(self.kwargs.get("row_condition"))

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
    min_records: int
    rules: tuple[Rule, ...]
    path: Path

    def by_severity(self, severity: str) -> list[Rule]:
        return [r for r in self.rules if r.severity == severity]

    def columns_read(self, table_columns: list[str]) -> list[str]:
        """The columns of `table_columns` the gate needs, in table order: the id, and every column a rule names —
        in a kwarg (column, column_A, column_list, …) or in its row_condition."""
        named = {self.id_column}
        for rule in self.rules:
            for value in rule.kwargs.values():
                values = value if isinstance(value, (list, tuple)) else [value]
                named.update(v for v in values if isinstance(v, str))
            if rule.conditional:
                named.update(_IDENTIFIER.findall(rule.kwargs["row_condition"]))
        return [c for c in table_columns if c in named]


def load_rules(record_type: str = "penalties", directory: Path = QUALITY_RULES_DIR) -> RuleSet:
    path = Path(directory) / f"{record_type}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = []
    for item in raw["rules"]:
        where = f"{path}: rule {item.get('id')!r}"
        if missing := RULE_KEYS - set(item):
            raise CreditwhError(f"{where}: missing {sorted(missing)}")
        if item["severity"] not in SEVERITIES:
            raise CreditwhError(f"{where}: severity must be one of {SEVERITIES}")
        if "column" not in (item["kwargs"] or {}):
            raise CreditwhError(f"{where}: kwargs must name the column the rule checks")
        rules.append(Rule(id=item["id"], severity=item["severity"], dimension=item["dimension"],
                          description=item["description"], rationale=item["rationale"],
                          expectation=item["expectation"], kwargs=dict(item["kwargs"])))
    if len({r.id for r in rules}) != len(rules):
        raise CreditwhError(f"{path}: rule ids must be unique")
    gate = raw["gate"]
    rate = float(gate["max_critical_failure_rate"])
    if not 0 <= rate <= 1:
        raise CreditwhError(f"{path}: gate.max_critical_failure_rate must be a share between 0 and 1, not {rate}")
    return RuleSet(record_type=raw["record_type"], table=raw["table"], id_column=raw["id_column"],
                   date_columns=tuple(raw.get("date_columns", [])), max_critical_failure_rate=rate,
                   min_records=int(gate.get("min_records", 1)), rules=tuple(rules), path=path)
