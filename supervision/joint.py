"""Joint punishment and incentives (联合惩戒 / 联合激励): what the warehouse's joint marts say, and the feedback file
for the court.

Everything here reads a built warehouse read-only; the rules (listing periods, measures per department) are dbt
seeds and the marts are built by dbt (dbt_project/models/marts/supervision/joint_punishment/). The court feedback is
written as one directory per as-of date, `court-feedback-<as_of>/` holding `court_feedback.jsonl` and
`manifest.json` (counts and the SHA-256 of the records file): the directory is assembled under a temporary name and
renamed into place, so a reader sees all of it or none of it.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from datetime import date
from pathlib import Path

from creditwh.errors import CreditwhError

DEPARTMENT_MART_PREFIX = "mart_joint_measures__"
DUE_STATUSES = ("early_removal_eligible", "removal_due")
FEEDBACK_FILE = "court_feedback.jsonl"
MANIFEST_FILE = "manifest.json"


class JointError(CreditwhError):
    """The joint marts cannot answer (no warehouse, an unknown department, a feedback directory in the way)."""


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[dict]:
    import duckdb

    from creditwh.warehouse import open_read_only

    if not Path(warehouse).exists():
        raise JointError(f"no warehouse at {warehouse}: run `creditwh build` (or `creditwh demo`) first")
    try:
        with open_read_only(warehouse) as con:
            rel = con.execute(sql, params or [])
            columns = [d[0] for d in rel.description]
            return [dict(zip(columns, row)) for row in rel.fetchall()]
    except duckdb.CatalogException as exc:
        raise JointError(f"{warehouse} has no joint-punishment marts ({str(exc).splitlines()[0]}): "
                         "rebuild it with `creditwh build`") from None


def listings(warehouse: Path, due_only: bool = False) -> list[dict]:
    """Serious-dishonest listings with their grounds, removal dates and status on the build's as-of date."""
    where = f"where status in {DUE_STATUSES!r}" if due_only else ""
    return _query(warehouse, f"""
        select listing_decision_no, entity_uscc, subject_name, grounds_code, listed_on,
               early_removal_eligible_from, removal_due_on, removed_on, status, as_of_date
        from fct_serious_dishonest_listing
        {where}
        order by listed_on, listing_decision_no""")


def departments(warehouse: Path) -> list[str]:
    rows = _query(warehouse, "select table_name from information_schema.tables where table_name like ? "
                             "order by table_name", [DEPARTMENT_MART_PREFIX + "%"])
    return [r["table_name"][len(DEPARTMENT_MART_PREFIX):] for r in rows]


def measures(warehouse: Path, department: str, in_force_only: bool = False) -> list[dict]:
    """The measures one department applies (its mart), restrictions and incentives."""
    known = departments(warehouse)
    if department not in known:
        raise JointError(f"no joint-measures mart for department {department!r}; "
                         f"known departments: {', '.join(known) or 'none (rebuild the warehouse)'}")
    where = "where in_force_on_as_of" if in_force_only else ""
    return _query(warehouse, f"""
        select entity_uscc, entity_name, list_name, basis_ref, measure_code, measure_zh, measure_en, kind,
               legal_basis, in_force_from, in_force_until, in_force_on_as_of, as_of_date
        from {DEPARTMENT_MART_PREFIX}{department}
        {where}
        order by entity_uscc, list_name, measure_code, in_force_from""")


def triggers(warehouse: Path) -> list[dict]:
    """Court status changes of listed or red-listed entities: each asks for a review of the membership."""
    return _query(warehouse, """
        select changed_on, entity_uscc, list_name, basis_ref, member_from, case_no, court_name,
               court_status_change, review_reason, as_of_date
        from fct_court_linkage_trigger
        order by changed_on, entity_uscc, list_name, case_no""")


def _text(value) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def write_csv(rows: list[dict], out: Path) -> Path:
    """Rows as CSV (UTF-8 with BOM, so a spreadsheet opens the Chinese text), written atomically."""
    buffer = io.StringIO()
    columns = list(rows[0]) if rows else []
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else _text(v) for k, v in row.items()})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8-sig")
    os.replace(tmp, out)
    return out


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def court_feedback(warehouse: Path) -> list[dict]:
    rows = _query(warehouse, """
        select feedback_id, case_no, court_name, subject_name, subject_uscc, entity_uscc, department, measure_code,
               measure_zh, measure_en, kind, legal_basis, in_force_from, in_force_until, in_force_on_as_of,
               as_of_date
        from fct_court_feedback
        order by case_no, department, measure_code, in_force_from""")
    return [{k: _text(v) for k, v in row.items()} for row in rows]


def write_court_feedback(warehouse: Path, out_dir: Path) -> dict:
    """Write `court-feedback-<as_of>/` under out_dir; return the manifest (plus `directory`, `created`).

    The same warehouse gives the same bytes, so a second run finds the directory already there and leaves it;
    a directory with other content for the same as-of date is never overwritten.
    """
    rows = court_feedback(warehouse)
    as_of = rows[0]["as_of_date"] if rows else _query(
        warehouse, "select cast(max(as_of_date) as varchar) as d from fct_joint_list_membership")[0]["d"]
    if as_of is None:
        raise JointError(f"{warehouse}: no as-of date in the joint marts (an empty warehouse?)")
    data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode("utf-8")
    by_department: dict[str, int] = {}
    by_court: dict[str, int] = {}
    for r in rows:
        by_department[r["department"]] = by_department.get(r["department"], 0) + 1
        by_court[r["court_name"]] = by_court.get(r["court_name"], 0) + 1
    manifest = {
        "kind": "court_feedback",
        "as_of": as_of,
        "records": len(rows),
        "cases": len({r["case_no"] for r in rows}),
        "entities": len({r["entity_uscc"] for r in rows}),
        "in_force_on_as_of": sum(1 for r in rows if r["in_force_on_as_of"]),
        "by_department": dict(sorted(by_department.items())),
        "by_court": dict(sorted(by_court.items())),
        "files": [{"name": FEEDBACK_FILE, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}],
    }
    out_dir = Path(out_dir)
    target = out_dir / f"court-feedback-{as_of}"
    if target.exists():
        existing = target / MANIFEST_FILE
        if existing.exists() and json.loads(existing.read_text(encoding="utf-8")) == manifest:
            return manifest | {"directory": str(target), "created": False}
        raise JointError(f"{target} exists with other content (a feedback for {as_of} from another build): "
                         "move it away before writing again")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".tmp-court-feedback-{as_of}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _fsync_write(tmp / FEEDBACK_FILE, data)
        _fsync_write(tmp / MANIFEST_FILE, (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest | {"directory": str(target), "created": True}
