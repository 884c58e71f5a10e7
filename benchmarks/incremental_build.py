"""Benchmark: `creditwh build` of one day's new feed rows (incremental) against a full build of the same city.

    .venv/bin/python benchmarks/incremental_build.py --scale city [--home DIR] [--as-of YYYY-MM-DD]

1. Generates and ingests the synthetic city into a scratch home (or reuses --home if it has a landing).
2. Full build: `creditwh build --full-refresh` in its own process (wall, peak RSS, per-node times).
3. One day's new feed rows, written as feed files into the inbox and ingested with `creditwh ingest` (the real
   path): for every feed whose records are identified by a document number (penalties, licences, list decisions,
   inspections, samplings, surveys, repairs, notices), 1/365 of the feed's average yearly rows, copied from the
   last rows of its newest file with new document numbers, plus CORRECTIONS_PER_FEED records of that file re-sent
   with one descriptive field corrected (a new version of an existing record). Feeds sent as a whole list or
   snapshot (registry, tax/environmental grades, honours, training-institution batches, blasting register, court
   pages) send nothing that day.
4. `creditwh build` (incremental) as of the next day, as the morning after would run it, in its own process (every
   as-of dependent model then moves a day, as in production), then prints both builds' figures and writes them into
   docs/benchmarks.md between the `incremental-build-<scale>` markers: the whole build (every node, tests and the as-of
   dependent index included) and the incremental models' own node time, full against day.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from creditwh.bench import _run_child, landed_synthetic_city, machine, replace_marked_section  # noqa: E402
from creditwh.settings import Home  # noqa: E402

MARK = "incremental-build-{scale}"   # one section per scale in docs/benchmarks.md
# Records identified by a document number: a new one is a new record, the same number again a new version.
DOCUMENT_NUMBER_KEYS = ("decision_no", "task_id", "sample_no", "report_no", "survey_no", "application_no",
                        "notice_no")
CORRECTIONS_PER_FEED = 2
# A correction changes a descriptive field, never one that names or links something (names, numbers, codes).
REFERENCE_SUFFIXES = ("_name", "_no", "_id", "_code", "_uscc")
CORRECTION_MARK = "（更正）"


def write_day_delta(inbox: Path, as_of: date) -> dict[str, dict]:
    """Write one day's new rows (and a few corrections) per document-numbered feed into the inbox."""
    import polars as pl

    from ingestion.contracts import load_contracts
    from ingestion.readers import SOURCE_ROW, read_raw
    from synthetic.config import load_contracts as load_writer_contracts
    from synthetic.writers import write_csv, write_json_lines, write_xlsx

    written = {}
    writer_contracts = load_writer_contracts()
    for feed, contract in sorted(load_contracts().items()):
        key = next((k for k in contract.key if k in DOCUMENT_NUMBER_KEYS), None)
        files = sorted((inbox / feed).glob(contract.file_pattern)) if key else []
        files = [f for f in files if "_day" not in f.stem]
        if not files or contract.format not in ("csv", "xlsx", "jsonl"):
            continue
        writer = writer_contracts[feed]
        frames = [read_raw(contract, f).frame.drop(SOURCE_ROW) for f in files]
        years = {part for f in files for part in f.stem.replace("-", "_").split("_") if len(part) == 4
                 and part.isdigit()} or {"one"}
        per_day = max(1, round(sum(f.height for f in frames) / len(years) / 365))
        newest = frames[-1]
        key_source = writer.col(key).source
        new = newest.tail(per_day).with_columns(
            (pl.col(key_source) + pl.lit(f"-D{as_of:%Y%m%d}-") + pl.int_range(pl.len()).cast(pl.String))
            .alias(key_source))
        text_field = next((c.source for c in writer.columns
                          if c.type == "string" and c.name not in contract.key and c.source in newest.columns
                          and not c.name.endswith(REFERENCE_SUFFIXES)), None)
        corrected = newest.head(CORRECTIONS_PER_FEED if text_field else 0)
        if text_field:
            corrected = corrected.with_columns(
                (pl.col(text_field).fill_null("") + pl.lit(CORRECTION_MARK)).alias(text_field))
        day = pl.concat([new, corrected]).select(
            [pl.col(s) if s in newest.columns else pl.lit(None, dtype=pl.String).alias(s) for s in writer.sources])
        path = files[-1].with_name(f"{files[-1].stem}_day{as_of:%Y%m%d}{files[-1].suffix}")
        if contract.format == "csv":
            write_csv(path, day, writer.encoding)
        elif contract.format == "xlsx":
            write_xlsx(path, day, writer, contract.title, as_of)
        else:
            write_json_lines(path, day, writer.encoding)
        written[feed] = {"file": path.name, "new_records": new.height, "corrections": corrected.height,
                         "corrected_field": text_field}
    return written


