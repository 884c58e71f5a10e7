"""Double-random inspection plans: stratified counts per risk class known by hand, reproducible draws, recusal,
joint inspections across departments, indicators, and clear errors for bad department files."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from supervision import inspection_inputs as inputs
from supervision import inspections as ins
from tests.fixtures.cli import run as run_cli
from tests.fixtures.landing import make_uscc

AS_OF = date(2026, 11, 25)
CLASS_MIX = {"A": 40, "B": 30, "C": 20, "D": 10, None: 5}  # 105 catering (H62) entities


def constructed_pool(mix=CLASS_MIX, industry="H62", start=0) -> pl.DataFrame:
    classes = [c for c, n in mix.items() for _ in range(n)]
    return pl.DataFrame({
        "uscc": [make_uscc("91370900", f"{start + i:08d}") for i in range(len(classes))],
        "entity_name": [f"示例餐饮{start + i}有限公司" for i in range(len(classes))],
        "entity_type": ["enterprise"] * len(classes),
        "industry_code": [industry] * len(classes),
        "division_code": ["370902"] * len(classes),
        "risk_class": classes,
    }, schema_overrides={"risk_class": pl.String}).sort("uscc")


def tasks_frame(*tasks) -> pl.DataFrame:
    return pl.DataFrame([{"task_id": t, "department": d, "items": ["x"], "industry_codes": codes,
                          "division_codes": [], "base_ratio": r, "_source_row": i}
                         for i, (t, d, codes, r) in enumerate(tasks, start=1)],
                        schema_overrides={"division_codes": pl.List(pl.String)}).sort("task_id")


def roster(department: str, n: int, conflicts: dict[int, list[str]] | None = None, division="370911"):
    return [{"department": department, "inspector_id": f"{department[:2].upper()}{i:03d}", "inspector_name": f"检查员{i}",
             "division_code": division, "conflict_usccs": (conflicts or {}).get(i, []), "_source_row": i}
            for i in range(1, n + 1)]


def rosters_frame(*rows_lists) -> pl.DataFrame:
    return pl.DataFrame([r for rows in rows_lists for r in rows],
                        schema_overrides={"conflict_usccs": pl.List(pl.String)})


def draw(tasks, rosters, pool, seed=1, ratios_file=inputs.RATIOS_FILE):
    scene_rule, scene_frame = inputs.scenes(AS_OF)
    return ins.draw(tasks, rosters, pool, seed, AS_OF, inputs.draw_rules(AS_OF, ratios_file), scene_rule,
                    scene_frame)


MR = roster("market_regulation", 6)


def test_a_stratified_draw_takes_the_hand_computed_count_of_each_class():
    # base 10%, multipliers A 0.5 / B 1 / C 2 / D 4 / unclassified 1 (inspection_ratios.yaml ir1), half up:
    # A 40×0.05 = 2, B 30×0.1 = 3, C 20×0.2 = 4, D 10×0.4 = 4, unclassified 5×0.1 = 0.5 -> 1
    tables = draw(tasks_frame(("T1", "market_regulation", ["H62"], 0.1)), rosters_frame(MR), constructed_pool())
    drawn = dict(tables["entity_draws"].group_by("stratum").len().iter_rows())
    assert drawn == {"A": 2, "B": 3, "C": 4, "D": 4, "unclassified": 1}
    strata = {r["stratum"]: (r["pool_size"], r["quota"]) for r in tables["strata"].iter_rows(named=True)}
    assert strata == {"A": (40, 2), "B": (30, 3), "C": (20, 4), "D": (10, 4), "unclassified": (5, 1)}
    pool = constructed_pool()
    classes = dict(zip(pool["uscc"], pool["risk_class"]))
    assert all(classes[u] == (c if c != "unclassified" else None)
               for u, c in tables["entity_draws"].select("uscc", "stratum").iter_rows())
    # a stratum never gives more than it has: D at 40% × 4 = 160% draws all 10
    capped = draw(tasks_frame(("T1", "market_regulation", ["H62"], 0.4)), rosters_frame(MR), constructed_pool())
    assert dict(capped["entity_draws"].group_by("stratum").len().iter_rows())["D"] == 10

    ind = ins.indicators(tables)
    assert ind["inspections"] == 14 and ind["joint_inspections"] == 0
    assert ind["risk_class_share"] == round(13 / 14, 4)  # the unclassified entity was not drawn by its class
    assert ind["per_class"]["C"] == {"pool": 20, "drawn": 4, "target_ratio": 0.2, "achieved_ratio": 0.2}


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    args = (tasks_frame(("T1", "market_regulation", ["H62"], 0.1)), rosters_frame(MR), constructed_pool())
    first, again, other = draw(*args, seed=20261201), draw(*args, seed=20261201), draw(*args, seed=20261202)
    for name in ins.PLAN_TABLES:
        assert first[name].equals(again[name]), name
    assert set(first["entity_draws"]["uscc"]) != set(other["entity_draws"]["uscc"])
    # the numbers come from PCG64(seed): the first candidate's key is the generator's first draw
    import numpy as np

    key = np.random.Generator(np.random.PCG64(20261201)).random()
    first_candidate = constructed_pool()["uscc"][0]
    keys = first["entity_draws"].filter(pl.col("uscc") == first_candidate)["random_key"]
    assert keys.is_empty() or keys[0] == key


def test_an_inspector_with_a_conflict_is_never_drawn_for_that_entity():
    pool = constructed_pool({"D": 4})
    everyone = pool["uscc"].to_list()
    # base 100%: all four D entities are inspected; inspector 1 is in conflict with all of them, 2 with one
    rosters = rosters_frame(roster("market_regulation", 4, {1: everyone, 2: everyone[:1]}))
    for seed in range(20):
        tables = draw(tasks_frame(("T1", "market_regulation", ["H62"], 1.0)), rosters, pool, seed=seed)
        crews = tables["inspectors"].join(tables["inspections"].select("inspection_id", "uscc"), on="inspection_id")
        assert "MA001" not in crews["inspector_id"].to_list()
        assert crews.filter(pl.col("uscc") == everyone[0])["inspector_id"].sort().to_list() == ["MA003", "MA004"]
        assert crews.group_by("inspection_id").len()["len"].to_list() == [2] * 4
    candidates = tables["inspector_candidates"]
    recused = candidates.filter(pl.col("excluded_reason").is_not_null())
    assert recused.height == 4 + 1 and not recused["drawn"].any()
    assert set(recused["excluded_reason"]) == {"recusal: conflict of interest declared in the roster"}
    audit = tables["audit"].filter(pl.col("draw_kind") == "inspector")
    first = audit.filter(pl.col("draw") == tables["inspections"].filter(pl.col("uscc") == everyone[0])
                         ["inspection_id"][0]).row(0, named=True)
    assert (first["pool_size"], first["excluded"], first["eligible"], first["drawn"]) == (4, 2, 2, 2)


def test_a_roster_too_small_after_recusal_is_a_clear_error():
    pool = constructed_pool({"B": 3})
    rosters = rosters_frame(roster("market_regulation", 2, {2: pool["uscc"].to_list()[1:2]}))
    with pytest.raises(ins.InspectionPlanError, match=r"needs 2 inspectors but only 1 of its 2 on the roster") as e:
        draw(tasks_frame(("T1", "market_regulation", ["H62"], 1.0)), rosters, pool)
    assert pool["uscc"][1] in str(e.value) and "1 recused" in str(e.value)
    with pytest.raises(ins.InspectionPlanError, match="no inspector roster for department\\(s\\) education"):
        draw(tasks_frame(("T1", "education", ["H62"], 1.0)), rosters, pool)


def test_the_own_district_is_recused_when_the_dated_rule_says_so(tmp_path):
    rules = (inputs.RATIOS_FILE.read_text(encoding="utf-8")
             .replace("recuse_home_division: false", "recuse_home_division: true"))
    (tmp_path / "ratios.yaml").write_text(rules, encoding="utf-8")
    pool = constructed_pool({"C": 2})  # division 370902
    rosters = rosters_frame(roster("market_regulation", 2, division="370902"),
                            [r | {"inspector_id": f"X{i}"} for i, r in enumerate(roster("market_regulation", 2))])
    tables = draw(tasks_frame(("T1", "market_regulation", ["H62"], 1.0)), rosters, pool,
                  ratios_file=tmp_path / "ratios.yaml")
    assert set(tables["inspectors"]["inspector_id"]) == {"X0", "X1"}
    assert set(tables["inspector_candidates"]["excluded_reason"].drop_nulls()) == {
        "recusal: the entity is in the inspector's own district"}
    # the shipped rule does not recuse the own district
    default = draw(tasks_frame(("T1", "market_regulation", ["H62"], 1.0)), rosters, pool)
    assert default["inspector_candidates"]["excluded_reason"].null_count() == default["inspector_candidates"].height


def test_two_departments_tasks_on_one_industry_become_one_joint_inspection_per_entity():
    catering = constructed_pool({"B": 3})
    wholesale = constructed_pool({"B": 2}, industry="F51", start=100)
    tasks = tasks_frame(("PS-1", "public_security", ["H62"], 1.0), ("MR-1", "market_regulation", ["H62", "F51"], 1.0))
    tables = draw(tasks, rosters_frame(MR, roster("public_security", 3)), pl.concat([catering, wholesale]))
    inspections = tables["inspections"]
    assert tables["entity_draws"].height == 3 + 3 + 2 and inspections.height == 5  # 3 merged pairs + 2 alone
    joint = inspections.filter("is_joint")
    assert set(joint["uscc"]) == set(catering["uscc"]) and set(joint["scene_id"]) == {"catering"}
    assert joint["departments"].to_list() == [["market_regulation", "public_security"]] * 3
    assert set(joint["lead_department"]) == {"market_regulation"}  # the catering scene's regulator
    assert set(inspections.filter(~pl.col("is_joint"))["scene_id"]) == {"wholesale"}
    crews = tables["inspectors"].filter(pl.col("inspection_id").is_in(joint["inspection_id"].implode()))
    per_department = crews.group_by("inspection_id", "department", "role").len()
    assert sorted(set(per_department.select("department", "role", "len").iter_rows())) == [
        ("market_regulation", "lead", 2), ("public_security", "partner", 1)]
    assert ins.indicators(tables)["joint_inspection_share"] == 0.6


@pytest.mark.parametrize("body, where", [
    ("task_id,department,items,industry_codes,base_ratio\nT1,market_regulation,x,H62,0.03\n"
     "T2,market_regulation,x,H62,three percent\n", "row 2, field base_ratio"),
    ("task_id,department,items,industry_codes,base_ratio\nT1,,x,H62,0.03\n", "row 1, field department"),
    ("task_id,department,items,industry_codes,base_ratio\nT1,market_regulation,x,餐饮,0.03\n",
     "row 1, field industry_codes.0"),
    ("task_id,department,items,industry_codes,base_ratio\nT1,market_regulation,x,H62,1.5\n",
     "row 1, field base_ratio"),
    ("task_id,department,items,industry_codes,base_ratio,owner\nT1,market_regulation,x,H62,0.03,me\n",
     "row 1, field owner"),
    ("task_id,department,items,industry_codes,base_ratio\nT1,market_regulation,x,H62,0.03\n"
     "T1,public_security,x,H61,0.03\n", "row 2, field task_id"),
])
def test_a_malformed_task_file_is_an_error_naming_file_row_and_field(tmp_path, body, where):
    path = tmp_path / "tasks.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(inputs.InspectionInputError) as e:
        inputs.read_tasks(path)
    assert str(e.value).startswith(f"{path} {where}:"), str(e.value)


def test_rosters_are_read_from_yaml_and_a_bad_conflict_code_is_named(tmp_path):
    good = make_uscc("91370900", "00000001")
    path = tmp_path / "rosters.yaml"
    path.write_text(f"- {{department: education, inspector_id: ED1, inspector_name: 甲, conflict_usccs: [{good}]}}\n"
                    f"- {{department: education, inspector_id: ED2, inspector_name: 乙}}\n", encoding="utf-8")
    frame = inputs.read_rosters(path)
    assert frame["conflict_usccs"].to_list() == [[good], []]
    path.write_text(f"- {{department: education, inspector_id: ED1, inspector_name: 甲, "
                    f"conflict_usccs: ['{good[:-1]}{'1' if good[-1] != '1' else '2'}']}}\n", encoding="utf-8")
    with pytest.raises(inputs.InspectionInputError, match=r"rosters.yaml row 1, field conflict_usccs: .*check digit"):
        inputs.read_rosters(path)


# ------------------------------------------------------------------------------------------------ real warehouse
@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from creditwh.warehouse import build
    from tests.fixtures.landing import write_landing

    root = tmp_path_factory.mktemp("inspections")
    landing = write_landing(root / "landing")
    (root / "home" / "warehouse").mkdir(parents=True)
    build(landing, root / "home" / "warehouse" / "warehouse.duckdb", as_of=AS_OF)
    files = root / "files"
    files.mkdir()
    (files / "tasks.csv").write_text(
        "task_id,department,items,industry_codes,division_codes,base_ratio\n"
        "MR-2026-01,market_regulation,企业公示信息;登记事项,F51,,0.5\n"
        "PS-2026-01,public_security,治安管理,F51,3702,50%\n", encoding="utf-8")
    (files / "rosters.csv").write_text(
        "department,inspector_id,inspector_name,division_code,conflict_usccs\n"
        + "".join(f"market_regulation,MR{i},市监{i},370203,\n" for i in range(1, 5))
        + "".join(f"public_security,PS{i},公安{i},370203,\n" for i in range(1, 4)), encoding="utf-8")
    return root / "home", files


def run(capsys, home, *args):
    return run_cli(capsys, "inspections", *args, "--home", str(home))


def test_the_commands_plan_show_audit_and_measure_on_the_built_warehouse(home, capsys):
    root, files = home
    plan_args = ["plan", "--tasks", str(files / "tasks.csv"), "--rosters", str(files / "rosters.csv")]
    code, out, err = run(capsys, root, *plan_args, "--seed", "11", "--json")
    assert code == 0, err
    meta = json.loads(out)
    assert meta["created"] and meta["as_of"] == AS_OF.isoformat() and meta["seed"] == 11
    plan_dir = Path(meta["directory"])
    assert {p.name for p in plan_dir.iterdir()} == {f"{t}.parquet" for t in ins.PLAN_TABLES} | {"plan.json"}
    assert meta["inputs"]["tasks"]["sha256"] == inputs.file_sha256(files / "tasks.csv")

    again = json.loads(run(capsys, root, *plan_args, "--seed", "11", "--json")[1])
    assert (again["plan_id"], again["created"]) == (meta["plan_id"], False)
    other = json.loads(run(capsys, root, *plan_args, "--seed", "12", "--json")[1])
    assert other["plan_id"] != meta["plan_id"]

    plan = ins.load_plan(type("H", (), {"root": root})(), meta["plan_id"])
    pool = plan.table("strata").group_by("task_id").agg(pl.col("pool_size").sum())
    pool_size = dict(pool.iter_rows())
    assert pool_size["MR-2026-01"] == pool_size["PS-2026-01"] > 0  # the fixture's active F5123 entities
    inspections = plan.table("inspections")
    drawn_by_both = set(plan.table("entity_draws").group_by("uscc").len().filter(pl.col("len") == 2)["uscc"])
    assert set(inspections.filter("is_joint")["uscc"]) == drawn_by_both
    assert meta["indicators"]["risk_class_share"] == 1.0
    assert meta["counts"]["inspections"] == inspections.height == len(set(plan.table("entity_draws")["uscc"]))

    code, out, _ = run(capsys, root, "show", meta["plan_id"])
    assert code == 0 and inspections["inspection_id"][0] in out
    uscc = inspections["uscc"][0]
    audit = json.loads(run(capsys, root, "audit", meta["plan_id"], "--entity", uscc, "--json")[1])
    assert {d["uscc"] for d in audit["entity_draws"]} == {uscc}
    assert sum(c["drawn"] for c in audit["inspector_candidates"]) >= 2
    measured = json.loads(run(capsys, root, "indicators", "--json")[1])
    assert {m["plan_id"] for m in measured} == {meta["plan_id"], other["plan_id"]}

    (files / "bad.csv").write_text("task_id,department,items,industry_codes,base_ratio\nT1,tax,x,F51,-1\n",
                                   encoding="utf-8")
    code, out, err = run(capsys, root, "plan", "--tasks", str(files / "bad.csv"), "--rosters",
                         str(files / "rosters.csv"), "--seed", "1")
    assert code == 1 and "Traceback" not in out + err and "bad.csv row 1, field base_ratio" in err
    code, _, err = run(capsys, root, "show", "IP-20990101-000000000000")
    assert code == 1 and meta["plan_id"] in err
