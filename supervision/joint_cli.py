"""`creditwh joint listings|measures|court-feedback|triggers`: joint punishment and incentives
(联合惩戒 / 联合激励)."""
from __future__ import annotations

import json
from pathlib import Path

from creditwh.command_groups import command_group


def register(add) -> None:
    subcommand = command_group(add, "joint", "Joint punishment and incentives: serious-dishonest listings, "
                                             "measures per department, court linkage and feedback.")

    s = subcommand("listings", cmd_listings, "Serious-dishonest listings: grounds, early-removal and removal dates, "
                                             "status on the warehouse's as-of date.")
    s.add_argument("--due", action="store_true", help="only listings eligible for early removal or due for removal")
    s = subcommand("measures", cmd_measures, "The restrictions and incentives one department applies.")
    s.add_argument("--department", required=True, help="e.g. market_regulation, tax, court, public_finance")
    s.add_argument("--in-force", action="store_true", help="only measures in force on the as-of date")
    s.add_argument("--out", type=Path, help="write the rows to this CSV file instead of printing them")
    s = subcommand("court-feedback", cmd_court_feedback, "Write the feedback for the court: the measures applied to "
                                                         "each court-listed entity (JSON Lines + manifest).")
    s.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="directory to write court-feedback-<as_of>/ in")
    subcommand("triggers", cmd_triggers, "Court status changes of listed or red-listed entities (reviews to do).")


def _print_rows(rows: list[dict], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    console = console if console.is_terminal else Console(highlight=False, width=220)
    if not rows:
        console.print(f"{title}: none.")
        return
    table = Table(title=title)
    for col in rows[0]:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row.values()])
    console.print(table)


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def cmd_listings(args, home) -> int:
    from supervision import joint

    rows = joint.listings(home.warehouse, due_only=args.due)
    if args.json:
        _print_json(rows)
    else:
        as_of = rows[0]["as_of_date"] if rows else "the as-of date"
        shown = [{k: v for k, v in r.items() if k != "as_of_date"} for r in rows]
        _print_rows(shown, f"Serious-dishonest listings {'due for (early) removal ' if args.due else ''}as of {as_of}")
    return 0


def cmd_measures(args, home) -> int:
    from supervision import joint

    rows = joint.measures(home.warehouse, args.department, in_force_only=args.in_force)
    if args.out:
        joint.write_csv(rows, args.out)
        print(f"{len(rows)} measures of {args.department} -> {args.out}")
    elif args.json:
        _print_json(rows)
    else:
        shown = [{k: v for k, v in r.items() if k not in ("measure_en", "legal_basis", "as_of_date")} for r in rows]
        _print_rows(shown, f"Joint measures of {args.department}")
    return 0


def cmd_court_feedback(args, home) -> int:
    from supervision import joint

    manifest = joint.write_court_feedback(home.warehouse, args.out)
    if args.json:
        _print_json(manifest)
    else:
        verb = "Wrote" if manifest["created"] else "Already written (same content):"
        print(f"{verb} {manifest['directory']}: {manifest['records']} measures for {manifest['cases']} court cases "
              f"({manifest['in_force_on_as_of']} in force on {manifest['as_of']}); "
              f"sha256 {manifest['files'][0]['sha256'][:16]}…")
    return 0


def cmd_triggers(args, home) -> int:
    from supervision import joint

    rows = joint.triggers(home.warehouse)
    if args.json:
        _print_json(rows)
    else:
        _print_rows([{k: v for k, v in r.items() if k != "as_of_date"} for r in rows],
                    "Court linkage triggers (review these memberships)")
    return 0
