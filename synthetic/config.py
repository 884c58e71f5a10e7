"""Configuration the generator reads: scales, default defect rates (YAML next to this file) and the feed contracts.

The contracts (ingestion/contracts/*.yaml) are owned by ingestion; the generator only reads them, so a column
added or renamed there shows up in the files (or fails loudly) without a code change here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
CONTRACTS_DIR = PACKAGE_DIR.parent / "ingestion" / "contracts"

DEFECTS = (
    "bad_check_digit", "fullwidth", "invisible_chars", "date_format", "amount_unit_yuan",
    "missing_required", "duplicate", "legacy_regno", "unknown_entity", "unknown_code",
)
# The registry is the spine of the warehouse: identity defects there would make the ground truth circular.
REGISTRY_DEFECTS = ("fullwidth", "invisible_chars", "date_format", "missing_required", "duplicate")


def _load_yaml(name: str) -> dict:
    with open(PACKAGE_DIR / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


SCALES: dict[str, dict] = _load_yaml("scales.yaml")
DEFAULT_DEFECT_RATES: dict[str, float] = {k: float(v) for k, v in _load_yaml("defects.yaml").items()}
assert set(DEFAULT_DEFECT_RATES) == set(DEFECTS), "defects.yaml must list exactly the known defects"


def resolve_rates(overrides: dict | None) -> dict[str, float]:
    """Defaults from defects.yaml, overridden per defect. Unknown names and rates outside [0, 1] are errors."""
    rates = dict(DEFAULT_DEFECT_RATES)
    for k, v in (overrides or {}).items():
        if k not in rates:
            raise ValueError(f"unknown defect {k!r}; known: {', '.join(DEFECTS)}")
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"defect rate {k}={v} outside [0, 1]")
        rates[k] = float(v)
    return dict(sorted(rates.items()))


@dataclass(frozen=True)
class Column:
    source: str
    name: str
    type: str
    required: bool = False
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contract:
    id: str
    format: str  # csv | xlsx | json_pages | jsonl
    encoding: str
    header_row: int
    columns: tuple[Column, ...]
    identifiers: tuple[str, ...] = field(default=())
    file_pattern: str = "*"

    @property
    def sources(self) -> list[str]:
        return [c.source for c in self.columns]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def col(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    def of_type(self, type_: str) -> list[str]:
        return [c.name for c in self.columns if c.type == type_]

    @property
    def name_field(self) -> str | None:
        """The subject's / entity's name column (target of invisible_chars)."""
        for n in ("entity_name", "subject_name"):
            if self.has(n):
                return n
        return None

    @property
    def required_non_identifier(self) -> list[str]:
        """Required fields that missing_required may blank: never a USCC / registration-number column."""
        return [c.name for c in self.columns
                if c.required and c.type not in ("uscc", "registration_no") and c.name not in self.identifiers]

    @property
    def code_fields(self) -> list[str]:
        return [c.name for c in self.columns if c.type == "code"]


def load_contracts(directory: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    out: dict[str, Contract] = {}
    for path in sorted(directory.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        cols = tuple(
            Column(source=str(c["source"]), name=c["name"], type=c["type"], required=bool(c.get("required", False)),
                   codes=tuple(str(k) for k in (c.get("codes") or {})))
            for c in raw["columns"]
        )
        out[raw["id"]] = Contract(
            id=raw["id"], format=raw["format"], encoding=raw.get("encoding", "utf-8"),
            header_row=int(raw.get("header_row", 0)), columns=cols,
            identifiers=tuple(raw.get("identifier_required_one_of") or ()),
            file_pattern=raw.get("file_pattern", "*"),
        )
    return out
