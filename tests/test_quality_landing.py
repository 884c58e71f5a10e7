"""Landing suites on small files made here, ingested by the real ingestion, validated by real Great Expectations:
the planted problems are exactly the flags, every expectation evaluated rows, and timeliness counts Chinese
working days (2025 National Day and its adjusted working days)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from creditwh.settings import REPO_ROOT, Home
from ingestion.contracts import load_contracts
from ingestion.identifiers import org_code_check_char, uscc_check_char
from ingestion.run import ingest
from quality.landing import LandingValidationError, LandingValidator, run_dir
from quality.landing_rules import landing_rules, registry_feed_id

CONTRACTS = load_contracts()
AUTHORITY = "11370900MB2857235Q"


def make_uscc(n: int) -> str:
    body = f"{n:08d}"
    first17 = "91370900" + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


def spoil(uscc: str) -> str:
    return uscc[:17] + ("1" if uscc[17] != "1" else "2")


KNOWN = [make_uscc(i) for i in range(1, 11)]
UNKNOWN = make_uscc(999)
REGNO = "370900000012345"  # a legacy number the registry knows


def write_csv(path: Path, feed: str, rows: list[dict], encoding: str) -> Path:
    header = [c.source for c in CONTRACTS[feed].columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join(r.get(h, "") for h in header) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def registry_row(uscc: str, regno: str = "", name: str = "泰安市示例贸易有限公司") -> dict:
    return {"统一社会信用代码": uscc, "注册号": regno, "企业名称": name, "主体类型": "企业", "法定代表人": "张三",
            "成立日期": "2010-05-01", "登记状态": "存续"}


def penalty_row(n: int, **over) -> dict:
    row = {"CF_XDR_MC": "泰安市示例贸易有限公司", "CF_XDR_LB": "法人及非法人组织", "CF_XDR_SHXYM": KNOWN[0],
           "CF_FRDB": "张三", "CF_WSH": f"泰市监处罚〔2025〕{n}号", "CF_WFXW": "虚假宣传", "CF_CFLB": "罚款",
           "CF_NR_FK": "1.5", "CF_JDRQ": "2025-10-09", "CF_CFJG": "泰安市市场监督管理局", "CF_CFJGDM": AUTHORITY}
    return row | over


def ingest_at(home: Home, feed: str, path: Path, run_id: str, started_at: datetime):
    """Ingest with the real ingestion, then date the run record as if the run had started at `started_at`."""
    ingest(home, files=[(CONTRACTS[feed], path)], run_id=run_id)
    record = home.ingest_runs / f"{run_id}.json"
    data = json.loads(record.read_text(encoding="utf-8"))
    data["started_at"] = started_at.isoformat()
    record.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


# Landed on 2025-10-16 10:00 China time. Decided 2025-09-30 (Tue): Oct 1-8 are the National Day holidays and
# Sat Oct 11 an adjusted working day, so Oct 16 is the 7th working day: on time. Decided 2025-09-29: the 8th: late.
LANDED = datetime(2025, 10, 16, 2, 0, tzinfo=timezone.utc)
PLANTED = {  # source row -> (row, expected flags)
    1: (penalty_row(1), set()),
    2: (penalty_row(2, CF_XDR_SHXYM=spoil(KNOWN[1])), {"uscc_check_digit", "entity_known"}),
    3: (penalty_row(3, CF_XDR_SHXYM="９" + KNOWN[2][1:]), {"fullwidth_value"}),
    4: (penalty_row(4, CF_XDR_SHXYM=REGNO), {"legacy_registration_no"}),
    5: (penalty_row(5, CF_NR_FK="15000元"), {"amount_in_yuan"}),
    6: (penalty_row(6, CF_JDRQ="45929"), {"excel_serial_date"}),           # 45929 = 2025-09-29: also late
    7: (penalty_row(7, CF_JDRQ="2025-10-20"), {"decision_date_not_after_landing"}),
    8: (penalty_row(8, CF_NR_FK="-2"), {"fine_not_negative"}),
    9: (penalty_row(9, CF_XDR_SHXYM=UNKNOWN), {"entity_known"}),
    10: (penalty_row(10, CF_XDR_MC=" 泰安市示例贸易有限公司"), {"invisible_characters"}),
    11: (penalty_row(11, CF_NR_FK=""), {"fine_amount_when_fined"}),
    12: (penalty_row(12, CF_FRDB=""), {"legal_rep_for_legal_persons"}),
    13: (penalty_row(13, CF_JDRQ="2025-09-30"), set()),                    # 7th working day: on time
    14: (penalty_row(14, CF_JDRQ="2025-09-29"), {"published_within_7_working_days"}),
    15: (penalty_row(15, CF_JDRQ="2015-06-01"), set()),                    # before the rule's effective date
}
PLANTED[6] = (PLANTED[6][0], PLANTED[6][1] | {"published_within_7_working_days"})


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("landing") / "home").ensure()
    registry = [registry_row(u) for u in KNOWN] + [registry_row("", REGNO, "泰安市老字号商行")]
    ingest_at(home, "samr_entity_registry", write_csv(home.root / "in" / "registry.csv", "samr_entity_registry",
                                                      registry, "utf-8"), "20251016T020000-00000001", LANDED)
    rows = [row for row, _ in PLANTED.values()]
    path = write_csv(home.root / "in" / "penalties_2025.csv", "samr_penalties", rows, "gbk")
    ingest_at(home, "samr_penalties", path, "20251016T020000-00000002", LANDED)
    # the same record in a second file of one run: a cross-file duplicate ingestion cannot see
    dup = write_csv(home.root / "in" / "penalties_again.csv", "samr_penalties",
                    [penalty_row(1), penalty_row(20)], "gbk")
    summaries = {(s.feed, s.run_id): s for s in LandingValidator(home, data_docs=False).validate_pending()}
    again = write_csv(home.root / "in" / "penalties_b.csv", "samr_penalties", [penalty_row(1)], "gbk")
    ingest(home, files=[(CONTRACTS["samr_penalties"], dup), (CONTRACTS["samr_penalties"], again)],
           run_id="20251017T020000-00000003")
    summaries |= {(s.feed, s.run_id): s for s in LandingValidator(home, data_docs=True).validate_pending()}
    return home, summaries


def flag_frame(home: Home, feed: str, run_id: str) -> pl.DataFrame:
    return pl.read_parquet(run_dir(home, feed, run_id) / "flags.parquet")


def test_rules_are_generated_from_the_contract():
    contract = CONTRACTS["samr_penalties"]
    rules = {r.id: r for r in landing_rules(contract, registry_feed_id(CONTRACTS))}
    for column in contract.columns:
        assert (f"samr_penalties.{column.name}_present" in rules) == column.required
        assert (f"samr_penalties.{column.name}_check_digit" in rules) == (column.type == "uscc")
    assert rules["samr_penalties.subject_category_in_code_list"].kwargs["value_set"] == [
        "legal_person", "natural_person", "sole_trader"]
    assert rules["samr_penalties.key_unique"].kwargs["column_list"] == ["authority_uscc", "decision_no"]
    assert "samr_entity_registry.entity_known" not in {r.id for r in landing_rules(
        CONTRACTS["samr_entity_registry"], "samr_entity_registry")}
    # full-width punctuation is ordinary in Chinese text: the note rule looks only at codes, dates and amounts
    fullwidth = rules["samr_penalties.fullwidth_value"]
    assert "violation_facts" not in fullwidth.kwargs["regex"] and "uscc" in fullwidth.kwargs["regex"]


def test_planted_problems_are_exactly_the_flags(landed):
    home, _ = landed
    flags = flag_frame(home, "samr_penalties", "20251016T020000-00000002")
    got: dict[int, set[str]] = {}
    for row, rule in zip(flags["source_row"], flags["rule"]):
        got.setdefault(row, set()).add(rule.removeprefix("samr_penalties."))
    assert got == {row: expected for row, (_, expected) in PLANTED.items() if expected}
    assert set(flags["severity"]) == {"critical", "warning"}
    critical = set(flags.filter(pl.col("severity") == "critical")["source_row"])
    assert critical == {2, 7, 8}


def test_flags_name_file_row_field_and_value(landed):
    home, _ = landed
    flags = flag_frame(home, "samr_penalties", "20251016T020000-00000002")
    assert flags.columns == ["department", "feed", "run_id", "file_name", "source_row", "record_key", "rule",
                             "severity", "dimension", "field", "value", "message", "month"]
    one = flags.filter((pl.col("source_row") == 2) & (pl.col("rule") == "samr_penalties.uscc_check_digit")).row(0, named=True)
    assert one["department"] == "market_regulation" and one["file_name"] == "penalties_2025.csv"
    assert one["field"] == "uscc" and one["value"] == spoil(KNOWN[1]) and one["dimension"] == "validity"
    assert one["record_key"] == f"authority_uscc={AUTHORITY}|decision_no=泰市监处罚〔2025〕2号"
    assert one["message"].startswith("penalties_2025.csv: row 2: field uscc: expected:")
    legacy = flags.filter(pl.col("rule") == "samr_penalties.legacy_registration_no").row(0, named=True)
    assert legacy["value"] == REGNO
    late = flags.filter((pl.col("source_row") == 14) & pl.col("rule").str.ends_with("7_working_days")).row(0, named=True)
    assert (late["dimension"], late["severity"], late["value"]) == ("timeliness", "warning", "8")
    assert "decision_date 2025-09-29, landed on 2025-10-16 (China time): 8 working days later" in late["message"]
    assert late["month"] == "2025-09"


def test_every_expectation_evaluated_the_run(landed):
    """GE can report success having evaluated nothing: every rule must have looked at the run's rows."""
    home, summaries = landed
    for (feed, run_id), summary in summaries.items():
        rules = {r.id: r for r in LandingValidator(home).rules(feed)}
        assert {r.rule for r in summary.rules} == set(rules), feed
        for result in summary.rules:
            assert result.evaluated > 0, result
            if not rules[result.rule].conditional:
                assert result.evaluated == summary.rows, result
    assert summaries[("samr_penalties", "20251016T020000-00000002")].rows == len(PLANTED)


