"""Credit parks as configured zones, the park marts, the city composite index and the city report, on the fixture
landing (tests/fixtures/landing.py) whose registry is moved into the synthetic city's park zones
(supervision/rules/credit_parks.yaml) with known classes (tests/test_warehouse.py EXPECTED_INDEX, as of 2026-06-30).

The dbt unit tests park_membership_from_zone_rules_entity_list_and_dates,
city_index_normalisation_clamping_direction_and_dated_weights and city_index_composite_rescales_to_the_measured_weights
run inside the build below: a wrong answer there fails the fixture.
"""
from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pytest

from creditwh import stages
from creditwh.settings import DBT_PROJECT_DIR, Home
from creditwh.warehouse import open_read_only
from supervision import parks
from tests.fixtures import landing as fixture_landing
from tests.fixtures.cli import run
from tests.fixtures.landing import AS_OF, RUN_1, RUN_2, spoil, uscc, write_feed, write_landing

PAST = date(2026, 3, 31)  # E12 was still active (deregistered in run 2, 2026-05-02)

# code: (division, industry, the registry's park column) -> the zone each lands in (credit_parks.yaml)
REGISTRY = {
    "E01": ("370902", "H6110", "信用+旅游园区"),  # tourism by zone (泰山区 x H61), registry agrees
    "E02": ("370902", "R8810", None),             # tourism by zone (R), no registry park
    "E04": ("370902", "F5211", "信用+旅游园区"),  # registry says tourism; retail is not in the tourism zone
    "E03": ("370911", "F5211", "信用+贸易园区"),  # consumption by zone (岱岳区 x F52); registry: trade (贸易 spelling)
    "E05": ("370911", "H6210", None),             # consumption (H62)
    "E07": ("370911", "O8010", None),             # consumption (O80), a sole trader
    "E06": ("370982", "F5123", "信用+贸易园区"),  # trade (新泰市 x F51); the registry's 贸易 spelling = 商贸 park
    "E09": ("370983", "C1311", "信用+产业园区"),  # industry (肥城市 x C), registry agrees
    "E10": ("370983", "M7510", None),             # industry (M75)
    "E12": ("370983", "C3311", None),             # industry by zone, deregistered in run 2
    "E11": ("370983", "I6510", "青岛信用示范园"),  # no zone (I65); a registry park name no park is configured for
    "E08": ("370203", "F5123", None),             # another city: no park
}
# as of 2026-06-30 (tests/test_warehouse.py): E01 99 A, E02 93 A, E03 45 D, E04 67.5 C, E05 59 D, E06 90 A,
# E07 74 C, E08 90 A, E09 70 C, E10 51 D, E11 66 C; E12 deregistered (no index)


def write_park_landing(landing: Path) -> Path:
    write_landing(landing)
    stem = fixture_landing.FEEDS["samr_entity_registry"][0]
    for run in (RUN_1, RUN_2):
        records = fixture_landing._registry(run)
        for rec in records:
            for code, (division, industry, park) in REGISTRY.items():
                if rec["uscc"] == uscc(code):
                    rec.update(division_code=division, industry_code=industry, park=park)
        write_feed(landing, "samr_entity_registry", run, records, f"{stem}_{run[:8]}.csv")
    return landing


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("parks") / "home").ensure()
    write_park_landing(home.landing)
    stages.build(home, AS_OF)
    return home


@pytest.fixture(scope="module")
def con(home):
    with open_read_only(home.warehouse) as connection:
        yield connection


def code_of(usccs: str) -> str:
    return next(code for code in REGISTRY if uscc(code) == usccs)


# ------------------------------------------------------------------------------------------------ configuration
def test_the_committed_seeds_are_what_the_yaml_yields():
    assert parks.stale_seeds() == [], "run `creditwh parks --write-seeds` after editing credit_parks.yaml"
    loaded = parks.load_parks()
    assert [p["name"] for p in loaded] == ["信用+旅游园区", "信用+消费园区", "信用+商贸园区", "信用+产业园区"]


TOURISM_FROM = ("effective_from: 2023-01-01\n    effective_to: null\n    source: \"[U] themed credit park of the "
                "city's credit-system plan; zone assumed: 泰山区")


