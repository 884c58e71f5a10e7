"""Plant defects into a clean feed frame and record each one as a ground-truth row.

Rules (see the brief in docs and defects.yaml):
- the count of a defect in a feed is round(rate x rows), taken from the rows (and fields) where it can apply;
  when fewer rows qualify, the defect is planted on all of them;
- a row carries at most one defect: defects are planted in a fixed order, each on rows still clean;
- duplicates copy a clean row and are placed later in the same file (arrange() decides where);
- unknown_entity is applied by the feed builders (subject swap, see feeds.py); here it is only recorded.

Rows are chosen with the feed's own defect stream, so changing a rate never changes the underlying clean data.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl

from .common import EPOCH, EXCEL_EPOCH_OFFSET
from .config import REGISTRY_DEFECTS, Contract
from .identifiers import corrupt_check_char, to_fullwidth
from .vocab import UNKNOWN_CODE_VALUES

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
# (style, weight): how clerks and source systems write dates outside the canonical form
DATE_STYLES = [("cn", 20.0), ("slash_padded", 20.0), ("slash", 20.0), ("compact", 15.0), ("dot", 10.0),
               ("excel_serial", 15.0)]
# Planting order; duplicate comes last because it copies rows that are otherwise clean.
ORDER = ["bad_check_digit", "legacy_regno", "fullwidth", "invisible_chars", "date_format", "amount_unit_yuan",
         "missing_required", "unknown_code"]

GT_SCHEMA = {"_rid": pl.Int64, "defect": pl.String, "field": pl.String, "expected": pl.String, "detail": pl.String}


def format_date(iso: str, style: str) -> str:
    y, m, d = int(iso[:4]), int(iso[5:7]), int(iso[8:10])
    if style == "cn":
        return f"{y}年{m}月{d}日"
    if style == "slash_padded":
        return f"{y:04d}/{m:02d}/{d:02d}"
    if style == "slash":
        return f"{y}/{m}/{d}"
    if style == "compact":
        return f"{y:04d}{m:02d}{d:02d}"
    if style == "dot":
        return f"{y:04d}.{m:02d}.{d:02d}"
    if style == "excel_serial":
        return str((date(y, m, d) - EPOCH).days + EXCEL_EPOCH_OFFSET)
    raise ValueError(style)


def yuan_text(wan: str, style: int) -> str:
    """An amount in 万元 written in yuan with a unit: 12000元 or 12,000.00元 (Decimal: no float noise)."""
    yuan = Decimal(wan) * 10000
    if style == 0:
        return f"{yuan.normalize():f}元"
    return f"{yuan:,.2f}元"


# zero-width characters are invisible anywhere; no-break and ordinary spaces only at the ends (inside a name they
# would be normalised to one space, not removed). GBK has no zero-width or no-break characters: only spaces there.
_INNER = ["\u200b", "\u200c", "\u200d"]
_EDGE = ["\u00a0", " ", "\u3000"]
_EDGE_GBK = [" ", "\u3000"]


def invisible_text(name: str, rng: np.random.Generator, gbk: bool) -> tuple[str, str]:
    edge = _EDGE_GBK if gbk else _EDGE
    mode = rng.integers(0, 2 if gbk else 3)
    if mode == 2 and len(name) > 1:
        ch = _INNER[rng.integers(0, len(_INNER))]
        i = int(rng.integers(1, len(name)))
        return name[:i] + ch + name[i:], f"U+{ord(ch):04X} inside at {i}"
    ch = edge[rng.integers(0, len(edge))]
    if mode == 0:
        return ch + name, f"leading U+{ord(ch):04X}"
    return name + ch + ch, f"trailing U+{ord(ch):04X} x2"


@dataclass
class Planted:
    frame: pl.DataFrame  # original rows, defects applied, with _rid
    copies: pl.DataFrame  # duplicate rows, with their own _rid and _orig (the copied row's _rid)
    truth: pl.DataFrame  # _rid, defect, field, expected, detail


class _Plan:
    """Book-keeping while planting: which rows are taken and the new values per column."""

    def __init__(self, frame: pl.DataFrame):
        self.frame = frame
        self.n = frame.height
        self.free = np.ones(self.n, dtype=bool)
        self.updates: dict[str, list[tuple[np.ndarray, list]]] = {}
        self.truth: list[dict] = []

    def values(self, col: str, pos: np.ndarray) -> list:
        return self.frame[col].gather(pos).to_list()

    def set(self, col: str, pos: np.ndarray, values: list) -> None:
        self.updates.setdefault(col, []).append((pos, values))

    def record(self, pos, defect: str, field: str, expected: list, detail: list) -> None:
        rids = self.frame["_rid"].gather(pos).to_list()
        for r, e, d in zip(rids, expected, detail):
            self.truth.append({"_rid": r, "defect": defect, "field": field, "expected": e, "detail": d})
        self.free[pos] = False

    def applied(self) -> pl.DataFrame:
        cols = []
        for col, parts in self.updates.items():
            s = self.frame[col].clone()
            for pos, vals in parts:
                s = s.scatter(pos, pl.Series(vals, dtype=pl.String))
            cols.append(s)
        return self.frame.with_columns(cols) if cols else self.frame


def _choose(rng, plan: _Plan, k: int, fields: list[str], eligible: dict[str, np.ndarray],
            weights: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Pick up to k free rows where at least one field is eligible, then one eligible field per row (weighted)."""
    if k <= 0 or not fields:
        return {}
    elig = np.column_stack([eligible[f] & plan.free for f in fields])
    rows = np.flatnonzero(elig.any(axis=1))
    if len(rows) == 0:
        return {}
    rows = np.sort(rng.choice(rows, size=min(k, len(rows)), replace=False))
    w = np.array([(weights or {}).get(f, 1.0) for f in fields])
    score = np.where(elig[rows], rng.random((len(rows), len(fields))) * w, -1.0)
    which = score.argmax(axis=1)
    return {f: rows[which == i] for i, f in enumerate(fields) if (which == i).any()}


