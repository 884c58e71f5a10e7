"""Credit repair (信用修复): who may apply on a date, the proactive notices the office sends, an entity's repair
status, and the indicators of the repair work (docs/credit-repair.md).

Everything is read from the published warehouse (fct_credit_repair_eligibility, fct_credit_repair_notification,
int_credit_repair__decisions, fct_abnormal_list_removal). The one write is `notify`: the notice list is written as
a samr_credit_repair_notices CSV into the inbox and ingested at once, so a notice is recorded (landed, with its
lineage) the moment it is produced, and the next build measures the proactive-notice rate from it.
"""
from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from creditwh.errors import CreditwhError

NOTICES_FEED = "samr_credit_repair_notices"
DEFAULT_CHANNEL = "国家企业信用信息公示系统站内信"
RECORD_TYPE_LABEL = {"penalty": "行政处罚", "abnormal_list": "经营异常名录", "serious_dishonest": "严重违法失信名单"}


class RepairError(CreditwhError):
    """A credit repair command cannot do what was asked (the message says why)."""


def _connect(warehouse: Path):
    from creditwh.warehouse import open_read_only

    if not Path(warehouse).exists():
        raise RepairError(f"no warehouse at {warehouse}: run `creditwh build` first")
    return open_read_only(warehouse)


def _rows(con, query: str, params: dict | None = None) -> list[dict]:
    try:
        result = con.execute(query, params or {})
    except Exception as exc:  # duckdb.CatalogException: the warehouse predates credit repair
        if "does not exist" in str(exc):
            raise RepairError(f"the warehouse has no credit repair tables ({str(exc).splitlines()[0]}): "
                              "run `creditwh build` again") from None
        raise
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def build_as_of(warehouse: Path) -> date:
    with _connect(warehouse) as con:
        rows = _rows(con, "select max(as_of_date) as as_of from fct_credit_repair_eligibility")
    if not rows or rows[0]["as_of"] is None:
        raise RepairError("the warehouse holds no penalty to repair (fct_credit_repair_eligibility is empty)")
    return rows[0]["as_of"]


# ------------------------------------------------------------------------------------------------ eligible
ELIGIBLE_ON = """
    select e.*, coalesce(r.proactive_notice_required, false) as notice_required
    from fct_credit_repair_eligibility e
    left join credit_repair_rules r
      on (r.effective_from is null or r.effective_from <= e.repair_eligible_from)
     and (r.effective_to is null or e.repair_eligible_from <= r.effective_to)
    where e.repair_eligible_from <= $day and e.publicity_ends_on > $day
    order by e.repair_eligible_from, e.record_id"""


def eligible(warehouse: Path, day: date | None = None) -> list[dict]:
    """Records whose entity may apply for repair on `day` (default: the build's as-of date): the waiting period
    is over and the record is still shown (not ended by its rule, nor by a granted repair)."""
    day = day or build_as_of(warehouse)
    with _connect(warehouse) as con:
        return _rows(con, ELIGIBLE_ON, {"day": day})


# ------------------------------------------------------------------------------------------------ notify
@dataclass
class NoticeRun:
    as_of: date
    notices: int
    already_notified: int
    not_required: int
    unidentified: int
    file: str | None
    run_id: str | None

    def to_json(self) -> dict:
        return {**self.__dict__, "as_of": self.as_of.isoformat()}


def _sent_notice_keys(home, con) -> tuple[set[tuple], set[str]]:
    """(record_type, decision_no, authority_uscc) of every notice already recorded, and their notice numbers:
    the warehouse's and those landed since the last build."""
    import polars as pl

    keys, numbers = set(), set()
    for row in _rows(con, "select record_type, record_decision_no, authority_uscc, notice_no "
                          "from int_credit_repair__notices"):
        keys.add((row["record_type"], row["record_decision_no"], row["authority_uscc"]))
        numbers.add(row["notice_no"])
    landed = sorted((home.landing / NOTICES_FEED).glob("run=*/*.parquet"))
    if landed:
        frame = pl.concat([pl.read_parquet(p) for p in landed], how="diagonal_relaxed")
        for row in frame.select("record_type", "record_decision_no", "authority_uscc", "notice_no").iter_rows():
            keys.add(row[:3])
            numbers.add(row[3])
    return keys, numbers


