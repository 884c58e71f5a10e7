"""Credit parks (信用园区) as configured zones: read and check supervision/rules/credit_parks.yaml, turn it into the
dbt seeds the warehouse computes membership from, and read the reconciliation of zone membership against the
registry's park column back from the published warehouse.

The YAML is the source of truth; the seeds are derived from it (one row per division x industry prefix, so the SQL
needs no list splitting) and a test fails when the committed seeds differ from what the YAML yields.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from creditwh.errors import CreditwhError
from creditwh.settings import DBT_PROJECT_DIR

PARKS_FILE = Path(__file__).with_name("rules") / "credit_parks.yaml"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
PARKS_SEED = "credit_parks.csv"
ZONE_RULES_SEED = "credit_park_zone_rules.csv"

PARK_COLUMNS = ["park_id", "park_name", "theme", "theme_zh", "display_order", "effective_from", "effective_to",
                "source"]
ZONE_RULE_COLUMNS = ["park_id", "rule_id", "rule_kind", "division_code", "industry_prefix", "uscc", "registry_name",
                     "effective_from", "effective_to", "source"]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_DIVISION = re.compile(r"^\d{6}$")                 # GB/T 2260
_INDUSTRY = re.compile(r"^[A-T](\d{2}(\d{1,2})?)?$")  # GB/T 4754: section letter, + division, + group/class


class _TextDatesLoader(yaml.SafeLoader):
    """Dates stay text, so a bad one ('2023-13-01') is reported with its park and field, not as a YAML error."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class ParkConfigError(CreditwhError):
    """The park configuration is malformed; the message names the file, the park and the field."""


@dataclass(frozen=True)
class Window:
    effective_from: date | None
    effective_to: date | None

    def overlaps(self, other: "Window") -> bool:
        return ((self.effective_to is None or other.effective_from is None or other.effective_from <= self.effective_to)
                and (other.effective_to is None or self.effective_from is None
                     or self.effective_from <= other.effective_to))


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


class _Checker:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str):
        raise ParkConfigError(f"{self.path}: {where}: {message}")

    def text(self, node: dict, field: str, where: str, required: bool = True) -> str | None:
        value = node.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(where, f"field '{field}' is missing or empty")
            return None
        if not isinstance(value, (str, int)):
            self.fail(where, f"field '{field}' must be text, got {value!r}")
        return str(value).strip()

    def day(self, node: dict, field: str, where: str) -> date | None:
        value = node.get(field)
        if value is None or value == "":
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(where, f"field '{field}' must be a date YYYY-MM-DD, got {value!r}")

    def window(self, node: dict, where: str) -> Window:
        window = Window(self.day(node, "effective_from", where), self.day(node, "effective_to", where))
        if window.effective_from and window.effective_to and window.effective_to < window.effective_from:
            self.fail(where, f"effective_to {window.effective_to} is before effective_from {window.effective_from}")
        return window

    def codes(self, node: dict, field: str, pattern: re.Pattern, what: str, where: str) -> list[str]:
        values = node.get(field) or []
        if not isinstance(values, list):
            self.fail(where, f"field '{field}' must be a list of {what}")
        out = []
        for value in values:
            text = str(value).strip().upper()
            if not pattern.match(text):
                self.fail(where, f"field '{field}': {value!r} is not a {what}")
            out.append(text)
        return out


