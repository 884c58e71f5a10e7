"""`creditwh entity <USCC>` and `creditwh index what-if`: analyst commands on the published warehouse (read-only)."""
from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def register(add) -> None:
    p = add("entity", cmd_entity, "Credit profile of one entity: identity, class and score with the explanation, "
                                  "events with publicity status, class changes.")
    p.add_argument("uscc", help="the entity's unified social credit code (18 characters)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = add("index", None, "Credit index tools.")
    sub = p.add_subparsers(dest="index_command", metavar="{what-if}")
    sub.required = True
    w = sub.add_parser("what-if", help="Entities whose class a candidate methodology version would change, by "
                                       "industry (read-only).",
                       description="Compute a candidate methodology version beside a base one on the published "
                                   "warehouse, without writing it.")
    # the group's --home is parsed before the sub-command; accept it after too, without overwriting it
    w.add_argument("--home", default=argparse.SUPPRESS, help="installation directory")
    w.add_argument("--candidate", required=True, help="methodology version to try (methodology_versions)")
    w.add_argument("--base", help="version to compare with (default: the published index's)")
    w.add_argument("--as-of", type=_iso_date, help="date (default: the published index's as-of date)")
    w.add_argument("--json", action="store_true", help="print one JSON object")
    w.set_defaults(func=cmd_index_what_if)

    p = add("report", None, "Reports rendered from the published warehouse.")
    sub = p.add_subparsers(dest="report_command", metavar="{city}")
    sub.required = True
    r = sub.add_parser("city", help="The city credit report: composite index and one dashboard per credit park "
                                    "(self-contained HTML).",
                       description="Render $CREDITWH_HOME/reports/city_credit_report.html from the published "
                                   "warehouse: the city composite credit index with its indicator breakdown and "
                                   "a dashboard per credit park.")
    r.add_argument("--home", default=argparse.SUPPRESS, help="installation directory")
    r.add_argument("--out", type=Path, help="HTML file to write (default: <home>/reports/city_credit_report.html)")
    r.add_argument("--months", type=int, default=12, help="month-ends shown (default 12)")
    r.add_argument("--city", help="prefecture code (default: the city with most graded entities)")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=cmd_report_city)


def _console():
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:  # piped or captured: wide enough that descriptions are not cut to "…"
        console = Console(highlight=False, width=160)
    return console


