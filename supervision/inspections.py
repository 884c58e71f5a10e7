"""Double-random, one-public inspection plans (双随机、一公开), stratified by credit risk class, merged per industry.

A plan draws, for every task, entities of the task's scope stratified by risk class (quota per class =
round_half_up(stratum size × base ratio × class multiplier), inspection_ratios.yaml); merges the entities that
several tasks drew within one industry scene into one joint inspection (一业一查, joint_inspection_industries.yaml);
and draws each participating department's inspectors from its roster, after recusal (回避). Every random number
comes from one numpy Generator(PCG64(seed)), consumed in a fixed order over inputs sorted by key, so the same seed,
inputs and warehouse give the same plan; the audit tables say for every draw which pool, how big, who was
excluded and why, and each candidate's random key.

Plans are immutable: <home>/supervision/inspections/<plan_id>/ (parquet + plan.json), plan_id derived from the
seed, as_of and the SHA-256 of every input, so re-planning the same thing finds the plan already there.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import polars as pl

from creditwh.errors import CreditwhError
from supervision import inspection_inputs as inputs

UNCLASSIFIED = "unclassified"
PLAN_TABLES = ("tasks", "strata", "entity_draws", "inspections", "inspector_candidates", "inspectors", "audit")


class InspectionPlanError(CreditwhError):
    """A plan cannot be drawn or found (the message says which task, inspection or department and why)."""


@dataclass(frozen=True)
class Plan:
    plan_id: str
    directory: Path
    meta: dict
    created: bool  # False: the same plan was already there

    def table(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.directory / f"{name}.parquet")


def plans_dir(home) -> Path:
    return home.root / "supervision" / "inspections"


# ------------------------------------------------------------------------------------------------ entity pool
def entity_pool(home, as_of: date | None = None) -> tuple[pl.DataFrame, date]:
    """Active entities (检查对象名录库) with their industry, division and risk class on as_of (the warehouse's index
    date by default; another day's class comes from index_history)."""
    from creditwh.warehouse import open_read_only

    with open_read_only(home.warehouse) as con:
        index_day = con.sql("select max(as_of_date) from fct_entity_credit_index").fetchall()[0][0]
        entities = con.sql("""
            select e.uscc, e.entity_name, e.entity_type, e.industry_code, e.division_code, i.risk_class
            from dim_entity e
            left join fct_entity_credit_index i on i.entity_uscc = e.uscc
            where e.is_active and e.uscc is not null""").pl()
    as_of = as_of or index_day
    if as_of != index_day:
        snapshot = home.index_history / f"as_of={as_of.isoformat()}" / "entity_credit_index.parquet"
        if not snapshot.is_file():
            raise InspectionPlanError(f"the warehouse's credit index is as of {index_day} and there is no snapshot "
                                      f"for {as_of} ({snapshot}): run `creditwh snapshot --as-of {as_of}` or plan "
                                      f"as of {index_day}")
        classes = pl.read_parquet(snapshot, columns=["entity_uscc", "risk_class"])
        entities = entities.drop("risk_class").join(classes.rename({"entity_uscc": "uscc"}), on="uscc", how="left")
    return entities.sort("uscc"), as_of


# ------------------------------------------------------------------------------------------------ the draw
def _round_half_up(n: int, ratio: float) -> int:
    return int((Decimal(n) * Decimal(repr(ratio))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _any_prefix(column: str, prefixes: list[str]) -> pl.Expr:
    return pl.any_horizontal([pl.col(column).str.starts_with(p) for p in prefixes]) if prefixes else pl.lit(True)


def _candidates(tasks: pl.DataFrame, pool: pl.DataFrame) -> pl.DataFrame:
    frames = []
    for task in tasks.iter_rows(named=True):
        scope = pool.filter(_any_prefix("industry_code", task["industry_codes"])
                            & _any_prefix("division_code", task["division_codes"]))
        frames.append(scope.with_columns(task_id=pl.lit(task["task_id"]), department=pl.lit(task["department"]),
                                         base_ratio=pl.lit(task["base_ratio"])))
    return pl.concat(frames).with_columns(stratum=pl.col("risk_class").fill_null(UNCLASSIFIED))


def _strata(candidates: pl.DataFrame, tasks: pl.DataFrame, rule: dict) -> pl.DataFrame:
    """Quota per (task, stratum), including empty strata, so the audit shows a class with nobody in it."""
    multipliers = rule["class_multipliers"] | {UNCLASSIFIED: rule["unclassified_multiplier"]}
    sizes = candidates.group_by("task_id", "stratum").len("pool_size")
    grid = tasks.select("task_id", "department", "base_ratio").join(
        pl.DataFrame({"stratum": list(multipliers), "multiplier": [float(m) for m in multipliers.values()]}),
        how="cross")
    strata = (grid.join(sizes, on=["task_id", "stratum"], how="left")
              .with_columns(pl.col("pool_size").fill_null(0).cast(pl.Int64),
                            ratio=pl.min_horizontal(pl.col("base_ratio") * pl.col("multiplier"),
                                                    pl.lit(float(rule["max_ratio"])))))
    quota = [min(n, _round_half_up(n, r)) for n, r in zip(strata["pool_size"], strata["ratio"])]
    return (strata.with_columns(quota=pl.Series(quota, dtype=pl.Int64),
                                uses_risk_class=pl.col("stratum") != UNCLASSIFIED)
            .sort("task_id", "stratum"))


def _scene_of(frame: pl.DataFrame, scene_frame: pl.DataFrame) -> pl.DataFrame:
    """The entity's industry scene: the longest scene code that prefixes its industry code."""
    ordered = scene_frame.with_columns(n=pl.col("scene_prefix").str.len_chars()).sort("n", "scene_prefix",
                                                                                       descending=[True, False])
    scene = pl.lit(None, dtype=pl.String)
    for row in reversed(list(ordered.iter_rows(named=True))):  # built inside-out: the longest prefix is tested first
        scene = pl.when(pl.col("industry_code").str.starts_with(row["scene_prefix"])).then(
            pl.lit(row["scene_id"])).otherwise(scene)
    leads = scene_frame.unique("scene_id").select("scene_id", "scene_name", "lead_department")
    return frame.with_columns(scene_id=scene).join(leads, on="scene_id", how="left")


def _inspections(drawn: pl.DataFrame, scene_frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    drawn = _scene_of(drawn, scene_frame).with_columns(
        merge_key=pl.coalesce(pl.lit("scene:") + pl.col("scene_id"), pl.lit("task:") + pl.col("task_id")))
    inspections = (drawn.group_by("uscc", "merge_key")
                   .agg(pl.col("entity_name", "industry_code", "division_code", "risk_class", "scene_id",
                               "scene_name", "lead_department").first(),
                        pl.col("department").unique().sort().alias("departments"),
                        pl.col("task_id").unique().sort().alias("task_ids"),
                        pl.col("uses_risk_class").all())
                   .sort("uscc", "merge_key"))
    scene_lead_present = pl.col("departments").list.contains(pl.col("lead_department"))
    inspections = inspections.with_columns(
        inspection_id=pl.format("INS-{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(6)),
        is_joint=pl.col("departments").list.len() > 1,
        lead_department=pl.when(scene_lead_present.fill_null(False)).then(pl.col("lead_department"))
        .otherwise(pl.col("departments").list.first()),
        lead_reason=pl.when(pl.col("departments").list.len() == 1).then(pl.lit("only department"))
        .when(scene_lead_present.fill_null(False)).then(pl.lit("industry regulator of the scene"))
        .otherwise(pl.lit("scene's regulator not taking part: first participating department")),
    ).drop("merge_key")
    drawn = drawn.join(inspections.explode("task_ids").select("inspection_id", "uscc", task_id="task_ids"),
                       on=["uscc", "task_id"], how="left").drop("merge_key", "scene_name", "lead_department")
    return inspections.select("inspection_id", pl.exclude("inspection_id")), drawn


def _inspector_needs(inspections: pl.DataFrame, rule: dict) -> pl.DataFrame:
    lead_k, partner_k, min_k = rule["lead_inspectors"], rule["partner_inspectors"], rule["min_inspectors"]
    return (inspections.select("inspection_id", "uscc", "division_code", "lead_department", "departments")
            .explode("departments").rename({"departments": "department"})
            .with_columns(n_departments=pl.len().over("inspection_id"))
            .with_columns(
                role=pl.when(pl.col("department") == pl.col("lead_department")).then(pl.lit("lead"))
                .otherwise(pl.lit("partner")),
                needed=pl.when(pl.col("department") == pl.col("lead_department"))
                .then(pl.max_horizontal(pl.lit(lead_k), pl.lit(min_k) - (pl.col("n_departments") - 1) * partner_k))
                .otherwise(pl.lit(partner_k)))
            .drop("lead_department", "n_departments")
            .rename({"division_code": "entity_division_code"}))


def draw(tasks: pl.DataFrame, rosters: pl.DataFrame, pool: pl.DataFrame, seed: int, as_of: date,
         ratio_rule: dict, scene_rule: dict, scene_frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The plan's tables. Pure: the same arguments give the same tables."""
    rng = np.random.Generator(np.random.PCG64(seed))

    # 1. entities, stratified by risk class
    candidates = _candidates(tasks, pool).sort("task_id", "uscc")
    strata = _strata(candidates, tasks, ratio_rule)
    candidates = (candidates.with_columns(random_key=pl.Series(rng.random(candidates.height), dtype=pl.Float64))
                  .join(strata.select("task_id", "stratum", "quota", "ratio", "pool_size", "uses_risk_class"),
                        on=["task_id", "stratum"])
                  .with_columns(draw_rank=pl.col("random_key").rank("ordinal").over("task_id", "stratum")
                                .cast(pl.Int64)))
    drawn = candidates.filter(pl.col("draw_rank") <= pl.col("quota")).sort("task_id", "stratum", "draw_rank")

    # 2. one inspection per entity and industry scene (一业一查)
    inspections, drawn = _inspections(drawn, scene_frame)

    # 3. inspectors of each participating department, after recusal
    needs = _inspector_needs(inspections, ratio_rule)
    missing = sorted(set(needs["department"]) - set(rosters["department"]))
    if missing:
        raise InspectionPlanError(f"no inspector roster for department(s) {', '.join(missing)}: "
                                  "every department with a task must send its roster")
    excluded_reason = (
        pl.when(pl.col("conflict_usccs").list.contains(pl.col("uscc")))
        .then(pl.lit("recusal: conflict of interest declared in the roster"))
        .when(pl.lit(bool(ratio_rule["recuse_home_division"]))
              & (pl.col("division_code") == pl.col("entity_division_code")))
        .then(pl.lit("recusal: the entity is in the inspector's own district"))
        .otherwise(pl.lit(None, dtype=pl.String)))
    inspector_candidates = (
        needs.join(rosters.drop("_source_row"), on="department")
        .with_columns(excluded_reason=excluded_reason)
        .sort("inspection_id", "department", "inspector_id")
        .drop("conflict_usccs"))
    inspector_candidates = inspector_candidates.with_columns(
        random_key=pl.Series(rng.random(inspector_candidates.height), dtype=pl.Float64))
    inspector_candidates = inspector_candidates.with_columns(
        draw_rank=pl.when(pl.col("excluded_reason").is_null())
        .then(pl.col("random_key").rank("ordinal").over("inspection_id", "department",
                                                        pl.col("excluded_reason").is_null()))
        .cast(pl.Int64)).with_columns(drawn=pl.col("draw_rank").fill_null(np.iinfo(np.int64).max)
                                      <= pl.col("needed"))
    pools = (inspector_candidates.group_by("inspection_id", "uscc", "department", "role", "needed")
             .agg(pool_size=pl.len().cast(pl.Int64), excluded=pl.col("excluded_reason").is_not_null().sum().cast(pl.Int64),
                  drawn=pl.col("drawn").sum().cast(pl.Int64),
                  excluded_reasons=pl.col("excluded_reason").drop_nulls().unique().sort().str.join("; "))
             .with_columns(eligible=pl.col("pool_size") - pl.col("excluded"))
             .sort("inspection_id", "department"))
    short = pools.filter(pl.col("eligible") < pl.col("needed"))
    if short.height:
        s = short.row(0, named=True)
        raise InspectionPlanError(
            f"{s['inspection_id']} ({s['uscc']}): department {s['department']} needs {s['needed']} inspectors but "
            f"only {s['eligible']} of its {s['pool_size']} on the roster may inspect this entity "
            f"({s['excluded']} recused: {s['excluded_reasons']}); {short.height} inspection(s) short in all: "
            "enlarge the roster or check the conflicts")
    inspectors = (inspector_candidates.filter("drawn")
                  .select("inspection_id", "department", "role", "inspector_id", "inspector_name", "division_code",
                          "draw_rank")
                  .sort("inspection_id", "department", "draw_rank"))

    audit = pl.concat([
        strata.select(draw_kind=pl.lit("entity"), draw=pl.col("task_id"), department=pl.col("department"),
                      pool=pl.format("entities in the scope of {}, class {}", "task_id", "stratum"),
                      pool_size="pool_size", excluded=pl.lit(0, dtype=pl.Int64), eligible="pool_size",
                      drawn="quota",
                      why=pl.format("round_half_up({} × {} × {}) = {}, at most the stratum", "pool_size",
                                    "base_ratio", "multiplier", "quota"),
                      excluded_reasons=pl.lit("", dtype=pl.String)),
        pools.select(draw_kind=pl.lit("inspector"), draw=pl.col("inspection_id"), department=pl.col("department"),
                     pool=pl.format("roster of {} ({})", "department", "role"), pool_size="pool_size",
                     excluded="excluded", eligible="eligible", drawn="drawn",
                     why=pl.format("{} inspector(s) for the {} department", "needed", "role"),
                     excluded_reasons="excluded_reasons"),
    ])
    entity_draws = drawn.select("task_id", "department", "uscc", "entity_name", "industry_code", "division_code",
                                "risk_class", "stratum", "pool_size", "ratio", "quota", "random_key", "draw_rank",
                                "uses_risk_class", "scene_id", "inspection_id")
    return {"tasks": tasks, "strata": strata, "entity_draws": entity_draws, "inspections": inspections,
            "inspector_candidates": inspector_candidates, "inspectors": inspectors, "audit": audit}


# ------------------------------------------------------------------------------------------------ indicators
def indicators(tables: dict[str, pl.DataFrame]) -> dict:
    inspections, strata = tables["inspections"], tables["strata"]
    n = inspections.height
    per_class = (strata.group_by("stratum")
                 .agg(pl.col("pool_size").sum().alias("pool"), pl.col("quota").sum().alias("drawn"),
                      (pl.col("pool_size") * pl.col("ratio")).sum().alias("expected"))
                 .with_columns(achieved_ratio=pl.when(pl.col("pool") > 0)
                               .then(pl.col("drawn").cast(pl.Float64) / pl.col("pool")),
                               target_ratio=pl.when(pl.col("pool") > 0).then(pl.col("expected") / pl.col("pool")))
                 .sort("stratum"))
    return {
        "inspections": n,
        "entity_draws": tables["entity_draws"].height,
        "joint_inspections": int(inspections["is_joint"].sum()),
        "joint_inspection_share": round(float(inspections["is_joint"].mean()), 4) if n else None,
        "risk_class_share": round(float(inspections["uses_risk_class"].mean()), 4) if n else None,
        "per_class": {r["stratum"]: {"pool": r["pool"], "drawn": r["drawn"],
                                     "target_ratio": None if r["target_ratio"] is None
                                     else round(r["target_ratio"], 6),
                                     "achieved_ratio": None if r["achieved_ratio"] is None
                                     else round(r["achieved_ratio"], 6)}
                      for r in per_class.iter_rows(named=True)},
    }


# ------------------------------------------------------------------------------------------------ plan files
def _plan_id(seed: int, as_of: date, fingerprints: dict) -> str:
    import hashlib

    text = json.dumps({"seed": seed, "as_of": as_of.isoformat(), **fingerprints}, sort_keys=True)
    return f"IP-{as_of:%Y%m%d}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def plan(tasks_file: Path, rosters_file: Path, home, seed: int, as_of: date | None = None,
         ratios_file: Path = inputs.RATIOS_FILE, scenes_file: Path = inputs.SCENES_FILE) -> Plan:
    """Draw a plan from the department files and the warehouse, and keep it (or find the identical one kept)."""
    import hashlib

    if not 0 <= seed < 2 ** 63:
        raise InspectionPlanError(f"seed {seed}: give a whole number from 0 to 2^63-1")
    tasks, rosters = inputs.read_tasks(Path(tasks_file)), inputs.read_rosters(Path(rosters_file))
    pool, as_of = entity_pool(home, as_of)
    ratio_rule = inputs.draw_rules(as_of, ratios_file)
    scene_rule, scene_frame = inputs.scenes(as_of, scenes_file)
    fingerprints = {
        "tasks": {"file": str(tasks_file), "sha256": inputs.file_sha256(tasks_file)},
        "rosters": {"file": str(rosters_file), "sha256": inputs.file_sha256(rosters_file)},
        "ratio_rule": {"file": str(ratios_file), "version": ratio_rule["version"],
                       "sha256": inputs.file_sha256(ratios_file)},
        "scene_rule": {"file": str(scenes_file), "version": scene_rule["version"],
                       "sha256": inputs.file_sha256(scenes_file)},
        "entity_pool": {"entities": pool.height, "classified": int(pool["risk_class"].is_not_null().sum()),
                        "sha256": hashlib.sha256(pool.write_csv().encode()).hexdigest()},
    }
    identity = {k: {f: v for f, v in fp.items() if f != "file"} for k, fp in fingerprints.items()}
    plan_id = _plan_id(seed, as_of, identity)
    target = plans_dir(home) / plan_id
    if (target / "plan.json").is_file():
        return Plan(plan_id, target, json.loads((target / "plan.json").read_text(encoding="utf-8")), created=False)

    tables = draw(tasks, rosters, pool, seed, as_of, ratio_rule, scene_rule, scene_frame)
    meta = {
        "plan_id": plan_id, "seed": seed, "rng": "numpy.random.Generator(PCG64(seed))", "as_of": as_of.isoformat(),
        "inputs": fingerprints,
        "counts": {"tasks": tasks.height, "candidates": int(tables["strata"]["pool_size"].sum()),
                   "entities_drawn": tables["entity_draws"].height, "inspections": tables["inspections"].height,
                   "joint_inspections": int(tables["inspections"]["is_joint"].sum()),
                   "inspectors_assigned": tables["inspectors"].height},
        "indicators": indicators(tables),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    staging = plans_dir(home) / f".tmp-{plan_id}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, frame in tables.items():
        frame.write_parquet(staging / f"{name}.parquet", compression="zstd")
    (staging / "plan.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for f in staging.iterdir():
        f.chmod(0o444)  # a drawn plan is a record: never edited in place
    try:
        os.rename(staging, target)
    except OSError:  # another run kept the same plan first
        shutil.rmtree(staging, ignore_errors=True)
        return Plan(plan_id, target, json.loads((target / "plan.json").read_text(encoding="utf-8")), created=False)
    return Plan(plan_id, target, meta, created=True)


def load_plan(home, plan_id: str) -> Plan:
    target = plans_dir(home) / plan_id
    if "/" in plan_id or not (target / "plan.json").is_file():
        known = list_plans(home)
        raise InspectionPlanError(f"no inspection plan {plan_id!r} in {plans_dir(home)}"
                                  + (f" (plans: {', '.join(p.plan_id for p in known)})" if known else
                                     " (none yet: `creditwh inspections plan`)"))
    return Plan(plan_id, target, json.loads((target / "plan.json").read_text(encoding="utf-8")), created=False)


def list_plans(home) -> list[Plan]:
    root = plans_dir(home)
    found = sorted(p for p in root.glob("IP-*") if (p / "plan.json").is_file()) if root.is_dir() else []
    return [Plan(p.name, p, json.loads((p / "plan.json").read_text(encoding="utf-8")), created=False)
            for p in found]


def audit(plan: Plan, uscc: str | None = None) -> dict[str, pl.DataFrame]:
    """The plan's draws, or for one entity: the tasks that drew it, its inspection, and every inspector
    candidate of that inspection (drawn, passed over, or recused and why)."""
    if uscc is None:
        return {"audit": plan.table("audit")}
    uscc = uscc.strip().upper()
    draws = plan.table("entity_draws").filter(pl.col("uscc") == uscc)
    if draws.is_empty():
        raise InspectionPlanError(f"{uscc} was not drawn in plan {plan.plan_id}")
    ids = draws["inspection_id"].unique()
    return {
        "entity_draws": draws,
        "inspections": plan.table("inspections").filter(pl.col("inspection_id").is_in(ids.implode())),
        "inspector_candidates": plan.table("inspector_candidates").filter(pl.col("inspection_id").is_in(
            ids.implode())).select("inspection_id", "department", "role", "inspector_id", "inspector_name",
                                   "excluded_reason", "random_key", "draw_rank", "drawn"),
    }
