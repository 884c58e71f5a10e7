"""Builders for the feeds of the city's other departments (human resources, housing and construction, special
equipment, food safety, medical devices, education, public security, honours).

Same conventions as feeds.py: clean canonical columns as strings, `_ent` and `_file` bookkeeping columns, subjects
drawn from the same entity frame (so every feed links to the registry by USCC, or by the legacy registration number
where a department still lists old units that way), and `swap_unknown` for the unknown_entity defect. Each builder
uses only its own feed's streams, so adding one never changes the bytes of another feed.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from . import vocab
from .common import amount_str, date_str, days, pick, weighted_index, year_of
from .entities import ENTERPRISE, SOLE_TRADER
from .feeds import _CONTENT_EXTRA, FeedContext, FeedData, finish, offset, subject_category
from .identifiers import make_uscc

REGNO_ERA_END = date(2016, 10, 1)  # entities founded before this carry a 15-digit registration number


def department_usccs() -> dict[str, str]:
    """Each department authority's USCC (机关, prefix 11). A fixed seed of its own: the SAMR bureaus' codes (feeds.
    bureau_usccs) stay as they were, and the departments are the same whatever the data seed."""
    rng = np.random.default_rng(370999)
    return {key: make_uscc("11", div, "".join(rng.choice(list("0123456789"), 8)))
            for key, (div, _, _) in vocab.DEPARTMENT_AUTHORITIES.items()}


def _authority(key: str) -> tuple[str, str, str]:
    div, name, abbr = vocab.DEPARTMENT_AUTHORITIES[key]
    return name, abbr, department_usccs()[key]


def _draw(ctx: FeedContext, k: int, industry_weights: dict[str, float], *, kinds=(ENTERPRISE,),
          kind_weight: dict[int, float] | None = None, risk_power: float = 1.0, replace: bool = True) -> np.ndarray:
    """k registry entities drawn ~ industry weight x kind weight x risk**risk_power (industries not listed: 0)."""
    n = ctx.n_registry
    kind = ctx.attr("kind")[:n]
    industry = ctx.ents["industry_code"].head(n).to_numpy().astype(str)
    w = np.zeros(n)
    for code, weight in industry_weights.items():
        w[industry == code] = weight
    w *= np.isin(kind, kinds) * np.vectorize((kind_weight or {}).get, otypes=[float])(kind, 1.0)
    w *= ctx.attr("risk")[:n] ** risk_power
    eligible = np.flatnonzero(w > 0)
    if len(eligible) == 0 or k <= 0:
        return np.array([], dtype=np.int64)
    if not replace:
        k = min(k, len(eligible))
    p = w[eligible] / w[eligible].sum()
    return eligible[ctx.rng.choice(len(eligible), size=k, replace=replace, p=p)]


def _numbers(rng, day: np.ndarray, abbr: str, word: str) -> pl.Series:
    """Decision numbers like 泰建罚〔2024〕00012号: one authority's per-year sequence in date order, with gaps."""
    n = len(day)
    year = year_of(day)
    seq = (pl.DataFrame({"y": year, "d": day, "t": rng.random(n), "g": rng.integers(1, 4, n), "i": np.arange(n)})
           .sort(["y", "d", "t"]).with_columns(s=pl.col("g").cum_sum().over("y")).sort("i")["s"])
    return pl.DataFrame({"y": pl.Series(year).cast(pl.String), "s": seq.cast(pl.String).str.zfill(5)}).select(
        pl.concat_str([pl.lit(f"{abbr}{word}〔"), "y", pl.lit("〕"), "s", pl.lit("号")])).to_series()


def _strs(values) -> pl.Series:
    return pl.Series([None if v is None else str(v) for v in values], dtype=pl.String)


