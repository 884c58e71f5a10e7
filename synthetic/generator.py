"""generate(): entities -> one builder per feed -> defects -> layout -> files, ground truth and manifest."""
from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from .config import SCALES, Contract, load_contracts, resolve_rates
from .defects import arrange, plant
from .entities import build_entities
from .departments import BUILDERS as DEPARTMENT_BUILDERS
from .departments import DEPENDS_ON as DEPARTMENT_DEPENDS_ON
from .feeds import BUILDERS as SAMR_BUILDERS
from .feeds import FeedContext, bureau_usccs
from .repair import BUILDERS as REPAIR_BUILDERS
from .repair import DEPENDS_ON as REPAIR_DEPENDS_ON
from .writers import write_csv, write_json_lines, write_json_page, write_xlsx

log = logging.getLogger(__name__)

WRITE_THREADS = 2  # the target machine has 2 cores
COURT_PAGE_SIZE = 500  # the court API's page size (records per page_NNNN.json)
GROUND_TRUTH = "_ground_truth.parquet"
MANIFEST = "_manifest.json"
REGISTRY = "samr_entity_registry"
BUILDERS = {**SAMR_BUILDERS, **DEPARTMENT_BUILDERS, **REPAIR_BUILDERS}
DEPENDS_ON = {**REPAIR_DEPENDS_ON, **DEPARTMENT_DEPENDS_ON}

# Independent random streams: one for entities, and per feed one for data, one for defects, one for layout.
# Keyed by a hash of the feed id (not its position) so adding a contract does not reshuffle the others, and the
# defect streams are separate so that changing a rate leaves the clean data unchanged.
_ENTITIES, _DATA, _DEFECTS, _LAYOUT = 0, 1, 2, 3


def _stream(seed: int, purpose: int, feed_id: str = "") -> np.random.Generator:
    return np.random.default_rng([int(seed), purpose, zlib.crc32(feed_id.encode())])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _clear(feed_dir: Path, contract: Contract) -> None:
    """Remove files an earlier run left in this feed's folder (only those matching the contract's pattern), so a
    smaller scale or another seed never leaves stale files behind for ingestion to pick up."""
    if feed_dir.exists():
        for p in feed_dir.glob(contract.file_pattern):
            if p.is_file():
                p.unlink()
    feed_dir.mkdir(parents=True, exist_ok=True)


def _to_source(frame: pl.DataFrame, contract: Contract) -> tuple[pl.DataFrame, list[str]]:
    """Rename canonical columns to the contract's source headers, in contract order. A contract column no builder
    fills is written empty (and reported) if optional; a required one is an error."""
    unfilled = [c for c in contract.columns if c.name not in frame.columns]
    missing_required = [c.name for c in unfilled if c.required]
    if missing_required:
        raise ValueError(f"{contract.id}: the generator does not fill required column(s) {missing_required}")
    exprs = [(pl.col(c.name) if c.name in frame.columns else pl.lit(None, dtype=pl.String)).alias(c.source)
             for c in contract.columns]
    return frame.select(exprs), [c.name for c in unfilled]


def _write_file(feed_dir: Path, name: str, part: pl.DataFrame, contract: Contract, titles: dict[str, str],
                ref: date, xlsx_engine: str, n_files: int, total: int) -> dict:
    path = feed_dir / name
    if contract.format == "csv":
        write_csv(path, part, contract.encoding)
    elif contract.format == "xlsx":
        write_xlsx(path, part, contract, titles.get(name), ref, engine=xlsx_engine)
    elif contract.format == "json_pages":
        page = int(name.split("_")[1].split(".")[0])
        write_json_page(path, part.to_dicts(), page, COURT_PAGE_SIZE, total, n_files)
    elif contract.format == "jsonl":
        write_json_lines(path, part, contract.encoding)
    else:
        raise ValueError(f"{contract.id}: unsupported format {contract.format!r}")
    return {"name": name, "rows": part.height, "bytes": path.stat().st_size, "sha256": _sha256(path)}


def _write_feed(feed_dir: Path, rows: pl.DataFrame, contract: Contract, titles: dict[str, str], ref: date,
                xlsx_engine: str) -> tuple[list[dict], list[str]]:
    """One file per distinct _file. Files are independent, so they are written on WRITE_THREADS threads: polars,
    zlib and hashlib release the GIL for the heavy parts. Each file's bytes do not depend on the scheduling."""
    names = sorted(rows["_file"].unique().to_list())
    parts = {}
    unfilled: list[str] = []
    for name, part in zip(names, (rows.filter(pl.col("_file") == n) for n in names)):
        parts[name], unfilled = _to_source(part, contract)
    with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
        files = list(pool.map(lambda n: _write_file(feed_dir, n, parts[n], contract, titles, ref, xlsx_engine,
                                                    len(names), rows.height), names))
    return files, unfilled


