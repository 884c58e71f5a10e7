"""One builder per feed: who the records are about, when, and what they say, as clean canonical columns.

Every builder returns a frame whose data columns carry the contract's canonical `name`s (writers rename them to the
`source` headers), all as strings in the canonical text form (ISO dates, amounts in 万元), plus bookkeeping columns:
`_ent` (row index into the entity frame, phantoms included) and `_file` (target file name; None for json_pages,
which are paged after defects are planted). Rows come sorted the way the department would export them.

Subjects are drawn in proportion to the entities' latent risk (see entities.py), and the unknown_entity defect is
applied here, at the subject level, so that a swapped-in phantom brings its own consistent name, type, legal
representative and registration number.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import polars as pl

from . import vocab
from .common import amount_str, date_str, days, pick, uniform_days, weighted_index, year_of
from .entities import COOPERATIVE, ENTERPRISE, SOLE_TRADER
from .identifiers import make_uscc

LONG_TERM = "2099/12/31"  # 双公示 convention for a licence without end date (domain.md §2)
CITY_BUREAU = 0  # index into vocab.BUREAUS


def bureau_usccs() -> list[str]:
    """Each bureau's USCC (prefix 11 = 机关). Fixed seed: the bureaus are the same city whatever the data seed."""
    rng = np.random.default_rng(370900)
    return [make_uscc("11", div, "".join(rng.choice(list("0123456789"), 8))) for div, _, _ in vocab.BUREAUS]


@dataclass
class FeedData:
    frame: pl.DataFrame
    titles: dict[str, str] = field(default_factory=dict)  # per file: title row above the header (xlsx)


@dataclass
class FeedContext:
    ents: pl.DataFrame
    n_registry: int
    reference_date: date
    scale: dict
    rng: np.random.Generator  # data stream of this feed
    drng: np.random.Generator  # defect stream of this feed (only the unknown_entity swap is used here)
    unknown_rate: float
    bureaus: list[str]
    built: dict[str, pl.DataFrame] = field(default_factory=dict)  # clean frames of feeds built earlier (repair.py)

    @property
    def ref_day(self) -> int:
        return days(self.reference_date)

    @property
    def start_day(self) -> int:
        return days(date(self.reference_date.year - int(self.scale["history_years"]) + 1, 1, 1))

    def volume(self, key: str) -> float:
        return float(self.scale["volumes"][key])

    def count(self, key: str) -> int:
        return int(round(self.volume(key) * self.n_registry))

    def attr(self, col: str) -> np.ndarray:
        return self.ents[col].to_numpy()

    def subjects(self, k: int, kinds=(ENTERPRISE, SOLE_TRADER, COOPERATIVE), risk_power: float = 1.0) -> np.ndarray:
        """k registry entities (with repeats) of the given kinds, drawn with probability ~ risk**risk_power."""
        kind = self.attr("kind")[: self.n_registry]
        eligible = np.flatnonzero(np.isin(kind, kinds))
        w = self.attr("risk")[eligible] ** risk_power
        return eligible[self.rng.choice(len(eligible), size=k, p=w / w.sum())]

    def swap_unknown(self, subj: np.ndarray) -> np.ndarray:
        """unknown_entity: replace a share of subjects by phantoms of the same kind (distinct ones where possible)."""
        k = int(round(self.unknown_rate * len(subj)))
        if k == 0:
            return subj
        out = subj.copy()
        pos = np.sort(self.drng.choice(len(subj), size=k, replace=False))
        kind = self.attr("kind")
        phantoms = np.arange(self.n_registry, len(kind))
        for kd in np.unique(kind[subj[pos]]):
            p = pos[kind[subj[pos]] == kd]
            cand = phantoms[kind[phantoms] == kd]
            if len(cand) == 0:  # no phantom of that kind: any phantom will do
                cand = phantoms
            out[p] = self.drng.choice(cand, size=len(p), replace=len(p) > len(cand))
        return out

    def take(self, subj: np.ndarray, cols: list[str]) -> pl.DataFrame:
        idx = pl.Series(subj, dtype=pl.Int64)
        return self.ents.select(pl.col(c).gather(idx) for c in cols)

    def event_days(self, subj: np.ndarray, min_age_days: int = 0, end_day: int | None = None) -> np.ndarray:
        """A day after the subject's establishment (+ min age) and the history start, up to end_day/reference."""
        est = self.attr("est_day")[subj]
        end = self.ref_day if end_day is None else end_day
        return uniform_days(self.rng, np.maximum(self.start_day, np.minimum(est + min_age_days, end)), end)

    @cached_property
    def city_registered(self) -> np.ndarray:
        """Entities registered by the city bureau (USCC positions 3-8 = the city's code)."""
        return (self.ents["uscc"].str.slice(2, 6) == vocab.CITY_CODE).to_numpy()

    def authority(self, subj: np.ndarray, p_city_city_registered: float, p_city_other: float) -> np.ndarray:
        """Deciding bureau: the city bureau (more often for city-registered enterprises) or the district bureau."""
        city_reg = self.city_registered[subj]
        p_city = np.where(city_reg, p_city_city_registered, p_city_other)
        district = self.attr("district")[subj].astype(np.int64)
        return np.where(self.rng.random(len(subj)) < p_city, CITY_BUREAU, district + 1)


