"""creditwh.parity on hand-made relations (no Spark needed: the default suite), and the engine choice of the build.

The DuckDB/Spark comparison itself runs in tests/test_spark_parity.py (`make test-spark`); here each rule of the
comparison is checked on relations with known answers: what must count as equal and what must not.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from creditwh import warehouse
from creditwh.parity import compare_relations, compare_warehouses, normalised_type


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("set TimeZone = 'UTC'")
    yield c
    c.close()


def compare(con, duck_sql: str, other_sql: str):
    con.execute(f"create or replace table left_side as {duck_sql}")
    con.execute(f"create or replace table right_side as {other_sql}")
    return compare_relations(con, "t", "left_side", "right_side")


def test_integer_widths_and_timestamp_flavours_are_one_family():
    assert {normalised_type(t) for t in ("INTEGER", "BIGINT", "HUGEINT", "SMALLINT")} == {"integer"}
    assert normalised_type("TIMESTAMP WITH TIME ZONE") == normalised_type("TIMESTAMP") == "timestamp"
    assert normalised_type("DECIMAL(11,6)") == "decimal(11,6)" != normalised_type("DOUBLE")


def test_equal_rows_in_another_order_with_other_integer_widths_are_identical(con):
    diff = compare(con, "select * from (values (1, 'a', null), (2, 'b', date '2026-11-25')) t(n, s, d)",
                   "select cast(n as hugeint) as n, s, d "
                   "from (values (2, 'b', date '2026-11-25'), (1, 'a', null)) t(n, s, d)")
    assert diff.identical and diff.rows_duckdb == diff.rows_spark == 2


def test_decimal_against_double_is_a_column_difference(con):
    diff = compare(con, "select 1000 / 365.0 as daily", "select cast(1000 / 365.0 as decimal(11, 6)) as daily")
    assert not diff.identical and diff.column_differences == ["daily is DOUBLE on duckdb, DECIMAL(11,6) on spark"]


def test_a_value_that_became_null_is_a_row_difference(con):
    diff = compare(con, "select 'E01' as k, 1000 as units", "select 'E01' as k, cast(null as integer) as units")
    assert (diff.unmatched_duckdb, diff.unmatched_spark) == (1, 1)
    assert diff.only_in_duckdb == [("E01", 1000)] and diff.only_in_spark == [("E01", None)]


def test_a_duplicated_row_is_a_difference(con):
    diff = compare(con, "select * from (values (1), (1)) t(n)", "select * from (values (1)) t(n)")
    assert (diff.unmatched_duckdb, diff.unmatched_spark) == (1, 0)


def test_doubles_within_the_tolerance_pass_and_a_rounded_half_does_not(con):
    noise = compare(con, "select 'a' as k, cast(0.1 as double) + cast(0.2 as double) as x",
                    "select 'a' as k, cast(0.3 as double) as x")
    assert noise.identical
    half = compare(con, "select 'a' as k, cast(2.67 as double) as x", "select 'a' as k, cast(2.68 as double) as x")
    assert (half.unmatched_duckdb, half.unmatched_spark) == (1, 1)
    # large magnitudes: the tolerance is relative (1e-9), so 1e12 + 1 vs 1e12 + 1.0001 passes and + 2 does not
    big = compare(con, "select cast(1e12 + 1 as double) as x", "select cast(1e12 + 1.0001 as double) as x")
    assert big.identical
    far = compare(con, "select cast(1e12 as double) as x", "select cast(1e12 + 2000 as double) as x")
    assert not far.identical


def test_rows_are_paired_on_their_exact_columns_before_doubles_are_compared(con):
    # the doubles agree as a set but belong to other keys: not equal
    diff = compare(con, "select * from (values ('a', 1.0), ('b', 2.0)) t(k, x)",
                   "select * from (values ('a', 2.0), ('b', 1.0)) t(k, x)")
    assert (diff.unmatched_duckdb, diff.unmatched_spark) == (2, 2)


def test_warehouses_with_a_missing_table_and_a_missing_column(tmp_path):
    duck_file = tmp_path / "w.duckdb"
    with duckdb.connect(str(duck_file)) as c:
        c.execute("create table fct_a as select 1 as n, 'x' as s")
        c.execute("create table fct_b as select 1 as n")
    spark_dir = tmp_path / "spark" / "credit_warehouse.db"
    (spark_dir / "fct_a").mkdir(parents=True)
    (spark_dir / "fct_c").mkdir()
    pq.write_table(pa.table({"n": pa.array([1], pa.int32())}), spark_dir / "fct_a" / "part-0.parquet")
    pq.write_table(pa.table({"n": pa.array([1], pa.int32())}), spark_dir / "fct_c" / "part-0.parquet")
    diffs = {d.table: d for d in compare_warehouses(duck_file, tmp_path / "spark")}
    assert diffs["fct_a"].column_differences == ["s only on duckdb"]
    assert diffs["fct_b"].missing_on == "spark" and diffs["fct_c"].missing_on == "duckdb"
    assert "no such table on spark" in diffs["fct_b"].describe()


def test_an_unknown_engine_is_refused(tmp_path):
    (tmp_path / "landing").mkdir()
    with pytest.raises(warehouse.WarehouseBuildError, match="unknown engine 'oracle'"):
        warehouse.build(tmp_path / "landing", tmp_path / "w.duckdb", as_of=date(2026, 11, 25), engine="oracle")


def test_the_spark_engine_without_its_environment_says_how_to_get_it(tmp_path, monkeypatch):
    pytest.importorskip("duckdb")
    if __import__("importlib").util.find_spec("pyspark"):
        pytest.skip("this environment has Spark itself")
    monkeypatch.setattr(warehouse, "SPARK_VENV", tmp_path / "no-spark-here")
    with pytest.raises(warehouse.WarehouseBuildError, match="make spark-setup"):
        warehouse.dbt_executable("spark")
