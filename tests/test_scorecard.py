"""Department scorecards, the HTML report and the issues export, on small feeds ingested by the real ingestion
and validated by real Great Expectations. The expected scores are worked out by hand below."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

import duckdb
import polars as pl
import pytest

from creditwh.cli import main
from creditwh.errors import CreditwhError
from creditwh.settings import Home
from quality.issues import department_issues, export
from quality.scorecard import ScorecardError, build, compute, rollup
from tests.test_quality_landing import KNOWN, ingest_at, penalty_row, registry_row, spoil, write_csv

RUN_1 = datetime(2025, 10, 16, 2, 0, tzinfo=timezone.utc)   # 10:00 China time
RUN_2 = datetime(2025, 10, 17, 2, 0, tzinfo=timezone.utc)   # 2025-10-09 + 7 working days (Sat 10-11 worked)


def env_row(uscc: str, grade: str = "绿牌") -> dict:
    return {"统一社会信用代码": uscc, "单位名称": "泰安市示例化工有限公司", "评价年度": "2024", "评价等级": grade,
            "发布日期": "2025-10-01"}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """Run 1: penalties and environmental grades with known problems. Then run 2 corrects one penalty."""
    home = Home(tmp_path_factory.mktemp("scorecard") / "home").ensure()
    src = home.root / "in"
    ingest_at(home, "samr_entity_registry", write_csv(src / "registry.csv", "samr_entity_registry",
                                                      [registry_row(u) for u in KNOWN], "utf-8"),
              "20251016T020000-00000001", RUN_1)
    penalties = [
        penalty_row(1, CF_JDRQ="2025-09-30"),                       # 2025-09, on time (7th working day)
        penalty_row(2),                                             # 2025-10
        penalty_row(3, CF_XDR_SHXYM=spoil(KNOWN[1])),               # 2025-10: bad check digit, unknown entity
        penalty_row(4, CF_JDRQ="2025-09-29"),                       # 2025-09: 8 working days: late
        penalty_row(5, CF_WSH="", CF_JDRQ="2025-10-10"),            # 2025-10: quarantined, missing decision no
        penalty_row(6, CF_JDRQ="2025-10-10"),                       # 2025-10
    ]
    ingest_at(home, "samr_penalties", write_csv(src / "penalties_2025.csv", "samr_penalties", penalties, "gbk"),
              "20251016T020000-00000002", RUN_1)
    grades = [env_row(KNOWN[2]), env_row(KNOWN[3], "蓝牌"), env_row(KNOWN[4], "紫牌")]   # 紫牌: unknown code
    ingest_at(home, "env_credit_grades", write_csv(src / "env_2025.csv", "env_credit_grades", grades, "gb18030"),
              "20251016T020000-00000003", RUN_1)
    first = build(home, data_docs=False)
    before = department_issues(home, "market_regulation")
    ingest_at(home, "samr_penalties", write_csv(src / "penalties_fix.csv", "samr_penalties",
                                                [penalty_row(3)], "gbk"), "20251017T020000-00000004", RUN_2)
    second = build(home)
    return home, first, second, before


def scores(table: pl.DataFrame, feed: str, month: str) -> dict:
    return table.filter((pl.col("feed") == feed) & (pl.col("month") == month)).row(0, named=True)


def test_scores_per_department_feed_and_month(city):
    home, first, second, _ = city
    table, _ = compute(home)
    sep = scores(table, "samr_penalties", "2025-09")
    assert (sep["rows_sent"], sep["rows_timed"], sep["timeliness"], sep["completeness"]) == (2, 2, 50.0, 100.0)
    assert sep["overall"] == 90.0                     # (.25+.25+.15+.15)·100 + .20·50
    octo = scores(table, "samr_penalties", "2025-10")
    # after the correction run: 3 + 1 landed, 1 quarantined; row 3 of run 1 still counts (it was sent)
    assert (octo["rows_sent"], octo["rows_landed"], octo["rows_quarantined"]) == (5, 4, 1)
    assert (octo["completeness"], octo["validity"], octo["consistency"], octo["uniqueness"], octo["timeliness"]) \
        == (80.0, 80.0, 80.0, 100.0, 100.0)
    assert octo["overall"] == 87.0                    # .25·80 + .25·80 + .15·80 + .15·100 + .20·100
    env = scores(table, "env_credit_grades", "2025-10")
    assert env["department"] == "ecology_environment" and env["timeliness"] is None   # no timeliness rule
    assert env["validity"] == pytest.approx(66.67) and env["rows_quarantined"] == 1
    assert env["overall"] == pytest.approx((25 + 0.25 * 66.67 + 15 + 15) / 0.8, abs=0.01)
    registry = table.filter(pl.col("feed") == "samr_entity_registry")
    assert registry["month"].to_list() == ["2010-05"] and registry["overall"].to_list() == [100.0]


def test_rollup_recomputes_from_counts(city):
    home, *_ = city
    table, _ = compute(home)
    pen = rollup(table, ["feed"]).filter(pl.col("feed") == "samr_penalties").row(0, named=True)
    assert pen["rows_sent"] == 7 and pen["completeness"] == pytest.approx(100 * 6 / 7, abs=0.01)
    assert pen["timeliness"] == pytest.approx(100 * 5 / 6, abs=0.01)


def test_the_scorecard_is_a_duckdb_file_of_its_own(city):
    home, _, second, _ = city
    assert second.database.parent == home.quality / "scorecard" and second.database != home.warehouse
    with duckdb.connect(str(second.database), read_only=True) as con:
        got = con.execute("select overall from department_scorecard where feed = 'samr_penalties' "
                          "and month = '2025-09'").fetchone()
        rules = dict(con.execute("select rule, sum(rows) from rule_counts group by rule").fetchall())
    assert got == (90.0,)
    assert rules["quarantine.missing_required"] == 1 and rules["samr_penalties.uscc_check_digit"] == 1


def test_the_report_is_one_self_contained_file(city):
    home, _, second, _ = city
    page = second.report.read_text(encoding="utf-8")
    assert second.report == home.quality / "report" / "scorecard.html"
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', page)) == 2  # heatmap, trend
    assert not re.search(r'(src|href)="https?://', page) and "<script" not in page
    docs = re.search(r'href="([^"]+)">Great Expectations Data Docs', page).group(1)
    assert (second.report.parent / docs).resolve() == (home.data_docs / "index.html").resolve()
    assert (home.data_docs / "index.html").is_file()
    # worst offending rules with an example row naming file, row and field
    assert "samr_penalties.uscc_check_digit" in page and "penalties_2025.csv: row 3: field uscc" in page
    assert "quarantine.missing_required" in page and "quarantine.unknown_code" in page


def test_issues_are_the_open_problems_of_one_department(city):
    home, _, _, before = city
    opened = {(r["file"], r["row"], r["rule"]) for r in before.iter_rows(named=True)}
    assert ("penalties_2025.csv", 3, "samr_penalties.uscc_check_digit") in opened
    assert ("penalties_2025.csv", 4, "samr_penalties.published_within_7_working_days") in opened
    assert ("penalties_2025.csv", 5, "quarantine.missing_required") in opened
    after = department_issues(home, "market_regulation")
    still = {(r["file"], r["row"], r["rule"]) for r in after.iter_rows(named=True)}
    # run 2 landed a corrected version of penalty 3: its problems are closed, the others stay open
    assert not {k for k in still if k[1] == 3 and k[0] == "penalties_2025.csv"}
    assert opened - still == {k for k in opened if k[0] == "penalties_2025.csv" and k[1] == 3}
    assert after.columns == ["feed", "file", "row", "field", "rule", "severity", "dimension", "message", "value",
                             "record_key", "run_id"]
    assert set(department_issues(home, "ecology_environment")["rule"]) == {"quarantine.unknown_code"}
    unknown = department_issues(home, "ecology_environment").row(0, named=True)
    assert (unknown["field"], unknown["value"], unknown["row"]) == ("env_grade", "紫牌", 3)


def test_csv_export_opens_in_excel(city, tmp_path):
    home, *_ = city
    path, count = export(home, "market_regulation", "csv", tmp_path / "mr.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == count > 0
    late = next(r for r in rows if r["row"] == "4" and r["rule"].endswith("7_working_days"))
    assert late["file"] == "penalties_2025.csv" and late["field"] == "decision_date" and late["severity"] == "warning"


def test_xlsx_export_reads_back(city, tmp_path):
    home, *_ = city
    path, count = export(home, "market_regulation", "xlsx", tmp_path / "mr.xlsx")
    back = pl.read_excel(path)
    assert back.height == count and back.columns[:5] == ["feed", "file", "row", "field", "rule"]
    assert "quarantine.missing_required" in back["rule"].to_list()


def test_an_unknown_department_lists_the_known_ones(city, capsys):
    home, *_ = city
    from ingestion.contracts import load_contracts

    known = ", ".join(sorted({c.department for c in load_contracts().values()}))
    assert known.startswith("court, ecology_environment, ")
    with pytest.raises(CreditwhError, match=f"unknown department 'customs'; known departments: {known}$"):
        export(home, "customs")
    assert main(["quality", "issues", "--department", "customs", "--home", str(home.root)]) == 1
    assert "known departments: court" in capsys.readouterr().err


def test_the_commands(city, tmp_path, capsys):
    home, *_ = city
    out = tmp_path / "tax.xlsx"
    assert main(["quality", "issues", "--department", "market_regulation", "--format", "xlsx", "--out", str(out),
                 "--home", str(home.root)]) == 0
    assert out.is_file() and "open issues of market_regulation written to" in capsys.readouterr().out
    assert main(["quality", "scorecard", "--home", str(home.root)]) == 0
    printed = capsys.readouterr().out
    assert "Report:" in printed and str(home.quality / "report" / "scorecard.html") in printed


def test_no_validated_run_is_a_clear_error(tmp_path):
    with pytest.raises(ScorecardError, match="no validated landing runs"):
        build(Home(tmp_path / "empty").ensure())