# ------------------------------------------------------------------------------------------------ helpers
def decision_numbers(rng, authority: np.ndarray, day: np.ndarray, word: str | pl.Series) -> pl.Series:
    """Numbers like 泰市监处罚〔2024〕00123号: a per-(bureau, year) sequence in date order, with gaps (other
    decisions of the bureau share the sequence), so they are unique per authority."""
    n = len(day)
    year = year_of(day)
    frame = pl.DataFrame({"a": authority, "y": year, "d": day, "t": rng.random(n), "g": rng.integers(1, 4, n),
                          "i": np.arange(n)})
    seq = (frame.sort(["a", "y", "d", "t"]).with_columns(s=pl.col("g").cum_sum().over(["a", "y"]))
           .sort("i")["s"])
    abbr = pick([b[2] for b in vocab.BUREAUS], authority)
    word_s = word if isinstance(word, pl.Series) else pl.Series([word] * n)
    return pl.DataFrame({"abbr": abbr, "w": word_s, "y": pl.Series(year).cast(pl.String),
                         "s": seq.cast(pl.String).str.zfill(5)}).select(
        pl.concat_str(["abbr", "w", pl.lit("〔"), "y", pl.lit("〕"), "s", pl.lit("号")])).to_series()


def subject_category(kind: pl.Series) -> pl.Series:
    return pl.select(pl.when(kind == SOLE_TRADER).then(pl.lit("个体工商户"))
                     .otherwise(pl.lit("法人及非法人组织"))).to_series()


def finish(frame: pl.DataFrame, sort_by: list[str]) -> pl.DataFrame:
    """Sort like the department's export and drop the helper columns (those starting with '__')."""
    out = frame.sort(sort_by, maintain_order=True)
    return out.select([c for c in out.columns if not c.startswith("__")])


def offset(day_str: pl.Series, by: str) -> pl.Series:
    return day_str.str.to_date().dt.offset_by(by).cast(pl.String)


# ------------------------------------------------------------------------------------------------ registry
def build_registry(ctx: FeedContext) -> FeedData:
    n = ctx.n_registry
    cols = ["uscc", "registration_no", "entity_name", "entity_type", "legal_rep_name", "registered_capital_wan",
            "established_date", "status", "industry_code", "division_code", "address", "park", "est_day"]
    frame = ctx.ents.head(n).select(cols).with_columns(
        _ent=pl.int_range(n, dtype=pl.Int64), _file=pl.lit(f"registry_{ctx.reference_date:%Y%m%d}.csv"))
    # the registry system exports in order of establishment
    frame = frame.sort(["est_day", "uscc"]).drop("est_day")
    return FeedData(frame)