def test_a_key_sent_twice_in_one_run_is_flagged(landed):
    home, summaries = landed
    flags = flag_frame(home, "samr_penalties", "20251017T020000-00000003")
    dup = flags.filter(pl.col("rule") == "samr_penalties.key_unique")
    assert sorted(zip(dup["file_name"], dup["source_row"])) == [("penalties_again.csv", 1), ("penalties_b.csv", 1)]
    assert set(dup["severity"]) == {"critical"} and set(dup["field"]) == {"authority_uscc/decision_no"}


def test_the_summary_accounts_for_the_run(landed):
    home, summaries = landed
    saved = json.loads((run_dir(home, "samr_penalties", "20251016T020000-00000002") / "summary.json")
                       .read_text(encoding="utf-8"))
    flags = flag_frame(home, "samr_penalties", "20251016T020000-00000002")
    assert saved["rows"] == len(PLANTED) and saved["quarantined"] == 0
    assert saved["flags"] == {"critical": int((flags["severity"] == "critical").sum()),
                              "warning": int((flags["severity"] == "warning").sum())}
    assert sum(saved["rows_by_month"].values()) == len(PLANTED)
    assert saved["landed_at"] == "2025-10-16T02:00:00+00:00"
    assert saved["data_docs"] is None  # built once, by the last validation of the fixture
    last = summaries[("samr_penalties", "20251017T020000-00000003")]
    assert last.data_docs and (home.data_docs / "index.html").is_file()
    assert "landing_samr_penalties" in (home.data_docs / "index.html").read_text(encoding="utf-8")