# ------------------------------------------------------------------------------------------------ penalties
def _penalty_feed(ctx: FeedContext, subj: np.ndarray, day: np.ndarray, authority: str, patterns, violations,
                  fine_median_wan: float, word: str, file_stem: str, ext: str, regno_share: float) -> pl.DataFrame:
    """The canonical 双公示 penalty record (the columns of samr_penalties), for one department's authority."""
    rng = ctx.rng
    k = len(subj)
    name, abbr, auth_uscc = _authority(authority)
    numbers = _numbers(rng, day, abbr, word)
    subj = ctx.swap_unknown(subj)
    e = ctx.take(subj, ["kind", "uscc", "registration_no", "entity_name", "legal_rep_name"])
    pat = weighted_index(rng, [p[1] for p in patterns], k)
    has_fine = np.array([p[2] for p in patterns])[pat]
    has_conf = np.array([p[3] for p in patterns])[pat]
    fine = np.clip(np.exp(rng.normal(np.log(fine_median_wan), 1.0, k)), 0.05, 500.0)
    fine = np.where(has_fine, np.round(fine, 2), np.nan)
    conf = np.where(has_conf, np.round(np.clip(np.exp(rng.normal(np.log(0.5), 1.0, k)), 0.01, 50.0), 2), np.nan)
    viol = weighted_index(rng, [v[3] for v in violations], k)
    kind = e["kind"]
    legal_person = kind != SOLE_TRADER
    decision = date_str(day)
    frame = pl.DataFrame({
        "__day": day, "_ent": subj,
        "subject_name": e["entity_name"],
        "subject_category": subject_category(kind),
        "uscc": e["uscc"],
        "registration_no": pl.select(pl.when(pl.Series(rng.random(k) < regno_share)).then(e["registration_no"])).to_series(),
        "legal_rep_name": pl.select(pl.when(legal_person).then(e["legal_rep_name"])).to_series(),
        "decision_no": numbers,
        "violation_type": pick([v[0] for v in violations], viol),
        "violation_facts": pick([v[2] for v in violations], viol),
        "legal_basis": pick([v[1] for v in violations], viol),
        "penalty_categories": pick([p[0] for p in patterns], pat),
        "__fine_yuan": pl.Series(np.round(np.nan_to_num(fine) * 10000)).cast(pl.Int64).cast(pl.String),
        "__conf_yuan": pl.Series(np.round(np.nan_to_num(conf) * 10000)).cast(pl.Int64).cast(pl.String),
        "fine_amount_wan": amount_str(fine),
        "confiscated_amount_wan": amount_str(conf),
        "decision_date": decision,
        "__warn": pat == 0,
        "authority_name": pl.Series([name] * k, dtype=pl.String),
        "authority_uscc": pl.Series([auth_uscc] * k, dtype=pl.String),
        "source_unit_name": pl.Series([name] * k, dtype=pl.String),
        "source_unit_uscc": pl.Series([auth_uscc] * k, dtype=pl.String),
    })
    c = pl.col("penalty_categories")
    parts = [
        pl.when(c.str.contains("警告")).then(pl.lit("警告")),
        pl.when(c.str.contains("通报批评")).then(pl.lit("通报批评")),
        pl.when(c.str.contains("罚款")).then("罚款人民币" + pl.col("__fine_yuan") + "元"),
        pl.when(c.str.contains("没收违法所得")).then("没收违法所得人民币" + pl.col("__conf_yuan") + "元"),
        *[pl.when(c.str.contains(key)).then(pl.lit(text)) for key, text in _CONTENT_EXTRA.items()],
    ]
    return frame.with_columns(
        penalty_content=pl.concat_str(parts, separator="；", ignore_nulls=True),
        valid_until=pl.when(pl.col("__warn")).then(None).otherwise(offset(decision, "3y")),
        _file=pl.lit(f"{file_stem}_") + pl.col("decision_date").str.slice(0, 4) + pl.lit(ext),
    )


def build_housing_penalties(ctx: FeedContext) -> FeedData:
    k = max(1, ctx.count("housing_penalties"))
    # construction and real-estate firms; design and property firms now and then
    subj = _draw(ctx, k, {"E47": 10.0, "K70": 4.0, "C30": 1.0, "L72": 0.3, "O80": 0.5})
    day = ctx.event_days(subj, min_age_days=90)
    frame = _penalty_feed(ctx, subj, day, "housing", vocab.HOUSING_PENALTY_PATTERNS, vocab.HOUSING_VIOLATIONS,
                          3.0, "罚", "housing_penalties", ".xlsx", regno_share=0.3)
    frame = finish(frame, ["_file", "__day", "decision_no"])
    name = vocab.DEPARTMENT_AUTHORITIES["housing"][1]
    titles = {f: f"{name}行政处罚信息公示（{f[-9:-5]}年）" for f in frame["_file"].unique().to_list()}
    return FeedData(frame, titles)