# ------------------------------------------------------------------------------------------------ penalties
# (CF_CFLB in 行政处罚法 Art. 9 order, weight, has fine, has confiscation, serious)
PENALTY_PATTERNS = [
    ("警告", 15.0, False, False, False),
    ("通报批评", 10.0, False, False, False),
    ("罚款", 50.0, True, False, False),
    ("警告;罚款", 8.0, True, False, False),
    ("罚款;没收违法所得", 10.0, True, True, False),
    ("罚款;没收违法所得;没收非法财物", 2.0, True, True, False),
    ("罚款;吊销许可证件", 1.5, True, False, True),
    ("罚款;责令停产停业", 1.5, True, False, True),
    ("责令关闭", 0.5, False, False, True),
    ("罚款;限制从业", 0.5, True, False, True),
    ("罚款;降低资质等级", 0.5, True, False, True),
    ("罚款;暂扣许可证件", 0.5, True, False, True),
]
_CONTENT_EXTRA = {"吊销许可证件": "吊销相关许可证件", "责令停产停业": "责令停产停业三个月", "责令关闭": "责令关闭",
                  "限制从业": "法定代表人五年内不得从事相关经营活动", "降低资质等级": "降低资质等级",
                  "暂扣许可证件": "暂扣相关许可证件六个月", "没收非法财物": "没收非法财物"}