@pytest.mark.parametrize("changes, message", [
    ([("370902", "370902X")],
     r"park 'tourism', zone rule 'tourism_taishan_district': field 'divisions': '370902X' is not a 6-digit GB/T 2260"),
    # the consumption zone moved into 泰山区 with accommodation, which the tourism zone already covers
    ([('divisions: ["370911"]', 'divisions: ["370902"]'), ('industries: ["F52", "H62", "O80"]', 'industries: ["H61"]')],
     r"park 'tourism', zone rule 'tourism_taishan_district': overlaps zone rule 'consumption_daiyue_district' of "
     r"park 'consumption'"),
    ([(TOURISM_FROM, TOURISM_FROM.replace("2023-01-01", "2023-13-01"))],
     r"park 'tourism': field 'effective_from' must be a date YYYY-MM-DD, got '2023-13-01'"),
    ([('divisions: ["370983"]     # 肥城市\n        industries: ["C", "M75"]',
       "divisions: []\n        industries: []")],
     r"park 'industry', zone rule 'industry_feicheng_city': needs 'divisions' or 'industries'"),
])
def test_a_bad_park_configuration_names_file_park_and_field(tmp_path, changes, message):
    text = parks.PARKS_FILE.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    bad = tmp_path / "credit_parks.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(parks.ParkConfigError, match=message) as info:
        parks.load_parks(bad)
    assert str(bad) in str(info.value)


def test_an_entity_list_needs_valid_usccs(tmp_path):
    text = parks.PARKS_FILE.read_text(encoding="utf-8")
    listed = f"entities:\n      - {{uscc: {uscc('E01')}, effective_from: 2026-01-01, source: '[U] test'}}\n"
    good = tmp_path / "good.yaml"
    good.write_text(text.replace("entities: []\n", listed, 1), encoding="utf-8")
    rows = parks.seed_rows(parks.load_parks(good))[1]
    listed_rows = [(r["park_id"], r["uscc"], r["effective_from"]) for r in rows if r["rule_kind"] == "entity"]
    assert listed_rows == [("tourism", uscc("E01"), "2026-01-01")]
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("entities: []\n", listed.replace(uscc("E01"), spoil(uscc("E01"))), 1), encoding="utf-8")
    with pytest.raises(parks.ParkConfigError, match=r"park 'tourism', entity #1: field 'uscc': .* is not a valid"):
        parks.load_parks(bad)


# ------------------------------------------------------------------------------------------------ membership
def test_membership_comes_from_the_zones_and_is_reconciled_with_the_registry(con):
    got = {(park_id, code_of(entity)): (is_member, reconciliation, is_active, registry_park_id)
           for park_id, entity, is_member, reconciliation, is_active, registry_park_id in con.execute(
               "select park_id, entity_uscc, is_member, reconciliation, is_active, registry_park_id "
               "from fct_park_membership").fetchall()}
    assert got == {
        ("tourism", "E01"): (True, "agree", True, "tourism"),
        ("tourism", "E02"): (True, "zone_only", True, None),
        ("tourism", "E04"): (False, "registry_only", True, "tourism"),
        ("consumption", "E03"): (True, "zone_only", True, "trade"),
        ("trade", "E03"): (False, "registry_only", True, "trade"),
        ("consumption", "E05"): (True, "zone_only", True, None),
        ("consumption", "E07"): (True, "zone_only", True, None),
        ("trade", "E06"): (True, "agree", True, "trade"),
        ("industry", "E09"): (True, "agree", True, "industry"),
        ("industry", "E10"): (True, "zone_only", True, None),
        ("industry", "E12"): (True, "zone_only", False, None),
    }


def park_month(con, month_end: date) -> dict[str, dict]:
    cur = con.execute("select * from agg_park_credit_monthly where month_end = ?", [month_end])
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row)) for row in cur.fetchall()}


def test_each_park_has_its_class_mix_and_scores_on_the_as_of_month_end(con):
    months = park_month(con, AS_OF)
    columns = ("entities", "class_a", "class_b", "class_c", "class_d", "registry_declared_entities",
               "registry_agreeing_entities")
    got = {park: tuple(r[c] for c in columns) for park, r in months.items()}
    assert got == {
        "tourism": (2, 2, 0, 0, 0, 2, 1),      # E01 A, E02 A; the registry: E01 and E04
        "consumption": (3, 0, 0, 1, 2, 0, 0),  # E07 C, E03 D, E05 D
        "trade": (1, 1, 0, 0, 0, 2, 1),        # E06 A; the registry: E06 and E03 (贸易)
        "industry": (2, 0, 0, 1, 1, 1, 1),     # E09 C, E10 D (E12 deregistered: not graded)
    }
    assert months["tourism"]["mean_score"] == pytest.approx((99 + 93) / 2)
    assert months["consumption"]["mean_score"] == pytest.approx((45 + 59 + 74) / 3)
    assert months["consumption"]["median_score"] == pytest.approx(59)
    assert months["industry"]["median_score"] == pytest.approx((70 + 51) / 2)
    assert months["consumption"]["share_c_or_d"] == pytest.approx(1.0)
    # E05's serious-dishonest listing is in force; E03's tax D grade too: negative events of consumption members
    assert months["consumption"]["negative_events"] >= 2
    assert months["tourism"]["positive_events"] >= 1  # E01's tax A and green grade


