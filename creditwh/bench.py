"""Benchmark: each pipeline stage at a given scale, timed in its own process, beside a raw baseline.

Each stage runs as `creditwh <stage>` in a child process so its peak memory (ru_maxrss from wait4) is its own.
The raw baseline is the least any ingestion must do with the same files: read them and write Parquet with polars.
Results are printed and written into docs/benchmarks.md between markers for the scale.
"""
from __future__ import annotations

import io
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

from creditwh.settings import REPO_ROOT, Home

BENCH_FILE = REPO_ROOT / "docs" / "benchmarks.md"


def _run_child(args: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, combined output) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[2:])} failed (exit {proc.returncode}):\n{out[-3000:]}")
    return wall, usage.ru_maxrss / 1024, out


def raw_copy_baseline(inbox: Path, out_dir: Path) -> tuple[float, int, int]:
    """Read every feed file with polars (decoding as declared) and write it to Parquet: no normalisation at all."""
    import fastexcel
    import polars as pl

    from ingestion.contracts import load_contracts

    rows = size = 0
    started = time.perf_counter()
    for feed, contract in load_contracts().items():
        for i, path in enumerate(sorted((inbox / feed).glob(contract.file_pattern))):
            size += path.stat().st_size
            if contract.format == "csv":
                data = path.read_bytes()
                if contract.encoding not in ("utf-8", "utf-8-sig"):
                    data = data.decode(contract.encoding).encode("utf-8")
                frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
            elif contract.format == "xlsx":
                frame = fastexcel.read_excel(path).load_sheet(contract.sheet, header_row=contract.header_row,
                                                              dtypes="string").to_polars()
            elif contract.format == "jsonl":
                frame = pl.read_ndjson(path, infer_schema_length=None)
            else:
                frame = pl.DataFrame(json.loads(path.read_text(encoding="utf-8"))[contract.records_path],
                                     infer_schema_length=None)
            rows += frame.height
            frame.write_parquet(out_dir / f"{feed}-{i}.parquet", compression="zstd")
    return time.perf_counter() - started, rows, size


def machine() -> dict:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines()
                  if l.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version()}


PIPELINE_STAGES = ("ingest", "build", "validate", "publish")


def run_benchmark(scale: str, home: Home, seed: int = 42, skip: tuple[str, ...] = ()) -> dict:
    """Time generate and each pipeline stage not in `skip` in its own process, then the raw baseline."""
    from rich.console import Console

    console = Console(stderr=True)
    work = Home(Path(tempfile.mkdtemp(prefix=f"creditwh-bench-{scale}-")))
    env = os.environ.copy() | {"CREDITWH_HOME": str(work.root)}
    cli = [sys.executable, "-m", "creditwh.cli"]
    as_of = date.today().isoformat()
    figures = {}
    load_before = os.getloadavg()[0]
    steps = [("generate", ["generate", "--scale", scale, "--seed", str(seed)]), ("ingest", ["ingest"]),
             ("build", ["build", "--as-of", as_of]), ("validate", ["validate", "--as-of", as_of]),
             ("publish", ["publish", "--as-of", as_of])]
    for name, args in steps:
        if name in skip:
            continue
        console.print(f"[{scale}] {name} …")
        wall, rss, _ = _run_child(cli + args, env)
        figures[name] = {"seconds": round(wall, 1), "peak_rss_mb": round(rss)}
    ingest_run = max(work.ingest_runs.glob("2*.json"))
    accounting = json.loads(ingest_run.read_text(encoding="utf-8"))
    rows_in = sum(f["rows_in"] for f in accounting["feeds"])
    with tempfile.TemporaryDirectory() as tmp:
        console.print(f"[{scale}] raw baseline (polars read + write Parquet) …")
        base_seconds, base_rows, size = raw_copy_baseline(work.inbox, Path(tmp))
    result = {
        "scale": scale, "seed": seed, "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(), "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "feed_rows": rows_in, "feed_mb": round(size / 1e6, 1), "stages": figures, "skipped": list(skip),
        "baseline": {"seconds": round(base_seconds, 1), "rows": base_rows},
    }
    replace_marked_section(scale, _stage_table(result))
    console.print_json(json.dumps(result))
    import shutil

    shutil.rmtree(work.root, ignore_errors=True)
    return result


def _stage_table(r: dict) -> list[str]:
    m, s, b = r["machine"], r["stages"], r["baseline"]
    skip = " ".join(f"--skip-stage {k}" for k in r["skipped"])
    pipeline = [k for k in PIPELINE_STAGES if k in s]
    lines = [
        f"### `{r['scale']}` scale — measured {r['measured_at']} by `creditwh bench --scale {r['scale']}"
        f"{' ' + skip if skip else ''}`",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, Python {m['python']}; 1-minute load "
        f"average {r['load_average'][0]} at the start, {r['load_average'][1]} at the end. "
        f"Input: {r['feed_rows']:,} feed rows, {r['feed_mb']} MB of files (seed {r['seed']}).",
        "",
        "| stage | wall (s) | peak RSS (MB) | rows/s | MB/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, f in s.items():
        rates = (f"{r['feed_rows'] / f['seconds']:,.0f} | {r['feed_mb'] / f['seconds']:.1f}"
                 if name == "ingest" and f["seconds"] else " | ")
        lines.append(f"| {name} | {f['seconds']} | {f['peak_rss_mb']:,} | {rates} |")
    lines.append(f"| **pipeline ({' → '.join(pipeline)})** | **{sum(s[k]['seconds'] for k in pipeline):.1f}** "
                 "| | | |")
    if b["seconds"]:
        lines.append(f"| raw baseline: polars read + write Parquet of the same files | {b['seconds']} | | "
                     f"{b['rows'] / b['seconds']:,.0f} | {r['feed_mb'] / b['seconds']:.1f} |")
    lines.append("")
    if "ingest" in s:
        lines.append(f"Ingestion runs at {b['seconds'] / s['ingest']['seconds']:.0%} of the raw copy's speed "
                     "(it also normalises, validates identifiers, quarantines and records lineage).")
    if "validate" in s:
        lines.append(f"The quality gate (`validate`) is {s['validate']['seconds'] / sum(s[k]['seconds'] for k in pipeline):.0%}"
                     " of the stages timed here.")
    if r["skipped"]:
        lines.append(f"Not run at this scale: {', '.join(r['skipped'])} (see the note under the table).")
    return lines


def landed_synthetic_city(home: Home, scale: str, seed: int) -> None:
    """Generate and ingest the synthetic city into `home`, unless it already holds a landing (a benchmark rerun)."""
    if any(home.landing.glob("*/run=*")):
        return
    from creditwh import stages
    from synthetic import generate

    generate(scale, seed, home.inbox)
    stages.ingest(home.ensure())


def replace_marked_section(mark: str, lines: list[str], doc: Path | None = None) -> None:
    """Write `lines` between `<!-- bench:MARK:start -->` and its end marker in docs/benchmarks.md (appended the first
    time), leaving every other benchmark's section as it is."""
    doc = doc or BENCH_FILE
    text = doc.read_text(encoding="utf-8")
    start, end = f"<!-- bench:{mark}:start -->", f"<!-- bench:{mark}:end -->"
    block = "\n".join([start, *lines, end])
    if start in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text, encoding="utf-8")