def _build_record(home: Home) -> dict:
    return json.loads((home.root / "stages" / "build.json").read_text(encoding="utf-8"))["result"]


def _manifest(home: Home) -> dict:
    return json.loads((home.warehouse_build.parent / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))


def _as_of_dependent(manifest: dict) -> set[str]:
    """Models that read the as-of date, and everything downstream of them: recomputed on every build."""
    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    todo = [uid for uid, n in models.items() if "as_of" in (n.get("raw_code") or "")]
    seen: set[str] = set()
    while todo:
        uid = todo.pop()
        if uid in seen:
            continue
        seen.add(uid)
        todo += [c for c in manifest["child_map"].get(uid, []) if c in models]
    return {models[uid]["name"] for uid in seen}


def breakdown(record: dict, incremental: set[str], as_of_models: set[str]) -> dict:
    """Node seconds by kind: incremental models, as-of dependent models, other models, seeds, tests."""
    out: dict[str, float] = defaultdict(float)
    for n in record["nodes"]:
        if n["resource_type"] == "model":
            kind = ("incremental models" if n["name"] in incremental else
                    "as-of dependent models (index, series, aggregates)" if n["name"] in as_of_models else
                    "other models (tables, views)")
        elif n["resource_type"] in ("test", "unit_test"):
            kind = "data and unit tests"
        else:
            kind = f"{n['resource_type']}s"
        out[kind] += n["seconds"]
    return {k: round(v, 1) for k, v in sorted(out.items())}


def run(scale: str, seed: int, home: Home, as_of: date) -> dict:
    landed_synthetic_city(home, scale, seed)
    env = os.environ.copy() | {"CREDITWH_HOME": str(home.root)}
    cli = [sys.executable, "-m", "creditwh.cli"]
    load = [round(os.getloadavg()[0], 1)]
    full_wall, full_rss, _ = _run_child(cli + ["build", "--as-of", as_of.isoformat(), "--full-refresh"], env)
    full = _build_record(home)
    manifest = _manifest(home)
    incremental = {n["name"] for n in manifest["nodes"].values()
                   if n["resource_type"] == "model" and n["config"].get("materialized") == "incremental"}
    as_of_models = _as_of_dependent(manifest)
    load.append(round(os.getloadavg()[0], 1))
    delta = write_day_delta(home.inbox, as_of)
    ingest_wall, ingest_rss, _ = _run_child(cli + ["ingest"], env)
    next_day = as_of + timedelta(days=1)
    day_wall, day_rss, _ = _run_child(cli + ["build", "--as-of", next_day.isoformat()], env)
    day = _build_record(home)
    load.append(round(os.getloadavg()[0], 1))
    full_nodes = {n["name"]: n["seconds"] for n in full["nodes"]}
    day_nodes = {n["name"]: n["seconds"] for n in day["nodes"]}
    return {
        "scale": scale, "seed": seed, "as_of": as_of.isoformat(), "day_as_of": next_day.isoformat(),
        "machine": machine(), "load_average": load,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "nodes": full["totals"]["nodes"], "delta": delta,
        "full": {"wall": round(full_wall, 1), "peak_rss_mb": round(full_rss), "dbt_seconds": full["dbt_seconds"],
                 "breakdown": breakdown(full, incremental, as_of_models)},
        "ingest": {"wall": round(ingest_wall, 1), "peak_rss_mb": round(ingest_rss)},
        "day": {"wall": round(day_wall, 1), "peak_rss_mb": round(day_rss), "dbt_seconds": day["dbt_seconds"],
                "breakdown": breakdown(day, incremental, as_of_models)},
        "incremental_models": {name: [full_nodes.get(name, 0.0), day_nodes.get(name, 0.0)]
                               for name in sorted(incremental)},
        "slowest_day_nodes": sorted(day_nodes.items(), key=lambda kv: -kv[1])[:8],
    }


