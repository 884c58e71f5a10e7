"""Credit repair (信用修复) feeds of the synthetic city, built on the city's own penalties so that applications and
notices name real decisions: applications with their decisions (samr_credit_repair) and the office's proactive
notices (samr_credit_repair_notices).

The waiting periods come from the warehouse's dated rule seeds (publicity_rules, penalty_severity_rules), so the
synthetic city follows the same rules the warehouse applies. Two defects only the warehouse can see (each row is
valid on its own) are planted here at small rates, and the warehouse flags them (int_credit_repair__applications):
  unknown_record          the application names a decision number no penalty feed holds (sequence 99xxxx, which
                          no bureau issues: decision numbers have five digits);
  decided_before_applied  the decision date precedes the application date.
"""
from __future__ import annotations

import re
from datetime import date

import numpy as np
import polars as pl

from .common import date_str, days, pick, year_of
from .config import PACKAGE_DIR
from .feeds import FeedContext, FeedData, finish

PENALTIES = "samr_penalties"
SEEDS_DIR = PACKAGE_DIR.parent / "dbt_project" / "seeds"  # the warehouse's dated rules, read as they are
# rates of the two planted defects (of the application rows); small, so the city's counts stay plausible
UNKNOWN_RECORD_RATE = 0.02
DECIDED_BEFORE_APPLIED_RATE = 0.02
REFUSAL_REASONS = ["未完全履行行政处罚决定规定的义务", "未满最短公示期", "一年内再次受到同类行政处罚"]
GRANT_REASON = "已履行法定义务、纠正违法行为并提交信用承诺书"
CHANNELS = ["短信", "电子邮件", "国家企业信用信息公示系统站内信"]


def _seed(name: str) -> pl.DataFrame:
    return pl.read_csv(SEEDS_DIR / f"{name}.csv", infer_schema_length=0)


def _repairable(pen: pl.DataFrame) -> pl.DataFrame:
    """Penalties of registered entities that are neither serious nor only a warning or a reprimand, with the day
    their repair may be applied for under the moderate rule in force on their decision date."""
    classes = _seed("penalty_severity_rules").filter(pl.col("rule_kind") == "category_class")
    serious = classes.filter(pl.col("category_class") == "serious")["penalty_category"].to_list()
    light = classes.filter(pl.col("category_class").is_in(["warning", "reprimand"]))["penalty_category"].to_list()
    rules = (_seed("publicity_rules").filter((pl.col("severity") == "moderate")
                                             & pl.col("repair_after_months").is_not_null())
             .select(pl.col("effective_from").str.to_date(), pl.col("effective_to").str.to_date(),
                     pl.col("repair_after_months").cast(pl.Int64)))
    cats = pl.col("penalty_categories").str.split(";")
    frame = pen.filter(pl.col("uscc").is_not_null()).with_columns(__decided=pl.col("decision_date").str.to_date())
    frame = frame.filter(~cats.list.eval(pl.element().is_in(serious)).list.any()
                         & ~cats.list.eval(pl.element().is_in(light)).list.all())
    months = pl.lit(None, dtype=pl.Int64)
    for row in rules.iter_rows(named=True):
        in_force = pl.col("__decided") >= pl.lit(row["effective_from"] or date.min)
        if row["effective_to"] is not None:
            in_force = in_force & (pl.col("__decided") <= pl.lit(row["effective_to"]))
        months = pl.when(in_force).then(pl.lit(row["repair_after_months"])).otherwise(months)
    frame = frame.with_columns(__months=months).filter(pl.col("__months").is_not_null())
    return frame.with_columns(
        __eligible=pl.col("__decided").dt.offset_by(pl.format("{}mo", pl.col("__months")))
    ).with_columns(__eligible_day=(pl.col("__eligible") - pl.lit(date(1970, 1, 1))).dt.total_days())


def _registered(ctx: FeedContext, frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("_ent") < ctx.n_registry)


