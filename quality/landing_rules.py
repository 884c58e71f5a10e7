"""The landing rules of a feed: generated from its contract (quality/rules/landing.yaml says how serious each kind
of breach is) plus the feed's own rules in quality/rules/<feed>.yaml. One list, used for the Great Expectations
suite, the row-level flags, the scorecard and docs/quality.md."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import yaml

from creditwh.errors import CreditwhError
from creditwh.settings import QUALITY_RULES_DIR
from ingestion.contracts import Contract
from quality.rules import RULE_KEYS, SEVERITIES

DIMENSIONS = ("completeness", "validity", "consistency", "uniqueness", "timeliness")
DERIVED = {"working_days": "_working_days_to_landing", "calendar_covered": "_calendar_covered"}
FEED_RULE_KEYS = RULE_KEYS | {"derive", "applies_to", "effective_from", "effective_to"}
ISSUES = "_issues"


class RuleFileError(CreditwhError):
    """A rule file is malformed."""


@dataclass(frozen=True)
class LandingRule:
    id: str
    severity: str
    dimension: str
    description: str
    rationale: str
    expectation: str                 # GE expectation type, snake case
    kwargs: dict
    field: str                       # the canonical field a flag names (a note rule reads it from `_issues`)
    origin: str                      # "contract" | "note" | "feed rules"
    note: str | None = None          # note rules: the `_issues` note kind
    derive: dict | None = None
    applies_to: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    extra: dict = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The columns whose values a flag shows."""
        if "show" in self.extra:
            return list(self.extra["show"])
        if "column_list" in self.kwargs:
            return list(self.kwargs["column_list"])
        if "column_A" in self.kwargs:
            return [self.kwargs["column_A"], self.kwargs["column_B"]]
        return [self.kwargs["column"]]

    @property
    def conditional(self) -> bool:
        """Looks at only some rows (a row condition, an effective window, or ignored missing values)."""
        return bool(self.kwargs.get("row_condition") or self.applies_to
                    or self.kwargs.get("ignore_row_if") not in (None, "both_values_are_missing",
                                                                "all_values_are_missing"))

    def resolved_kwargs(self, run_date) -> dict:
        return {k: (run_date if v == "$run_date" else v) for k, v in self.kwargs.items()}


@cache
def generation_settings(directory: Path = QUALITY_RULES_DIR) -> dict:
    path = Path(directory) / "landing.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for kind, spec in raw["generated"].items():
        _check_common(path, kind, spec)
    for spec in raw["notes"]:
        _check_common(path, spec["id"], spec)
    return raw


def _check_common(path: Path, what: str, spec: dict) -> None:
    if spec.get("severity") not in SEVERITIES:
        raise RuleFileError(f"{path}: {what}: severity must be one of {SEVERITIES}")
    if spec.get("dimension") not in DIMENSIONS:
        raise RuleFileError(f"{path}: {what}: dimension must be one of {DIMENSIONS}")


def _generated(contract: Contract, registry_feed: str | None, settings: dict) -> list[LandingRule]:
    g = settings["generated"]
    f = contract.id

    def make(kind: str, rule_id: str, description: str, expectation: str, kwargs: dict, fld: str) -> LandingRule:
        spec = g[kind]
        return LandingRule(id=f"{f}.{rule_id}", severity=spec["severity"], dimension=spec["dimension"],
                           description=description, rationale=" ".join(spec["rationale"].split()),
                           expectation=expectation, kwargs=kwargs, field=fld, origin="contract")

    rules = []
    for c in contract.columns:
        if c.required:
            rules.append(make("required", f"{c.name}_present", f"{c.name} ({c.source}) is present",
                              "expect_column_values_to_not_be_null", {"column": c.name}, c.name))
    for c in contract.columns:
        if c.type == "code":
            values = sorted(set(c.codes.values()))
            rules.append(make("code_list", f"{c.name}_in_code_list",
                              f"{c.name} ({c.source}) is one of {', '.join(values)}",
                              "expect_column_values_to_be_in_set", {"column": c.name, "value_set": values}, c.name))
    key = list(contract.key)
    if len(key) == 1:
        rules.append(make("key_unique", "key_unique", f"one record per {key[0]} in a run",
                          "expect_column_values_to_be_unique", {"column": key[0]}, key[0]))
    else:
        rules.append(make("key_unique", "key_unique", f"one record per {' + '.join(key)} in a run",
                          "expect_compound_columns_to_be_unique",
                          {"column_list": key, "ignore_row_if": "any_value_is_missing"}, "/".join(key)))
    for c in contract.columns:
        if c.type == "uscc":
            rules.append(make("uscc_check_digit", f"{c.name}_check_digit",
                              f"{c.name} ({c.source}) has a valid GB 32100 check digit and GB 11714 organisation code",
                              "expect_column_values_to_be_valid_uscc", {"column": c.name}, c.name))
    if contract.has_uscc and registry_feed and contract.id != registry_feed:
        rules.append(make("entity_known", "entity_known",
                          f"the subject's USCC or registration number is in the registry ({registry_feed})",
                          "expect_column_values_to_be_in_set", {"column": "_entity_known", "value_set": [True]},
                          "uscc"))
        rules[-1].extra["show"] = ["uscc", "registration_no"]  # what the department sent, not the derived flag
    return rules