def table(r: dict) -> list[str]:
    m, f, d = r["machine"], r["full"], r["day"]
    inc_full = sum(v[0] for v in r["incremental_models"].values())
    inc_day = sum(v[1] for v in r["incremental_models"].values())
    new_rows = sum(v["new_records"] for v in r["delta"].values())
    corrections = sum(v["corrections"] for v in r["delta"].values())
    lines = [
        f"### Incremental build, `{r['scale']}` scale — measured {r['measured_at']} by "
        f"`benchmarks/incremental_build.py --scale {r['scale']}`",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, Python {m['python']}; 1-minute load "
        f"average {' / '.join(map(str, r['load_average']))} (start / after the full build / end). "
        f"Full build as of {r['as_of']}, the day's build as of {r['day_as_of']} (the next morning); seed "
        f"{r['seed']}, {r['nodes']} dbt nodes per build.",
        "",
        f"The day: {new_rows:,} new records and {corrections} corrected records in {len(r['delta'])} feeds "
        f"(1/365 of each document-numbered feed's yearly rows; feeds sent as whole lists or snapshots send "
        f"nothing), written to the inbox and ingested with `creditwh ingest` in {r['ingest']['wall']} s.",
        "",
        "| | full build (`--full-refresh`) | the day (incremental) | day / full |",
        "|---|---:|---:|---:|",
        f"| `creditwh build` wall (s) | {f['wall']} | {d['wall']} | {d['wall'] / f['wall']:.0%} |",
        f"| dbt's own run (s) | {f['dbt_seconds']} | {d['dbt_seconds']} | "
        f"{d['dbt_seconds'] / f['dbt_seconds']:.0%} |",
        f"| peak RSS (MB) | {f['peak_rss_mb']:,} | {d['peak_rss_mb']:,} | |",
    ]
    for kind in sorted(set(f["breakdown"]) | set(d["breakdown"])):
        a, b = f["breakdown"].get(kind, 0.0), d["breakdown"].get(kind, 0.0)
        lines.append(f"| node time: {kind} (s) | {a} | {b} | {b / a:.0%} |" if a else
                     f"| node time: {kind} (s) | {a} | {b} | |")
    lines += [
        "",
        f"The {len(r['incremental_models'])} incremental models' own node time: **{inc_full:.1f} s full, "
        f"{inc_day:.1f} s for the day ({inc_day / inc_full:.0%})**. Per model (full → day, s): "
        + ", ".join(f"`{k}` {v[0]:.2f} → {v[1]:.2f}" for k, v in sorted(r["incremental_models"].items(),
                                                                          key=lambda kv: -kv[1][0])[:6]) + ".",
        "",
        "Slowest nodes of the day's build (s): "
        + ", ".join(f"`{name}` {seconds:.2f}" for name, seconds in r["slowest_day_nodes"]) + ".",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="city")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home", help="a home to (re)use; default: a new scratch directory")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    args = parser.parse_args(argv)
    home = Home(Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix=f"creditwh-incremental-{args.scale}-")))
    home.ensure()
    result = run(args.scale, args.seed, home, args.as_of)
    lines = table(result)
    replace_marked_section(MARK.format(scale=args.scale), lines)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
