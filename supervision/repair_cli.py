"""`creditwh repair eligible|notify|status|indicators`: credit repair (信用修复) on the published warehouse."""
from __future__ import annotations

import argparse
import json
from datetime import date


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))

from creditwh.command_groups import command_group


def register(add) -> None:
    nested = command_group(add, "repair", "Credit repair (信用修复): who may apply, proactive notices, an entity's "
                                          "status, indicators.")

    q = nested("eligible", cmd_eligible, "Records whose entity may apply for repair on a date (waiting period over, "
               "still shown).")
    q.add_argument("--as-of", type=_iso_date, help="the date (default: the warehouse's as-of date)")
    q = nested("notify", cmd_notify, "Write and record the proactive notices due on a date (one per repairable "
               "record not notified yet); the next build measures the notice rate from them.")
    q.add_argument("--as-of", type=_iso_date, required=True, help="the date the notices are sent")
    q.add_argument("--channel", help="how they are sent (default: GSXT message)")
    q = nested("status", cmd_status, "An entity's penalties with their repair dates, and its repair applications.")
    q.add_argument("uscc", help="the entity's unified social credit code")
    q = nested("indicators", cmd_indicators, "Proactive-notice rate, applications, grants, refusals, median days to "
               "decision, abnormal-list removals by reason.")
    q.add_argument("--from", dest="start", type=_iso_date, help="first day of the period (default: open)")
    q.add_argument("--to", dest="end", type=_iso_date, help="last day of the period (default: open)")


def _table(title: str, columns: list[str], rows: list[list]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console(highlight=False).print(table)


def cmd_eligible(args, home) -> int:
    from supervision import repair

    day = args.as_of or repair.build_as_of(home.warehouse)
    records = repair.eligible(home.warehouse, day)
    if args.json:
        _print_json({"as_of": day, "records": records})
        return 0
    _table(f"{len(records)} records eligible for credit repair on {day}",
           ["entity", "name", "decision no", "severity", "rule", "eligible from", "publicity ends", "status"],
           [[r["entity_uscc"], r["subject_name"], r["decision_no"], r["severity"], r["repair_rule_id"],
             r["repair_eligible_from"], r["publicity_ends_on"], r["repair_status"]] for r in records])
    return 0


def cmd_notify(args, home) -> int:
    from supervision import repair

    result = repair.notify(home, args.as_of, args.channel or repair.DEFAULT_CHANNEL)
    if args.json:
        _print_json(result.to_json())
        return 0
    where = f": list {result.file}, recorded in ingestion run {result.run_id}" if result.file else ""
    print(f"{result.notices} notices sent on {result.as_of}{where}. Not sent: {result.already_notified} already "
          f"notified, {result.unidentified} without a registry entity, {result.not_required} under a regime "
          f"without proactive notice. Run `creditwh build` to measure the notice rate.")
    return 0


def cmd_status(args, home) -> int:
    from supervision import repair

    result = repair.status(home.warehouse, args.uscc)
    if args.json:
        _print_json(result)
        return 0
    _table(f"{result['uscc']}: penalties and their repair dates",
           ["decision no", "decided", "severity", "rule", "eligible from", "auto end", "publicity ends", "status"],
           [[r["decision_no"], r["decision_date"], r["severity"], r["repair_rule_id"], r["repair_eligible_from"],
             r["publicity_auto_ends_on"], r["publicity_ends_on"], r["repair_status"]] for r in result["records"]])
    _table("repair applications",
           ["application", "record", "applied", "decision", "decided", "authority", "defect"],
           [[a["application_no"], a["record_decision_no"], a["applied_on"], a["decision"], a["decided_on"],
             a["authority_name"], a["defect"]] for a in result["applications"]])
    return 0


def cmd_indicators(args, home) -> int:
    from supervision import repair

    result = repair.indicators(home.warehouse, args.start, args.end)
    if args.json:
        _print_json(result)
        return 0
    n, a, r = result["proactive_notice"], result["applications"], result["abnormal_list_removals"]
    rate = f"{n['rate']:.1%}" if n["rate"] is not None else "n/a (no eligible record)"
    period = f"{result['period']['from'] or '…'} to {result['period']['to'] or '…'}"
    print(f"Credit repair, {period} (warehouse as of {result['as_of']})\n"
          f"  proactive-notice rate  {rate} ({n['notified']} of {n['eligible']} eligible records notified; "
          f"median {n['median_days_to_notice']} days)\n"
          f"  applications           {a['received']} received, {a['valid']} valid: {a['granted']} granted, "
          f"{a['refused']} refused, {a['pending']} pending; median {a['median_days_to_decision']} days to decision"
          + (f"\n  defective applications {a['defective']}" if a["defective"] else "")
          + f"\n  abnormal-list removals {r['total']}")
    for row in r["by_reason"]:
        print(f"    {row['removals']:>6}  {row['reason']} (median {row['median_days_listed']} days listed)")
    return 0
