"""`creditwh quality landing|scorecard|issues`: landing suites, department scorecards, the correction list.
(`creditwh validate` is the publication gate.)"""
from __future__ import annotations

import json

from creditwh.command_groups import command_group


def register(add) -> None:
    nested = command_group(add, "quality",
                           "Data quality: validate landed runs, department scorecards, open issues per department.")

    q = nested("landing", cmd_landing, "Validate landed ingestion runs with the landing suites (Great Expectations); "
               "by default every run not validated yet.")
    q.add_argument("--feed", help="with --run: validate this feed's run (again)")
    q.add_argument("--run", help="ingestion run id (see <home>/ingest_runs/)")
    q.add_argument("--no-data-docs", action="store_true", help="skip rebuilding the Data Docs site")
    q = nested("scorecard", cmd_scorecard, "Validate pending runs, compute the department scorecards, write the "
               "table (Parquet + DuckDB) and the HTML report; print where.")
    q = nested("issues", cmd_issues, "Export the open problems of one department (feed, file, row, field, rule, "
               "severity, message, value) as CSV (UTF-8 with BOM) or XLSX.")
    q.add_argument("--department", required=True, help="department id, e.g. market_regulation (see `creditwh feeds`)")
    q.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    q.add_argument("--out", help="output file (default: <home>/quality/issues/<department>_open_issues.<format>)")


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def cmd_landing(args, home) -> int:
    from quality.landing import LandingValidator

    if bool(args.feed) != bool(args.run):
        from creditwh.errors import CreditwhError

        raise CreditwhError("give both --feed and --run, or neither (then every run not validated yet)")
    validator = LandingValidator(home, data_docs=not args.no_data_docs)
    summaries = [validator.validate_run(args.feed, args.run)] if args.feed else validator.validate_pending()
    if args.json:
        _print_json([s.to_json() for s in summaries])
        return 0
    if not summaries:
        print("No landed run waiting for validation.")
    for s in summaries:
        print(f"{s.feed} run {s.run_id}: {s.rows:,} rows, {s.flags['critical']:,} critical and "
              f"{s.flags['warning']:,} warning flags on {s.flagged_rows:,} rows; {s.quarantined:,} quarantined")
        for w in s.warnings:
            print(f"  warning: {w}")
    return 0


def cmd_scorecard(args, home) -> int:
    from quality.scorecard import build, rollup

    result = build(home)
    if args.json:
        _print_json(result.to_json())
        return 0
    import polars as pl

    overall = rollup(pl.read_parquet(result.table), ["department"])
    for row in overall.iter_rows(named=True):
        print(f"{row['department']:<22} overall {row['overall']:6.2f}")
    print(f"Scorecard table: {result.table}")
    print(f"DuckDB:          {result.database} (table department_scorecard)")
    print(f"Report:          {result.report}")
    return 0


def cmd_issues(args, home) -> int:
    from quality.issues import export

    path, count = export(home, args.department, args.format, args.out)
    if args.json:
        _print_json({"department": args.department, "file": str(path), "open_issues": count})
    else:
        print(f"{count:,} open issues of {args.department} written to {path}")
    return 0
