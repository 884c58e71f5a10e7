"""`creditwh`: the command line of the credit warehouse. Every stage the Airflow DAG runs is also a command here.

Errors a user can act on are printed as one message (exit 1); bad arguments exit 2; an unexpected error is
printed as one line and its traceback goes to <home>/logs/, never to the terminal.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import traceback
from datetime import date, datetime, timezone
from pathlib import Path

from creditwh.errors import CreditwhError
from creditwh.settings import Home

SCALES = ("tiny", "city", "province")
# Packages that bring their own commands: each module has `register(add)`, where `add(name, func, help)` returns
# the new sub-parser (func takes (args, home) and returns the exit code). A listed module that is not there yet
# is skipped, so a package can be added without touching this file again.
COMMAND_MODULES = ("ingestion.commands", "quality.commands", "publication.commands", "analytics.commands", "supervision.commands")
DEFAULT_DEMO_SCALE = "city"
DEMO_MARKER = ".creditwh-demo"


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


# ---------------------------------------------------------------- commands

def cmd_feeds(args, home: Home) -> int:
    from rich.table import Table

    from ingestion.contracts import load_contracts

    contracts = load_contracts()
    if args.json:
        _print_json([{"id": c.id, "department": c.department, "format": c.format, "schedule": c.schedule,
                      "title": c.title} for c in contracts.values()])
        return 0
    table = Table(title=f"{len(contracts)} feed contracts (ingestion/contracts/)")
    for col in ("id", "department", "format", "encoding", "schedule", "title"):
        table.add_column(col)
    for c in contracts.values():
        table.add_row(c.id, c.department, c.format, c.encoding if c.format != "xlsx" else "", c.schedule, c.title)
    _console().print(table)
    return 0


def cmd_generate(args, home: Home) -> int:
    from synthetic import generate

    out = Path(args.out) if args.out else home.inbox
    manifest = generate(args.scale, args.seed, out)
    if args.json:
        _print_json(manifest)
    else:
        _console().print(f"Generated the {args.scale} city (seed {args.seed}) into {out}: "
                         f"{manifest['totals']['rows']:,} feed rows in {manifest['totals']['files']} files.")
    return 0


def cmd_ingest(args, home: Home) -> int:
    from creditwh import stages

    if args.files and not args.feed:
        raise _UsageError("files given without --feed ID (which contract do they follow?)")
    for f in args.files:
        if not Path(f).is_file():
            raise _UsageError(f"no such file: {f}")
    files = [Path(f) for f in args.files] if args.feed else None
    if sys.stderr.isatty() and not os.environ.get("CI"):  # a bar for people; plain logs for CI and Airflow
        from rich.progress import Progress

        with Progress(console=_console(stderr=True), transient=True) as progress:
            bar = progress.add_task("ingesting", total=None)

            def on_file(done, total, path):
                progress.update(bar, completed=done, total=total, description=f"ingesting {path.name}")

            report = stages.ingest(home, feed=args.feed, files=files, on_file=on_file)
    else:
        report = stages.ingest(home, feed=args.feed, files=files)
    rejected = [f for f in report["files"] if f["status"] == "rejected"]
    if args.json:
        _print_json([{k: f[k] for k in ("file", "feed", "rows_in", "loaded", "quarantined", "status", "error",
                                        "warnings")} for f in report["files"]])
    else:
        from rich.table import Table

        table = Table(title=f"Ingestion run {report['run_id']}")
        for col in ("file", "feed", "rows in", "loaded", "quarantined", "status"):
            table.add_column(col)
        for f in report["files"]:
            table.add_row(f["file"], f["feed"], f"{f['rows_in']:,}", f"{f['loaded']:,}", f"{f['quarantined']:,}",
                          f["status"])
        _console().print(table)
        if not report["files"]:
            _console().print(f"Nothing waiting in {home.inbox}.")
    for f in report["files"]:
        for warning in f["warnings"]:
            print(f"warning: {warning}", file=sys.stderr)
    for f in rejected:
        print(f"rejected: {f['error']}", file=sys.stderr)
    return 1 if rejected else 0


def cmd_pull(args, home: Home) -> int:
    from creditwh import stages

    result = stages.pull(home, args.feed, url=args.url)
    _console().print(f"{args.feed}: {result['pages_fetched']} pages fetched ({result['records']:,} records), "
                     f"{result['pages_skipped']} already there, {result['retries']} retries -> {result['inbox']}")
    return 0


def cmd_alerts(args, home: Home) -> int:
    from creditwh.alerts import alerts_file, read_alerts

    rows = read_alerts(home, limit=args.limit, kind=args.kind)
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        _console().print(f"No alerts ({alerts_file(home)}).")
        return 0
    from rich.table import Table

    table = Table(title=f"Last {len(rows)} alerts ({alerts_file(home)})")
    for col in ("raised_at", "kind", "where", "message"):
        table.add_column(col, overflow="fold")
    for r in rows:
        where = r.get("feed") or ".".join(x for x in (r.get("dag_id"), r.get("task_id")) if x)
        table.add_row(r["raised_at"], r["kind"], where or "", r["message"])
    _console().print(table)
    return 0


def cmd_build(args, home: Home) -> int:
    from creditwh import stages

    result = stages.build(home, as_of=args.as_of, engine=args.engine, full_refresh=args.full_refresh)
    if args.json:
        _print_json(result)
    else:
        where = home.warehouse if args.engine == "duckdb" else f"{result['warehouse']} (Spark)"
        _console().print(f"Warehouse built at {where} (as of {args.as_of}): "
                         f"{result['totals']}")
    return 0


def cmd_validate(args, home: Home) -> int:
    from creditwh import stages

    run_id = args.run_id or datetime.now(timezone.utc).strftime("cli-%Y%m%dT%H%M%S")
    result = stages.validate(home, as_of=args.as_of, run_id=run_id)
    if args.json:
        _print_json(result)
    else:
        verdict = f"BLOCKED: {result['reason']}" if result["blocked"] else "passed"
        _console().print(f"Quality gate {verdict}. Expectations passed {result['expectations_passed']}, "
                         f"failed {result['expectations_failed']}; records held back {result['held_back_records']}.")
    return 1 if result["blocked"] else 0


def cmd_publish(args, home: Home) -> int:
    from creditwh import stages

    result = stages.publish(home, as_of=args.as_of, dry_run=args.dry_run)
    if args.json:
        _print_json(result)
    elif args.dry_run or result["batch_id"] is None:  # the message says what would be sent, or why nothing was
        message = result.get("message") or "nothing to publish"
        _console().print(f"{message[:1].upper()}{message[1:]}.")  # .capitalize() would lower-case the batch id
    else:
        _console().print(f"Published {result['records']:,} records in batch {result['batch_id']} "
                         f"({result['batch_dir']}): {result.get('message')}.")
    return 0


def cmd_sql(args, home: Home) -> int:
    if not home.warehouse.exists():
        raise CreditwhError(f"no warehouse at {home.warehouse}: run `creditwh build` (or `creditwh demo`) first")
    import duckdb

    from creditwh.warehouse import open_read_only

    try:
        with open_read_only(home.warehouse) as con:
            rel = con.sql(args.query)
            if rel is None:
                raise CreditwhError("the statement returned no rows (only queries are allowed: the warehouse is read-only)")
            columns = rel.columns
            rows = rel.limit(args.limit).fetchall()
    except duckdb.Error as exc:
        raise CreditwhError(f"query failed: {str(exc).splitlines()[0]}") from None
    if args.json:
        _print_json([dict(zip(columns, r)) for r in rows])
        return 0
    from rich.table import Table

    table = Table(show_lines=False)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*["" if v is None else str(v) for v in r])
    _console().print(table)
    if len(rows) == args.limit:
        _console().print(f"(first {args.limit} rows; --limit N for more)")
    return 0


def _prepare_demo_home(home: Home) -> None:
    root = home.root
    if root.exists() and any(root.iterdir()) and not (root / DEMO_MARKER).exists():
        raise CreditwhError(f"{root} already holds data that the demo did not create; "
                         "choose an empty directory with --home (the demo starts from scratch each time)")
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / DEMO_MARKER).write_text("made by `creditwh demo`; the next demo run empties this directory\n")
    home.ensure()


def run_pipeline_in_airflow(home: Home, as_of: date, quiet: bool) -> dict:
    """dag.test() in a child process (Airflow reads its config at import); its log goes to a file."""
    home.airflow_home.mkdir(parents=True, exist_ok=True)
    log_path = home.airflow_home / "dag_test.log"
    result_path = home.airflow_home / "dag_test_result.json"
    cmd = [sys.executable, "-m", "creditwh.airflow_runner", "--home", str(home.root), "--as-of", as_of.isoformat(),
           "--result", str(result_path)]
    with log_path.open("w", encoding="utf-8") as log:
        if quiet:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        else:
            with _console(stderr=True).status("Running the pipeline DAG in Airflow (dag.test)…"):
                proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    outcome = json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else {
        "state": "crashed", "returncode": proc.returncode}
    outcome["log"] = str(log_path)
    return outcome


def cmd_demo(args, home: Home) -> int:
    from creditwh.summary import pipeline_summary, render
    from synthetic import generate

    _prepare_demo_home(home)
    quiet = args.json or not sys.stderr.isatty()
    status = _console(stderr=True)
    if not args.json:
        status.print(f"Generating the synthetic {args.scale} city (seed {args.seed}) into {home.inbox} …")
    generate(args.scale, args.seed, home.inbox)
    outcome = run_pipeline_in_airflow(home, args.as_of, quiet)
    summary = pipeline_summary(home)
    summary["scale"], summary["as_of"] = args.scale, args.as_of.isoformat()
    summary["airflow"] = {"dag_id": "credit_pipeline", "state": outcome.get("state"), "tasks": outcome.get("tasks"),
                          "log": outcome["log"]}
    if args.json:
        _print_json(summary)
    else:
        render(summary, _console())
        _console().print(f"Airflow run: {outcome.get('state')} (log: {outcome['log']})")
    if outcome.get("state") != "success":
        failed = [s for s, r in summary["stages"].items() if r["status"] == "failed"]
        reason = "; ".join(f"{s}: {summary['stages'][s]['error']}" for s in failed) or "see the log"
        print(f"error: the pipeline run failed ({reason}). Airflow log: {outcome['log']}", file=sys.stderr)
        return 1
    return 0


def airflow_ui_env(home: Home, port: int) -> dict[str, str]:
    from creditwh.airflow_runner import airflow_env

    venv_bin = str(Path(sys.executable).parent)  # standalone starts its components as `airflow …` from PATH
    return os.environ.copy() | airflow_env(home) | {
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "AIRFLOW__API__HOST": "127.0.0.1",   # the embedded UI is for this machine only
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__PARALLELISM": "4",   # the default 32 workers take ~1.6 GB on a small box
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }


def cmd_airflow_ui(args, home: Home) -> int:
    """`airflow standalone` on the embedded default: SQLite metadata under the home, the project's DAGs."""
    home.ensure()
    home.airflow_home.mkdir(parents=True, exist_ok=True)
    env = airflow_ui_env(home, args.port)
    airflow = str(Path(sys.executable).parent / "airflow")
    # The metadata DB and the one-slot warehouse writer pool must exist before the scheduler queues a build.
    prepared = subprocess.run([sys.executable, "-m", "creditwh.airflow_runner", "--home", str(home.root),
                               "--prepare-only"], env=env, capture_output=True, text=True)
    if prepared.returncode != 0:
        raise CreditwhError("could not prepare the Airflow metadata DB: "
                            + (prepared.stderr.strip().splitlines() or ["no output"])[-1])
    print(f"Airflow UI: http://127.0.0.1:{args.port}/  (user admin; password in "
          f"{home.airflow_home / 'simple_auth_manager_passwords.json.generated'}). Ctrl-C stops it.", file=sys.stderr)
    # Become `airflow standalone` (same process, same process group): Ctrl-C, or a signal to the group, reaches
    # the scheduler, api-server, dag-processor and triggerer it starts, so none is left running.
    os.execve(airflow, [airflow, "standalone"], env)


