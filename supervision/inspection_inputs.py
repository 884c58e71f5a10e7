"""What an inspection plan reads: the departments' task and roster files, and the dated draw rules.

Departments send tasks (双随机抽查任务) and inspector rosters (执法检查人员名录库) as CSV (UTF-8, lists separated by
';') or YAML (a list of mappings). Every row is checked against a JSON schema (supervision/schemas/) and every
error names the file, the row (1 = first data row) and the field, so a department can fix its file.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from datetime import date
from pathlib import Path

import polars as pl
import yaml

from creditwh.errors import CreditwhError

RULES_DIR = Path(__file__).with_name("rules")
SCHEMAS_DIR = Path(__file__).with_name("schemas")
RATIOS_FILE = RULES_DIR / "inspection_ratios.yaml"
SCENES_FILE = RULES_DIR / "joint_inspection_industries.yaml"
LIST_FIELDS = {"items", "industry_codes", "division_codes", "conflict_usccs"}
RISK_CLASSES = ("A", "B", "C", "D")


class InspectionInputError(CreditwhError):
    """A task file, roster file or rule file cannot be used (the message names file, row and field)."""


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------------ department files
def _read_rows(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise InspectionInputError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InspectionInputError(f"{path}: not UTF-8 text") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            rows = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InspectionInputError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InspectionInputError(f"{path}: expected a YAML list of mappings, one per row")
        return rows
    if path.suffix.lower() != ".csv":
        raise InspectionInputError(f"{path}: expected a .csv or .yaml file")
    reader = csv.DictReader(text.splitlines())
    rows = []
    for row in reader:
        if None in row:
            raise InspectionInputError(f"{path} row {len(rows) + 1}: more cells than the header has columns")
        rows.append({k.strip(): v for k, v in row.items() if k is not None})
    return rows


def _typed(row: dict, schema: dict) -> dict:
    """A CSV row's strings as the schema's types; a value that does not convert stays as it was, so the schema
    check reports it with its field name."""
    out = {}
    for key, value in row.items():
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
        kind = schema["properties"].get(key, {}).get("type")
        if key in LIST_FIELDS and isinstance(value, str):
            value = [v.strip() for v in re.split(r"[;；]", value) if v.strip()]
        elif key in LIST_FIELDS and isinstance(value, list):
            # YAML reads an unquoted all-digit code (a USCC, a division) as a number
            value = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        elif kind == "number" and isinstance(value, str):
            try:
                value = float(value.rstrip("%")) / 100 if value.endswith("%") else float(value)
            except ValueError:
                pass
        elif kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        out[key] = value
    return out


def _validated(path: Path, schema_name: str) -> list[dict]:
    import jsonschema

    schema = json.loads((SCHEMAS_DIR / f"{schema_name}.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    rows = []
    for n, raw in enumerate(_read_rows(path), start=1):
        row = _typed(raw, schema)
        errors = sorted(validator.iter_errors(row), key=lambda e: list(e.path))
        if errors:
            err = errors[0]
            field = ".".join(str(p) for p in err.path) or _missing_field(err) or "(row)"
            raise InspectionInputError(f"{path} row {n}, field {field}: {err.message}")
        rows.append(row | {"_source_row": n})
    if not rows:
        raise InspectionInputError(f"{path}: no rows")
    return rows


def _missing_field(err) -> str | None:
    if err.validator == "required":
        return next((f for f in err.validator_value if f not in err.instance), None)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        return extra[0] if extra else None
    return None


def _duplicates(path: Path, rows: list[dict], key: tuple[str, ...]) -> None:
    seen: dict[tuple, int] = {}
    for row in rows:
        k = tuple(row[f] for f in key)
        if k in seen:
            raise InspectionInputError(f"{path} row {row['_source_row']}, field {key[-1]}: {'/'.join(k)} "
                                       f"repeats row {seen[k]}")
        seen[k] = row["_source_row"]


def read_tasks(path: Path) -> pl.DataFrame:
    """Inspection tasks, one row per task: task_id, department, items, industry_codes, division_codes, base_ratio."""
    rows = _validated(path, "inspection_tasks")
    _duplicates(path, rows, ("task_id",))
    return pl.DataFrame(
        [{"task_id": r["task_id"], "department": r["department"], "items": r["items"],
          "industry_codes": r["industry_codes"], "division_codes": r.get("division_codes", []),
          "base_ratio": float(r["base_ratio"]), "_source_row": r["_source_row"]} for r in rows],
        schema={"task_id": pl.String, "department": pl.String, "items": pl.List(pl.String),
                "industry_codes": pl.List(pl.String), "division_codes": pl.List(pl.String),
                "base_ratio": pl.Float64, "_source_row": pl.Int64},
    ).sort("task_id")


def read_rosters(path: Path) -> pl.DataFrame:
    """Inspector rosters of all departments, one row per inspector."""
    from ingestion.identifiers import is_valid_uscc

    rows = _validated(path, "inspector_roster")
    _duplicates(path, rows, ("department", "inspector_id"))
    for r in rows:
        bad = [u for u in r.get("conflict_usccs", []) if not is_valid_uscc(u)]
        if bad:
            raise InspectionInputError(f"{path} row {r['_source_row']}, field conflict_usccs: {bad[0]} is not a "
                                       "valid unified social credit code (GB 32100 check digit)")
    return pl.DataFrame(
        [{"department": r["department"], "inspector_id": r["inspector_id"], "inspector_name": r["inspector_name"],
          "division_code": r.get("division_code"), "conflict_usccs": r.get("conflict_usccs", []),
          "_source_row": r["_source_row"]} for r in rows],
        schema={"department": pl.String, "inspector_id": pl.String, "inspector_name": pl.String,
                "division_code": pl.String, "conflict_usccs": pl.List(pl.String), "_source_row": pl.Int64},
    ).sort("department", "inspector_id")


# ------------------------------------------------------------------------------------------------ dated rules
def rule_for(day: date, rules_file: Path) -> dict:
    try:
        versions = yaml.safe_load(Path(rules_file).read_text(encoding="utf-8"))["versions"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise InspectionInputError(f"{rules_file}: not a rules file with `versions` ({exc})") from None
    for v in versions:
        start, end = v["effective_from"], v.get("effective_to")
        if start <= day and (end is None or day < end):
            return v
    raise InspectionInputError(f"{rules_file}: no version is in force on {day.isoformat()}")


def draw_rules(day: date, rules_file: Path = RATIOS_FILE) -> dict:
    rule = rule_for(day, rules_file)
    multipliers = rule["class_multipliers"]
    if set(multipliers) != set(RISK_CLASSES):
        raise InspectionInputError(f"{rules_file} {rule['version']}: class_multipliers must name A, B, C and D")
    if not multipliers["A"] <= multipliers["B"] <= multipliers["C"] <= multipliers["D"]:
        raise InspectionInputError(f"{rules_file} {rule['version']}: class_multipliers must rise from A (无事不扰) "
                                   "to D")
    if rule["min_inspectors"] < 2:
        raise InspectionInputError(f"{rules_file} {rule['version']}: min_inspectors below 2 (行政处罚法: two officers)")
    return rule


def scenes(day: date, rules_file: Path = SCENES_FILE) -> tuple[dict, pl.DataFrame]:
    """The joint-inspection rule in force and its scenes, one row per (scene, industry code prefix)."""
    rule = rule_for(day, rules_file)
    rows = [{"scene_id": s["scene_id"], "scene_name": s["name"], "lead_department": s["lead_department"],
             "scene_prefix": code} for s in rule["scenes"] for code in s["industry_codes"]]
    frame = pl.DataFrame(rows, schema={"scene_id": pl.String, "scene_name": pl.String,
                                       "lead_department": pl.String, "scene_prefix": pl.String})
    clash = frame.group_by("scene_prefix").agg(pl.col("scene_id").n_unique().alias("n")).filter(pl.col("n") > 1)
    if clash.height:
        raise InspectionInputError(f"{rules_file} {rule['version']}: industry code {clash['scene_prefix'][0]} "
                                   "belongs to more than one scene")
    return rule, frame