def build_penalties(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    k = ctx.count("penalties")
    subj = ctx.subjects(k)
    day = ctx.event_days(subj, min_age_days=60)
    auth = ctx.authority(subj, 0.5, 0.15)
    subj = ctx.swap_unknown(subj)
    e = ctx.take(subj, ["kind", "uscc", "registration_no", "entity_name", "legal_rep_name"])

    pat = weighted_index(rng, [p[1] for p in PENALTY_PATTERNS], k)
    has_fine = np.array([p[2] for p in PENALTY_PATTERNS])[pat]
    has_conf = np.array([p[3] for p in PENALTY_PATTERNS])[pat]
    serious = np.array([p[4] for p in PENALTY_PATTERNS])[pat]
    # fines in 万元: median about 5,000 yuan, heavy tail, 0.05-200 万元, whole hundreds of yuan
    fine = np.clip(np.exp(rng.normal(np.log(0.5), 1.3, k)) * np.where(serious, 6.0, 1.0), 0.05, 200.0)
    fine = np.where(has_fine, np.round(fine, 2), np.nan)
    conf = np.where(has_conf, np.round(np.clip(np.exp(rng.normal(np.log(0.3), 1.2, k)), 0.01, 50.0), 2), np.nan)
    viol = weighted_index(rng, [v[3] for v in vocab.VIOLATIONS], k)

    cats = pick([p[0] for p in PENALTY_PATTERNS], pat)
    kind = e["kind"]
    legal_person = kind != SOLE_TRADER
    # Order 45 Art. 13: 通报批评 or a low fine -> shown 3 months; warnings are not shown; the rest 3 years
    low_threshold = np.where(legal_person.to_numpy(), 5.0, 0.5)
    low = np.isin(pat, [1, 2, 3]) & ~(np.nan_to_num(fine) >= low_threshold)
    decision = date_str(day)
    frame = pl.DataFrame({
        "__day": day, "_ent": subj,
        "subject_name": e["entity_name"],
        "subject_category": subject_category(kind),
        "uscc": e["uscc"],
        "registration_no": pl.select(pl.when(pl.Series(rng.random(k) < 0.5)).then(e["registration_no"])).to_series(),
        "legal_rep_name": pl.select(pl.when(legal_person).then(e["legal_rep_name"])).to_series(),
        "decision_no": decision_numbers(rng, auth, day, "处罚"),
        "violation_type": pick([v[0] for v in vocab.VIOLATIONS], viol),
        "violation_facts": pick([v[2] for v in vocab.VIOLATIONS], viol),
        "legal_basis": pick([v[1] for v in vocab.VIOLATIONS], viol),
        "penalty_categories": cats,
        "__fine_yuan": pl.Series(np.round(np.nan_to_num(fine) * 10000)).cast(pl.Int64).cast(pl.String),
        "__conf_yuan": pl.Series(np.round(np.nan_to_num(conf) * 10000)).cast(pl.Int64).cast(pl.String),
        "fine_amount_wan": amount_str(fine),
        "confiscated_amount_wan": amount_str(conf),
        "decision_date": decision,
        "__low": low, "__warn": pat == 0,
        "authority_name": pick([b[1] for b in vocab.BUREAUS], auth),
        "authority_uscc": pick(ctx.bureaus, auth),
        "source_unit_name": pl.Series([vocab.BUREAUS[CITY_BUREAU][1]] * k),
        "source_unit_uscc": pl.Series([ctx.bureaus[CITY_BUREAU]] * k),
    })
    c = pl.col("penalty_categories")
    parts = [
        pl.when(c.str.contains("警告")).then(pl.lit("警告")),
        pl.when(c.str.contains("通报批评")).then(pl.lit("通报批评")),
        pl.when(c.str.contains("罚款")).then("罚款人民币" + pl.col("__fine_yuan") + "元"),
        pl.when(c.str.contains("没收违法所得")).then("没收违法所得人民币" + pl.col("__conf_yuan") + "元"),
        *[pl.when(c.str.contains(key)).then(pl.lit(text)) for key, text in _CONTENT_EXTRA.items()],
    ]
    frame = frame.with_columns(
        penalty_content=pl.concat_str(parts, separator="；", ignore_nulls=True),
        valid_until=pl.when(pl.col("__warn")).then(None)
        .when(pl.col("__low")).then(offset(decision, "3mo"))
        .otherwise(offset(decision, "3y")),
        _file="penalties_" + pl.col("decision_date").str.slice(0, 4) + ".csv",
    )
    return FeedData(finish(frame, ["_file", "__day", "decision_no"]))


# ------------------------------------------------------------------------------------------------ licences
def build_licences(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    k = ctx.count("licences")
    types = vocab.LICENCE_TYPES
    # 设立登记 (type 0): exactly one per entity founded inside the history window, on its founding day
    est_all = ctx.attr("est_day")[: ctx.n_registry]
    founded = np.flatnonzero(est_all >= ctx.start_day)
    if len(founded) > k:
        founded = np.sort(rng.choice(founded, size=k, replace=False))
    others = ctx.subjects(k - len(founded), risk_power=0.0)  # later licences: any entity, uniformly
    subj = np.concatenate([founded, others])
    industry = ctx.attr("industry_code")[subj]
    # other licence types compatible with the subject's industry, by weight (one draw per industry group)
    ltype = np.zeros(len(subj), dtype=np.int64)
    codes, inverse = np.unique(industry[len(founded):].astype(str), return_inverse=True)
    for j, ind in enumerate(codes):
        pos = len(founded) + np.flatnonzero(inverse == j)
        w = np.array([0.0 if i == 0 else t[7] if (t[6] == "*" or ind in t[6].split(",")) else 0.0
                      for i, t in enumerate(types)])
        ltype[pos] = weighted_index(rng, w, len(pos))
    k = len(subj)
    day = np.where(ltype == 0, ctx.attr("est_day")[subj], ctx.event_days(subj))
    is_registration = ltype <= 1
    auth = np.where(is_registration, ctx.authority(subj, 0.95, 0.0), ctx.authority(subj, 0.4, 0.1))
    subj = ctx.swap_unknown(subj)
    e = ctx.take(subj, ["kind", "uscc", "entity_name", "legal_rep_name", "status", "division_code"])

    years = np.array([t[5] for t in types])[ltype]
    decision = date_str(day)
    # validity: N years from the decision day, minus one day (0 years = long-term)
    d = pl.Series(day, dtype=pl.Int32).cast(pl.Date)
    end = pl.select(d.dt.offset_by(pl.concat_str([pl.Series(years).cast(pl.String), pl.lit("y")]))
                    .dt.offset_by("-1d")).to_series()
    long_term = years == 0
    valid_to = pl.select(pl.when(pl.Series(long_term)).then(pl.lit(LONG_TERM)).otherwise(end.cast(pl.String))).to_series()
    expired = ~long_term & (end.fill_null(date(2099, 12, 31)).to_numpy() < np.datetime64(ctx.reference_date))
    dead = e["status"].is_in(["注销", "吊销"]).to_numpy() | expired | (rng.random(k) < 0.02)
    # the newer approval system writes 1/2, some bureaus still send 有效/无效 (both in the contract's codes)
    textual = rng.random(k) < 0.1
    status = np.where(dead, np.where(textual, "无效", "2"), np.where(textual, "有效", "1"))

    prefix = pick([t[3] for t in types], ltype)
    seq = pl.DataFrame({"p": prefix, "d": day, "t": rng.random(k), "i": np.arange(k)}).sort(["p", "d", "t"]) \
        .with_columns(s=pl.int_range(pl.len()).over("p") + 1).sort("i")["s"]
    licence_no = pl.select(
        pl.when(pl.Series(is_registration)).then(e["uscc"])  # a business licence's number is the USCC
        .otherwise(prefix + e["division_code"] + seq.cast(pl.String).str.zfill(7))).to_series()
    word = pick(["许可", "登记"], is_registration.astype(np.int64))
    kind = e["kind"]
    frame = pl.DataFrame({
        "__day": day, "_ent": subj,
        "subject_name": e["entity_name"],
        "subject_category": subject_category(kind),
        "uscc": e["uscc"],
        "legal_rep_name": pl.select(pl.when(kind != SOLE_TRADER).then(e["legal_rep_name"])).to_series(),
        "licence_document_name": pick([t[0] for t in types], ltype),
        "decision_no": decision_numbers(rng, auth, day, word),
        "licence_category": pick([t[2] for t in types], ltype),
        "certificate_name": pick([t[1] for t in types], ltype),
        "licence_no": licence_no,
        "licence_content": pick([t[4] for t in types], ltype),
        "decision_date": decision,
        "valid_from": decision,
        "valid_to": valid_to,
        "authority_name": pick([b[1] for b in vocab.BUREAUS], auth),
        "authority_uscc": pick(ctx.bureaus, auth),
        "licence_status": pl.Series(status.tolist(), dtype=pl.String),
    }).with_columns(_file="licences_" + pl.col("decision_date").str.slice(0, 4) + ".xlsx")
    return FeedData(finish(frame, ["_file", "__day", "decision_no"]))


# ------------------------------------------------------------------------------------------------ lists
def _list_events(ctx: FeedContext, subj, listing_day, reasons, removal_day, removal_action, removal_reason,
                 auth, word_list: str, word_removal: str) -> pl.DataFrame:
    """Listing rows plus, where removal_day is set (>= 0), a removal row with its own decision."""
    rng = ctx.rng
    removed = removal_day >= 0
    subj = ctx.swap_unknown(subj)
    e = ctx.take(subj, ["uscc", "entity_name"])
    auth_name = pick([b[1] for b in vocab.BUREAUS], auth)
    listing = pl.DataFrame({
        "__day": listing_day, "_ent": subj, "uscc": e["uscc"], "entity_name": e["entity_name"],
        "action": pl.Series(["列入"] * len(subj)), "reason": reasons,
        "decision_date": date_str(listing_day), "authority_name": auth_name,
        "decision_no": decision_numbers(rng, auth, listing_day, word_list),
    })
    r = np.flatnonzero(removed)
    removal = pl.DataFrame({
        "__day": removal_day[r], "_ent": subj[r], "uscc": e["uscc"].gather(r), "entity_name": e["entity_name"].gather(r),
        "action": removal_action.gather(r), "reason": removal_reason.gather(r),
        "decision_date": date_str(removal_day[r]), "authority_name": auth_name.gather(r),
        "decision_no": decision_numbers(rng, auth[r], removal_day[r], word_removal),
    })
    return pl.concat([listing, removal])


def build_abnormal_list(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    k = ctx.count("abnormal_listings")
    # 个体工商户 get an abnormal *status* mark, not a list entry (domain.md §3a)
    subj = ctx.subjects(k, kinds=(ENTERPRISE, COOPERATIVE))
    reason = weighted_index(rng, [r[2] for r in vocab.ABNORMAL_LISTING_REASONS], k)
    day = ctx.event_days(subj, min_age_days=365)
    # annual-report listings are decided in bulk after the 30 June deadline
    july_first = (year_of(day) - 1970).astype("datetime64[Y]").astype("datetime64[M]") + 6  # July of that year
    july = july_first.astype("datetime64[D]").astype(np.int64) + rng.integers(0, 45, k)
    use_july = (reason == 0) & (july >= ctx.start_day) & (july <= ctx.ref_day)
    day = np.where(use_july, july, day)
    # removal within a year or so for about the configured share (some would fall after the reference date)
    share = ctx.volume("abnormal_removal_share")
    rem = day + 7 + np.floor(rng.exponential(200.0, k)).astype(np.int64)
    removal_day = np.where((rng.random(k) < min(1.0, share * 1.15)) & (rem <= ctx.ref_day), rem, -1)
    auth = ctx.authority(subj, 0.6, 0.1)
    frame = _list_events(
        ctx, subj, day, pick([r[0] for r in vocab.ABNORMAL_LISTING_REASONS], reason), removal_day,
        pl.Series(["移出"] * k), pick([r[1] for r in vocab.ABNORMAL_LISTING_REASONS], reason), auth, "异列", "异移")
    frame = frame.with_columns(_file="abnormal_list_" + pl.col("decision_date").str.slice(0, 4) + ".csv")
    return FeedData(finish(frame, ["_file", "__day", "decision_no"]))


def build_serious_dishonest(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    k = max(1, ctx.count("serious_listings"))
    subj = ctx.subjects(k, kinds=(ENTERPRISE, COOPERATIVE), risk_power=2.0)
    reason = weighted_index(rng, [r[1] for r in vocab.SERIOUS_LISTING_REASONS], k)
    day = ctx.event_days(subj, min_age_days=365)
    age = ctx.ref_day - day
    # Order 44: normal removal after 3 years; early removal possible after 1 year (domain.md §3b)
    normal = (age >= 3 * 365 + 30) & (rng.random(k) < 0.6)
    early = ~normal & (age >= 365 + 30) & (rng.random(k) < 0.3)
    normal_day = day + 3 * 365 + rng.integers(0, 30, k)
    early_day = day + 365 + np.floor(rng.random(k) * np.minimum(age - 365, 400)).astype(np.int64)
    removal_day = np.where(normal, normal_day, np.where(early, early_day, -1))
    action = pl.Series(np.where(early, "提前移出", "移出").tolist(), dtype=pl.String)
    removal_reason = pl.Series(np.where(early, vocab.SERIOUS_EARLY_REMOVAL_REASON,
                                        vocab.SERIOUS_REMOVAL_REASON).tolist(), dtype=pl.String)
    auth = ctx.authority(subj, 0.9, 0.7)
    frame = _list_events(ctx, subj, day, pick([r[0] for r in vocab.SERIOUS_LISTING_REASONS], reason),
                         removal_day, action, removal_reason, auth, "严列", "严移")
    frame = frame.with_columns(_file=pl.lit("serious_dishonest.csv"))
    return FeedData(finish(frame, ["_file", "__day", "decision_no"]))


# ------------------------------------------------------------------------------------------------ inspections
def build_inspections(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    k = ctx.count("inspections")
    subj = ctx.subjects(k, risk_power=0.5)  # risk-classified sampling: riskier entities are drawn more often
    day = ctx.event_days(subj, min_age_days=30)
    auth = ctx.authority(subj, 0.4, 0.2)
    risk = ctx.attr("risk")[subj]
    p_issue = np.clip(0.15 * risk / ctx.attr("risk")[: ctx.n_registry].mean(), 0.0, 0.8)
    issue_type = 1 + weighted_index(rng, [w for _, w in vocab.INSPECTION_RESULTS[1:]], k)
    result = np.where(rng.random(k) < p_issue, issue_type, 0)
    subj = ctx.swap_unknown(subj)
    e = ctx.take(subj, ["uscc", "entity_name"])
    d = pl.Series(day, dtype=pl.Int32).cast(pl.Date)
    # one task per bureau and quarter: SSJ-370902-2024-03
    task = pl.concat_str([pl.lit("SSJ-"), pick([b[0] for b in vocab.BUREAUS], auth), pl.lit("-"),
                          d.dt.year().cast(pl.String), pl.lit("-"), d.dt.quarter().cast(pl.String).str.zfill(2)],
                         ).alias("t")
    frame = pl.DataFrame({
        "__day": day, "_ent": subj,
        "task_id": pl.select(task).to_series(),
        "entity_name": e["entity_name"], "uscc": e["uscc"],
        "inspection_date": date_str(day),
        "result": pick([r for r, _ in vocab.INSPECTION_RESULTS], result),
        "authority_name": pick([b[1] for b in vocab.BUREAUS], auth),
    })
    # key [task_id, uscc]: an entity is inspected at most once per task
    frame = frame.unique(["task_id", "_ent"], keep="first", maintain_order=True)
    frame = frame.with_columns(_file="inspections_" + pl.col("inspection_date").str.slice(0, 4) + ".csv")
    return FeedData(finish(frame, ["_file", "__day", "task_id"]))


# ------------------------------------------------------------------------------------------------ court
def build_court(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    k = max(1, ctx.count("court_debtors"))
    subj = ctx.subjects(k, kinds=(ENTERPRISE, SOLE_TRADER), risk_power=1.5)
    reg = ctx.event_days(subj, min_age_days=180, end_day=ctx.ref_day - 30)
    pub = np.minimum(reg + rng.integers(30, 181, k), ctx.ref_day)
    court = np.where(rng.random(k) < 0.1, 0, ctx.attr("district")[subj].astype(np.int64) + 1)
    year = year_of(reg)
    seq = pl.DataFrame({"c": court, "y": year, "d": reg, "g": rng.integers(1, 9, k), "i": np.arange(k)}) \
        .sort(["c", "y", "d"]).with_columns(s=pl.col("g").cum_sum().over(["c", "y"])).sort("i")["s"]
    case = pl.select(pl.concat_str([pl.lit("("), pl.Series(year).cast(pl.String), pl.lit(")"),
                                    pick([c for c, _ in vocab.COURTS], court), pl.lit("执"),
                                    seq.cast(pl.String), pl.lit("号")])).to_series()
    old = pub < ctx.ref_day - 365
    status = np.where(rng.random(k) < np.where(old, 0.4, 0.1), "0", "1")
    amount = np.round(np.exp(rng.normal(np.log(80000), 1.2, k)), -2).astype(np.int64)
    conduct = weighted_index(rng, [w for _, w in vocab.COURT_CONDUCTS], k)
    duty = pick(vocab.COURT_DUTIES, rng.integers(0, len(vocab.COURT_DUTIES), k))
    subj = ctx.swap_unknown(subj)
    e = ctx.take(subj, ["uscc", "entity_name", "legal_rep_name"])
    frame = pl.DataFrame({
        "__day": pub, "_ent": subj,
        "subject_name": e["entity_name"], "uscc": e["uscc"], "case_no": case,
        "court_name": pick([c for _, c in vocab.COURTS], court),
        "filing_date": date_str(reg), "publish_date": date_str(pub),
        "dishonest_conduct": pick([c for c, _ in vocab.COURT_CONDUCTS], conduct),
        "duty": duty + "人民币" + pl.Series(amount).cast(pl.String) + "元及利息",
        "performance": pl.Series(np.where(rng.random(k) < 0.85, "全部未履行", "部分未履行").tolist(), dtype=pl.String),
        "legal_rep_name": e["legal_rep_name"],
        "listing_status": pl.Series(status.tolist(), dtype=pl.String),
        "_file": pl.Series([None] * k, dtype=pl.String),  # pages are cut after the defects are planted
    })
    return FeedData(finish(frame, ["__day", "case_no"]))


# ------------------------------------------------------------------------------------------------ grades
def assessment_years(ref: date, n: int, publish_month: int) -> list[int]:
    """The last n assessment years already published by ref (year Y is published in publish_month of Y+1)."""
    latest = ref.year - 1 if ref >= date(ref.year, publish_month, 28) else ref.year - 2
    return list(range(latest - n + 1, latest + 1))


def _ranked_grades(rng, risk: np.ndarray, labels: list[str], shares: list[float], noise: float) -> np.ndarray:
    """Grades by rank of a noisy risk score, in exact shares (best grade to the lowest risk)."""
    n = len(risk)
    score = np.log(risk) + rng.normal(0.0, noise, n)
    order = np.argsort(score, kind="stable")
    bounds = np.round(np.cumsum(shares) / np.sum(shares) * n).astype(np.int64)
    grade_by_rank = np.searchsorted(bounds, np.arange(n), side="right")
    out = np.empty(n, dtype=object)
    out[order] = np.array(labels, dtype=object)[np.minimum(grade_by_rank, len(labels) - 1)]
    return out


def build_tax(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    kind = ctx.attr("kind")[: ctx.n_registry]
    est = ctx.attr("est_day")[: ctx.n_registry]
    active = ctx.ents["status"].head(ctx.n_registry).is_in(["存续", "在业"]).to_numpy()
    frames, titles = [], {}
    for y in assessment_years(ctx.reference_date, int(ctx.scale["tax_years"]), 4):
        subj = np.flatnonzero((kind == ENTERPRISE) & active & (est <= days(date(y, 12, 31))))
        n = len(subj)
        # M: enterprises new in the assessment year, topped up to about 15% (no revenue, etc.)
        new = est[subj] >= days(date(y, 1, 1))
        m = new | (rng.random(n) < max(0.0, 0.15 - new.mean()) / max(1e-9, 1 - new.mean()))
        grade = np.empty(n, dtype=object)
        grade[m] = "M"
        grade[~m] = _ranked_grades(rng, ctx.attr("risk")[subj[~m]], ["A", "B", "C", "D"], [20, 50, 10, 5], 0.8)
        day = days(date(y + 1, 4, 15)) + rng.integers(0, 10, n)
        subj = ctx.swap_unknown(subj)
        e = ctx.take(subj, ["uscc", "entity_name"])
        name = f"tax_grades_{y}.xlsx"
        titles[name] = f"{y}年度纳税信用等级评价结果"
        frames.append(pl.DataFrame({
            "_ent": subj, "uscc": e["uscc"], "entity_name": e["entity_name"],
            "assessment_year": pl.Series([str(y)] * n), "tax_grade": pl.Series(grade.tolist(), dtype=pl.String),
            "assessment_date": date_str(day), "_file": pl.Series([name] * n),
        }))
    frame = pl.concat(frames).sort(["_file", "uscc"])
    return FeedData(frame, titles)


ENV_GRADES = ["绿牌", "蓝牌", "黄牌", "红牌"]
ENV_GRADE_WORDS = {"绿牌": "环保诚信", "蓝牌": "环保良好", "黄牌": "环保警示", "红牌": "环保不良"}


def build_env(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    kind = ctx.attr("kind")[: ctx.n_registry]
    est = ctx.attr("est_day")[: ctx.n_registry]
    industry = ctx.ents["industry_code"].head(ctx.n_registry)
    ents = np.flatnonzero(kind == ENTERPRISE)
    # the environmental bureau rates polluting sectors: manufacturing, construction, environment services
    w = np.where(industry.str.contains(r"^(C|E|N)").to_numpy()[ents], 8.0, 1.0)
    m = int(round(ctx.volume("env_share") * len(ents)))
    rated = np.sort(ents[rng.choice(len(ents), size=min(m, len(ents)), replace=False, p=w / w.sum())])
    frames = []
    for y in assessment_years(ctx.reference_date, int(ctx.scale["env_years"]), 7):
        subj = rated[(est[rated] <= days(date(y, 12, 31))) & (rng.random(len(rated)) < 0.9)]
        n = len(subj)
        grade = _ranked_grades(rng, ctx.attr("risk")[subj], ENV_GRADES, [15, 60, 18, 7], 0.8)
        # some district offices write the descriptive names instead of the card colours
        wordy = rng.random(n) < 0.15
        grade = np.where(wordy, np.vectorize(ENV_GRADE_WORDS.get, otypes=[object])(grade), grade) if n else grade
        day = days(date(y + 1, 6, 10)) + rng.integers(0, 20, n)
        subj = ctx.swap_unknown(subj)
        e = ctx.take(subj, ["uscc", "entity_name"])
        frames.append(pl.DataFrame({
            "_ent": subj, "uscc": e["uscc"], "entity_name": e["entity_name"],
            "assessment_year": pl.Series([str(y)] * n), "env_grade": pl.Series(list(grade), dtype=pl.String),
            "published_date": date_str(day), "_file": pl.Series([f"env_grades_{y}.csv"] * n),
        }))
    return FeedData(pl.concat(frames).sort(["_file", "uscc"]))


BUILDERS = {
    "samr_entity_registry": build_registry,
    "samr_penalties": build_penalties,
    "samr_licences": build_licences,
    "samr_abnormal_list": build_abnormal_list,
    "samr_serious_dishonest": build_serious_dishonest,
    "samr_inspection_results": build_inspections,
    "court_dishonest_debtors": build_court,
    "tax_credit_grades": build_tax,
    "env_credit_grades": build_env,
}
