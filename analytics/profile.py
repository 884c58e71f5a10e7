"""The credit profile of one entity (`creditwh entity <USCC>`), read from the published warehouse.

Identity (current registry version and its history), the current class and score with their explanation (dimension
sub-scores and the contributions that moved them), every credit event with its publicity status on the index's
as-of date, and the months in which the class changed.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from creditwh.errors import CreditwhError
from creditwh.warehouse import open_read_only

# GB 32100: 18 characters of the 31-character set (I, O, S, V, Z excluded); upper case after normalisation
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


class EntityNotFound(CreditwhError):
    """The USCC is malformed or not an entity of the warehouse."""


def normalise_uscc(text: str) -> str:
    """Upper case, spaces and full-width characters removed, as ingestion normalises a USCC."""
    import unicodedata

    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def _rows(con, sql: str, params: list) -> list[dict]:
    rel = con.execute(sql, params)
    names = [d[0] for d in rel.description]
    return [dict(zip(names, r)) for r in rel.fetchall()]


def publicity_status(event: dict, as_of: date) -> str:
    """Where the event stands on `as_of`: a penalty's publicity, a listing's or grade's force."""
    if event["event_type"] == "penalty":
        if event.get("is_published_type") is False:
            return "not shown (warning only)"
        start, end = event.get("publicity_start"), event.get("publicity_end")
        if start is None:
            return "unknown"
        if as_of < start:
            return "not yet shown"
        if end is not None and as_of >= end:
            return f"publicity ended {end.isoformat()}"
        return f"shown until {end.isoformat()}" if end else "shown"
    start, until = event["in_force_from"], event["in_force_until"]
    if event["in_force_rule"] == "point_in_time":
        return "recorded"
    if as_of < start:
        return "not yet in force"
    if until is not None and as_of >= until:
        return f"ended {until.isoformat()}"
    return f"in force until {until.isoformat()}" if until else "in force"


def entity_profile(warehouse: Path, uscc_text: str) -> dict:
    uscc = normalise_uscc(uscc_text)
    if not _USCC_SHAPE.match(uscc):
        raise EntityNotFound(f"{uscc_text!r} is not a unified social credit code: 18 characters of "
                             "0-9 and A-Z without I, O, S, V, Z (GB 32100)")
    with open_read_only(warehouse) as con:
        identity = _rows(con, "select * from dim_entity where uscc = ?", [uscc])
        if not identity:
            from ingestion.identifiers import is_valid_uscc

            hint = "" if is_valid_uscc(uscc) else " (and its check character does not hold: a typing error?)"
            raise EntityNotFound(f"no entity with USCC {uscc} in the warehouse {warehouse}{hint}")
        history = _rows(con, "select valid_from, valid_to, recorded_on, entity_name, entity_type, legal_rep_name, "
                             "registration_status, industry_code, division_code, park, registered_capital_wan, "
                             "address from dim_entity_history where uscc = ? order by valid_from", [uscc])
        index = _rows(con, "select * from fct_entity_credit_index where entity_uscc = ?", [uscc])
        as_of = con.execute("select max(as_of_date) from fct_entity_credit_index").fetchone()[0]
        dimensions = _rows(con, "select dimension, label_zh, weight_pct, base_score, points_total, sub_score, "
                                "weighted_score, contributions from fct_entity_credit_dimension_score "
                                "where entity_uscc = ? order by weight_pct desc, dimension", [uscc])
        contributions = _rows(con, "select contribution_rank, dimension, contribution_kind, contribution_id, "
                                   "event_type, severity, event_date, department, description, points, weight_pct, "
                                   "composite_points, forced_risk_class from fct_entity_credit_contribution "
                                   "where entity_uscc = ? order by contribution_rank", [uscc])
        events = _rows(con, """
            select events.event_id, events.event_type, events.severity, events.polarity, events.event_date,
                   events.domain, events.department, events.description, events.in_force_rule,
                   events.in_force_from, events.in_force_until, events.source_feed, events.source_file_name,
                   events.source_row, penalties.is_published_type, penalties.publicity_start,
                   penalties.publicity_end, penalties.repair_eligible_from
            from fct_credit_event as events
            left join fct_penalty as penalties
                -- the same landed row: both keep the latest version of the decision
                on events.event_type = 'penalty'
                and events.source_file_sha256 = penalties._file_sha256
                and events.source_row = penalties._source_row
            where events.entity_uscc = ?
            order by events.event_date desc, events.event_id""", [uscc])
        monthly = _rows(con, "select month_end, methodology_version, score, risk_class from "
                             "fct_entity_credit_index_monthly where entity_uscc = ? order by month_end", [uscc])

    current = index[0] if index else None
    series = monthly + ([{"month_end": current["as_of_date"], "methodology_version": current["methodology_version"],
                          "score": current["score"], "risk_class": current["risk_class"]}]
                        if current and (not monthly or monthly[-1]["month_end"] < current["as_of_date"]) else [])
    changes, previous = [], None
    for point in series:
        if previous is None or point["risk_class"] != previous["risk_class"]:
            changes.append({"date": point["month_end"], "from": previous["risk_class"] if previous else None,
                            "to": point["risk_class"], "score": point["score"],
                            "methodology_version": point["methodology_version"]})
        previous = point
    for e in events:
        e["status"] = publicity_status(e, as_of) if as_of else "unknown"
    return {
        "uscc": uscc,
        "as_of": as_of,
        "identity": identity[0],
        "history": history,
        "index": current,
        "dimensions": dimensions,
        "contributions": contributions,
        "events": events,
        "class_changes": changes,
    }
