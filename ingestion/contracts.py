"""Feed contracts: one YAML file per department feed (ingestion/contracts/<feed_id>.yaml).

A contract is validated against contract.schema.json when it is loaded, so a typo in a contract is an error
that names the file, never a silently ignored key.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jsonschema
import yaml

from creditwh.settings import CONTRACTS_DIR

_SCHEMA_PATH = Path(__file__).with_name("contract.schema.json")


class ContractError(ValueError):
    """A contract file is malformed or inconsistent."""


@dataclass(frozen=True)
class Column:
    source: str
    name: str
    type: str
    required: bool = False
    codes: dict[str, str] | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contract:
    id: str
    title: str
    department: str
    owner: str
    format: str
    schedule: str
    file_pattern: str
    record_type: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    path: Path
    department_name: str = ""
    encoding: str = "utf-8"
    date_format: str = "%Y-%m-%d"  # the agreed spelling; others are read too, but noted (a department to fix)
    sheet: int = 0
    header_row: int = 0
    records_path: str = "data"
    identifier_required_one_of: tuple[str, ...] = ()
    assertions: dict = field(default_factory=dict)
    pull: dict | None = None

    @property
    def canonical_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def source_names(self) -> list[str]:
        return [c.source for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def has_uscc(self) -> bool:
        return any(c.type == "uscc" and c.name == "uscc" for c in self.columns)


@cache
def _schema() -> dict:
    return json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))


def load_contract(path: Path) -> Contract:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from None
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(top level)"
        raise ContractError(f"{path}: {where}: {errors[0].message}")
    if raw["id"] != path.stem:
        raise ContractError(f"{path}: id {raw['id']!r} must equal the file name {path.stem!r}")
    columns = tuple(
        Column(
            source=c["source"], name=c["name"], type=c["type"], required=c.get("required", False),
            codes={str(k): v for k, v in c["codes"].items()} if c.get("codes") else None,
            aliases=tuple(c.get("aliases", [])),
        )
        for c in raw["columns"]
    )
    names = [c.name for c in columns]
    for listed in (*raw["key"], *raw.get("identifier_required_one_of", [])):
        if listed not in names:
            raise ContractError(f"{path}: {listed!r} is used as key/identifier but is not a column")
    headers = [h for c in columns for h in (c.source, *c.aliases)]
    if len(set(names)) != len(names) or len(set(headers)) != len(headers):
        raise ContractError(f"{path}: column names, sources and aliases must be unique")
    for c in columns:
        if c.type == "code" and c.source == c.name:  # the raw header would shadow the mapped code column
            raise ContractError(f"{path}: code column {c.name!r} must not have the same name as its source header")
        if (c.type == "code") != bool(c.codes):
            raise ContractError(f"{path}: column {c.name!r}: a 'code' column needs 'codes', and only it")
    return Contract(
        id=raw["id"], title=raw["title"], department=raw["department"], owner=raw["owner"],
        format=raw["format"], schedule=raw["schedule"], file_pattern=raw["file_pattern"],
        record_type=raw["record_type"], key=tuple(raw["key"]), columns=columns, path=path,
        department_name=raw.get("department_name", ""), encoding=raw.get("encoding", "utf-8"),
        date_format=raw.get("date_format", "%Y-%m-%d"),
        sheet=raw.get("sheet", 0), header_row=raw.get("header_row", 0),
        records_path=raw.get("records_path", "data"),
        identifier_required_one_of=tuple(raw.get("identifier_required_one_of", [])),
        assertions=raw.get("assertions", {}),
        pull=raw.get("pull"),
    )


def load_contracts(directory: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    """All contracts, by feed id."""
    return {p.stem: load_contract(p) for p in sorted(directory.glob("*.yaml"))}