def plant(frame: pl.DataFrame, contract: Contract, rates: dict[str, float], rng: np.random.Generator,
          ents: pl.DataFrame, n_registry: int, is_registry: bool) -> Planted:
    frame = frame.with_columns(_rid=pl.int_range(frame.height, dtype=pl.Int64))
    plan = _Plan(frame)
    n = frame.height
    allowed = set(REGISTRY_DEFECTS) if is_registry else set(rates)
    gbk = contract.encoding.lower().replace("-", "") == "gbk"

    def notnull(col):
        return frame[col].is_not_null().to_numpy()

    has_uscc = contract.has("uscc")
    uscc_ok = notnull("uscc") if has_uscc else np.zeros(n, dtype=bool)
    ent = frame["_ent"].to_numpy()

    # unknown_entity was planted by the builder (phantom subject): record it and keep the row otherwise clean
    if "unknown_entity" in allowed and has_uscc:
        pos = np.flatnonzero(ent >= n_registry)
        if len(pos):
            names = plan.values(contract.name_field, pos) if contract.name_field else [""] * len(pos)
            plan.record(pos, "unknown_entity", "uscc", plan.values("uscc", pos),
                        [f"entity not in the registry: {x}" for x in names])

    for defect in ORDER:
        if defect not in allowed:
            continue
        k = int(round(rates.get(defect, 0.0) * n))
        if k == 0:
            continue
        if defect == "bad_check_digit" and has_uscc:
            for f, pos in _choose(rng, plan, k, ["uscc"], {"uscc": uscc_ok}).items():
                vals = plan.values(f, pos)
                bad = [corrupt_check_char(v, int(rng.integers(0, 30))) for v in vals]
                plan.set(f, pos, bad)
                plan.record(pos, defect, f, vals, [f"check char {v[-1]} -> {b[-1]}" for v, b in zip(vals, bad)])
        elif defect == "legacy_regno" and has_uscc:
            regno = ents["registration_no"].gather(pl.Series(ent)).to_numpy()
            elig = uscc_ok & (ent < n_registry) & (regno != None)  # noqa: E711 (object array of str/None)
            for f, pos in _choose(rng, plan, k, ["uscc"], {"uscc": elig}).items():
                vals = plan.values(f, pos)
                plan.set(f, pos, [regno[p] for p in pos])
                plan.record(pos, defect, f, vals, ["USCC field holds the 15-digit registration number"] * len(pos))
        elif defect == "fullwidth":
            fields = (["uscc"] if has_uscc else []) + contract.of_type("amount_wan")
            elig = {f: notnull(f) for f in fields}
            # mostly the USCC: that is where full-width input breaks joins
            for f, pos in _choose(rng, plan, k, fields, elig, {"uscc": 3.0}).items():
                vals = plan.values(f, pos)
                plan.set(f, pos, [to_fullwidth(v) for v in vals])
                plan.record(pos, defect, f, vals, ["written in full-width characters"] * len(pos))
        elif defect == "invisible_chars" and contract.name_field:
            f = contract.name_field
            for f, pos in _choose(rng, plan, k, [f], {f: notnull(f)}).items():
                vals = plan.values(f, pos)
                out = [invisible_text(v, rng, gbk) for v in vals]
                plan.set(f, pos, [o[0] for o in out])
                plan.record(pos, defect, f, vals, [o[1] for o in out])
        elif defect == "date_format":
            fields = contract.of_type("date")
            elig = {f: frame[f].str.contains(ISO_DATE).fill_null(False).to_numpy() for f in fields}
            for f, pos in _choose(rng, plan, k, fields, elig).items():
                vals = plan.values(f, pos)
                styles = [DATE_STYLES[i][0] for i in
                          rng.choice(len(DATE_STYLES), size=len(pos), p=_norm([w for _, w in DATE_STYLES]))]
                plan.set(f, pos, [format_date(v, s) for v, s in zip(vals, styles)])
                plan.record(pos, defect, f, vals, [f"style={s}" for s in styles])
        elif defect == "amount_unit_yuan":
            fields = contract.of_type("amount_wan")
            for f, pos in _choose(rng, plan, k, fields, {f: notnull(f) for f in fields}).items():
                vals = plan.values(f, pos)
                plan.set(f, pos, [yuan_text(v, int(rng.integers(0, 2))) for v in vals])
                plan.record(pos, defect, f, vals, ["amount written in yuan with a unit"] * len(pos))
        elif defect == "missing_required":
            fields = contract.required_non_identifier
            for f, pos in _choose(rng, plan, k, fields, {f: notnull(f) for f in fields}).items():
                vals = plan.values(f, pos)
                plan.set(f, pos, [None] * len(pos))
                plan.record(pos, defect, f, [""] * len(pos), [f"was: {v}" for v in vals])
        elif defect == "unknown_code":
            fields = contract.code_fields
            for f, pos in _choose(rng, plan, k, fields, {f: notnull(f) for f in fields}).items():
                vals = plan.values(f, pos)
                wrong = UNKNOWN_CODE_VALUES.get(f, ["其他"])
                codes = set(contract.col(f).codes)
                bad = [w for w in wrong if w not in codes] or ["其他未知"]
                new = [bad[int(rng.integers(0, len(bad)))] for _ in vals]
                plan.set(f, pos, new)
                plan.record(pos, defect, f, [""] * len(pos), [f"not in codes (was: {v})" for v in vals])

    planted = plan.applied()
    # duplicates: exact copies of clean rows (after the other defects, so the copy carries no second defect)
    k = int(round(rates.get("duplicate", 0.0) * n)) if "duplicate" in allowed else 0
    free = np.flatnonzero(plan.free)
    orig = np.sort(rng.choice(free, size=min(k, len(free)), replace=False)) if k and len(free) else np.array([], int)
    copies = planted[orig].with_columns(_orig=pl.col("_rid"), _rid=pl.int_range(n, n + len(orig), dtype=pl.Int64))
    truth = pl.DataFrame(plan.truth, schema=GT_SCHEMA)
    dup_truth = pl.DataFrame({"_rid": copies["_rid"], "defect": "duplicate", "field": None, "expected": "",
                              "detail": copies["_orig"].cast(pl.String)}, schema=GT_SCHEMA)
    return Planted(planted, copies, pl.concat([truth, dup_truth]))