def _notes(contract: Contract, settings: dict) -> list[LandingRule]:
    rules = []
    for spec in settings["notes"]:
        note = spec["note"]
        if note == "uscc_was_registration_no":
            if not contract.has_uscc:
                continue
            pattern, fld, columns = rf"(?:^|;){note}(?:;|$)", "uscc", ["uscc"]
        else:
            types = set(spec.get("types") or [])
            if note == "excel_serial_date":
                types = {"date"}
            elif note == "amount_unit_converted":
                types = {"amount_wan"}
            elif note == "formula_like":
                types = {"string"}
            columns = [c.name for c in contract.columns if not types or c.type in types]
            if not columns:
                continue
            pattern = rf"(?:^|;){note}:(?:{'|'.join(re.escape(c) for c in columns)})(?:;|$)"
            fld = "/".join(columns) if len(columns) <= 3 else "(named in the message)"
        rules.append(LandingRule(
            id=f"{contract.id}.{spec['id']}", severity=spec["severity"], dimension=spec["dimension"],
            description=spec["description"], rationale=" ".join(spec["rationale"].split()),
            expectation="expect_column_values_to_not_match_regex", kwargs={"column": ISSUES, "regex": pattern},
            field=fld, origin="note", note=note, extra={"columns": columns}))
    return rules


def _feed_rules(contract: Contract, directory: Path) -> list[LandingRule]:
    path = Path(directory) / f"{contract.id}.yaml"
    if not path.is_file():
        return []
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if raw.get("feed") != contract.id:
        raise RuleFileError(f"{path}: `feed` must be {contract.id!r}")
    names = set(contract.canonical_names) | {"registration_no"}
    rules = []
    for item in raw["rules"]:
        where = f"{path}: rule {item.get('id')!r}"
        if missing := RULE_KEYS - set(item):
            raise RuleFileError(f"{where}: missing {sorted(missing)}")
        if unknown := set(item) - FEED_RULE_KEYS:
            raise RuleFileError(f"{where}: unknown keys {sorted(unknown)}")
        if not str(item["id"]).startswith(f"{contract.id}."):
            raise RuleFileError(f"{where}: a feed rule's id starts with the feed id ({contract.id}.)")
        _check_common(path, item["id"], item)
        kwargs = dict(item["kwargs"])
        derive = item.get("derive")
        if derive:
            (kind, source), = derive.items()
            if kind not in DERIVED or source not in names:
                raise RuleFileError(f"{where}: derive must be one of {sorted(DERIVED)} over a contract column")
            if kwargs.get("column") != DERIVED[kind]:
                raise RuleFileError(f"{where}: a `{kind}` rule checks the column {DERIVED[kind]}")
        fld = kwargs.get("column") or kwargs.get("column_A")
        if fld is None:
            raise RuleFileError(f"{where}: kwargs must name the column (column, or column_A/column_B)")
        for col in (kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"), item.get("applies_to")):
            if col and col not in names and col not in DERIVED.values():
                raise RuleFileError(f"{where}: {col!r} is not a column of contract {contract.id}")
        rules.append(LandingRule(
            id=item["id"], severity=item["severity"], dimension=item["dimension"],
            description=item["description"], rationale=" ".join(str(item["rationale"]).split()),
            expectation=item["expectation"], kwargs=kwargs,
            field=next(iter(derive.values())) if derive else fld, origin="feed rules", derive=derive,
            applies_to=item.get("applies_to"), effective_from=item.get("effective_from"),
            effective_to=item.get("effective_to")))
    return rules


def landing_rules(contract: Contract, registry_feed: str | None = None,
                  directory: Path = QUALITY_RULES_DIR) -> list[LandingRule]:
    """Every landing rule of one feed, in a fixed order: contract-generated, normalisation notes, feed rules."""
    settings = generation_settings(Path(directory))
    rules = _generated(contract, registry_feed, settings) + _notes(contract, settings) \
        + _feed_rules(contract, Path(directory))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise RuleFileError(f"landing rules of {contract.id}: rule ids must be unique "
                            f"({sorted({i for i in ids if ids.count(i) > 1})})")
    return rules


def registry_feed_id(contracts: dict[str, Contract]) -> str | None:
    """The feed that lists every known entity (record type `entity`)."""
    return next((c.id for c in contracts.values() if c.record_type == "entity"), None)


def markdown_table(directory: Path = QUALITY_RULES_DIR) -> str:
    """Every landing rule of every feed as the table docs/quality.md carries (`python -m quality.landing_rules`)."""
    from creditwh.settings import CONTRACTS_DIR
    from ingestion.contracts import load_contracts

    contracts = load_contracts(CONTRACTS_DIR)
    registry = registry_feed_id(contracts)
    lines = ["| rule | severity | dimension | from | checks |", "|---|---|---|---|---|"]
    for contract in contracts.values():
        for r in landing_rules(contract, registry, directory):
            what = r.description.replace("|", "\\|")
            lines.append(f"| `{r.id}` | {r.severity} | {r.dimension} | {r.origin} | {what} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