def _table(title: str, columns) -> "Table":
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")  # wrap long names and descriptions rather than cut them
    return table


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _num(value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def cmd_entity(args, home) -> int:
    from analytics.profile import entity_profile

    profile = entity_profile(home.warehouse, args.uscc)
    if args.json:
        _print_json(profile)
        return 0
    console = _console()
    ident, index = profile["identity"], profile["index"]
    console.print(f"[bold]{ident['entity_name']}[/bold]  {profile['uscc']}")
    console.print(f"  {ident['entity_type']}, {ident['registration_status']}; legal representative "
                  f"{ident['legal_rep_name'] or '-'}; industry {ident['industry_code'] or '-'}; division "
                  f"{ident['division_code'] or '-'}; park {ident['park'] or '-'}; established "
                  f"{ident['established_date']}; registered capital {_num(ident['registered_capital_wan']) or '-'} 万元")
    if index:
        console.print(f"\nCredit index as of {index['as_of_date']} (methodology {index['methodology_version']}): "
                      f"[bold]{index['score']:g}[/bold], class [bold]{index['risk_class']}[/bold] "
                      f"({index['credit_code_colour']} code)"
                      + (f"; forced {index['forced_risk_class']} (its score alone gives {index['score_risk_class']})"
                         if index["forced_risk_class"] and index["forced_risk_class"] > index["score_risk_class"]
                         else ""))
        table = _table("Dimensions: sub_score = base + points (clamped); weighted = sub_score x weight / 100",
                       ("dimension", "weight %", "base", "points", "sub-score", "weighted"))
        for d in profile["dimensions"]:
            table.add_row(f"{d['dimension']} {d['label_zh'] or ''}", _num(d["weight_pct"]), _num(d["base_score"]),
                          _num(d["points_total"]), _num(d["sub_score"]), _num(d["weighted_score"]))
        console.print(table)
        if profile["contributions"]:
            table = _table("What moved the score (largest effect first)",
                           ("#", "dimension", "what", "date", "points", "on composite", "forces"))
            for c in profile["contributions"]:
                what = " ".join(x for x in (c["event_type"], c["severity"]) if x)
                table.add_row(str(c["contribution_rank"]), c["dimension"], f"{what}: {c['description'] or ''}",
                              _num(c["event_date"]), _num(c["points"]), _num(c["composite_points"]),
                              c["forced_risk_class"] or "")
            console.print(table)
    else:
        console.print("\nNo credit index: only active entities are graded.")
    if profile["events"]:
        table = _table(f"Credit events ({len(profile['events'])}), status on {profile['as_of']}",
                       ("date", "event", "department", "description", "status"))
        for e in profile["events"]:
            table.add_row(_num(e["event_date"]), " ".join(x for x in (e["event_type"], e["severity"]) if x),
                          e["department"], e["description"] or "", e["status"])
        console.print(table)
    if profile["class_changes"]:
        table = _table("Class changes (month-ends of the series, then the as-of date)",
                       ("date", "from", "to", "score", "methodology"))
        for c in profile["class_changes"]:
            table.add_row(_num(c["date"]), c["from"] or "", c["to"], _num(c["score"]), c["methodology_version"])
        console.print(table)
    if len(profile["history"]) > 1:
        table = _table("Registry history (type 2)",
                       ("valid from", "valid to", "name", "legal rep", "status", "industry", "park"))
        for h in profile["history"]:
            table.add_row(_num(h["valid_from"]), _num(h["valid_to"]), h["entity_name"], h["legal_rep_name"] or "",
                          h["registration_status"], h["industry_code"] or "", h["park"] or "")
        console.print(table)
    return 0


def cmd_report_city(args, home) -> int:
    from analytics.city_report import render

    out = args.out or home.root / "reports" / "city_credit_report.html"
    report = render(home.warehouse, out, months=args.months, city_code=args.city)
    summary = {"report": str(report.path), "city_code": report.city_code, "month_end": report.latest_month,
               "composite_index": report.composite_index, "parks": report.parks}
    if args.json:
        _print_json(summary)
    else:
        index = "n/a" if report.composite_index is None else f"{report.composite_index:.1f}"
        print(f"City credit report for {report.city_code} ({report.latest_month}): composite index {index}, "
              f"{len(report.parks)} parks ({', '.join(report.parks)})\nReport: {report.path}")
    return 0


def cmd_index_what_if(args, home) -> int:
    from analytics.whatif import run

    result = run(home.warehouse, candidate=args.candidate, base=args.base, as_of=args.as_of)
    if args.json:
        _print_json(result.to_json())
        return 0
    console = _console()
    console.print(f"Methodology {result.candidate} beside {result.base} as of {result.as_of}: {result.entities:,} "
                  f"active entities; {result.worse:,} get a worse class, {result.better:,} a better one, "
                  f"{result.unchanged:,} keep theirs.")
    table = _table("Classes", ("class", result.base, result.candidate))
    for c in ("A", "B", "C", "D"):
        table.add_row(c, f"{result.base_classes[c]:,}", f"{result.candidate_classes[c]:,}")
    console.print(table)
    table = _table("By industry (GB/T 4754 section)", ("section", "entities", "worse", "better", "unchanged"))
    for c in result.by_industry:
        table.add_row(c.industry_section, f"{c.entities:,}", f"{c.worse:,}", f"{c.better:,}",
                      f"{c.entities - c.better - c.worse:,}")
    console.print(table)
    return 0