def _norm(w):
    w = np.asarray(w, dtype=float)
    return w / w.sum()


# ------------------------------------------------------------------------------------------------ layout
def arrange(planted: Planted, rng: np.random.Generator, page_size: int | None = None,
            page_name: str = "page_{:04d}.json") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Final row order with copies inserted later in the same file; returns (rows with _file/_row, ground truth
    with file_name/source_row). page_size set = json_pages: pages of exactly page_size records are cut here."""
    frame, copies, truth = planted.frame, planted.copies, planted.truth
    if page_size is None:
        frame = frame.with_columns(_key=pl.int_range(pl.len()).over("_file").cast(pl.Float64),
                                   _size=pl.len().over("_file"))
        pos = frame.select("_rid", "_key", "_size").rename({"_rid": "_orig", "_key": "_okey"})
        copies = copies.join(pos, on="_orig", how="left", maintain_order="left")
        u = pl.Series(rng.uniform(0.001, 0.999, copies.height))
        # anywhere after the original, up to the end of its file
        copies = copies.with_columns(_key=pl.col("_okey") + u * (pl.col("_size") - pl.col("_okey")))
        rows = pl.concat([frame.drop("_size"), copies.drop("_orig", "_okey", "_size")], how="diagonal_relaxed")
        rows = rows.sort(["_file", "_key", "_rid"]).drop("_key")
    else:
        rows, dropped = _paginate(frame, copies, rng, page_size, page_name)
        truth = truth.filter(~pl.col("_rid").is_in(dropped))
    rows = rows.with_columns(_row=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("_file"))
    where = rows.select("_rid", "_file", "_row")
    truth = truth.join(where, on="_rid", how="left")
    # a duplicate's detail is the original's row number in the same file
    orig_rows = where.rename({"_rid": "_orig_rid", "_row": "_orig_row"}).drop("_file")
    truth = truth.with_columns(
        _orig_rid=pl.when(pl.col("defect") == "duplicate").then(pl.col("detail").cast(pl.Int64, strict=False))
    ).join(orig_rows, on="_orig_rid", how="left").with_columns(
        detail=pl.when(pl.col("defect") == "duplicate").then(pl.col("_orig_row").cast(pl.String))
        .otherwise(pl.col("detail"))
    ).select(pl.col("_file").alias("file_name"), pl.col("_row").alias("source_row"), "defect", "field",
             "expected", "detail")
    return rows, truth


def _paginate(frame, copies, rng, page_size, page_name):
    """Cut pages of page_size records; a copy goes on its original's page, after it. A copy that would spill
    onto the next page is dropped (returned in `dropped`), so every page holds exactly page_size records."""
    rids = frame["_rid"].to_list()
    copy_of = dict(zip(copies["_orig"].to_list(), copies["_rid"].to_list()))
    pages: list[list[int]] = []
    dropped: list[int] = []
    i = 0
    while i < len(rids):
        page, with_copy = [], []
        while i < len(rids) and len(page) + len(with_copy) < page_size:
            r = rids[i]
            i += 1
            page.append(r)
            if r in copy_of:
                if len(page) + len(with_copy) + 1 <= page_size:
                    with_copy.append(r)
                else:
                    dropped.append(copy_of[r])
        for r in with_copy:  # insert each copy at a random place after its original
            at = page.index(r)
            page.insert(int(rng.integers(at + 1, len(page) + 1)), copy_of[r])
        pages.append(page)
    order = [(r, page_name.format(p + 1)) for p, page in enumerate(pages) for r in page]
    placed = pl.DataFrame({"_rid": [r for r, _ in order], "_file": [f for _, f in order],
                           "_seq": list(range(len(order)))}, schema={"_rid": pl.Int64, "_file": pl.String,
                                                                     "_seq": pl.Int64})
    rows = pl.concat([frame, copies.drop("_orig")], how="diagonal_relaxed").drop("_file")
    rows = rows.join(placed, on="_rid", how="inner").sort("_seq").drop("_seq")
    return rows, dropped