def build_medical_device_penalties(ctx: FeedContext) -> FeedData:
    k = max(1, ctx.count("medical_device_penalties"))
    # device makers and dealers, clinics, and the pharmacies and shops that sell devices
    subj = _draw(ctx, k, {"Q84": 10.0, "F51": 1.0, "F52": 1.0, "M75": 1.0, "O80": 0.3},
                 kinds=(ENTERPRISE, SOLE_TRADER), kind_weight={SOLE_TRADER: 0.15})
    day = ctx.event_days(subj, min_age_days=90)
    frame = _penalty_feed(ctx, subj, day, "medical", vocab.MEDICAL_PENALTY_PATTERNS, vocab.MEDICAL_VIOLATIONS,
                          1.5, "械罚", "medical_device_penalties", ".csv", regno_share=0.5)
    return FeedData(finish(frame, ["_file", "__day", "decision_no"]))


# ------------------------------------------------------------------------------------------------ wage arrears
def build_wage_arrears(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    k = max(1, ctx.count("wage_arrears_listings"))
    subj = _draw(ctx, k, {"E47": 12.0, "K70": 3.0, "C30": 2.0, "C33": 1.0, "C34": 1.0, "O80": 1.0, "H62": 0.5,
                          "F51": 0.3, "F52": 0.3, "L72": 0.3}, risk_power=1.5)
    day = ctx.event_days(subj, min_age_days=365)
    age = ctx.ref_day - day
    # 人社部令第45号: listed for 3 years; early removal after wages are paid and at least 1 year has passed [U]
    normal = (age >= 3 * 365 + 30) & (rng.random(k) < 0.7)
    early = ~normal & (age >= 365 + 30) & (rng.random(k) < 0.35)
    removal_day = np.where(normal, day + 3 * 365 + rng.integers(0, 30, k),
                           np.where(early, day + 365 + np.floor(rng.random(k) * np.minimum(age - 365, 500))
                                    .astype(np.int64), -1))
    reason = weighted_index(rng, [r[1] for r in vocab.WAGE_ARREARS_REASONS], k)
    amount = np.round(np.clip(np.exp(rng.normal(np.log(40.0), 0.9, k)), 3.0, 2000.0), 2)
    workers = np.clip(np.round(amount * rng.uniform(0.4, 1.2, k)), 3, 800).astype(np.int64)
    name, abbr, _ = _authority("hrss")
    subj = ctx.swap_unknown(subj)
    e = ctx.take(subj, ["uscc", "entity_name", "legal_rep_name"])
    listing = pl.DataFrame({
        "__day": day, "_ent": subj, "uscc": e["uscc"], "entity_name": e["entity_name"],
        "legal_rep_name": e["legal_rep_name"], "action": pl.Series(["列入"] * k, dtype=pl.String),
        "reason": pick([r[0] for r in vocab.WAGE_ARREARS_REASONS], reason),
        "arrears_amount_wan": amount_str(amount), "workers_affected": pl.Series(workers).cast(pl.String),
        "decision_date": date_str(day), "authority_name": pl.Series([name] * k, dtype=pl.String),
        "decision_no": _numbers(rng, day, abbr, "欠薪列"),
    })
    r = np.flatnonzero(removal_day >= 0)
    removal = pl.DataFrame({
        "__day": removal_day[r], "_ent": subj[r], "uscc": e["uscc"].gather(r),
        "entity_name": e["entity_name"].gather(r), "legal_rep_name": e["legal_rep_name"].gather(r),
        "action": pl.Series(np.where(early[r], "提前移出", "移出").tolist(), dtype=pl.String),
        "reason": pl.Series(np.where(early[r], vocab.WAGE_ARREARS_EARLY_REMOVAL, vocab.WAGE_ARREARS_REMOVAL).tolist(),
                            dtype=pl.String),
        "arrears_amount_wan": pl.Series([None] * len(r), dtype=pl.String),
        "workers_affected": pl.Series([None] * len(r), dtype=pl.String),
        "decision_date": date_str(removal_day[r]), "authority_name": pl.Series([name] * len(r), dtype=pl.String),
        "decision_no": _numbers(rng, removal_day[r], abbr, "欠薪移"),
    })
    frame = pl.concat([listing, removal]).with_columns(
        _file="wage_arrears_" + pl.col("decision_date").str.slice(0, 4) + ".csv")
    return FeedData(finish(frame, ["_file", "__day", "decision_no"]))


# ------------------------------------------------------------------------------------------------ special equipment
def build_special_equipment(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    k = max(1, ctx.count("equipment_inspections"))
    subj = _draw(ctx, k, {"C13": 3.0, "C14": 3.0, "C26": 4.0, "C30": 3.0, "C33": 3.0, "C34": 3.0, "K70": 5.0,
                          "O80": 1.0, "H61": 3.0, "G54": 2.0, "F52": 0.3, "Q84": 2.0, "E47": 1.5},
                 kinds=(ENTERPRISE, SOLE_TRADER), kind_weight={SOLE_TRADER: 0.05}, risk_power=0.3)
    day = ctx.event_days(subj, min_age_days=60)
    industry = ctx.attr("industry_code")[subj].astype(str)
    cats = vocab.EQUIPMENT_CATEGORIES
    cat = np.zeros(k, dtype=np.int64)
    for ind in np.unique(industry):
        pos = np.flatnonzero(industry == ind)
        w = [c[3].get(ind, c[3].get("*", 0.0)) for c in cats]
        cat[pos] = weighted_index(rng, w, len(pos))
    kind_of = weighted_index(rng, [w for _, w in vocab.EQUIPMENT_INSPECTION_TYPES], k)
    risk = ctx.attr("risk")[subj]
    p_fail = np.clip(0.05 * risk / ctx.attr("risk")[: ctx.n_registry].mean(), 0.0, 0.5)
    u = rng.random(k)
    conclusion = np.where(u < p_fail, 2, np.where(u < p_fail + 0.08, 1, 0))
    period_years = np.array([c[2] for c in cats])[cat]
    d = pl.Series(day, dtype=pl.Int32).cast(pl.Date)
    nxt = pl.select(d.dt.offset_by(pl.concat_str([pl.Series(period_years).cast(pl.String), pl.lit("y")]))).to_series()
    agency = weighted_index(rng, [w for _, _, w in vocab.EQUIPMENT_AGENCIES], k)
    install_year = np.minimum(year_of(day), year_of(day) - rng.integers(0, 15, k))
    division = ctx.attr("division_code")[subj].astype(str)
    # 设备代码 (TSG 08): category code, division of the user, year of installation, serial
    serial = pl.Series(rng.permutation(k) + 1).cast(pl.String).str.zfill(5)
    equipment_code = (pick([c[1] for c in cats], cat) + pl.Series(division) + pl.Series(install_year).cast(pl.String)
                      + serial)
    seq = (pl.DataFrame({"y": year_of(day), "d": day, "i": np.arange(k)}).sort(["y", "d", "i"])
           .with_columns(s=pl.int_range(pl.len()).over("y") + 1).sort("i")["s"])
    report_no = pl.select(pl.concat_str([pick([a for _, a, _ in vocab.EQUIPMENT_AGENCIES], agency), pl.lit("-"),
                                         pick([c[4] for c in cats], cat), pl.lit("-"),
                                         pl.Series(year_of(day)).cast(pl.String), pl.lit("-"),
                                         seq.cast(pl.String).str.zfill(6)])).to_series()
    subj = ctx.swap_unknown(subj)
    e = ctx.take(subj, ["uscc", "entity_name"])
    frame = pl.DataFrame({
        "__day": day, "_ent": subj,
        "report_no": report_no, "entity_name": e["entity_name"], "uscc": e["uscc"],
        "equipment_code": equipment_code, "equipment_category": pick([c[0] for c in cats], cat),
        "inspection_type": pick([t for t, _ in vocab.EQUIPMENT_INSPECTION_TYPES], kind_of),
        "inspection_date": date_str(day),
        "inspection_conclusion": pick(["合格", "复检合格", "不合格"], conclusion),
        "next_inspection_date": pl.select(pl.when(pl.Series(conclusion < 2)).then(nxt.cast(pl.String))).to_series(),
        "inspection_agency": pick([a for a, _, _ in vocab.EQUIPMENT_AGENCIES], agency),
    }).with_columns(_file="special_equipment_" + pl.col("inspection_date").str.slice(0, 4) + ".jsonl")
    return FeedData(finish(frame, ["_file", "__day", "report_no"]))


# ------------------------------------------------------------------------------------------------ food sampling
def build_food_sampling(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    k = max(1, ctx.count("food_samples"))
    subj = _draw(ctx, k, {"C13": 6.0, "C14": 6.0, "H62": 2.0, "F52": 2.0, "F51": 1.0, "H61": 0.5, "A01": 0.5},
                 kinds=(ENTERPRISE, SOLE_TRADER), kind_weight={SOLE_TRADER: 0.3}, risk_power=0.5)
    day = ctx.event_days(subj, min_age_days=30, end_day=ctx.ref_day - 60)
    published = day + rng.integers(20, 46, k)
    kind = ctx.attr("kind")[subj]
    industry = ctx.attr("industry_code")[subj].astype(str)
    # producers are sampled for what they make; shops and restaurants for what they sell or cook
    foods = vocab.FOODS
    food = np.zeros(k, dtype=np.int64)
    for ind in np.unique(industry):
        pos = np.flatnonzero(industry == ind)
        w = [f[3].get(ind, f[3].get("*", 0.0)) for f in foods]
        food[pos] = weighted_index(rng, w, len(pos))
    risk = ctx.attr("risk")[subj]
    p_fail = np.clip(0.03 * risk / ctx.attr("risk")[: ctx.n_registry].mean() * np.where(kind == SOLE_TRADER, 1.5, 1.0),
                     0.0, 0.4)
    fail = rng.random(k) < p_fail
    lab = weighted_index(rng, [w for _, w in vocab.FOOD_LABS], k)
    year2 = pl.Series(year_of(day) % 100).cast(pl.String).str.zfill(2)
    seq = (pl.DataFrame({"y": year_of(day), "d": day, "i": np.arange(k)}).sort(["y", "d", "i"])
           .with_columns(s=pl.int_range(pl.len()).over("y") + 1).sort("i")["s"])
    division = pl.Series(ctx.attr("division_code")[subj].astype(str))
    sample_no = pl.select(pl.concat_str([pl.lit("DC"), year2, division, pl.lit("0"),
                                         seq.cast(pl.String).str.zfill(6)])).to_series()
    subj = ctx.swap_unknown(subj)
    e = ctx.take(subj, ["uscc", "entity_name"])
    frame = pl.DataFrame({
        "__day": day, "_ent": subj,
        "sample_no": sample_no, "entity_name": e["entity_name"], "uscc": e["uscc"],
        "food_name": pick([f[0] for f in foods], food), "food_category": pick([f[1] for f in foods], food),
        "sampling_date": date_str(day),
        "result": pl.Series(np.where(fail, "不合格", "合格").tolist(), dtype=pl.String),
        "failed_items": pl.select(pl.when(pl.Series(fail)).then(pick([f[2] for f in foods], food))).to_series(),
        "lab_name": pick([name for name, _ in vocab.FOOD_LABS], lab),
        "published_date": date_str(published),
    }).with_columns(_file="food_sampling_" + pl.col("sampling_date").str.slice(0, 4) + ".csv")
    return FeedData(finish(frame, ["_file", "__day", "sample_no"]))


# ------------------------------------------------------------------------------------------------ education
def build_training_institutions(ctx: FeedContext) -> FeedData:
    """Black and white lists in batches (two a year since the 2021 双减 policy). An institution is on at most one
    list per batch; blacklisting follows risk."""
    rng = ctx.rng
    n = ctx.n_registry
    kind = ctx.attr("kind")[:n]
    industry = ctx.ents["industry_code"].head(n).to_numpy().astype(str)
    est = ctx.attr("est_day")[:n]
    pool = np.flatnonzero((kind == ENTERPRISE) & np.isin(industry, ["P83", "R88"]))
    share = ctx.volume("training_list_share")
    # fixed per institution: what it teaches and its school licence (arts and sports clubs often have none)
    cat_idx = np.where(industry[pool] == "P83", weighted_index(rng, [5, 0, 2, 3], len(pool)),
                       weighted_index(rng, [0, 5, 4, 1], len(pool)))
    has_licence = rng.random(len(pool)) < np.where(industry[pool] == "P83", 0.95, 0.5)
    division = ctx.attr("division_code")[pool].astype(str)
    licence = np.array([f"教民{d}70{i + 1:05d}号" if h else None
                        for i, (d, h) in enumerate(zip(division, has_licence))], dtype=object)
    name, _, _ = _authority("education")
    frames, titles = [], {}
    start_year = max(2022, ctx.reference_date.year - int(ctx.scale["history_years"]) + 1)
    for y in range(start_year, ctx.reference_date.year + 1):
        for b, (month, mday) in enumerate(((3, 15), (9, 10)), start=1):
            bday = days(date(y, month, mday))
            if bday > ctx.ref_day or len(pool) == 0:
                continue
            ok = np.flatnonzero(est[pool] <= bday - 90)
            if len(ok) == 0:
                continue
            risk = ctx.attr("risk")[pool[ok]]
            black = rng.random(len(ok)) < np.clip(0.04 * risk / risk.mean(), 0.0, 0.5)
            white = ~black & (rng.random(len(ok)) < share)
            pick_pos = np.flatnonzero(black | white)
            subj = pool[ok[pick_pos]]
            is_black = black[pick_pos]
            m = len(subj)
            reason = np.where(is_black, pick(vocab.TRAINING_BLACKLIST_REASONS,
                                             rng.integers(0, len(vocab.TRAINING_BLACKLIST_REASONS), m)).to_numpy(),
                              None)
            fname = f"training_institutions_{y}_{b}.xlsx"
            titles[fname] = f"泰安市校外培训机构黑白名单（{y}年第{b}批）"
            subj_out = ctx.swap_unknown(subj)
            e = ctx.take(subj_out, ["uscc", "entity_name"])
            frames.append(pl.DataFrame({
                "_ent": subj_out, "entity_name": e["entity_name"], "uscc": e["uscc"],
                "school_licence_no": _strs(licence[ok[pick_pos]]),
                "training_category": pick(vocab.TRAINING_CATEGORIES, cat_idx[ok[pick_pos]]),
                "list_type": pl.Series(np.where(is_black, "黑名单", "白名单").tolist(), dtype=pl.String),
                "reason": _strs(reason), "batch_no": pl.Series([f"{y}年第{b}批"] * m, dtype=pl.String),
                "published_date": pl.Series([date(y, month, mday).isoformat()] * m, dtype=pl.String),
                "authority_name": pl.Series([name] * m, dtype=pl.String), "_file": pl.Series([fname] * m),
            }, schema_overrides={"_ent": pl.Int64}))
    if not frames:
        raise ValueError("education_training_institutions: no training institution in the registry")
    frame = pl.concat(frames)
    # blacklist first, as the announcements print it; a swapped-in phantom must not repeat a (batch, uscc) key
    frame = frame.sort(["_file", "list_type", "uscc"], descending=[False, True, False]).unique(
        ["_file", "uscc"], keep="first", maintain_order=True)
    return FeedData(frame, titles)


# ------------------------------------------------------------------------------------------------ public security
def build_blasting_units(ctx: FeedContext) -> FeedData:
    """The register of blasting-unit licences: each unit's licences (3 years each), the current one last. Units
    founded before the USCC reform are often still listed by registration number only."""
    rng = ctx.rng
    k = max(1, ctx.count("blasting_units"))
    units = np.sort(_draw(ctx, k, {"E47": 3.0, "C30": 4.0, "C26": 1.0}, risk_power=0.0, replace=False))
    m = len(units)
    commercial = np.isin(ctx.attr("industry_code")[units].astype(str), ["E47"]) | (rng.random(m) < 0.2)
    grade = np.where(commercial, weighted_index(rng, [5, 15, 40, 40], m), -1)
    first = np.maximum(ctx.attr("est_day")[units] + 180 + rng.integers(0, 365, m), ctx.start_day - 3 * 365)
    risk = ctx.attr("risk")[units]
    u = rng.random(m)
    p_bad = np.clip(0.04 * risk / risk.mean(), 0.0, 0.5)
    final_status = np.where(u < p_bad * 0.4, "吊销", np.where(u < p_bad, "暂扣", "有效"))
    legacy = rng.random(m) < 0.4
    name, _, _ = _authority("psb")
    rows = []
    for j in range(m):
        issue = int(first[j])
        period = 0
        while issue <= ctx.ref_day:
            period += 1
            nxt = issue + 3 * 365
            current = nxt > ctx.ref_day
            rows.append((j, issue, period, final_status[j] if current else "注销"))
            issue = nxt
    idx = np.array([r[0] for r in rows], dtype=np.int64)
    issue = np.array([r[1] for r in rows], dtype=np.int64)
    subj = ctx.swap_unknown(units[idx])
    e = ctx.take(subj, ["uscc", "registration_no", "entity_name", "division_code", "est_day"])
    regno = e["registration_no"]
    # only registered units: a phantom (unknown_entity) keeps its USCC so the ground truth can name it
    old = (pl.Series(legacy[idx]) & regno.is_not_null() & (e["est_day"] < days(REGNO_ERA_END))
           & pl.Series(subj < ctx.n_registry))
    licence_no = (e["division_code"] + pl.Series(np.where(commercial[idx], "1", "2").tolist())
                  + pl.Series(idx + 1).cast(pl.String).str.zfill(5) + pl.Series([r[2] for r in rows]).cast(pl.String).str.zfill(2))
    d = pl.Series(issue, dtype=pl.Int32).cast(pl.Date)
    frame = pl.DataFrame({
        "__day": issue, "_ent": subj, "entity_name": e["entity_name"],
        "uscc": pl.select(pl.when(~old).then(e["uscc"])).to_series(),
        "registration_no": pl.select(pl.when(old).then(regno)).to_series(),
        "licence_no": licence_no,
        "unit_category": pl.Series(np.where(commercial[idx], "营业性", "非营业性").tolist(), dtype=pl.String),
        "qualification_grade": _strs([None if g < 0 else ["一级", "二级", "三级", "四级"][g] for g in grade[idx]]),
        "issue_date": date_str(issue),
        "valid_to": pl.select(d.dt.offset_by("3y").dt.offset_by("-1d").cast(pl.String)).to_series(),
        "licence_status": pl.Series([r[3] for r in rows], dtype=pl.String),
        "authority_name": pl.Series([name] * len(rows), dtype=pl.String),
        "_file": pl.Series([f"blasting_units_{ctx.reference_date:%Y%m}.csv"] * len(rows)),
    })
    return FeedData(finish(frame, ["licence_no"]))


# ------------------------------------------------------------------------------------------------ honours
def build_contract_credit(ctx: FeedContext) -> FeedData:
    """守合同重信用 enterprises, announced every two years for the two years before (active enterprises of 3 years'
    standing, the least risky ones most likely)."""
    rng = ctx.rng
    n = ctx.n_registry
    kind = ctx.attr("kind")[:n]
    est = ctx.attr("est_day")[:n]
    active = ctx.ents["status"].head(n).is_in(["存续", "在业"]).to_numpy()
    name, abbr, _ = _authority("honours")
    share = ctx.volume("contract_credit_share")
    frames = []
    first = ctx.reference_date.year - int(ctx.scale["history_years"]) + 1
    for y in range(first + (first % 2 == 0), ctx.reference_date.year + 1, 2):  # odd years: 2019, 2021, …
        pub = date(y + 1, 6, 10)
        if pub > ctx.reference_date:
            continue
        pool = np.flatnonzero((kind == ENTERPRISE) & active & (est <= days(date(y - 3, 12, 31))))
        if len(pool) == 0:
            continue
        w = ctx.attr("risk")[pool] ** -2.0
        m = max(1, int(round(share * len(pool))))
        subj = np.sort(pool[rng.choice(len(pool), size=min(m, len(pool)), replace=False, p=w / w.sum())])
        subj = ctx.swap_unknown(subj)
        e = ctx.take(subj, ["uscc", "entity_name"])
        m = len(subj)
        frames.append(pl.DataFrame({
            "_ent": subj, "entity_name": e["entity_name"], "uscc": e["uscc"],
            "honour_type": pl.Series(["守合同重信用企业"] * m, dtype=pl.String),
            "recognition_year": pl.Series([str(y)] * m, dtype=pl.String),
            "announcement_no": pl.Series([f"{abbr}合〔{y + 1}〕{int(rng.integers(5, 40))}号"] * m, dtype=pl.String),
            "published_date": pl.Series([pub.isoformat()] * m, dtype=pl.String),
            "valid_to": pl.Series([date(y + 3, 6, 9).isoformat()] * m, dtype=pl.String),
            "authority_name": pl.Series([name] * m, dtype=pl.String),
            "_file": pl.Series([f"contract_credit_{y}.csv"] * m),
        }))
    if not frames:
        raise ValueError("honours_contract_credit: no announcement falls inside the history window")
    frame = pl.concat(frames).unique(["_file", "uscc"], keep="first", maintain_order=True)
    return FeedData(frame.sort(["_file", "uscc"]))


# ------------------------------------------------------------------------------------------------ inspection follow-up
INSPECTIONS = "samr_inspection_results"
NO_ISSUE, UNREACHABLE = vocab.INSPECTION_RESULTS[0][0], vocab.INSPECTION_RESULTS[3][0]
# partner departments of joint inspections (一业一查) that sometimes make the follow-up themselves
FOLLOW_UP_PARTNERS = {"housing": "住房和城乡建设局", "psb": "公安局", "education": "教育局", "hrss": "人力资源和社会保障局"}


def build_inspection_followups(ctx: FeedContext) -> FeedData:
    """Follow-up surveys (抽查回访) of the city's own random inspections, so every survey names a real task and entity.
    An inspection that found an issue is followed up on its rectification (an entity unreachable at its address
    cannot be visited); a share of clean ones is surveyed for satisfaction only (无需整改). Riskier entities leave
    more issues unrectified. Surveys not yet due by the reference date are not sent."""
    rng = ctx.rng
    res = ctx.built[INSPECTIONS]
    n = res.height
    inspected = res["inspection_date"].str.to_date().cast(pl.Int32).to_numpy().astype(np.int64)
    result = res["result"].to_numpy().astype(str)
    issue = result != NO_ISSUE
    surveyed = np.where(issue, result != UNREACHABLE, rng.random(n) < ctx.volume("inspection_followup_share"))
    day = inspected + rng.integers(30, 91, n)
    keep = surveyed & (day <= ctx.ref_day)
    risk = ctx.attr("risk")[res["_ent"].to_numpy()]
    p_not = np.clip(0.06 * risk / ctx.attr("risk")[: ctx.n_registry].mean(), 0.0, 0.6)
    u = rng.random(n)
    rectification = np.where(~issue, "无需整改", np.where(u < p_not, "未整改", np.where(u < p_not + 0.1, "部分整改",
                                                                                          "已整改")))
    satisfaction = np.array(["满意", "基本满意", "不满意"], dtype=object)[weighted_index(rng, [75.0, 20.0, 5.0], n)]
    satisfaction[rng.random(n) < 0.2] = None  # the entity declined to answer
    partner = rng.random(n) < 0.1
    partner_key = np.array(list(FOLLOW_UP_PARTNERS), dtype=object)[rng.integers(0, len(FOLLOW_UP_PARTNERS), n)]
    department = np.where(partner, np.array([FOLLOW_UP_PARTNERS[k] for k in partner_key], dtype=object),
                          "市场监督管理局")
    authority = np.where(partner, np.array([vocab.DEPARTMENT_AUTHORITIES[k][1] for k in partner_key], dtype=object),
                         res["authority_name"].to_numpy())
    frame = pl.DataFrame({
        "__day": day, "_ent": res["_ent"], "task_id": res["task_id"], "uscc": res["uscc"],
        "entity_name": res["entity_name"], "follow_up_date": date_str(day),
        "rectification": pl.Series(rectification.tolist(), dtype=pl.String),
        "satisfaction": pl.Series(satisfaction.tolist(), dtype=pl.String),
        "department": pl.Series(department.tolist(), dtype=pl.String),
        "authority_name": pl.Series(authority.tolist(), dtype=pl.String),
    }).filter(pl.Series(keep))
    year = pl.col("follow_up_date").str.slice(0, 4)
    frame = frame.sort(["__day", "task_id", "uscc"]).with_columns(
        survey_no=pl.format("HF{}{}", year, pl.int_range(1, pl.len() + 1).over(year).cast(pl.String).str.zfill(6)),
        _file=pl.format("inspection_followups_{}.csv", year),
    )
    return FeedData(finish(frame, ["_file", "__day", "survey_no"]))


BUILDERS = {
    "hrss_wage_arrears_dishonest": build_wage_arrears,
    "housing_construction_penalties": build_housing_penalties,
    "medical_device_penalties": build_medical_device_penalties,
    "special_equipment_inspections": build_special_equipment,
    "food_safety_sampling": build_food_sampling,
    "education_training_institutions": build_training_institutions,
    "psb_blasting_units": build_blasting_units,
    "honours_contract_credit": build_contract_credit,
    "samr_inspection_followup": build_inspection_followups,
}
# Built after the feeds they read (the generator builds dependent feeds last and hands them the built frames).
DEPENDS_ON = {"samr_inspection_followup": (INSPECTIONS,)}