def generate(scale: str, seed: int, out_dir: Path, defect_rates: dict | None = None,
             reference_date: date = date(2026, 11, 20), *, xlsx_engine: str = "native") -> dict:
    """Write the department feeds of the synthetic city into out_dir/<feed_id>/…, plus _ground_truth.parquet and
    _manifest.json; return the manifest. Same (scale, seed, rates, reference_date) -> byte-identical files.

    defect_rates overrides defects.yaml per defect (0 disables one). Files matching a feed's file_pattern that
    are already in out_dir/<feed_id>/ are removed first.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; known: {', '.join(SCALES)}")
    cfg = SCALES[scale]
    rates = resolve_rates(defect_rates)
    contracts = load_contracts()
    unknown = sorted(set(contracts) - set(BUILDERS))
    if unknown:
        raise ValueError(f"no synthetic builder for contract(s) {unknown}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    n = int(cfg["entities"])
    ents = build_entities(_stream(seed, _ENTITIES), n, reference_date)
    bureaus = bureau_usccs()
    log.info("entities: %d (+%d phantoms) in %.1fs", n, ents.height - n, time.perf_counter() - t0)

    feeds_out: dict[str, dict] = {}
    truths = []
    built: dict[str, pl.DataFrame] = {}
    # feeds built on other feeds' records come last; each feed keeps its own streams, so the order changes no bytes
    for feed_id in sorted(contracts, key=lambda f: (f in DEPENDS_ON, f)):
        t = time.perf_counter()
        contract = contracts[feed_id]
        is_registry = feed_id == REGISTRY
        ctx = FeedContext(ents=ents, n_registry=n, reference_date=reference_date, scale=cfg,
                          rng=_stream(seed, _DATA, feed_id), drng=_stream(seed, _DEFECTS, feed_id),
                          unknown_rate=0.0 if is_registry else rates["unknown_entity"], bureaus=bureaus,
                          built={f: built[f] for f in DEPENDS_ON.get(feed_id, ())})
        data = BUILDERS[feed_id](ctx)
        if any(feed_id in needs for needs in DEPENDS_ON.values()):
            built[feed_id] = data.frame
        planted = plant(data.frame, contract, rates, ctx.drng, ents, n, is_registry)
        page_size = COURT_PAGE_SIZE if contract.format == "json_pages" else None
        rows, truth = arrange(planted, _stream(seed, _LAYOUT, feed_id), page_size)
        feed_dir = out_dir / feed_id
        _clear(feed_dir, contract)
        files, unfilled = _write_feed(feed_dir, rows, contract, data.titles, reference_date, xlsx_engine)
        truths.append(truth.with_columns(feed=pl.lit(feed_id)))
        feeds_out[feed_id] = {
            "format": contract.format,
            "encoding": {"csv": contract.encoding, "jsonl": contract.encoding,
                         "json_pages": "utf-8"}.get(contract.format),  # None: xlsx
            "files": files, "rows": sum(f["rows"] for f in files), "defects": truth.height,
            "unfilled_columns": unfilled,
        }
        log.info("%s: %d rows, %d files, %d defects in %.1fs", feed_id, feeds_out[feed_id]["rows"], len(files),
                 truth.height, time.perf_counter() - t)

    truth = (pl.concat(truths)
             .select("feed", "file_name", pl.col("source_row").cast(pl.Int64), "defect", "field",
                     pl.col("expected").fill_null(""), pl.col("detail").fill_null(""))
             .sort(["feed", "file_name", "source_row", "defect"]))
    gt_path = out_dir / GROUND_TRUTH
    truth.write_parquet(gt_path, compression="zstd", statistics=True)

    counts = dict(sorted(truth.group_by("defect").len().iter_rows()))
    manifest = {
        "generator": "synthetic",
        "scale": scale,
        "seed": int(seed),
        "reference_date": reference_date.isoformat(),
        "defect_rates": rates,
        "entities": {"registry": n, "phantom_pool": ents.height - n},
        "feeds": feeds_out,
        "defect_counts": {d: counts.get(d, 0) for d in rates},
        "ground_truth": {"file": GROUND_TRUTH, "rows": truth.height, "sha256": _sha256(gt_path)},
        "totals": {
            "feeds": len(feeds_out),
            "files": sum(len(f["files"]) for f in feeds_out.values()),
            "rows": sum(f["rows"] for f in feeds_out.values()),
            "defects": truth.height,
        },
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n",
                                    encoding="utf-8")
    log.info("done in %.1fs: %d rows in %d files", time.perf_counter() - t0, manifest["totals"]["rows"],
             manifest["totals"]["files"])
    return manifest