def cmd_docs(args, home: Home) -> int:
    from creditwh.lineage_docs import generate

    site = generate(home, as_of=args.as_of)
    if args.json:
        _print_json(site.to_json())
        return 0
    print(f"Lineage site: {site.page}  ({site.models} models; the catalog describes {site.documented_tables} "
          f"tables, views and seeds of {home.warehouse}; {site.seconds:.1f} s)")
    return 0


def cmd_bench(args, home: Home) -> int:
    from creditwh.bench import run_benchmark

    run_benchmark(scale=args.scale, home=home, seed=args.seed, skip=tuple(args.skip_stage))
    return 0


# ---------------------------------------------------------------- parser and entry point

class _UsageError(Exception):
    """The arguments make no sense together (exit 2, like argparse's own errors)."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", help="installation directory (default: $CREDITWH_HOME or ./.creditwh)")
    parser = argparse.ArgumentParser(
        prog="creditwh", description="The city credit warehouse: feeds -> warehouse -> credit index -> gate -> export.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help_text):
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("feeds", cmd_feeds, "List the feed contracts.")
    p.add_argument("--json", action="store_true")
    p = add("generate", cmd_generate, "Write the synthetic city's department feeds (deterministic).")
    p.add_argument("--scale", choices=SCALES, default="tiny")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", help="output directory (default: the home's inbox)")
    p.add_argument("--json", action="store_true")
    p = add("ingest", cmd_ingest, "Ingest waiting inbox files, or FILEs against the contract --feed ID.")
    p.add_argument("--feed", help="contract id the FILEs follow (see `creditwh feeds`)")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p = add("pull", cmd_pull, "Pull a feed served by an HTTP API into the inbox (retries, resumes).")
    p.add_argument("--feed", required=True)
    p.add_argument("--url", help="API address (default: the environment variable the contract names)")
    for name, func, text in (("build", cmd_build, "Build the warehouse with dbt (the single writer)."),
                             ("validate", cmd_validate, "Run the quality gate on the penalties (Great Expectations)."),
                             ("publish", cmd_publish, "Export publishable penalties for the national system.")):
        p = add(name, func, text)
        p.add_argument("--as-of", type=_iso_date, default=date.today(), help="YYYY-MM-DD (default: today)")
        p.add_argument("--json", action="store_true")
    sub.choices["build"].add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                                      help="duckdb (default: the single-writer file the other stages read) or spark "
                                           "(docs/scale-out.md)")
    sub.choices["build"].add_argument("--full-refresh", action="store_true",
                                      help="rebuild the incremental models from every landed row (after a feed contract "
                                           "or record-model change; docs/warehouse.md, Incremental builds)")
    sub.choices["validate"].add_argument("--run-id")
    sub.choices["publish"].add_argument("--dry-run", action="store_true", help="count and validate, write nothing")
    p = add("sql", cmd_sql, "Run a read-only SQL query on the warehouse and print a table.")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p = add("docs", cmd_docs, "Write the warehouse's lineage site (dbt docs of every model, with its columns as built).")
    p.add_argument("--as-of", type=_iso_date, default=date.today(), help="YYYY-MM-DD (default: today)")
    p.add_argument("--json", action="store_true")
    p = add("demo", cmd_demo, "Generate the synthetic city and run the whole pipeline through Airflow.")
    p.add_argument("--scale", choices=("tiny", "city"), default=DEFAULT_DEMO_SCALE)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--as-of", type=_iso_date, default=date.today(), help="YYYY-MM-DD (default: today)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p = add("airflow-ui", cmd_airflow_ui, "Start the Airflow UI on localhost with the project's DAGs (embedded).")
    p.add_argument("--port", type=int, default=8080)
    p = add("alerts", cmd_alerts, "Show the latest alerts (failed tasks, late feeds).")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--kind", choices=("task_failed", "feed_late"))
    p.add_argument("--json", action="store_true")
    p = add("bench", cmd_bench, "Benchmark the pipeline stages and write docs/benchmarks.md.")
    p.add_argument("--scale", choices=SCALES, default="city")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--skip-stage", action="append", default=[], choices=("validate", "publish"),
                   help="leave a stage out (e.g. publish at province scale, whose first batch is held in memory)")
    for module_name in COMMAND_MODULES:
        if importlib.util.find_spec(module_name.split(".")[0]) and importlib.util.find_spec(module_name):
            importlib.import_module(module_name).register(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    home = Home.from_env(args.home)
    # CreditwhError covers WarehouseBuildError, GateError, PublicationBlocked and PullFailed.
    user_errors: tuple[type[BaseException], ...] = (CreditwhError,)
    try:
        from ingestion.contracts import ContractError

        user_errors += (ContractError,)
        return args.func(args, home)
    except _UsageError as exc:
        print(f"creditwh {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except user_errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        log_dir = home.root / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / f"error-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        print(f"internal error: {type(exc).__name__}: {exc} (details: {log})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
