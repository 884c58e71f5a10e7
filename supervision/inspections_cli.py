"""`creditwh inspections plan|show|audit|indicators`: double-random inspection plans (双随机、一公开)."""
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

from creditwh.command_groups import command_group


def register(add) -> None:
    subcommand = command_group(add, "inspections", "Double-random inspection plans: draw, show, audit, indicators.")

    s = subcommand("plan", cmd_plan, "Draw entities (stratified by risk class), merge joint inspections and draw "
                                     "inspectors; keep the plan immutably.")
    s.add_argument("--tasks", type=Path, required=True, help="the departments' inspection tasks (.csv or .yaml)")
    s.add_argument("--rosters", type=Path, required=True, help="the inspector rosters (.csv or .yaml)")
    s.add_argument("--seed", type=int, required=True, help="the recorded random seed (announce it before drawing)")
    s.add_argument("--as-of", type=_iso_date, help="risk classes as of this day (default: the warehouse's index)")
    s = subcommand("show", cmd_show, "A plan's inspections with their departments and inspectors.")
    s.add_argument("plan_id")
    s.add_argument("--limit", type=int, default=50)
    s = subcommand("audit", cmd_audit, "Every draw of a plan: pool, size, excluded and why; or one entity's draws.")
    s.add_argument("plan_id")
    s.add_argument("--entity", metavar="USCC", help="the draws, inspection and inspector candidates of one entity")
    s = subcommand("indicators", cmd_indicators, "Share of inspections drawn by risk class, joint-inspection "
                                                 "share and ratios achieved per class, per plan.")
    s.add_argument("plan_id", nargs="?", help="one plan (default: every plan)")


def _console():
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)


def _print_frame(frame, title: str, limit: int | None = None) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in frame.columns:
        table.add_column(col, overflow="fold")
    shown = frame.head(limit) if limit else frame
    for row in shown.iter_rows():
        table.add_row(*["" if v is None else "; ".join(v) if isinstance(v, list) else
                        f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
    _console().print(table)
    if limit and frame.height > limit:
        _console().print(f"(first {limit} of {frame.height} rows; --limit N for more)")


def _share(value) -> str:
    return "n/a (no inspections)" if value is None else f"{value:.0%}"


def cmd_plan(args, home) -> int:
    from supervision import inspections

    plan = inspections.plan(args.tasks, args.rosters, home, args.seed, args.as_of)
    if args.json:
        print(json.dumps(plan.meta | {"directory": str(plan.directory), "created": plan.created},
                         ensure_ascii=False, indent=2))
        return 0
    c, ind = plan.meta["counts"], plan.meta["indicators"]
    verb = "Drew" if plan.created else "Already drawn (same seed and inputs):"
    print(f"{verb} plan {plan.plan_id} (seed {plan.meta['seed']}, classes as of {plan.meta['as_of']}): "
          f"{c['tasks']} tasks, {c['entities_drawn']} entity draws from {c['candidates']:,} candidates -> "
          f"{c['inspections']} inspections ({c['joint_inspections']} joint), {c['inspectors_assigned']} inspector "
          f"assignments; risk-class share {_share(ind['risk_class_share'])}, joint share "
          f"{_share(ind['joint_inspection_share'])}.\nKept in {plan.directory}")
    return 0


def cmd_show(args, home) -> int:
    import polars as pl

    from supervision import inspections

    plan = inspections.load_plan(home, args.plan_id)
    crews = (plan.table("inspectors").group_by("inspection_id")
             .agg(pl.format("{}:{}", "department", "inspector_id").sort().alias("inspectors")))
    frame = (plan.table("inspections").join(crews, on="inspection_id", how="left")
             .select("inspection_id", "uscc", "entity_name", "risk_class", "scene_id", "lead_department",
                     "departments", "task_ids", "is_joint", "inspectors").sort("inspection_id"))
    if args.json:
        print(json.dumps({"plan": plan.meta, "inspections": frame.head(args.limit).to_dicts()}, ensure_ascii=False,
                         indent=2, default=str))
        return 0
    _print_frame(frame, f"Plan {plan.plan_id}: seed {plan.meta['seed']}, as of {plan.meta['as_of']}", args.limit)
    return 0


def cmd_audit(args, home) -> int:
    from supervision import inspections

    plan = inspections.load_plan(home, args.plan_id)
    tables = inspections.audit(plan, args.entity)
    if args.json:
        print(json.dumps({name: t.to_dicts() for name, t in tables.items()}, ensure_ascii=False, indent=2,
                         default=str))
        return 0
    for name, table in tables.items():
        _print_frame(table, f"{plan.plan_id}: {name.replace('_', ' ')}")
    return 0


def cmd_indicators(args, home) -> int:
    from supervision import inspections

    plans = [inspections.load_plan(home, args.plan_id)] if args.plan_id else inspections.list_plans(home)
    if not plans:
        raise inspections.InspectionPlanError(f"no inspection plans in {inspections.plans_dir(home)} yet: "
                                              "`creditwh inspections plan` draws one")
    rows = [{"plan_id": p.plan_id, "as_of": p.meta["as_of"], "seed": p.meta["seed"], **p.meta["indicators"]}
            for p in plans]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    import polars as pl

    summary = pl.DataFrame([{k: v for k, v in r.items() if k != "per_class"} for r in rows])
    _print_frame(summary, "Inspection plans: indicators")
    per_class = pl.DataFrame([{"plan_id": r["plan_id"], "risk_class": k, **v} for r in rows
                              for k, v in r["per_class"].items()])
    _print_frame(per_class, "Ratios per risk class (target = base ratio × class multiplier; achieved = drawn / pool)")
    return 0