def test_an_expectation_that_counts_no_rows_stops_validation(landed, tmp_path):
    home, _ = landed
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name in ("landing.yaml", "samr_penalties.yaml"):
        (rules_dir / name).write_text((REPO_ROOT / "quality" / "rules" / name).read_text(encoding="utf-8"),
                                      encoding="utf-8")
    with (rules_dir / "samr_penalties.yaml").open("a", encoding="utf-8") as fh:
        fh.write("""  - id: samr_penalties.fine_max
    severity: warning
    dimension: validity
    description: aggregate expectation (no element_count)
    rationale: test
    expectation: expect_column_max_to_be_between
    kwargs: {column: fine_amount_wan, max_value: 100000}
""")
    validator = LandingValidator(home, rules_dir=rules_dir, data_docs=False)
    with pytest.raises(LandingValidationError, match="fine_max evaluated None of 15 rows"):
        validator.validate_run("samr_penalties", "20251016T020000-00000002")


def test_a_run_past_the_calendar_is_flagged_not_guessed(tmp_path):
    home = Home(tmp_path / "home").ensure()
    path = write_csv(home.root / "in" / "p.csv", "samr_penalties", [penalty_row(1, CF_JDRQ="2026-12-30")], "gbk")
    ingest_at(home, "samr_penalties", path, "20270104T020000-00000009", datetime(2027, 1, 4, 2, tzinfo=timezone.utc))
    summary = LandingValidator(home, data_docs=False).validate_run("samr_penalties", "20270104T020000-00000009")
    assert any("outside the Chinese holiday calendar" in w for w in summary.warnings)
    flags = flag_frame(home, "samr_penalties", "20270104T020000-00000009")
    assert "samr_penalties.timeliness_computable" in set(flags["rule"])
    assert "samr_penalties.published_within_7_working_days" not in set(flags["rule"])


def test_docs_list_every_landing_rule_with_its_severity():
    doc = (REPO_ROOT / "docs" / "quality.md").read_text(encoding="utf-8")
    registry = registry_feed_id(CONTRACTS)
    for contract in CONTRACTS.values():
        for rule in landing_rules(contract, registry):
            assert f"| `{rule.id}` | {rule.severity} |" in doc, f"{rule.id}: run `python -m quality.landing_rules`"


def test_landing_validation_is_quiet_even_with_info_logging(landed):
    """Under Airflow (INFO logging) GE's import alone prints hundreds of lines; validation must stay silent."""
    import subprocess
    import sys

    home, _ = landed
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stdout)\n"
        "from pathlib import Path\n"
        "from creditwh.settings import Home\n"
        "from quality.landing import validate_run\n"
        f"validate_run(Home(Path({str(home.root)!r})), 'samr_penalties', '20251016T020000-00000002', data_docs=False)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""