def test_members_are_taken_as_known_on_each_month_end(con):
    past = park_month(con, PAST)
    assert past["industry"]["entities"] == 3  # E12 was active on 2026-03-31
    assert park_month(con, AS_OF)["industry"]["entities"] == 2
    # every park has a row every month-end of the series, members or not
    assert con.execute("select count(distinct month_end) * 4 = count(*) from agg_park_credit_monthly").fetchone()[0]


# ------------------------------------------------------------------------------------------------ city index
def test_the_city_index_uses_the_seed_weights_on_hand_computed_indicators(con):
    weights = {r["indicator"]: r for r in csv.DictReader(
        (DBT_PROJECT_DIR / "seeds" / "city_credit_index_weights.csv").open(encoding="utf-8"))}
    # city 370900 on 2026-06-30: E01..E07, E09, E10, E11 graded
    scores = [99, 93, 45, 67.5, 59, 90, 74, 70, 51, 66]
    by_hand = {"mean_score": sum(scores) / 10, "share_class_a": 3 / 10, "share_class_d": 3 / 10}
    rows = {r[0]: r[1:] for r in con.execute(
        "select indicator, value, normalised_score, weight_pct, contribution from agg_city_credit_index_indicator "
        "where city_code = '370900' and month_end = ?", [AS_OF]).fetchall()}
    assert set(rows) == set(weights)
    for indicator, value in by_hand.items():
        if indicator not in weights:
            continue
        worst, best = float(weights[indicator]["worst_value"]), float(weights[indicator]["best_value"])
        expected = min(100.0, max(0.0, 100 * (value - worst) / (best - worst)))
        got_value, normalised, weight, contribution = rows[indicator]
        assert got_value == pytest.approx(value)
        assert normalised == pytest.approx(expected)
        assert contribution == pytest.approx(expected * float(weights[indicator]["weight_pct"]) / 100)
    composite, measured = con.execute(
        "select composite_index, weight_measured from agg_city_credit_index where city_code = '370900' "
        "and month_end = ?", [AS_OF]).fetchone()
    assert measured == pytest.approx(100.0)
    assert composite == pytest.approx(sum(r[3] for r in rows.values()))


# ------------------------------------------------------------------------------------------------ commands
def test_the_report_shows_the_city_index_and_every_park(home, capsys):
    out_file = home.root / "reports" / "city_credit_report.html"
    code, out, _ = run(capsys, "report", "city", "--home", str(home.root))
    assert code == 0 and str(out_file) in out
    page = out_file.read_text(encoding="utf-8")
    assert 'id="city-index"' in page and "城市信用指数" in page
    for park_id, name in (("tourism", "信用+旅游园区"), ("consumption", "信用+消费园区"), ("trade", "信用+商贸园区"),
                          ("industry", "信用+产业园区")):
        assert f'id="park-{park_id}"' in page and name in page
    images = re.findall(r'<img [^>]*src="([^"]*)"', page)
    assert len(images) == 2 + 4 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="https?:', page)  # self-contained: nothing fetched
    # the city is the one with most graded entities (370900: 10 of 11); its composite is on the page
    with open_read_only(home.warehouse) as c:
        value = c.execute("select composite_index from agg_city_credit_index where city_code = '370900' "
                          "and month_end = ?", [AS_OF]).fetchone()[0]
    assert "(370900)" in page and f'<span class="big">{value:,.1f}</span>' in page


def test_the_parks_command_lists_counts_and_unconfigured_registry_names(home, capsys):
    import json

    code, out, _ = run(capsys, "parks", "--home", str(home.root), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["stale_seeds"] == []
    assert result["parks"]["trade"] | {"park_name": None} == {"park_name": None, "agree": 1, "zone_only": 0,
                                                              "registry_only": 1}
    assert result["unmapped_registry_parks"] == {"青岛信用示范园": 1}  # E11
    assert {(d["park_id"], d["uscc"]) for d in result["disagreements"]} == {
        ("tourism", uscc("E02")), ("tourism", uscc("E04")), ("consumption", uscc("E03")), ("trade", uscc("E03")),
        ("consumption", uscc("E05")), ("consumption", uscc("E07")), ("industry", uscc("E10"))}


def test_a_warehouse_without_the_park_models_is_a_clear_error(tmp_path, capsys):
    import duckdb

    other = Home(tmp_path / "old").ensure()
    other.warehouse.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(other.warehouse)).close()
    code, _, err = run(capsys, "report", "city", "--home", str(other.root))
    assert code == 1 and "run `creditwh build`" in err
    code, _, err = run(capsys, "report", "city", "--home", str(tmp_path / "nothing"))
    assert code == 1 and "no warehouse" in err
