"""What a person sees at the command line: clear messages, exit codes 2 for bad arguments, never a traceback."""
from __future__ import annotations

import json

import pytest

from tests.fixtures.cli import run


def test_bad_arguments_exit_2_with_a_message(capsys, tmp_path):
    code, _, err = run(capsys, "build", "--as-of", "2026-13-01", "--home", str(tmp_path))
    assert code == 2 and "not a date in YYYY-MM-DD form" in err
    code, _, err = run(capsys, "generate", "--scale", "galaxy")
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys, "ingest", "--home", str(tmp_path), "some.csv")
    assert code != 0 and "without --feed" in err


def test_unknown_feed_is_a_clear_error(capsys, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("a\n1\n")
    code, _, err = run(capsys, "ingest", "--home", str(tmp_path / "h"), "--feed", "no_such_feed", str(f))
    assert code == 1 and "unknown feed 'no_such_feed'" in err


def test_rejected_file_exits_non_zero_with_the_reason_on_stderr(capsys, tmp_path):
    f = tmp_path / "penalties.csv"
    f.write_bytes("CF_XDR_MC\n\xff\xfe".encode("latin-1"))
    code, out, err = run(capsys, "ingest", "--home", str(tmp_path / "h"), "--feed", "samr_penalties", str(f),
                         "--json")
    (result,) = json.loads(out)
    assert code == 1 and result["status"] == "rejected" and result["rows_in"] == 0
    assert set(result) == {"file", "feed", "rows_in", "loaded", "quarantined", "status", "error", "warnings"}
    assert "penalties.csv" in err and "gbk" in err


def test_sql_without_a_warehouse_says_what_to_do(capsys, tmp_path):
    code, _, err = run(capsys, "sql", "select 1", "--home", str(tmp_path))
    assert code == 1 and "creditwh build" in err


def test_feeds_lists_every_contract(capsys):
    code, out, _ = run(capsys, "feeds", "--json")
    feeds = json.loads(out)
    from ingestion.contracts import load_contracts

    assert code == 0 and len(feeds) == len(load_contracts()) >= 17
    assert {"samr_penalties", "court_dishonest_debtors", "tax_credit_grades"} <= {f["id"] for f in feeds}
