"""The same `dbt build` of the same landed city on DuckDB and on a local Spark session, one after the other, with
the figures docs/scale-out.md sizes a province and the country from: wall time, the dbt process tree's peak RSS,
landed rows per second per core, and bytes per credit event (landing, DuckDB file, Spark tables). Both builds are
then compared table by table (creditwh.parity), so the timing is of two builds known to agree.

    make spark-setup && .venv-spark/bin/python benchmarks/spark_vs_duckdb.py --scale city

It generates and ingests the synthetic city into a scratch home first (or reuses --home if it has a landing), and
writes its section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from creditwh.bench import landed_synthetic_city, replace_marked_section  # noqa: E402
from creditwh.settings import Home  # noqa: E402

MARK = "spark-vs-duckdb"


def _bytes(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _landing_rows(home: Home) -> int:
    import duckdb

    return duckdb.sql(f"select count(*) from read_parquet('{home.landing}/*/*/*.parquet', union_by_name = true)"
                      ).fetchall()[0][0]


def _tree_rss_mb(pid: int) -> float:
    """The resident memory of a process and all its descendants (dbt, and Spark's JVM that py4j starts)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def one_build(home: Home, engine: str, as_of: date) -> dict:
    """Build in a child process of its own; its process tree's resident memory is sampled every half second
    (getrusage would miss the JVM, which its parent never waits for)."""
    import subprocess

    from creditwh import stages

    target = stages.spark_warehouse(home) if engine == "spark" else home.warehouse_build
    code = ("import json, sys; from datetime import date; from pathlib import Path; "
            "from creditwh.warehouse import build; "
            f"r = build(Path({str(home.landing)!r}), Path({str(target)!r}), date.fromisoformat({as_of.isoformat()!r}),"
            f" engine={engine!r}); "
            "print('RESULT ' + json.dumps({'totals': r.totals, 'dbt_seconds': r.dbt_seconds}))")
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, _tree_rss_mb(child.pid))
        time.sleep(0.5)
    stdout, stderr = child.communicate()
    proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    seconds = time.perf_counter() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"the {engine} build failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):]) | {"peak_rss_mb": peak}
    stored = target / "warehouse" / "credit_warehouse.db" if engine == "spark" else target
    return {"engine": engine, "seconds": round(seconds, 1), "dbt_seconds": round(result["dbt_seconds"], 1),
            "peak_rss_mb": round(result["peak_rss_mb"]) or None, "nodes": result["totals"]["nodes"],
            "stored_bytes": _bytes(stored), "target": str(target)}


def _events(duckdb_file: Path) -> int:
    import duckdb

    with duckdb.connect(str(duckdb_file), read_only=True) as con:
        return con.execute("select count(*) from fct_credit_event").fetchone()[0]


def write_docs(scale: str, facts: dict, rows: list[dict]) -> None:
    body = [
        f"### DuckDB and Spark local, the same `{scale}` build side by side — measured "
        f"{datetime.now(timezone.utc):%Y-%m-%d} by `benchmarks/spark_vs_duckdb.py`", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (load average "
        f"{facts['load_average']:.1f} at the start), pyspark 4.3.0 `local[2]`. Input: {facts['landed_rows']:,} "
        f"landed rows ({facts['landing_bytes'] / 1e6:.1f} MB of Parquet, "
        f"{facts['landing_bytes'] / facts['events']:.0f} bytes per credit event), "
        f"{facts['events']:,} credit events. Tables of both builds compared: {facts['parity']}.", "",
        "| engine | dbt nodes | wall (s) | dbt elapsed (s) | peak RSS (MB) | landed rows/s per core | stored bytes per event |",
        "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        per_core = facts["landed_rows"] / r["seconds"] / facts["cores"]
        rss = f"{r['peak_rss_mb']:,}" if r.get("peak_rss_mb") else "not measured"
        body.append(f"| {r['engine']} | {r['nodes']} | {r['seconds']} | {r['dbt_seconds']} | {rss} | "
                    f"{per_core:,.0f} | {r['stored_bytes'] / facts['events']:.0f} |")
    body += ["", "Wall time is the whole `creditwh.warehouse.build` process (dbt parse, Spark's JVM and Derby metastore "
             "start included); peak RSS is the sum over its process tree (dbt and Spark's JVM), sampled every 0.5 s.",
             ""]
    replace_marked_section(MARK, body)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="city", choices=("tiny", "city"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 25))
    parser.add_argument("--no-docs", action="store_true", help="print the figures, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    home = Home(Path(args.home or tempfile.mkdtemp(prefix="creditwh-spark-bench-"))).ensure()
    landed_synthetic_city(home, args.scale, args.seed)
    load_average = os.getloadavg()[0]
    rows = []
    for engine in ("duckdb", "spark"):
        rows.append(one_build(home, engine, args.as_of))
        print(json.dumps(rows[-1]), flush=True)
    from creditwh import stages
    from creditwh.parity import compare_warehouses

    diffs = compare_warehouses(home.warehouse_build, stages.spark_warehouse(home) / "warehouse")
    different = [d.describe() for d in diffs if not d.identical]
    facts = {"landed_rows": _landing_rows(home), "landing_bytes": _bytes(home.landing),
             "events": _events(home.warehouse_build), "cores": os.cpu_count() or 1, "load_average": load_average,
             "parity": (f"all {len(diffs)} identical" if not different
                        else f"{len(different)} of {len(diffs)} differ")}
    print(json.dumps({"facts": facts, "builds": rows, "differences": different}, indent=2))
    if not args.no_docs:
        write_docs(args.scale, facts, rows)
    return 0 if not different else 1


if __name__ == "__main__":
    sys.exit(main())