def load_parks(path: Path = PARKS_FILE) -> list[dict]:
    """The parks of the file, checked: ids, names, dates, zone rules that match something but not everything,
    valid USCCs on the entity lists, registry names and zones that belong to one park only."""
    from ingestion.identifiers import is_valid_uscc

    check = _Checker(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDatesLoader)
    except OSError as exc:
        raise ParkConfigError(f"{path}: cannot read the park configuration ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ParkConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("parks"), list) or not document["parks"]:
        raise ParkConfigError(f"{path}: expected a mapping with a non-empty list 'parks'")

    parks, park_ids, rule_ids, registry_names = [], set(), set(), {}
    for i, node in enumerate(document["parks"], start=1):
        if not isinstance(node, dict):
            check.fail(f"park #{i}", "must be a mapping")
        park_id = check.text(node, "id", f"park #{i}")
        where = f"park '{park_id}'"
        if not _ID.match(park_id):
            check.fail(where, "field 'id' must be lower-case letters, digits and _")
        if park_id in park_ids:
            check.fail(where, "duplicate park id")
        park_ids.add(park_id)
        park = {"id": park_id, "name": check.text(node, "name", where), "theme": check.text(node, "theme", where),
                "theme_zh": check.text(node, "theme_zh", where, required=False),
                "window": check.window(node, where), "source": check.text(node, "source", where),
                "registry_names": [], "zone": [], "entities": []}
        for name in node.get("registry_names") or [park["name"]]:
            name = str(name).strip()
            if name in registry_names:
                check.fail(where, f"registry name {name!r} already belongs to park '{registry_names[name]}'")
            registry_names[name] = park_id
            park["registry_names"].append(name)
        for j, rule in enumerate(node.get("zone") or [], start=1):
            rule_where = f"{where}, zone rule #{j}"
            rule_id = check.text(rule, "rule", rule_where)
            rule_where = f"{where}, zone rule '{rule_id}'"
            if not _ID.match(rule_id) or rule_id in rule_ids:
                check.fail(rule_where, "field 'rule' must be a unique id of lower-case letters, digits and _")
            rule_ids.add(rule_id)
            divisions = check.codes(rule, "divisions", _DIVISION, "6-digit GB/T 2260 division code", rule_where)
            industries = check.codes(rule, "industries", _INDUSTRY, "GB/T 4754 industry code or section letter",
                                     rule_where)
            if not divisions and not industries:
                check.fail(rule_where, "needs 'divisions' or 'industries' (a rule without either matches every "
                                       "entity of the city)")
            park["zone"].append({"rule": rule_id, "divisions": divisions, "industries": industries,
                                 "window": check.window(rule, rule_where),
                                 "source": check.text(rule, "source", rule_where)})
        for j, entity in enumerate(node.get("entities") or [], start=1):
            entity_where = f"{where}, entity #{j}"
            uscc = (check.text(entity, "uscc", entity_where) or "").upper()
            if not is_valid_uscc(uscc):
                check.fail(entity_where, f"field 'uscc': {uscc!r} is not a valid unified social credit code")
            park["entities"].append({"uscc": uscc, "window": check.window(entity, entity_where),
                                     "source": check.text(entity, "source", entity_where)})
        if not park["zone"] and not park["entities"]:
            check.fail(where, "has neither zone rules nor an entity list: it could have no members")
        parks.append(park)
    _check_no_overlap(check, parks)
    return parks


def _covers(a: list[str], b: list[str], prefix: bool) -> bool:
    """Could a value match both code lists (an empty list matches everything)?"""
    if not a or not b:
        return True
    if prefix:
        return any(x.startswith(y) or y.startswith(x) for x in a for y in b)
    return bool(set(a) & set(b))


def _check_no_overlap(check: _Checker, parks: list[dict]) -> None:
    # an entity counted in two parks would be counted twice in the city's park dashboards
    for n, park in enumerate(parks):
        for other in parks[n + 1:]:
            for rule in park["zone"]:
                for other_rule in other["zone"]:
                    if (rule["window"].overlaps(other_rule["window"])
                            and _covers(rule["divisions"], other_rule["divisions"], prefix=False)
                            and _covers(rule["industries"], other_rule["industries"], prefix=True)):
                        check.fail(f"park '{park['id']}', zone rule '{rule['rule']}'",
                                   f"overlaps zone rule '{other_rule['rule']}' of park '{other['id']}'")


def seed_rows(parks: list[dict]) -> tuple[list[dict], list[dict]]:
    """(credit_parks rows, credit_park_zone_rules rows): zone rules exploded to one row per division x prefix."""
    park_rows, rule_rows = [], []
    for order, park in enumerate(parks, start=1):
        window = park["window"]
        park_rows.append({"park_id": park["id"], "park_name": park["name"], "theme": park["theme"],
                          "theme_zh": park["theme_zh"] or "", "display_order": order,
                          "effective_from": _iso(window.effective_from),
                          "effective_to": _iso(window.effective_to), "source": park["source"]})
        blank = {"division_code": "", "industry_prefix": "", "uscc": "", "registry_name": ""}
        for rule in park["zone"]:
            for division in rule["divisions"] or [""]:
                for prefix in rule["industries"] or [""]:
                    rule_rows.append({"park_id": park["id"], "rule_id": rule["rule"], "rule_kind": "zone", **blank,
                                      "division_code": division, "industry_prefix": prefix,
                                      "effective_from": _iso(rule["window"].effective_from),
                                      "effective_to": _iso(rule["window"].effective_to), "source": rule["source"]})
        for entity in park["entities"]:
            rule_rows.append({"park_id": park["id"], "rule_id": f"{park['id']}_list", "rule_kind": "entity",
                              **blank, "uscc": entity["uscc"],
                              "effective_from": _iso(entity["window"].effective_from),
                              "effective_to": _iso(entity["window"].effective_to), "source": entity["source"]})
        for name in park["registry_names"]:
            rule_rows.append({"park_id": park["id"], "rule_id": f"{park['id']}_registry_name",
                              "rule_kind": "registry_name", **blank, "registry_name": name,
                              "effective_from": _iso(window.effective_from), "effective_to": _iso(window.effective_to),
                              "source": "how the registry's park column spells the park (credit_parks.yaml)"})
    return park_rows, rule_rows


def _csv(rows: list[dict], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def seed_texts(path: Path = PARKS_FILE) -> dict[str, str]:
    """File name -> the CSV text the YAML yields."""
    park_rows, rule_rows = seed_rows(load_parks(path))
    return {PARKS_SEED: _csv(park_rows, PARK_COLUMNS), ZONE_RULES_SEED: _csv(rule_rows, ZONE_RULE_COLUMNS)}


def stale_seeds(path: Path = PARKS_FILE, seeds_dir: Path = SEEDS_DIR) -> list[str]:
    """The seed files that differ from what the YAML yields (empty: in sync)."""
    stale = []
    for name, text in seed_texts(path).items():
        target = seeds_dir / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def write_seeds(path: Path = PARKS_FILE, seeds_dir: Path = SEEDS_DIR) -> list[Path]:
    written = []
    for name, text in seed_texts(path).items():
        target = seeds_dir / name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def reconciliation(warehouse: Path) -> dict:
    """Zone membership against the registry's park column, from the published warehouse: counts per park and
    status, the disagreeing entities, and registry park names that name no configured park."""
    from creditwh.warehouse import open_read_only

    if not Path(warehouse).exists():
        raise ParkConfigError(f"no warehouse at {warehouse}: run `creditwh build` first")
    with open_read_only(warehouse) as con:
        counts = con.sql("""
            select p.park_id, p.park_name, m.reconciliation, count(*) as entities
            from fct_park_membership as m inner join dim_credit_park as p using (park_id)
            where m.is_active
            group by all order by min(p.display_order), p.park_id, m.reconciliation""").fetchall()
        disagreements = con.sql("""
            select park_id, entity_uscc, entity_name, reconciliation, registry_park, division_code, industry_code
            from fct_park_membership
            where is_active and reconciliation <> 'agree'
            order by park_id, reconciliation, entity_uscc""").fetchall()
        unmapped = con.sql("""
            select e.park, count(*) as entities
            from dim_entity as e
            where e.park is not null and e.is_active
                and e.park not in (select registry_name from credit_park_zone_rules where rule_kind = 'registry_name')
            group by all order by e.park""").fetchall()
    by_park: dict[str, dict] = {}
    for park_id, park_name, status, n in counts:
        entry = by_park.setdefault(park_id, {"park_name": park_name, "agree": 0, "zone_only": 0, "registry_only": 0})
        entry[status] = n
    return {
        "parks": by_park,
        "disagreements": [dict(zip(("park_id", "uscc", "entity_name", "reconciliation", "registry_park",
                                    "division_code", "industry_code"), row)) for row in disagreements],
        "unmapped_registry_parks": {name: n for name, n in unmapped},
    }
