"""creditwh.spark_catalog on Parquet laid out as a Spark build leaves it (no Spark needed: the default suite).

The tables are written with pyarrow the way Spark writes them here: part files under <warehouse>/<schema>.db/<table>/
beside _SUCCESS and .crc files, timestamps as UTC instants (Parquet isAdjustedToUTC). The proof on a real Spark
build — same gate decision, same held-back records, same published records — is tests/test_spark_parity.py.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from creditwh import stages
from creditwh.cli import main
from creditwh.settings import Home
from creditwh.spark_catalog import SparkCatalogError, catalog_path, write_catalog

SCHEMA = "credit_warehouse"


def spark_table(warehouse, name: str, table: pa.Table, part: str = "00000-7f3a") -> None:
    """One Spark managed table: its Parquet part file and the bookkeeping files Spark leaves beside it."""
    folder = warehouse / f"{SCHEMA}.db" / name
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / f"part-{part}-c000.snappy.parquet")
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / f".part-{part}-c000.snappy.parquet.crc").write_bytes(b"\x00")


def penalties(decided_at: datetime, amount: int = 5000) -> pa.Table:
    return pa.table({
        "penalty_id": pa.array(["P1", "P2"]),
        "decision_date": pa.array([date(2026, 11, 20), None], pa.date32()),
        "amount_yuan": pa.array([amount, None], pa.int64()),
        "decided_at": pa.array([decided_at, None], pa.timestamp("us", tz="UTC")),
    })


@pytest.fixture
def spark_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse" / "spark" / "warehouse"   # where `build --engine spark` has Spark write
    spark_table(warehouse, "fct_penalty", penalties(datetime(2026, 11, 25, 2, 0, 5, tzinfo=timezone.utc)))
    spark_table(warehouse, "dim_entity", pa.table({"entity_uscc": ["91350100M000100Y43"], "name": ["甲公司"]}))
    return warehouse


def test_each_table_is_a_view_of_the_readers_schema_with_instants_as_utc_wall_clock(spark_warehouse, tmp_path):
    catalog = tmp_path / "warehouse.duckdb"
    result = write_catalog(spark_warehouse, catalog)
    assert result.files == {"dim_entity": 1, "fct_penalty": 1}      # _SUCCESS and .crc are not data files
    assert result.views == {"dim_entity": 1, "fct_penalty": 2}      # rows
    assert result.utc_timestamp_columns == {"fct_penalty": ["decided_at"]}
    with duckdb.connect(str(catalog), read_only=True) as con:
        con.execute("set TimeZone = 'Asia/Shanghai'")               # the reader's zone must not shift the value
        assert con.execute("select table_schema, table_name, table_type from information_schema.tables "
                           "order by table_name").fetchall() == [("main", "dim_entity", "VIEW"),
                                                                  ("main", "fct_penalty", "VIEW")]
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_name = 'fct_penalty'").fetchall())
        assert types == {"penalty_id": "VARCHAR", "decision_date": "DATE", "amount_yuan": "BIGINT",
                         "decided_at": "TIMESTAMP"}
        assert con.execute("select * from fct_penalty order by penalty_id").fetchall() == [
            ("P1", date(2026, 11, 20), 5000, datetime(2026, 11, 25, 2, 0, 5)), ("P2", None, None, None)]


def test_a_catalog_reads_the_files_it_was_written_for_never_a_later_builds(spark_warehouse, tmp_path):
    catalog = tmp_path / "warehouse.duckdb"
    write_catalog(spark_warehouse, catalog)
    # A later build replaces the table's files (Spark drops the folder's parts and writes new ones).
    folder = spark_warehouse / f"{SCHEMA}.db" / "fct_penalty"
    for part in folder.glob("*.parquet"):
        part.unlink()
    spark_table(spark_warehouse, "fct_penalty", penalties(datetime(2026, 11, 26, tzinfo=timezone.utc), 7000),
                part="00000-9b1c")
    with duckdb.connect(str(catalog), read_only=True) as con, pytest.raises(duckdb.IOException):
        con.execute("select sum(amount_yuan) from fct_penalty").fetchall()   # fails, never mixes two builds
    write_catalog(spark_warehouse, catalog)                                    # what the build does at its end
    with duckdb.connect(str(catalog), read_only=True) as con:
        assert con.execute("select sum(amount_yuan) from fct_penalty").fetchone()[0] == 7000


def test_a_table_without_data_files_fails_and_leaves_the_previous_catalog(spark_warehouse, tmp_path):
    catalog = tmp_path / "warehouse.duckdb"
    write_catalog(spark_warehouse, catalog)
    before = catalog.read_bytes()
    (spark_warehouse / f"{SCHEMA}.db" / "fct_half_written").mkdir()
    with pytest.raises(SparkCatalogError, match=r"table fct_half_written of .*credit_warehouse\.db: no Parquet file"):
        write_catalog(spark_warehouse, catalog)
    assert catalog.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse", "warehouse.duckdb"]   # no temporary file


def test_an_unreadable_data_file_names_the_table(spark_warehouse, tmp_path):
    (spark_warehouse / f"{SCHEMA}.db" / "dim_entity" / "part-00001-c000.snappy.parquet").write_bytes(b"not parquet")
    with pytest.raises(SparkCatalogError, match=r"table dim_entity of .*: cannot read its Parquet files"):
        write_catalog(spark_warehouse, tmp_path / "warehouse.duckdb")


def test_no_tables_in_the_schema_is_an_error(tmp_path):
    with pytest.raises(SparkCatalogError, match=r"no Spark tables under .*/credit_warehouse\.db"):
        write_catalog(tmp_path / "spark" / "warehouse", tmp_path / "warehouse.duckdb")


def test_a_spark_build_publishes_where_every_reader_looks_and_the_cli_reads_it(spark_warehouse, tmp_path, capsys):
    home = Home(tmp_path)
    assert stages.spark_warehouse(home) / "warehouse" == spark_warehouse
    assert catalog_path(stages.spark_warehouse(home)) == home.warehouse
    write_catalog(spark_warehouse, catalog_path(stages.spark_warehouse(home)))
    code = main(["sql", "--home", str(tmp_path), "--json",
                 "select penalty_id, amount_yuan, decided_at from fct_penalty order by penalty_id"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == [{"penalty_id": "P1", "amount_yuan": 5000, "decided_at": "2026-11-25 02:00:05"},
                               {"penalty_id": "P2", "amount_yuan": None, "decided_at": None}]
