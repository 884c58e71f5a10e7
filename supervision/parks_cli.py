"""`creditwh parks`: the credit parks' zone membership against the registry's park column, and the seeds the
warehouse computes membership from (generated from supervision/rules/credit_parks.yaml)."""
from __future__ import annotations

import json


def register(add) -> None:
    p = add("parks", cmd_parks, "Credit parks: zone membership reconciled with the registry's park column "
                                "(or --write-seeds after editing supervision/rules/credit_parks.yaml).")
    p.add_argument("--write-seeds", action="store_true",
                   help="check credit_parks.yaml and regenerate the dbt seeds from it (then `creditwh build`)")
    p.add_argument("--limit", type=int, default=20, help="disagreeing entities to list per park (default 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def cmd_parks(args, home) -> int:
    from supervision import parks

    if args.write_seeds:
        for path in parks.write_seeds():
            print(f"wrote {path}")
        return 0
    stale = parks.stale_seeds()
    result = parks.reconciliation(home.warehouse)
    if args.json:
        print(json.dumps(result | {"stale_seeds": stale}, ensure_ascii=False, indent=2, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, width=None if Console().is_terminal else 160)
    if stale:
        console.print(f"[yellow]The seeds {', '.join(stale)} differ from {parks.PARKS_FILE.name}: run "
                      "`creditwh parks --write-seeds` and `creditwh build`.[/yellow]")
    table = Table(title="Credit parks: zone membership against the registry's park column (active entities)")
    for column in ("park", "members by zone", "agree", "zone only", "registry only"):
        table.add_column(column)
    for park_id, r in result["parks"].items():
        table.add_row(f"{r['park_name']} ({park_id})", f"{r['agree'] + r['zone_only']:,}", f"{r['agree']:,}",
                      f"{r['zone_only']:,}", f"{r['registry_only']:,}")
    console.print(table)
    for park_id in result["parks"]:
        rows = [d for d in result["disagreements"] if d["park_id"] == park_id]
        if not rows or args.limit <= 0:
            continue
        table = Table(title=f"{park_id}: disagreements ({len(rows):,}; first {min(len(rows), args.limit)})")
        for column in ("USCC", "name", "status", "registry park", "division", "industry"):
            table.add_column(column, overflow="fold")
        for d in rows[:args.limit]:
            table.add_row(d["uscc"], d["entity_name"] or "", d["reconciliation"], d["registry_park"] or "-",
                          d["division_code"] or "", d["industry_code"] or "")
        console.print(table)
    if result["unmapped_registry_parks"]:
        console.print("Registry park names that name no configured park: " + ", ".join(
            f"{name} ({n:,})" for name, n in result["unmapped_registry_parks"].items()))
    return 0