def notify(home, day: date, channel: str = DEFAULT_CHANNEL) -> NoticeRun:
    """Write the notices due on `day` and record them: one per record that may be repaired on `day`, whose
    regime requires a proactive notice, about an identified registry entity, with no repair granted or pending and
    no notice sent yet. The CSV (the list the office sends out) is ingested as feed samr_credit_repair_notices."""
    from ingestion.contracts import load_contracts
    from ingestion.run import ingest, new_run_id

    with _connect(home.warehouse) as con:
        candidates = _rows(con, ELIGIBLE_ON, {"day": day})
        sent, numbers = _sent_notice_keys(home, con)
    due, already, not_required, unidentified = [], 0, 0, 0
    for rec in candidates:
        if rec["repair_status"] in ("granted", "pending"):
            continue
        if not rec["notice_required"]:
            not_required += 1
        elif not rec["entity_known"]:
            unidentified += 1  # no registry entity to write to; stays un-notified, and counts against the rate
        elif (rec["record_type"], rec["decision_no"], rec["authority_uscc"]) in sent:
            already += 1
        else:
            due.append(rec)
    if not due:
        return NoticeRun(day, 0, already, not_required, unidentified, None, None)

    contract = load_contracts()[NOTICES_FEED]
    prefix = f"TZ{day:%Y%m%d}-"
    first = 1 + sum(1 for n in numbers if n.startswith(prefix))
    rows = [{
        "notice_no": f"{prefix}{first + i:04d}", "uscc": rec["entity_uscc"], "entity_name": rec["subject_name"],
        "record_type": RECORD_TYPE_LABEL[rec["record_type"]], "record_decision_no": rec["decision_no"],
        "authority_uscc": rec["authority_uscc"], "repair_eligible_from": rec["repair_eligible_from"].isoformat(),
        "notified_on": day.isoformat(), "channel": channel,
    } for i, rec in enumerate(due)]
    run_id = new_run_id()
    folder = home.inbox / NOTICES_FEED
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"credit_repair_notices_{day:%Y%m%d}_{run_id}.csv"
    header = {c.name: c.source for c in contract.columns}
    with open(path, "w", encoding=contract.encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[header[name] for name in header])
        writer.writeheader()
        writer.writerows({header[k]: v for k, v in row.items()} for row in rows)
    report = ingest(home, files=[(contract, path)], run_id=run_id)
    result = report.files[0]
    if result.status != "loaded" or result.quarantined:
        why = result.error or result.quarantine_reasons
        raise RepairError(f"the notice list {path} was not recorded in full: {result.status}, "
                          f"{result.loaded} loaded, {result.quarantined} quarantined ({why})")
    return NoticeRun(day, len(rows), already, not_required, unidentified, str(path), run_id)


# ------------------------------------------------------------------------------------------------ status
def status(warehouse: Path, uscc: str) -> dict:
    from ingestion.identifiers import is_valid_uscc

    code = uscc.strip().upper()
    if not is_valid_uscc(code):
        raise RepairError(f"{uscc!r} is not a valid unified social credit code (GB 32100 check digit)")
    with _connect(warehouse) as con:
        records = _rows(con, "select * from fct_credit_repair_eligibility where entity_uscc = $u "
                             "order by decision_date, record_id", {"u": code})
        applications = _rows(con, "select * from int_credit_repair__decisions where entity_uscc = $u or uscc = $u "
                                  "order by applied_on, application_no", {"u": code})
    if not records and not applications:
        raise RepairError(f"{code}: no penalty and no repair application of this entity in the warehouse")
    return {"uscc": code, "records": records, "applications": applications}


# ------------------------------------------------------------------------------------------------ indicators
def _between(column: str, start: date | None, end: date | None) -> tuple[str, dict]:
    clauses, params = [], {}
    if start:
        clauses.append(f"{column} >= $start")
        params["start"] = start
    if end:
        clauses.append(f"{column} <= $end")
        params["end"] = end
    return (" and ".join(clauses) or "true"), params


def indicators(warehouse: Path, start: date | None = None, end: date | None = None) -> dict:
    """The repair work of a period (inclusive; open when a bound is not given), docs/credit-repair.md §5."""
    if start and end and end < start:
        raise RepairError(f"--to {end} is before --from {start}")
    with _connect(warehouse) as con:
        where, params = _between("repair_eligible_from", start, end)
        notice = _rows(con, f"""
            select count(*) as eligible, count(*) filter (where is_notified) as notified,
                   median(days_to_notice) as median_days_to_notice
            from fct_credit_repair_notification where notice_required and {where}""", params)[0]
        where, params = _between("applied_on", start, end)
        apps = _rows(con, f"select * from int_credit_repair__decisions where {where}", params)
        where, params = _between("removed_on", start, end)
        removals = _rows(con, f"""
            select removal_reason, count(*) as removals, median(days_listed) as median_days_listed
            from fct_abnormal_list_removal where {where}
            group by removal_reason order by removals desc, removal_reason""", params)
        as_of = _rows(con, "select max(as_of_date) as d from fct_credit_repair_eligibility")[0]["d"]
    valid = [a for a in apps if a["is_valid"]]
    days = [a["days_to_decision"] for a in valid if a["decision"] in ("granted", "refused")]
    defects: dict[str, int] = {}
    for a in apps:
        if a["defect"]:
            defects[a["defect"]] = defects.get(a["defect"], 0) + 1
    return {
        "as_of": as_of.isoformat() if as_of else None,
        "period": {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None},
        "proactive_notice": {
            "eligible": notice["eligible"], "notified": notice["notified"],
            "rate": round(notice["notified"] / notice["eligible"], 4) if notice["eligible"] else None,
            "median_days_to_notice": notice["median_days_to_notice"],
        },
        "applications": {
            "received": len(apps), "valid": len(valid), "defective": dict(sorted(defects.items())),
            "granted": sum(a["decision"] == "granted" for a in valid),
            "refused": sum(a["decision"] == "refused" for a in valid),
            "pending": sum(a["decision"] == "pending" for a in valid),
            "median_days_to_decision": statistics.median(days) if days else None,
        },
        "abnormal_list_removals": {
            "total": sum(r["removals"] for r in removals),
            "by_reason": [{"reason": r["removal_reason"], "removals": r["removals"],
                           "median_days_listed": r["median_days_listed"]} for r in removals],
        },
    }
