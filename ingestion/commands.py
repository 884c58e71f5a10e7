"""`creditwh linkage run|list|review`: entity linkage of records whose identifier does not resolve (docs/linkage.md)."""
from __future__ import annotations

import json
import os
import sys

from creditwh.command_groups import command_group


def register(add) -> None:
    nested = command_group(add, "linkage", "Entity linkage: match records whose USCC or registration number does "
                                           "not resolve to a registry entity, list the decisions, record a review.")

    q = nested("run", cmd_run, "Decide every unresolved landed record now (the build does this first anyway); "
                               "only newly landed files are read when nothing else changed.")
    q.add_argument("--full", action="store_true",
                   help="reread every landed file and score every key (as `build --full-refresh` does)")
    q = nested("list", cmd_list, "The current decisions, one line per distinct (code, name) sent.")
    q.add_argument("--decision", choices=("match", "unsure", "non_match"), help="only this decision")
    q.add_argument("--feed", help="only records of this feed")
    q.add_argument("--limit", type=int, default=50)
    q = nested("review", cmd_review, "Record a person's decision for one link key; the next build applies it.")
    q.add_argument("link_key", help="the key shown by `creditwh linkage list`")
    choice = q.add_mutually_exclusive_group(required=True)
    choice.add_argument("--match", metavar="USCC", help="the record is about this registry entity")
    choice.add_argument("--non-match", action="store_true", help="the record is about none of the registry's entities")
    choice.add_argument("--unsure", action="store_true", help="leave it open, with a note")
    q.add_argument("--reviewer", default=os.environ.get("USER") or "reviewer", help="who decides (default: $USER)")
    q.add_argument("--note", help="why")


def cmd_run(args, home) -> int:
    from creditwh.stages import link

    result = link(home, full=args.full)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    d = result["decisions"]
    written = f"run {result['linkage_run']} written" if result["linkage_run"] else "unchanged since the last run"
    how = ("incremental: " if result["incremental"] else "full run: ") + (
        f"read {result['files_read']:,} landed files, scored {result['keys_scored']:,} keys")
    print(f"{result['unresolved_rows']:,} unresolved landed rows, {result['keys']:,} distinct (code, name) sent: "
          f"{d['match']:,} match, {d['unsure']:,} unsure, {d['non_match']:,} non-match ({written}; {how}).")
    return 0


def cmd_list(args, home) -> int:
    import polars as pl

    from ingestion.linkage import current_decisions

    rows = current_decisions(home.landing)
    if args.decision:
        rows = rows.filter(pl.col("decision") == args.decision)
    if args.feed:
        rows = rows.filter(pl.col("_feed") == args.feed)
    keys = (rows.group_by("link_key").agg(
        pl.col("code_sent", "name_sent", "candidate_uscc", "candidate_name", "match_probability", "decision",
               "decided_by").first(),
        pl.col("_feed").unique().sort().str.join(",").alias("feeds"), pl.len().alias("rows"))
        .sort(["decision", "match_probability", "link_key"], descending=[False, True, False], nulls_last=True))
    if args.json:
        print(json.dumps(keys.head(args.limit).to_dicts(), ensure_ascii=False, indent=2, default=str))
        return 0
    if keys.is_empty():
        print("No decisions" + (" of that kind." if args.decision or args.feed else ": every landed record resolves."))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("link key", "sent (code / name)", "candidate", "p", "decision", "by", "rows", "feeds")
    for r in keys.head(args.limit).iter_rows(named=True):
        p = "" if r["match_probability"] is None else f"{r['match_probability']:.4f}"
        table.add_row(r["link_key"], f"{r['code_sent'] or ''}\n{r['name_sent'] or ''}",
                      f"{r['candidate_uscc'] or ''}\n{r['candidate_name'] or ''}", p, r["decision"], r["decided_by"],
                      str(r["rows"]), r["feeds"])
    Console(highlight=False).print(table)
    if keys.height > args.limit:
        print(f"… {keys.height - args.limit:,} more (--limit N)", file=sys.stderr)
    return 0


def cmd_review(args, home) -> int:
    import polars as pl

    from ingestion.linkage import LinkageError, current_decisions, record_review, registry_entities

    if args.link_key not in set(current_decisions(home.landing)["link_key"].to_list()):
        raise LinkageError(f"no current decision has link key {args.link_key!r} (see `creditwh linkage list`)")
    decision = "match" if args.match else "non_match" if args.non_match else "unsure"
    if args.match and registry_entities(home.landing).filter(pl.col("uscc") == args.match).is_empty():
        raise LinkageError(f"{args.match} is not an entity of the registry: a match must name one")
    row = record_review(home.linkage, args.link_key, decision, args.match, args.reviewer, args.note)
    if args.json:
        print(json.dumps(row, ensure_ascii=False, indent=2))
    else:
        print(f"Recorded: {args.link_key} -> {decision}" + (f" {args.match}" if args.match else "")
              + f" by {args.reviewer}. The next `creditwh build` (or `creditwh linkage run`) applies it.")
    return 0