def build_credit_repair(ctx: FeedContext) -> FeedData:
    rng = ctx.rng
    cand = _registered(ctx, _repairable(ctx.built[PENALTIES]))
    cand = cand.filter(pl.col("__eligible_day") <= ctx.ref_day - 30)
    k = int(round(ctx.volume("repair_application_share") * cand.height))
    chosen = cand.sample(n=k, seed=int(rng.integers(0, 2**31))).sort("decision_no")
    eligible = chosen["__eligible_day"].to_numpy()
    early = rng.random(k) < 0.1  # some apply before the waiting period is over, and are refused
    applied = np.where(early, eligible - rng.integers(10, 60, k), eligible + np.floor(rng.exponential(60.0, k)))
    applied = np.minimum(applied.astype(np.int64), ctx.ref_day)
    decided = applied + rng.integers(2, 12, k)
    granted = ~early & (rng.random(k) < 0.85)
    pending = decided > ctx.ref_day
    decision = np.where(pending, "审核中", np.where(granted, "准予修复", "不予修复"))
    reason_idx = np.where(early, 1, rng.integers(0, len(REFUSAL_REASONS), k))
    reason = pl.Series(np.where(pending, None, np.where(granted, GRANT_REASON,
                                                         np.array(REFUSAL_REASONS, dtype=object)[reason_idx])))
    decision_no = chosen["decision_no"]
    unknown = np.flatnonzero(rng.random(k) < UNKNOWN_RECORD_RATE)
    if unknown.size:
        fake = [re.sub(r"〕\d+号$", f"〕99{int(i) % 10000:04d}号", no)
                for no, i in zip(decision_no.gather(unknown).to_list(), unknown)]
        decision_no = decision_no.scatter(unknown, pl.Series(fake, dtype=pl.String))
    swapped = np.setdiff1d(np.flatnonzero((rng.random(k) < DECIDED_BEFORE_APPLIED_RATE) & ~pending), unknown)
    decided = decided.copy()
    decided[swapped] = applied[swapped] - rng.integers(1, 30, swapped.size)
    decided_str = date_str(np.where(pending, 0, decided))
    frame = pl.DataFrame({
        "__day": applied, "_ent": chosen["_ent"], "uscc": chosen["uscc"], "entity_name": chosen["subject_name"],
        "record_type": pl.Series(["行政处罚"] * k), "record_decision_no": decision_no,
        "applied_on": date_str(applied), "decision": pl.Series(decision),
        "decided_on": pl.select(pl.when(pl.Series(pending)).then(None).otherwise(decided_str)).to_series(),
        "authority_name": chosen["authority_name"], "authority_uscc": chosen["authority_uscc"],
        "reason": reason,
    })
    year = pl.Series(year_of(applied)).cast(pl.String)
    frame = frame.with_columns(year=year).sort(["__day", "record_decision_no"]).with_columns(
        application_no=pl.format("XF{}{}", pl.col("year"), pl.int_range(1, pl.len() + 1).over("year")
                                 .cast(pl.String).str.zfill(6)),
        _file=pl.format("credit_repair_{}.csv", pl.col("year")),
    ).drop("year")
    return FeedData(finish(frame, ["_file", "__day", "application_no"]))


def build_credit_repair_notices(ctx: FeedContext) -> FeedData:
    """Notices for penalties that became eligible for repair since SAMR Order 107 took effect (the proactive
    notice is an Order 107 practice), sent within a few days of eligibility for the configured share."""
    rng = ctx.rng
    order107 = _seed("publicity_rules").filter(pl.col("regime") == "samr_order_107")["effective_from"].min()
    start = days(date.fromisoformat(order107))
    cand = _registered(ctx, _repairable(ctx.built[PENALTIES]))
    cand = cand.filter((pl.col("__eligible_day") >= start) & (pl.col("__eligible_day") <= ctx.ref_day)).sort(
        "decision_no")
    n = cand.height
    sent = rng.random(n) < ctx.volume("repair_notice_share")
    notified = np.minimum(cand["__eligible_day"].to_numpy() + rng.integers(0, 8, n), ctx.ref_day)
    frame = pl.DataFrame({
        "__day": notified, "_ent": cand["_ent"], "uscc": cand["uscc"], "entity_name": cand["subject_name"],
        "record_type": pl.Series(["行政处罚"] * n), "record_decision_no": cand["decision_no"],
        "authority_uscc": cand["authority_uscc"], "repair_eligible_from": cand["__eligible"].cast(pl.String),
        "notified_on": date_str(notified), "channel": pick(CHANNELS, rng.integers(0, len(CHANNELS), n)),
    }).filter(pl.Series(sent))
    frame = frame.sort(["__day", "record_decision_no"]).with_columns(
        notice_no=pl.format("TZ{}-{}", pl.col("notified_on").str.replace_all("-", ""),
                            pl.int_range(1, pl.len() + 1).over("notified_on").cast(pl.String).str.zfill(4)),
        _file=pl.format("credit_repair_notices_{}.csv", pl.col("notified_on").str.slice(0, 7)),
    )
    return FeedData(finish(frame, ["_file", "__day", "notice_no"]))


# Built after the feeds they read (the generator builds DEPENDENT feeds last and hands them the built frames).
BUILDERS = {
    "samr_credit_repair": build_credit_repair,
    "samr_credit_repair_notices": build_credit_repair_notices,
}
DEPENDS_ON = {"samr_credit_repair": (PENALTIES,), "samr_credit_repair_notices": (PENALTIES,)}
